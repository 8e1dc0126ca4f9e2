//! A person's shifts: when, in the days ahead, the rota puts them on call,
//! at which level of which service, as [`Rota::resolve`] answers it.
//!
//! Each service's timeline is walked from one `valid_until` to the next
//! (as `rota check` walks it), so every instant at which the answer could
//! change is visited. Consecutive stretches on the same level of the same
//! service, in the same period (in or out of hours), make one shift. The
//! trust-wide fallback is one more "service": someone on the site duty
//! manager rota is on call for every service at once, and it shows once.

use chrono::NaiveDate;

use crate::calendar::{Division, wall_clock};
use crate::clock::Instant;
use crate::directory::Id;
use crate::rota::{ResolvedLevel, Rota, Via};

/// One stretch on call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    /// The service's id (`None`: the trust-wide fallback).
    pub service: Option<Id>,
    /// The service's name, or "Trust-wide fallback".
    pub service_name: String,
    /// The level (1 for first called); `None` for the fallback.
    pub level: Option<usize>,
    /// In hours (the in-hours team) rather than out of hours.
    pub in_hours: bool,
    /// How they come to be on it: the rotation's name, "named on the
    /// level", or the cover (an override or swap) that puts them there.
    pub via: String,
    /// Start (clipped to the start of the range asked about).
    pub from: Instant,
    /// End, exclusive (clipped to the end of the range).
    pub until: Instant,
    /// Bank holidays the shift touches: (date, name).
    pub bank_holidays: Vec<(NaiveDate, String)>,
}

impl Shift {
    /// A stable identity for the shift as it started: the same shift gets
    /// the same id in each calendar feed (its `UID`).
    pub fn uid(&self, person: &Id) -> String {
        format!(
            "{}-{}-{}-{}-{}@nightingale",
            person,
            self.service.as_ref().map_or("fallback", |s| s.as_str()),
            self.level.map_or(0, |l| l),
            if self.in_hours { "in" } else { "out" },
            self.from.timestamp()
        )
    }

    /// "Cardiology Ward 7, level 1 (out of hours)".
    pub fn title(&self) -> String {
        match self.level {
            Some(level) => format!(
                "{}, level {level} ({})",
                self.service_name,
                if self.in_hours {
                    "in hours"
                } else {
                    "out of hours"
                }
            ),
            None => format!("{} for every service", self.service_name),
        }
    }
}

fn via(v: &Via<'_>) -> String {
    match v {
        Via::Rotation(r) => r.name.clone(),
        Via::Named => "named on the level".to_owned(),
        Via::Cover(c) => match &c.reason {
            Some(reason) => format!("covering ({reason})"),
            None => "covering (an override or swap)".to_owned(),
        },
        Via::Fallback => "the trust-wide fallback".to_owned(),
        Via::Coordinator => "care co-ordinator".to_owned(),
    }
}

/// How `person` is on `level`, if they are (not standing in as the fallback:
/// that is shown once, as the fallback's own shift).
fn on(level: &ResolvedLevel<'_>, person: &Id) -> Option<String> {
    level
        .on_call
        .iter()
        .find(|o| &o.person.id == person && !matches!(o.via, Via::Fallback))
        .map(|o| via(&o.via))
}

/// `person`'s shifts in `[from, until)`, in order of start.
pub fn shifts_of(rota: &Rota, person: &Id, from: Instant, until: Instant) -> Vec<Shift> {
    let mut shifts = Vec::new();
    for (ix, service) in rota.services().iter().enumerate() {
        walk(
            &mut shifts,
            from,
            until,
            Some(&service.id),
            &service.name,
            |t| {
                let chain = rota.resolve(ix as u32, t);
                let mut now_on = Vec::new();
                for (i, level) in chain.levels.iter().enumerate() {
                    if let Some(via) = on(level, person) {
                        now_on.push((Some(i + 1), via));
                    }
                }
                (now_on, chain.period.in_hours, chain.valid_until)
            },
        );
    }
    // The fallback, once for the trust.
    walk(&mut shifts, from, until, None, "Trust-wide fallback", |t| {
        let (level, valid_until) = rota.fallback_at(t);
        let now_on: Vec<_> = level
            .on_call
            .iter()
            .filter(|o| &o.person.id == person)
            .map(|o| (None, via(&o.via)))
            .collect();
        (now_on, false, valid_until)
    });
    for shift in &mut shifts {
        let division = shift
            .service
            .as_ref()
            .and_then(|s| rota.service(s.as_str()))
            .map_or(Division::EnglandAndWales, |ix| {
                rota.services()[ix as usize].division
            });
        shift.bank_holidays = holidays_in(rota, division, shift.from, shift.until);
    }
    shifts.sort_by(|a, b| {
        (a.from, &a.service_name, a.level).cmp(&(b.from, &b.service_name, b.level))
    });
    shifts
}

/// Walks one service's timeline (or the fallback's, with `service`
/// `None`) over `[from, until)`, from one change to the next: `at(t)`
/// says how `person` is on from `t` (level and via), whether in hours, and
/// until when the answer holds. The shifts are added to `shifts`.
fn walk(
    shifts: &mut Vec<Shift>,
    from: Instant,
    until: Instant,
    service: Option<&Id>,
    service_name: &str,
    at: impl Fn(Instant) -> (Vec<(Option<usize>, String)>, bool, Option<Instant>),
) {
    let mut open: Vec<Shift> = Vec::new();
    let mut t = from;
    while t < until {
        let (now_on, in_hours, valid_until) = at(t);
        let next = next_change(valid_until, t, until);
        extend(
            &mut open,
            shifts,
            &now_on,
            in_hours,
            t,
            next,
            |level, via| Shift {
                service: service.cloned(),
                service_name: service_name.to_owned(),
                level,
                in_hours,
                via,
                from: t,
                until: next,
                bank_holidays: Vec::new(),
            },
        );
        t = next;
    }
    shifts.append(&mut open);
}

fn next_change(valid_until: Option<Instant>, t: Instant, until: Instant) -> Instant {
    match valid_until {
        Some(v) if v > t => v.min(until),
        _ => until,
    }
}

/// Carry on the open shifts that continue into `[t, next)`, close those
/// that do not, and open new ones.
#[allow(clippy::too_many_arguments)]
fn extend(
    open: &mut Vec<Shift>,
    done: &mut Vec<Shift>,
    now_on: &[(Option<usize>, String)],
    in_hours: bool,
    t: Instant,
    next: Instant,
    new: impl Fn(Option<usize>, String) -> Shift,
) {
    let mut still = Vec::new();
    for mut shift in open.drain(..) {
        let continues = shift.until == t
            && shift.in_hours == in_hours
            && now_on
                .iter()
                .any(|(l, v)| *l == shift.level && *v == shift.via);
        if continues {
            shift.until = next;
            still.push(shift);
        } else {
            done.push(shift);
        }
    }
    for (level, via) in now_on {
        if !still.iter().any(|s| s.level == *level && s.via == *via) {
            still.push(new(*level, via.clone()));
        }
    }
    *open = still;
}

/// The bank holidays of `division` on the local dates `[from, until)` touches.
fn holidays_in(
    rota: &Rota,
    division: Division,
    from: Instant,
    until: Instant,
) -> Vec<(NaiveDate, String)> {
    let first = wall_clock(from).date();
    // The end is exclusive: a shift ending at midnight does not touch that day.
    let last = wall_clock(until - chrono::TimeDelta::seconds(1)).date();
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter_map(|d| {
            rota.calendar()
                .holidays()
                .on(division, d)
                .map(|name| (d, name.to_owned()))
        })
        .collect()
}
