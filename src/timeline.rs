//! A concern's timeline: what happened to it, typed ([`TimelineEvent`]),
//! and why a message was sent ([`Purpose`]).
//!
//! A leaf: it names people and addresses but no concern, store or engine,
//! so escalation, the outbox and the store can all speak it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::Instant;
use crate::directory::{Address, Id};

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

/// Why an SMS is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// The welcome text at enrolment.
    Welcome,
    /// A page to a clinician.
    Page,
    /// A page to a clinician by phone call: the item's body is the URL
    /// Twilio fetches the call's words from when it is answered.
    CallPage,
    /// A message to the patient or carer about their concern.
    Notice,
    /// A later message sent on to the clinician.
    Forward,
    /// A reply to a clinician (taken, help, reminder).
    StaffNotice,
    /// A call to a clinician who asked to call the sender back: when they
    /// answer, the sender is rung from our number. The body is the URL
    /// Twilio fetches the call's words from.
    CallBack,
    /// Not a text: delete the recording of a caller's message at the
    /// provider once its retention period is over. The item's body is the
    /// recording's id; its number the caller's.
    DeleteRecording,
    /// A one-time code for a member of staff to sign in on the web.
    SignInCode,
    /// A check-in: "How are you today?" to a patient (docs/adr/0017).
    CheckIn,
    /// The answer to a text that was STOP or START: that texts have
    /// stopped, and how to start them again (or that they are on again).
    /// The one text sent to a number that opted out.
    OptOut,
}

impl Purpose {
    /// As stored and shown on timelines.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Welcome => "welcome",
            Purpose::Page => "page",
            Purpose::CallPage => "call_page",
            Purpose::Notice => "notice",
            Purpose::Forward => "forward",
            Purpose::StaffNotice => "staff_notice",
            Purpose::CallBack => "call_back",
            Purpose::DeleteRecording => "delete_recording",
            Purpose::SignInCode => "sign_in_code",
            Purpose::CheckIn => "check_in",
            Purpose::OptOut => "opt_out",
        }
    }

    /// The purpose a stored name stands for.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Purpose::Welcome,
            Purpose::Page,
            Purpose::CallPage,
            Purpose::Notice,
            Purpose::Forward,
            Purpose::StaffNotice,
            Purpose::CallBack,
            Purpose::DeleteRecording,
            Purpose::SignInCode,
            Purpose::CheckIn,
            Purpose::OptOut,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
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
