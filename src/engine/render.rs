//! The renderer: what the state machine's effects mean here, as texts,
//! timers, pages and timeline entries added to one [`Change`].
//!
//! It is pure. Everything it needs from the store — the reply code each
//! clinician uses for the concern, and the concern's timeline when
//! messages are forwarded — is read beforehand into [`Read`] (see
//! [`Read::needed_for`]); the rota, the templates and the link signer are
//! in memory. So rendering does no I/O, and its tests are stories told
//! without a store, a clock or a network.
//!
//! The few texts intake sends of its own accord (the first reply to a
//! sender, the note about pictures, the help text for a reply that was not
//! understood, the answer to STOP and START) are rendered here too. Not
//! every outgoing message is built here: the thanks for a check-in
//! (intake), the answer to a stranger's email (`intake/email.rs`),
//! notices (`notices.rs`), sign-in codes, welcomes and gap alerts are
//! built where they arise, and a call-back or a recording's deletion
//! carries no words. What is true of all of them is that their words
//! come from `templates/`, as do the notes the engine leaves on a
//! timeline (`templates/notes/`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::calendar::LONDON;
use crate::channels::email::{EmailBody, EmailIdentity, one_line};
use crate::clock::Instant;
use crate::concern::Page;
use crate::concern::{Concern, ConcernId};
use crate::directory::{
    Address, ContactMethod, Enrolment, Id, Language, PageContact, PhoneNumber, Staff, looks_welsh,
};
use crate::escalation::{
    DueContact, Effect, Escalated, SenderNotice, StaffNotice, StaffRef, Status,
};
use crate::links::LinkSigner;
use crate::outbox::NewOutbox;
use crate::rota::Rota;
use crate::templates::TemplateError;
use crate::templates::{Templates, day_and_time, page_quote, quote, who};
use crate::timeline::Purpose;
use crate::timeline::{TimelineEntry, TimelineEvent};
use crate::work::{Change, Timer, TimerKind};

use super::{EngineError, EngineResult};

/// How much of the sender's later words one forward quotes; the rest is
/// counted ("and 4 more messages") and sits behind the link.
const FORWARD_QUOTE_CHARS: usize = 220;

/// What rendering a step's effects reads from the store, read beforehand.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Read {
    /// The code each member of staff the effects name uses for this
    /// concern: the one they were given, or the one they would be given now.
    pub(super) codes: BTreeMap<Id, u16>,
    /// The concern's stored timeline, oldest first (read only when the
    /// effects forward messages).
    pub(super) timeline: Vec<TimelineEntry>,
}

/// What [`Read`] must hold for a list of effects.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Needs {
    /// Staff whose code for the concern a text quotes.
    pub(super) codes: Vec<Id>,
    /// Whether the concern's timeline is quoted.
    pub(super) timeline: bool,
}

impl Read {
    /// What must be read before `effects` can be rendered.
    pub(super) fn needed_for(effects: &[Effect]) -> Needs {
        let mut needs = Needs::default();
        for effect in effects {
            let staff = match effect {
                Effect::Page { staff, .. } | Effect::TellStaff { staff, .. } => staff,
                Effect::Forward { staff, .. } => {
                    needs.timeline = true;
                    staff
                }
                _ => continue,
            };
            if !needs.codes.contains(&staff.id) {
                needs.codes.push(staff.id.clone());
            }
        }
        needs
    }

    fn code(&self, staff: &StaffRef) -> EngineResult<u16> {
        self.codes
            .get(&staff.id)
            .copied()
            .ok_or_else(|| EngineError::NoCode(staff.id.clone()))
    }
}

/// The concern whose effects are being rendered, and what goes with it.
struct About<'a> {
    /// The concern, in its new state.
    concern: &'a Concern,
    /// The enrolment of its patient, if the sender was known.
    enrolment: Option<&'a Enrolment>,
    /// When.
    now: Instant,
    /// What was read for it beforehand.
    read: &'a Read,
}

/// Renders texts from the rota, the templates and the link signer.
pub(super) struct Renderer<'a> {
    /// Names of services and people, and their numbers.
    pub(super) rota: Arc<Rota>,
    /// Every text people read.
    pub(super) templates: &'a Templates,
    /// Signs the link a page carries.
    pub(super) links: &'a LinkSigner,
    /// Who emails come from, when a mail server is configured: then
    /// pages go by email to those who asked for it.
    pub(super) email: Option<&'a EmailIdentity>,
}

impl Renderer<'_> {
    /// Add to `change` what `effects` mean for `concern` (already in its new
    /// state) at `now`, and the concern itself.
    pub(super) fn effects(
        &self,
        concern: &Concern,
        enrolment: Option<&Enrolment>,
        effects: Vec<Effect>,
        now: Instant,
        read: &Read,
        change: &mut Change,
    ) -> EngineResult<()> {
        let about = About {
            concern,
            enrolment,
            now,
            read,
        };
        let mut due = Vec::new();
        for effect in effects {
            match effect {
                // Someone no longer on the rota is not paged or sent anything.
                Effect::Page { staff, step, after } => {
                    if let Some(person) = self.rota.person(staff.id.as_str()) {
                        let paged = Paged {
                            staff: &staff,
                            step: &step,
                            after: after.as_ref(),
                        };
                        due.extend(self.page(&about, person, paged, change)?);
                    }
                }
                Effect::Forward { staff, skip } => {
                    if let Some(person) = self.rota.person(staff.id.as_str()) {
                        self.forward(&about, person, &staff, skip, change)?;
                    }
                }
                Effect::TellSender(notice) => self.tell_sender(&about, notice, change)?,
                Effect::TellStaff { staff, notice } => {
                    let code = read.code(&staff)?;
                    let body = self.staff_notice(&about, code, notice)?;
                    if let Some(person) = self.rota.person(staff.id.as_str()) {
                        change
                            .outbox
                            .extend(self.staff_message(&about, person, code, body)?);
                    }
                }
                Effect::ArmAckDeadline { at, seq } => {
                    change
                        .set_timers
                        .push(timer(concern.id, TimerKind::AckDeadline, at, seq));
                }
                Effect::ArmHandover { at } => {
                    change
                        .set_timers
                        .push(timer(concern.id, TimerKind::Handover, at, 0));
                }
                Effect::ArmReminder { at } => {
                    change
                        .set_timers
                        .push(timer(concern.id, TimerKind::Reminder, at, 0));
                }
                Effect::ArmForward { at } => {
                    change
                        .set_timers
                        .push(timer(concern.id, TimerKind::Forward, at, 0));
                }
                Effect::CancelTimers => {
                    change.cancel_timers.push(concern.id);
                }
                Effect::ClosePages => change.close_pages.push(concern.id),
                Effect::Record(event) => change
                    .timeline
                    .push((concern.id, TimelineEntry { at: now, event })),
            }
        }
        let mut concern = concern.clone();
        if !concern.escalation.is_open() {
            concern.escalation.contacts_due.clear();
        }
        concern.escalation.contacts_due.extend(due);
        if let Some(next) = concern.escalation.contacts_due.iter().map(|d| d.at).min() {
            change
                .set_timers
                .push(timer(concern.id, TimerKind::Contact, next, 0));
        }
        change.concern = Some(concern);
        Ok(())
    }

    /// The first reply to someone who opened a concern: 999 advice when
    /// their words carry a red flag, otherwise that it reached the service
    /// (or, for a number nobody enrolled, the trust). It is in the
    /// enrolment's language; to someone nobody enrolled who wrote in
    /// Welsh, in Welsh and then English.
    pub(super) fn first_reply(
        &self,
        concern: &Concern,
        enrolment: Option<&Enrolment>,
        red_flag: Option<&str>,
    ) -> EngineResult<NewOutbox> {
        let render = |name: &str, context: minijinja::Value| match enrolment {
            Some(e) => self.templates.render_in(e.language, name, context),
            None if looks_welsh(&concern.text) => self.templates.render_bilingual(name, context),
            None => self.templates.render(name, context),
        };
        let body = match red_flag {
            Some(phrase) => render("sms/red_flag.txt", minijinja::context! { phrase })?,
            None if enrolment.is_some() => render(
                "sms/received.txt",
                minijinja::context! {
                    service => self.patient_facing_service(concern),
                    by_email => concern.sender.email().is_some(),
                },
            )?,
            None => render(
                "sms/received_unknown.txt",
                minijinja::context! {
                    trust => self.rota.trust_name,
                    by_email => concern.sender.email().is_some(),
                },
            )?,
        };
        self.to_sender_in(concern, language_of(enrolment), body)
    }

    /// Tell a sender that what came with their words (pictures with a
    /// text, `sms/no_pictures.txt`; files attached to an email,
    /// `sms/no_attachments.txt`) cannot be seen, and to put it into words,
    /// in the language of their enrolment.
    pub(super) fn cannot_see(
        &self,
        concern: &Concern,
        language: Language,
        template: &str,
    ) -> EngineResult<NewOutbox> {
        let body = self
            .templates
            .render_in(language, template, minijinja::context! {})?;
        self.to_sender_in(concern, language, body)
    }

    /// Tell a caller whose call reached nobody and who left no message
    /// that the team will call them back, with 111 and 999: a text, when
    /// their phone takes texts.
    pub(super) fn missed_call(&self, concern: &Concern) -> EngineResult<Option<NewOutbox>> {
        if !concern.sender.phone().is_some_and(PhoneNumber::can_text) {
            return Ok(None);
        }
        let body = self.templates.render(
            "sms/missed_call.txt",
            minijinja::context! { service => self.patient_facing_service(concern) },
        )?;
        self.to_sender_in(concern, Language::default(), body)
            .map(Some)
    }

    /// Answer a text that was STOP (`stopped`) or START from `to`: that
    /// texts from the service (`service`, the trust's when none) have
    /// stopped and how to start them again, or that they are on again.
    pub(super) fn opt_out_answer(
        &self,
        to: &PhoneNumber,
        service: Option<&Id>,
        stopped: bool,
        recipient: String,
    ) -> EngineResult<NewOutbox> {
        let template = if stopped {
            "sms/stopped.txt"
        } else {
            "sms/started.txt"
        };
        let body = self.templates.render(
            template,
            minijinja::context! { service => self.patient_facing_name(service) },
        )?;
        Ok(NewOutbox {
            concern: None,
            to: to.clone().into(),
            body,
            purpose: Purpose::OptOut,
            staff: None,
            recipient,
            step: None,
        })
    }

    /// The help text for a clinician whose reply was not understood, listing
    /// the codes of their open pages.
    pub(super) fn help(&self, codes: &[u16]) -> EngineResult<String> {
        let codes: Vec<String> = codes.iter().map(u16::to_string).collect();
        Ok(self.templates.render(
            "sms/help.txt",
            minijinja::context! { codes => codes.join(", ") },
        )?)
    }

    /// Page `staff` (open the page, on the timeline) by the first way they
    /// asked to be reached; the ways they asked to be tried later if it is
    /// not accepted are returned, to be kept on the concern.
    fn page(
        &self,
        about: &About<'_>,
        person: &Staff,
        Paged { staff, step, after }: Paged<'_>,
        change: &mut Change,
    ) -> EngineResult<Vec<DueContact>> {
        let (concern, now) = (about.concern, about.now);
        let code = about.read.code(staff)?;
        if !change
            .open_pages
            .iter()
            .any(|p| p.concern == concern.id && p.staff == staff.id)
        {
            change.open_pages.push(Page {
                concern: concern.id,
                staff: staff.id.clone(),
                code,
                open: true,
                opened_at: now,
            });
        }
        let paged = TimelineEvent::Paged {
            staff: staff.id.clone(),
            name: staff.name.clone(),
            level: step.to_owned(),
            code,
        };
        change.timeline.push((
            concern.id,
            TimelineEntry {
                at: now,
                event: paged,
            },
        ));
        let contacts = person.page_contacts(self.email.is_some());
        let Some(first) = contacts.first() else {
            let note = TimelineEvent::note(self.templates.render(
                "notes/no_phone_for_pages.txt",
                minijinja::context! { name => staff.name },
            )?);
            change.timeline.push((
                concern.id,
                TimelineEntry {
                    at: now,
                    event: note,
                },
            ));
            return Ok(Vec::new());
        };
        let step = concern.escalation.seq;
        change.outbox.push(self.page_message(
            concern,
            about.enrolment,
            person,
            *first,
            code,
            step,
            now,
            after,
        )?);
        Ok(contacts
            .iter()
            .skip(1)
            .filter_map(|c| {
                let after = chrono::TimeDelta::from_std(c.after?).ok()?;
                Some(DueContact {
                    staff: staff.id.clone(),
                    index: c.index,
                    at: now + after,
                    step,
                })
            })
            .collect())
    }

    /// A page to `person` by one of their ways: a text quoting the
    /// concern, or a call whose words Twilio fetches when it is answered.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn page_message(
        &self,
        concern: &Concern,
        enrolment: Option<&Enrolment>,
        person: &Staff,
        contact: PageContact<'_>,
        code: u16,
        step: u64,
        now: Instant,
        after: Option<&Escalated>,
    ) -> EngineResult<NewOutbox> {
        let discharged = enrolment
            .and_then(|e| e.discharged_at)
            .map(|discharged_at| {
                discharged_at
                    .with_timezone(&LONDON)
                    .format("%-d %b")
                    .to_string()
            });
        let after = after.map(|a| self.escalated(a)).transpose()?;
        // A text carries the short link (a page in two segments); an email the long one.
        let page = |template: &str, text: String, link: String| {
            self.templates.render(
                template,
                minijinja::context! {
                    urgent => concern.escalation.urgent,
                    who => who(concern, enrolment),
                    service => self.staff_facing_service(concern),
                    discharged,
                    text,
                    call => concern.opened_by_call(),
                    link,
                    after,
                    code,
                    replies => self.email.is_some_and(|e| e.domain.is_some()),
                },
            )
        };
        let (body, purpose) = match contact.method {
            ContactMethod::Voice(_) => (
                self.links.call_page_url(concern.id, &person.id, step),
                Purpose::CallPage,
            ),
            ContactMethod::Sms(_) => {
                // As much of their words as keeps the page to two segments.
                let link = self.links.short_link(concern.id, &person.id, now);
                let frame = page("sms/page.txt", String::new(), link.clone())?;
                let text = page_quote(&frame, &concern.text);
                (page("sms/page.txt", text, link)?, Purpose::Page)
            }
            // An email has room for the sender's words whole (as paged:
            // their own, without what they quoted).
            ContactMethod::Email(_) => {
                let text = concern.text.clone();
                let link = self.links.link(concern.id, &person.id, now);
                let email = EmailBody {
                    subject: self.staff_subject(concern, enrolment, code)?,
                    text: page("email/page.txt", text.clone(), link.clone())?,
                    html: page("email/page.html", text, link)?,
                    reply_to: self.page_reply_to(concern.id, &person.id),
                };
                (email.to_body(), Purpose::Page)
            }
        };
        Ok(NewOutbox {
            concern: Some(concern.id),
            to: contact.address(),
            body,
            purpose,
            staff: Some(person.id.clone()),
            recipient: person.name.clone(),
            step: Some(step),
        })
    }

    /// Send on to `staff` what the sender wrote after their first `skip`
    /// messages, in one text: as many messages as fit, then how many more
    /// there are and the link, where every message is shown.
    fn forward(
        &self,
        about: &About<'_>,
        person: &Staff,
        staff: &StaffRef,
        skip: u32,
        change: &mut Change,
    ) -> EngineResult<()> {
        let (concern, enrolment, now) = (about.concern, about.enrolment, about.now);
        let pending = change
            .timeline
            .iter()
            .filter(|(c, _)| *c == concern.id)
            .map(|(_, e)| e);
        // A call joins the timeline as its outcome, then a message
        // standing for it: that message is the call, not words.
        let mut seen = 0;
        let mut call: Option<&str> = None;
        let mut messages: Vec<Forwarded> = Vec::new();
        for e in about.read.timeline.iter().chain(pending) {
            let message = match &e.event {
                TimelineEvent::Call { outcome, .. } => {
                    call = Some(outcome.as_str());
                    continue;
                }
                event @ TimelineEvent::Received { text, .. } => {
                    seen += 1;
                    match call.take() {
                        Some(outcome @ ("voicemail" | "call_back")) => Forwarded {
                            text: String::new(),
                            call: Some(outcome.to_owned()),
                        },
                        _ => Forwarded {
                            text: quote(text),
                            call: event.is_transcription().then(|| "transcription".to_owned()),
                        },
                    }
                }
                TimelineEvent::OptOut { opted_out } => Forwarded {
                    text: self
                        .templates
                        .render("sms/forward_opt_out.txt", minijinja::context! { opted_out })?,
                    call: None,
                },
                _ => continue,
            };
            if seen > skip {
                messages.push(message);
            }
        }
        if messages.is_empty() {
            return Ok(());
        }
        let mut quoted = Vec::new();
        let mut used = 0;
        for m in &messages {
            let len = m.text.chars().count();
            if !quoted.is_empty() && used + len > FORWARD_QUOTE_CHARS {
                break;
            }
            used += len;
            quoted.push(m.clone());
        }
        // A voicemail is heard at the link, so a forward with one carries it.
        let voicemail = quoted
            .iter()
            .any(|m| m.call.as_deref() == Some("voicemail"));
        let more = messages.len() - quoted.len();
        let code = about.read.code(staff)?;
        let body = self.templates.render(
            "sms/forward.txt",
            minijinja::context! {
                who => who(concern, enrolment),
                code,
                wrote => quoted.iter().any(|m| m.call.is_none()),
                phoned => quoted.iter().any(|m| m.call.is_some()),
                messages => quoted,
                more,
                link => (more > 0 || voicemail)
                    .then(|| self.links.short_link(concern.id, &staff.id, now)),
                accepted => !concern.escalation.is_open(),
            },
        )?;
        let forwarded = TimelineEvent::Forwarded {
            staff: staff.id.clone(),
            name: staff.name.clone(),
            messages: Some(messages.len() as u32),
        };
        change.timeline.push((
            concern.id,
            TimelineEntry {
                at: now,
                event: forwarded,
            },
        ));
        change
            .outbox
            .extend(self.staff_message(about, person, code, body)?);
        Ok(())
    }

    /// A message to a member of staff about a concern (not a page): a text
    /// to their first number, or, when they prefer email and a mail server
    /// is configured, an email in the concern's thread, whose reply
    /// address takes their reply codes as the page's does.
    fn staff_message(
        &self,
        about: &About<'_>,
        person: &Staff,
        code: u16,
        text: String,
    ) -> EngineResult<Option<NewOutbox>> {
        let concern = about.concern;
        let to = match person.message_address(self.email.is_some()) {
            Some(Address::Email(to)) => to,
            _ => {
                return Ok(staff_text(
                    person,
                    Some(concern.id),
                    text,
                    Purpose::StaffNotice,
                ));
            }
        };
        let email = EmailBody {
            subject: self.staff_subject(concern, about.enrolment, code)?,
            reply_to: self.page_reply_to(concern.id, &person.id),
            ..self.email_message(&text)?
        };
        Ok(Some(NewOutbox {
            concern: Some(concern.id),
            to: Address::Email(to),
            body: email.to_body(),
            purpose: Purpose::StaffNotice,
            staff: Some(person.id.clone()),
            recipient: person.name.clone(),
            step: None,
        }))
    }

    /// The subject of every email to a member of staff about a concern:
    /// one subject, so their mail client keeps it one conversation.
    fn staff_subject(
        &self,
        concern: &Concern,
        enrolment: Option<&Enrolment>,
        code: u16,
    ) -> EngineResult<String> {
        let subject = self.templates.render(
            "email/subject.txt",
            minijinja::context! {
                code,
                who => who(concern, enrolment),
                service => self.staff_facing_service(concern),
            },
        )?;
        Ok(one_line(&subject))
    }

    /// A message worded as its text is, as an email's two parts (its
    /// subject left empty for the caller).
    fn email_message(&self, text: &str) -> EngineResult<EmailBody> {
        self.email_message_in(Language::En, text)
    }

    /// `text` in an email, its frame in `language`.
    fn email_message_in(&self, language: Language, text: &str) -> EngineResult<EmailBody> {
        let context = minijinja::context! { text, trust => self.rota.trust_name };
        Ok(EmailBody {
            subject: String::new(),
            text: self
                .templates
                .render_in(language, "email/message.txt", &context)?,
            html: self
                .templates
                .render_in(language, "email/message.html", &context)?,
            reply_to: None,
        })
    }

    /// Where a reply to `staff`'s email about `concern` goes: the page's
    /// address, which carries its token, when our listener takes replies.
    fn page_reply_to(&self, concern: ConcernId, staff: &Id) -> Option<String> {
        self.email?
            .page_reply_to(&self.links.page_token(concern, staff))
    }

    /// Tell the sender, and whoever is written to about the patient when
    /// that is someone else: the patient when a carer wrote, or, for a
    /// patient who does not take texts (a child), the carer who is their
    /// contact. What a caller hears after speaking to someone live is
    /// theirs alone.
    fn tell_sender(
        &self,
        about: &About<'_>,
        notice: SenderNotice,
        change: &mut Change,
    ) -> EngineResult<()> {
        let (concern, enrolment) = (about.concern, about.enrolment);
        let language = language_of(enrolment);
        // Patients and carers read a role written for them.
        let role = |staff: &Id, role: &str| {
            self.rota
                .person(staff.as_str())
                .map_or(role, Staff::role_for_patients)
                .to_owned()
        };
        // Worded for how it goes: "text this number" or "write to us".
        let body = |to: &Address| {
            let by_email = to.email().is_some();
            match &notice {
                SenderNotice::AcceptedBy {
                    staff,
                    name,
                    role: r,
                } => self.templates.render_in(
                    language,
                    "sms/accepted.txt",
                    minijinja::context! { name, role => role(staff, r) },
                ),
                SenderNotice::SpokeTo {
                    staff,
                    name,
                    role: r,
                } => self.templates.render_in(
                    language,
                    "sms/spoke_live.txt",
                    minijinja::context! { name, role => role(staff, r) },
                ),
                SenderNotice::Call111 => {
                    self.templates
                        .render_in(language, "sms/call_111.txt", minijinja::context! {})
                }
                SenderNotice::Resolved {
                    staff,
                    name,
                    role: r,
                } => self.templates.render_in(
                    language,
                    "sms/resolved.txt",
                    minijinja::context! { name, role => role(staff, r), by_email },
                ),
            }
        };
        // A caller from a landline is told on the phone, not by a text it cannot read.
        let texts_sender = concern.opened_by_call().is_none()
            || concern.sender.phone().is_none_or(PhoneNumber::can_text);
        if texts_sender {
            let text = body(&concern.sender)?;
            change
                .outbox
                .push(self.to_sender_in(concern, language, text)?);
        }
        if matches!(notice, SenderNotice::SpokeTo { .. }) {
            return Ok(());
        }
        if let Some((contact, label)) = enrolment.and_then(Enrolment::patients_contact)
            && let Some(to) = contact.address()
            && !contact.is_reached_at(&concern.sender)
        {
            let text = body(&to)?;
            change
                .outbox
                .push(self.notice(concern, language, to, text, &label)?);
        }
        Ok(())
    }

    /// A message to whoever opened the concern, its email words (if it
    /// goes by email) in `language`.
    fn to_sender_in(
        &self,
        concern: &Concern,
        language: Language,
        text: String,
    ) -> EngineResult<NewOutbox> {
        let label = concern.party.label();
        self.notice(concern, language, concern.sender.clone(), text, &label)
    }

    /// A message to a patient or carer about their concern: a text, or,
    /// for someone enrolled with no phone, an email in the concern's
    /// thread, one subject for all of them (ADR 15).
    fn notice(
        &self,
        concern: &Concern,
        language: Language,
        to: Address,
        text: String,
        recipient: &str,
    ) -> EngineResult<NewOutbox> {
        let body = match &to {
            Address::Phone(_) => text,
            Address::Email(_) => {
                let subject = self.templates.render_in(
                    language,
                    "email/notice_subject.txt",
                    minijinja::context! { service => self.patient_facing_service(concern) },
                )?;
                EmailBody {
                    subject: one_line(&subject),
                    ..self.email_message_in(language, &text)?
                }
                .to_body()
            }
        };
        Ok(NewOutbox {
            concern: Some(concern.id),
            to,
            body,
            purpose: Purpose::Notice,
            staff: None,
            recipient: recipient.to_owned(),
            step: None,
        })
    }

    fn staff_notice(
        &self,
        about: &About<'_>,
        code: u16,
        notice: StaffNotice,
    ) -> EngineResult<String> {
        let concern = about.concern;
        let who = who(concern, about.enrolment);
        let text = match notice {
            StaffNotice::TakenBy { name } => self
                .templates
                .render("sms/taken.txt", minijinja::context! { code, who, name }),
            StaffNotice::AlreadyAccepted { name } => self
                .templates
                .render("sms/already_accepted.txt", minijinja::context! { name }),
            StaffNotice::YouHaveIt => self
                .templates
                .render("sms/you_have_it.txt", minijinja::context! { code }),
            StaffNotice::Reminder => {
                let accepted_at = match &concern.escalation.status {
                    Status::Accepted { at, .. } => day_and_time(*at, about.now),
                    _ => String::new(),
                };
                self.templates.render(
                    "sms/reminder.txt",
                    minijinja::context! { code, who, accepted_at },
                )
            }
            StaffNotice::ResolvedBy { name } => self.templates.render(
                "sms/resolved_by.txt",
                minijinja::context! { code, who, name },
            ),
            StaffNotice::AlreadyResolved => self
                .templates
                .render("sms/already_resolved.txt", minijinja::context! {}),
            StaffNotice::YouAccepted | StaffNotice::YouTookCall => self.templates.render(
                "sms/you_accepted.txt",
                minijinja::context! {
                    code,
                    who,
                    service => self.staff_facing_service(concern),
                    live => matches!(notice, StaffNotice::YouTookCall),
                },
            ),
            StaffNotice::YouResolved => self
                .templates
                .render("sms/you_resolved.txt", minijinja::context! { code, who }),
        };
        Ok(text?)
    }

    /// Why a page came to its step, as `sms/page.txt` words it: `why`
    /// (`not_accepted`, `passed`, `unreachable`), `by` (who had it before:
    /// "the cardiology registrar", or their names) and `minutes`.
    fn escalated(&self, after: &Escalated) -> Result<minijinja::Value, TemplateError> {
        let (why, before, minutes) = match after {
            Escalated::NotAccepted { before, within } => {
                ("not_accepted", before.as_slice(), within.num_minutes())
            }
            Escalated::Passed { by } => ("passed", std::slice::from_ref(by), 0),
            Escalated::Unreachable { before } => ("unreachable", before.as_slice(), 0),
        };
        Ok(minijinja::context! { why, by => self.named(before)?, minutes })
    }

    /// People at a step as a page names them (`words/named.txt`): by
    /// their role ("the cardiology registrar") when one person held it (a
    /// team phone's role is no person's, so it is named), else by their
    /// names ("Chen Li or Amara Okafor").
    fn named(&self, people: &[StaffRef]) -> Result<String, TemplateError> {
        let role = match people {
            [one] => self.rota.person(one.id.as_str()).map(|p| p.role.as_str()),
            _ => None,
        }
        .filter(|role| !role.is_empty() && !role.contains('('));
        let names: Vec<&str> = people.iter().map(|p| p.name.as_str()).collect();
        self.templates.named(role, &names)
    }

    /// The service's name as staff know it ("Cardiology Ward 7").
    fn staff_facing_service(&self, concern: &Concern) -> String {
        self.service(concern).map_or_else(
            || self.templates.fallbacks().service_in_text.clone(),
            |s| s.name.clone(),
        )
    }

    /// The service's name as patients know it, or the trust's for a
    /// concern with no service.
    fn patient_facing_service(&self, concern: &Concern) -> String {
        self.patient_facing_name(concern.service.as_ref())
    }

    /// A service's name as patients know it, or the trust's for none.
    fn patient_facing_name(&self, service: Option<&Id>) -> String {
        self.service_by_id(service)
            .map(|s| s.patient_name.clone())
            .unwrap_or_else(|| self.rota.trust_name.clone())
    }

    fn service(&self, concern: &Concern) -> Option<&crate::rota::Service> {
        self.service_by_id(concern.service.as_ref())
    }

    fn service_by_id(&self, service: Option<&Id>) -> Option<&crate::rota::Service> {
        let ix = self.rota.service(service?.as_str())?;
        self.rota.services().get(ix as usize)
    }
}

/// The language a patient and their carers are written to in: their
/// enrolment's, or English for a sender nobody enrolled.
pub(super) fn language_of(enrolment: Option<&Enrolment>) -> Language {
    enrolment.map_or(Language::En, |e| e.language)
}

/// One of the sender's messages as a forward quotes it: their words, or
/// a call (`voicemail`, `call_back`, or `transcription`: a voicemail's
/// words).
#[derive(Debug, Clone, serde::Serialize)]
struct Forwarded {
    text: String,
    call: Option<String>,
}

/// Who a page was for and why it came to them: one [`Effect::Page`].
struct Paged<'a> {
    staff: &'a StaffRef,
    step: &'a str,
    after: Option<&'a Escalated>,
}

/// A text to a member of staff, to their first number that takes texts
/// (none if they have no such number), for `purpose` (a staff notice, a
/// handover, a review reminder).
pub(super) fn staff_text(
    staff: &Staff,
    concern: Option<ConcernId>,
    body: String,
    purpose: Purpose,
) -> Option<NewOutbox> {
    let to = staff.sms_numbers().first().copied()?.clone();
    Some(NewOutbox {
        concern,
        to: to.into(),
        body,
        purpose,
        staff: Some(staff.id.clone()),
        recipient: staff.name.clone(),
        step: None,
    })
}

fn timer(concern: ConcernId, kind: TimerKind, due_at: Instant, seq: u64) -> Timer {
    Timer {
        concern,
        kind,
        due_at,
        seq,
    }
}

#[cfg(test)]
mod tests;
