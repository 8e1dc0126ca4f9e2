//! One step of one concern: resolve the chain at `now`, ask the pure state
//! machine what follows an event, read what rendering needs, and render
//! the effects into the [`Change`] being built.
//!
//! Intake, timers and dispatch all move concerns through here, so the only
//! store reads a step makes are in one place ([`read`]): the reply codes the
//! texts quote and, for a forward, the timeline. Callers hold the engine's
//! step lock, so the codes read are still free when the change is written.

use crate::clock::Instant;
use crate::concern::{Concern, ConcernId, TimelineEntry, TimelineEvent};
use crate::directory::{Enrolment, Id};
use crate::escalation::reply::CODE_QUARANTINE;
use crate::escalation::{self, ChainSnapshot, Effect, Event};
use crate::store::{self, Change, NewOutbox, OutboxItem};

use super::Parts;
use super::render::Read;

/// Step `concern` (changed in place) with `event` at `now`, and add the
/// outcome to `change`.
pub(super) async fn event(
    parts: &Parts,
    concern: &mut Concern,
    enrolment: Option<&Enrolment>,
    event: Event,
    now: Instant,
    change: &mut Change,
) -> anyhow::Result<()> {
    let chain = ChainSnapshot::at(&parts.rota, concern.service.as_ref(), now);
    let (next, effects) = escalation::step(&concern.escalation, event, now, &chain, &parts.policy);
    concern.escalation = next;
    let read = read(parts, concern.id, &effects, now).await?;
    parts
        .renderer()
        .effects(concern, enrolment, effects, now, &read, change)
}

/// A page could not be delivered: try the person's next number, or tell
/// the state machine nobody can reach them.
pub(super) async fn page_failed(
    parts: &Parts,
    item: &OutboxItem,
    now: Instant,
    change: &mut Change,
) -> anyhow::Result<()> {
    let (Some(concern_id), Some(staff_id)) = (item.message.concern, item.message.staff.clone())
    else {
        return Ok(());
    };
    let Some(staff) = parts.rota.person(staff_id.as_str()) else {
        return Ok(());
    };
    if let Some(next) = staff.next_sms_number_after(&item.message.to) {
        let note = TimelineEvent::Note {
            text: format!(
                "page to {} not delivered; trying their next number",
                staff.name
            ),
        };
        change.timeline.push((
            concern_id,
            TimelineEntry {
                at: now,
                event: note,
            },
        ));
        change.outbox.push(NewOutbox {
            to: next.clone(),
            ..item.message.clone()
        });
        return Ok(());
    }
    let Some(mut concern) = parts.concern(concern_id).await? else {
        return Ok(());
    };
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

/// Read what rendering `effects` needs, in one call to the store.
async fn read(
    parts: &Parts,
    concern: ConcernId,
    effects: &[Effect],
    now: Instant,
) -> anyhow::Result<Read> {
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
) -> store::StoreResult<u16> {
    s.reserve_code(concern, staff, closed_since, now)
}
