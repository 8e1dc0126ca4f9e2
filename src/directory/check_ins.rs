//! When an enrolment's check-ins fall (docs/adr/0017): its schedule
//! ([`CheckIns`]), as the rota files and the enrolment API give it, and the
//! rule that a check-in is only ever sent in the day, between
//! [`DAY_STARTS`] and [`DAY_ENDS`] UK time. Check-ins that would fall at
//! night are spread over a morning window ([`CheckInWindow`], 09:00–11:00
//! unless the service says), each enrolment at a point of its own, rather
//! than all sent at 09:00 (ADR 31).
//! Part of an enrolment, so it lives with the directory; sending and
//! waiting for answers is the check-ins module's and the engine's.

use chrono::{NaiveTime, TimeDelta};
use serde::{Deserialize, Serialize};

use super::{Enrolment, EnrolmentKind};
use crate::calendar::{instant_of, wall_clock};
use crate::clock::Instant;

/// A check-in is never sent before this, UK time.
pub const DAY_STARTS: NaiveTime = hm(9, 0);
/// Nor at or after this, UK time: it waits for the next morning.
pub const DAY_ENDS: NaiveTime = hm(20, 0);
/// When a discharge enrolment is checked on, unless it or its service says.
pub const DEFAULT_AFTER_DISCHARGE: [TimeDelta; 2] = [TimeDelta::hours(24), TimeDelta::hours(72)];
/// The window check-ins that fall at night are spread over: 09:00 to 11:00.
pub const DEFAULT_WINDOW: CheckInWindow = CheckInWindow {
    starts: DAY_STARTS,
    ends: hm(11, 0),
};
/// When an ongoing enrolment is checked on, unless it says: Tuesdays at 10:00.
pub const DEFAULT_ONGOING: &str = "0 10 * * 2";
/// How long an answer is waited for before the patient's team is told.
pub const DEFAULT_ANSWER_WITHIN: TimeDelta = TimeDelta::hours(6);

const fn hm(h: u32, m: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(h, m, 0) {
        Some(t) => t,
        None => panic!("a time of day"),
    }
}

/// The stretch of the morning, UK time, over which check-ins that would
/// fall at night are spread, each enrolment at a point of its own (the
/// same every time). So 2,000 discharges checked on after a night are
/// not 2,000 texts at 09:00 (ADR 31). (A schedule that puts many
/// enrolments at one minute of the day is kept to the minute.) Within [`DAY_STARTS`] and
/// [`DAY_ENDS`]; a service sets its own (`check_in_window = "09:00-11:00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInWindow {
    starts: NaiveTime,
    ends: NaiveTime,
}

impl Default for CheckInWindow {
    fn default() -> Self {
        DEFAULT_WINDOW
    }
}

impl CheckInWindow {
    /// Read `"HH:MM-HH:MM"`, UK time, within the day's hours.
    pub fn parse(text: &str) -> Result<Self, CheckInsError> {
        let wrong = || {
            CheckInsError::new(
                Some(&format!("{text:?}")),
                "is not a window for check-ins: write when it starts and ends, UK time, between 09:00 and 20:00, like \"09:00-11:00\"",
            )
        };
        let (starts, ends) = text.split_once('-').ok_or_else(wrong)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| wrong());
        let (starts, ends) = (time(starts)?, time(ends)?);
        if starts < DAY_STARTS || ends > DAY_ENDS || starts >= ends {
            return Err(wrong());
        }
        Ok(Self { starts, ends })
    }

    /// How far into the window `enrolment`'s check-ins fall: a point of
    /// its own, to the second, from its id.
    fn offset(&self, enrolment: super::EnrolmentId) -> TimeDelta {
        let length = (self.ends - self.starts).num_seconds().max(1) as u128;
        TimeDelta::seconds((enrolment.0.as_u128() % length) as i64)
    }

    /// When a check-in meant for `at` is sent: at night, the enrolment's
    /// point in the next morning's window; in the day, `at` itself.
    pub fn place(&self, at: Instant, enrolment: super::EnrolmentId) -> Instant {
        let local = wall_clock(at);
        let morning = if local.time() < DAY_STARTS {
            local.date()
        } else if local.time() >= DAY_ENDS {
            local.date().succ_opt().unwrap_or(local.date())
        } else {
            return at;
        };
        instant_of(morning.and_time(self.starts)) + self.offset(enrolment)
    }
}

/// When an enrolment's check-ins go, as stored with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckIns {
    /// None: asked for none, or stored before check-ins existed.
    #[default]
    None,
    /// At these times after discharge, in seconds, earliest first.
    AfterDischarge {
        /// Seconds after discharge.
        seconds: Vec<i64>,
    },
    /// On a croner schedule, UK time (five fields).
    Schedule {
        /// The schedule as written.
        cron: String,
    },
}

impl CheckIns {
    /// What an enrolment of `kind` gets when it does not say: 24 h and 72 h
    /// after a discharge; weekly for an ongoing one ([`DEFAULT_ONGOING`]).
    pub fn default_for(kind: EnrolmentKind) -> Self {
        match kind {
            EnrolmentKind::Discharge => CheckIns::after_discharge(&DEFAULT_AFTER_DISCHARGE),
            EnrolmentKind::Ongoing => CheckIns::Schedule {
                cron: DEFAULT_ONGOING.to_owned(),
            },
        }
    }

    /// Check-ins at these times after discharge (sorted, repeats dropped).
    pub fn after_discharge(after: &[TimeDelta]) -> Self {
        let mut seconds: Vec<i64> = after.iter().map(|d| d.num_seconds()).collect();
        seconds.sort_unstable();
        seconds.dedup();
        CheckIns::AfterDischarge { seconds }
    }

    /// Read what an enrolment request sends as `check_ins`: a list of
    /// durations after discharge (`["24h", "72h"]`, `[]` for none) or a
    /// schedule (`"0 10 * * 2"`). The error says what to send instead.
    pub fn parse(value: &serde_json::Value) -> Result<Self, CheckInsError> {
        match value {
            serde_json::Value::Array(items) => {
                let mut after = Vec::new();
                for item in items {
                    let text = item.as_str().ok_or_else(|| {
                        CheckInsError::new(
                            None,
                            "each check-in is a time after discharge, like \"24h\"",
                        )
                    })?;
                    let d = humantime::parse_duration(text)
                        .ok()
                        .and_then(|d| TimeDelta::from_std(d).ok())
                        .filter(|d| *d > TimeDelta::zero() && *d <= TimeDelta::days(366))
                        .ok_or_else(|| {
                            CheckInsError::new(Some(text), "is not a time after discharge: write one like \"24h\" or \"3days\"")
                        })?;
                    after.push(d);
                }
                if after.len() > 20 {
                    return Err(CheckInsError::new(
                        None,
                        "at most 20 check-ins after discharge",
                    ));
                }
                Ok(if after.is_empty() {
                    CheckIns::None
                } else {
                    CheckIns::after_discharge(&after)
                })
            }
            serde_json::Value::String(text) => {
                Schedule::parse(text)?;
                Ok(CheckIns::Schedule { cron: text.clone() })
            }
            _ => Err(CheckInsError::new(
                None,
                "send times after discharge, like [\"24h\", \"72h\"], or a schedule, like \"0 10 * * 2\" (Tuesdays at 10:00)",
            )),
        }
    }

    /// The first check-in strictly after `now`, and its number (from 1),
    /// placed in `window`.
    pub fn first(
        &self,
        enrolment: &Enrolment,
        now: Instant,
        window: CheckInWindow,
    ) -> Option<(Instant, u32)> {
        self.after(enrolment, 0, now, window)
    }

    /// The check-in after check-in `number` (sent at `now`), and its
    /// number, placed in `window`.
    pub fn after(
        &self,
        enrolment: &Enrolment,
        number: u32,
        now: Instant,
        window: CheckInWindow,
    ) -> Option<(Instant, u32)> {
        let next = match self {
            CheckIns::None => None,
            CheckIns::AfterDischarge { seconds } => {
                let discharged_at = enrolment.discharged_at?;
                seconds
                    .iter()
                    .enumerate()
                    .skip(number as usize)
                    .map(|(i, s)| {
                        (
                            window.place(discharged_at + TimeDelta::seconds(*s), enrolment.id),
                            i as u32 + 1,
                        )
                    })
                    .find(|(at, _)| *at > now)
            }
            CheckIns::Schedule { cron } => Schedule::parse(cron)
                .ok()
                .and_then(|s| s.next_after(now))
                .map(|at| (window.place(at, enrolment.id), number + 1)),
        };
        next.filter(|(at, _)| enrolment.is_active(*at))
    }
}

/// Why `check_ins` could not be read. Its `Display` quotes the part that
/// was wrong (for a rota file's author); [`CheckInsError::advice`] does not
/// (for answers to an API client, which repeat nothing it sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckInsError {
    /// The part that was wrong, quoted, when there is one.
    wrong: Option<String>,
    advice: &'static str,
}

impl CheckInsError {
    fn new(wrong: Option<&str>, advice: &'static str) -> Self {
        Self {
            wrong: wrong.map(|w| {
                if w.starts_with('"') {
                    w.to_owned()
                } else {
                    format!("{w:?}")
                }
            }),
            advice,
        }
    }

    /// What is wrong and what to send instead, without what was sent.
    pub fn advice(&self) -> &'static str {
        self.advice
    }
}

impl std::fmt::Display for CheckInsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.wrong {
            Some(wrong) => write!(f, "{wrong} {}", self.advice),
            None => f.write_str(self.advice),
        }
    }
}

impl std::error::Error for CheckInsError {}

/// A croner schedule in UK time.
struct Schedule(croner::Cron);

impl Schedule {
    fn parse(text: &str) -> Result<Self, CheckInsError> {
        croner::Cron::new(text).parse().map(Schedule).map_err(|e| {
            CheckInsError::new(
                Some(&format!("{text:?} ({e})")),
                "is not a schedule: write minute, hour, day of month, month and day of week, UK time, like \"0 10 * * 2\" for Tuesdays at 10:00",
            )
        })
    }

    /// The first time on it strictly after `after`, computed in UK local
    /// time so "0 10 * * 2" is 10:00 in winter and summer alike.
    fn next_after(&self, after: Instant) -> Option<Instant> {
        let local = after.with_timezone(&crate::calendar::LONDON);
        self.0
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

/// `at`, or if that is at night (UK time), the next [`DAY_STARTS`].
pub fn daytime(at: Instant) -> Instant {
    let local = wall_clock(at);
    let time = local.time();
    if time < DAY_STARTS {
        instant_of(local.date().and_time(DAY_STARTS))
    } else if time >= DAY_ENDS {
        let tomorrow = local.date().succ_opt().unwrap_or(local.date());
        instant_of(tomorrow.and_time(DAY_STARTS))
    } else {
        at
    }
}
