//! A concern's timeline: what happened to it, typed ([`TimelineEvent`]),
//! and why a message was sent ([`Purpose`]).
//!
//! A leaf: it names people and addresses but no concern, store or engine,
//! so escalation, the outbox and the store can all speak it. It holds no
//! words for people: how an event reads is `templates/timeline/event.txt`,
//! rendered by the templates module.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Instant;
use crate::directory::{Address, Id};

/// How a message left: a text, a call or an email (what a timeline's line
/// calls it is worded by `templates/timeline/event.txt`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
}

/// Why an SMS is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
    /// An ongoing enrolment's review date has come: a reminder to its
    /// co-ordinator or team. (Stored before as `staff_notice`.)
    ReviewReminder,
    /// The morning handover of what a service's patients raised out of
    /// hours. (Stored before as `staff_notice`.)
    Handover,
    /// A gap in the rota, to its managers. (Stored before as `staff_notice`.)
    GapAlert,
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
            Purpose::ReviewReminder => "review_reminder",
            Purpose::Handover => "handover",
            Purpose::GapAlert => "gap_alert",
        }
    }

    /// Every purpose.
    pub const ALL: [Purpose; 14] = [
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
        Purpose::ReviewReminder,
        Purpose::Handover,
        Purpose::GapAlert,
    ];

    /// The purpose a stored name stands for.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
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

/// What happened to a concern. Stored as JSON; the API shows it as is
/// (its schema in the API's OpenAPI document is derived from this type).
/// Staff ids are rota ids; times are RFC 3339 in UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TimelineEvent {
    /// A message from the patient, a carer or an unknown sender.
    Received {
        from: String,
        text: String,
        /// The words are a voicemail's, transcribed (see
        /// [`TimelineEvent::is_transcription`]). Left out when false, and
        /// missing from entries stored before it was recorded.
        #[serde(default, skip_serializing_if = "is_false")]
        voicemail: bool,
    },
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
        purpose: Purpose,
        provider_id: String,
        /// When it was queued, if it waited (a retry, or a text before it to the same number).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(value_type = Option<String>, format = DateTime)]
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
        purpose: Purpose,
        reason: String,
    },
    /// A send attempt failed.
    SendFailed {
        to: String,
        /// Text, call or email: what the log calls it.
        #[serde(default, skip_serializing_if = "Medium::is_text")]
        medium: Medium,
        purpose: Purpose,
        reason: String,
        will_retry: bool,
    },
    /// The provider reported a delivery status.
    Delivery {
        to: String,
        /// Text, call or email: what the log calls it.
        #[serde(default, skip_serializing_if = "Medium::is_text")]
        medium: Medium,
        purpose: Purpose,
        #[schema(value_type = String, example = "delivered")]
        status: DeliveryStatus,
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
    Note {
        text: String,
        /// Set when the note says a page failed over to the person's next
        /// contact: what the clinical safety report counts (the text is for
        /// people). Left out otherwise, and missing from notes stored before
        /// it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failed_over: Option<FailedOver>,
    },
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
        #[schema(value_type = Option<String>, format = DateTime)]
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
            TimelineEvent::Received {
                from, voicemail, ..
            } => TimelineEvent::Received {
                from: from.clone(),
                text: placeholder.to_owned(),
                voicemail: *voicemail,
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

impl TimelineEvent {
    /// A note for staff, and nothing more.
    pub fn note(text: impl Into<String>) -> Self {
        TimelineEvent::Note {
            text: text.into(),
            failed_over: None,
        }
    }

    /// A voicemail's words, transcribed, from the caller (`label`).
    pub fn transcription(label: &str, text: String) -> Self {
        TimelineEvent::Received {
            from: transcription_from(label),
            text,
            voicemail: true,
        }
    }

    /// Whether this is a voicemail's transcription. Entries stored before
    /// the `voicemail` field was recorded say so only in their `from`
    /// ([`transcription_from`]), so those are still read that way.
    pub fn is_transcription(&self) -> bool {
        match self {
            TimelineEvent::Received {
                voicemail: true, ..
            } => true,
            TimelineEvent::Received { from, .. } => from.ends_with(TRANSCRIBED),
            _ => false,
        }
    }

    /// Whether this records a page that failed over to the person's next
    /// contact. Notes stored before [`FailedOver`] was recorded say so only
    /// in their words, so those are still read by them (the one place a
    /// decision reads English, for old timelines only).
    pub fn is_failed_over(&self) -> bool {
        match self {
            TimelineEvent::Note {
                failed_over: Some(_),
                ..
            } => true,
            TimelineEvent::Note {
                text,
                failed_over: None,
            } => text.ends_with(FAILED_OVER),
            _ => false,
        }
    }
}

/// The `from` of a voicemail's transcription on a concern's timeline:
/// the caller (`label`), and that these are a voicemail's words.
pub fn transcription_from(label: &str) -> String {
    format!("{label}{TRANSCRIBED}")
}

const TRANSCRIBED: &str = ", voicemail transcribed";

/// How the note a failed page leaves ends when it goes on to the person's
/// next contact.
pub const FAILED_OVER: &str = "their next contact";

/// A page that did not reach a person went on to their next contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FailedOver {
    /// Whose.
    pub staff: Id,
    /// How the next contact is tried.
    pub next: Medium,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a provider reported of a message or a call page: Twilio's
/// `MessageStatus` or `CallStatus`, or an email's delivery report. Stored
/// as the provider's word; one not named here is kept as it came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum DeliveryStatus {
    /// `delivered`.
    Delivered,
    /// `undelivered`.
    Undelivered,
    /// `failed`.
    Failed,
    /// `bounced` (an email).
    Bounced,
    /// `busy` (a call).
    Busy,
    /// `no-answer` (a call).
    NoAnswer,
    /// `canceled` (a call).
    Canceled,
    /// `machine`: machine detection heard an answering machine.
    Machine,
    /// Anything else (`queued`, `sent`, `completed`, `delayed`…), as given.
    Other(String),
}

impl DeliveryStatus {
    const NAMED: [(&'static str, DeliveryStatus); 8] = [
        ("delivered", DeliveryStatus::Delivered),
        ("undelivered", DeliveryStatus::Undelivered),
        ("failed", DeliveryStatus::Failed),
        ("bounced", DeliveryStatus::Bounced),
        ("busy", DeliveryStatus::Busy),
        ("no-answer", DeliveryStatus::NoAnswer),
        ("canceled", DeliveryStatus::Canceled),
        ("machine", DeliveryStatus::Machine),
    ];

    /// The provider's word.
    pub fn as_str(&self) -> &str {
        match self {
            DeliveryStatus::Other(s) => s,
            named => Self::NAMED
                .iter()
                .find(|(_, n)| n == named)
                .map_or("", |(s, _)| s),
        }
    }

    /// Whether a text's or an email's status means it did not reach the phone or mailbox.
    pub fn delivery_failed(&self) -> bool {
        matches!(
            self,
            DeliveryStatus::Undelivered | DeliveryStatus::Failed | DeliveryStatus::Bounced
        )
    }

    /// Whether a call page's status means it did not reach a person.
    pub fn call_failed(&self) -> bool {
        matches!(
            self,
            DeliveryStatus::Busy
                | DeliveryStatus::NoAnswer
                | DeliveryStatus::Failed
                | DeliveryStatus::Canceled
                | DeliveryStatus::Machine
        )
    }
}

impl From<&str> for DeliveryStatus {
    fn from(s: &str) -> Self {
        Self::NAMED
            .iter()
            .find(|(n, _)| *n == s)
            .map_or_else(|| DeliveryStatus::Other(s.to_owned()), |(_, d)| d.clone())
    }
}

impl From<String> for DeliveryStatus {
    fn from(s: String) -> Self {
        DeliveryStatus::from(s.as_str())
    }
}

impl From<DeliveryStatus> for String {
    fn from(d: DeliveryStatus) -> Self {
        d.as_str().to_owned()
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries as they are stored today, one per variant whose fields
    /// became typed: each must read and be written back byte for byte.
    #[test]
    fn typed_events_read_and_write_the_json_stored_today() {
        for stored in [
            r#"{"at":"2026-11-27T19:06:00Z","event":"sent","to":"Chen Li","purpose":"page","provider_id":"SM1"}"#,
            r#"{"at":"2026-11-27T19:06:00Z","event":"sent","to":"Chen Li","medium":"call","purpose":"call_page","provider_id":"CA1","attempts":2}"#,
            r#"{"at":"2026-11-27T19:06:00Z","event":"sent","to":"patient","purpose":"delete_recording","provider_id":"RE1"}"#,
            r#"{"at":"2026-11-27T19:06:00Z","event":"dropped","to":"Chen Li","purpose":"page","reason":"accepted"}"#,
            r#"{"at":"2026-11-27T19:06:00Z","event":"send_failed","to":"patient","medium":"email","purpose":"notice","reason":"550","will_retry":false}"#,
            r#"{"at":"2026-11-27T19:06:00Z","event":"delivery","to":"Chen Li","purpose":"page","status":"undelivered","error_code":30003}"#,
            r#"{"at":"2026-11-27T19:06:00Z","event":"delivery","to":"Chen Li","medium":"call","purpose":"call_page","status":"no-answer","error_code":null}"#,
            r#"{"at":"2026-11-27T19:06:00Z","event":"delivery","to":"patient","purpose":"notice","status":"delayed","error_code":null}"#,
            r#"{"at":"2026-11-27T19:06:00Z","event":"received","from":"carer (daughter)","text":"Mum is worse"}"#,
            r#"{"at":"2026-11-27T19:06:00Z","event":"received","from":"patient, voicemail transcribed","text":"I fell"}"#,
            r#"{"at":"2026-11-27T19:06:00Z","event":"note","text":"page to Chen Li did not reach them; calling their next contact"}"#,
        ] {
            let entry: TimelineEntry = serde_json::from_str(stored).unwrap();
            assert_eq!(serde_json::to_string(&entry).unwrap(), stored);
        }
    }

    #[test]
    fn a_status_nobody_named_is_kept_as_the_provider_gave_it() {
        let status = DeliveryStatus::from("read");
        assert_eq!(status, DeliveryStatus::Other("read".into()));
        assert_eq!(status.as_str(), "read");
        assert_eq!(DeliveryStatus::from("no-answer"), DeliveryStatus::NoAnswer);
        assert!(DeliveryStatus::from("bounced").delivery_failed());
        assert!(DeliveryStatus::from("machine").call_failed());
        assert!(!DeliveryStatus::from("delivered").delivery_failed());
    }

    #[test]
    fn a_transcription_is_known_by_its_field_and_an_old_one_by_its_label() {
        let new = TimelineEvent::transcription("patient", "I fell".into());
        assert!(new.is_transcription());
        let old: TimelineEvent = serde_json::from_str(
            r#"{"event":"received","from":"patient, voicemail transcribed","text":"I fell"}"#,
        )
        .unwrap();
        assert!(old.is_transcription());
        let text: TimelineEvent =
            serde_json::from_str(r#"{"event":"received","from":"patient","text":"hi"}"#).unwrap();
        assert!(!text.is_transcription());
    }

    #[test]
    fn a_failover_is_known_by_its_event_and_an_old_one_by_its_note() {
        let new = TimelineEvent::Note {
            text: format!("page to Chen Li did not reach them; texting {FAILED_OVER}"),
            failed_over: Some(FailedOver {
                staff: Id::parse("chen").unwrap(),
                next: Medium::Text,
            }),
        };
        assert!(new.is_failed_over());
        let json = serde_json::to_string(&new).unwrap();
        assert_eq!(serde_json::from_str::<TimelineEvent>(&json).unwrap(), new);
        let old: TimelineEvent = serde_json::from_str(
            r#"{"event":"note","text":"page to Chen Li did not reach them; calling their next contact"}"#,
        )
        .unwrap();
        assert!(old.is_failed_over());
        assert!(!TimelineEvent::note("Twilio could not transcribe the voicemail").is_failed_over());
    }
}
