//! An email taken in (ADR 14): who sent it is decided by their address,
//! and then it goes where a text would.
//!
//! - A member of staff's address (a rota person's `email`): a reply to a
//!   page, acted on only when it carries that page's token
//!   ([`crate::links::LinkSigner::page_token`]), in the reply address or
//!   the subject, never on `From` alone; the reply code is read from the
//!   first line, or else the subject.
//!   The token is the proof of who wrote: a staff reply needs no
//!   [`crate::email::auth`] proof (a forged `From` without the token does
//!   nothing; one with it could only come from the page's reader).
//! - A patient's or carer's enrolment email, proved to be from that
//!   address ([`crate::email::auth`], docs/adr/0022): their words, as a
//!   text from their phone on that enrolment would be (joining or opening
//!   their concern; answered on that phone); from someone enrolled with
//!   no phone, a concern whose sender is their address, answered by email
//!   (ADR 15).
//! - A delivery report to one of our envelope senders
//!   (`bounce+ID.TAG@…`, signed): a report on that outbox item, as a
//!   delivery report from Twilio is; a failure fails a page over.
//! - Anyone else, and an enrolled address whose mail is not proved: a
//!   stranger ([`stranger`]). Their email pages nobody: it opens (or
//!   joins) a concern of its own, kept for the in-hours team of the
//!   strangers' service (`NIGHTINGALE_EMAIL_STRANGERS_SERVICE`) and in
//!   its morning handover, and is answered at once, by email, with our
//!   number to call or text and 111/999 advice.

use std::net::IpAddr;

use crate::channels::email::{EmailBody, bounced_item};
use crate::clock::Instant;
use crate::concern::{Concern, ConcernId, Party, Recognised};
use crate::directory::{Address, ContactMethod, EmailAddress, Id, Staff};
use crate::email::auth::{Envelope, Proof, SenderTrust};
use crate::email::{attachments_note, page_token, subject_words, trim_reply};
use crate::escalation::Escalation;
use crate::escalation::reply::{self, CODE_QUARANTINE, PageKey};
use crate::inbox::Attachment;
use crate::outbox::NewOutbox;
use crate::rota::Rota;
use crate::store;
use crate::timeline::Purpose;
use crate::timeline::TimelineEvent;
use crate::work::Change;

use super::super::stats::Stats;
use super::super::{EngineResult, advance, record};
use super::{Parts, Via, received, sender_message};

/// How intake treats an email's sender, and where a stranger's email
/// goes (docs/adr/0022).
#[derive(Debug, Clone, Default)]
pub struct EmailSenders {
    /// Who is believed about who sent an email.
    pub trust: SenderTrust,
    /// The service (a rota id) whose in-hours team takes strangers'
    /// emails; `None`, or an id the rota no longer has: the first service
    /// with an in-hours team.
    pub strangers_service: Option<String>,
    /// Our number, which a stranger is told to call or text.
    pub our_number: Option<String>,
}

impl EmailSenders {
    /// The service a stranger's email is kept for, if any has an in-hours team.
    fn strangers_service(&self, rota: &Rota) -> Option<Id> {
        let named = self
            .strangers_service
            .as_deref()
            .and_then(|id| rota.service(id))
            .map(|ix| &rota.services()[ix as usize]);
        named
            .or_else(|| rota.services().iter().find(|s| s.hours.has_in_hours_team()))
            .map(|s| s.id.clone())
    }
}

/// The provider id of the outbox item a delivery report names by the
/// envelope sender it came back to (`bounce+ID.TAG@…`), when one of
/// `recipients` is such an address and its tag is the item's: a bounce
/// address nobody signed names nothing.
pub(super) fn bounce(parts: &Parts, recipients: &[String]) -> Option<String> {
    recipients.iter().find_map(|r| {
        let (id, tag, provider_id) = bounced_item(r)?;
        parts.links.is_outbox_tag(id, tag).then_some(provider_id)
    })
}

/// An email's parts other than its sender.
pub(super) struct Received {
    /// The envelope's recipients.
    pub to: Vec<String>,
    /// The envelope's sender (`MAIL FROM`, empty for a bounce), if recorded.
    pub envelope_from: Option<String>,
    /// Who handed it to our listener, if recorded.
    pub peer: Option<IpAddr>,
    /// Its topmost `Authentication-Results` header.
    pub authentication_results: Option<String>,
    /// Its subject.
    pub subject: String,
    /// Its text, whole.
    pub text: String,
    /// Its attachments, not kept.
    pub attachments: Vec<Attachment>,
}

/// What one email changes.
#[allow(clippy::too_many_arguments)]
pub(super) async fn take_in(
    parts: &Parts,
    stats: &Stats,
    key: &str,
    from: &str,
    mail: Received,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let Ok(from) = EmailAddress::parse(from) else {
        stats.count_refused("email_sender");
        tracing::warn!(key, "inbound email refused: its From is not an address");
        return Ok(());
    };
    let rota = parts.rota();
    if let Some(staff) = staff_by_email(&rota, &from) {
        return staff_reply(parts, stats, key, staff, &mail, now, change).await;
    }
    let envelope = Envelope {
        sender: mail.envelope_from.as_deref(),
        peer: mail.peer,
        authentication_results: mail.authentication_results.as_deref(),
    };
    let Some(proof) = parts.email_senders.trust.proof(&envelope, from.domain()) else {
        // Whoever they say they are, nothing shows it: a stranger's email.
        tracing::info!(
            key,
            "email sender not proved: kept for the in-hours team, nobody paged"
        );
        let sender = Sender::Stranger(stranger_of(from, mail.envelope_from.as_deref()));
        return sender_words(parts, sender, mail, now, change).await;
    };
    // As a text from their phone; someone enrolled with no phone writes
    // from their address, and is answered there (ADR 15).
    let sender = {
        let address = from.clone();
        store::blocking(&parts.store, move |s| s.enrolments_for_email(&address, now))
            .await?
            .into_iter()
            .flat_map(|e| {
                e.people()
                    .map(|(_, c)| c.clone())
                    .collect::<Vec<_>>()
                    .into_iter()
            })
            .find(|c| c.email.as_ref().is_some_and(|e| e.same_mailbox(&from)))
            .and_then(|c| c.address())
    };
    // Anyone else is a stranger, even when their mail is proved: nobody
    // enrolled them, so nobody is paged.
    let sender = match sender {
        Some(address) => Sender::Known {
            address,
            recognised: recognised_by(proof),
        },
        None => Sender::Stranger(stranger_of(from, mail.envelope_from.as_deref())),
    };
    sender_words(parts, sender, mail, now, change).await
}

/// Whom an email's words go to.
enum Sender {
    /// An enrolled patient or carer, proved: as their text.
    Known {
        address: Address,
        recognised: Recognised,
    },
    /// Anyone else.
    Stranger(Stranger),
}

/// A stranger's email's sender.
struct Stranger {
    /// The `From` address: who the concern is from.
    from: EmailAddress,
    /// Where the answer goes: the envelope sender (RFC 3834 §4), so a
    /// forged `From` does not bring our answer to the person it names;
    /// `None` for a bounce (an empty envelope sender), never answered.
    answer_to: Option<EmailAddress>,
}

/// A stranger writing from `from`, whose envelope sender was `envelope`
/// (`None`: not recorded, so `From`).
fn stranger_of(from: EmailAddress, envelope: Option<&str>) -> Stranger {
    let answer_to = match envelope {
        None => Some(from.clone()),
        Some(envelope) => EmailAddress::parse(envelope).ok(),
    };
    Stranger { from, answer_to }
}

/// How a proved email recognises its sender.
fn recognised_by(proof: Proof) -> Recognised {
    match proof {
        Proof::DmarcAtRelay => Recognised::EmailDmarcAtRelay,
        Proof::EnvelopeMatches => Recognised::EmailEnvelopeMatches,
    }
}

/// A stranger's email (docs/adr/0022): on a concern of its own, kept for
/// the in-hours team of the strangers' service, with nobody paged; a new
/// one is answered at once by email. A second email while it is open
/// joins it, unanswered (no autoresponder ping-pong). An address whose
/// open concern is an enrolled person's gets a note there instead,
/// without the words: they were not proved to be theirs.
async fn stranger(
    parts: &Parts,
    stranger: Stranger,
    text: String,
    whole: String,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let sender = Address::Email(stranger.from.clone());
    let open = {
        let sender = sender.clone();
        store::blocking(&parts.store, move |s| s.open_concern_from(&sender)).await?
    };
    let label = Party::Unknown.label();
    match open {
        Some(c) if c.recognised.is_some_and(Recognised::pages_nobody) => {
            record(change, c.id, now, received(label, &whole));
            return Ok(());
        }
        Some(c) => {
            let note = TimelineEvent::note(
                parts
                    .templates
                    .render("notes/unproved_email.txt", minijinja::context! {})?,
            );
            record(change, c.id, now, note);
            // Answered all the same, outside her concern's thread.
            if let Some(to) = stranger.answer_to {
                change.outbox.push(answer(parts, None, to)?);
            }
            return Ok(());
        }
        None => {}
    }
    let concern = Concern {
        id: ConcernId::new(),
        enrolment: None,
        service: parts.email_senders.strangers_service(&parts.rota()),
        sender,
        party: Party::Unknown,
        opened_at: now,
        text,
        escalation: Escalation::new(false),
        pictures_explained: false,
        recognised: Some(Recognised::UnknownEmail),
        calls: Vec::new(),
        version: 0,
    };
    record(change, concern.id, now, received(label, &whole));
    if let Some(to) = stranger.answer_to {
        change.outbox.push(answer(parts, Some(concern.id), to)?);
    }
    change.concern = Some(concern);
    Ok(())
}

/// The answer to a stranger's email (`email/stranger*`): we cannot tell
/// who wrote, so: call or text our number, 111, and 999 in an emergency.
fn answer(parts: &Parts, concern: Option<ConcernId>, to: EmailAddress) -> EngineResult<NewOutbox> {
    let rota = parts.rota();
    let context = minijinja::context! {
        trust => rota.trust_name,
        number => parts.email_senders.our_number,
    };
    let body = EmailBody::render(&parts.templates, "stranger", &context, None)?;
    Ok(NewOutbox {
        concern,
        to: Address::Email(to),
        body: body.to_body(),
        purpose: Purpose::Notice,
        staff: None,
        recipient: Party::Unknown.label(),
        step: None,
    })
}

/// A patient's or carer's email, as their text: what is paged is their
/// own words; the timeline keeps the message whole, with the subject and
/// the attachments it came with.
async fn sender_words(
    parts: &Parts,
    sender: Sender,
    mail: Received,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let own = trim_reply(&mail.text);
    let subject = mail.subject.trim();
    let paged = match (
        subject.is_empty() || is_reply_subject(subject),
        own.is_empty(),
    ) {
        (true, _) => own,
        (false, true) => subject.to_owned(),
        (false, false) => format!("{subject}: {own}"),
    };
    let whole = parts.templates.email_kept(
        subject,
        mail.text.trim(),
        attachments_note(&mail.attachments).as_deref(),
    )?;
    let attached = u32::try_from(mail.attachments.len()).unwrap_or(u32::MAX);
    let paged = parts.templates.email_paged(&paged, attached)?;
    match sender {
        Sender::Known {
            address,
            recognised,
        } => {
            let via = Via::Email {
                whole,
                attachments: attached,
                recognised,
            };
            sender_message(parts, address, paged, via, now, change).await
        }
        Sender::Stranger(s) => stranger(parts, s, paged, whole, now, change).await,
    }
}

/// A subject a mail client wrote ("Re: …") rather than the sender.
fn is_reply_subject(subject: &str) -> bool {
    subject_words(subject).len() != subject.len()
}

/// The reply code at the start of an email's line (`A12`, `P 12`,
/// `R12 note`), whatever follows it: people write on after a code in an
/// email. The number is required, so "A lot has happened" is no accept.
fn email_code(line: &str) -> Option<reply::Reply> {
    let line = line.trim();
    let letters = line
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(line.len());
    let rest = &line[letters..];
    let spaces = rest.len() - rest.trim_start().len();
    let digits = rest[spaces..]
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len() - spaces);
    let code_end = letters + spaces + digits;
    let r = reply::parse(line).or_else(|| reply::parse(&line[..code_end]))?;
    r.code.is_some().then_some(r)
}

/// The member of staff whose rota entry has this email.
fn staff_by_email<'r>(rota: &'r Rota, from: &EmailAddress) -> Option<&'r Staff> {
    rota.people().iter().find(|p| {
        p.contacts
            .iter()
            .any(|c| matches!(c, ContactMethod::Email(e) if e.same_mailbox(from)))
    })
}

/// A clinician's email: acts on the page whose token it carries, by the
/// reply code it gives, and on nothing else.
async fn staff_reply(
    parts: &Parts,
    stats: &Stats,
    key: &str,
    staff: &Staff,
    mail: &Received,
    now: Instant,
    change: &mut Change,
) -> EngineResult<()> {
    let Some(token) = page_token(&mail.to, &mail.subject) else {
        stats.count_refused("email_reply_without_token");
        tracing::warn!(key, staff = %staff.id, "email from a member of staff carries no page token: nothing done");
        return Ok(());
    };
    let id = staff.id.clone();
    let since = now - CODE_QUARANTINE;
    let pages = store::blocking(&parts.store, move |s| s.pages_for(&id, since)).await?;
    let Some(page) = pages
        .iter()
        .find(|p| parts.links.is_page_token(p.concern, &staff.id, token))
    else {
        stats.count_refused("email_reply_bad_token");
        tracing::warn!(key, staff = %staff.id, "email reply's token is not one of this clinician's pages: nothing done");
        return Ok(());
    };
    let own = trim_reply(&mail.text);
    let first_line = own.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let Some(r) = email_code(first_line).or_else(|| email_code(subject_words(&mail.subject)))
    else {
        tracing::info!(key, staff = %staff.id, "email reply gives no reply code: nothing done");
        return Ok(());
    };
    // The code must be this page's: the token says which page.
    let key_of = |p: &crate::concern::Page| PageKey {
        code: p.code,
        open: p.open,
        opened_at: p.opened_at,
    };
    if r.page(std::slice::from_ref(page), key_of).is_none() {
        tracing::info!(key, staff = %staff.id, "email reply's code is not its page's: nothing done");
        return Ok(());
    }
    let Some(mut concern) = parts.concern(page.concern).await? else {
        return Ok(());
    };
    let enrolment = parts.enrolment_of(&concern).await?;
    let event = r.event(staff.into());
    advance::event(parts, &mut concern, enrolment.as_ref(), event, now, change).await
}

#[cfg(test)]
mod tests {
    use super::email_code;
    use crate::escalation::reply::Action;

    #[test]
    fn a_code_starts_a_line_and_words_may_follow() {
        let r = email_code("A12 calling her now").unwrap();
        assert_eq!((r.action, r.code), (Action::Accept, Some(12)));
        let r = email_code("R 7 seen at home, settled").unwrap();
        assert_eq!((r.action, r.code), (Action::Resolve, Some(7)));
        assert_eq!(r.note.as_deref(), Some("seen at home, settled"));
        assert!(email_code("A lot has happened").is_none());
        assert!(email_code("A").is_none(), "an email names its page's code");
        assert!(email_code("Thanks").is_none());
    }
}
