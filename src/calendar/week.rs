//! ISO weeks (`2026-W48`) in Europe/London time: what a rota manager's
//! week page and a safety report are about, read and written one way.
//!
//! Years are bounded ([`YEARS`]) so that a week typed into an address can
//! never take date arithmetic off the end of the calendar.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, TimeZone, Utc, Weekday};

use super::LONDON;

/// An instant (as the clock module has one), spelled out so that the
/// calendar imports nothing of the clock's.
type Instant = DateTime<Utc>;

/// The years the calendar answers for, from a person's input (a week in an
/// address, a year on the command line): wide enough for any rota or
/// report, and far from the ends of chrono's dates.
pub const YEARS: RangeInclusive<i32> = 1970..=9999;

/// An ISO week (`2026-W48`): Monday 00:00 to the next Monday 00:00,
/// Europe/London time. A week with a clock change is 167 or 169 hours long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Week {
    monday: NaiveDate,
}

impl Week {
    /// The week with this ISO year and number, if there is one (years in
    /// [`YEARS`]: weeks far enough from the ends of the calendar that the
    /// next and previous always exist, and a page's dates can be added).
    pub fn new(year: i32, week: u32) -> Option<Self> {
        if !YEARS.contains(&year) {
            return None;
        }
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).map(|monday| Self { monday })
    }

    /// The week `t` falls in, in Europe/London time.
    pub fn containing(t: Instant) -> Self {
        Self::of(t.with_timezone(&LONDON).date_naive())
    }

    /// The week `date` falls in (for a date outside [`YEARS`], a week
    /// that starts on it).
    pub fn of(date: NaiveDate) -> Self {
        let iso = date.iso_week();
        Self::new(iso.year(), iso.week()).unwrap_or(Self { monday: date })
    }

    /// Its Monday.
    pub fn monday(self) -> NaiveDate {
        self.monday
    }

    /// When it begins: Monday 00:00 in London.
    pub fn start(self) -> Instant {
        london_midnight(self.monday)
    }

    /// When it ends: the next Monday 00:00 in London.
    pub fn end(self) -> Instant {
        self.next().start()
    }

    /// How long it is: 168 hours, or 167 or 169 with a clock change.
    pub fn length(self) -> TimeDelta {
        self.end() - self.start()
    }

    /// The week before.
    pub fn previous(self) -> Self {
        Self {
            monday: self.monday - TimeDelta::days(7),
        }
    }

    /// The week after.
    pub fn next(self) -> Self {
        Self {
            monday: self.monday + TimeDelta::days(7),
        }
    }

    /// The weeks up to and including this one, newest first, `n` of them.
    pub fn back(self, n: usize) -> Vec<Week> {
        std::iter::successors(Some(self), |w| Some(w.previous()))
            .take(n)
            .collect()
    }
}

/// Midnight at the start of `date` in London. Clocks change at 01:00 and
/// 02:00, never at midnight, so there is exactly one.
fn london_midnight(date: NaiveDate) -> Instant {
    let local = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    LONDON
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.to_utc())
        .unwrap_or_else(|| local.and_utc())
}

impl fmt::Display for Week {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let iso = self.monday.iso_week();
        write!(f, "{}-W{:02}", iso.year(), iso.week())
    }
}

/// Why a week could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a week is written as year, W and its number, such as 2026-W48")]
pub struct BadWeek;

impl FromStr for Week {
    type Err = BadWeek;
    fn from_str(s: &str) -> Result<Self, BadWeek> {
        let (year, week) = s.trim().split_once(['-']).ok_or(BadWeek)?;
        let week = week
            .strip_prefix('W')
            .or_else(|| week.strip_prefix('w'))
            .ok_or(BadWeek)?;
        let (year, week) = (
            year.parse().map_err(|_| BadWeek)?,
            week.parse().map_err(|_| BadWeek)?,
        );
        Week::new(year, week).ok_or(BadWeek)
    }
}
