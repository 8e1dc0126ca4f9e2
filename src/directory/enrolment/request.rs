//! [`EnrolmentRequest`]: the body of `POST /api/v1/enrolments` as sent, and
//! its parsing into an [`Enrolment`] or every field error, each naming the
//! field and what to send instead.

use std::fmt;

use chrono::TimeDelta;
use serde::Deserialize;

use super::{
    Carer, Contact, DEFAULT_REVIEW_AFTER, Enrolment, EnrolmentId, EnrolmentKind, FieldError,
    MAX_REVIEW_AFTER, TEXTS_THEMSELVES_FROM_AGE,
};
use crate::clock::Instant;
use crate::directory::{
    EmailAddress, Id, Language, NumberKind, PhoneNumber, clean_line, clean_text,
};

/// The body of `POST /api/v1/enrolments`, before it is checked.
///
/// Every field is read as sent and checked together: a `422` lists each
/// field that is wrong and what to send instead. The schema (in the API's
/// OpenAPI document) is derived from this type.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "patient": { "name": "Margaret Evans", "phone": "07700 900123" },
    "carers": [{ "name": "Sian Evans", "phone": "07700 900456", "relationship": "daughter" }],
    "service": "cardiology-ward-7",
    "discharged_at": "2026-11-27T17:30:00Z",
    "context": "Ward 7, admitted with chest pain; new medicines started"
}))]
pub struct EnrolmentRequest {
    /// The patient: required.
    #[schema(required = true)]
    patient: Option<PersonRequest>,
    /// Carers to be told too, at most five, each with a phone or an email.
    #[serde(default)]
    carers: Vec<PersonRequest>,
    /// The id of the service that looks after the patient, as in the rota
    /// files (`[services.ID]`): required.
    #[schema(required = true, value_type = Id)]
    service: Option<String>,
    /// When the patient was discharged, RFC 3339 (`2026-11-27T17:30:00Z`):
    /// required for a discharge, not more than a day ahead nor older than
    /// the enrolment window.
    #[schema(format = DateTime, example = "2026-11-27T17:30:00Z")]
    discharged_at: Option<String>,
    /// The ward and reason for admission, at most 500 characters: shown
    /// behind the page's link, never in a text.
    context: Option<String>,
    /// `discharge` (the default: care for the window after discharge) or
    /// `ongoing` (a long-term condition, until the enrolment is ended).
    #[schema(example = "discharge")]
    kind: Option<String>,
    /// An ongoing enrolment's next review, a date (`2027-11-27`) or an RFC
    /// 3339 time, within five years; a year from now if not sent.
    #[schema(example = "2027-11-27")]
    review_at: Option<String>,
    /// The patient's named care co-ordinator: the id of a person in the
    /// rota files with working hours of their own, who is contacted first
    /// in those hours.
    coordinator: Option<String>,
    /// Times after discharge (`["24h", "72h"]`, `[]` for none) or a
    /// schedule (`"0 10 * * 2"`); if absent, 24 h and 72 h after a
    /// discharge, or weekly for an ongoing enrolment.
    #[serde(default)]
    #[schema(schema_with = check_ins_schema)]
    check_ins: Option<serde_json::Value>,
    /// `"en"` (the default) or `"cy"`: the language texts to the patient
    /// and carers are written in.
    #[schema(example = "en")]
    language: Option<String>,
}

/// `check_ins`: a list of times after discharge, or a cron schedule.
fn check_ins_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
    let one_of = OneOfBuilder::new()
        .item(
            ArrayBuilder::new()
                .items(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .examples(["24h"]),
                )
                .description(Some(
                    "times after discharge, such as [\"24h\", \"72h\"]; [] for none",
                )),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(
                    "a schedule in cron's five fields, London time, such as \"0 10 * * 2\"",
                ))
                .examples(["0 10 * * 2"]),
        )
        .build();
    Schema::OneOf(one_of)
}

/// The patient or a carer, as sent.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PersonRequest {
    /// Their name as they give it.
    #[schema(example = "Margaret Evans")]
    name: Option<String>,
    /// A UK number (`07700 900123`, `+44 7700 900123`); a mobile is texted,
    /// a landline kept for calls. A phone or an email is required.
    #[schema(example = "07700 900123")]
    phone: Option<String>,
    /// An email address, for a person reached by email.
    #[schema(format = Email)]
    email: Option<String>,
    /// A carer's only: who they are to the patient (`daughter`), at most
    /// 50 characters.
    relationship: Option<String>,
    /// The patient's only: whether they are texted themselves.
    takes_texts: Option<bool>,
    /// The patient's only: a date (`2017-03-02`), to decide `takes_texts`
    /// when it is not sent. Not stored.
    #[schema(format = Date, example = "1948-03-02")]
    date_of_birth: Option<String>,
}

/// The most carers one enrolment may list.
pub const MAX_CARERS: usize = 5;
/// The longest context text accepted (it goes behind the link, not in SMS).
pub const MAX_CONTEXT: usize = 500;

/// Why an id cannot be named as a care co-ordinator. It says what to send
/// instead and who can be named, never what was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoordinatorError {
    /// There is no rota to check against ([`EnrolmentRequest::parse`]).
    #[error("no such person in the rota files")]
    NoRota,
    /// Nobody in the rota files has this id.
    #[error(
        "no such person in the rota files: send the id of a care co-ordinator, as in [people.ID] in rota/people.toml; {}",
        Coordinators(.coordinators)
    )]
    NoSuchPerson {
        /// The people who can be named.
        coordinators: Vec<Id>,
    },
    /// The person has no working hours of their own.
    #[error(
        "this person is in the rota files but has no working hours of their own, so cannot be a care co-ordinator: {}",
        Coordinators(.coordinators)
    )]
    NoWorkingHours {
        /// The people who can be named.
        coordinators: Vec<Id>,
    },
}

/// The people who can be named as care co-ordinator, as an error lists them.
struct Coordinators<'a>(&'a [Id]);

impl fmt::Display for Coordinators<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str(
                "no person in the rota files has working hours yet: a rota manager adds hours = { weekdays = \"09:00-17:00\" } to the co-ordinator's [people.ID]",
            );
        }
        let ids: Vec<&str> = self.0.iter().map(Id::as_str).collect();
        write!(f, "the people who can be are {}", ids.join(", "))
    }
}

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
        self.parse_with_coordinators(service, |_| Err(CoordinatorError::NoRota), now, window)
    }

    /// Check every field; `service` says whether a service id exists, and
    /// `coordinator` whether a person id may be named as care co-ordinator
    /// (their id, or what is wrong and what to send instead, such as a
    /// [`CoordinatorError`]).
    pub fn parse_with_coordinators<E: fmt::Display>(
        self,
        service: impl Fn(&str) -> Option<Id>,
        coordinator: impl Fn(&str) -> Result<Id, E>,
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
                Err(e) => {
                    err("coordinator", e.to_string());
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
            (Some(value), _) => {
                crate::directory::check_ins::CheckIns::parse(value).unwrap_or_else(|e| {
                    err("check_ins", e.advice().to_owned());
                    crate::directory::check_ins::CheckIns::None
                })
            }
            (None, Some(kind)) => crate::directory::check_ins::CheckIns::default_for(kind),
            (None, None) => crate::directory::check_ins::CheckIns::None,
        };
        let language = Language::parse(self.language.as_deref().unwrap_or_default())
            .unwrap_or_else(|e| {
                err("language", e.to_string());
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
                    nhs_number: None,
                    ended_because: None,
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
