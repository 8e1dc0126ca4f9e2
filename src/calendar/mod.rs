//! The calendar: Europe/London time, in hours and out of hours, and UK bank
//! holidays per division.
//!
//! It knows nothing of people; the rota engine asks it one question — "at this
//! instant, is this service in hours, and until when?" — and plans around the
//! answer.

pub mod holidays;
pub mod hours;
pub mod london;
pub mod update;
pub mod week;

use std::path::Path;

use chrono::Datelike;

pub use holidays::{BankHoliday, Division, GovUkFile, Holidays};
pub use hours::{Period, Reason, Span, WorkingHours};
pub use london::{LONDON, instant_of, london_format, london_long, london_short, wall_clock};
pub use week::{BadWeek, Week, YEARS};

use crate::clock::Instant;

/// The file name, inside the rota directory, of a published gov.uk bank-holidays file.
pub const GOV_UK_FILE: &str = "bank-holidays.json";

/// How many days ahead the published bank holidays should reach (see
/// [`Holidays::covered_days`]): a year. Less, and a one-off proclaimed for
/// the coming months may be missing; `serve` warns, and `/metrics` shows it.
pub const WANTED_COVERAGE_DAYS: u32 = 365;

/// Bank holidays for every division, and the in-hours rules that use them.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: Holidays,
}

/// Why the calendar could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct CalendarError {
    /// The file at fault.
    pub path: String,
    /// What is wrong with it (shown in this error's message, so not chained as its source).
    pub source: holidays::GovUkFileError,
}

impl Calendar {
    /// A calendar of bank holidays by rule, with `published` taking precedence for the years it covers.
    pub fn new(published: Option<&GovUkFile>) -> Self {
        Self {
            holidays: Holidays::new(published),
        }
    }

    /// The calendar for a rota directory: by rule, plus `bank-holidays.json`
    /// from that directory when there is one.
    pub fn load(rota_dir: &Path) -> Result<Self, CalendarError> {
        let path = rota_dir.join(GOV_UK_FILE);
        let published = match std::fs::read_to_string(&path) {
            Ok(text) => Some(GovUkFile::parse(&text).map_err(|source| CalendarError {
                path: path.display().to_string(),
                source,
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(CalendarError {
                    path: path.display().to_string(),
                    source: holidays::GovUkFileError::Json {
                        line: 0,
                        column: 0,
                        message: e.to_string(),
                    },
                });
            }
        };
        Ok(Self::new(published.as_ref()))
    }

    /// The bank holidays themselves.
    pub fn holidays(&self) -> &Holidays {
        &self.holidays
    }

    /// The divisions whose published bank holidays reach fewer than
    /// [`WANTED_COVERAGE_DAYS`] ahead of `today`, with how many they do.
    pub fn short_coverage(&self, today: chrono::NaiveDate) -> Vec<(Division, u32)> {
        Division::ALL
            .into_iter()
            .map(|d| (d, self.holidays.covered_days(d, today)))
            .filter(|&(_, days)| days < WANTED_COVERAGE_DAYS)
            .collect()
    }

    /// Whether `at` is in hours for a service with `hours` in `division`, and
    /// until when (as a local wall-clock time; see [`instant_of`]).
    pub fn period(&self, hours: &WorkingHours, division: Division, at: Instant) -> Period {
        hours::period_at(&self.holidays, hours, division, wall_clock(at))
    }
}

/// An instant that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} {advice}", advice = BadInstant::ADVICE)]
pub struct BadInstant(pub String);

impl BadInstant {
    /// What to write instead, without what was written (for answers to an
    /// API client, which repeat nothing it sent).
    pub const ADVICE: &str = "is not a date and time: write ISO 8601, like 2026-11-27T19:05 (UK local time) or 2026-11-27T19:05:00Z";
}

/// Read an instant as people write one: ISO 8601 / RFC 3339 with an offset
/// (`2026-11-27T19:05:00Z`), or without one as UK local time
/// (`2026-11-27T19:05`, `2026-11-27 19:05:00`, or a bare date for midnight).
pub fn parse_instant(text: &str) -> Result<Instant, BadInstant> {
    let text = text.trim();
    read_instant(text)
        // Bounded, so that nothing typed takes date arithmetic (a week
        // ahead, a rota's next handover) off the end of the calendar.
        .filter(|t| YEARS.contains(&t.year()))
        .ok_or_else(|| BadInstant(text.to_owned()))
}

fn read_instant(text: &str) -> Option<Instant> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    const LOCAL: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ];
    if let Some(local) = LOCAL
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
    {
        return Some(instant_of(local));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(|date| instant_of(date.and_time(chrono::NaiveTime::MIN)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_read_with_an_offset_or_as_uk_local_time() {
        for (written, utc) in [
            ("2026-07-01T19:05:00Z", "2026-07-01T19:05:00Z"),
            ("2026-07-01T19:05:00+01:00", "2026-07-01T18:05:00Z"),
            ("2026-07-01T19:05", "2026-07-01T18:05:00Z"),
            ("2026-12-01 19:05", "2026-12-01T19:05:00Z"),
            ("2026-12-01", "2026-12-01T00:00:00Z"),
        ] {
            assert_eq!(
                parse_instant(written).unwrap(),
                utc.parse::<Instant>().unwrap(),
                "{written}"
            );
        }
        assert!(parse_instant("+262142-12-31T23:00:00Z").is_err());
        assert!(parse_instant("300000-01-01").is_err());
        assert!(
            parse_instant("next friday")
                .unwrap_err()
                .to_string()
                .contains("like 2026-11-27T19:05")
        );
    }

    #[test]
    fn in_hours_follows_local_time_not_utc() {
        let calendar = Calendar::default();
        // 07:30 UTC in July is 08:30 BST: in hours.
        let summer = calendar.period(
            &WorkingHours::rcgp(),
            Division::EnglandAndWales,
            "2026-07-01T07:30:00Z".parse().unwrap(),
        );
        assert!(summer.in_hours);
        // 07:30 UTC in November is 07:30 GMT: not yet.
        let winter = calendar.period(
            &WorkingHours::rcgp(),
            Division::EnglandAndWales,
            "2026-11-25T07:30:00Z".parse().unwrap(),
        );
        assert!(!winter.in_hours);
    }
}
