//! A concern: what a patient, carer or unknown sender raised and who it
//! reached, the pages and reply codes clinicians were given for it, and
//! the [`Concerns`] port through which concerns are stored and listed.
//!
//! The escalation state lives in [`crate::escalation`] and the timeline's
//! events in [`crate::timeline`]; this module holds the record around them,
//! and says what of it is personal data, removed after the retention period
//! ([`Concern::redacted`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::Instant;
use crate::directory::{Address, EnrolmentId, Id};
use crate::escalation::{Escalation, Status};
use crate::store_error::StoreResult;
use crate::timeline::TimelineEntry;

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
    /// it since (see the work queue's `Change::concern`). 0 for a concern not
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

/// A clinician's page for a concern, with its reply code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The concern.
    pub concern: ConcernId,
    /// The clinician.
    pub staff: Id,
    /// The code they reply with (1–9999).
    pub code: u16,
    /// False once the concern was accepted or resolved.
    pub open: bool,
    /// When it was first sent.
    pub opened_at: Instant,
}

/// What one [`Concerns::purge`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Concerns whose text was removed.
    pub concerns: u64,
    /// Raw inbound messages deleted.
    pub inbound: u64,
    /// Enrolments (names, numbers, context) deleted, having ended before the cutoff.
    pub enrolments: u64,
    /// Concerns whose stored record could not be read, so their text could
    /// not be removed: marked for an operator and not tried again (their
    /// timeline and texts are still cleared).
    pub set_aside: u64,
}

/// Where a concern stands, in the words the API and its filters use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConcernStatus {
    /// Waiting for someone to accept.
    Open,
    /// Someone has it.
    Accepted,
    /// Closed.
    Resolved,
}

impl ConcernStatus {
    /// Every status, in the order a concern goes through them.
    pub const ALL: [ConcernStatus; 3] = [
        ConcernStatus::Open,
        ConcernStatus::Accepted,
        ConcernStatus::Resolved,
    ];

    /// Where this concern stands.
    pub fn of(concern: &Concern) -> Self {
        use crate::escalation::Status;
        match concern.escalation.status {
            Status::Open => ConcernStatus::Open,
            Status::Accepted { .. } => ConcernStatus::Accepted,
            Status::Resolved { .. } => ConcernStatus::Resolved,
        }
    }

    /// `open`, `accepted` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConcernStatus::Open => "open",
            ConcernStatus::Accepted => "accepted",
            ConcernStatus::Resolved => "resolved",
        }
    }
}

/// A concern's place in a list, newest first: when it was opened, then
/// its id to order concerns opened in the same millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConcernKey {
    /// When it was opened (the store keeps milliseconds).
    pub opened_at: Instant,
    /// Its id.
    pub id: ConcernId,
}

impl ConcernKey {
    /// The key of this concern.
    pub fn of(concern: &Concern) -> Self {
        Self {
            opened_at: concern.opened_at,
            id: concern.id,
        }
    }
}

/// Which concerns [`Concerns::concerns`] lists. Every filter given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConcernFilter {
    /// Only concerns in one of these states; any state when empty.
    pub statuses: Vec<ConcernStatus>,
    /// Only concerns routed to this service.
    pub service: Option<Id>,
    /// Only concerns opened at or after this instant.
    pub opened_since: Option<Instant>,
    /// Only concerns about this enrolment's patient.
    pub enrolment: Option<EnrolmentId>,
    /// Only concerns about patients whose enrolment this API client made
    /// ([`crate::directory::Enrolment::client`]): what a `read-own` key lists.
    pub client: Option<String>,
    /// Only concerns that come after this one, newest first (older, or
    /// opened in the same millisecond with a smaller id): where the previous
    /// page ended. Concerns opened since then do not move the place.
    pub after: Option<ConcernKey>,
    /// At most this many.
    pub limit: usize,
}

/// Concerns as stored: one by id, its timeline, lists and counts, the
/// retention purge, and the pages and reply codes clinicians were given.
/// Every method blocks.
pub trait Concerns: Send + Sync + 'static {
    /// A concern by id. Every concern a store returns carries its stored
    /// [`Concern::version`], the one a change must name to write it.
    fn concern(&self, id: ConcernId) -> StoreResult<Option<Concern>>;
    /// A concern's timeline, oldest first.
    fn timeline(&self, id: ConcernId) -> StoreResult<Vec<TimelineEntry>>;
    /// The unresolved concern opened from this number (or, for someone
    /// enrolled with no phone, this email address), if any.
    fn open_concern_from(&self, sender: &Address) -> StoreResult<Option<Concern>>;
    /// Concerns that match `filter`, newest first (by when they were
    /// opened, then by id, both descending), at most `filter.limit`.
    fn concerns(&self, filter: &ConcernFilter) -> StoreResult<Vec<Concern>>;
    /// How many concerns are not resolved.
    fn unresolved_concerns(&self) -> StoreResult<u64>;
    /// Remove what patients and clinicians wrote from concerns resolved
    /// before `closed_before`, replacing it with `placeholder`: what counts
    /// is domain code ([`Concern::redacted`],
    /// [`TimelineEntry::redacted`]); every text sent about
    /// those concerns is replaced too, and the raw inbound messages are
    /// deleted. Delete enrolments that ended before then. Who was paged,
    /// when, and who accepted stays. A redacted concern's version goes up, so
    /// a copy read before cannot write the words back. Works in batches:
    /// call until it reports no concerns.
    fn purge(&self, closed_before: Instant, placeholder: &str) -> StoreResult<Purged>;
    /// A clinician's pages: all open ones, and those closed since `closed_since`, newest first.
    fn pages_for(&self, staff: &Id, closed_since: Instant) -> StoreResult<Vec<Page>>;
    /// The page a clinician had for a concern, if any.
    fn page(&self, concern: ConcernId, staff: &Id) -> StoreResult<Option<Page>>;
    /// The code this clinician replies with for this concern, in one atomic
    /// step: the one already given (on a page, or reserved), or else the
    /// next after their last code (1–9999, wrapping) that is not in use (on
    /// an open page or one closed since `quarantine_since`, or reserved and
    /// not released, or released since `quarantine_since`), reserved at `at` so
    /// that no concurrent caller gets it. When all 9,999 are in use, the
    /// next after their last is reused rather than fail to page.
    ///
    /// A reservation is not a page: it is kept apart from pages, so
    /// [`Concerns::pages_for`] and [`Concerns::page`] never see it and a reply
    /// such as "A12" can only act on a concern the clinician was paged for.
    /// Opening the page (`Change::open_pages`) turns the reservation into
    /// the page; closing the concern's pages (`Change::close_pages`)
    /// releases its reservations into quarantine, as it does pages.
    fn reserve_code(&self, request: CodeRequest<'_>) -> StoreResult<u16>;
}

/// What [`Concerns::reserve_code`] is asked: the code `staff` replies with
/// about `concern`. Named fields, because its two instants mean different
/// things and must not be swapped.
#[derive(Debug, Clone, Copy)]
pub struct CodeRequest<'a> {
    /// The concern the code is for.
    pub concern: ConcernId,
    /// The clinician who replies with it.
    pub staff: &'a Id,
    /// Codes on pages closed (or reservations released) since then are
    /// still in use: quarantined, so a late reply cannot reach a new concern.
    pub quarantine_since: Instant,
    /// When the code is reserved.
    pub at: Instant,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::{Accepted, StaffRef};
    use crate::timeline::{Medium, Purpose, TimelineEntry, TimelineEvent};

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
    fn a_timeline_loses_what_people_wrote_and_only_that() {
        let secret = "SECRET words";
        let staff = chen().id;
        let label = |s: &str| s.to_owned();
        let with_words = [
            TimelineEvent::Received {
                from: label("carer (daughter)"),
                text: secret.into(),
                voicemail: false,
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
                purpose: Purpose::Notice,
                provider_id: label("SM1"),
                queued_at: None,
                attempts: Some(2),
                medium: Medium::Text,
            },
            TimelineEvent::Dropped {
                to: label("Chen Li"),
                purpose: Purpose::Page,
                reason: label("accepted"),
                medium: Medium::Call,
            },
            TimelineEvent::SendFailed {
                to: label("patient"),
                purpose: Purpose::Notice,
                reason: label("HTTP 500"),
                will_retry: true,
                medium: Medium::Email,
            },
            TimelineEvent::Delivery {
                to: label("patient"),
                purpose: Purpose::Notice,
                status: "delivered".into(),
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
            TimelineEvent::note(label("Chen Li has no phone for SMS pages")),
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
