//! The store: everything Nightingale must not lose.
//!
//! [`Store`] is shaped by the domain — inbound messages, enrolments,
//! concerns and their timelines, timers, the outbox, page codes, opt-outs,
//! API keys — not by SQL. The embedded backend ([`sqlite::SqliteStore`]) is
//! the default. Every state change a concern goes through is one [`Change`],
//! written atomically with the outbox items and timers it causes.
//!
//! Methods block (they do disk I/O); async callers run them on the blocking
//! pool (see [`blocking`]).
//!
//! The contract holds for several nodes sharing one store (docs/adr/0007):
//! work (inbound items, due timers, outbox items) is *claimed* for a lease
//! and carries a fencing token ([`Claim`]); [`Store::apply`] writes a change
//! only while its claim is still the work's current one and the concern it
//! carries is still the version that was read, and answers
//! [`StoreError::Conflict`] otherwise; a page code is reserved in one atomic
//! step ([`Store::reserve_code`]). `conformance` holds the cases every
//! backend must pass.

pub mod redis;
pub mod sqlite;

use std::sync::Arc;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::api_keys::ApiKey;
use crate::clock::Instant;
use crate::concern::{Concern, ConcernId, TimelineEntry};
use crate::directory::{Address, EmailAddress, Enrolment, EnrolmentId, Id, PhoneNumber};

/// The cause behind a [`StoreError`]: any error, or a sentence
/// (`StoreError::Unavailable("…".into())` and `StoreError::Unavailable(e.into())` both work).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the store could not do what was asked. Each kind says what the
/// caller should do next; each carries its cause (also shown in the message,
/// because callers log errors with `%`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or written (disk full, locked, gone,
    /// a network error): nothing was written; try again later.
    #[error("store unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// Someone else changed it first (the work was claimed by another node,
    /// or the concern changed since it was read): nothing was written;
    /// re-read and try again.
    #[error("store conflict: {0}")]
    Conflict(#[source] Cause),
    /// The write itself is wrong and will never succeed (it breaks a
    /// constraint of the domain, such as a second key with the same hash):
    /// nothing was written; do not retry it.
    #[error("invalid write: {0}")]
    Invalid(#[source] Cause),
    /// Something stored could not be read back.
    #[error("stored data unreadable: {0}")]
    Corrupt(#[source] Cause),
}

/// What store methods return.
pub type StoreResult<T> = Result<T, StoreError>;

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
    /// An email, as the SMTP listener read it (see [`crate::email`]).
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
        attachments: Vec<crate::email::Attachment>,
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
        /// relay that handed it over found ([`crate::email::auth`]).
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

    fn parse(s: &str) -> Option<Self> {
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

/// A message to send: a text, a call or an email (ADR 15).
#[derive(Clone, PartialEq, Eq)]
pub struct NewOutbox {
    /// The concern it belongs to, if any.
    pub concern: Option<ConcernId>,
    /// To whom: a number, or an email address (stored as
    /// [`crate::directory::Address::key`]).
    pub to: Address,
    /// The text, rendered.
    pub body: String,
    /// Why.
    pub purpose: Purpose,
    /// The member of staff it is for, if any.
    pub staff: Option<Id>,
    /// A label for timelines ("patient", "Chen Li").
    pub recipient: String,
    /// For a page: the concern's escalation step (its deadline's `seq`) when
    /// it was paged. Once the concern moves on, a page not yet sent is dropped.
    pub step: Option<u64>,
}

impl std::fmt::Debug for NewOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOutbox")
            .field("concern", &self.concern)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

/// An SMS waiting to be sent.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Its id.
    pub id: i64,
    /// What to send.
    pub message: NewOutbox,
    /// Attempts so far.
    pub attempts: u32,
    /// When it may next be tried.
    pub due_at: Instant,
    /// When it was put in the outbox.
    pub queued_at: Instant,
    /// The provider's id, once accepted.
    pub provider_id: Option<String>,
    /// It may have been handed to the provider without the outcome being
    /// recorded: it was claimed before and no outcome was written (the node
    /// stopped, or gave it back, mid-send), or it was stored in flight by an
    /// earlier, single-node version. Ask the provider before sending it again.
    pub in_flight: bool,
}

impl std::fmt::Debug for OutboxItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxItem")
            .field("id", &self.id)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// What became of a send attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    /// The provider accepted it.
    Sent {
        /// The outbox item.
        id: i64,
        /// The provider's id for it.
        provider_id: String,
    },
    /// Try again at `at`.
    Retry {
        /// The outbox item.
        id: i64,
        /// When.
        at: Instant,
    },
    /// Give up: the provider refused it for good.
    Failed {
        /// The outbox item.
        id: i64,
    },
    /// Not sent, and no longer wanted (a page for a concern that moved on).
    Cancelled {
        /// The outbox item.
        id: i64,
    },
}

impl OutboxOutcome {
    /// The outbox item it is the outcome of.
    pub fn id(&self) -> i64 {
        match self {
            OutboxOutcome::Sent { id, .. }
            | OutboxOutcome::Retry { id, .. }
            | OutboxOutcome::Failed { id }
            | OutboxOutcome::Cancelled { id } => *id,
        }
    }
}

/// The kinds of timer a concern has (at most one of each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// Nobody accepted in time: escalate.
    AckDeadline,
    /// The chain may have changed: page whoever now holds the current step.
    Handover,
    /// Remind whoever accepted.
    Reminder,
    /// Send on the messages held since the last forward.
    Forward,
    /// Try the next way a person asked to be paged (`voice after 3m`).
    Contact,
    /// See whether the recordings of the concern's messages are past their
    /// retention period, and delete them at the provider if so.
    Recordings,
}

impl TimerKind {
    /// Every kind.
    pub const ALL: [TimerKind; 6] = [
        TimerKind::AckDeadline,
        TimerKind::Handover,
        TimerKind::Reminder,
        TimerKind::Forward,
        TimerKind::Contact,
        TimerKind::Recordings,
    ];

    /// As stored: `ack_deadline`, `handover`, `reminder`, `forward`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::AckDeadline => "ack_deadline",
            TimerKind::Handover => "handover",
            TimerKind::Reminder => "reminder",
            TimerKind::Forward => "forward",
            TimerKind::Contact => "contact",
            TimerKind::Recordings => "recordings",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Something due to happen to a concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    /// Whose.
    pub concern: ConcernId,
    /// What.
    pub kind: TimerKind,
    /// When.
    pub due_at: Instant,
    /// The acknowledgement deadline's sequence number (0 for others).
    pub seq: u64,
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

/// Work waiting, for `/metrics`: each should stay near zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Stored webhooks not yet processed.
    pub inbound_pending: u64,
    /// Texts due to be sent.
    pub outbox_due: u64,
    /// Texts not yet sent that have failed at least once and are being retried.
    pub outbox_retrying: u64,
    /// When the longest-waiting unsent text was queued.
    pub outbox_oldest_queued: Option<Instant>,
    /// Timers past their due time.
    pub timers_overdue: u64,
}

/// What one [`Store::purge`] removed.
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

/// A node's name, as claims record it: host name, process id and a random
/// part, so two processes on one host (or one restarted) never share one.
/// Make one when the process starts ([`NodeId::generate`]) and pass it to
/// everything that claims work.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(String);

impl NodeId {
    /// A fresh name for this process: `HOST-PID-RANDOM`.
    pub fn generate() -> Self {
        let host = ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|f| std::fs::read_to_string(f).ok())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".to_owned());
        let mut random = [0u8; 4];
        // Without randomness the pid still tells processes on one host apart.
        let _ = getrandom::getrandom(&mut random);
        Self(format!(
            "{host}-{}-{:08x}",
            std::process::id(),
            u32::from_be_bytes(random)
        ))
    }

    /// A node with a name given (tests, or a name set by configuration).
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kinds of work nodes claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkKind {
    /// An inbound item to take in ([`Inbound::key`]).
    Inbound,
    /// A due timer to fire ([`WorkKey::Timer`]).
    Timer,
    /// An outbox item to send ([`WorkKey::Outbox`]).
    Outbox,
    /// A scheduled notice to send ([`Notice::key`]): a check-in, a
    /// reminder, a morning handover (docs/adr/0017).
    Notice,
}

impl WorkKind {
    /// Every kind of work.
    pub const ALL: [WorkKind; 4] = [
        WorkKind::Inbound,
        WorkKind::Timer,
        WorkKind::Outbox,
        WorkKind::Notice,
    ];

    /// As stored: `inbound`, `timer`, `outbox`, `notice`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkKind::Inbound => "inbound",
            WorkKind::Timer => "timer",
            WorkKind::Outbox => "outbox",
            WorkKind::Notice => "notice",
        }
    }
}

/// Which piece of work a claim is on: its kind, and its key within the
/// kind. The keys are stored (SQLite `claims.key`, Redis `claim:KIND:KEY`
/// and the `timers` and `held:KIND` members), so [`WorkKey`]'s `Display`
/// writes them exactly as they always were, and [`WorkKey::parse`] is the
/// one way back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WorkKey {
    /// An inbound item, by [`Inbound::key`].
    Inbound(String),
    /// A concern's timer of one kind (a concern has at most one of each),
    /// written `CONCERN/KIND`.
    Timer {
        /// Whose.
        concern: ConcernId,
        /// Which.
        kind: TimerKind,
    },
    /// An outbox item, by its id.
    Outbox(i64),
    /// A scheduled notice, by [`Notice::key`].
    Notice(String),
}

impl WorkKey {
    /// What kind of work it names.
    pub fn kind(&self) -> WorkKind {
        match self {
            WorkKey::Inbound(_) => WorkKind::Inbound,
            WorkKey::Timer { .. } => WorkKind::Timer,
            WorkKey::Outbox(_) => WorkKind::Outbox,
            WorkKey::Notice(_) => WorkKind::Notice,
        }
    }

    /// The key of work of `kind` as stored (what `Display` writes). Only
    /// the form `Display` writes is accepted, so a key read back names
    /// the same stored rows when written again.
    pub fn parse(kind: WorkKind, key: &str) -> Result<Self, WorkKeyError> {
        let malformed = || WorkKeyError {
            kind,
            key: key.to_owned(),
        };
        let parsed = match kind {
            WorkKind::Inbound => WorkKey::Inbound(key.to_owned()),
            WorkKind::Notice => WorkKey::Notice(key.to_owned()),
            WorkKind::Outbox => WorkKey::Outbox(key.parse().map_err(|_| malformed())?),
            WorkKind::Timer => {
                let (concern, timer) = key.split_once('/').ok_or_else(malformed)?;
                WorkKey::Timer {
                    concern: concern.parse().map_err(|_| malformed())?,
                    kind: TimerKind::parse(timer).ok_or_else(malformed)?,
                }
            }
        };
        if parsed.to_string() != key {
            return Err(malformed());
        }
        Ok(parsed)
    }
}

impl std::fmt::Display for WorkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WorkKey::Inbound(key) | WorkKey::Notice(key) => f.write_str(key),
            WorkKey::Timer { concern, kind } => write!(f, "{concern}/{}", kind.as_str()),
            WorkKey::Outbox(id) => write!(f, "{id}"),
        }
    }
}

/// A stored work key that does not name work of its kind (it says which
/// kind and key, which hold no personal data: ids and provider keys).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key:?} is not the key of {} work", kind.as_str())]
pub struct WorkKeyError {
    /// The kind it was read as.
    pub kind: WorkKind,
    /// The key as stored.
    pub key: String,
}

/// Work nodes claim, of one kind: what each backend's one `claim` is
/// generic over.
pub trait Work {
    /// Its kind.
    const KIND: WorkKind;
    /// The key its claims carry.
    fn work_key(&self) -> WorkKey;
}

impl Work for Inbound {
    const KIND: WorkKind = WorkKind::Inbound;
    fn work_key(&self) -> WorkKey {
        WorkKey::Inbound(self.key.clone())
    }
}

impl Work for Timer {
    const KIND: WorkKind = WorkKind::Timer;
    fn work_key(&self) -> WorkKey {
        WorkKey::Timer {
            concern: self.concern,
            kind: self.kind,
        }
    }
}

impl Work for OutboxItem {
    const KIND: WorkKind = WorkKind::Outbox;
    fn work_key(&self) -> WorkKey {
        WorkKey::Outbox(self.id)
    }
}

impl Work for Notice {
    const KIND: WorkKind = WorkKind::Notice;
    fn work_key(&self) -> WorkKey {
        WorkKey::Notice(self.key.clone())
    }
}

/// One node's hold on one piece of work, until its lease ends.
///
/// Another node may claim the work once the lease has ended (or it was
/// released); its claim has a higher `token`, and from then on a change
/// carrying the old claim is refused with [`StoreError::Conflict`] (fencing).
/// A claim whose lease ended but which nobody has taken over still completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Which work, of which kind.
    pub key: WorkKey,
    /// The fencing token: strictly greater than that of every claim the
    /// store handed out before, of any kind.
    pub token: u64,
    /// The node that holds it.
    pub holder: NodeId,
    /// When the lease ends, unless renewed ([`Store::renew`]).
    pub until: Instant,
    /// How many times this work was claimed before without being completed
    /// (a lease ran out, or it was released): a caller sets aside work that
    /// keeps failing. 0 the first time.
    pub attempts: u32,
}

impl Claim {
    /// What kind of work it is on.
    pub fn kind(&self) -> WorkKind {
        self.key.kind()
    }
}

/// A piece of work and the claim on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed<T> {
    /// The claim: put it in the [`Change`] that completes the work.
    pub claim: Claim,
    /// The work as it stood when claimed.
    pub item: T,
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

/// Which concerns [`Store::concerns`] lists. Every filter given must match.
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
    /// ([`Enrolment::client`]): what a `read-own` key lists.
    pub client: Option<String>,
    /// Only concerns that come after this one, newest first (older, or
    /// opened in the same millisecond with a smaller id): where the previous
    /// page ended. Concerns opened since then do not move the place.
    pub after: Option<ConcernKey>,
    /// At most this many.
    pub limit: usize,
}

/// One atomic write: a concern's new state and everything it causes.
///
/// It is written whole or not at all, and only while the work it completes
/// is still claimed with the same token (`claim`) and the concern it carries
/// is still the version that was read (`concern`): otherwise
/// [`Store::apply`] answers [`StoreError::Conflict`] and writes nothing.
#[derive(Debug, Default)]
pub struct Change {
    /// When the change happens (the engine's `now`): new outbox items fall due then.
    pub at: Instant,
    /// The claimed work this change completes. Written only if that work's
    /// current claim has this token; on success the claim ends with the work:
    /// an inbound item is marked processed, a timer is removed (unless this
    /// change re-arms it in `set_timers`), and an outbox item must have its
    /// outcome in `outbox_outcomes` (else [`StoreError::Invalid`]).
    pub claim: Option<Claim>,
    /// A new enrolment.
    pub enrolment: Option<Enrolment>,
    /// The concern's new state. Written only if the stored concern's version
    /// equals [`Concern::version`] (then the stored version goes up by one).
    /// Version 0 is a new concern: written only if no concern has its id
    /// and, unless it is already resolved, its sender has no unresolved
    /// concern ("open unless open", atomic); stored concerns start at 1.
    pub concern: Option<Concern>,
    /// Timeline entries to append.
    pub timeline: Vec<(ConcernId, TimelineEntry)>,
    /// SMS to send.
    pub outbox: Vec<NewOutbox>,
    /// Outcomes of send attempts.
    pub outbox_outcomes: Vec<OutboxOutcome>,
    /// Timers to set (replacing one of the same kind).
    pub set_timers: Vec<Timer>,
    /// Concerns whose timers are all cancelled (before `set_timers` apply).
    pub cancel_timers: Vec<ConcernId>,
    /// Pages opened (or re-sent, keeping their code).
    pub open_pages: Vec<Page>,
    /// Concerns whose pages close.
    pub close_pages: Vec<ConcernId>,
    /// What is kept from now on of the inbound item this change processes
    /// (through `claim`): the item without the words the
    /// change put on a concern's timeline ([`Inbound::without_words`]), so
    /// that a message's text is stored once. Replaces the stored item.
    pub inbound_kept: Option<Inbound>,
    /// A number opting out of (true) or back into (false) texts.
    pub opt_out: Option<(PhoneNumber, bool)>,
    /// Notices to schedule, each replacing any notice with its key (and
    /// ending any claim on that one). A claimed notice this change
    /// completes is removed first, so a change may set its next one.
    pub set_notices: Vec<Notice>,
    /// Notices to schedule only if no notice has their key: two nodes
    /// seeding the same notice at once schedule it once.
    pub add_notices: Vec<Notice>,
    /// Notices to remove, by key, with any claim on them (a check-in
    /// answered before its wait ran out).
    pub cancel_notices: Vec<String>,
    /// Answers to check-ins to record on their enrolments.
    pub check_in_answers: Vec<CheckInAnswer>,
}

// ---- scheduled notices (docs/adr/0017) ---------------------------------------

/// Work that falls due at a time and belongs to no concern: a check-in
/// text, the wait for its answer, a review reminder, a morning handover.
/// Kept in the store by key, claimed with a lease and a fencing token
/// like a timer ([`Store::claim_notices`]); the change that handles it
/// removes it, and may schedule the next in the same write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Its key: at most one notice has it (`check_in/ENROLMENT`, …).
    pub key: String,
    /// When it falls due.
    pub due_at: Instant,
    /// What it is.
    pub what: NoticeKind,
}

/// What a notice does when it falls due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoticeKind {
    /// Text the patient a check-in.
    CheckIn {
        /// Whose.
        enrolment: EnrolmentId,
        /// Which, from 1.
        number: u32,
    },
    /// A check-in went unanswered: tell the patient's team, in working hours.
    CheckInUnanswered {
        /// Whose.
        enrolment: EnrolmentId,
        /// When the check-in was sent.
        sent_at: Instant,
    },
    /// An ongoing enrolment is due for review: remind its co-ordinator (or
    /// its service's in-hours team), in working hours.
    Review {
        /// Whose.
        enrolment: EnrolmentId,
        /// The review date it was set for (a changed date makes it stale).
        review_at: Instant,
    },
    /// Tell a service's in-hours team what its patients raised out of hours.
    Handover {
        /// The service.
        service: Id,
        /// When the out-of-hours period it covers began.
        since: Instant,
    },
}

impl NoticeKind {
    /// As logs and timelines name it: `check_in`, `check_in_unanswered`, `review`, `handover`.
    pub fn as_str(&self) -> &'static str {
        match self {
            NoticeKind::CheckIn { .. } => "check_in",
            NoticeKind::CheckInUnanswered { .. } => "check_in_unanswered",
            NoticeKind::Review { .. } => "review",
            NoticeKind::Handover { .. } => "handover",
        }
    }
}

/// What a patient or carer answered to a check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInAnswer {
    /// Whose enrolment.
    pub enrolment: EnrolmentId,
    /// When the check-in was sent.
    pub sent_at: Instant,
    /// When they answered.
    pub at: Instant,
    /// What the answer was.
    pub answer: CheckInReply,
}

/// A check-in's answer, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum CheckInReply {
    /// "1": all is well.
    Well,
    /// Anything else: it opened (or joined) this concern.
    Concern {
        /// The concern.
        concern: ConcernId,
    },
}

// ---- the rota edits layer and the audit trail (docs/adr/0013) ---------------

/// A rota edit made on the web, as it is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRotaEdit {
    /// The service whose page it was made on (whose managers may undo it).
    pub service: Id,
    /// The override or swap, with the fields `rota/overrides.toml` has.
    pub body: crate::rota::layer::EditBody,
    /// Why, as the manager wrote it.
    pub reason: String,
    /// Who made it.
    pub made_by: Id,
    /// When.
    pub made_at: Instant,
}

/// Who undid an edit, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undone {
    /// Who.
    pub by: Id,
    /// When.
    pub at: Instant,
}

/// A stored rota edit. Undone edits stay, as history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotaEdit {
    /// Its number, from 1, in the order edits were made.
    pub id: u64,
    /// What was asked for.
    pub edit: NewRotaEdit,
    /// Set once it is undone; an undone edit no longer counts.
    pub undone: Option<Undone>,
}

/// One line of the audit trail, as it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When.
    pub at: Instant,
    /// Who (a member of staff's id).
    pub who: Id,
    /// The service it concerns, if one.
    pub service: Option<Id>,
    /// The other services the change reaches (an edit of a rotation or a
    /// person several services share): the line is shown to their
    /// managers too. Empty for most lines, and for lines written before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Id>,
    /// What was done, in a few words ("override added", "edit undone").
    pub action: String,
    /// What it was before (TOML, or empty).
    pub before: String,
    /// What it is after (TOML, or empty).
    pub after: String,
}

/// One stored line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its place in the trail, from 1.
    pub seq: u64,
    /// The rota edit it records, if one.
    pub edit: Option<u64>,
    /// What was written.
    pub record: AuditRecord,
}

/// The store. Every method blocks; see [`blocking`].
pub trait Store: Send + Sync + 'static {
    /// Check a write can commit now, through the same path inbound
    /// messages take (for `/readyz`: "can accept a webhook now").
    fn ping(&self) -> StoreResult<()>;

    /// Record an inbound item durably; `false` if its key was seen before (a provider retry).
    fn record_inbound(&self, item: &Inbound) -> StoreResult<bool>;
    /// The inbound item stored under `key`, processed or not (until a
    /// purge removes it): how one step of a phone call finds what an
    /// earlier step of the same call recorded.
    fn inbound(&self, key: &str) -> StoreResult<Option<Inbound>>;

    /// Claim for `node`, until `now + lease`, up to `limit` inbound items not
    /// yet processed and not under a live claim (none, or its lease ended,
    /// or it was released), oldest first. Two callers never get one item.
    fn claim_inbound(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<Inbound>>>;
    /// Claim up to `limit` timers due at or before `now` and not under a
    /// live claim, earliest first.
    fn claim_timers(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<Timer>>>;
    /// Claim up to `limit` unsent outbox items due at or before `now` and
    /// not under a live claim, oldest first; never one while an earlier
    /// unsent item in its lane exists, claimed or not. A lane is a patient's
    /// or carer's number (texts with no `staff`), or a clinician's number
    /// and one concern. So texts to a patient go out in the order queued,
    /// and a clinician's about one concern, while a page that hangs holds
    /// up no other patient's page to the same clinician.
    /// An item claimed before whose outcome was never written comes back
    /// with [`OutboxItem::in_flight`] set.
    fn claim_outbox(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<OutboxItem>>>;
    /// Extend the lease of each claim still held (same token, not released,
    /// work not completed) to `until`; returns those, with the new `until`.
    /// A claim whose lease ended is still renewed if nobody has claimed the
    /// work since. The ones missing were lost: stop working on them.
    fn renew(&self, claims: &[Claim], until: Instant) -> StoreResult<Vec<Claim>>;
    /// Give work back at once (on a graceful shutdown, or after a
    /// conflict): it can be claimed again straight away, and a change
    /// carrying these claims is refused. Claims no longer held are ignored.
    fn release(&self, claims: &[Claim]) -> StoreResult<()>;

    /// Apply one change atomically, or answer [`StoreError::Conflict`] and
    /// write nothing (see [`Change`]).
    fn apply(&self, change: Change) -> StoreResult<()>;

    /// An enrolment by id.
    fn enrolment(&self, id: EnrolmentId) -> StoreResult<Option<Enrolment>>;
    /// End an enrolment early; `false` if there was none (or it had ended).
    fn end_enrolment(&self, id: EnrolmentId, at: Instant) -> StoreResult<bool>;
    /// Enrolments active at `now` whose patient or a carer has this number, newest first.
    fn enrolments_for_phone(
        &self,
        phone: &PhoneNumber,
        now: Instant,
    ) -> StoreResult<Vec<Enrolment>>;
    /// Enrolments active at `now` whose patient or a carer has this email
    /// (compared without regard to case), newest first.
    fn enrolments_for_email(
        &self,
        email: &EmailAddress,
        now: Instant,
    ) -> StoreResult<Vec<Enrolment>>;

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

    // Reports (the figures a clinical safety officer reviews).

    /// A service's concerns opened in `[from, until)`, oldest first (by
    /// when they were opened, then by id), each with its timeline: what the
    /// week's report is computed from ([`crate::reports`]). Served by an
    /// index on service and opening time.
    fn concerns_opened(
        &self,
        service: &Id,
        from: Instant,
        until: Instant,
    ) -> StoreResult<Vec<(Concern, Vec<TimelineEntry>)>>;
    /// Work waiting at `now`, for metrics.
    fn backlog(&self, now: Instant) -> StoreResult<Backlog>;
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

    /// The earliest instant at which some work may be there to claim: for
    /// every timer, every outbox item `claim_outbox` could return (the
    /// first unsent to its number) and every unprocessed inbound item, its
    /// due time (an inbound item's arrival) or, if later, the end of the
    /// lease it is under. An instant in the past means there is work to
    /// claim now; work another node holds counts from its lease's end, so a
    /// node that found nothing to claim is not sent straight back (it does
    /// not spin), and work a dead node held is looked at when its lease ends.
    fn next_due(&self) -> StoreResult<Option<Instant>> {
        self.next_due_of(&WorkKind::ALL)
    }
    /// As [`Store::next_due`], for these kinds of work only: a loop that
    /// claims timers and inbound items is not kept awake by texts waiting
    /// for the sending loop, nor put to sleep past a timer by them.
    fn next_due_of(&self, kinds: &[WorkKind]) -> StoreResult<Option<Instant>>;
    /// The outbox item the provider knows by this id.
    fn outbox_by_provider_id(&self, provider_id: &str) -> StoreResult<Option<OutboxItem>>;

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
    /// [`Store::pages_for`] and [`Store::page`] never see it and a reply
    /// such as "A12" can only act on a concern the clinician was paged for.
    /// Opening the page ([`Change::open_pages`]) turns the reservation into
    /// the page; closing the concern's pages ([`Change::close_pages`])
    /// releases its reservations into quarantine, as it does pages.
    fn reserve_code(
        &self,
        concern: ConcernId,
        staff: &Id,
        quarantine_since: Instant,
        at: Instant,
    ) -> StoreResult<u16>;

    /// Whether this number has opted out of texts.
    fn is_opted_out(&self, phone: &PhoneNumber) -> StoreResult<bool>;

    /// Store an API key under the hash of its secret. [`StoreError::Invalid`]
    /// if a key has this hash or this name already (revoked keys keep theirs).
    fn create_api_key(&self, key: &ApiKey, hash: [u8; 32]) -> StoreResult<()>;
    /// The API key with this hash, revoked or not. A key stored before keys
    /// had scopes reads with [`crate::api_keys::Scopes::BEFORE_SCOPES`] and
    /// its own name as its client.
    fn api_key(&self, hash: [u8; 32]) -> StoreResult<Option<ApiKey>>;
    /// Every API key, revoked or not, oldest first.
    fn api_keys(&self) -> StoreResult<Vec<ApiKey>>;
    /// Revoke the keys named `name` at `at`; `false` if none was left to
    /// revoke (no such name, or revoked already).
    fn revoke_api_key(&self, name: &str, at: Instant) -> StoreResult<bool>;

    /// A named random secret, made on first use and kept (e.g. for signing links).
    fn secret(&self, name: &str) -> StoreResult<Vec<u8>>;

    // ---- the rota edits layer and the audit trail (docs/adr/0013) ----

    /// Store a rota edit, with its line in the audit trail (which gets the
    /// edit's number), and move the layer's version on: all or nothing, and
    /// only while the layer is still at version `judged_at` (the one the edit
    /// was judged against), else [`StoreError::Conflict`]: two managers'
    /// edits at once cannot both pass judgement against the same layer.
    /// Returns the edit's number.
    fn add_rota_edit(
        &self,
        edit: &NewRotaEdit,
        audit: &AuditRecord,
        judged_at: u64,
    ) -> StoreResult<u64>;
    /// Undo edit `id`, with its line in the audit trail, and move the layer's
    /// version on, only while the layer is still at version `judged_at` (as
    /// for [`Store::add_rota_edit`], else [`StoreError::Conflict`]). False
    /// (and nothing written) when there is no such edit or it is undone
    /// already.
    fn undo_rota_edit(
        &self,
        id: u64,
        undone: &Undone,
        audit: &AuditRecord,
        judged_at: u64,
    ) -> StoreResult<bool>;
    /// Every rota edit, undone or not, in the order they were made.
    fn rota_edits(&self) -> StoreResult<Vec<RotaEdit>>;
    /// A number that changes whenever the layer does (0 before any edit):
    /// nodes compare it to know when to rebuild their rota.
    fn rota_layer_version(&self) -> StoreResult<u64>;
    /// Append a line to the audit trail; returns its place.
    fn append_audit(&self, record: &AuditRecord) -> StoreResult<u64>;
    /// The audit trail from place `after + 1`, oldest first, at most `limit` lines.
    fn audit_trail(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEntry>>;
    /// Mark a gap (by its key) as alerted: true for the one caller that marks
    /// it first, false ever after.
    fn mark_gap_alerted(&self, key: &str, at: Instant) -> StoreResult<bool>;

    // ---- scheduled notices and check-ins (docs/adr/0017) ----

    /// Claim up to `limit` notices due at or before `now` and not under a
    /// live claim, earliest first.
    fn claim_notices(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<Notice>>>;
    /// The notice with this key, if one is scheduled.
    fn notice(&self, key: &str) -> StoreResult<Option<Notice>>;
    /// The answers to an enrolment's check-ins, oldest first (deleted with
    /// the enrolment when retention removes it).
    fn check_in_answers(&self, enrolment: EnrolmentId) -> StoreResult<Vec<CheckInAnswer>>;

    /// Write a consistent copy of everything to `to` (which must not exist),
    /// while the service keeps running.
    fn backup(&self, to: &std::path::Path) -> StoreResult<()>;

    // ---- Staff on the web: sign-in codes, sessions, calendar links ----
    // (hashes only: the codes and tokens themselves are never stored)

    /// Store a sign-in code waiting to be typed in (replacing one with the
    /// same challenge). Codes past their expiry may be deleted on the way.
    fn put_sign_in_code(&self, code: &SignInCode) -> StoreResult<()>;
    /// Try the code whose hash is `code` against the challenge `challenge`,
    /// at `now`, in one atomic step: the right code, in time, is deleted
    /// and returned (it works once); a wrong one counts an attempt, and the
    /// code is deleted at `max_attempts` wrong ones; an expired or unknown
    /// challenge is [`CodeCheck::Gone`].
    fn check_sign_in_code(
        &self,
        challenge: [u8; 32],
        code: [u8; 32],
        now: Instant,
        max_attempts: u32,
    ) -> StoreResult<CodeCheck>;
    /// Count one request against `bucket` in the fixed window of length
    /// `window` that `now` falls in, and answer how many that window now
    /// holds (this one included). Every node shares the counts.
    fn count_hit(&self, bucket: &str, now: Instant, window: TimeDelta) -> StoreResult<u32>;
    /// How many requests `bucket` holds in the fixed window of length
    /// `window` that `now` falls in, counting none (0 if none were).
    fn hits(&self, bucket: &str, now: Instant, window: TimeDelta) -> StoreResult<u32>;
    /// Store a new session.
    fn create_session(&self, session: &Session) -> StoreResult<()>;
    /// The session whose token hashes to `hash`, if stored (expired or not:
    /// the caller judges expiry).
    fn session(&self, hash: [u8; 32]) -> StoreResult<Option<Session>>;
    /// Note that a session was used at `at` (its idle expiry counts from there).
    fn touch_session(&self, hash: [u8; 32], at: Instant) -> StoreResult<()>;
    /// Delete a session (signing out, or found expired).
    fn delete_session(&self, hash: [u8; 32]) -> StoreResult<()>;
    /// Give `person` a calendar feed token (its hash), replacing any they
    /// had, or with `None` revoke theirs.
    fn set_calendar_token(
        &self,
        person: &Id,
        hash: Option<[u8; 32]>,
        at: Instant,
    ) -> StoreResult<()>;
    /// Whose calendar feed token hashes to `hash`.
    fn calendar_person(&self, hash: [u8; 32]) -> StoreResult<Option<Id>>;
    /// When `person`'s current calendar feed token was made, if they have one.
    fn calendar_token_made(&self, person: &Id) -> StoreResult<Option<Instant>>;
}

/// How someone proved who they are when they signed in. A sign-in through
/// the trust's identity provider (OpenID Connect) would be one more kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// A one-time code texted to a phone the rota files hold.
    SmsCode,
    /// A one-time code emailed to an address the rota files hold.
    EmailCode,
}

impl SignInMethod {
    /// Its name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::SmsCode => "sms_code",
            SignInMethod::EmailCode => "email_code",
        }
    }

    /// The method a stored name stands for.
    pub fn parse(s: &str) -> Option<Self> {
        [SignInMethod::SmsCode, SignInMethod::EmailCode]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// A one-time sign-in code waiting to be typed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInCode {
    /// The hash of the challenge token the browser that asked holds.
    pub challenge: [u8; 32],
    /// Whom it signs in.
    pub person: Id,
    /// The hash of the code (keyed by the challenge token).
    pub code: [u8; 32],
    /// How it was sent.
    pub method: SignInMethod,
    /// When it stops working.
    pub expires_at: Instant,
}

/// What trying a sign-in code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    /// The right code, in time: it is used up.
    Accepted(SignInCode),
    /// Not the code; this many more tries are left (0: it is gone).
    Wrong {
        /// Tries left before the code is deleted.
        attempts_left: u32,
        /// Whom the code was for (wrong codes are counted per person too).
        person: Id,
    },
    /// No such code waits: expired, used, tried too often, or never made.
    Gone,
}

/// A signed-in person's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The hash of the session token in the browser's cookie.
    pub hash: [u8; 32],
    /// Who signed in.
    pub person: Id,
    /// How they proved it.
    pub method: SignInMethod,
    /// When they signed in.
    pub created_at: Instant,
    /// When it was last used.
    pub last_seen: Instant,
    /// When it ends however busy it is (the store may delete it then).
    pub expires_at: Instant,
}

/// Run a store call on the blocking pool, off the async runtime.
pub async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}").into()))?
}

/// Open the store a `NIGHTINGALE_STORE` URL names.
pub fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(sqlite::SqliteStore::open(std::path::Path::new(
            path,
        ))?))
    } else if [
        "redis://",
        "rediss://",
        "redis+unix://",
        "redis+sentinel://",
        "rediss+sentinel://",
        "redis+cluster://",
        "rediss+cluster://",
    ]
    .iter()
    .any(|scheme| url.starts_with(scheme))
    {
        Ok(Arc::new(redis::RedisStore::open(url)?))
    } else {
        anyhow::bail!(
            "NIGHTINGALE_STORE is not understood: write sqlite://PATH (e.g. sqlite://data/nightingale.db), or redis://HOST:PORT (also rediss://, redis+unix://, redis+sentinel://HOST:26379/MASTER, redis+cluster://HOST:PORT,HOST:PORT)"
        )
    }
}

/// Hold the store a `NIGHTINGALE_STORE` URL names for one `serve`: a SQLite
/// file takes one serve at a time ([`sqlite::ServeLock`]); a shared store
/// for several nodes needs no lock (`None`). Keep it until serving stops.
pub fn lock_for_serving(url: &str) -> anyhow::Result<Option<sqlite::ServeLock>> {
    match url.strip_prefix("sqlite://") {
        Some(path) => Ok(Some(sqlite::ServeLock::acquire(std::path::Path::new(
            path,
        ))?)),
        None => Ok(None),
    }
}

#[cfg(test)]
pub(crate) mod conformance;

/// An API key as a backend reads it back: a key stored before keys had
/// clients and scopes (its `client` and `scopes` missing) is its own
/// name's client with [`crate::api_keys::Scopes::BEFORE_SCOPES`]. One rule
/// for both backends (docs/adr/0021).
pub(crate) fn api_key_as_stored(
    name: String,
    client: Option<String>,
    scopes: Option<&str>,
    created_at: Instant,
    expires_at: Option<Instant>,
    revoked_at: Option<Instant>,
) -> StoreResult<ApiKey> {
    let scopes = match scopes {
        Some(text) => crate::api_keys::Scopes::parse(text)
            .map_err(|e| StoreError::Corrupt(format!("API key {name:?}: {e}").into()))?,
        None => crate::api_keys::Scopes::BEFORE_SCOPES,
    };
    Ok(ApiKey {
        client: client.unwrap_or_else(|| name.clone()),
        name,
        scopes,
        created_at,
        expires_at,
        revoked_at,
    })
}

/// When an enrolment stops being active, as both backends index it: when
/// it was ended, or ends by itself, or, for an ongoing enrolment that has
/// not been ended, the last instant of the year 9999. Active-enrolment
/// look-ups compare with it and purging counts retention from it, so an
/// ongoing enrolment is found until it is ended and is never purged before.
pub(crate) fn ends_at_or_never(e: &Enrolment) -> Instant {
    e.ended_or_ends_at().unwrap_or_else(never)
}

/// The fixed window of length `window` that `now` falls in, as both
/// backends count hits in it: its start and end in ms since the epoch
/// (windows start at multiples of their length).
pub(crate) fn hit_window(now: Instant, window: TimeDelta) -> StoreResult<(i64, i64)> {
    let len = window.num_milliseconds();
    if len <= 0 {
        return Err(StoreError::Invalid(
            format!("a window of {window} cannot count requests").into(),
        ));
    }
    let start = now.timestamp_millis().div_euclid(len) * len;
    Ok((start, start + len))
}

/// The last instant of the year 9999: "not until it is ended", for indexes
/// that need a time (see [`ends_at_or_never`]).
pub(crate) fn never() -> Instant {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 999))
        .map(|t| t.and_utc())
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
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

    #[test]
    fn every_work_key_is_written_as_stored_and_read_back() {
        let concern: ConcernId = "0b5a4f4e-8a57-4c38-9a55-1f0e8e6a3b2c".parse().unwrap();
        let stored = [
            (WorkKey::Inbound("sms:SM1".into()), "sms:SM1"),
            (
                WorkKey::Timer {
                    concern,
                    kind: TimerKind::AckDeadline,
                },
                "0b5a4f4e-8a57-4c38-9a55-1f0e8e6a3b2c/ack_deadline",
            ),
            (WorkKey::Outbox(42), "42"),
            (WorkKey::Notice("check_in/E1".into()), "check_in/E1"),
        ];
        for (key, text) in stored {
            assert_eq!(key.to_string(), text);
            assert_eq!(WorkKey::parse(key.kind(), text), Ok(key));
        }
    }

    #[test]
    fn a_malformed_work_key_is_an_error_naming_it() {
        let concern = "0b5a4f4e-8a57-4c38-9a55-1f0e8e6a3b2c";
        for (kind, text) in [
            (WorkKind::Outbox, "x1"),
            (WorkKind::Outbox, "007"),
            (WorkKind::Timer, concern),
            (WorkKind::Timer, "not-a-concern/handover"),
            (WorkKind::Timer, &format!("{concern}/nap")),
            (
                WorkKind::Timer,
                &format!("{}/handover", concern.to_uppercase()),
            ),
        ] {
            let error = WorkKey::parse(kind, text).unwrap_err();
            assert_eq!((error.kind, error.key.as_str()), (kind, text));
        }
    }
}
