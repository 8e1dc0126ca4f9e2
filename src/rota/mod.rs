//! The rota engine: who is on call for a service at any instant.
//!
//! A trust's rota files (TOML in `rota/`, see `rota/README.md`) compile into a
//! [`Rota`]. [`Rota::resolve`] is a pure calculator: given a service and an
//! instant it returns the escalation [`Chain`] — each level's people and how
//! to reach them — and the instant until which that answer holds, so the
//! engine can set one timer instead of polling for handovers. No I/O happens
//! during resolution.
//!
//! Whenever a level would be empty (a rotation not started, someone absent
//! with no cover, nobody reachable), the trust-wide fallback fills it, so
//! there is never nobody; [`check`] finds those intervals ahead of time.

pub mod check;
pub mod coordinator;
pub mod cover;
pub mod layer;
pub mod load;
pub mod rotation;
pub mod scope;
pub mod stretch;

use std::collections::HashMap;
use std::time::Duration;

use crate::calendar::{Calendar, Division, Period, WorkingHours, instant_of, wall_clock};
use crate::clock::Instant;
use crate::directory::{Id, Staff};

pub use check::{Gap, GapKind, check};
pub use coordinator::{Coordinator, CoordinatorAt, CoordinatorStatus};
pub use cover::{Cover, CoverBook, Holder};
pub use layer::LiveRota;
pub use load::{Problem, Problems, load_dir, load_files, read_dir};
pub use rotation::{PersonIx, Rotation, Turn};

/// Index of a service in the compiled rota.
pub type ServiceIx = u32;

/// Who a level pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// Whoever holds this rotation.
    Rotation(cover::RotationIx),
    /// These people, whenever the level applies (a team phone, a named consultant).
    People(Vec<PersonIx>),
}

/// One level of an escalation chain, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// Who it pages.
    pub who: Who,
    /// How long to wait for someone to accept before escalating.
    pub ack_within: Duration,
    /// How many more times to page this level before moving on.
    pub repeat: u32,
}

/// A service patients are enrolled with.
#[derive(Debug, Clone)]
pub struct Service {
    /// Its id, e.g. `cardiology-ward-7`.
    pub id: Id,
    /// Its name for staff.
    pub name: String,
    /// Its name in messages to patients, e.g. "the cardiology team at Riverside Hospital".
    pub patient_name: String,
    /// Which UK bank holidays it keeps.
    pub division: Division,
    /// When its in-hours team answers.
    pub hours: WorkingHours,
    /// Levels in hours (empty when the service has no in-hours team).
    pub in_hours: Vec<Level>,
    /// Levels out of hours.
    pub out_of_hours: Vec<Level>,
    /// How many times to go round the whole chain before paging the fallback.
    pub chain_repeats: u32,
    /// How long a caller waits to be put through to a person before being
    /// asked to leave a message ([`DEFAULT_LIVE_FOR`] unless the file says).
    pub live_for: Duration,
    /// When its discharge enrolments are checked on unless an enrolment
    /// says (`check_ins`; 24 h and 72 h after discharge by default).
    pub check_ins: crate::directory::check_ins::CheckIns,
    /// How long the answer to a check-in is waited for before the team is
    /// told (`check_in_answer_within`; 6 h by default).
    pub check_in_answer_within: chrono::TimeDelta,
    /// The morning window check-ins that fall at night are spread over
    /// (`check_in_window`; 09:00–11:00 by default: ADR 31).
    pub check_in_window: crate::directory::check_ins::CheckInWindow,
    /// Who manages it (`managers = [...]`): they may see and edit its rota
    /// on the web, as may the trust's managers.
    pub managers: Vec<Id>,
    /// The EPR's points of care (HL7 `PV1-3`, `locations = [...]`) whose
    /// discharges enrol with it; no location belongs to two services.
    pub locations: Vec<String>,
}

/// How long a caller waits for a person, for a service that does not say.
pub const DEFAULT_LIVE_FOR: chrono::TimeDelta = chrono::TimeDelta::seconds(90);

/// A whole trust's rota, compiled for fast resolution.
#[derive(Debug, Clone)]
pub struct Rota {
    /// The trust's name.
    pub trust_name: String,
    calendar: Calendar,
    people: Vec<Staff>,
    people_by_id: HashMap<Id, PersonIx>,
    people_by_phone: HashMap<crate::directory::PhoneNumber, PersonIx>,
    services: Vec<Service>,
    services_by_id: HashMap<Id, ServiceIx>,
    rotations: Vec<Rotation>,
    fallback: Level,
    covers: CoverBook,
    managers: Vec<Id>,
    gap_alerts: GapAlerts,
    /// The longest stretch on call in a row an edit may give someone
    /// before the page warns (`max_on_call_in_a_row` under `[trust]`).
    max_on_call_in_a_row: chrono::TimeDelta,
    /// People with their own working hours, who may be named as a
    /// patient's care co-ordinator (see [`coordinator`]).
    coordinators: HashMap<PersonIx, Coordinator>,
}

/// The longest stretch on call in a row before a rota edit is warned
/// about, if `rota/trust.toml` does not say: 24 hours.
pub const DEFAULT_MAX_ON_CALL_IN_A_ROW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// When gap alerts go out if `rota/trust.toml` does not say: 17:00 every day.
pub const DEFAULT_GAP_ALERTS: &str = "0 17 * * *";

/// When the trust wants gap alerts sent (`gap_alerts` under `[trust]`): a
/// cron schedule in UK local time.
#[derive(Debug, Clone)]
pub struct GapAlerts {
    text: String,
    cron: croner::Cron,
}

impl GapAlerts {
    /// Parse a five-field cron schedule.
    pub fn parse(text: &str) -> Result<Self, croner::errors::CronError> {
        let cron = croner::Cron::new(text).parse()?;
        Ok(Self {
            text: text.to_owned(),
            cron,
        })
    }

    /// The schedule as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first time on the schedule strictly after `after`. Computed in
    /// UK local time, so "0 17 * * *" is 17:00 in winter and summer alike;
    /// a time the clocks skip or repeat falls where croner puts it, once.
    pub fn next_after(&self, after: Instant) -> Option<Instant> {
        let local = after.with_timezone(&crate::calendar::LONDON);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

/// How a person came to be on a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via<'r> {
    /// They hold the rotation.
    Rotation(&'r Rotation),
    /// The level names them.
    Named,
    /// An override or swap puts them there.
    Cover(&'r Cover),
    /// The level was empty; the trust-wide fallback stands in.
    Fallback,
    /// The patient's named care co-ordinator, in their own hours.
    Coordinator,
}

/// A person on a level at an instant.
#[derive(Debug, Clone, Copy)]
pub struct OnCall<'r> {
    /// Who.
    pub person: &'r Staff,
    /// Why they are there.
    pub via: Via<'r>,
}

/// One level of a resolved chain.
#[derive(Debug, Clone)]
pub struct ResolvedLevel<'r> {
    /// 1 for the first level; the trust-wide fallback comes last.
    pub number: usize,
    /// The configuration: how long to wait, how often to repeat.
    pub level: &'r Level,
    /// The reachable people to page. Never empty unless the fallback is empty too.
    pub on_call: Vec<OnCall<'r>>,
    /// True when the level's own people were missing and the fallback stands in.
    pub filled_by_fallback: bool,
}

/// Who to page for a service at an instant, and until when that holds.
#[derive(Debug, Clone)]
pub struct Chain<'r> {
    /// The service.
    pub service: &'r Service,
    /// In hours or out of hours, and why.
    pub period: Period,
    /// The service's levels, in order.
    pub levels: Vec<ResolvedLevel<'r>>,
    /// The trust-wide fallback, paged after the chain is exhausted.
    pub fallback: ResolvedLevel<'r>,
    /// The first instant at which any of this could change; `None` if never.
    pub valid_until: Option<Instant>,
    /// The patient's named care co-ordinator, when the chain was resolved
    /// for an enrolment that names one ([`Rota::resolve_for`]): whether
    /// they are first contact now, and why.
    pub coordinator: Option<CoordinatorAt<'r>>,
}

impl<'r> Chain<'r> {
    /// Whether only the fallback covers: every own level was empty.
    pub fn only_fallback(&self) -> bool {
        self.levels.iter().all(|l| l.filled_by_fallback)
    }
}

impl Rota {
    /// The calendar the rota was compiled with.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// All services, in id order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// All staff, in id order.
    pub fn people(&self) -> &[Staff] {
        &self.people
    }

    /// All rotations, in id order.
    pub fn rotations(&self) -> &[Rotation] {
        &self.rotations
    }

    /// Every override and swap.
    pub fn covers(&self) -> &CoverBook {
        &self.covers
    }

    /// The service with this id.
    pub fn service(&self, id: &str) -> Option<ServiceIx> {
        self.services_by_id.get(id).copied()
    }

    /// The service whose `locations` list this point of care (HL7 `PV1-3`).
    pub fn service_for_location(&self, location: &str) -> Option<&Service> {
        let location = location.trim();
        self.services
            .iter()
            .find(|s| s.locations.iter().any(|l| l == location))
    }

    /// The longest stretch on call in a row before an edit is warned about.
    pub fn max_on_call_in_a_row(&self) -> chrono::TimeDelta {
        self.max_on_call_in_a_row
    }

    /// When the trust wants gap alerts sent.
    pub fn gap_alerts(&self) -> &GapAlerts {
        &self.gap_alerts
    }

    /// Who manages the whole trust (`managers = [...]` under `[trust]`).
    pub fn trust_managers(&self) -> &[Id] {
        &self.managers
    }

    /// Whether `person` may manage `service`: they are one of its managers
    /// or one of the trust's.
    pub fn manages(&self, person: &Id, service: ServiceIx) -> bool {
        self.managers.contains(person)
            || self
                .services
                .get(service as usize)
                .is_some_and(|s| s.managers.contains(person))
    }

    /// Whether `person` has a part in `service`: they manage it, or one of
    /// its levels (in or out of hours) names them or a rotation they are in.
    pub fn part_of(&self, person: &Id, service: ServiceIx) -> bool {
        if self.manages(person, service) {
            return true;
        }
        let Some(&ix) = self.people_by_id.get(person) else {
            return false;
        };
        self.services.get(service as usize).is_some_and(|s| {
            s.in_hours
                .iter()
                .chain(&s.out_of_hours)
                .any(|level| match &level.who {
                    Who::People(people) => people.contains(&ix),
                    Who::Rotation(r) => self.rotations[*r as usize].members.contains(&ix),
                })
        })
    }

    /// The person with this id.
    pub fn person(&self, id: &str) -> Option<&Staff> {
        self.people_by_id.get(id).map(|&i| &self.people[i as usize])
    }

    /// The member of staff with this phone number (SMS or voice contact), if any.
    pub fn staff_by_phone(&self, phone: &crate::directory::PhoneNumber) -> Option<&Staff> {
        self.people_by_phone
            .get(phone)
            .map(|&i| &self.people[i as usize])
    }

    /// The trust-wide fallback alone at `at` (for senders Nightingale does
    /// not know), and until when it holds.
    pub fn fallback_at(&self, at: Instant) -> (ResolvedLevel<'_>, Option<Instant>) {
        let mut local_horizon = None;
        let mut horizon = None;
        let level = self.resolve_level(
            &self.fallback,
            1,
            wall_clock(at),
            at,
            &mut local_horizon,
            &mut horizon,
        );
        let local_change = local_horizon.map(instant_of);
        let valid_until = match (local_change, horizon) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        (level, valid_until)
    }

    /// The escalation chain for `service` at `at`. Pure: the same rota,
    /// service and instant always give the same chain.
    pub fn resolve(&self, service: ServiceIx, at: Instant) -> Chain<'_> {
        let service = &self.services[service as usize];
        let local = wall_clock(at);
        let period = self.calendar.period(&service.hours, service.division, at);
        let mut local_horizon = period.until;
        let mut horizon: Option<Instant> = None;
        let levels = if period.in_hours {
            &service.in_hours
        } else {
            &service.out_of_hours
        };

        let mut fallback = self.resolve_level(
            &self.fallback,
            0,
            local,
            at,
            &mut local_horizon,
            &mut horizon,
        );
        let levels: Vec<ResolvedLevel<'_>> = levels
            .iter()
            .enumerate()
            .map(|(i, level)| {
                let mut resolved =
                    self.resolve_level(level, i + 1, local, at, &mut local_horizon, &mut horizon);
                if resolved.on_call.is_empty() {
                    resolved.filled_by_fallback = true;
                    resolved
                        .on_call
                        .extend(fallback.on_call.iter().map(|o| OnCall {
                            person: o.person,
                            via: Via::Fallback,
                        }));
                }
                resolved
            })
            .collect();
        fallback.number = levels.len() + 1;

        let local_change = local_horizon.map(instant_of);
        let valid_until = match (local_change, horizon) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Chain {
            service,
            period,
            levels,
            fallback,
            valid_until,
            coordinator: None,
        }
    }

    fn resolve_level<'r>(
        &'r self,
        level: &'r Level,
        number: usize,
        local: chrono::NaiveDateTime,
        at: Instant,
        local_horizon: &mut Option<chrono::NaiveDateTime>,
        horizon: &mut Option<Instant>,
    ) -> ResolvedLevel<'r> {
        let mut on_call = Vec::with_capacity(1);
        let mut push = |holder: Holder<'r>, planned_via: Via<'r>| {
            if let Some(p) = holder.person() {
                let person = &self.people[p as usize];
                if !person.contacts.is_empty()
                    && !on_call
                        .iter()
                        .any(|o: &OnCall<'_>| std::ptr::eq(o.person, person))
                {
                    let via = match holder {
                        Holder::Planned(_) => planned_via,
                        Holder::Covered(c) => Via::Cover(c),
                    };
                    on_call.push(OnCall { person, via });
                }
            }
        };
        match &level.who {
            Who::Rotation(r) => {
                let rotation = &self.rotations[*r as usize];
                let turn = rotation.turn_at(local);
                if let Some(until) = turn.until {
                    *local_horizon = Some(local_horizon.map_or(until, |h| h.min(until)));
                }
                push(
                    self.covers.holder(Some(*r), turn.member, at, horizon),
                    Via::Rotation(rotation),
                );
            }
            Who::People(people) => {
                for &p in people {
                    push(self.covers.holder(None, Some(p), at, horizon), Via::Named);
                }
            }
        }
        ResolvedLevel {
            number,
            level,
            on_call,
            filled_by_fallback: false,
        }
    }
}

/// The chain as `nightingale rota who` prints it.
impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} ({})", self.service.name, self.service.id)?;
        writeln!(f, "{}", self.period)?;
        if let Some(coordinator) = &self.coordinator {
            writeln!(f, "{coordinator}")?;
        }
        for level in self.levels.iter().chain(std::iter::once(&self.fallback)) {
            let label = if std::ptr::eq(level, &self.fallback) {
                "fallback".to_owned()
            } else {
                format!("level {}", level.number)
            };
            writeln!(
                f,
                "{label} (accept within {}, repeat {}):",
                humantime::format_duration(level.level.ack_within),
                level.level.repeat
            )?;
            if level.on_call.is_empty() {
                writeln!(f, "  NOBODY reachable")?;
            }
            for o in &level.on_call {
                let contacts: Vec<String> = o
                    .person
                    .contacts
                    .iter()
                    .zip(o.person.after.iter().chain(std::iter::repeat(&None)))
                    .map(|(c, after)| match after {
                        Some(d) => format!("{c} after {}", humantime::format_duration(*d)),
                        None => c.to_string(),
                    })
                    .collect();
                writeln!(
                    f,
                    "  {} — {} [{}] via {}; {}",
                    o.person.name,
                    o.person.role,
                    o.person.id,
                    o.via,
                    contacts.join(", ")
                )?;
            }
        }
        match self.valid_until {
            Some(t) => writeln!(
                f,
                "holds until {}",
                t.with_timezone(&crate::calendar::LONDON)
                    .format("%a %d %b %Y %H:%M %Z")
            ),
            None => writeln!(f, "holds indefinitely"),
        }
    }
}

impl std::fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Via::Rotation(r) => write!(f, "rotation {}", r.id),
            Via::Named => f.write_str("named on the level"),
            Via::Cover(c) => write!(
                f,
                "cover ({}) from {}",
                c.reason.as_deref().unwrap_or("override"),
                c.source
            ),
            Via::Fallback => f.write_str("trust-wide fallback"),
            Via::Coordinator => f.write_str("the patient's care co-ordinator, in their hours"),
        }
    }
}
