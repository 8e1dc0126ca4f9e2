//! Working hours: when a service's in-hours team answers.
//!
//! The default is the RCGP contract's: in hours 08:00–18:30 Monday to Friday;
//! out of hours from 18:30 to 08:00 on weekdays, from 18:30 Friday to 08:00
//! Monday, and the whole of every bank holiday. A service may set its own
//! hours (a ward staffed until 20:00) or have no in-hours team at all.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use super::holidays::{Division, Holidays};

/// One day's in-hours span, local time, `start < end` (no span crosses midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// When the in-hours team starts.
    pub start: NaiveTime,
    /// When it stops (exclusive).
    pub end: NaiveTime,
}

impl Span {
    /// A span, or `None` when it is empty or runs backwards.
    pub fn new(start: NaiveTime, end: NaiveTime) -> Option<Self> {
        (start < end).then_some(Self { start, end })
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}–{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

/// When a service is in hours, week by week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingHours {
    /// Monday first.
    days: [Option<Span>; 7],
    /// Whether the in-hours team works on bank holidays as on any other day.
    open_on_bank_holidays: bool,
}

impl Default for WorkingHours {
    fn default() -> Self {
        Self::rcgp()
    }
}

impl WorkingHours {
    /// 08:00–18:30 Monday to Friday, closed on bank holidays.
    pub fn rcgp() -> Self {
        let span = Span::new(hm(8, 0), hm(18, 30));
        Self {
            days: [span, span, span, span, span, None, None],
            open_on_bank_holidays: false,
        }
    }

    /// No in-hours team: the out-of-hours rota answers all day, every day.
    pub fn always_out_of_hours() -> Self {
        Self {
            days: [None; 7],
            open_on_bank_holidays: false,
        }
    }

    /// Hours given day by day (Monday first), closed on bank holidays unless `open_on_bank_holidays`.
    pub fn new(days: [Option<Span>; 7], open_on_bank_holidays: bool) -> Self {
        Self {
            days,
            open_on_bank_holidays,
        }
    }

    /// The span on `weekday`, if the in-hours team works that day.
    pub fn on(&self, weekday: Weekday) -> Option<Span> {
        self.days[weekday.num_days_from_monday() as usize]
    }

    /// Whether there is any in-hours time at all.
    pub fn has_in_hours_team(&self) -> bool {
        self.days.iter().any(Option::is_some)
    }
}

/// Why an instant is in or out of hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Within the day's in-hours span.
    WorkingDay(Weekday, Span),
    /// The whole day is a bank holiday.
    BankHoliday(String),
    /// The service has no in-hours team on this weekday.
    ClosedDay(Weekday),
    /// Before the day's in-hours span.
    BeforeHours(Weekday, Span),
    /// After the day's in-hours span.
    AfterHours(Weekday, Span),
    /// The service has no in-hours team at all.
    NoInHoursTeam,
}

/// Whether a local time is in hours, why, and until when that holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// True in hours, false out of hours.
    pub in_hours: bool,
    /// Why.
    pub reason: Reason,
    /// The local time at which this changes; `None` if it never does (a
    /// service with no in-hours team).
    pub until: Option<NaiveDateTime>,
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.in_hours {
            "in hours: "
        } else {
            "out of hours: "
        })?;
        match &self.reason {
            Reason::WorkingDay(day, span) => {
                write!(f, "{day}, within the in-hours team's hours {span}")
            }
            Reason::BankHoliday(title) => write!(f, "{title} is a bank holiday"),
            Reason::ClosedDay(day) => write!(f, "no in-hours team on {day}"),
            Reason::BeforeHours(day, span) => write!(
                f,
                "before {} on {day} (in hours {span})",
                span.start.format("%H:%M")
            ),
            Reason::AfterHours(day, span) => write!(
                f,
                "after {} on {day} (in hours {span})",
                span.end.format("%H:%M")
            ),
            Reason::NoInHoursTeam => write!(f, "the service has no in-hours team"),
        }?;
        if let Some(until) = self.until {
            write!(f, ", until {}", until.format("%a %d %b %Y %H:%M"))?;
        }
        Ok(())
    }
}

/// How far ahead to look for the next in-hours time before deciding there is none.
const SEARCH_DAYS: u64 = 400;

/// Whether `local` (Europe/London wall-clock time) is in hours for a service
/// with `hours` in `division`, and until when.
pub fn period_at(
    holidays: &Holidays,
    hours: &WorkingHours,
    division: Division,
    local: NaiveDateTime,
) -> Period {
    if !hours.has_in_hours_team() {
        return Period {
            in_hours: false,
            reason: Reason::NoInHoursTeam,
            until: None,
        };
    }
    let today = local.date();
    let weekday = today.weekday();
    let until_next_opening = |from: NaiveDate| next_opening(holidays, hours, division, from);
    if !hours.open_on_bank_holidays
        && let Some(title) = holidays.on(division, today)
    {
        return Period {
            in_hours: false,
            reason: Reason::BankHoliday(title.to_owned()),
            until: until_next_opening(today + Days::new(1)),
        };
    }
    let Some(span) = hours.on(weekday) else {
        return Period {
            in_hours: false,
            reason: Reason::ClosedDay(weekday),
            until: until_next_opening(today + Days::new(1)),
        };
    };
    let time = local.time();
    if time < span.start {
        Period {
            in_hours: false,
            reason: Reason::BeforeHours(weekday, span),
            until: Some(today.and_time(span.start)),
        }
    } else if time >= span.end {
        Period {
            in_hours: false,
            reason: Reason::AfterHours(weekday, span),
            until: until_next_opening(today + Days::new(1)),
        }
    } else {
        Period {
            in_hours: true,
            reason: Reason::WorkingDay(weekday, span),
            until: Some(today.and_time(span.end)),
        }
    }
}

fn next_opening(
    holidays: &Holidays,
    hours: &WorkingHours,
    division: Division,
    from: NaiveDate,
) -> Option<NaiveDateTime> {
    (0..SEARCH_DAYS).find_map(|ahead| {
        let day = from + Days::new(ahead);
        let span = hours.on(day.weekday())?;
        let closed = !hours.open_on_bank_holidays && holidays.on(division, day).is_some();
        (!closed).then(|| day.and_time(span.start))
    })
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Period {
        period_at(
            &Holidays::default(),
            &WorkingHours::rcgp(),
            Division::EnglandAndWales,
            s.parse().unwrap(),
        )
    }

    #[test]
    fn a_weekday_morning_is_in_hours_until_half_past_six() {
        let p = at("2026-11-25T10:00:00");
        assert!(p.in_hours);
        assert_eq!(p.until, Some("2026-11-25T18:30:00".parse().unwrap()));
    }

    #[test]
    fn friday_evening_is_out_of_hours_until_monday_eight() {
        let p = at("2026-11-27T19:05:00");
        assert!(!p.in_hours);
        assert!(matches!(p.reason, Reason::AfterHours(Weekday::Fri, _)));
        assert_eq!(p.until, Some("2026-11-30T08:00:00".parse().unwrap()));
        assert!(at("2026-11-27T18:29:59").in_hours);
        assert!(!at("2026-11-27T18:30:00").in_hours);
    }

    #[test]
    fn early_morning_is_out_of_hours_until_eight() {
        let p = at("2026-11-30T07:59:00");
        assert!(!p.in_hours);
        assert_eq!(p.until, Some("2026-11-30T08:00:00".parse().unwrap()));
    }

    #[test]
    fn christmas_runs_out_of_hours_to_the_first_working_day() {
        // 2026: Christmas Friday, Boxing Day substitute Monday 28th.
        let p = at("2026-12-24T18:45:00");
        assert_eq!(p.until, Some("2026-12-29T08:00:00".parse().unwrap()));
        let p = at("2026-12-28T12:00:00");
        assert_eq!(
            p.reason,
            Reason::BankHoliday("Boxing Day (substitute day)".into())
        );
    }

    #[test]
    fn a_service_with_no_in_hours_team_is_always_out_of_hours() {
        let p = period_at(
            &Holidays::default(),
            &WorkingHours::always_out_of_hours(),
            Division::Scotland,
            "2026-11-25T10:00:00".parse().unwrap(),
        );
        assert!(!p.in_hours);
        assert_eq!(p.until, None);
    }

    #[test]
    fn a_ward_open_on_bank_holidays_keeps_its_hours() {
        let span = Span::new(hm(8, 0), hm(20, 0));
        let hours = WorkingHours::new([span; 7], true);
        let p = period_at(
            &Holidays::default(),
            &hours,
            Division::EnglandAndWales,
            "2026-12-25T19:00:00".parse().unwrap(),
        );
        assert!(p.in_hours);
        assert_eq!(p.until, Some("2026-12-25T20:00:00".parse().unwrap()));
    }
}
