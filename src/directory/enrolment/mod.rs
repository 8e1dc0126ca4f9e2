//! Enrolments: a patient in a service's care, with their carers. An
//! enrolment is one of two [`EnrolmentKind`]s: a **discharge** lasts for a
//! window after discharge (30 days by default) and then ends by itself; an
//! **ongoing** one, for a long-term condition, lasts until it is ended and
//! has a review date, a year after enrolment unless the sender sets one.
//! Either may name a care co-ordinator: a person in the rota files, checked
//! against the live rota when the enrolment is made.
//!
//! [`EnrolmentRequest::parse`] turns what a discharge system sends into an
//! [`Enrolment`] or a list of field errors, each naming the field and what
//! is wrong with it. A phone must be one a person answers: premium-rate,
//! freephone, revenue-sharing and other numbers that are not a person's
//! own are refused; a landline is accepted but never texted, and
//! [`Enrolment::notes`] says so to whoever sent the enrolment. Names,
//! relationships and context are cleaned of control and bidirectional
//! characters ([`clean_line`](super::clean_line),
//! [`clean_text`](super::clean_text)) before they are checked and stored.

use std::fmt;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Address, EmailAddress, Id, Language, NhsNumber, NumberKind, PhoneNumber};
use crate::clock::Instant;

mod request;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod who_takes_the_texts;

pub use request::{CoordinatorError, EnrolmentRequest, MAX_CARERS, MAX_CONTEXT};

/// An enrolment's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EnrolmentId(pub Uuid);

impl EnrolmentId {
    /// A fresh id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for EnrolmentId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EnrolmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for EnrolmentId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// A patient or carer: how to address and reach them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Their name as given.
    pub name: String,
    /// Their phone, E.164; `None` for someone enrolled with an email and
    /// no phone.
    pub phone: Option<PhoneNumber>,
    /// Their email, if given (required without a phone).
    pub email: Option<EmailAddress>,
}

impl Contact {
    /// Where what they are told goes: their phone, or else their email (ADR 15).
    pub fn address(&self) -> Option<Address> {
        match (&self.phone, &self.email) {
            (Some(phone), _) => Some(Address::Phone(phone.clone())),
            (None, Some(email)) => Some(Address::Email(email.clone())),
            (None, None) => None,
        }
    }

    /// Whether a message from `from` is theirs: their phone, or their
    /// email (in any case).
    pub fn is_reached_at(&self, from: &Address) -> bool {
        match from {
            Address::Phone(n) => self.phone.as_ref() == Some(n),
            Address::Email(e) => self.email.as_ref().is_some_and(|m| m.same_mailbox(e)),
        }
    }

    /// The first word of their name, for short messages.
    pub fn first_name(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or(&self.name)
    }
}

/// Keeps names out of logs.
impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contact")
            .field("phone", &self.phone)
            .finish_non_exhaustive()
    }
}

/// A carer of an enrolled patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carer {
    /// Who they are and how to reach them.
    #[serde(flatten)]
    pub contact: Contact,
    /// e.g. "daughter", "husband", "neighbour".
    pub relationship: Option<String>,
}

/// Which kind of enrolment: for the days after a discharge, or ongoing
/// care of a long-term condition.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EnrolmentKind {
    /// For a window after discharge; it ends by itself.
    #[default]
    Discharge,
    /// For a long-term condition; it lasts until it is ended, and is
    /// reviewed on its review date.
    Ongoing,
}

impl EnrolmentKind {
    /// Its name in the API: `discharge` or `ongoing`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discharge => "discharge",
            Self::Ongoing => "ongoing",
        }
    }
}

impl fmt::Display for EnrolmentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long after enrolment an ongoing enrolment is reviewed, unless the
/// sender sets its review date: a year.
pub const DEFAULT_REVIEW_AFTER: TimeDelta = TimeDelta::days(365);

/// The latest review date accepted: five years after enrolment.
pub const MAX_REVIEW_AFTER: TimeDelta = TimeDelta::days(5 * 365 + 1);

/// A patient enrolled with a service: after a discharge, or ongoing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    /// Its id.
    pub id: EnrolmentId,
    /// The patient.
    pub patient: Contact,
    /// Their carers.
    pub carers: Vec<Carer>,
    /// The service that looks after them.
    pub service: Id,
    /// Discharge or ongoing (enrolments stored before there were kinds
    /// were all discharges).
    #[serde(default)]
    pub kind: EnrolmentKind,
    /// When they were discharged: always for a discharge enrolment; for an
    /// ongoing one, only if the sender gave it.
    pub discharged_at: Option<Instant>,
    /// Short free text the clinician should see (ward, reason for admission).
    pub context: Option<String>,
    /// When the enrolment was made.
    pub enrolled_at: Instant,
    /// When it ends by itself: the end of a discharge's window; `None` for
    /// an ongoing enrolment, which lasts until it is ended.
    pub ends_at: Option<Instant>,
    /// When it was ended early (DELETE), if it was.
    pub ended_at: Option<Instant>,
    /// When an ongoing enrolment is due for review (`None` for a discharge).
    #[serde(default)]
    pub review_at: Option<Instant>,
    /// The patient's named care co-ordinator: the id of a person in the
    /// rota files, their first contact in the co-ordinator's working hours.
    #[serde(default)]
    pub coordinator: Option<Id>,
    /// When Nightingale texts to ask how they are (docs/adr/0017); none for
    /// enrolments stored before check-ins.
    #[serde(default)]
    pub check_ins: crate::directory::check_ins::CheckIns,
    /// The API client whose key made it ([`crate::api_keys`]): whose
    /// `read-own` keys see it and whose `enrol` keys may end it. `None` for
    /// an enrolment made on the staff pages, from an EPR, or before
    /// enrolments recorded their client: only `read-all` keys see those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The language the patient and carers are texted in; English for
    /// enrolments stored before there was a choice.
    #[serde(default)]
    pub language: Language,
    /// Whether the patient is texted themselves: welcomed, checked on and
    /// told about concerns. When not (a child), the first carer is, as
    /// the patient's contact ([`Enrolment::patients_contact`]). Enrolments
    /// stored before this was asked were all texted.
    #[serde(default = "texted", skip_serializing_if = "is_texted")]
    pub patient_takes_texts: bool,
    /// The patient's NHS number, for an enrolment made from the trust's
    /// EPR feed (HL7 `PID-3`, docs/adr/0032); `None` for one made through
    /// the API or the staff pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nhs_number: Option<NhsNumber>,
    /// Why it was ended early, when it was and the reason is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_because: Option<EndReason>,
}

/// Why an enrolment was ended before it ended by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Whoever enrolled the patient ended it (the API's `DELETE`).
    Ended,
    /// The EPR cancelled the discharge (HL7 A13): the patient is still in.
    DischargeCancelled,
    /// The EPR says the patient died. Nobody is texted about it.
    Died,
}

impl EndReason {
    /// Its name in the API: `ended`, `discharge_cancelled` or `died`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ended => "ended",
            Self::DischargeCancelled => "discharge_cancelled",
            Self::Died => "died",
        }
    }
}

/// Patients take texts themselves unless the enrolment says otherwise.
fn texted() -> bool {
    true
}

fn is_texted(takes_texts: &bool) -> bool {
    *takes_texts
}

/// The age under which, when a date of birth is given, a patient's texts
/// go to their carer unless the enrolment says otherwise (`takes_texts`).
pub const TEXTS_THEMSELVES_FROM_AGE: u32 = 16;

impl Enrolment {
    /// Whether messages from its numbers are treated as from this patient at `now`.
    pub fn is_active(&self, now: Instant) -> bool {
        self.ended_at.is_none() && self.ends_at.is_none_or(|end| now < end)
    }

    /// When it stops being active: when it was ended, or when it ends by
    /// itself; `None` for an ongoing enrolment that has not been ended.
    /// Retention counts from here.
    pub fn ended_or_ends_at(&self) -> Option<Instant> {
        self.ended_at.or(self.ends_at)
    }

    /// When care under this enrolment began, for ordering a patient's
    /// enrolments newest first: the discharge if there was one, or else
    /// the enrolment itself.
    pub fn began_at(&self) -> Instant {
        self.discharged_at.unwrap_or(self.enrolled_at)
    }

    /// Every address its people are reached at, as the stores index them
    /// to find an enrolment from a message: each phone (E.164) and each
    /// email's [`EmailAddress::index_key`] (ADR 14).
    pub fn addresses(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, c) in self.people() {
            out.extend(c.phone.as_ref().map(|p| p.as_str().to_owned()));
            out.extend(c.email.as_ref().map(EmailAddress::index_key));
        }
        out.sort();
        out.dedup();
        out
    }

    /// Who is written to about the patient (the welcome, check-ins, what
    /// becomes of a concern), with how the outbox names them: the patient,
    /// or, for a patient who does not take texts (a child), the first
    /// carer, named as their contact.
    pub fn patients_contact(&self) -> Option<(&Contact, String)> {
        if self.patient_takes_texts {
            return Some((&self.patient, "patient".to_owned()));
        }
        let carer = self.carers.first()?;
        let label = carer
            .relationship
            .as_ref()
            .map_or("carer".to_owned(), |r| format!("carer ({r})"));
        Some((&carer.contact, label))
    }

    /// The patient and the carers, each with the path of their fields in
    /// the request (`patient`, `carers[0]`, …).
    pub fn people(&self) -> impl Iterator<Item = (String, &Contact)> {
        std::iter::once(("patient".to_owned(), &self.patient)).chain(
            self.carers
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("carers[{i}]"), &c.contact)),
        )
    }

    /// What whoever sent the enrolment should know about fields that were
    /// accepted: one note for each phone that will not be texted, and one
    /// for each person with no phone (reached by email alone).
    pub fn notes(&self) -> Vec<FieldNote> {
        self.people()
            .filter_map(|(path, c)| {
                let message = match c.phone.as_ref().map(PhoneNumber::kind) {
                    Some(NumberKind::Landline) => "is a landline, so it will not be texted: this person gets no welcome text and no updates by text. It is kept for calls. To reach them by text, send a mobile number instead",
                    None => "is not given, so this person is reached by email alone: where the service sends email they are welcomed and answered by email, and they cannot be rung back. Send their mobile number if they have one",
                    Some(_) => return None,
                };
                Some(FieldNote {
                    field: format!("{path}.phone"),
                    message: message.to_owned(),
                })
            })
            .collect()
    }
}

/// A message about one field of an enrolment: what is wrong with it, or
/// what the sender should know about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldMessage {
    /// The field's path, e.g. `carers[0].phone`.
    pub field: String,
    /// What is wrong and what to send instead, or what will happen.
    pub message: String,
}

/// One field that is wrong, and how (a `422` lists them).
pub type FieldError = FieldMessage;

/// Something to know about a field that was accepted (a `201` lists them).
pub type FieldNote = FieldMessage;
