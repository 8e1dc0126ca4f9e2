//! The work nodes claim: inbound items, due timers, outbox items and
//! notices, each under a lease with a fencing token ([`Claim`], ADR 7), and
//! the one atomic [`Change`] that completes a piece of work.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::checkins::{CheckInAnswer, Notice};
use crate::clock::Instant;
use crate::concern::{Concern, ConcernId, Page};
use crate::directory::{Enrolment, EnrolmentId, PhoneNumber};
use crate::inbox::Inbound;
use crate::outbox::{NewOutbox, OutboxItem, OutboxOutcome};
use crate::store_error::{StoreError, StoreResult};
use crate::timeline::TimelineEntry;

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

    /// The kind a stored name stands for.
    pub fn parse(s: &str) -> Option<Self> {
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
    /// An inbound item to take in ([`Inbound::key`]): claimed while not
    /// yet processed, oldest first.
    Inbound,
    /// A due timer to fire ([`WorkKey::Timer`]): claimed once due at or
    /// before `now`, earliest first.
    Timer,
    /// An outbox item to send ([`WorkKey::Outbox`]): claimed while unsent
    /// and due at or before `now`, oldest first; never one while an earlier
    /// unsent item in its lane exists, claimed or not. A lane is a patient's
    /// or carer's number (texts with no `staff`), or a clinician's number
    /// and one concern. So texts to a patient go out in the order queued,
    /// and a clinician's about one concern, while a page that hangs holds
    /// up no other patient's page to the same clinician. An item claimed
    /// before whose outcome was never written comes back with
    /// [`OutboxItem::in_flight`] set.
    Outbox,
    /// A scheduled notice to send ([`Notice::key`]): a check-in, a
    /// reminder, a morning handover (docs/adr/0017). Claimed once due at
    /// or before `now`, earliest first.
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
pub trait Work: Sized {
    /// Its kind.
    const KIND: WorkKind;
    /// The key its claims carry.
    fn work_key(&self) -> WorkKey;
    /// The claimed work, if it is of this kind.
    fn from_claimed_work(claimed: ClaimedWork) -> Option<Vec<Claimed<Self>>>;
}

/// Implements [`Work`] for a type: its kind, its [`ClaimedWork`] variant,
/// and how its key is made.
macro_rules! work {
    ($type:ty, $kind:ident, $variant:ident, |$item:ident| $key:expr) => {
        impl Work for $type {
            const KIND: WorkKind = WorkKind::$kind;
            fn work_key(&self) -> WorkKey {
                let $item = self;
                $key
            }
            fn from_claimed_work(claimed: ClaimedWork) -> Option<Vec<Claimed<Self>>> {
                match claimed {
                    ClaimedWork::$variant(claimed) => Some(claimed),
                    _ => None,
                }
            }
        }
    };
}

work!(Inbound, Inbound, Inbound, |item| WorkKey::Inbound(
    item.key.clone()
));
work!(Timer, Timer, Timers, |item| WorkKey::Timer {
    concern: item.concern,
    kind: item.kind,
});
work!(OutboxItem, Outbox, Outbox, |item| WorkKey::Outbox(item.id));
work!(Notice, Notice, Notices, |item| WorkKey::Notice(
    item.key.clone()
));

/// One node's hold on one piece of work, until its lease ends.
///
/// Another node may claim the work once the lease has ended (or it was
/// released); its claim has a higher `token`, and from then on a change
/// carrying the old claim is refused with [`StoreError::Conflict`](crate::store_error::StoreError::Conflict) (fencing).
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
    /// When the lease ends, unless renewed ([`WorkQueue::renew`]).
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

/// What a node asks for when it claims work ([`WorkQueue::claim`]).
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    /// Who claims: the claims record it as their holder.
    pub node: &'a NodeId,
    /// The claiming node's now: work due at or before it may be claimed.
    pub now: Instant,
    /// How long the claims hold, from `now`: more than zero.
    pub lease: TimeDelta,
    /// How many pieces of work at the most.
    pub limit: usize,
}

impl ClaimRequest<'_> {
    /// When the claims end: `now + lease`, or [`StoreError::Invalid`] for a
    /// lease of zero or less or one past the end of time.
    pub fn until(&self) -> StoreResult<Instant> {
        let lease = self.lease;
        (self.now)
            .checked_add_signed(lease)
            .filter(|_| lease > TimeDelta::zero())
            .ok_or_else(|| StoreError::Invalid(format!("a lease of {lease} cannot be held").into()))
    }
}

/// Work of one kind and the claims on it, as [`WorkQueue::claim`]
/// answers: one variant a kind, so that the one `claim` serves every kind.
#[derive(Debug)]
pub enum ClaimedWork {
    /// Inbound items.
    Inbound(Vec<Claimed<Inbound>>),
    /// Due timers.
    Timers(Vec<Claimed<Timer>>),
    /// Outbox items.
    Outbox(Vec<Claimed<OutboxItem>>),
    /// Due notices.
    Notices(Vec<Claimed<Notice>>),
}

impl ClaimedWork {
    /// No work of this kind.
    pub fn none(kind: WorkKind) -> Self {
        match kind {
            WorkKind::Inbound => ClaimedWork::Inbound(Vec::new()),
            WorkKind::Timer => ClaimedWork::Timers(Vec::new()),
            WorkKind::Outbox => ClaimedWork::Outbox(Vec::new()),
            WorkKind::Notice => ClaimedWork::Notices(Vec::new()),
        }
    }

    /// The claims, whatever the kind of work.
    pub fn claims(&self) -> Vec<Claim> {
        fn of<T>(claimed: &[Claimed<T>]) -> Vec<Claim> {
            claimed.iter().map(|c| c.claim.clone()).collect()
        }
        match self {
            ClaimedWork::Inbound(c) => of(c),
            ClaimedWork::Timers(c) => of(c),
            ClaimedWork::Outbox(c) => of(c),
            ClaimedWork::Notices(c) => of(c),
        }
    }
}

/// A backend's claim of work of kind `T::KIND`: each backend writes it once,
/// generic over `T`, and [`claim_by_kind`] makes its [`WorkQueue::claim`].
pub trait ClaimKind<T: Work> {
    /// Claim as [`WorkQueue::claim`] says, work of kind `T::KIND` (at
    /// least one piece is asked for).
    fn claim_kind(&self, request: &ClaimRequest<'_>) -> StoreResult<Vec<Claimed<T>>>;
}

/// [`WorkQueue::claim`] for a backend that claims every kind of work: the
/// one place that turns a [`WorkKind`] into the type of its work.
pub fn claim_by_kind<B>(
    backend: &B,
    kind: WorkKind,
    request: &ClaimRequest<'_>,
) -> StoreResult<ClaimedWork>
where
    B: ClaimKind<Inbound> + ClaimKind<Timer> + ClaimKind<OutboxItem> + ClaimKind<Notice>,
{
    // A lease that cannot be held is refused even when nothing is asked for.
    request.until()?;
    if request.limit == 0 {
        return Ok(ClaimedWork::none(kind));
    }
    match kind {
        WorkKind::Inbound => backend.claim_kind(request).map(ClaimedWork::Inbound),
        WorkKind::Timer => backend.claim_kind(request).map(ClaimedWork::Timers),
        WorkKind::Outbox => backend.claim_kind(request).map(ClaimedWork::Outbox),
        WorkKind::Notice => backend.claim_kind(request).map(ClaimedWork::Notices),
    }
}

/// [`WorkQueue::claim`], typed by the work claimed:
/// `queue.claim_of::<Timer>(&node, now, lease, limit)`. Every queue has it.
pub trait ClaimOf: WorkQueue {
    /// Claim work of kind `T::KIND` (see [`WorkQueue::claim`]).
    fn claim_of<T: Work>(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<T>>> {
        let request = ClaimRequest {
            node,
            now,
            lease,
            limit,
        };
        let claimed = self.claim(T::KIND, &request)?;
        T::from_claimed_work(claimed).ok_or_else(|| {
            StoreError::Corrupt(
                format!("a claim of {} work answered another kind", T::KIND.as_str()).into(),
            )
        })
    }
}

impl<Q: WorkQueue + ?Sized> ClaimOf for Q {}

/// One atomic write: a concern's new state and everything it causes.
///
/// It is written whole or not at all, and only while the work it completes
/// is still claimed with the same token (`claim`) and the concern it carries
/// is still the version that was read (`concern`): otherwise
/// [`WorkQueue::apply`] answers [`StoreError::Conflict`](crate::store_error::StoreError::Conflict) and writes nothing.
#[derive(Debug, Default)]
pub struct Change {
    /// When the change happens (the engine's `now`): new outbox items fall due then.
    pub at: Instant,
    /// The claimed work this change completes. Written only if that work's
    /// current claim has this token; on success the claim ends with the work:
    /// an inbound item is marked processed, a timer is removed (unless this
    /// change re-arms it in `set_timers`), and an outbox item must have its
    /// outcome in `outbox_outcomes` (else [`StoreError::Invalid`](crate::store_error::StoreError::Invalid)).
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

/// The work queue (docs/adr/0007): inbound items recorded and claimed,
/// due timers, outbox items and notices claimed under a lease with a
/// fencing token, leases renewed and released, and the one atomic
/// [`Change`] that completes a piece of work ([`WorkQueue::apply`]). Also
/// what the loops need to sleep well ([`WorkQueue::next_due`]) and to match
/// a provider's report to what was sent, and the answers check-ins got.
/// Every method blocks.
pub trait WorkQueue: Send + Sync + 'static {
    /// Check a write can commit now, through the same path inbound
    /// messages take (for `/readyz`: "can accept a webhook now").
    fn ping(&self) -> StoreResult<()>;
    /// Record an inbound item durably; `false` if its key was seen before (a provider retry).
    fn record_inbound(&self, item: &Inbound) -> StoreResult<bool>;
    /// The inbound item stored under `key`, processed or not (until a
    /// purge removes it): how one step of a phone call finds what an
    /// earlier step of the same call recorded.
    fn inbound(&self, key: &str) -> StoreResult<Option<Inbound>>;
    /// Claim work of one kind for `request.node`, until `now + lease` (a
    /// lease of zero or less is [`StoreError::Invalid`]): up to `limit`
    /// pieces claimable at `now` and not under a live claim (none, or its lease
    /// ended, or it was released). Two callers never get one piece. What
    /// each kind takes, and in what order, is on [`WorkKind`]'s variants;
    /// [`ClaimOf::claim_of`] is the same, typed by the work.
    fn claim(&self, kind: WorkKind, request: &ClaimRequest<'_>) -> StoreResult<ClaimedWork>;
    /// Extend the lease of each claim still held (same token, not released,
    /// work not completed) to `until`; returns those, with the new `until`.
    /// A claim whose lease ended is still renewed if nobody has claimed the
    /// work since. The ones missing were lost: stop working on them.
    fn renew(&self, claims: &[Claim], until: Instant) -> StoreResult<Vec<Claim>>;
    /// Give work back at once (on a graceful shutdown, or after a
    /// conflict): it can be claimed again straight away, and a change
    /// carrying these claims is refused. Claims no longer held are ignored.
    fn release(&self, claims: &[Claim]) -> StoreResult<()>;
    /// Apply one change atomically, or answer [`StoreError::Conflict`](crate::store_error::StoreError::Conflict) and
    /// write nothing (see [`Change`]).
    fn apply(&self, change: Change) -> StoreResult<()>;
    /// The earliest instant at which some work may be there to claim: for
    /// every timer, every outbox item a claim of [`WorkKind::Outbox`] could return (the
    /// first unsent to its number) and every unprocessed inbound item, its
    /// due time (an inbound item's arrival) or, if later, the end of the
    /// lease it is under. An instant in the past means there is work to
    /// claim now; work another node holds counts from its lease's end, so a
    /// node that found nothing to claim is not sent straight back (it does
    /// not spin), and work a dead node held is looked at when its lease ends.
    fn next_due(&self) -> StoreResult<Option<Instant>> {
        self.next_due_of(&WorkKind::ALL)
    }
    /// As [`WorkQueue::next_due`], for these kinds of work only: a loop that
    /// claims timers and inbound items is not kept awake by texts waiting
    /// for the sending loop, nor put to sleep past a timer by them.
    fn next_due_of(&self, kinds: &[WorkKind]) -> StoreResult<Option<Instant>>;
    /// The outbox item the provider knows by this id.
    fn outbox_by_provider_id(&self, provider_id: &str) -> StoreResult<Option<OutboxItem>>;
    /// The notice with this key, if one is scheduled.
    fn notice(&self, key: &str) -> StoreResult<Option<Notice>>;
    /// The answers to an enrolment's check-ins, oldest first (deleted with
    /// the enrolment when retention removes it).
    fn check_in_answers(&self, enrolment: EnrolmentId) -> StoreResult<Vec<CheckInAnswer>>;
}

#[cfg(test)]
mod tests {
    use super::*;

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
