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

use crate::access::sessions::{CodeCheck, Session, SignInCode};
use crate::api_keys::ApiKey;
use crate::checkins::{CheckInAnswer, Notice};
use crate::clock::Instant;
use crate::concern::{Concern, ConcernId};
use crate::concern::{ConcernFilter, Page, Purged};
use crate::directory::{Address, EmailAddress, Enrolment, EnrolmentId, Id, PhoneNumber};
use crate::inbox::Inbound;
use crate::outbox::OutboxItem;
use crate::reports::Backlog;
use crate::rota::layer::{AuditEntry, AuditRecord, NewRotaEdit, RotaEdit, Undone};
use crate::store_error::{StoreError, StoreResult};
use crate::timeline::TimelineEntry;
use crate::work::timer_key;
use crate::work::{Change, Claim, Claimed, NodeId, Timer, WorkKind};

// ---- scheduled notices (docs/adr/0017) ---------------------------------------

// ---- the rota edits layer and the audit trail (docs/adr/0013) ---------------

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
    /// Inbound items not yet processed, oldest first, whether claimed or not.
    ///
    /// Single-node only, and on its way out (use [`Store::claim_inbound`]):
    /// it reads without claiming, so two nodes would both take an item.
    fn pending_inbound(&self, limit: usize) -> StoreResult<Vec<Inbound>>;

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

    /// Timers due at or before `now`, earliest first, whether claimed or not.
    ///
    /// Single-node only, and on its way out (use [`Store::claim_timers`]).
    fn due_timers(&self, now: Instant, limit: usize) -> StoreResult<Vec<Timer>>;
    /// Outbox items due at or before `now`, oldest first, at most one per
    /// lane (see [`Store::claim_outbox`]): an item waits while an earlier
    /// one in its lane is unsent.
    /// Claims are not looked at.
    ///
    /// Single-node only, and on its way out (use [`Store::claim_outbox`]).
    fn due_outbox(&self, now: Instant, limit: usize) -> StoreResult<Vec<OutboxItem>>;
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
    /// Whether a clinician's code is in use: on an open page or one closed
    /// since `closed_since`, or reserved ([`Store::reserve_code`]) and not
    /// released, or released since `closed_since`.
    fn code_taken(&self, staff: &Id, code: u16, closed_since: Instant) -> StoreResult<bool>;
    /// The code last given to this clinician (0 if none).
    fn last_code(&self, staff: &Id) -> StoreResult<u16>;
    /// The code this clinician replies with for this concern, in one atomic
    /// step: the one already given (on a page, or reserved), or else the
    /// next after their last code (1–9999, wrapping) that is not in use (see
    /// [`Store::code_taken`], with `quarantine_since`), reserved at `at` so
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
