//! The small values written in rota files — days, times of day, dates,
//! moments and working hours — each parsed with a problem that says what to
//! write instead.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use super::{Compiler, Src};
use crate::calendar::{Span, WorkingHours, instant_of};
use crate::clock::Instant;

impl Compiler<'_> {
    pub(super) fn days(&mut self, src: &Src, text: &str) -> Option<u32> {
        match humantime::parse_duration(text) {
            Ok(d)
                if d.as_secs() > 0
                    && d.as_secs() % 86_400 == 0
                    && d.subsec_nanos() == 0
                    && d.as_secs() / 86_400 <= 366 =>
            {
                Some((d.as_secs() / 86_400) as u32)
            }
            _ => {
                self.report(src, format!("length = {text:?}: write whole days or weeks, like \"1d\", \"7d\" or \"2w\""));
                None
            }
        }
    }

    pub(super) fn time_of_day(
        &mut self,
        src: &Src,
        value: &toml::Value,
        what: &str,
    ) -> Option<NaiveTime> {
        let parsed = match value {
            toml::Value::String(s) => NaiveTime::parse_from_str(s, "%H:%M").ok(),
            toml::Value::Datetime(dt) if dt.date.is_none() => dt.time.and_then(|t| {
                NaiveTime::from_hms_opt(u32::from(t.hour), u32::from(t.minute), u32::from(t.second))
            }),
            _ => None,
        };
        if parsed.is_none() {
            self.report(
                src,
                format!("{what} = {value}: write a 24-hour local time, like \"08:00\""),
            );
        }
        parsed
    }

    pub(super) fn date(&mut self, src: &Src, value: &toml::Value, what: &str) -> Option<NaiveDate> {
        let parsed = match value {
            toml::Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            toml::Value::Datetime(dt) if dt.time.is_none() => dt.date.and_then(|d| {
                NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
            }),
            _ => None,
        };
        if parsed.is_none() {
            self.report(
                src,
                format!("{what} = {value}: write a date, like 2026-12-07"),
            );
        }
        parsed
    }

    pub(super) fn moment(&mut self, src: &Src, value: &toml::Value, what: &str) -> Option<Instant> {
        if let toml::Value::Datetime(dt) = value
            && dt.offset.is_some()
        {
            let parsed = chrono::DateTime::parse_from_rfc3339(&dt.to_string()).ok();
            if parsed.is_none() {
                self.report(
                    src,
                    format!(
                        "{what} = {dt}: write a local (UK) date and time, like 2026-12-24T18:30:00"
                    ),
                );
            }
            return parsed.map(|t| t.with_timezone(&chrono::Utc));
        }
        let local = match value {
            toml::Value::String(s) => [
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            .or_else(|| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            }),
            toml::Value::Datetime(dt) if dt.offset.is_none() => match (dt.date, dt.time) {
                (Some(d), Some(t)) => {
                    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                        .and_then(|d| {
                            d.and_hms_opt(
                                u32::from(t.hour),
                                u32::from(t.minute),
                                u32::from(t.second),
                            )
                        })
                }
                (Some(d), None) => {
                    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                }
                _ => None,
            },
            _ => None,
        };
        if local.is_none() {
            self.report(
                src,
                format!(
                    "{what} = {value}: write a local (UK) date and time, like 2026-12-24T18:30:00"
                ),
            );
        }
        local.map(instant_of)
    }

    pub(super) fn hours(&mut self, src: &Src, value: &toml::Value) -> Option<WorkingHours> {
        const HINT: &str = "write hours = \"rcgp\" (08:00–18:30 Monday to Friday), hours = \"none\" (no in-hours team), or a table like hours = { weekdays = \"08:00-20:00\", saturday = \"09:00-13:00\" }";
        match value {
            toml::Value::String(s) if s == "rcgp" => Some(WorkingHours::rcgp()),
            toml::Value::String(s) if s == "none" => Some(WorkingHours::always_out_of_hours()),
            toml::Value::Table(table) => {
                let mut days: [Option<Span>; 7] = [None; 7];
                let mut open_on_bank_holidays = false;
                let mut ok = true;
                // Broad keys first, so a named day can refine "weekdays".
                let mut keys: Vec<_> = table.iter().collect();
                keys.sort_by_key(|(k, _)| {
                    !matches!(k.as_str(), "weekdays" | "weekend" | "every_day")
                });
                for (key, v) in keys {
                    if key == "bank_holidays" {
                        match v.as_str() {
                            Some("closed") => open_on_bank_holidays = false,
                            Some("open") => open_on_bank_holidays = true,
                            _ => {
                                self.report(src, format!("hours.bank_holidays = {v}: write \"closed\" (the default: out of hours all day) or \"open\""));
                                ok = false;
                            }
                        }
                        continue;
                    }
                    let targets: Vec<usize> = match key.as_str() {
                        "weekdays" => (0..5).collect(),
                        "weekend" => vec![5, 6],
                        "every_day" => (0..7).collect(),
                        other => match parse_weekday(other) {
                            Some(d) => vec![d.num_days_from_monday() as usize],
                            None => {
                                self.report(src, format!("hours.{other}: not a day; {HINT}"));
                                ok = false;
                                continue;
                            }
                        },
                    };
                    let span = match v.as_str() {
                        Some("closed") => None,
                        Some(text) => match parse_span(text) {
                            Some(span) => Some(span),
                            None => {
                                self.report(src, format!("hours.{key} = {text:?}: write a range like \"08:00-18:30\", or \"closed\""));
                                ok = false;
                                continue;
                            }
                        },
                        None => {
                            self.report(src, format!("hours.{key} = {v}: write a range like \"08:00-18:30\", or \"closed\""));
                            ok = false;
                            continue;
                        }
                    };
                    for t in targets {
                        days[t] = span;
                    }
                }
                ok.then(|| WorkingHours::new(days, open_on_bank_holidays))
            }
            other => {
                self.report(src, format!("hours = {other}: {HINT}"));
                None
            }
        }
    }
}

pub(super) fn parse_weekday(s: &str) -> Option<Weekday> {
    let s = s.to_ascii_lowercase();
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .find(|d| {
        let full = match d {
            Weekday::Mon => "monday",
            Weekday::Tue => "tuesday",
            Weekday::Wed => "wednesday",
            Weekday::Thu => "thursday",
            Weekday::Fri => "friday",
            Weekday::Sat => "saturday",
            Weekday::Sun => "sunday",
        };
        s == full || s == full[..3]
    })
}

pub(super) fn parse_span(text: &str) -> Option<Span> {
    let (a, b) = text.split_once('-')?;
    let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
    let b = b.trim();
    let b = if b == "24:00" {
        NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999)?
    } else {
        NaiveTime::parse_from_str(b, "%H:%M").ok()?
    };
    Span::new(a, b)
}
