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

pub mod redis;
pub mod sqlite;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::Instant;
use crate::concern::{Concern, ConcernId, TimelineEntry};
use crate::directory::{Enrolment, EnrolmentId, Id, PhoneNumber};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or written (disk full, locked, gone).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Something stored could not be read back.
    #[error("stored data unreadable: {0}")]
    Corrupt(String),
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
    /// A message to the patient or carer about their concern.
    Notice,
    /// A later message sent on to the clinician.
    Forward,
    /// A reply to a clinician (taken, help, reminder).
    StaffNotice,
}

impl Purpose {
    /// As stored and shown on timelines.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Welcome => "welcome",
            Purpose::Page => "page",
            Purpose::Notice => "notice",
            Purpose::Forward => "forward",
            Purpose::StaffNotice => "staff_notice",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Purpose::Welcome,
            Purpose::Page,
            Purpose::Notice,
            Purpose::Forward,
            Purpose::StaffNotice,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// An SMS to send.
#[derive(Clone, PartialEq, Eq)]
pub struct NewOutbox {
    /// The concern it belongs to, if any.
    pub concern: Option<ConcernId>,
    /// To whom.
    pub to: PhoneNumber,
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
    /// It was handed to the provider and the outcome never recorded (the
    /// process stopped mid-send): ask the provider before sending it again.
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
}

impl TimerKind {
    fn as_str(self) -> &'static str {
        match self {
            TimerKind::AckDeadline => "ack_deadline",
            TimerKind::Handover => "handover",
            TimerKind::Reminder => "reminder",
            TimerKind::Forward => "forward",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            TimerKind::AckDeadline,
            TimerKind::Handover,
            TimerKind::Reminder,
            TimerKind::Forward,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
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
    /// Only concerns that come after this one, newest first (older, or
    /// opened in the same millisecond with a smaller id): where the previous
    /// page ended. Concerns opened since then do not move the place.
    pub after: Option<ConcernKey>,
    /// At most this many.
    pub limit: usize,
}

/// One atomic write: a concern's new state and everything it causes.
#[derive(Debug, Default)]
pub struct Change {
    /// When the change happens (the engine's `now`): new outbox items fall due then.
    pub at: Instant,
    /// A new enrolment.
    pub enrolment: Option<Enrolment>,
    /// The concern's new state (inserted if new).
    pub concern: Option<Concern>,
    /// Timeline entries to append.
    pub timeline: Vec<(ConcernId, TimelineEntry)>,
    /// SMS to send.
    pub outbox: Vec<NewOutbox>,
    /// Outbox items about to be handed to the provider.
    pub outbox_in_flight: Vec<i64>,
    /// Outcomes of send attempts.
    pub outbox_outcomes: Vec<OutboxOutcome>,
    /// Timers to set (replacing one of the same kind).
    pub set_timers: Vec<Timer>,
    /// Concerns whose timers are all cancelled (before `set_timers` apply).
    pub cancel_timers: Vec<ConcernId>,
    /// A timer that fired: removed unless it was re-armed for a later time.
    pub fired_timer: Option<Timer>,
    /// Pages opened (or re-sent, keeping their code).
    pub open_pages: Vec<Page>,
    /// Concerns whose pages close.
    pub close_pages: Vec<ConcernId>,
    /// The inbound item this change processed.
    pub inbound_done: Option<String>,
    /// A number opting out of (true) or back into (false) texts.
    pub opt_out: Option<(PhoneNumber, bool)>,
}

/// The store. Every method blocks; see [`blocking`].
pub trait Store: Send + Sync + 'static {
    /// Check a write can commit now, through the same path inbound
    /// messages take (for `/readyz`: "can accept a webhook now").
    fn ping(&self) -> StoreResult<()>;

    /// Record an inbound item durably; `false` if its key was seen before (a provider retry).
    fn record_inbound(&self, item: &Inbound) -> StoreResult<bool>;
    /// Inbound items not yet processed, oldest first.
    fn pending_inbound(&self, limit: usize) -> StoreResult<Vec<Inbound>>;

    /// Apply one change atomically.
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

    /// A concern by id.
    fn concern(&self, id: ConcernId) -> StoreResult<Option<Concern>>;
    /// A concern's timeline, oldest first.
    fn timeline(&self, id: ConcernId) -> StoreResult<Vec<TimelineEntry>>;
    /// The unresolved concern opened from this number, if any.
    fn open_concern_from(&self, sender: &PhoneNumber) -> StoreResult<Option<Concern>>;
    /// Concerns that match `filter`, newest first (by when they were
    /// opened, then by id, both descending), at most `filter.limit`.
    fn concerns(&self, filter: &ConcernFilter) -> StoreResult<Vec<Concern>>;
    /// How many concerns are not resolved.
    fn unresolved_concerns(&self) -> StoreResult<u64>;
    /// Work waiting at `now`, for metrics.
    fn backlog(&self, now: Instant) -> StoreResult<Backlog>;
    /// Remove what patients and clinicians wrote from concerns resolved
    /// before `closed_before` (their text, notes, a carer's name, the texts
    /// that quoted them, and the raw inbound messages), replacing it with
    /// `placeholder`; and delete enrolments that ended before then.
    /// Who was paged, when, and who accepted stays. Works in batches: call
    /// until it reports nothing left.
    fn purge(&self, closed_before: Instant, placeholder: &str) -> StoreResult<Purged>;

    /// Timers due at or before `now`, earliest first.
    fn due_timers(&self, now: Instant, limit: usize) -> StoreResult<Vec<Timer>>;
    /// Outbox items due at or before `now`, oldest first, at most one per
    /// recipient: an item waits while an earlier one to the same number is
    /// unsent, so several texts to one person go out in the order queued.
    fn due_outbox(&self, now: Instant, limit: usize) -> StoreResult<Vec<OutboxItem>>;
    /// The earliest instant any timer, or any outbox item `due_outbox` could
    /// return, falls due.
    fn next_due(&self) -> StoreResult<Option<Instant>>;
    /// The outbox item the provider knows by this id.
    fn outbox_by_provider_id(&self, provider_id: &str) -> StoreResult<Option<OutboxItem>>;

    /// A clinician's pages: all open ones, and those closed since `closed_since`, newest first.
    fn pages_for(&self, staff: &Id, closed_since: Instant) -> StoreResult<Vec<Page>>;
    /// The page a clinician had for a concern, if any.
    fn page(&self, concern: ConcernId, staff: &Id) -> StoreResult<Option<Page>>;
    /// Whether a clinician's code is in use: on an open page, or one closed since `closed_since`.
    fn code_taken(&self, staff: &Id, code: u16, closed_since: Instant) -> StoreResult<bool>;
    /// The code last given to this clinician (0 if none).
    fn last_code(&self, staff: &Id) -> StoreResult<u16>;

    /// Whether this number has opted out of texts.
    fn is_opted_out(&self, phone: &PhoneNumber) -> StoreResult<bool>;

    /// Store an API key's hash under a name.
    fn create_api_key(&self, name: &str, hash: [u8; 32], at: Instant) -> StoreResult<()>;
    /// The name of the API key with this hash.
    fn api_key(&self, hash: [u8; 32]) -> StoreResult<Option<String>>;

    /// A named random secret, made on first use and kept (e.g. for signing links).
    fn secret(&self, name: &str) -> StoreResult<Vec<u8>>;

    /// Write a consistent copy of everything to `to` (which must not exist),
    /// while the service keeps running.
    fn backup(&self, to: &std::path::Path) -> StoreResult<()>;
}

/// Run a store call on the blocking pool, off the async runtime.
pub async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
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
    ]
    .iter()
    .any(|scheme| url.starts_with(scheme))
    {
        Ok(Arc::new(redis::RedisStore::open(url)?))
    } else {
        anyhow::bail!(
            "NIGHTINGALE_STORE is not understood: write sqlite://PATH (e.g. sqlite://data/nightingale.db), or redis://HOST:PORT (also rediss://, redis+unix://, redis+sentinel://HOST:26379/MASTER)"
        )
    }
}

#[cfg(test)]
pub(crate) mod conformance;

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
