//! Intake: the stored inbound items (texts, taps on a page's link, delivery
//! reports) become events for the concerns they belong to.
//!
//! Webhooks only verify and store (ADR 3); this stage reads that durable
//! inbox oldest first and turns each item into one [`Change`], which marks
//! the item done in the same write. Who a sender is and what their words
//! mean are decided by their owners — [`Party::of`], [`OptOutWord`],
//! [`reply::parse`], the red-flag list — and what follows by the state
//! machine; this module only puts them in order.
//!
//! Items that cannot touch each other's order are taken in side by side
//! (up to [`AT_ONCE`]), so their store writes share commits and round
//! trips: one sender's texts stay one after another, in order, as do the
//! taps on one concern's links. Two items that do meet on one concern (a
//! patient's text and their nurse's accept) are kept apart by the
//! concern's version: the second to write gets `Conflict` and is taken in
//! again from what is stored.

use crate::channels::{OptOutWord, call_failed, delivery_failed};
use crate::checkins;
use crate::checkins::{CheckInAnswer, CheckInReply, NoticeKind};
use crate::clock::Instant;
use crate::concern::Page;
use crate::concern::{Concern, ConcernId, Party, Recognised};
use crate::directory::{Address, Language, PhoneNumber, Staff, clean_text};
use crate::escalation::reply::{self, CODE_QUARANTINE, LinkAction, PageKey};
use crate::escalation::{Escalation, Event};
use crate::inbox::{Inbound, InboundKind};
use crate::outbox::NewOutbox;
use crate::store;
use crate::templates::{bounded, summary, with_media_note};
use crate::timeline::Purpose;
use crate::timeline::TimelineEvent;
use crate::work::{Change, ClaimOf, Claimed};

use super::render::{language_of, staff_text};
use super::stats::Stats;
use super::{BATCH, EngineResult, LEASE, Parts, advance, exhausted, record, side_by_side};

mod email;

pub use email::EmailSenders;

/// How many of the waiting items are taken in at once.
const AT_ONCE: usize = 32;

/// Take in the inbound items waiting, oldest first, each in its own
/// change; returns how many there were.
pub(super) async fn take_in_waiting(
    parts: &Parts,
    stats: &Stats,
    now: Instant,
) -> EngineResult<usize> {
    let node = parts.node.clone();
    let claimed = store::blocking(&parts.store, move |s| {
        s.claim_of::<Inbound>(&node, now, LEASE, BATCH)
    })
    .await?;
    // Renewed on the leases' own task until every one is finished.
    let _held = parts.leases.hold(claimed.iter().map(|c| &c.claim));
    let count = claimed.len();
    side_by_side(
        claimed,
        |c| order_key(&c.item),
        AT_ONCE,
        |claimed| take_in_claimed(parts, stats, claimed, now),
    )
    .await?;
    Ok(count)
}

/// What must be taken in one after another: one sender's texts, the taps
/// on one concern's links, the steps of one call, the reports on one message.
fn order_key(item: &Inbound) -> String {
    match &item.kind {
        InboundKind::Sms { from, .. } => format!("from {from}"),
        InboundKind::Action { concern, .. }
        | InboundKind::Resolve { concern, .. }
        | InboundKind::CallBack { concern, .. } => format!("concern {concern}"),
        InboundKind::Call { call, .. } => format!("call {call}"),
        InboundKind::Status { message_id, .. } => format!("message {message_id}"),
        InboundKind::Email { from, .. } => format!("email {}", from.to_lowercase()),
    }
}

/// Take in one claimed item and write what it changed, ending the claim.
async fn take_in_claimed(
    parts: &Parts,
    stats: &Stats,
    Claimed { claim, item }: Claimed<Inbound>,
    now: Instant,
) -> EngineResult<()> {
    let what = format!("inbound message {}", item.key);
    let aside = Change {
        at: now,
        ..Change::default()
    };
    if let Some(reason) = exhausted(&claim) {
        return parts.set_aside(stats, claim, aside, &what, &reason).await;
    }
    let handled = take_in(parts, stats, item, now).await;
    parts.finish(stats, claim, handled, aside, &what).await
}

/// What one inbound item changes.
async fn take_in(
    parts: &Parts,
    stats: &Stats,
    item: Inbound,
    now: Instant,
) -> EngineResult<Change> {
    let mut change = Change {
        at: now,
        ..Change::default()
    };
    let without_words = item.without_words();
    take_in_kind(parts, stats, item, now, &mut change).await?;
    // A message's words are stored once: once they are on a concern's
    // timeline, the inbound item keeps who sent it and when (ADR 18).
    let heard = change
        .timeline
        .iter()
        .any(|(_, e)| matches!(e.event, TimelineEvent::Received { .. }));
    if heard {
        change.inbound_kept = without_words;
    }
    Ok(change)
}

/// What one inbound item changes, by its kind.
async fn take_in_kind(
    parts: &Parts,
    stats: &Stats,
    item: Inbound,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    match item.kind {
        InboundKind::Sms {
            from, body, media, ..
        } => {
            // Any E.164 number the provider gives is a sender; only what
            // nobody can be texted back at is refused, and counted.
            let from = match PhoneNumber::from_provider(&from) {
                Ok(from) => from,
                Err(why) => {
                    stats.count_refused(why.as_str());
                    tracing::warn!(key = %item.key, reason = why.as_str(), "inbound SMS refused: {why}; nobody can be texted back at it");
                    return Ok(());
                }
            };
            let body = clean_text(&body);
            match parts.rota().staff_by_phone(&from) {
                Some(staff) => staff_reply(parts, staff, &body, now, change).await?,
                None => {
                    let via = Via::Sms { pictures: media };
                    sender_message(parts, from.into(), body, via, now, change).await?
                }
            }
        }
        InboundKind::Action {
            concern,
            staff,
            action,
        } => {
            // Parsed at the edge, so only a stored item tampered with or
            // written by other code can carry anything else: set aside.
            let action = LinkAction::parse(&action)?;
            let rota = parts.rota();
            let Some(person) = rota.person(staff.as_str()) else {
                return Ok(());
            };
            let Some(mut c) = parts.concern(concern).await? else {
                return Ok(());
            };
            let event = action.event(person.into());
            let enrolment = parts.enrolment_of(&c).await?;
            advance::event(parts, &mut c, enrolment.as_ref(), event, now, change).await?;
        }
        InboundKind::Resolve {
            concern,
            staff,
            note,
        } => {
            let rota = parts.rota();
            let Some(person) = rota.person(staff.as_str()) else {
                return Ok(());
            };
            let Some(mut c) = parts.concern(concern).await? else {
                return Ok(());
            };
            let event = crate::escalation::Event::Resolve {
                by: person.into(),
                note,
            };
            let enrolment = parts.enrolment_of(&c).await?;
            advance::event(parts, &mut c, enrolment.as_ref(), event, now, change).await?;
        }
        InboundKind::CallBack { concern, staff } => {
            super::calls::call_back(parts, concern, &staff, now, change).await?;
        }
        InboundKind::Call { call, from, step } => {
            super::calls::step(parts, &call, &from, step, now, change).await?;
        }
        InboundKind::Status {
            message_id,
            status,
            error_code,
        } => delivery_report(parts, &message_id, &status, error_code, now, change).await?,
        InboundKind::Email {
            from,
            to,
            subject,
            text,
            attachments,
            delivery,
            envelope_from,
            peer,
            authentication_results,
        } => {
            if let Some(bounce) = email::bounce(parts, &to) {
                // A report that the message is late, or that it did
                // arrive, is noted; only a failure fails over.
                let status = delivery
                    .as_deref()
                    .filter(|a| ["delayed", "delivered", "relayed", "expanded"].contains(a))
                    .unwrap_or("bounced");
                return delivery_report(parts, &bounce, status, None, now, change).await;
            }
            let mail = email::Received {
                to,
                envelope_from,
                peer,
                authentication_results,
                subject,
                text,
                attachments,
            };
            email::take_in(parts, stats, &item.key, &from, mail, now, change).await?;
        }
    }
    Ok(())
}

/// A text from a patient, a carer or a stranger: an opt-out word, words
/// for the concern they have open, or a new concern. An email from a
/// patient or carer comes here as if a text from their phone (or, for
/// someone enrolled with no phone, from their address: ADR 15), but its
/// words never opt that phone in or out: only a text from it can.
async fn sender_message(
    parts: &Parts,
    from: Address,
    body: String,
    via: Via,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let word = match via {
        Via::Sms { .. } => OptOutWord::parse(&body),
        Via::Email { .. } => None,
    };
    // What they sent, as clinicians read it: a picture is never shown;
    // at most 16 KB of it is kept (an email was cut as it was read).
    let body = match via {
        Via::Sms { pictures } => with_media_note(&body, pictures),
        Via::Email { .. } => body,
    };
    let body = bounded(&body).into_owned();
    let media = via.media();
    let proved = via.proved();
    let whole = match via {
        Via::Email { whole, .. } => Some(bounded(&whole).into_owned()),
        Via::Sms { .. } => None,
    };
    let (open, opting_in, enrolment, check_in) = {
        let from = from.clone();
        let starting = word == Some(OptOutWord::Start);
        store::blocking(&parts.store, move |s| {
            let enrolments = match &from {
                Address::Phone(phone) => s.enrolments_for_phone(phone, now)?,
                Address::Email(email) => s.enrolments_for_email(email, now)?,
            };
            let enrolment = enrolments.into_iter().next();
            // A check-in waiting for its answer: this is the answer.
            let check_in = match &enrolment {
                Some(e) => s.notice(&checkins::wait_key(e.id))?,
                None => None,
            };
            Ok((
                s.open_concern_from(&from)?,
                match from.phone() {
                    Some(phone) => starting && s.is_opted_out(phone)?,
                    None => false,
                },
                enrolment,
                check_in,
            ))
        })
        .await?
    };
    // A start word only opts back in a number that opted out: from anyone
    // else, "Yes" is an answer and goes on to whoever has the concern.
    let opted_out = match word {
        Some(OptOutWord::Stop) => Some(true),
        Some(OptOutWord::Start) if opting_in => Some(false),
        _ => None,
    };
    let party = Party::of(enrolment.as_ref(), &from);
    // The id a concern opened by these words gets.
    let new_id = ConcernId::new();
    if let (Some(opted_out), Some(phone)) = (opted_out, from.phone()) {
        change.opt_out = Some((phone.clone(), opted_out));
        // Told once that texts have stopped and how to start them again
        // (or that they are on again): the one text an opted-out number gets.
        change.outbox.push(parts.renderer().opt_out_answer(
            phone,
            enrolment.as_ref().map(|e| &e.service),
            opted_out,
            party.label(),
        )?);
    }
    let check_in = check_in.and_then(|n| match n.what {
        NoticeKind::CheckInUnanswered { enrolment, sent_at } => {
            // Answered, even by STOP: nobody is told it went unanswered.
            change.cancel_notices.push(n.key);
            Some((enrolment, sent_at))
        }
        _ => None,
    });
    let language = language_of(enrolment.as_ref());
    if let Some((enrolment, sent_at)) = check_in {
        if opted_out.is_none() && open.is_none() && checkins::is_well(&body) {
            // "1": all is well. Recorded; nobody is paged.
            change.check_in_answers.push(CheckInAnswer {
                enrolment,
                sent_at,
                at: now,
                answer: CheckInReply::Well,
            });
            let thanks = parts.templates.render_in(
                language,
                "sms/check_in_thanks.txt",
                minijinja::context! {},
            )?;
            change.outbox.push(NewOutbox {
                concern: None,
                to: from.clone(),
                body: thanks,
                purpose: Purpose::CheckIn,
                staff: None,
                recipient: party.label(),
                step: None,
            });
            return Ok(());
        }
        if opted_out.is_none() {
            let concern = open.as_ref().map_or(new_id, |c| c.id);
            change.check_in_answers.push(CheckInAnswer {
                enrolment,
                sent_at,
                at: now,
                answer: CheckInReply::Concern { concern },
            });
            let sent = crate::calendar::london_short(sent_at);
            record(
                change,
                concern,
                now,
                TimelineEvent::note(parts.templates.render(
                    "notes/check_in_answer.txt",
                    minijinja::context! { sent => sent.to_string() },
                )?),
            );
        }
    }
    let open = match open {
        // A stranger's email from this address is open, and now someone
        // enrolled with it proved who they are: the concern becomes
        // theirs, with their words, and is paged as new (docs/adr/0022).
        Some(mut concern)
            if concern.recognised.is_some_and(Recognised::pages_nobody)
                && proved.is_some()
                && enrolment.is_some() =>
        {
            concern.enrolment = enrolment.as_ref().map(|e| e.id);
            concern.service = enrolment.as_ref().map(|e| e.service.clone());
            concern.party = party.clone();
            concern.recognised = proved;
            concern.text = body.clone();
            let heard = whole.as_deref().unwrap_or(&body);
            record(change, concern.id, now, received(party.label(), heard));
            change.outbox.push(
                parts
                    .renderer()
                    .first_reply(&concern, enrolment.as_ref(), None)?,
            );
            let enrolment = enrolment.as_ref();
            return advance::event(parts, &mut concern, enrolment, Event::Open, now, change).await;
        }
        open => open,
    };
    if let Some(mut concern) = open {
        let (text, enrolment) = match opted_out {
            Some(opted_out) => {
                // Whoever has the concern should know: "STOP" may mean "I am fine now".
                let text = body.trim().to_owned();
                record(
                    change,
                    concern.id,
                    now,
                    received(concern.party.label(), &text),
                );
                record(change, concern.id, now, TimelineEvent::OptOut { opted_out });
                (text, parts.enrolment_of(&concern).await?)
            }
            None => {
                let heard = whole.as_deref().unwrap_or(&body);
                record(change, concern.id, now, received(party.label(), heard));
                if media.any() {
                    let language = language_of(enrolment.as_ref());
                    explain_pictures(parts, &mut concern, language, media, change)?;
                }
                (body, enrolment)
            }
        };
        let message = Event::Message { text };
        return advance::event(
            parts,
            &mut concern,
            enrolment.as_ref(),
            message,
            now,
            change,
        )
        .await;
    }
    if opted_out.is_some() {
        return Ok(());
    }
    let red_flag = parts.red_flags.find(&body).map(str::to_owned);
    let mut concern = Concern {
        id: new_id,
        enrolment: enrolment.as_ref().map(|e| e.id),
        service: enrolment.as_ref().map(|e| e.service.clone()),
        sender: from,
        party,
        opened_at: now,
        // Its summary: a text whole, an email's first lines; the whole
        // message is on its timeline.
        text: summary(&body),
        escalation: Escalation::new(red_flag.is_some()),
        pictures_explained: false,
        recognised: Some(proved.unwrap_or(Recognised::by_phone(enrolment.is_some()))),
        calls: Vec::new(),
        version: 0,
    };
    let heard = whole.as_deref().unwrap_or(&body);
    record(
        change,
        concern.id,
        now,
        received(concern.party.label(), heard),
    );
    if let Some(phrase) = &red_flag {
        let phrase = phrase.clone();
        record(change, concern.id, now, TimelineEvent::RedFlag { phrase });
    }
    let reply = parts
        .renderer()
        .first_reply(&concern, enrolment.as_ref(), red_flag.as_deref())?;
    change.outbox.push(reply);
    if media.any() {
        let language = language_of(enrolment.as_ref());
        explain_pictures(parts, &mut concern, language, media, change)?;
    }
    advance::event(
        parts,
        &mut concern,
        enrolment.as_ref(),
        Event::Open,
        now,
        change,
    )
    .await
}

/// How a sender's message came.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Via {
    /// A text, with this many pictures (Twilio's `NumMedia`).
    Sms { pictures: u32 },
    /// An email: `whole` is what the timeline keeps (what is paged leaves
    /// out the message it quotes and the signature); its attachments were
    /// not kept. Only a proved sender's email comes here: `recognised`
    /// says how they were.
    Email {
        whole: String,
        attachments: u32,
        recognised: Recognised,
    },
}

impl Via {
    /// How an email's sender was proved; `None` for a text (its number
    /// is recognised by the enrolment it is on, or not).
    fn proved(&self) -> Option<Recognised> {
        match self {
            Via::Sms { .. } => None,
            Via::Email { recognised, .. } => Some(*recognised),
        }
    }

    fn media(&self) -> Media {
        match self {
            Via::Sms { pictures } => Media::Pictures(*pictures),
            Via::Email { attachments, .. } => Media::Attachments(*attachments),
        }
    }
}

/// What came with a message besides its words: never shown to clinicians,
/// and the sender is asked, once a concern, to put it into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    /// Pictures with a text (Twilio's `NumMedia`).
    Pictures(u32),
    /// Files attached to an email (not kept).
    Attachments(u32),
}

impl Media {
    fn any(self) -> bool {
        matches!(self, Media::Pictures(n) | Media::Attachments(n) if n > 0)
    }
}

fn received(from: String, text: &str) -> TimelineEvent {
    TimelineEvent::Received {
        from,
        text: text.to_owned(),
        voicemail: false,
    }
}

/// Tell a sender, once for each concern, that pictures cannot be seen
/// and to say in words what they show.
fn explain_pictures(
    parts: &Parts,
    concern: &mut Concern,
    language: Language,
    media: Media,
    change: &mut Change,
) -> EngineResult<()> {
    if concern.pictures_explained {
        return Ok(());
    }
    concern.pictures_explained = true;
    let template = match media {
        Media::Pictures(_) => "sms/no_pictures.txt",
        Media::Attachments(_) => "sms/no_attachments.txt",
    };
    change
        .outbox
        .push(parts.renderer().cannot_see(concern, language, template)?);
    Ok(())
}

/// A text from a member of staff: a reply to one of their pages, or the
/// help text when it is not one.
async fn staff_reply(
    parts: &Parts,
    staff: &Staff,
    body: &str,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let id = staff.id.clone();
    let since = now - CODE_QUARANTINE;
    let pages = store::blocking(&parts.store, move |s| s.pages_for(&id, since)).await?;
    let open: Vec<&Page> = pages.iter().filter(|p| p.open).collect();
    let key = |p: &Page| PageKey {
        code: p.code,
        open: p.open,
        opened_at: p.opened_at,
    };
    let target = reply::parse(body).and_then(|r| Some((r.page(&pages, key)?.concern, r)));
    let Some((concern_id, r)) = target else {
        let codes: Vec<u16> = open.iter().map(|p| p.code).collect();
        let text = parts.renderer().help(&codes)?;
        change
            .outbox
            .extend(staff_text(staff, None, text, Purpose::StaffNotice));
        return Ok(());
    };
    let Some(mut concern) = parts.concern(concern_id).await? else {
        return Ok(());
    };
    let enrolment = parts.enrolment_of(&concern).await?;
    let event = r.event(staff.into());
    advance::event(parts, &mut concern, enrolment.as_ref(), event, now, change).await
}

/// A delivery report: on the timeline; a page the carrier could not
/// deliver fails over.
async fn delivery_report(
    parts: &Parts,
    message_id: &str,
    status: &str,
    error_code: Option<u32>,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let id = message_id.to_owned();
    let Some(item) = store::blocking(&parts.store, move |s| s.outbox_by_provider_id(&id)).await?
    else {
        tracing::info!(
            message_id,
            status,
            "delivery report for a message we have no record of; ignored"
        );
        return Ok(());
    };
    let Some(concern_id) = item.message.concern else {
        return Ok(());
    };
    let delivery = TimelineEvent::Delivery {
        to: item.message.recipient.clone(),
        purpose: item.message.purpose,
        status: status.into(),
        error_code,
        medium: crate::timeline::Medium::of(
            &item.message.to,
            item.message.purpose == Purpose::CallPage,
        ),
    };
    record(change, concern_id, now, delivery);
    let failed = match item.message.purpose {
        Purpose::Page => delivery_failed(status),
        Purpose::CallPage => call_failed(status),
        _ => false,
    };
    if failed {
        advance::page_failed(parts, &item, now, change).await?;
    }
    Ok(())
}
