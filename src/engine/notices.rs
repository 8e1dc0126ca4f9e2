//! Notices: scheduled work that belongs to no concern (docs/adr/0017) — a
//! check-in text, the wait for its answer, the morning handover.
//!
//! Like timers, notices live in the store and are claimed with a lease and
//! a fencing token, so several nodes send each once and a restart loses
//! none. Each fires in its own change, which removes it and, in the same
//! write, queues its texts and schedules what follows (the next check-in,
//! the wait for an answer, tomorrow's handover). What must wait for
//! working hours or daylight is not sent: the notice is set again for then.

use crate::channels::email::EmailBody;
use crate::checkins;
use crate::checkins::{Notice, NoticeKind};
use crate::clock::Instant;
use crate::directory::check_ins::{DEFAULT_ANSWER_WITHIN, daytime};
use crate::directory::{Address, Enrolment, EnrolmentId, Id, PhoneNumber, Staff};
use crate::handover::{self, Summary};
use crate::outbox::NewOutbox;
use crate::rota::{CoordinatorStatus, Rota, Service};
use crate::store;
use crate::timeline::Purpose;
use crate::work::{Change, ClaimOf, Claimed};

use super::render::staff_text;
use super::stats::Stats;
use super::{BATCH, EngineResult, LEASE, Parts, exhausted};

/// Fire the notices due at `now`, earliest first; returns how many.
pub(super) async fn fire_due(parts: &Parts, stats: &Stats, now: Instant) -> EngineResult<usize> {
    let node = parts.node.clone();
    let due = store::blocking(&parts.store, move |s| {
        s.claim_of::<Notice>(&node, now, LEASE, BATCH)
    })
    .await?;
    // Renewed on the leases' own task until every one is finished.
    let _held = parts.leases.hold(due.iter().map(|c| &c.claim));
    let count = due.len();
    for claimed in due {
        fire_claimed(parts, stats, claimed, now).await?;
    }
    Ok(count)
}

/// Make sure every service with an in-hours team has its next morning
/// handover scheduled (added only where none is: nodes that start at once
/// schedule it once).
pub(super) async fn seed_handovers(parts: &Parts, now: Instant) -> EngineResult<()> {
    let rota = parts.rota();
    let add_notices: Vec<Notice> = rota
        .services()
        .iter()
        .filter_map(|service| next_handover(&rota, service, now))
        .collect();
    if add_notices.is_empty() {
        return Ok(());
    }
    parts
        .write(Change {
            at: now,
            add_notices,
            ..Change::default()
        })
        .await
}

/// The handover at the next start of `service`'s working hours after `now`,
/// covering the out-of-hours period before it.
fn next_handover(rota: &Rota, service: &Service, now: Instant) -> Option<Notice> {
    let calendar = rota.calendar();
    let period = calendar.period(&service.hours, service.division, now);
    let (since, due_at) = if period.in_hours {
        let out = crate::calendar::instant_of(period.until?);
        let back = calendar.period(&service.hours, service.division, out);
        (out, crate::calendar::instant_of(back.until?))
    } else {
        let since = handover::window(calendar, service, now).map_or(now, |(since, _)| since);
        (since, crate::calendar::instant_of(period.until?))
    };
    Some(Notice {
        key: format!("handover/{}", service.id),
        due_at,
        what: NoticeKind::Handover {
            service: service.id.clone(),
            since,
        },
    })
}

/// Fire one claimed notice and write what it changed, ending the claim.
async fn fire_claimed(
    parts: &Parts,
    stats: &Stats,
    Claimed { claim, item }: Claimed<Notice>,
    now: Instant,
) -> EngineResult<()> {
    stats.record_lateness(parts.clock.now() - item.due_at);
    let what = format!("{} notice {}", item.what.as_str(), item.key);
    let aside = Change {
        at: now,
        ..Change::default()
    };
    if let Some(reason) = exhausted(&claim) {
        return parts.set_aside(stats, claim, aside, &what, &reason).await;
    }
    let fired = fire(parts, item, now).await;
    parts.finish(stats, claim, fired, aside, &what).await
}

/// What one notice falling due changes.
async fn fire(parts: &Parts, notice: Notice, now: Instant) -> EngineResult<Change> {
    let mut change = Change {
        at: now,
        ..Change::default()
    };
    match notice.what.clone() {
        NoticeKind::CheckIn { enrolment, number } => {
            check_in(parts, enrolment, number, now, &mut change).await?
        }
        NoticeKind::CheckInUnanswered { enrolment, sent_at } => {
            unanswered(parts, &notice, enrolment, sent_at, now, &mut change).await?
        }
        NoticeKind::Review {
            enrolment,
            review_at,
        } => review(parts, &notice, enrolment, review_at, now, &mut change).await?,
        NoticeKind::Handover { service, since } => {
            morning_handover(parts, &service, since, now, &mut change).await?
        }
    }
    Ok(change)
}

/// The number a check-in goes to: the patient's, or if theirs takes no
/// texts, the first carer's that does.
fn check_in_number(enrolment: &Enrolment) -> Option<(&PhoneNumber, String)> {
    // A patient who does not take texts (a child) is asked about through
    // the carer who is their contact, the first.
    let skip = usize::from(!enrolment.patient_takes_texts);
    enrolment.people().skip(skip).find_map(|(path, c)| {
        let phone = c.phone.as_ref().filter(|p| p.can_text())?;
        let label = if path == "patient" {
            "patient"
        } else {
            "carer"
        };
        Some((phone, label.to_owned()))
    })
}

/// Send check-in `number`, wait for its answer, and schedule the next.
async fn check_in(
    parts: &Parts,
    id: EnrolmentId,
    number: u32,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let Some(enrolment) = store::blocking(&parts.store, move |s| s.enrolment(id)).await? else {
        return Ok(());
    };
    if !enrolment.is_active(now) {
        return Ok(());
    }
    let window = {
        let rota = parts.rota();
        rota.service(enrolment.service.as_str())
            .map(|ix| rota.services()[ix as usize].check_in_window)
            .unwrap_or_default()
    };
    // Fired late (every node was down overnight): never text at night.
    let day = window.place(now, id);
    if day > now {
        change
            .set_notices
            .push(checkins::check_in_notice(id, day, number));
        return Ok(());
    }
    if let Some((due_at, next)) = enrolment.check_ins.after(&enrolment, number, now, window) {
        change
            .set_notices
            .push(checkins::check_in_notice(id, due_at, next));
    }
    let Some((to, recipient)) = check_in_number(&enrolment) else {
        return Ok(());
    };
    let (opted_out, talking) = {
        let to = to.clone();
        store::blocking(&parts.store, move |s| {
            let talking = s.open_concern_from(&to.clone().into())?.is_some();
            Ok((s.is_opted_out(&to)?, talking))
        })
        .await?
    };
    // STOP ends check-ins as it ends every other text; and someone who is
    // talking to the team already is not asked how they are.
    if opted_out || talking {
        tracing::info!(enrolment = %id, number, opted_out, talking, "check-in not sent");
        return Ok(());
    }
    let rota = parts.rota();
    let service = rota
        .service(enrolment.service.as_str())
        .map(|ix| rota.services()[ix as usize].patient_name.clone())
        .unwrap_or_default();
    let first_name = if recipient == "patient" {
        enrolment.patient.first_name().to_owned()
    } else {
        enrolment
            .carers
            .iter()
            .find(|c| c.contact.phone.as_ref() == Some(to))
            .map(|c| c.contact.first_name().to_owned())
            .unwrap_or_default()
    };
    let body = parts.templates.render_in(
        enrolment.language,
        "sms/check_in.txt",
        minijinja::context! {
            first_name,
            patient => enrolment.patient.first_name(),
            carer => recipient != "patient",
            service,
        },
    )?;
    change.outbox.push(NewOutbox {
        concern: None,
        to: to.clone().into(),
        body,
        purpose: Purpose::CheckIn,
        staff: None,
        recipient,
        step: None,
    });
    let answer_within = rota
        .service(enrolment.service.as_str())
        .map_or(DEFAULT_ANSWER_WITHIN, |ix| {
            rota.services()[ix as usize].check_in_answer_within
        });
    change.set_notices.push(Notice {
        key: checkins::wait_key(id),
        due_at: now + answer_within,
        what: NoticeKind::CheckInUnanswered {
            enrolment: id,
            sent_at: now,
        },
    });
    Ok(())
}

/// A check-in went unanswered: tell the patient's team, in their working
/// hours only (at night it waits for the morning).
async fn unanswered(
    parts: &Parts,
    notice: &Notice,
    id: EnrolmentId,
    sent_at: Instant,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let sent = crate::calendar::london_short(sent_at);
    tell_team(
        parts,
        (notice, id, now),
        change,
        |_| true,
        ("sms/check_in_unanswered.txt", Purpose::StaffNotice),
        |enrolment, service| {
            minijinja::context! {
                first_name => enrolment.patient.first_name(),
                service => service.name,
                sent,
                // The patient's own number (a landline takes calls), or
                // else (and for a child, always) the one the check-in went to.
                phone => enrolment
                    .patient
                    .phone
                    .as_ref()
                    .filter(|_| enrolment.patient_takes_texts)
                    .or_else(|| check_in_number(enrolment).map(|(p, _)| p))
                    .map(PhoneNumber::as_str),
            }
        },
    )
    .await
}

/// An ongoing enrolment's review date has come: remind its co-ordinator
/// or team, in working hours only.
async fn review(
    parts: &Parts,
    notice: &Notice,
    id: EnrolmentId,
    review_at: Instant,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let due = review_at
        .with_timezone(&crate::calendar::LONDON)
        .format("%-d %b %Y")
        .to_string();
    tell_team(
        parts,
        (notice, id, now),
        change,
        // Its review date moved since: nothing to remind of.
        |enrolment| enrolment.review_at == Some(review_at),
        ("sms/review_due.txt", Purpose::ReviewReminder),
        |enrolment, service| {
            minijinja::context! {
                first_name => enrolment.patient.first_name(),
                service => service.name,
                due,
            }
        },
    )
    .await
}

/// Text one patient's co-ordinator or team what `template` renders from
/// `words`, in the service's working hours only: out of them the notice is
/// set again for their next start. Nothing is sent if the enrolment has
/// ended or `wanted` says the notice no longer stands.
async fn tell_team(
    parts: &Parts,
    (notice, id, now): (&Notice, EnrolmentId, Instant),
    change: &mut Change,
    wanted: impl Fn(&Enrolment) -> bool,
    (template, purpose): (&str, Purpose),
    words: impl Fn(&Enrolment, &Service) -> minijinja::Value,
) -> EngineResult<()> {
    let Some(enrolment) = store::blocking(&parts.store, move |s| s.enrolment(id)).await? else {
        return Ok(());
    };
    if !enrolment.is_active(now) || !wanted(&enrolment) {
        return Ok(());
    }
    let rota = parts.rota();
    let Some(service) = rota
        .service(enrolment.service.as_str())
        .map(|ix| &rota.services()[ix as usize])
    else {
        return Ok(());
    };
    let team = match enrolment_team(&rota, service, &enrolment, now) {
        Told::Now(team) => team,
        Told::At(from) => {
            change.set_notices.push(Notice {
                due_at: from,
                ..notice.clone()
            });
            return Ok(());
        }
        Told::Never => {
            tracing::warn!(enrolment = %id, service = %service.id, "nobody in hours to tell");
            return Ok(());
        }
    };
    let body = parts
        .templates
        .render(template, words(&enrolment, service))?;
    change.outbox.extend(
        team.iter()
            .filter_map(|s| staff_text(s, None, body.clone(), purpose)),
    );
    Ok(())
}

/// Whom to tell about one patient, and when.
enum Told<'r> {
    /// These people, now.
    Now(Vec<&'r Staff>),
    /// Nobody yet: ask again then (their working hours start).
    At(Instant),
    /// Nobody ever (no hours that ever start).
    Never,
}

/// Who is told about one patient, in working hours only: their named care
/// co-ordinator in their own hours (ADR 16), waiting for those hours when
/// they are out of them; the service's in-hours team in the service's
/// hours when the patient has no co-ordinator who can be told (none, no
/// hours or no phone in the rota, or an override marks them away).
fn enrolment_team<'r>(
    rota: &'r Rota,
    service: &Service,
    enrolment: &Enrolment,
    now: Instant,
) -> Told<'r> {
    if let (Some(ix), Some(id)) = (
        rota.service(service.id.as_str()),
        enrolment.coordinator.as_ref(),
    ) && let Some(at) = rota.resolve_for(ix, Some(id), now).coordinator
        && let Some(person) = at.person.filter(|p| !p.sms_numbers().is_empty())
    {
        match at.status {
            CoordinatorStatus::FirstContact { .. } => return Told::Now(vec![person]),
            CoordinatorStatus::OutOfHours(period) => {
                return period
                    .until
                    .map_or(Told::Never, |t| Told::At(crate::calendar::instant_of(t)));
            }
            _ => {}
        }
    }
    match working_hours_from(rota, service, now) {
        Some(from) if from > now => Told::At(from),
        Some(_) => Told::Now(in_hours_team(rota, service, now)),
        None => Told::Never,
    }
}

/// `now` if the service is in working hours now, else when they next
/// start; `None` if it has no in-hours team, when the daytime hours of
/// check-ins stand in.
fn working_hours_from(rota: &Rota, service: &Service, now: Instant) -> Option<Instant> {
    if !service.hours.has_in_hours_team() {
        return Some(daytime(now));
    }
    let period = rota
        .calendar()
        .period(&service.hours, service.division, now);
    if period.in_hours {
        Some(now)
    } else {
        period.until.map(crate::calendar::instant_of)
    }
}

/// Who answers first for `service` at `now` (in hours: its in-hours team).
fn in_hours_team<'r>(rota: &'r Rota, service: &Service, now: Instant) -> Vec<&'r Staff> {
    let Some(ix) = rota.service(service.id.as_str()) else {
        return Vec::new();
    };
    let chain = rota.resolve(ix, now);
    let level = chain.levels.first().unwrap_or(&chain.fallback);
    let mut team: Vec<&Staff> = Vec::new();
    for on_call in &level.on_call {
        if !team.iter().any(|s| s.id == on_call.person.id) {
            team.push(on_call.person);
        }
    }
    team
}

/// Tell the in-hours team what the service's patients raised out of
/// hours, and schedule the next handover.
async fn morning_handover(
    parts: &Parts,
    service_id: &Id,
    since: Instant,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let rota = parts.rota();
    let Some(service) = rota
        .service(service_id.as_str())
        .map(|ix| &rota.services()[ix as usize])
    else {
        return Ok(());
    };
    if let Some(next) = next_handover(&rota, service, now) {
        change.set_notices.push(next);
    }
    let summary = summary(parts, service, since, now).await?;
    if summary.items.is_empty() && summary.earlier.is_empty() {
        return Ok(());
    }
    let link = format!("{}/staff/handover/{}", parts.links.public_url(), service.id);
    let team = in_hours_team(&rota, service, now);
    for person in &team {
        change
            .outbox
            .extend(handover_to(parts, person, &summary, &link, false)?);
    }
    // Each named co-ordinator not already in the team hears of their own patients.
    for id in summary.coordinators() {
        let Some(person) = rota
            .person(id)
            .filter(|p| !team.iter().any(|t| t.id == p.id))
        else {
            continue;
        };
        let theirs = summary.for_coordinator(id);
        let link = format!("{link}?mine=1");
        change
            .outbox
            .extend(handover_to(parts, person, &theirs, &link, true)?);
    }
    Ok(())
}

/// A handover to one person, the way they take messages: a text of the
/// night in brief, or, for someone who prefers email where email goes out,
/// the whole list in an email (the same summary, the same link).
fn handover_to(
    parts: &Parts,
    person: &Staff,
    summary: &Summary,
    link: &str,
    mine: bool,
) -> EngineResult<Option<NewOutbox>> {
    let email = match person.message_address(parts.email.is_some()) {
        Some(Address::Email(email)) => email,
        _ => {
            let body = parts
                .templates
                .render("sms/handover.txt", minijinja::context! { summary, link })?;
            return Ok(staff_text(person, None, body, Purpose::Handover));
        }
    };
    let context = minijinja::context! {
        summary,
        link,
        mine,
        trust => parts.rota().trust_name,
    };
    let body = EmailBody::render(&parts.templates, "handover", &context, None)?;
    Ok(Some(NewOutbox {
        concern: None,
        to: Address::Email(email),
        body: body.to_body(),
        purpose: Purpose::Handover,
        staff: Some(person.id.clone()),
        recipient: person.name.clone(),
        step: None,
    }))
}

/// What `service`'s patients raised between `since` and `until`.
async fn summary(
    parts: &Parts,
    service: &Service,
    since: Instant,
    until: Instant,
) -> EngineResult<Summary> {
    let id = service.id.clone();
    let concerns = store::blocking(&parts.store, move |s| {
        handover::concerns_since(s, &id, since)
    })
    .await?;
    Ok(Summary::build(service, since, until, &concerns))
}
