//! What arrives: a text, a call's step, an email, a delivery report or a
//! clinician's tap, stored as it came ([`Inbound`]) before anything is
//! decided about it (ADR 3). Intake reads these; the store keeps them.

use serde::{Deserialize, Serialize};

use crate::clock::Instant;
use crate::concern::ConcernId;
use crate::directory::Id;

/// A message or callback from the SMS provider, as received.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbound {
    /// The idempotency key, one space per kind: `sms:SID` for a text,
    /// `status:SID:STATUS` for a delivery report, `link:…` for a tap on a page.
    pub key: String,
    /// What it is.
    pub kind: InboundKind,
    /// When it arrived.
    pub received_at: Instant,
}

impl Inbound {
    /// This item without the words it carried (a text's body; an email's
    /// subject and text; a voicemail's transcription), as it is kept once they are on a concern's
    /// timeline: who sent it, to whom and when stay. `None` for a kind
    /// whose words are not a message (a call's steps are read again while
    /// the call goes on).
    pub fn without_words(&self) -> Option<Inbound> {
        let kind = match &self.kind {
            InboundKind::Sms {
                from, to, media, ..
            } => InboundKind::Sms {
                from: from.clone(),
                to: to.clone(),
                body: String::new(),
                media: *media,
            },
            InboundKind::Email {
                from,
                to,
                attachments,
                delivery,
                envelope_from,
                peer,
                authentication_results,
                ..
            } => InboundKind::Email {
                from: from.clone(),
                to: to.clone(),
                subject: String::new(),
                text: String::new(),
                attachments: attachments.clone(),
                delivery: delivery.clone(),
                envelope_from: envelope_from.clone(),
                peer: *peer,
                authentication_results: authentication_results.clone(),
            },
            InboundKind::Call {
                call,
                from,
                step: crate::voice::CallStep::Transcription { .. },
            } => InboundKind::Call {
                call: call.clone(),
                from: from.clone(),
                step: crate::voice::CallStep::Transcription {
                    text: Some(String::new()),
                },
            },
            _ => return None,
        };
        Some(Inbound {
            key: self.key.clone(),
            kind,
            received_at: self.received_at,
        })
    }
}

impl std::fmt::Debug for Inbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The kinds of inbound item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InboundKind {
    /// A text from a patient, carer, clinician or stranger.
    Sms {
        /// The sender's number, E.164 as the provider gives it.
        from: String,
        /// Our number.
        to: String,
        /// What they wrote.
        body: String,
        /// How many pictures or other media came with it (Twilio's `NumMedia`);
        /// 0 for items stored before it was recorded.
        #[serde(default)]
        media: u32,
    },
    /// A clinician's tap on the page a signed link opened.
    Action {
        /// The concern.
        concern: ConcernId,
        /// The clinician the link was sent to.
        staff: Id,
        /// "accept" or "pass".
        action: String,
    },
    /// A clinician resolved a concern from their staff page ("My
    /// concerns"): what `R12 note` does by text.
    Resolve {
        /// The concern.
        concern: ConcernId,
        /// The clinician (signed in, and paged for it or holding it).
        staff: Id,
        /// Their note, if they wrote one.
        note: Option<String>,
    },
    /// A clinician asked, from a page's link, to call the sender back
    /// through our number.
    CallBack {
        /// The concern.
        concern: ConcernId,
        /// The clinician the link was sent to.
        staff: Id,
    },
    /// One step of a phone call to our number (see [`crate::voice`]).
    Call {
        /// Twilio's `CallSid` of the caller's call.
        call: String,
        /// The caller's number as Twilio gives it, when the step's request
        /// carries it (a callee's screen does not: intake reads it from the
        /// call's first step).
        #[serde(default)]
        from: String,
        /// What happened.
        #[serde(flatten)]
        step: crate::voice::CallStep,
    },
    /// An email, as the SMTP listener read it.
    Email {
        /// The `From` address.
        from: String,
        /// The envelope's recipients: ours, one of them perhaps a page's
        /// reply address (`page+TOKEN@…`).
        to: Vec<String>,
        /// The subject.
        subject: String,
        /// What they wrote, whole (HTML already made text).
        text: String,
        /// The attachments, which are not kept: names and sizes.
        #[serde(default)]
        attachments: Vec<Attachment>,
        /// For a delivery report (a bounce to our envelope sender), what
        /// became of our message: `failed`, `delayed`, `delivered`…
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<String>,
        /// The envelope sender (`MAIL FROM`, empty for a bounce); `None`
        /// for mail stored before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        envelope_from: Option<String>,
        /// The address that handed it to our listener.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peer: Option<std::net::IpAddr>,
        /// Its topmost `Authentication-Results` header, unfolded: what the
        /// relay that handed it over found (see `email::auth`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        authentication_results: Option<String>,
    },
    /// A delivery report for a message we sent.
    Status {
        /// The provider's id of our message.
        message_id: String,
        /// queued, sent, delivered, undelivered, failed…
        status: String,
        /// The provider's error code, when it failed.
        error_code: Option<u32>,
    },
}

/// An attachment, as the timeline notes it: its content is not kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Its file name, if it had one.
    pub name: String,
    /// Its size in bytes, decoded.
    pub size: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_stored_before_media_was_recorded_still_reads_with_none() {
        let stored = r#"{"key":"SM1","kind":{"kind":"sms","from":"+447700900123","to":"+447700900000","body":"hello"},"received_at":"2026-11-27T19:05:00Z"}"#;
        let item: Inbound = serde_json::from_str(stored).unwrap();
        assert!(matches!(item.kind, InboundKind::Sms { media: 0, .. }));
    }
}
