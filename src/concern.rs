//! A concern: what a patient, carer or unknown sender raised, who it
//! reached, and its timeline of events.
//!
//! The escalation state lives in [`crate::escalation`]; this module holds the
//! record around it and the words of the timeline, and says what of them is
//! personal data, removed after the retention period ([`Concern::redacted`],
//! [`TimelineEvent::redacted`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::Instant;
use crate::directory::{Address, Id};
use crate::escalation::{Escalation, Status};

/// How a message left: what "What happened" and the logs call it
/// ("Text to", "Call to", "Email to").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    /// A text message (and what was stored before the medium was: texts).
    #[default]
    Text,
    /// A phone call (a call page).
    Call,
    /// An email.
    Email,
}

impl Medium {
    /// The medium of a message with this purpose to this address.
    pub fn of(to: &Address, call: bool) -> Self {
        match to {
            Address::Email(_) => Medium::Email,
            Address::Phone(_) if call => Medium::Call,
            Address::Phone(_) => Medium::Text,
        }
    }

    /// Whether it is a text (the default, left out when stored).
    pub fn is_text(&self) -> bool {
        *self == Medium::Text
    }

    /// As a log line starts: "Text", "Call", "Email".
    pub fn label(self) -> &'static str {
        match self {
            Medium::Text => "Text",
            Medium::Call => "Call",
            Medium::Email => "Email",
        }
    }
}

/// A concern's id: random, so it cannot be guessed from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConcernId(pub Uuid);

impl ConcernId {
    /// A fresh id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for ConcernId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ConcernId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for ConcernId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// The `from` of a voicemail's transcription on a concern's timeline:
/// the caller (`label`), and that these are a voicemail's words.
pub fn transcription_from(label: &str) -> String {
    format!("{label}{TRANSCRIBED}")
}

/// Whether a received message's `from` names a voicemail's
/// transcription ([`transcription_from`]).
pub fn is_transcription(from: &str) -> bool {
    from.ends_with(TRANSCRIBED)
}

const TRANSCRIBED: &str = ", voicemail transcribed";

/// Who raised a concern: its rules (who a number is) live in the directory.
pub use crate::directory::Party;

/// A concern as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concern {
    /// Its id.
    pub id: ConcernId,
    /// The enrolment whose patient it is about, if the sender was known.
    pub enrolment: Option<crate::directory::EnrolmentId>,
    /// The service it is routed to; `None` for an unknown sender (the trust-wide fallback rota).
    pub service: Option<Id>,
    /// The number that opened it (or, for a patient or carer enrolled
    /// with an email and no mobile, their address); later messages from
    /// it join it.
    pub sender: Address,
    /// Who that is.
    pub party: Party,
    /// When it was opened.
    pub opened_at: Instant,
    /// The first message, as sent.
    pub text: String,
    /// Where it stands.
    pub escalation: Escalation,
    /// The sender has been told pictures cannot be seen (once a concern).
    #[serde(default)]
    pub pictures_explained: bool,
    /// The phone calls that opened or joined it, with what became of each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallRecord>,
    /// How its sender was recognised when it was opened; `None` for a
    /// concern stored before this was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recognised: Option<Recognised>,
    /// Which write of it this is: set by the store on every read, and named
    /// by a change that writes it, which the store refuses if someone wrote
    /// it since (see [`crate::store::Change::concern`]). 0 for a concern not
    /// yet stored.
    #[serde(default)]
    pub version: u64,
}

/// How the sender of a concern was recognised (docs/adr/0022): the concern
/// pages say it, and a stranger's email is kept for the in-hours team
/// instead of paging anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recognised {
    /// A text or call from a number on their enrolment.
    EnrolledPhone,
    /// An email from an enrolled address that the trust's relay found
    /// passed DMARC.
    EmailDmarcAtRelay,
    /// An email from an enrolled address whose envelope sender is at the
    /// same domain (no relay named).
    EmailEnvelopeMatches,
    /// A text or call from a number nobody enrolled: paged to the trust's
    /// fallback.
    UnknownNumber,
    /// An email from an address nobody enrolled, or not proved to be
    /// from the address it names: answered by email, paging nobody, and
    /// listed for the in-hours team.
    UnknownEmail,
}

impl Recognised {
    /// A text or call from a number: on an enrolment, or not.
    pub fn by_phone(enrolled: bool) -> Self {
        if enrolled {
            Recognised::EnrolledPhone
        } else {
            Recognised::UnknownNumber
        }
    }

    /// Whether this concern pages nobody: a stranger's email.
    pub fn pages_nobody(self) -> bool {
        self == Recognised::UnknownEmail
    }
}

/// A phone call that opened or joined a concern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Twilio's `CallSid`.
    pub sid: String,
    /// When what became of it was known.
    pub at: Instant,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: CallOutcome,
}

/// What became of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CallOutcome {
    /// A clinician took it live.
    Live {
        /// Who.
        staff: Id,
    },
    /// The caller left a message. The recording is patient data held at
    /// Twilio: retention deletes it there.
    Voicemail {
        /// Twilio's `RecordingSid`.
        recording_sid: String,
        /// Where Twilio keeps it (fetched with the account's auth).
        recording_url: String,
        /// Its deletion at the provider was queued (retention).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        deleting: bool,
    },
    /// It reached nobody and left no message: someone must call back.
    CallBack,
}

impl CallOutcome {
    /// `live`, `voicemail` or `call_back`, as pages and the API name it.
    pub fn as_str(&self) -> &'static str {
        match self {
            CallOutcome::Live { .. } => "live",
            CallOutcome::Voicemail { .. } => "voicemail",
            CallOutcome::CallBack => "call_back",
        }
    }
}

impl Concern {
    /// How the concern was raised by phone, if it was: what became of
    /// the call that opened it (`live`, `voicemail`, `call_back`).
    pub fn opened_by_call(&self) -> Option<&'static str> {
        self.calls.first().map(|c| c.outcome.as_str())
    }

    /// Recordings of messages still held at the provider, not yet queued for deletion.
    pub fn recordings_held(&self) -> Vec<&str> {
        self.calls
            .iter()
            .filter_map(|c| match &c.outcome {
                CallOutcome::Voicemail {
                    recording_sid,
                    deleting: false,
                    ..
                } => Some(recording_sid.as_str()),
                _ => None,
            })
            .collect()
    }

    /// What became of the call `sid`, if it is one of this concern's.
    pub fn call(&self, sid: &str) -> Option<&CallRecord> {
        self.calls.iter().find(|c| c.sid == sid)
    }

    /// This concern with what people wrote replaced by `placeholder`, for
    /// when its retention period is over: the sender's first message, the
    /// note it was closed with, and a carer's name. Who it was from (the
    /// number, the party, a carer's relationship), the escalation (who was
    /// paged, who accepted, when) and the version stay.
    pub fn redacted(&self, placeholder: &str) -> Concern {
        let mut c = self.clone();
        c.text = placeholder.to_owned();
        if let Party::Carer { name, .. } = &mut c.party {
            *name = placeholder.to_owned();
        }
        if let Status::Resolved {
            note: Some(note), ..
        } = &mut c.escalation.status
        {
            *note = placeholder.to_owned();
        }
        c
    }
}

/// One entry in a concern's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When.
    pub at: Instant,
    /// What.
    #[serde(flatten)]
    pub event: TimelineEvent,
}

impl TimelineEntry {
    /// This entry with what people wrote replaced (see [`TimelineEvent::redacted`]).
    pub fn redacted(&self, placeholder: &str) -> TimelineEntry {
        TimelineEntry {
            at: self.at,
            event: self.event.redacted(placeholder),
        }
    }
}

/// What happened to a concern. Stored as JSON; the API shows it as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TimelineEvent {
    /// A message from the patient, a carer or an unknown sender.
    Received { from: String, text: String },
    /// A red-flag phrase was found: urgent, 999 advice sent.
    RedFlag { phrase: String },
    /// Someone was paged.
    Paged {
        staff: Id,
        name: String,
        level: String,
        code: u16,
    },
    /// The provider accepted an SMS (the entry's time is when it did).
    Sent {
        to: String,
        /// Text, call or email: what the log calls it.
        #[serde(default, skip_serializing_if = "Medium::is_text")]
        medium: Medium,
        purpose: String,
        provider_id: String,
        /// When it was queued, if it waited (a retry, or a text before it to the same number).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queued_at: Option<Instant>,
        /// Attempts it took, when more than one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempts: Option<u32>,
    },
    /// An SMS was not sent because it was no longer wanted.
    Dropped {
        to: String,
        /// Text, call or email: what the log calls it.
        #[serde(default, skip_serializing_if = "Medium::is_text")]
        medium: Medium,
        purpose: String,
        reason: String,
    },
    /// A send attempt failed.
    SendFailed {
        to: String,
        /// Text, call or email: what the log calls it.
        #[serde(default, skip_serializing_if = "Medium::is_text")]
        medium: Medium,
        purpose: String,
        reason: String,
        will_retry: bool,
    },
    /// The provider reported a delivery status.
    Delivery {
        to: String,
        /// Text, call or email: what the log calls it.
        #[serde(default, skip_serializing_if = "Medium::is_text")]
        medium: Medium,
        purpose: String,
        status: String,
        error_code: Option<u32>,
    },
    /// Escalated to the next step.
    Escalated { to: String, reason: String },
    /// Someone passed it on.
    Passed { staff: Id, name: String },
    /// Someone accepted it.
    Accepted { staff: Id, name: String },
    /// It was resolved.
    Resolved {
        staff: Option<Id>,
        name: Option<String>,
        note: Option<String>,
    },
    /// The sender was told to call NHS 111 (999 in an emergency) while paging goes on.
    Advised111,
    /// A handover brought a new person onto the current step.
    Handover { staff: Id, name: String },
    /// The person who accepted was reminded.
    Reminded { staff: Id, name: String },
    /// Messages were sent on to whoever has the concern (or is paged for it).
    Forwarded {
        staff: Id,
        name: String,
        /// How many of the sender's messages the forward carried.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        messages: Option<u32>,
    },
    /// The sender opted out of (or back into) texts.
    OptOut { opted_out: bool },
    /// Something that could not be done, and why (shown to staff, not the patient).
    Note { text: String },
    /// What became of a phone call from the sender.
    Call {
        call: String,
        outcome: String,
        /// Who took it live.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        /// When it came in, for a call taken live: its time to accept runs
        /// from then, not from when it was taken.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        came_in: Option<Instant>,
        /// The level of the chain whoever took it live was rung at (1 is
        /// the first): the call reached that level, and those before it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        level: Option<u32>,
    },
}

impl TimelineEvent {
    /// This event with what people wrote replaced by `placeholder`: the
    /// words of a message received, and the note a concern was resolved
    /// with. Everything else is who did what and when (staff names and ids,
    /// labels such as "patient", provider ids and statuses, the red-flag
    /// phrase from the trust's list, notes Nightingale wrote for staff) and
    /// stays. Every kind of event is named here, so a new one must be decided.
    pub fn redacted(&self, placeholder: &str) -> TimelineEvent {
        match self {
            TimelineEvent::Received { from, .. } => TimelineEvent::Received {
                from: from.clone(),
                text: placeholder.to_owned(),
            },
            TimelineEvent::Resolved { staff, name, note } => TimelineEvent::Resolved {
                staff: staff.clone(),
                name: name.clone(),
                note: note.as_ref().map(|_| placeholder.to_owned()),
            },
            TimelineEvent::RedFlag { .. }
            | TimelineEvent::Paged { .. }
            | TimelineEvent::Sent { .. }
            | TimelineEvent::Dropped { .. }
            | TimelineEvent::SendFailed { .. }
            | TimelineEvent::Delivery { .. }
            | TimelineEvent::Escalated { .. }
            | TimelineEvent::Passed { .. }
            | TimelineEvent::Accepted { .. }
            | TimelineEvent::Advised111
            | TimelineEvent::Handover { .. }
            | TimelineEvent::Reminded { .. }
            | TimelineEvent::Forwarded { .. }
            | TimelineEvent::OptOut { .. }
            | TimelineEvent::Note { .. }
            | TimelineEvent::Call { .. } => self.clone(),
        }
    }
}

impl fmt::Display for TimelineEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimelineEvent::Received { from, text } => {
                write!(f, "Message from the {from}: “{text}”")
            }
            TimelineEvent::RedFlag { phrase } => write!(
                f,
                "Red flag “{phrase}”: 999 advice sent, levels 1 and 2 paged"
            ),
            TimelineEvent::Paged {
                name, level, code, ..
            } => write!(f, "Paged {name} ({level}), code {code}"),
            TimelineEvent::Sent { purpose, .. } if purpose == "delete_recording" => {
                f.write_str("Recording of the message deleted at Twilio")
            }
            TimelineEvent::Sent {
                to,
                purpose,
                attempts,
                medium,
                ..
            } => {
                let what = medium.label();
                write!(f, "{what} to {to} ({}) sent", purpose.replace('_', " "))?;
                match attempts {
                    Some(n) if *n > 1 => write!(f, " after {n} attempts"),
                    _ => Ok(()),
                }
            }
            TimelineEvent::Dropped {
                to,
                purpose,
                reason,
                medium,
            } => write!(
                f,
                "{} to {to} ({}) not sent: {reason}",
                medium.label(),
                purpose.replace('_', " ")
            ),
            TimelineEvent::SendFailed {
                to,
                purpose,
                reason,
                will_retry,
                medium,
            } => {
                write!(
                    f,
                    "{} to {to} ({}) failed: {reason}{}",
                    medium.label(),
                    purpose.replace('_', " "),
                    if *will_retry { "; retrying" } else { "" }
                )
            }
            TimelineEvent::Delivery {
                to,
                status,
                error_code,
                purpose,
                medium,
            } => {
                // Stored before the medium was: a call page was a call.
                let what = if purpose == "call_page" {
                    "Call"
                } else {
                    medium.label()
                };
                match error_code {
                    Some(code) => write!(f, "{what} to {to}: {status} (error {code})"),
                    None => write!(f, "{what} to {to}: {status}"),
                }
            }
            TimelineEvent::Escalated { to, reason } => write!(f, "Escalated to {to}: {reason}"),
            TimelineEvent::Passed { name, .. } => write!(f, "{name} passed it on"),
            TimelineEvent::Accepted { name, .. } => write!(f, "Accepted by {name}"),
            TimelineEvent::Resolved { name, note, .. } => {
                write!(
                    f,
                    "Resolved by {}",
                    name.as_deref().unwrap_or("Nightingale")
                )?;
                match note {
                    Some(n) => write!(f, ": {n}"),
                    None => Ok(()),
                }
            }
            TimelineEvent::Advised111 => {
                f.write_str("Sender told to call NHS 111, or 999 in an emergency")
            }
            TimelineEvent::Handover { name, .. } => {
                write!(f, "Handover: {name} now on call and paged")
            }
            TimelineEvent::Reminded { name, .. } => write!(f, "Reminded {name}"),
            TimelineEvent::Forwarded {
                name,
                messages: Some(n),
                ..
            } if *n > 1 => write!(f, "{n} messages sent on to {name}"),
            TimelineEvent::Forwarded { name, .. } => write!(f, "Sent on to {name}"),
            TimelineEvent::OptOut { opted_out: true } => f.write_str("Sender opted out of texts"),
            TimelineEvent::OptOut { opted_out: false } => {
                f.write_str("Sender opted back in to texts")
            }
            TimelineEvent::Note { text } => f.write_str(text),
            TimelineEvent::Call { outcome, name, .. } => match (outcome.as_str(), name) {
                ("live", Some(name)) => write!(f, "Phone call taken live by {name}"),
                ("voicemail", _) => f.write_str("Phone call: left a voicemail"),
                _ => f.write_str("Phone call reached nobody and left no message: call back"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::{Accepted, StaffRef};

    const REMOVED: &str = "[removed]";

    fn chen() -> StaffRef {
        StaffRef {
            id: Id::parse("chen").unwrap(),
            name: "Chen Li".into(),
            role: "Registrar".into(),
        }
    }

    fn sians_concern() -> Concern {
        let at: Instant = "2026-11-27T19:15:00Z".parse().unwrap();
        let mut escalation = Escalation::new(false);
        escalation.accepted = Some(Accepted { by: chen(), at });
        escalation.status = Status::Resolved {
            by: Some(chen()),
            at,
            note: Some("Spoke to Sian, dressing changed by district nurse".into()),
        };
        Concern {
            id: ConcernId::new(),
            enrolment: None,
            service: Some(Id::parse("cardiology-ward-7").unwrap()),
            sender: crate::directory::PhoneNumber::parse("+447700900124")
                .unwrap()
                .into(),
            party: Party::Carer {
                name: "Sian Evans".into(),
                relationship: Some("daughter".into()),
            },
            opened_at: "2026-11-27T19:05:00Z".parse().unwrap(),
            text: "Mum's dressing is soaked through".into(),
            escalation,
            pictures_explained: true,
            recognised: None,
            calls: Vec::new(),
            version: 4,
        }
    }

    #[test]
    fn a_carers_concern_loses_their_words_the_note_and_their_name_and_keeps_who_did_what() {
        let before = sians_concern();
        let after = before.redacted(REMOVED);
        assert_eq!(after.text, REMOVED);
        assert_eq!(
            after.party,
            Party::Carer {
                name: REMOVED.into(),
                relationship: Some("daughter".into()),
            }
        );
        assert!(matches!(
            &after.escalation.status,
            Status::Resolved { by: Some(by), note: Some(note), .. } if by == &chen() && note == REMOVED
        ));
        // Everything else is as it was.
        let kept = Concern {
            text: before.text.clone(),
            party: before.party.clone(),
            escalation: Escalation {
                status: before.escalation.status.clone(),
                ..after.escalation.clone()
            },
            ..after.clone()
        };
        assert_eq!(kept, before);
        let json = serde_json::to_string(&after).unwrap();
        for words in ["soaked", "Sian", "district nurse"] {
            assert!(!json.contains(words), "{words} left in {json}");
        }
    }

    #[test]
    fn a_patients_concern_closed_without_a_note_gains_none() {
        let mut c = sians_concern();
        c.party = Party::Patient;
        c.escalation.status = Status::Resolved {
            by: None,
            at: c.opened_at,
            note: None,
        };
        let after = c.redacted(REMOVED);
        assert_eq!(after.party, Party::Patient);
        assert!(matches!(
            after.escalation.status,
            Status::Resolved { note: None, .. }
        ));
        assert_eq!(
            after,
            Concern {
                text: REMOVED.into(),
                ..c
            }
        );
    }

    #[test]
    fn the_log_calls_a_call_a_call_and_an_email_an_email() {
        let son =
            Address::Email(crate::directory::EmailAddress::parse("rhys@home.example").unwrap());
        let phone = Address::Phone(crate::directory::PhoneNumber::parse("07700 900811").unwrap());
        let sent = |medium| TimelineEvent::Sent {
            to: "carer (son)".into(),
            purpose: "page".into(),
            provider_id: "X1".into(),
            queued_at: None,
            attempts: None,
            medium,
        };
        assert_eq!(
            sent(Medium::of(&son, false)).to_string(),
            "Email to carer (son) (page) sent"
        );
        assert_eq!(
            sent(Medium::of(&phone, true)).to_string(),
            "Call to carer (son) (page) sent"
        );
        assert_eq!(
            sent(Medium::of(&phone, false)).to_string(),
            "Text to carer (son) (page) sent"
        );
        // Stored before the medium was: read as a text.
        let old = r#"{"event":"sent","to":"patient","purpose":"notice","provider_id":"SM1"}"#;
        let read: TimelineEvent = serde_json::from_str(old).unwrap();
        assert_eq!(read, {
            let mut e = sent(Medium::Text);
            if let TimelineEvent::Sent {
                to,
                purpose,
                provider_id,
                ..
            } = &mut e
            {
                *to = "patient".into();
                *purpose = "notice".into();
                *provider_id = "SM1".into();
            }
            e
        });
    }

    #[test]
    fn a_timeline_loses_what_people_wrote_and_only_that() {
        let secret = "SECRET words";
        let staff = chen().id;
        let label = |s: &str| s.to_owned();
        let with_words = [
            TimelineEvent::Received {
                from: label("carer (daughter)"),
                text: secret.into(),
            },
            TimelineEvent::Resolved {
                staff: Some(staff.clone()),
                name: Some(label("Chen Li")),
                note: Some(secret.into()),
            },
        ];
        for event in &with_words {
            let after = serde_json::to_string(&event.redacted(REMOVED)).unwrap();
            assert!(
                !after.contains(secret) && after.contains(REMOVED),
                "{after}"
            );
        }
        let who_did_what = [
            TimelineEvent::RedFlag {
                phrase: label("chest pain"),
            },
            TimelineEvent::Paged {
                staff: staff.clone(),
                name: label("Chen Li"),
                level: label("level 1"),
                code: 12,
            },
            TimelineEvent::Sent {
                to: label("patient"),
                purpose: label("notice"),
                provider_id: label("SM1"),
                queued_at: None,
                attempts: Some(2),
                medium: Medium::Text,
            },
            TimelineEvent::Dropped {
                to: label("Chen Li"),
                purpose: label("page"),
                reason: label("accepted"),
                medium: Medium::Call,
            },
            TimelineEvent::SendFailed {
                to: label("patient"),
                purpose: label("notice"),
                reason: label("HTTP 500"),
                will_retry: true,
                medium: Medium::Email,
            },
            TimelineEvent::Delivery {
                to: label("patient"),
                purpose: label("notice"),
                status: label("delivered"),
                error_code: None,
                medium: Medium::Text,
            },
            TimelineEvent::Escalated {
                to: label("level 2"),
                reason: label("no answer"),
            },
            TimelineEvent::Passed {
                staff: staff.clone(),
                name: label("Chen Li"),
            },
            TimelineEvent::Accepted {
                staff: staff.clone(),
                name: label("Chen Li"),
            },
            TimelineEvent::Resolved {
                staff: None,
                name: None,
                note: None,
            },
            TimelineEvent::Advised111,
            TimelineEvent::Handover {
                staff: staff.clone(),
                name: label("Chen Li"),
            },
            TimelineEvent::Reminded {
                staff: staff.clone(),
                name: label("Chen Li"),
            },
            TimelineEvent::Forwarded {
                staff,
                name: label("Chen Li"),
                messages: Some(3),
            },
            TimelineEvent::OptOut { opted_out: true },
            TimelineEvent::Note {
                text: label("Chen Li has no phone for SMS pages"),
            },
        ];
        for event in &who_did_what {
            assert_eq!(&event.redacted(REMOVED), event);
        }
        let entry = TimelineEntry {
            at: "2026-11-27T19:05:00Z".parse().unwrap(),
            event: with_words[0].clone(),
        };
        assert_eq!(
            entry.redacted(REMOVED),
            TimelineEntry {
                at: entry.at,
                event: with_words[0].redacted(REMOVED),
            }
        );
    }
}
