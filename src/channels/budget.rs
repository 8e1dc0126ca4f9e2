//! The send budget of one sending number: how many SMS segments may be
//! handed to the provider now (ADR 31).
//!
//! Twilio accepts a text at once and then sends from each number at that
//! number's rate, in segments a second, first in first out. A text handed
//! over sits behind everything handed over before it, whatever it is. So
//! Nightingale hands over no more than the number can send in about the
//! next second: the provider's queue stays that short, and what waits,
//! waits in Nightingale's own outbox, where a page overtakes it.
//!
//! The budget is a bucket of segments that fills at the number's rate up
//! to one second's worth. Urgent texts (pages, answers to the person who
//! just wrote) are never held by it, but they use it up, so bulk waits
//! longer after them; anything else goes only while a segment's room is
//! left, and may overdraw it by the rest of its own segments. Pure: it reads time
//! only as the instants it is given.

use chrono::TimeDelta;

use crate::clock::Instant;

/// What Twilio gives a UK long code (and any number sending outside the US
/// and Canada): 10 message segments a second. Source: Twilio's support
/// article "Understanding Twilio Rate Limits and Message Queues"
/// (support.twilio.com/hc/en-us/articles/115002943027), its table of
/// sending rates: "Any Twilio SMS-capable number … Other international
/// countries: 10" segments a second.
pub const UK_LONG_CODE_MPS: u32 = 10;

/// How much the provider's queue may hold: about this long's sending.
const QUEUE_AT_MOST: TimeDelta = TimeDelta::seconds(1);

/// The segments one sending number may still hand to the provider.
#[derive(Debug, Clone)]
pub struct SendBudget {
    /// Segments a second the number sends at.
    rate: u32,
    /// Segments that may be handed over now, in thousandths (negative
    /// when urgent texts or a long text overdrew it).
    room_milli: i64,
    /// When `room_milli` was last brought up to date.
    at: Option<Instant>,
    /// Segments handed over since start, for `/metrics`.
    spent: u64,
}

impl SendBudget {
    /// A budget for a number that sends `rate` segments a second (at least 1).
    pub fn per_second(rate: u32) -> Self {
        let rate = rate.max(1);
        Self {
            rate,
            room_milli: Self::full(rate),
            at: None,
            spent: 0,
        }
    }

    /// The rate, in segments a second.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// How many segments have been handed over since start.
    pub fn spent(&self) -> u64 {
        self.spent
    }

    fn full(rate: u32) -> i64 {
        i64::from(rate) * QUEUE_AT_MOST.num_milliseconds()
    }

    /// Bring the room up to `now`: it fills at the rate, up to one
    /// second's worth. Time going backwards (a clock stepped back) fills nothing.
    fn fill(&mut self, now: Instant) {
        if let Some(at) = self.at {
            let elapsed = (now - at).num_milliseconds().max(0);
            self.room_milli =
                (self.room_milli + elapsed * i64::from(self.rate)).min(Self::full(self.rate));
        }
        self.at = Some(self.at.map_or(now, |at| at.max(now)));
    }

    /// Whether a text that waits for the budget may go at `now`: at
    /// least one segment's room is left.
    pub fn has_room(&mut self, now: Instant) -> bool {
        self.fill(now);
        self.room_milli >= 1000
    }

    /// How many segments may still go at `now` (0 when overdrawn).
    pub fn room(&mut self, now: Instant) -> u32 {
        self.fill(now);
        u32::try_from(self.room_milli / 1000).unwrap_or(0)
    }

    /// `segments` handed to the provider at `now`.
    pub fn spend(&mut self, segments: u32, now: Instant) {
        self.fill(now);
        self.room_milli -= i64::from(segments) * 1000;
        self.spent += u64::from(segments);
    }

    /// Take room for a text of `segments` at `now`: always for an urgent
    /// one, else only while some room is left. Whether it may go.
    pub fn take(&mut self, segments: u32, urgent: bool, now: Instant) -> bool {
        if !urgent && !self.has_room(now) {
            return false;
        }
        self.spend(segments, now);
        true
    }

    /// When a text that waits for the budget may next go: `now` if it may
    /// now, else when one segment's room is back.
    pub fn ready_at(&mut self, now: Instant) -> Instant {
        self.fill(now);
        if self.room_milli >= 1000 {
            return now;
        }
        // Whole milliseconds, rounded up, so that waking then finds room.
        let rate = i64::from(self.rate);
        let wait = (1000 - self.room_milli + rate - 1) / rate;
        now + TimeDelta::milliseconds(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> Instant {
        Instant::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn a_number_hands_over_one_seconds_worth_then_its_rate() {
        let mut budget = SendBudget::per_second(10);
        // Ten one-segment welcomes go at once; the eleventh waits.
        for _ in 0..10 {
            assert!(budget.take(1, false, t(0)));
        }
        assert!(!budget.take(1, false, t(0)));
        assert_eq!(budget.ready_at(t(0)), t(100));
        // A tenth of a second later, one more segment's room.
        assert!(!budget.take(1, false, t(99)));
        assert!(budget.take(1, false, t(100)));
        assert!(!budget.take(1, false, t(100)));
        // Idle for a minute: still only a second's worth.
        assert_eq!(budget.room(t(60_000)), 10);
        assert_eq!(budget.spent(), 11);
    }

    #[test]
    fn a_page_goes_on_an_empty_budget_and_bulk_waits_the_longer() {
        let mut budget = SendBudget::per_second(10);
        assert!(budget.take(10, false, t(0)));
        // A two-segment page goes though nothing is left ...
        assert!(budget.take(2, true, t(0)));
        // ... and the next welcome waits for its segments to be sent too.
        assert_eq!(budget.ready_at(t(0)), t(300));
        assert!(!budget.has_room(t(200)));
        assert!(budget.take(2, false, t(300)));
    }

    #[test]
    fn a_long_text_may_overdraw_what_is_left() {
        let mut budget = SendBudget::per_second(1);
        assert!(budget.take(3, false, t(0)));
        assert_eq!(budget.ready_at(t(0)), t(3_000));
        assert!(!budget.has_room(t(2_999)));
        assert!(budget.has_room(t(3_000)));
    }

    #[test]
    fn a_clock_stepped_back_fills_nothing() {
        let mut budget = SendBudget::per_second(10);
        assert!(budget.take(10, false, t(5_000)));
        assert!(!budget.has_room(t(0)));
        assert!(!budget.has_room(t(5_000)));
        assert!(budget.has_room(t(5_100)));
    }
}
