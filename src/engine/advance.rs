//! One step of one concern: resolve the chain at `now`, ask the pure state
//! machine what follows an event, read what rendering needs, and render
//! the effects into the [`Change`] being built.
//!
//! Intake, timers and dispatch all move concerns through here, so the only
//! store reads a step makes are in one place ([`read`]): the reply codes the
//! texts quote and, for a forward, the timeline. Callers hold the engine's
//! step lock, so the codes read are still free when the change is written.

use crate::clock::Instant;
use crate::concern::CallOutcome;
use crate::concern::{CodeRequest, Concern, ConcernId};
use crate::directory::{ContactMethod, Enrolment, Id};
use crate::escalation::Status;
use crate::escalation::reply::CODE_QUARANTINE;
use crate::escalation::{self, ChainSnapshot, Effect, Event};
use crate::outbox::OutboxItem;
use crate::store;
use crate::timeline::Purpose;
use crate::timeline::{FailedOver, Medium, TimelineEntry, TimelineEvent};
use crate::work::{Change, TimerKind};

use super::render::Read;
use super::{EngineResult, Parts};

/// Step `concern` (changed in place) with `event` at `now`, and add the
/// outcome to `change`.
pub(super) async fn event(
    parts: &Parts,
    concern: &mut Concern,
    enrolment: Option<&Enrolment>,
    event: Event,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let coordinator = enrolment.and_then(|e| e.coordinator.as_ref());
    let chain = ChainSnapshot::at(&parts.rota(), concern.service.as_ref(), coordinator, now);
    let (next, effects) = escalation::step(&concern.escalation, event, now, &chain, &parts.policy);
    concern.escalation = next;
    let read = read(parts, concern.id, &effects, now).await?;
    parts
        .renderer()
        .effects(concern, enrolment, effects, now, &read, change)?;
    // A concern holding recordings keeps a timer for their deletion, due
    // the retention period after its latest step (after the resolve, the
    // last): cancelling its timers must not forget them.
    if let Some(after) = parts.keep_recordings
        && !concern.recordings_held().is_empty()
        && !change
            .set_timers
            .iter()
            .any(|t| t.concern == concern.id && t.kind == TimerKind::Recordings)
    {
        change.set_timers.push(crate::work::Timer {
            concern: concern.id,
            kind: TimerKind::Recordings,
            due_at: now + after,
            seq: 0,
        });
    }
    Ok(())
}

/// The recordings timer falls due: once the concern has been resolved for
/// the retention period, each recording of its messages is queued for
/// deletion at the provider (through the outbox: retried until it goes,
/// and the timeline says when it went); until then it is looked at again.
pub(super) async fn recordings_due(
    parts: &Parts,
    concern: &mut Concern,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let Some(keep) = parts.keep_recordings else {
        return Ok(());
    };
    let resolved_at = match &concern.escalation.status {
        Status::Resolved { at, .. } => Some(*at),
        _ => None,
    };
    match resolved_at {
        Some(at) if at + keep <= now => {
            for sid in concern.recordings_held() {
                change.outbox.push(crate::outbox::NewOutbox {
                    concern: Some(concern.id),
                    to: concern.sender.clone(),
                    body: sid.to_owned(),
                    purpose: Purpose::DeleteRecording,
                    staff: None,
                    recipient: "recording".to_owned(),
                    step: None,
                });
            }
            for call in &mut concern.calls {
                if let CallOutcome::Voicemail { deleting, .. } = &mut call.outcome {
                    *deleting = true;
                }
            }
            change.concern = Some(concern.clone());
        }
        _ => change.set_timers.push(crate::work::Timer {
            concern: concern.id,
            kind: TimerKind::Recordings,
            due_at: resolved_at.map_or(now + keep, |at| at + keep),
            seq: 0,
        }),
    }
    Ok(())
}

/// A page could not be delivered (a text undelivered, a call that met a
/// machine, no answer or a busy line): try the person's next way of being
/// reached, at once whatever its delay, or tell the state machine nobody
/// can reach them.
pub(super) async fn page_failed(
    parts: &Parts,
    item: &OutboxItem,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let (Some(concern_id), Some(staff_id)) = (item.message.concern, item.message.staff.clone())
    else {
        return Ok(());
    };
    let rota = parts.rota();
    let Some(staff) = rota.person(staff_id.as_str()) else {
        return Ok(());
    };
    let Some(mut concern) = parts.concern(concern_id).await? else {
        return Ok(());
    };
    let call = item.message.purpose == Purpose::CallPage;
    let email = parts.email.is_some();
    let failed = staff
        .page_contacts(email)
        .into_iter()
        .find(|c| c.call() == call && c.address() == item.message.to);
    if let Some(next) = failed.and_then(|f| staff.page_contact_after(f.index, email)) {
        // Marked for the clinical safety report (`FailedOver`); the words
        // are the template's.
        let (method, medium) = match next.method {
            ContactMethod::Voice(_) => ("voice", Medium::Call),
            ContactMethod::Sms(_) => ("sms", Medium::Text),
            ContactMethod::Email(_) => ("email", Medium::Email),
        };
        let note = TimelineEvent::Note {
            text: parts.templates.render(
                "notes/failed_over.txt",
                minijinja::context! { name => staff.name, method },
            )?,
            failed_over: Some(FailedOver {
                staff: staff.id.clone(),
                next: medium,
            }),
        };
        change.timeline.push((
            concern_id,
            TimelineEntry {
                at: now,
                event: note,
            },
        ));
        // Tried now: not again when its delay is up.
        concern
            .escalation
            .contacts_due
            .retain(|d| !(d.staff == staff.id && d.index == next.index));
        let enrolment = parts.enrolment_of(&concern).await?;
        let (id, staff_key) = (concern.id, staff.id.clone());
        let code = store::blocking(&parts.store, move |s| s.page(id, &staff_key))
            .await?
            .map_or(0, |p| p.code);
        let step = item.message.step.unwrap_or(concern.escalation.seq);
        change.outbox.push(parts.renderer().page_message(
            &concern,
            enrolment.as_ref(),
            staff,
            next,
            code,
            step,
            now,
            None,
        )?);
        change.concern = Some(concern);
        return Ok(());
    }
    let enrolment = parts.enrolment_of(&concern).await?;
    let undeliverable = Event::PageUndeliverable { staff: staff_id };
    self::event(
        parts,
        &mut concern,
        enrolment.as_ref(),
        undeliverable,
        now,
        change,
    )
    .await
}

/// A person's later ways of being paged fall due (`voice after 3m`): each
/// one due now is tried, unless the concern was accepted or has moved on
/// past the step they were paged at; the timer is set for the next.
pub(super) async fn contacts_due(
    parts: &Parts,
    concern: &mut Concern,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut concern.escalation.contacts_due)
        .into_iter()
        .partition(|d| d.at <= now);
    concern.escalation.contacts_due = later;
    let enrolment = parts.enrolment_of(concern).await?;
    for d in due {
        if !escalation::page_still_wanted(&concern.escalation, d.step) {
            continue;
        }
        let rota = parts.rota();
        let Some(person) = rota.person(d.staff.as_str()) else {
            continue;
        };
        let Some(contact) = person
            .page_contacts(parts.email.is_some())
            .into_iter()
            .find(|c| c.index == d.index)
        else {
            continue;
        };
        let (id, staff) = (concern.id, person.id.clone());
        let code = store::blocking(&parts.store, move |s| s.page(id, &staff))
            .await?
            .map_or(0, |p| p.code);
        change.outbox.push(parts.renderer().page_message(
            concern,
            enrolment.as_ref(),
            person,
            contact,
            code,
            d.step,
            now,
            None,
        )?);
    }
    if let Some(next) = concern.escalation.contacts_due.iter().map(|d| d.at).min() {
        change.set_timers.push(crate::work::Timer {
            concern: concern.id,
            kind: crate::work::TimerKind::Contact,
            due_at: next,
            seq: 0,
        });
    }
    change.concern = Some(concern.clone());
    Ok(())
}

/// Read what rendering `effects` needs, in one call to the store.
async fn read(
    parts: &Parts,
    concern: ConcernId,
    effects: &[Effect],
    now: Instant,
) -> EngineResult<Read> {
    let needs = Read::needed_for(effects);
    if needs.codes.is_empty() && !needs.timeline {
        return Ok(Read::default());
    }
    let since = now - CODE_QUARANTINE;
    let read = store::blocking(&parts.store, move |s| {
        let mut read = Read::default();
        for staff in needs.codes {
            let code = code_for(s, concern, &staff, since, now)?;
            read.codes.insert(staff, code);
        }
        if needs.timeline {
            read.timeline = s.timeline(concern)?;
        }
        Ok(read)
    })
    .await?;
    Ok(read)
}

/// The code this clinician uses for this concern: the one already given,
/// or the next free one, reserved in one atomic step of the store so two
/// steps (or two nodes) can never give one code to two concerns.
fn code_for(
    s: &dyn store::Store,
    concern: ConcernId,
    staff: &Id,
    closed_since: Instant,
    now: Instant,
) -> crate::store_error::StoreResult<u16> {
    s.reserve_code(CodeRequest {
        concern,
        staff,
        quarantine_since: closed_since,
        at: now,
    })
}
