//! The morning handover: what a service's patients raised out of hours,
//! for the in-hours team that starts work (docs/adr/0017).
//!
//! A [`Summary`] is data, built from the store's concerns and enrolments
//! by [`Summary::build`]; every way of telling it is a template over that
//! data: the text (`sms/handover.txt`), the staff page
//! (`web/staff/handover.html`), and an email body when email goes out.
//! [`window`] says which night a handover covers. Reading the concerns
//! goes through the [`Concerns`] and [`Enrolments`] ports the caller passes
//! in (on a blocking thread: it is store I/O), never the store itself.

use chrono::TimeDelta;
use serde::Serialize;

use crate::calendar::{Calendar, london_format, london_short};
use crate::clock::Instant;
use crate::concern::{Concern, Party, Recognised};
use crate::concern::{ConcernFilter, ConcernStatus, Concerns};
use crate::directory::{Enrolment, Enrolments, Id};
use crate::escalation::Status;
use crate::rota::{Rota, Service};
use crate::store_error::StoreError;
use crate::templates::quote;

/// The handover for `service` at `now`: what its patients raised in the
/// last out-of-hours period (the one under way, if it is out of hours
/// now). `None` for a service with no in-hours team.
pub fn latest(
    store: &(impl Concerns + Enrolments + ?Sized),
    rota: &Rota,
    service: &Service,
    now: Instant,
) -> Result<Option<Summary>, StoreError> {
    let Some((since, until)) = window(rota.calendar(), service, now) else {
        return Ok(None);
    };
    let concerns = concerns_since(store, &service.id, since)?;
    Ok(Some(Summary::build(service, since, until, &concerns)))
}

/// The most concerns one handover reads.
const LIMIT: usize = 500;

/// A service's concerns opened since `since`, and those opened before
/// that are still not resolved (at most [`LIMIT`] of each), each with its
/// patient's enrolment.
pub fn concerns_since(
    store: &(impl Concerns + Enrolments + ?Sized),
    service: &Id,
    since: Instant,
) -> Result<Vec<(Concern, Option<Enrolment>)>, StoreError> {
    let filter = ConcernFilter {
        service: Some(service.clone()),
        opened_since: Some(since),
        limit: LIMIT,
        ..ConcernFilter::default()
    };
    let unresolved = ConcernFilter {
        service: Some(service.clone()),
        statuses: vec![ConcernStatus::Open, ConcernStatus::Accepted],
        limit: LIMIT,
        ..ConcernFilter::default()
    };
    let mut concerns = store.concerns(&filter)?;
    concerns.extend(
        store
            .concerns(&unresolved)?
            .into_iter()
            .filter(|c| c.opened_at < since),
    );
    concerns
        .into_iter()
        .map(|c| {
            let e = match c.enrolment {
                Some(id) => store.enrolment(id)?,
                None => None,
            };
            Ok((c, e))
        })
        .collect()
}

/// How far back [`window`] looks for the start of an out-of-hours
/// period: a bank holiday weekend is four days.
const LOOK_BACK: TimeDelta = TimeDelta::days(5);

/// The out-of-hours period a handover at `now` covers: from when the
/// service's in-hours team last stopped until `now` if it is out of hours
/// now, else until the in-hours team started. `None` for a service with no
/// in-hours team.
pub fn window(calendar: &Calendar, service: &Service, now: Instant) -> Option<(Instant, Instant)> {
    if !service.hours.has_in_hours_team() {
        return None;
    }
    let in_hours = |t: Instant| {
        calendar
            .period(&service.hours, service.division, t)
            .in_hours
    };
    let until = if in_hours(now) {
        last_change(now, |t| !in_hours(t))?
    } else {
        now
    };
    let since = last_change(until - TimeDelta::minutes(1), in_hours)?;
    Some((since, until))
}

/// The first minute after the last one before `from` (looking back at
/// most [`LOOK_BACK`], a minute at a time) at which `was` held.
fn last_change(from: Instant, was: impl Fn(Instant) -> bool) -> Option<Instant> {
    let mut t = from;
    while from - t <= LOOK_BACK {
        if was(t) {
            return Some(t + TimeDelta::minutes(1));
        }
        t -= TimeDelta::minutes(1);
    }
    None
}

/// What a service's patients raised in one out-of-hours period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The service's name for staff.
    pub service: String,
    /// The service's id (for links).
    pub service_id: String,
    /// When the period began and ended, UK time in words ("Mon 23 Nov 18:30").
    pub from: String,
    /// When it ended.
    pub until: String,
    /// Each concern raised, oldest first.
    pub items: Vec<Item>,
    /// How many are still open (nobody has accepted them).
    pub open: usize,
    /// How many someone has and has not yet closed.
    pub accepted: usize,
    /// How many were closed.
    pub resolved: usize,
    /// Concerns raised before the period and still not closed, oldest first.
    pub earlier: Vec<Item>,
}

/// One concern in a handover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The concern's id.
    pub id: String,
    /// Who raised it: "Margaret (patient)", "Siân, Margaret's daughter",
    /// or "an unknown number".
    pub who: String,
    /// When, UK time ("Tue 02:10").
    pub at: String,
    /// What they said, cut short for a text.
    pub words: String,
    /// `open`, `accepted` or `resolved`.
    pub status: &'static str,
    /// Whether a red-flag phrase made it urgent.
    pub urgent: bool,
    /// Who has it or closed it, if anyone.
    pub handled_by: Option<String>,
    /// The note it was closed with, if any.
    pub note: Option<String>,
    /// The patient's named care co-ordinator (a rota id), if they have one.
    pub coordinator: Option<String>,
    /// A stranger's email, which paged nobody and waits for this team
    /// (docs/adr/0022).
    pub not_paged: bool,
}

impl Summary {
    /// The summary of `concerns` (each with its patient's enrolment, if
    /// any) raised between `from` and `until` for `service`.
    pub fn build(
        service: &Service,
        from: Instant,
        until: Instant,
        concerns: &[(Concern, Option<Enrolment>)],
    ) -> Self {
        let mut raised: Vec<&(Concern, Option<Enrolment>)> = concerns
            .iter()
            .filter(|(c, _)| c.opened_at >= from && c.opened_at < until)
            .collect();
        raised.sort_by_key(|(c, _)| (c.opened_at, c.id.to_string()));
        let items: Vec<Item> = raised.iter().map(|(c, e)| item(c, e.as_ref())).collect();
        let mut before: Vec<&(Concern, Option<Enrolment>)> = concerns
            .iter()
            .filter(|(c, _)| c.opened_at < from && !c.escalation.is_resolved())
            .collect();
        before.sort_by_key(|(c, _)| (c.opened_at, c.id.to_string()));
        let earlier: Vec<Item> = before
            .iter()
            .map(|(c, e)| Item {
                at: london_short(c.opened_at),
                ..item(c, e.as_ref())
            })
            .collect();
        Summary {
            service: service.name.clone(),
            service_id: service.id.as_str().to_owned(),
            from: london_short(from),
            until: london_short(until),
            open: 0,
            accepted: 0,
            resolved: 0,
            items,
            earlier,
        }
        .counted()
    }

    /// The same period, only the patients whose co-ordinator is `person`.
    pub fn for_coordinator(&self, person: &str) -> Self {
        let theirs = |items: &[Item]| -> Vec<Item> {
            items
                .iter()
                .filter(|i| i.coordinator.as_deref() == Some(person))
                .cloned()
                .collect()
        };
        Summary {
            items: theirs(&self.items),
            earlier: theirs(&self.earlier),
            ..self.clone()
        }
        .counted()
    }

    /// The co-ordinators named by its patients, each once, in order of appearance.
    pub fn coordinators(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        let all = self.items.iter().chain(&self.earlier);
        for c in all.filter_map(|i| i.coordinator.as_deref()) {
            if !seen.contains(&c) {
                seen.push(c);
            }
        }
        seen
    }

    fn counted(mut self) -> Self {
        let count = |s: &str| self.items.iter().filter(|i| i.status == s).count();
        (self.open, self.accepted, self.resolved) =
            (count("open"), count("accepted"), count("resolved"));
        self
    }
}

fn item(c: &Concern, e: Option<&Enrolment>) -> Item {
    let who = match (e, &c.party) {
        (Some(e), Party::Carer { name, relationship }) => format!(
            "{}, {}'s {}",
            name.split_whitespace().next().unwrap_or(name),
            e.patient.first_name(),
            relationship.as_deref().unwrap_or("carer")
        ),
        (Some(e), _) => format!("{} (patient)", e.patient.first_name()),
        // A stranger's address is on the concern's page, not in a text.
        (None, _) if c.sender.email().is_some() => "an unknown sender by email".to_owned(),
        (None, _) => "an unknown number".to_owned(),
    };
    let (status, handled_by, note) = match &c.escalation.status {
        Status::Open => ("open", None, None),
        Status::Accepted { by, .. } => ("accepted", Some(by.name.clone()), None),
        Status::Resolved { by, note, .. } => (
            "resolved",
            by.as_ref().map(|b| b.name.clone()),
            note.clone(),
        ),
    };
    Item {
        id: c.id.to_string(),
        who,
        at: london_format(c.opened_at, "%a %H:%M"),
        words: quote(&c.text),
        status,
        urgent: c.escalation.urgent,
        handled_by,
        note,
        coordinator: e
            .and_then(|e| e.coordinator.as_ref())
            .map(|c| c.as_str().to_owned()),
        not_paged: c.recognised.is_some_and(Recognised::pages_nobody),
    }
}
