//! Calls: the stored steps of a phone call to our number become a concern.
//!
//! Every call that ends somewhere makes one: taken live, a concern already
//! accepted by whoever took it; a message, a concern paged like a text
//! that holds the recording (and, when it comes, the transcription); and
//! a call that reached nobody and left no message (the caller hung up
//! while ringing, or at the tone), a concern to call back, paged like a
//! text. A caller with a concern open adds the call to it instead. A call
//! has one outcome: whichever of its steps says so first.

use crate::clock::Instant;
use crate::concern::{CallOutcome, CallRecord, Concern, ConcernId, Party, Recognised};
use crate::directory::PhoneNumber;
use crate::escalation::{Escalation, Event, Status};
use crate::inbox::InboundKind;
use crate::store;
use crate::templates::{bounded, summary};
use crate::timeline::TimelineEvent;
use crate::voice::{CallStep, step_key};
use crate::work::Change;

use super::{EngineResult, Parts, advance, record};

/// Take in one step of call `call` from `from`.
pub(super) async fn step(
    parts: &Parts,
    call: &str,
    from: &str,
    step: CallStep,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let outcome = match step {
        CallStep::Answered { .. } | CallStep::Dialled { .. } => return Ok(()),
        CallStep::Taken { staff } => CallOutcome::Live { staff },
        CallStep::Message {
            recording_sid,
            recording_url,
            ..
        } => CallOutcome::Voicemail {
            recording_sid,
            recording_url,
            deleting: false,
        },
        CallStep::NoMessage | CallStep::Ended { .. } => CallOutcome::CallBack,
        CallStep::Transcription { text } => {
            return transcribed(parts, call, from, text, now, change).await;
        }
    };
    let Some(from) = caller(parts, call, from).await? else {
        return Ok(());
    };
    // A clinician phoning in to hear their pages raises no concern.
    if parts.rota().staff_by_phone(&from).is_some() {
        return Ok(());
    }
    if let CallOutcome::CallBack = outcome
        && ended_elsewhere(parts, call).await?
    {
        return Ok(());
    }
    concluded(parts, call, from, outcome, now, change).await
}

/// The caller's number: as this step gave it, or as the call's first step did.
async fn caller(parts: &Parts, call: &str, from: &str) -> EngineResult<Option<PhoneNumber>> {
    let from = if from.is_empty() {
        let key = step_key(call, "answered");
        match store::blocking(&parts.store, move |s| s.inbound(&key)).await? {
            Some(crate::inbox::Inbound {
                kind: InboundKind::Call { from, .. },
                ..
            }) => from,
            _ => String::new(),
        }
    } else {
        from.to_owned()
    };
    match PhoneNumber::from_provider(&from) {
        Ok(phone) => Ok(Some(phone)),
        Err(why) => {
            // A withheld number cannot be called back; the call was still
            // put through to whoever could be reached.
            tracing::warn!(
                call,
                reason = why.as_str(),
                "call from a number nobody can call back: no concern opened"
            );
            Ok(None)
        }
    }
}

/// For a call taken live by `staff`: when it came in (its first step), and
/// the level of `service`'s chain then that they are on, the level that
/// rang them.
async fn answered_at(
    parts: &Parts,
    call: &str,
    staff: &crate::directory::Id,
    service: Option<&crate::directory::Id>,
) -> EngineResult<(Option<Instant>, Option<u32>)> {
    let key = step_key(call, "answered");
    let came_in = store::blocking(&parts.store, move |s| s.inbound(&key))
        .await?
        .map(|i| i.received_at);
    let rota = parts.rota();
    let level = match (came_in, service.and_then(|s| rota.service(s.as_str()))) {
        (Some(at), Some(ix)) => rota
            .resolve(ix, at)
            .levels
            .iter()
            .find(|l| l.on_call.iter().any(|o| &o.person.id == staff))
            .map(|l| l.number as u32),
        _ => None,
    };
    Ok((came_in, level))
}

/// Whether the call was taken live or left a message: then it has its
/// outcome, even if that concern is already resolved.
async fn ended_elsewhere(parts: &Parts, call: &str) -> EngineResult<bool> {
    let keys = [step_key(call, "taken"), step_key(call, "message")];
    Ok(store::blocking(&parts.store, move |s| {
        for key in &keys {
            if s.inbound(key)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    })
    .await?)
}

/// What a call came to, into the caller's open concern or a new one.
async fn concluded(
    parts: &Parts,
    call: &str,
    from: PhoneNumber,
    outcome: CallOutcome,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let (open, enrolment) = {
        let from = from.clone();
        store::blocking(&parts.store, move |s| {
            Ok((
                s.open_concern_from(&from.clone().into())?,
                s.enrolments_for_phone(&from, now)?.into_iter().next(),
            ))
        })
        .await?
    };
    let missed = matches!(outcome, CallOutcome::CallBack);
    let taken_by = match &outcome {
        CallOutcome::Live { staff } => match parts.rota().person(staff.as_str()) {
            Some(person) => Some(crate::escalation::StaffRef::from(person)),
            None => return Ok(()),
        },
        _ => None,
    };
    let (came_in, level) = match &outcome {
        CallOutcome::Live { staff } => {
            let service = open
                .as_ref()
                .and_then(|c| c.service.clone())
                .or_else(|| enrolment.as_ref().map(|e| e.service.clone()));
            answered_at(parts, call, staff, service.as_ref()).await?
        }
        _ => (None, None),
    };
    let entry = TimelineEvent::Call {
        call: call.to_owned(),
        outcome: outcome.as_str().to_owned(),
        name: taken_by.as_ref().map(|s| s.name.clone()),
        came_in,
        level,
    };
    let record_of = CallRecord {
        sid: call.to_owned(),
        at: now,
        outcome,
    };
    if let Some(mut concern) = open {
        if concern.call(call).is_some() {
            return Ok(());
        }
        let enrolment = parts.enrolment_of(&concern).await?;
        record(change, concern.id, now, entry);
        let words = words_for(&record_of.outcome);
        concern.calls.push(record_of);
        let event = match taken_by {
            Some(by) if concern.escalation.status == Status::Open => Event::TakeCall { by },
            // Someone already has it: the call is on its timeline.
            Some(_) => {
                change.concern = Some(concern);
                return Ok(());
            }
            None => {
                let label = concern.party.label();
                record(
                    change,
                    concern.id,
                    now,
                    TimelineEvent::Received {
                        from: label,
                        text: words.to_owned(),
                        voicemail: false,
                    },
                );
                Event::Message {
                    text: words.to_owned(),
                }
            }
        };
        if missed {
            change
                .outbox
                .extend(parts.renderer().missed_call(&concern)?);
        }
        return advance::event(parts, &mut concern, enrolment.as_ref(), event, now, change).await;
    }
    let mut concern = Concern {
        id: ConcernId::new(),
        enrolment: enrolment.as_ref().map(|e| e.id),
        service: enrolment.as_ref().map(|e| e.service.clone()),
        party: Party::of(enrolment.as_ref(), &from.clone().into()),
        sender: from.into(),
        opened_at: now,
        text: String::new(),
        escalation: Escalation::new(false),
        pictures_explained: false,
        recognised: Some(Recognised::by_phone(enrolment.is_some())),
        calls: vec![record_of],
        version: 0,
    };
    record(change, concern.id, now, entry);
    let event = match taken_by {
        Some(by) => Event::TakeCall { by },
        None => {
            // The call is the concern's first message, as a text would be.
            let words = words_for(&concern.calls[0].outcome).to_owned();
            let from = concern.party.label();
            record(
                change,
                concern.id,
                now,
                TimelineEvent::Received {
                    from,
                    text: words,
                    voicemail: false,
                },
            );
            Event::Open
        }
    };
    if missed {
        change
            .outbox
            .extend(parts.renderer().missed_call(&concern)?);
    }
    advance::event(parts, &mut concern, enrolment.as_ref(), event, now, change).await
}

/// How a call joins a concern's messages, for whoever has it.
fn words_for(outcome: &CallOutcome) -> &'static str {
    match outcome {
        CallOutcome::Voicemail { .. } => {
            "(phoned and left a voicemail: listen on the concern's page)"
        }
        _ => "(phoned and reached nobody: please call back)",
    }
}

/// Twilio's transcription of a message: the concern's words when the
/// message opened it, and sent on to whoever has it.
async fn transcribed(
    parts: &Parts,
    call: &str,
    from: &str,
    text: Option<String>,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let Some(from) = caller(parts, call, from).await? else {
        return Ok(());
    };
    let open = store::blocking(&parts.store, move |s| s.open_concern_from(&from.into())).await?;
    let Some(mut concern) = open.filter(|c| {
        matches!(
            c.call(call).map(|r| &r.outcome),
            Some(CallOutcome::Voicemail { .. })
        )
    }) else {
        tracing::info!(
            call,
            "transcription for a message whose concern is closed or unknown; not added"
        );
        return Ok(());
    };
    let Some(text) = text else {
        let note = TimelineEvent::note(
            parts
                .templates
                .render("notes/no_transcription.txt", minijinja::context! {})?,
        );
        record(change, concern.id, now, note);
        return Ok(());
    };
    // Bounded as any message is (16 KB), though two minutes of speech is
    // far less.
    let text = bounded(&crate::directory::clean_text(&text)).into_owned();
    if concern.text.is_empty() && concern.calls.first().is_some_and(|c| c.sid == call) {
        concern.text = summary(&text);
    }
    let label = concern.party.label();
    record(
        change,
        concern.id,
        now,
        TimelineEvent::transcription(&label, text.clone()),
    );
    let enrolment = parts.enrolment_of(&concern).await?;
    advance::event(
        parts,
        &mut concern,
        enrolment.as_ref(),
        Event::Message { text },
        now,
        change,
    )
    .await
}

/// A clinician asked to call the sender back through our number: ring
/// them first (their first number that takes calls), and when they answer
/// the sender is rung, seeing our number, never theirs. Only one paged for
/// the concern and not beaten to it by someone else may.
pub(super) async fn call_back(
    parts: &Parts,
    concern_id: ConcernId,
    staff: &crate::directory::Id,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let rota = parts.rota();
    let (Some(person), Some(concern)) = (
        rota.person(staff.as_str()),
        parts.concern(concern_id).await?,
    ) else {
        return Ok(());
    };
    let theirs = match &concern.escalation.status {
        Status::Open => true,
        Status::Accepted { by, .. } => by.id == person.id,
        Status::Resolved { .. } => false,
    };
    let number = person
        .page_contacts(false)
        .into_iter()
        .find(|c| c.call())
        .map(|c| c.address());
    let outcome = match (theirs, number) {
        (true, Some(to)) => {
            change.outbox.push(crate::outbox::NewOutbox {
                concern: Some(concern.id),
                to,
                body: parts.links.call_back_url(concern.id, &person.id),
                purpose: crate::timeline::Purpose::CallBack,
                staff: Some(person.id.clone()),
                recipient: person.name.clone(),
                step: None,
            });
            "calling"
        }
        (true, None) => "no_number",
        (false, _) => "not_theirs",
    };
    let note = parts.templates.render(
        "notes/call_back.txt",
        minijinja::context! { name => person.name, outcome },
    )?;
    record(change, concern.id, now, TimelineEvent::note(note));
    Ok(())
}
