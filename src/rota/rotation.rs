//! Rotations: members taking turns, handing over at a local time.
//!
//! Shift `k` starts at the handover time on `start + k × length` days, in
//! Europe/London wall-clock time. All arithmetic here is on wall-clock times
//! (see [`crate::calendar::wall_clock`]), which is what makes a handover at
//! 08:00 happen at 08:00 on both clock-change days: the shift that spans the
//! change is simply an hour shorter or longer.

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};

use crate::directory::Id;

/// Index of a person in the compiled rota.
pub type PersonIx = u32;

/// A rotation, compiled: members by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Its id in the rota files.
    pub id: Id,
    /// Its name as a rota manager reads it.
    pub name: String,
    /// Members in turn order (a person may appear more than once).
    pub members: Vec<PersonIx>,
    /// The day the first shift starts.
    pub start: NaiveDate,
    /// Days per shift (7 for weekly).
    pub length_days: u32,
    /// Local time of each handover.
    pub handover: NaiveTime,
    /// When the last shift ends, if the rotation stops.
    pub end: Option<NaiveDateTime>,
}

/// Who holds a rotation at a wall-clock time, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turn {
    /// The shift number (0 for the first shift), or `None` outside the rotation's life.
    pub shift: Option<u64>,
    /// The member holding it.
    pub member: Option<PersonIx>,
    /// The wall-clock time this changes, if it ever does.
    pub until: Option<NaiveDateTime>,
}

impl Rotation {
    /// The wall-clock time shift `k` starts.
    pub fn shift_start(&self, k: u64) -> NaiveDateTime {
        let days = k.saturating_mul(u64::from(self.length_days));
        (self.start + Days::new(days)).and_time(self.handover)
    }

    /// Who holds the rotation at wall-clock time `local`.
    pub fn turn_at(&self, local: NaiveDateTime) -> Turn {
        let first = self.start.and_time(self.handover);
        if local < first {
            return Turn {
                shift: None,
                member: None,
                until: Some(first),
            };
        }
        if let Some(end) = self.end
            && local >= end
        {
            return Turn {
                shift: None,
                member: None,
                until: None,
            };
        }
        let mut days = (local.date() - self.start).num_days();
        if local.time() < self.handover {
            days -= 1;
        }
        // `local >= first` makes `days` non-negative.
        let k = days.max(0) as u64 / u64::from(self.length_days);
        let member = self.members[(k % self.members.len() as u64) as usize];
        let next = self.shift_start(k + 1);
        let until = match self.end {
            Some(end) if end < next => end,
            _ => next,
        };
        Turn {
            shift: Some(k),
            member: Some(member),
            until: Some(until),
        }
    }

    /// The shift starting on `date`, if one does.
    pub fn shift_starting_on(&self, date: NaiveDate) -> Option<u64> {
        let days = (date - self.start).num_days();
        (days >= 0 && days % i64::from(self.length_days) == 0)
            .then(|| days as u64 / u64::from(self.length_days))
    }

    /// The days the shifts either side of `date` start: the one at or before
    /// it (none before the rotation starts) and the one after it.
    pub fn nearest_shift_starts(&self, date: NaiveDate) -> (Option<NaiveDate>, NaiveDate) {
        let days = (date - self.start).num_days();
        let len = i64::from(self.length_days);
        let k = days.div_euclid(len);
        let before = (k >= 0).then(|| self.start + chrono::Days::new((k * len) as u64));
        let after = self.start + chrono::Days::new(((k + 1).max(0) * len) as u64);
        (before, after)
    }

    /// Who holds shift `k` as the files have it (before any cover).
    pub fn holder(&self, k: u64) -> Option<PersonIx> {
        let n = self.members.len() as u64;
        (n > 0).then(|| self.members[(k % n) as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{instant_of, wall_clock};

    fn weekly() -> Rotation {
        Rotation {
            id: Id::parse("reg").unwrap(),
            name: "Registrar on call".into(),
            members: vec![0, 1, 2],
            start: "2026-01-05".parse().unwrap(), // a Monday
            length_days: 7,
            handover: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            end: None,
        }
    }

    fn at(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    #[test]
    fn members_take_weekly_turns_handing_over_at_eight() {
        let r = weekly();
        assert_eq!(r.turn_at(at("2026-01-05T08:00:00")).member, Some(0));
        assert_eq!(r.turn_at(at("2026-01-12T07:59:59")).member, Some(0));
        let t = r.turn_at(at("2026-01-12T08:00:00"));
        assert_eq!(
            (t.member, t.until),
            (Some(1), Some(at("2026-01-19T08:00:00")))
        );
        assert_eq!(r.turn_at(at("2026-01-26T08:00:00")).member, Some(0));
    }

    #[test]
    fn before_the_first_shift_nobody_holds_it() {
        let t = weekly().turn_at(at("2026-01-05T07:00:00"));
        assert_eq!((t.member, t.until), (None, Some(at("2026-01-05T08:00:00"))));
    }

    #[test]
    fn a_rotation_that_ends_is_empty_afterwards() {
        let mut r = weekly();
        r.end = Some(at("2026-01-15T08:00:00"));
        assert_eq!(
            r.turn_at(at("2026-01-14T09:00:00")).until,
            Some(at("2026-01-15T08:00:00"))
        );
        assert_eq!(r.turn_at(at("2026-01-15T08:00:00")).member, None);
    }

    #[test]
    fn handover_at_eight_is_at_eight_on_both_clock_change_days() {
        let mut r = weekly();
        r.length_days = 1;
        for (day, before, after) in [
            // Spring: 08:00 BST is 07:00 UTC.
            ("2026-03-29", "2026-03-29T06:59:59Z", "2026-03-29T07:00:00Z"),
            // Autumn: 08:00 GMT is 08:00 UTC.
            ("2026-10-25", "2026-10-25T07:59:59Z", "2026-10-25T08:00:00Z"),
        ] {
            let b = r.turn_at(wall_clock(before.parse().unwrap()));
            let a = r.turn_at(wall_clock(after.parse().unwrap()));
            assert_ne!(b.member, a.member, "{day}");
            assert_eq!(
                instant_of(b.until.unwrap()),
                after.parse::<chrono::DateTime<chrono::Utc>>().unwrap(),
                "{day}"
            );
        }
    }

    #[test]
    fn shift_starts_are_found_by_date() {
        let r = weekly();
        assert_eq!(r.shift_starting_on("2026-01-19".parse().unwrap()), Some(2));
        assert_eq!(r.shift_starting_on("2026-01-20".parse().unwrap()), None);
        assert_eq!(r.shift_starting_on("2025-12-29".parse().unwrap()), None);
    }
}
