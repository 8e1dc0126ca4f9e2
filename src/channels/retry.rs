//! The outbox's retry policy: how long a text the provider could not take
//! waits before the next attempt, when the timeline hears of a failure, and
//! when waiting texts mean the outbox is stuck.
//!
//! There is no last attempt. A text to a patient or a page to a clinician
//! is retried through an outage of hours; it ends only when the provider
//! refuses it for good ([`super::SendOutcome::Permanent`]) or it is no
//! longer wanted (a page for a concern that has moved on).

use std::time::Duration;

use chrono::TimeDelta;

/// How the outbox retries; [`RetryPolicy::default`] is what the service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; it doubles after each further one.
    pub first: Duration,
    /// The longest wait between two attempts.
    pub max: Duration,
    /// A text unsent for this long makes the outbox "stuck": logged as an
    /// error and visible in `/metrics`.
    pub stuck_after: TimeDelta,
    /// After the first failure of a text, the timeline hears of every
    /// this-many-th attempt, not of every retry in a long outage.
    pub record_every: u32,
}

impl Default for RetryPolicy {
    /// 1, 2, 4 … seconds, at most a minute; stuck after two minutes; the
    /// timeline hears about every half hour of a long outage.
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(60),
            stuck_after: TimeDelta::minutes(2),
            record_every: 30,
        }
    }
}

impl RetryPolicy {
    /// How long to wait before the next attempt at a text that has failed
    /// `failures_so_far + 1` times: doubling from [`RetryPolicy::first`],
    /// capped at [`RetryPolicy::max`], or longer when the provider asked
    /// for it (`retry_after`).
    pub fn delay(&self, failures_so_far: u32, retry_after: Option<Duration>) -> Duration {
        self.first
            .saturating_mul(1 << failures_so_far.min(16))
            .min(self.max)
            .max(retry_after.unwrap_or_default())
    }

    /// Whether the failure of a text's attempt number `attempt` (counting
    /// from 1) goes on its concern's timeline: the first, then every
    /// [`RetryPolicy::record_every`]-th.
    pub fn records(&self, attempt: u32) -> bool {
        attempt <= 1 || attempt.is_multiple_of(self.record_every.max(1))
    }

    /// Whether a text that has waited this long to go out means the outbox
    /// is stuck (the provider is down or refusing us).
    pub fn is_stuck(&self, waiting: TimeDelta) -> bool {
        waiting >= self.stuck_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_a_second_to_at_most_a_minute_forever() {
        let policy = RetryPolicy::default();
        let waits: Vec<u64> = (0..10).map(|n| policy.delay(n, None).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
        assert_eq!(policy.delay(10_000, None), Duration::from_secs(60));
    }

    #[test]
    fn the_provider_asking_for_longer_is_obeyed_but_never_shortens_the_wait() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(5))),
            Duration::from_secs(5)
        );
        assert_eq!(
            policy.delay(5, Some(Duration::from_secs(2))),
            Duration::from_secs(32)
        );
    }

    #[test]
    fn an_outage_reaches_the_timeline_at_its_start_and_every_half_hour() {
        let policy = RetryPolicy::default();
        let recorded: Vec<u32> = (1..=100).filter(|a| policy.records(*a)).collect();
        assert_eq!(recorded, [1, 30, 60, 90]);
    }

    #[test]
    fn two_minutes_unsent_is_stuck() {
        let policy = RetryPolicy::default();
        assert!(!policy.is_stuck(TimeDelta::seconds(119)));
        assert!(policy.is_stuck(TimeDelta::minutes(2)));
    }
}
