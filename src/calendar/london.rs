//! Europe/London wall-clock time, made safe for rota arithmetic.
//!
//! Rotas are written in local time ("handover at 08:00 on Monday"), but the
//! rest of Nightingale works on the UTC timeline. Two conversions bridge them:
//!
//! * [`wall_clock`] maps an instant to local time, *monotonically*: during the
//!   repeated hour in October (01:00–02:00 happens twice) the second pass
//!   reads as 01:59:59.999…, so "is it past the 01:30 handover yet?" can
//!   never flip back to "no" when the clocks go back.
//! * [`instant_of`] maps a local time to the first instant that shows it, and
//!   a local time skipped in March (01:00–02:00 does not exist) to the instant
//!   the clocks jump, 02:00 BST: so a handover written at a skipped time
//!   happens as soon as the clocks allow, never twice and never not at all.
//!
//! Both rely on a fact of the UK tz rules since 1972: each change happens on a
//! whole hour and moves the clock by one hour.

use chrono::{DateTime, LocalResult, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// The one time zone Nightingale speaks.
pub const LONDON: Tz = chrono_tz::Europe::London;

/// The local (Europe/London) time at `t`, monotone across the autumn fold.
pub fn wall_clock(t: DateTime<Utc>) -> NaiveDateTime {
    let naive = t.with_timezone(&LONDON).naive_local();
    // Folds in the UK only ever happen between 01:00 and 02:00 local time, so
    // the ambiguity check (a second tz lookup) is only paid in that hour.
    if naive.hour() == 1
        && let LocalResult::Ambiguous(first, _) = LONDON.from_local_datetime(&naive)
        && first.with_timezone(&Utc) != t
    {
        return end_of_hour(naive) - TimeDelta::nanoseconds(1);
    }
    naive
}

/// The first instant whose local (Europe/London) time is `local`; for a time
/// skipped when the clocks go forward, the instant they jump.
pub fn instant_of(local: NaiveDateTime) -> DateTime<Utc> {
    match LONDON.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            let after_gap = end_of_hour(local);
            match LONDON.from_local_datetime(&after_gap) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
                // Unreachable with the UK's rules; stay total anyway by reading
                // the local time as GMT.
                LocalResult::None => Utc.from_utc_datetime(&local),
            }
        }
    }
}

/// How pages, texts and notes name a time near now: `Sat 28 Nov 20:00`.
pub const SHORT: &str = "%a %-d %b %H:%M";

/// [`SHORT`] with the year, for times that may be far off: `Sat 28 Nov 2026 20:00`.
pub const LONG: &str = "%a %-d %b %Y %H:%M";

/// `t` as a clock in London shows it, written with a chrono `format`: the
/// one place an instant becomes words for people.
pub fn london_format(t: DateTime<Utc>, format: &str) -> String {
    t.with_timezone(&LONDON).format(format).to_string()
}

/// `t` in London time as [`SHORT`]: `Sat 28 Nov 20:00`.
pub fn london_short(t: DateTime<Utc>) -> String {
    london_format(t, SHORT)
}

/// `t` in London time as [`LONG`]: `Sat 28 Nov 2026 20:00`.
pub fn london_long(t: DateTime<Utc>) -> String {
    london_format(t, LONG)
}

fn end_of_hour(t: NaiveDateTime) -> NaiveDateTime {
    let hour = NaiveTime::from_hms_opt(t.hour(), 0, 0).expect("hour of a valid time");
    t.date().and_time(hour) + TimeDelta::hours(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }
    fn local(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }
    /// A London clock shows `shown` at `at`, and `shown` is read back as `at`.
    fn both_ways(shown: &str, at: &str) {
        assert_eq!(wall_clock(utc(at)), local(shown), "the clock at {at}");
        assert_eq!(instant_of(local(shown)), utc(at), "the instant of {shown}");
    }

    #[test]
    fn times_are_named_as_a_london_clock_shows_them() {
        assert_eq!(
            london_short(utc("2026-11-28T20:00:00Z")),
            "Sat 28 Nov 20:00"
        );
        assert_eq!(london_short(utc("2026-07-04T19:05:00Z")), "Sat 4 Jul 20:05");
        assert_eq!(
            london_long(utc("2026-07-04T19:05:00Z")),
            "Sat 4 Jul 2026 20:05"
        );
        assert_eq!(
            london_format(utc("2026-07-04T19:05:00Z"), "%a %H:%M"),
            "Sat 20:05"
        );
    }

    #[test]
    fn summer_time_is_an_hour_ahead_of_utc() {
        both_ways("2026-07-01T08:00:00", "2026-07-01T07:00:00Z");
    }

    #[test]
    fn the_repeated_october_hour_reads_monotonically() {
        // 25 October 2026: 01:59:59 BST is followed by 01:00:00 GMT.
        let first_pass = wall_clock(utc("2026-10-25T00:30:00Z"));
        let second_pass = wall_clock(utc("2026-10-25T01:30:00Z"));
        let after = wall_clock(utc("2026-10-25T02:00:00Z"));
        assert_eq!(first_pass, local("2026-10-25T01:30:00"));
        assert!(second_pass > first_pass);
        assert!(second_pass < after);
        assert_eq!(after, local("2026-10-25T02:00:00"));
        // 01:30 local is the first of its two instants.
        assert_eq!(
            instant_of(local("2026-10-25T01:30:00")),
            utc("2026-10-25T00:30:00Z")
        );
    }

    #[test]
    fn a_skipped_march_time_maps_to_the_jump() {
        // 29 March 2026: 00:59:59 GMT is followed by 02:00:00 BST.
        assert_eq!(
            instant_of(local("2026-03-29T01:30:00")),
            utc("2026-03-29T01:00:00Z")
        );
        both_ways("2026-03-29T02:00:00", "2026-03-29T01:00:00Z");
    }
}
