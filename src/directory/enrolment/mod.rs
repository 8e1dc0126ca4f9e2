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
//! characters ([`clean_line`], [`clean_text`]) before they are checked and
//! stored.

use std::fmt;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Address, EmailAddress, Id, Language, NumberKind, PhoneNumber, clean_line, clean_text};
use crate::clock::Instant;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
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
    pub check_ins: crate::checkins::CheckIns,
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// The body of `POST /api/v1/enrolments`, before it is checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentRequest {
    patient: Option<PersonRequest>,
    #[serde(default)]
    carers: Vec<PersonRequest>,
    service: Option<String>,
    discharged_at: Option<String>,
    context: Option<String>,
    kind: Option<String>,
    review_at: Option<String>,
    coordinator: Option<String>,
    /// Times after discharge (`["24h", "72h"]`, `[]` for none) or a
    /// schedule (`"0 10 * * 2"`); if absent, 24 h and 72 h after a
    /// discharge, or weekly for an ongoing enrolment.
    #[serde(default)]
    check_ins: Option<serde_json::Value>,
    /// `"en"` (the default) or `"cy"`: the language texts to the patient
    /// and carers are written in.
    language: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonRequest {
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    relationship: Option<String>,
    /// The patient's only: whether they are texted themselves.
    takes_texts: Option<bool>,
    /// The patient's only: a date (`2017-03-02`), to decide `takes_texts`
    /// when it is not sent. Not stored.
    date_of_birth: Option<String>,
}

/// The most carers one enrolment may list.
pub const MAX_CARERS: usize = 5;
/// The longest context text accepted (it goes behind the link, not in SMS).
pub const MAX_CONTEXT: usize = 500;

impl EnrolmentRequest {
    /// Check every field; `service` says whether a service id exists. No
    /// co-ordinator is known, so naming one is refused: use
    /// [`EnrolmentRequest::parse_with_coordinators`] to check them against a rota.
    pub fn parse(
        self,
        service: impl Fn(&str) -> Option<Id>,
        now: Instant,
        window: TimeDelta,
    ) -> Result<Enrolment, Vec<FieldError>> {
        self.parse_with_coordinators(
            service,
            |_| Err("no such person in the rota files".to_owned()),
            now,
            window,
        )
    }

    /// Check every field; `service` says whether a service id exists, and
    /// `coordinator` whether a person id may be named as care co-ordinator
    /// (their id, or what is wrong and what to send instead).
    pub fn parse_with_coordinators(
        self,
        service: impl Fn(&str) -> Option<Id>,
        coordinator: impl Fn(&str) -> Result<Id, String>,
        now: Instant,
        window: TimeDelta,
    ) -> Result<Enrolment, Vec<FieldError>> {
        let mut errors = Vec::new();
        let patient_has_relationship = self.patient_has_relationship();
        let takes_texts = self.patient_takes_texts(now, &mut errors);
        let said_takes_texts = self.patient.as_ref().and_then(|p| p.takes_texts);
        let mut err = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.to_owned(),
                message,
            })
        };

        let patient = match self.patient {
            Some(p) => contact(&p, "patient", takes_texts.unwrap_or(true), &mut err),
            None => {
                err(
                    "patient",
                    "required: send {\"name\": …, \"phone\": …}".to_owned(),
                );
                None
            }
        };
        if patient_has_relationship {
            err(
                "patient.relationship",
                "only carers have a relationship: remove it".to_owned(),
            );
        }
        if self.carers.len() > MAX_CARERS {
            err("carers", format!("at most {MAX_CARERS} carers"));
        }
        let mut carers = Vec::new();
        for (i, c) in self.carers.iter().enumerate() {
            let path = format!("carers[{i}]");
            if c.takes_texts.is_some() || c.date_of_birth.is_some() {
                err(
                    &path,
                    "only the patient has takes_texts and date_of_birth: remove them from the carer"
                        .to_owned(),
                );
            }
            let relationship = match c.relationship.as_deref().map(clean_line).as_deref() {
                Some(r) if r.chars().count() > 50 => {
                    err(
                        &format!("{path}.relationship"),
                        "at most 50 characters, like \"daughter\"".to_owned(),
                    );
                    None
                }
                Some("") | None => None,
                Some(r) => Some(r.to_owned()),
            };
            if let Some(contact) = contact(c, &path, true, &mut err) {
                carers.push(Carer {
                    contact,
                    relationship,
                });
            }
        }
        let service = match self.service.as_deref() {
            None | Some("") => {
                err(
                    "service",
                    "required: the id of the service that looks after the patient".to_owned(),
                );
                None
            }
            Some(id) => {
                let found = service(id);
                if found.is_none() {
                    err(
                        "service",
                        "no such service: give the id of a service in the rota files".to_owned(),
                    );
                }
                found
            }
        };
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") | Some("discharge") => Some(EnrolmentKind::Discharge),
            Some("ongoing") => Some(EnrolmentKind::Ongoing),
            Some(_) => {
                err(
                    "kind",
                    format!(
                        "not a kind of enrolment: send \"discharge\" (the default: care for {} days after discharge) or \"ongoing\" (a long-term condition, until the enrolment is ended)",
                        window.num_days()
                    ),
                );
                None
            }
        };
        let ongoing = kind == Some(EnrolmentKind::Ongoing);
        let discharged_at = match self.discharged_at.as_deref() {
            // An ongoing enrolment need not follow a discharge (and with
            // the kind unknown, the kind's error says enough).
            None if kind != Some(EnrolmentKind::Discharge) => None,
            None => {
                err(
                    "discharged_at",
                    "required: an RFC 3339 time, like 2026-11-27T17:30:00Z".to_owned(),
                );
                None
            }
            Some(text) => match chrono::DateTime::parse_from_rfc3339(text) {
                Err(_) => {
                    err(
                        "discharged_at",
                        "is not an RFC 3339 time: send one like 2026-11-27T17:30:00Z".to_owned(),
                    );
                    None
                }
                Ok(t) => {
                    let t = t.with_timezone(&chrono::Utc);
                    if t > now + TimeDelta::days(1) {
                        err(
                            "discharged_at",
                            "is more than a day in the future: send the discharge time".to_owned(),
                        );
                        None
                    } else if !ongoing && t + window <= now {
                        err(
                            "discharged_at",
                            format!(
                                "is more than {} days ago: the enrolment would already have ended",
                                window.num_days()
                            ),
                        );
                        None
                    } else {
                        Some(t)
                    }
                }
            },
        };
        let review_at = match (ongoing, self.review_at.as_deref().map(str::trim)) {
            (_, None | Some("")) => None,
            (false, Some(_)) => {
                err(
                    "review_at",
                    "only an ongoing enrolment has a review date: remove it, or send \"kind\": \"ongoing\"".to_owned(),
                );
                None
            }
            (true, Some(text)) => match review_date(text) {
                None => {
                    err(
                        "review_at",
                        "is not a date: send one like 2027-11-27, or an RFC 3339 time".to_owned(),
                    );
                    None
                }
                Some(t) if t <= now => {
                    err(
                        "review_at",
                        "is in the past: send the date the enrolment is next due for review"
                            .to_owned(),
                    );
                    None
                }
                Some(t) if t > now + MAX_REVIEW_AFTER => {
                    err(
                        "review_at",
                        "is more than five years away: send the date of the next review".to_owned(),
                    );
                    None
                }
                Some(t) => Some(t),
            },
        };
        let coordinator = match self.coordinator.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(id) => match coordinator(id) {
                Ok(id) => Some(id),
                Err(message) => {
                    err("coordinator", message);
                    None
                }
            },
        };
        let context = match self.context.map(|c| clean_text(&c).trim().to_owned()) {
            Some(c) if c.chars().count() > MAX_CONTEXT => {
                err(
                    "context",
                    format!(
                        "at most {MAX_CONTEXT} characters: the ward and reason for admission, not the clinical record"
                    ),
                );
                None
            }
            Some(c) if c.is_empty() => None,
            other => other,
        };
        if let (Some(p), true) = (&patient, !carers.is_empty()) {
            for (i, c) in carers.iter().enumerate() {
                if c.contact.phone.is_some() && c.contact.phone == p.phone {
                    err(
                        &format!("carers[{i}].phone"),
                        "is the patient's own number: give the carer's number".to_owned(),
                    );
                }
            }
        }
        let check_ins = match (&self.check_ins, kind) {
            (Some(value), _) => crate::checkins::CheckIns::parse(value).unwrap_or_else(|e| {
                err("check_ins", e.advice().to_owned());
                crate::checkins::CheckIns::None
            }),
            (None, Some(kind)) => crate::checkins::CheckIns::default_for(kind),
            (None, None) => crate::checkins::CheckIns::None,
        };
        let language = Language::parse(self.language.as_deref().unwrap_or_default())
            .unwrap_or_else(|message| {
                err("language", message);
                Language::En
            });
        if takes_texts == Some(false) && self.carers.is_empty() {
            let (field, why) = match said_takes_texts {
                Some(false) => ("patient.takes_texts", "is false"),
                _ => (
                    "patient.date_of_birth",
                    "makes the patient under 16, so they are not texted themselves",
                ),
            };
            err(
                field,
                format!(
                    "{why}: list the carer who is their contact first in carers, or send \"takes_texts\": true"
                ),
            );
        }
        match (patient, service, kind, errors.is_empty()) {
            (Some(patient), Some(service), Some(kind), true) => {
                let (ends_at, review_at) = match kind {
                    EnrolmentKind::Discharge => (discharged_at.map(|t| t + window), None),
                    EnrolmentKind::Ongoing => {
                        (None, Some(review_at.unwrap_or(now + DEFAULT_REVIEW_AFTER)))
                    }
                };
                Ok(Enrolment {
                    id: EnrolmentId::new(),
                    patient,
                    carers,
                    service,
                    kind,
                    discharged_at,
                    context,
                    enrolled_at: now,
                    ends_at,
                    ended_at: None,
                    review_at,
                    coordinator,
                    check_ins,
                    client: None,
                    language,
                    patient_takes_texts: takes_texts.unwrap_or(true),
                })
            }
            _ => Err(errors),
        }
    }

    /// Whether the request says when to check in (`check_ins`): if not,
    /// a discharge takes its service's check-ins.
    pub fn sets_check_ins(&self) -> bool {
        self.check_ins.is_some()
    }

    /// Whether the patient is texted themselves: as `takes_texts` says, or
    /// else by age when a date of birth is given (under
    /// [`TEXTS_THEMSELVES_FROM_AGE`]: not), or else yes. `None` when what
    /// was sent is wrong (the error is pushed).
    fn patient_takes_texts(&self, now: Instant, errors: &mut Vec<FieldError>) -> Option<bool> {
        let Some(p) = &self.patient else {
            return Some(true);
        };
        let born = match p.date_of_birth.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let today = now.with_timezone(&crate::calendar::LONDON).date_naive();
                match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
                    Ok(day) if day <= today && today.years_since(day).is_some_and(|y| y < 130) => {
                        Some(today.years_since(day).unwrap_or(0))
                    }
                    _ => {
                        errors.push(FieldError {
                            field: "patient.date_of_birth".to_owned(),
                            message: "is not a date of birth: send one like 2017-03-02".to_owned(),
                        });
                        return None;
                    }
                }
            }
        };
        Some(
            p.takes_texts
                .unwrap_or_else(|| born.is_none_or(|age| age >= TEXTS_THEMSELVES_FROM_AGE)),
        )
    }

    fn patient_has_relationship(&self) -> bool {
        self.patient
            .as_ref()
            .is_some_and(|p| p.relationship.is_some())
    }
}

/// A review date as sent: an RFC 3339 time, or a date (`2027-11-27`),
/// taken as the start of that day in UK time.
fn review_date(text: &str) -> Option<Instant> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(crate::calendar::instant_of(
        day.and_time(chrono::NaiveTime::MIN),
    ))
}

/// A patient or carer as sent; `reached` says whether they must have a
/// phone or an email (a patient who is not texted themselves need not).
fn contact(
    p: &PersonRequest,
    path: &str,
    reached: bool,
    err: &mut impl FnMut(&str, String),
) -> Option<Contact> {
    let name = match p.name.as_deref().map(clean_line).as_deref() {
        None => {
            err(
                &format!("{path}.name"),
                "required: the name they use".to_owned(),
            );
            None
        }
        Some("") => {
            let message = if p.name.as_deref().is_some_and(|n| !n.trim().is_empty()) {
                "has no characters that can be shown (only control or direction marks): send the name they use"
            } else {
                "required: the name they use"
            };
            err(&format!("{path}.name"), message.to_owned());
            None
        }
        Some(n) if n.chars().count() > 100 => {
            err(&format!("{path}.name"), "at most 100 characters".to_owned());
            None
        }
        Some(n) => Some(n.to_owned()),
    };
    // Someone with no phone is reached by email (ADR 15): one of the two.
    let no_email = p.email.as_deref().is_none_or(|e| e.trim().is_empty());
    let phone = match p.phone.as_deref() {
        None | Some("") if no_email && reached => {
            err(
                &format!("{path}.phone"),
                "required: a mobile number, like 07911 123456 (or, for someone with no phone, an email)".to_owned(),
            );
            None
        }
        None | Some("") => Some(None),
        Some(text) => PhoneNumber::parse(text)
            .map_err(|e| e.advice())
            .and_then(|n| match n.kind() {
                NumberKind::NonPersonal { what } => Err(format!(
                    "this number is {what}, not a person's own phone: give their mobile number, like 07911 123456, or a landline they answer"
                )),
                _ => Ok(Some(n)),
            })
            .map_err(|message| err(&format!("{path}.phone"), message))
            .ok(),
    };
    let email = match p.email.as_deref() {
        None | Some("") => Some(None),
        Some(text) => EmailAddress::parse(text)
            .map(Some)
            .map_err(|e| err(&format!("{path}.email"), e.advice()))
            .ok(),
    };
    Some(Contact {
        name: name?,
        phone: phone?,
        email: email?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Instant {
        "2026-11-27T18:00:00Z".parse().unwrap()
    }

    fn parse(json: &str) -> Result<Enrolment, Vec<FieldError>> {
        let request: EnrolmentRequest = serde_json::from_str(json).unwrap();
        request.parse(
            |id| (id == "cardiology-ward-7").then(|| Id::parse(id).unwrap()),
            now(),
            TimeDelta::days(30),
        )
    }

    #[test]
    fn an_enrolment_is_in_english_unless_it_asks_for_welsh() {
        let base = r#""patient": {"name": "Megan Pritchard", "phone": "07700 900123"},
                "service": "cardiology-ward-7", "discharged_at": "2026-11-27T17:30:00Z""#;
        let english = parse(&format!("{{{base}}}")).unwrap();
        assert_eq!(english.language, Language::En);
        let welsh = parse(&format!(r#"{{{base}, "language": "cy"}}"#)).unwrap();
        assert_eq!(welsh.language, Language::Cy);
        let errors = parse(&format!(r#"{{{base}, "language": "Cymraeg"}}"#)).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "language");
        assert!(errors[0].message.contains("\"cy\" (Welsh)"), "{errors:?}");
    }

    #[test]
    fn a_discharge_with_a_carer_is_enrolled_for_thirty_days() {
        let e = parse(
            r#"{"patient": {"name": "Margaret Evans", "phone": "07700 900123"},
                "carers": [{"name": "Sian Evans", "phone": "07700 900124", "relationship": "daughter"}],
                "service": "cardiology-ward-7", "discharged_at": "2026-11-27T17:30:00Z",
                "context": "Ward 7, admitted with heart failure"}"#,
        )
        .unwrap();
        assert_eq!(e.patient.phone.as_ref().unwrap().as_str(), "+447700900123");
        assert_eq!(e.carers[0].relationship.as_deref(), Some("daughter"));
        assert_eq!(e.kind, EnrolmentKind::Discharge);
        assert_eq!(
            e.ends_at,
            Some("2026-12-27T17:30:00Z".parse::<Instant>().unwrap())
        );
        assert_eq!(e.review_at, None);
        assert!(e.is_active(now()));
        assert_eq!(e.patient.first_name(), "Margaret");
    }

    #[test]
    fn every_wrong_field_is_named() {
        let errors = parse(
            r#"{"patient": {"name": "", "phone": "0791"}, "carers": [{"name": "Sian", "phone": "07700 900124", "email": "sian"}],
                "service": "cardiology", "discharged_at": "yesterday"}"#,
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "patient.name",
                "patient.phone",
                "carers[0].email",
                "service",
                "discharged_at"
            ]
        );
        assert!(errors[1].message.contains("too short"), "{errors:?}");
    }

    #[test]
    fn missing_fields_say_what_to_send() {
        let errors = parse("{}").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["patient", "service", "discharged_at"]);
    }

    #[test]
    fn names_and_context_are_cleaned_before_they_are_kept() {
        // JSON escapes: a NUL, a right-to-left override, CRLF, a bell, a left-to-right isolate.
        let e = parse(
            r#"{"patient": {"name": "  Margaret\u0000 \u202eEvans\u202c ", "phone": "07700 900123"},
                "carers": [{"name": "Siân\r\nEvans", "phone": "07700 900124", "relationship": "daugh\u0007ter"}],
                "service": "cardiology-ward-7", "discharged_at": "2026-11-27T17:30:00Z",
                "context": "Ward 7\r\nheart failure\u0000\u2066"}"#,
        )
        .unwrap();
        assert_eq!(e.patient.name, "Margaret Evans");
        assert_eq!(e.carers[0].contact.name, "Siân Evans");
        assert_eq!(e.carers[0].relationship.as_deref(), Some("daughter"));
        assert_eq!(e.context.as_deref(), Some("Ward 7\nheart failure"));
    }

    #[test]
    fn a_name_of_nothing_but_control_characters_is_refused() {
        let errors = parse(
            r#"{"patient": {"name": "\u0000\u202e", "phone": "07700 900123"}, "service": "cardiology-ward-7", "discharged_at": "2026-11-27T17:30:00Z"}"#,
        )
        .unwrap_err();
        assert_eq!(errors[0].field, "patient.name");
        assert!(
            errors[0]
                .message
                .contains("no characters that can be shown"),
            "{errors:?}"
        );
    }

    fn enrol_with_phones(patient: &str, carer: &str) -> Result<Enrolment, Vec<FieldError>> {
        parse(&format!(
            r#"{{"patient": {{"name": "Margaret Evans", "phone": "{patient}"}},
                "carers": [{{"name": "Sian Evans", "phone": "{carer}"}}],
                "service": "cardiology-ward-7", "discharged_at": "2026-11-27T17:30:00Z"}}"#
        ))
    }

    #[test]
    fn numbers_that_are_not_a_persons_own_phone_are_refused_by_name() {
        for (number, words) in [
            ("0909 879 0000", "premium-rate"),
            ("0871 234 5678", "revenue-sharing"),
            ("0844 234 5678", "revenue-sharing"),
            ("0800 123 4567", "freephone"),
            ("0808 123 4567", "freephone"),
            ("070 1234 5678", "forwards calls"),
            ("076 2345 6789", "pager"),
            ("0300 123 4567", "organisations"),
        ] {
            let errors = enrol_with_phones("07700 900123", number).unwrap_err();
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].field, "carers[0].phone");
            assert!(errors[0].message.contains(words), "{number}: {errors:?}");
            assert!(
                errors[0].message.contains("not a person's own phone"),
                "{errors:?}"
            );
        }
        let errors = enrol_with_phones("0909 879 0000", "07700 900124").unwrap_err();
        assert_eq!(errors[0].field, "patient.phone");
    }

    #[test]
    fn a_landline_is_enrolled_with_a_note_that_it_is_not_texted() {
        let e = enrol_with_phones("07700 900123", "020 7946 0018").unwrap();
        let notes = e.notes();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert_eq!(notes[0].field, "carers[0].phone");
        assert!(
            notes[0].message.contains("landline") && notes[0].message.contains("not be texted"),
            "{notes:?}"
        );
        assert!(
            enrol_with_phones("07700 900123", "07700 900124")
                .unwrap()
                .notes()
                .is_empty()
        );
    }

    fn parse_with_matron(json: &str) -> Result<Enrolment, Vec<FieldError>> {
        let request: EnrolmentRequest = serde_json::from_str(json).unwrap();
        request.parse_with_coordinators(
            |id| (id == "heart-failure-team").then(|| Id::parse(id).unwrap()),
            |id| match id {
                "carol-matron" => Ok(Id::parse(id).unwrap()),
                _ => Err(format!("no person {id:?} in the rota files")),
            },
            now(),
            TimeDelta::days(30),
        )
    }

    #[test]
    fn an_ongoing_enrolment_lasts_until_ended_and_is_reviewed_in_a_year() {
        let e = parse_with_matron(
            r#"{"kind": "ongoing", "patient": {"name": "Arthur Price", "phone": "07700 900141"},
                "service": "heart-failure-team", "coordinator": "carol-matron",
                "context": "Heart failure; furosemide 40 mg"}"#,
        )
        .unwrap();
        assert_eq!(e.kind, EnrolmentKind::Ongoing);
        assert_eq!(e.ends_at, None);
        assert_eq!(e.discharged_at, None);
        assert_eq!(e.review_at, Some(now() + TimeDelta::days(365)));
        assert_eq!(e.coordinator.as_ref().map(Id::as_str), Some("carol-matron"));
        assert!(e.is_active(now() + TimeDelta::days(10 * 365)));
        let mut ended = e.clone();
        ended.ended_at = Some(now() + TimeDelta::days(400));
        assert!(!ended.is_active(now() + TimeDelta::days(400)));
        assert_eq!(ended.ended_or_ends_at(), ended.ended_at);
    }

    #[test]
    fn an_ongoing_enrolment_takes_a_review_date_and_an_old_discharge() {
        let e = parse_with_matron(
            r#"{"kind": "ongoing", "patient": {"name": "Arthur Price", "phone": "07700 900141"},
                "service": "heart-failure-team", "discharged_at": "2026-06-01T12:00:00Z",
                "review_at": "2027-03-01"}"#,
        )
        .unwrap();
        // Midnight in the UK on 1 March is midnight UTC (winter time).
        assert_eq!(e.review_at, Some("2027-03-01T00:00:00Z".parse().unwrap()));
        assert_eq!(
            e.discharged_at,
            Some("2026-06-01T12:00:00Z".parse().unwrap()),
            "a discharge months ago is no bar to ongoing care"
        );
        assert_eq!(e.began_at(), e.discharged_at.unwrap());
    }

    #[test]
    fn kind_review_date_and_coordinator_are_checked_by_field() {
        let errors = parse_with_matron(
            r#"{"kind": "forever", "patient": {"name": "Arthur Price", "phone": "07700 900141"},
                "service": "heart-failure-team", "coordinator": "carol-matorn"}"#,
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["kind", "coordinator"], "{errors:?}");
        assert!(errors[0].message.contains("\"ongoing\""), "{errors:?}");
        assert!(errors[1].message.contains("carol-matorn"), "{errors:?}");

        let errors = parse_with_matron(
            r#"{"patient": {"name": "Arthur Price", "phone": "07700 900141"},
                "service": "heart-failure-team", "discharged_at": "2026-11-27T17:30:00Z",
                "review_at": "2027-11-27"}"#,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "review_at");
        assert!(errors[0].message.contains("only an ongoing enrolment"));

        for (review, words) in [
            ("2026-01-01", "in the past"),
            ("2035-01-01", "five years"),
            ("next spring", "not a date"),
        ] {
            let errors = parse_with_matron(&format!(
                r#"{{"kind": "ongoing", "patient": {{"name": "Arthur Price", "phone": "07700 900141"}},
                    "service": "heart-failure-team", "review_at": "{review}"}}"#
            ))
            .unwrap_err();
            assert_eq!(errors[0].field, "review_at");
            assert!(errors[0].message.contains(words), "{review}: {errors:?}");
        }
    }

    #[test]
    fn a_discharge_may_name_a_coordinator_and_still_needs_its_discharge_time() {
        let e = parse_with_matron(
            r#"{"patient": {"name": "Arthur Price", "phone": "07700 900141"},
                "service": "heart-failure-team", "discharged_at": "2026-11-27T17:30:00Z",
                "coordinator": "carol-matron"}"#,
        )
        .unwrap();
        assert_eq!(e.kind, EnrolmentKind::Discharge);
        assert_eq!(e.coordinator.as_ref().map(Id::as_str), Some("carol-matron"));
        let errors = parse_with_matron(
            r#"{"kind": "discharge", "patient": {"name": "Arthur Price", "phone": "07700 900141"},
                "service": "heart-failure-team"}"#,
        )
        .unwrap_err();
        assert_eq!(errors[0].field, "discharged_at");
    }

    #[test]
    fn an_enrolment_stored_before_kinds_reads_as_a_discharge() {
        let old = r#"{"id": "6f1d2c1e-0000-4000-8000-000000000001",
            "patient": {"name": "Margaret Evans", "phone": "+447700900123", "email": null},
            "carers": [], "service": "cardiology-ward-7",
            "discharged_at": "2026-11-27T17:30:00Z", "context": null,
            "enrolled_at": "2026-11-27T18:00:00Z", "ends_at": "2026-12-27T17:30:00Z",
            "ended_at": null}"#;
        let e: Enrolment = serde_json::from_str(old).unwrap();
        assert_eq!(e.kind, EnrolmentKind::Discharge);
        assert_eq!(e.review_at, None);
        assert_eq!(e.coordinator, None);
        assert!(e.is_active(now()));
    }

    #[test]
    fn debug_output_keeps_the_name_out() {
        let e = parse(r#"{"patient": {"name": "Margaret Evans", "phone": "07700 900123"}, "service": "cardiology-ward-7", "discharged_at": "2026-11-27T17:30:00Z"}"#).unwrap();
        assert!(!format!("{e:?}").contains("Margaret"));
    }
}

#[cfg(test)]
mod who_takes_the_texts {
    use super::*;

    fn now() -> Instant {
        "2026-11-24T11:00:00Z".parse().unwrap()
    }

    fn parse(patient: &str, carers: &str) -> Result<Enrolment, Vec<FieldError>> {
        let json = format!(
            r#"{{"patient": {patient}, "carers": {carers}, "service": "childrens-assessment-unit",
                "discharged_at": "2026-11-24T10:00:00Z"}}"#
        );
        let request: EnrolmentRequest = serde_json::from_str(&json).unwrap();
        request.parse(|id| Id::parse(id).ok(), now(), TimeDelta::days(30))
    }

    const JESS: &str =
        r#"[{"name": "Jess Morgan", "phone": "07700 900822", "relationship": "mother"}]"#;

    #[test]
    fn a_child_of_nine_is_written_to_through_his_mother() {
        let leo = parse(
            r#"{"name": "Leo Morgan", "phone": "07700 900821", "date_of_birth": "2017-03-02"}"#,
            JESS,
        )
        .unwrap();
        assert!(!leo.patient_takes_texts);
        let (contact, label) = leo.patients_contact().unwrap();
        assert_eq!(contact.name, "Jess Morgan");
        assert_eq!(label, "carer (mother)");
    }

    #[test]
    fn sixteen_today_takes_his_own_texts_and_what_is_said_outright_wins_over_age() {
        let owen = parse(
            r#"{"name": "Owen Price", "phone": "07700 900823", "date_of_birth": "2010-11-24"}"#,
            JESS,
        )
        .unwrap();
        assert!(owen.patient_takes_texts);
        let fifteen = parse(
            r#"{"name": "Owen Price", "phone": "07700 900823", "date_of_birth": "2010-11-25"}"#,
            JESS,
        )
        .unwrap();
        assert!(!fifteen.patient_takes_texts);
        let said = parse(
            r#"{"name": "Owen Price", "phone": "07700 900823", "date_of_birth": "2012-01-01", "takes_texts": true}"#,
            JESS,
        )
        .unwrap();
        assert!(said.patient_takes_texts);
        let no_dob = parse(
            r#"{"name": "Margaret Evans", "phone": "07700 900801"}"#,
            "[]",
        )
        .unwrap();
        assert!(no_dob.patient_takes_texts);
    }

    #[test]
    fn a_patient_not_texted_needs_no_phone_but_needs_a_carer_and_a_real_date() {
        let arthur = parse(r#"{"name": "Arthur Davies", "takes_texts": false}"#, JESS).unwrap();
        assert_eq!(arthur.patient.address(), None);
        let alone = parse(r#"{"name": "Arthur Davies", "takes_texts": false}"#, "[]").unwrap_err();
        assert_eq!(alone[0].field, "patient.takes_texts");
        assert!(
            alone[0].message.starts_with("is false: list the carer"),
            "{alone:?}"
        );
        let bad = parse(
            r#"{"name": "Leo Morgan", "phone": "07700 900821", "date_of_birth": "2 March 2017"}"#,
            JESS,
        )
        .unwrap_err();
        assert_eq!(bad[0].field, "patient.date_of_birth");
        let unborn = parse(
            r#"{"name": "Leo Morgan", "phone": "07700 900821", "date_of_birth": "2027-01-01"}"#,
            JESS,
        )
        .unwrap_err();
        assert_eq!(unborn[0].field, "patient.date_of_birth");
        let carer = parse(
            r#"{"name": "Leo Morgan", "phone": "07700 900821"}"#,
            r#"[{"name": "Jess Morgan", "phone": "07700 900822", "takes_texts": true}]"#,
        )
        .unwrap_err();
        assert_eq!(carer[0].field, "carers[0]");
    }

    #[test]
    fn an_enrolment_stored_before_this_was_asked_is_texted_and_one_texted_is_stored_as_before() {
        let leo = parse(
            r#"{"name": "Leo Morgan", "phone": "07700 900821", "date_of_birth": "2017-03-02"}"#,
            JESS,
        )
        .unwrap();
        let mut stored = serde_json::to_value(&leo).unwrap();
        assert_eq!(stored["patient_takes_texts"], false);
        stored
            .as_object_mut()
            .unwrap()
            .remove("patient_takes_texts");
        let before: Enrolment = serde_json::from_value(stored).unwrap();
        assert!(before.patient_takes_texts);
        let as_before = serde_json::to_value(&before).unwrap();
        assert!(as_before.get("patient_takes_texts").is_none());
        assert!(
            as_before.get("date_of_birth").is_none(),
            "a date of birth is not stored"
        );
    }
}
