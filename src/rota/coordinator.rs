//! Named care co-ordinators: who answers first for one patient.
//!
//! A care co-ordinator is a person in the rota files with their own
//! working hours (`hours` on `[people.ID]`, in the same form as a
//! service's). An enrolment may name one. [`Rota::resolve_for`] is the one
//! place that decides what that changes, and the engine, the voice line,
//! `nightingale rota who --enrolment` and `GET /api/v1/oncall?enrolment=`
//! all ask it:
//!
//! - in the co-ordinator's hours, they are the patient's first contact: a
//!   level of their own comes first, then the service's chain as it stands
//!   at that instant (in hours or out of hours);
//! - out of their hours, the service's chain answers, exactly as for a
//!   patient with no co-ordinator;
//! - while an override (absence, leave, or someone covering them) applies
//!   to the co-ordinator, their level is left out and the service's chain
//!   answers. Their level is never filled by the fallback, so a co-ordinator
//!   away is never a gap: `rota check` has nothing to report.
//!
//! Bank holidays are the patient's service's: a co-ordinator's hours with
//! `bank_holidays = "closed"` (the default) are closed on the bank holidays
//! of the division of the service the patient is enrolled with.

use std::fmt;

use chrono::NaiveDateTime;

use super::cover::Cover;
use super::{Chain, Holder, Level, OnCall, ResolvedLevel, Rota, ServiceIx, Via};
use crate::calendar::{Period, WorkingHours, instant_of};
use crate::clock::Instant;
use crate::directory::{Id, Staff};

/// A person's working hours as a care co-ordinator, from the rota files.
#[derive(Debug, Clone)]
pub struct Coordinator {
    /// When they answer for their patients.
    pub hours: WorkingHours,
    /// Their level: them alone, paged first in their hours, with their
    /// `ack_within` (10 minutes unless the file says).
    pub level: Level,
}

/// A named co-ordinator at one instant: whether they are first contact,
/// and if not, why not.
#[derive(Debug, Clone)]
pub struct CoordinatorAt<'r> {
    /// The id the enrolment names.
    pub id: Id,
    /// The person, if the rota still has them.
    pub person: Option<&'r Staff>,
    /// Whether they answer first now.
    pub status: CoordinatorStatus<'r>,
}

impl CoordinatorAt<'_> {
    /// Whether they are paged first.
    pub fn first_contact(&self) -> bool {
        matches!(self.status, CoordinatorStatus::FirstContact { .. })
    }
}

/// Why a named co-ordinator is, or is not, first contact.
#[derive(Debug, Clone)]
pub enum CoordinatorStatus<'r> {
    /// In their hours: paged first, until this local time (if their hours
    /// ever end).
    FirstContact {
        /// When their hours end (UK local time).
        until: Option<NaiveDateTime>,
    },
    /// Out of their hours.
    OutOfHours(Period),
    /// In their hours, but an override marks them absent or covered.
    Away(&'r Cover),
    /// The rota gives them no working hours.
    NoHours,
    /// The rota gives them no way to be reached.
    Unreachable,
    /// The rota no longer has them.
    NotInRota,
}

impl fmt::Display for CoordinatorAt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.person {
            Some(p) => write!(f, "care co-ordinator {} [{}]: ", p.name, p.id)?,
            None => write!(f, "care co-ordinator [{}]: ", self.id)?,
        }
        match &self.status {
            CoordinatorStatus::FirstContact { until } => {
                f.write_str("first contact, in their hours")?;
                if let Some(until) = until {
                    write!(f, " until {}", until.format("%a %d %b %Y %H:%M"))?;
                }
                Ok(())
            }
            CoordinatorStatus::OutOfHours(period) => {
                let why = period.to_string();
                let why = why.strip_prefix("out of hours: ").unwrap_or(&why);
                write!(
                    f,
                    "out of their hours ({}), so the service's chain answers",
                    why.replace("the in-hours team's hours", "their hours")
                )
            }
            CoordinatorStatus::Away(cover) => write!(
                f,
                "away ({}, {}), so the service's chain answers",
                cover.reason.as_deref().unwrap_or("override"),
                cover.source
            ),
            CoordinatorStatus::NoHours => {
                f.write_str("no working hours in the rota files, so the service's chain answers")
            }
            CoordinatorStatus::Unreachable => f.write_str(
                "no way to be reached in the rota files, so the service's chain answers",
            ),
            CoordinatorStatus::NotInRota => {
                f.write_str("not in the rota files, so the service's chain answers")
            }
        }
    }
}

impl Rota {
    /// The co-ordinator hours of the person with this id, if they have any.
    pub fn coordinator(&self, id: &str) -> Option<&Coordinator> {
        self.people_by_id
            .get(id)
            .and_then(|ix| self.coordinators.get(ix))
    }

    /// The escalation chain for a patient of `service` whose enrolment
    /// names `coordinator`, at `at`: the one place a co-ordinator changes
    /// routing (see the module's documentation). With no co-ordinator it is
    /// [`Rota::resolve`]'s chain. Pure, like `resolve`.
    pub fn resolve_for(
        &self,
        service: ServiceIx,
        coordinator: Option<&Id>,
        at: Instant,
    ) -> Chain<'_> {
        let mut chain = self.resolve(service, at);
        let Some(id) = coordinator else {
            return chain;
        };
        let mut horizon = None;
        let (person, status, level) = match self.people_by_id.get(id) {
            None => (None, CoordinatorStatus::NotInRota, None),
            Some(&ix) => {
                let person = &self.people[ix as usize];
                let (status, level) = match self.coordinators.get(&ix) {
                    None => (CoordinatorStatus::NoHours, None),
                    Some(_) if person.contacts.is_empty() => (CoordinatorStatus::Unreachable, None),
                    Some(c) => {
                        let period = self.calendar.period(&c.hours, chain.service.division, at);
                        horizon = period.until.map(instant_of);
                        if !period.in_hours {
                            (CoordinatorStatus::OutOfHours(period), None)
                        } else {
                            match self.covers.holder(None, Some(ix), at, &mut horizon) {
                                Holder::Covered(cover) => (CoordinatorStatus::Away(cover), None),
                                Holder::Planned(_) => (
                                    CoordinatorStatus::FirstContact {
                                        until: period.until,
                                    },
                                    Some(&c.level),
                                ),
                            }
                        }
                    }
                };
                (Some(person), status, level)
            }
        };
        if let (Some(level), Some(person)) = (level, person) {
            chain.levels.insert(
                0,
                ResolvedLevel {
                    number: 1,
                    level,
                    on_call: vec![OnCall {
                        person,
                        via: Via::Coordinator,
                    }],
                    filled_by_fallback: false,
                },
            );
            for (i, level) in chain.levels.iter_mut().enumerate() {
                level.number = i + 1;
            }
            chain.fallback.number = chain.levels.len() + 1;
        }
        chain.valid_until = match (chain.valid_until, horizon) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        chain.coordinator = Some(CoordinatorAt {
            id: id.clone(),
            person,
            status,
        });
        chain
    }
}
