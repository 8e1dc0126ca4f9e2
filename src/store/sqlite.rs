//! The embedded store: SQLite in WAL mode with `synchronous=FULL`.
//!
//! One writer thread owns the only writing connection and group-commits:
//! it takes every write waiting in its queue, applies each inside its own
//! savepoint (so one failing write does not sink the others), and commits
//! them with one fsync. Readers use their own connections, which WAL lets
//! run alongside the writer. A write returns only after its commit, so a
//! `200` to the provider means the message is on disk.
//!
//! Claims, fencing tokens, concern versions and code reservations (the
//! contract for several nodes, docs/adr/0007) are checked and written by
//! the same writer, inside each change's savepoint: one writer makes every
//! check-then-write atomic. Several nodes on one file are still not
//! supported: `serve` holds [`ServeLock`] on it.

use std::any::Any;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::access::sessions::StaffWeb;
use crate::access::sessions::{CodeCheck, Session, SignInCode, SignInMethod};
use crate::api_keys::ApiKey;
use crate::api_keys::Keys;
use crate::checkins::{CheckInAnswer, Notice};
use crate::clock::Instant;
use crate::concern::Concerns;
use crate::concern::{Concern, ConcernId};
use crate::concern::{ConcernFilter, ConcernStatus, Page};
use crate::directory::Enrolments;
use crate::directory::{Address, EmailAddress, Enrolment, EnrolmentId, Id, PhoneNumber};
use crate::inbox::Inbound;
use crate::outbox::{NewOutbox, OutboxItem, OutboxOutcome};
use crate::reports::Reports;
use crate::rota::layer::RotaLayer;
use crate::rota::layer::{AuditEntry, AuditRecord, NewRotaEdit, RotaEdit, Undone};
use crate::store_error::{StoreError, StoreResult};
use crate::timeline::Purpose;
use crate::timeline::TimelineEntry;
use crate::work::WorkQueue;
use crate::work::{Change, Claim, Claimed, NodeId, Timer, TimerKind, WorkKind};
use crate::work::{Work, WorkKey};

/// The most writes committed together.
const MAX_BATCH: usize = 512;

type Job = Box<dyn FnOnce(&Transaction<'_>) -> StoreResult<Box<dyn Any + Send>> + Send>;

struct WriteRequest {
    job: Job,
    reply: mpsc::SyncSender<StoreResult<Box<dyn Any + Send>>>,
}

/// The SQLite store.
pub struct SqliteStore {
    writer: Mutex<Option<mpsc::Sender<WriteRequest>>>,
    writer_thread: Mutex<Option<thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    path: std::path::PathBuf,
}

/// `serve`'s hold on one SQLite file: an exclusive advisory lock (`flock`)
/// on `<db>.lock`, which also holds the pid of the process that has it.
///
/// Two `serve`s on one file would race: each engine would take the same
/// work, and the store's checks run in each process's own writer. So the
/// second one refuses to start. Only `serve` takes the lock: `store backup`
/// and the other commands open the file alongside it, as SQLite allows.
/// The operating system lets go of the lock when the process ends, however
/// it ends, so a stale `.lock` file never stops a restart. (`flock` is not
/// reliable on network file systems; keep the store on a local disk.)
#[derive(Debug)]
pub struct ServeLock {
    _file: std::fs::File,
}

impl ServeLock {
    /// Take the lock for the database at `db`, or say which process has it.
    pub fn acquire(db: &Path) -> anyhow::Result<Self> {
        use std::io::Write;
        let mut path = db.as_os_str().to_owned();
        path.push(".lock");
        let path = std::path::PathBuf::from(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|pid| pid.trim().parse::<u32>().ok())
                    .map(|pid| format!(" (pid {pid})"))
                    .unwrap_or_default();
                anyhow::bail!(
                    "another nightingale serve{holder} is using {}; to run several nodes use NIGHTINGALE_STORE=redis://…",
                    db.display()
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                anyhow::bail!("cannot lock {}: {e}", path.display())
            }
        }
        // Ours now: say whose, for the next one to be refused.
        file.set_len(0)
            .and_then(|()| (&file).write_all(format!("{}\n", std::process::id()).as_bytes()))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        Ok(Self { _file: file })
    }
}

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r"
    CREATE TABLE inbound (
        key TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        processed_at INTEGER
    );
    CREATE INDEX inbound_pending ON inbound(received_at) WHERE processed_at IS NULL;

    CREATE TABLE enrolments (
        id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        ends_at INTEGER NOT NULL,
        ended_at INTEGER
    );
    CREATE TABLE enrolment_phones (
        phone TEXT NOT NULL,
        enrolment_id TEXT NOT NULL REFERENCES enrolments(id),
        PRIMARY KEY (phone, enrolment_id)
    );

    CREATE TABLE concerns (
        id TEXT PRIMARY KEY,
        sender TEXT NOT NULL,
        resolved INTEGER NOT NULL,
        opened_at INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX concerns_unresolved_by_sender ON concerns(sender) WHERE resolved = 0;

    CREATE TABLE timeline (
        seq INTEGER PRIMARY KEY,
        concern_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX timeline_by_concern ON timeline(concern_id, seq);

    CREATE TABLE timers (
        concern_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (concern_id, kind)
    );
    CREATE INDEX timers_due ON timers(due_at);

    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        concern_id TEXT,
        to_number TEXT NOT NULL,
        body TEXT NOT NULL,
        purpose TEXT NOT NULL,
        staff TEXT,
        recipient TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        provider_id TEXT
    );
    CREATE INDEX outbox_due ON outbox(due_at) WHERE state = 'pending';
    CREATE UNIQUE INDEX outbox_by_provider_id ON outbox(provider_id) WHERE provider_id IS NOT NULL;

    CREATE TABLE pages (
        concern_id TEXT NOT NULL,
        staff TEXT NOT NULL,
        code INTEGER NOT NULL,
        open INTEGER NOT NULL,
        opened_at INTEGER NOT NULL,
        closed_at INTEGER,
        PRIMARY KEY (concern_id, staff)
    );
    CREATE INDEX pages_by_staff ON pages(staff, open);
    CREATE INDEX pages_by_code ON pages(staff, code);
    CREATE TABLE last_codes (staff TEXT PRIMARY KEY, code INTEGER NOT NULL);

    CREATE TABLE opt_outs (phone TEXT PRIMARY KEY, opted_out INTEGER NOT NULL);
    CREATE TABLE api_keys (hash BLOB PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
    ",
    // 2: outbox items are marked in flight before they are handed to the
    // provider, so one interrupted mid-send is checked with the provider,
    // not blindly sent again.
    r"
    DROP INDEX outbox_due;
    CREATE INDEX outbox_due ON outbox(due_at) WHERE state IN ('pending', 'in_flight');
    ",
    // 3: when each concern was resolved, and whether its text has been
    // removed after the retention period.
    r"
    ALTER TABLE concerns ADD COLUMN closed_at INTEGER;
    ALTER TABLE concerns ADD COLUMN purged INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX concerns_to_purge ON concerns(closed_at) WHERE purged = 0 AND closed_at IS NOT NULL;
    ",
    // 4: listing concerns (GET /api/v1/concerns), newest first, a page at a
    // time from a keyset cursor. Where each stands, its service and its
    // enrolment become columns, filled here once from the stored concerns
    // and written with every change after. Three indexes serve the list:
    // every concern newest first (also with `service` or `since`: a trust
    // has few services, so a page is found by skipping few rows), the
    // unresolved ones newest first (few among many resolved), and one
    // enrolment's concerns.
    r"
    ALTER TABLE concerns ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
    ALTER TABLE concerns ADD COLUMN service TEXT;
    ALTER TABLE concerns ADD COLUMN enrolment_id TEXT;
    UPDATE concerns SET
        status = COALESCE(json_extract(data, '$.escalation.status.status'),
                          CASE WHEN resolved THEN 'resolved' ELSE 'open' END),
        service = json_extract(data, '$.service'),
        enrolment_id = json_extract(data, '$.enrolment');
    CREATE INDEX concerns_newest ON concerns(opened_at, id);
    CREATE INDEX concerns_unresolved_newest ON concerns(opened_at, id) WHERE resolved = 0;
    CREATE INDEX concerns_by_enrolment ON concerns(enrolment_id, opened_at, id);
    ",
    // 5: texts to one number go out in order (the earliest unsent first); a
    // page remembers the escalation step it was for; each item remembers
    // when it was queued, so a stuck outbox shows its age.
    r"
    ALTER TABLE outbox ADD COLUMN step INTEGER;
    ALTER TABLE outbox ADD COLUMN queued_at INTEGER;
    UPDATE outbox SET queued_at = due_at;
    CREATE INDEX outbox_unsent_by_recipient ON outbox(to_number, id) WHERE state IN ('pending', 'in_flight');
    ",
    // 6: one row `/readyz` rewrites, to prove a write can commit.
    r"
    CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), beats INTEGER NOT NULL);
    ",
    // 7: the contract for several nodes. Work is claimed with a lease and a
    // fencing token (one row per claimed piece of work, kept until the work
    // completes so that `attempts` counts the claims that did not; `until`
    // is NULL once released); tokens come from one counter. A concern has a
    // version, bumped on every write (stored concerns start at 1). Page
    // codes reserved before their page is written are kept apart from pages.
    r"
    CREATE TABLE claims (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        token INTEGER NOT NULL,
        holder TEXT NOT NULL,
        until INTEGER,
        attempts INTEGER NOT NULL,
        PRIMARY KEY (kind, key)
    );
    CREATE TABLE claim_tokens (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
    INSERT INTO claim_tokens (id, last) VALUES (1, 0);
    ALTER TABLE concerns ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE code_reservations (
        concern_id TEXT NOT NULL,
        staff TEXT NOT NULL,
        code INTEGER NOT NULL,
        reserved_at INTEGER NOT NULL,
        closed_at INTEGER,
        PRIMARY KEY (concern_id, staff)
    );
    CREATE INDEX code_reservations_by_staff ON code_reservations(staff, code);
    ",
    // 8: a clinician's texts queue per concern, not per number alone.
    r"
    DROP INDEX outbox_unsent_by_recipient;
    CREATE INDEX outbox_unsent_by_lane ON outbox(to_number, concern_id, id) WHERE state IN ('pending', 'in_flight');
    ",
    // 9: when each unsent text may next be claimed: its due time, or the
    // end of the lease on it if later. Texts waiting at a slow provider
    // then sit past "now" in the index, and neither claiming nor
    // `next_due` steps past them.
    r"
    ALTER TABLE outbox ADD COLUMN ready_at INTEGER;
    UPDATE outbox SET ready_at = MAX(due_at, COALESCE((SELECT c.until FROM claims c
        WHERE c.kind = 'outbox' AND c.key = CAST(outbox.id AS TEXT)), due_at))
        WHERE state IN ('pending', 'in_flight');
    CREATE INDEX outbox_ready ON outbox(ready_at, id) WHERE state IN ('pending', 'in_flight');
    ",
    // 10: staff on the web: sign-in codes waiting, request counts, sessions
    // and calendar feed tokens, each kept as a hash.
    r"
    CREATE TABLE sign_in_codes (
        challenge BLOB PRIMARY KEY,
        person TEXT NOT NULL,
        code BLOB NOT NULL,
        method TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX sign_in_codes_expiry ON sign_in_codes(expires_at);
    CREATE TABLE hit_counts (
        bucket TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        window_end INTEGER NOT NULL,
        hits INTEGER NOT NULL,
        PRIMARY KEY (bucket, window_start)
    );
    CREATE INDEX hit_counts_expiry ON hit_counts(window_end);
    CREATE TABLE sessions (
        hash BLOB PRIMARY KEY,
        person TEXT NOT NULL,
        method TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX sessions_expiry ON sessions(expires_at);
    CREATE TABLE calendar_tokens (
        person TEXT PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
    );
    ",
    // 11: the rota edits layer (undone edits stay), its version, the
    // append-only audit trail, and the gaps already alerted.
    r"
    CREATE TABLE rota_edits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        data TEXT NOT NULL,
        undone TEXT
    );
    CREATE TABLE rota_layer (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
    INSERT INTO rota_layer (id, version) VALUES (1, 0);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        edit INTEGER,
        data TEXT NOT NULL
    );
    CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TABLE gap_alerts (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
    ",
    // 12: reports read one service's concerns opened in a week.
    r"
    CREATE INDEX concerns_by_service ON concerns(service, opened_at, id);
    ",
    // 13: scheduled notices (check-ins, the waits for their answers,
    // morning handovers: docs/adr/0017), claimed like timers; and the
    // answers to check-ins, kept with their enrolment.
    r"
    CREATE TABLE notices (key TEXT PRIMARY KEY, due_at INTEGER NOT NULL, data TEXT NOT NULL);
    CREATE INDEX notices_due ON notices(due_at);
    CREATE TABLE check_in_answers (
        enrolment_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX check_in_answers_by_enrolment ON check_in_answers(enrolment_id, at);
    ",
    // API keys belong to a client and carry scopes, an expiry and when
    // they were revoked; each enrolment records the client whose key made
    // it (docs/adr/0021). Keys stored before keep NULL client and scopes
    // and read as their own name's client with `Scopes::BEFORE_SCOPES`
    // (`store::api_key_as_stored`, one rule for both backends); enrolments
    // made before have no client, so only `read-all` keys see them.
    r"
    ALTER TABLE api_keys ADD COLUMN client TEXT;
    ALTER TABLE api_keys ADD COLUMN scopes TEXT;
    ALTER TABLE api_keys ADD COLUMN expires_at INTEGER;
    ALTER TABLE api_keys ADD COLUMN revoked_at INTEGER;
    CREATE INDEX api_keys_by_name ON api_keys(name);
    ALTER TABLE enrolments ADD COLUMN client TEXT;
    CREATE INDEX enrolments_by_client ON enrolments(client) WHERE client IS NOT NULL;
    ",
];

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL, not NORMAL: NORMAL can lose the last commits on power loss, and a
    // 200 to Twilio promises the message is on disk.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string().into())
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string().into())
}

fn conflict(why: String) -> StoreError {
    StoreError::Conflict(why.into())
}

fn invalid(why: String) -> StoreError {
    StoreError::Invalid(why.into())
}

/// What an SQLite error means for the caller: a broken constraint is a
/// write that will never succeed; damage is corruption; a value that does
/// not read back as its type is corrupt data; the rest (busy, locked, disk
/// full, I/O) may pass.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let kind = match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                ErrorCode::ConstraintViolation | ErrorCode::TooBig => StoreError::Invalid,
                ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt,
                _ => StoreError::Unavailable,
            },
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..) => StoreError::Corrupt,
            rusqlite::Error::ToSqlConversionFailure(..) => StoreError::Invalid,
            _ => StoreError::Unavailable,
        };
        kind(Box::new(e))
    }
}

/// How long after its expiry a sign-in code's row may stay (it no longer works).
const SIGN_IN_CODE_KEPT_MS: i64 = 24 * 3600 * 1000;

/// The fixed window of length `window` that `now` falls in, as (start, end) ms.
fn ms(t: Instant) -> i64 {
    t.timestamp_millis()
}

fn instant(ms: i64) -> Instant {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

fn json<T: serde::Serialize>(value: &T) -> rusqlite::Result<String> {
    serde_json::to_string(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(corrupt)
}

/// A concern row (`data, version`), as read.
fn concern_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, i64)> {
    Ok((row.get(0)?, row.get(1)?))
}

/// A concern with the version its row holds (the copy in its JSON is not kept up to date).
fn concern_from((data, version): (String, i64)) -> StoreResult<Concern> {
    let mut c: Concern = from_json(&data)?;
    c.version = version as u64;
    Ok(c)
}

impl SqliteStore {
    /// Active enrolments with this address (a phone or an email's index
    /// key, ADR 14), newest first.
    fn enrolments_at(&self, address: String, now: Instant) -> StoreResult<Vec<Enrolment>> {
        let rows: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT e.data FROM enrolment_phones p JOIN enrolments e ON e.id = p.enrolment_id
                 WHERE p.phone = ?1 AND e.ended_at IS NULL AND e.ends_at > ?2",
            )?;
            let rows = stmt.query_map(params![address, ms(now)], |r| r.get(0))?;
            rows.collect()
        })?;
        let mut list: Vec<Enrolment> = rows
            .iter()
            .map(|r| from_json(r))
            .collect::<StoreResult<_>>()?;
        list.sort_by_key(|e| std::cmp::Reverse(e.began_at()));
        Ok(list)
    }

    /// Open (creating if need be) the database at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut conn = open_connection(path)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        migrate(&mut conn)
            .map_err(|e| unavailable(format!("cannot migrate {}: {e}", path.display())))?;
        let (tx, rx) = mpsc::channel::<WriteRequest>();
        let handle = thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(unavailable)?;
        Ok(Self {
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(handle)),
            readers: Mutex::new(Vec::new()),
            path: path.to_owned(),
        })
    }

    fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        let (reply, done) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |tx| f(tx).map(|r| Box::new(r) as Box<dyn Any + Send>));
        {
            let writer = self
                .writer
                .lock()
                .map_err(|_| unavailable("writer lock poisoned"))?;
            let sender = writer
                .as_ref()
                .ok_or_else(|| unavailable("store is closed"))?;
            sender
                .send(WriteRequest { job, reply })
                .map_err(|_| unavailable("store writer stopped"))?;
        }
        let result = done
            .recv()
            .map_err(|_| unavailable("store writer stopped"))??;
        result
            .downcast::<R>()
            .map(|b| *b)
            .map_err(|_| corrupt("writer returned the wrong type"))
    }

    fn read<R>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<R>) -> StoreResult<R> {
        let conn = self
            .readers
            .lock()
            .map_err(|_| unavailable("reader lock poisoned"))?
            .pop();
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.path).map_err(unavailable)?,
        };
        let result = f(&conn).map_err(StoreError::from);
        if let Ok(mut readers) = self.readers.lock() {
            readers.push(conn);
        }
        result
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish what it holds and stop.
        if let Ok(mut w) = self.writer.lock() {
            w.take();
        }
        if let Some(handle) = self.writer_thread.lock().ok().and_then(|mut h| h.take()) {
            let _ = handle.join();
        }
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: usize =
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<WriteRequest>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let tx = match conn.transaction() {
            Ok(tx) => tx,
            Err(e) => {
                for req in batch {
                    let _ = req.reply.send(Err(unavailable(&e)));
                }
                continue;
            }
        };
        let mut results = Vec::with_capacity(batch.len());
        for req in batch {
            let outcome = run_in_savepoint(&tx, req.job);
            results.push((req.reply, outcome));
        }
        let committed = tx.commit();
        for (reply, outcome) in results {
            let message = match (&committed, outcome) {
                (Ok(()), outcome) => outcome,
                (Err(e), _) => Err(unavailable(format!("commit failed: {e}"))),
            };
            let _ = reply.send(message);
        }
    }
}

fn run_in_savepoint(tx: &Transaction<'_>, job: Job) -> StoreResult<Box<dyn Any + Send>> {
    tx.execute_batch("SAVEPOINT job")?;
    match job(tx) {
        Ok(value) => {
            tx.execute_batch("RELEASE job")?;
            Ok(value)
        }
        Err(e) => {
            let _ = tx.execute_batch("ROLLBACK TO job; RELEASE job");
            Err(e)
        }
    }
}

/// A service's concerns opened in a span of time, oldest first (migration 10's index).
const CONCERNS_OPENED: &str = "SELECT id, data, version FROM concerns WHERE service = ?1 AND opened_at >= ?2 AND opened_at < ?3 ORDER BY opened_at, id";

/// Every API key's columns, as [`api_key_row`] reads them.
const API_KEYS: &str =
    "SELECT name, client, scopes, created_at, expires_at, revoked_at FROM api_keys";

/// One row of [`API_KEYS`].
type ApiKeyRow = (
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
);

fn api_key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKeyRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn api_key_from(row: ApiKeyRow) -> StoreResult<ApiKey> {
    let (name, client, scopes, created_at, expires_at, revoked_at) = row;
    super::api_key_as_stored(
        name,
        client,
        scopes.as_deref(),
        instant(created_at),
        expires_at.map(instant),
        revoked_at.map(instant),
    )
}

/// A concern's timeline, oldest first.
const TIMELINE_OF: &str = "SELECT data FROM timeline WHERE concern_id = ?1 ORDER BY seq";

/// The query that lists concerns for `filter`, and its parameters. Only
/// the conditions a filter sets are written, so that SQLite can pick the
/// index that serves them (see migration 4).
fn concerns_query(filter: &ConcernFilter) -> (String, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value;
    let mut sql = String::from("SELECT data, version FROM concerns WHERE 1");
    let mut values = Vec::new();
    let wanted: Vec<ConcernStatus> = ConcernStatus::ALL
        .into_iter()
        .filter(|s| filter.statuses.is_empty() || filter.statuses.contains(s))
        .collect();
    if wanted.len() < ConcernStatus::ALL.len() {
        if !wanted.contains(&ConcernStatus::Resolved) {
            // Implied by the statuses; written out so that the index of
            // unresolved concerns applies.
            sql.push_str(" AND resolved = 0");
        }
        sql.push_str(" AND status IN (");
        sql.push_str(&vec!["?"; wanted.len()].join(", "));
        sql.push(')');
        values.extend(wanted.iter().map(|s| Value::Text(s.as_str().to_owned())));
    }
    if let Some(service) = &filter.service {
        sql.push_str(" AND service = ?");
        values.push(Value::Text(service.as_str().to_owned()));
    }
    if let Some(enrolment) = filter.enrolment {
        sql.push_str(" AND enrolment_id = ?");
        values.push(Value::Text(enrolment.to_string()));
    }
    if let Some(client) = &filter.client {
        sql.push_str(" AND enrolment_id IN (SELECT id FROM enrolments WHERE client = ?)");
        values.push(Value::Text(client.clone()));
    }
    if let Some(since) = filter.opened_since {
        sql.push_str(" AND opened_at >= ?");
        values.push(Value::Integer(ms(since)));
    }
    if let Some(after) = filter.after {
        sql.push_str(" AND (opened_at, id) < (?, ?)");
        values.push(Value::Integer(ms(after.opened_at)));
        values.push(Value::Text(after.id.to_string()));
    }
    sql.push_str(" ORDER BY opened_at DESC, id DESC LIMIT ?");
    values.push(Value::Integer(
        i64::try_from(filter.limit).unwrap_or(i64::MAX),
    ));
    (sql, values)
}

fn apply_change(tx: &Transaction<'_>, change: Change) -> StoreResult<()> {
    // The checks come first; any refusal rolls the savepoint back whole.
    if let Some(claim) = &change.claim {
        check_claim(tx, claim)?;
        if let WorkKey::Outbox(id) = claim.key
            && !change.outbox_outcomes.iter().any(|o| o.id() == id)
        {
            return Err(invalid(format!(
                "the change completes outbox item {} but writes no outcome for it",
                claim.key
            )));
        }
    }
    if let Some(e) = &change.enrolment {
        tx.execute(
            "INSERT INTO enrolments (id, data, ends_at, ended_at, client) VALUES (?1, ?2, ?3, NULL, ?4)",
            params![e.id.to_string(), json(e)?, ms(super::ends_at_or_never(e)), e.client],
        )?;
        // `ends_at` is "never" (year 9999) for an ongoing enrolment until it
        // is ended (`ends_at_or_never`). Phones and emails alike
        // (`Enrolment::addresses`, ADR 14).
        for address in e.addresses() {
            tx.execute(
                "INSERT OR IGNORE INTO enrolment_phones (phone, enrolment_id) VALUES (?1, ?2)",
                params![address, e.id.to_string()],
            )?;
        }
    }
    if let Some(c) = &change.concern {
        write_concern(tx, c, ms(change.at))?;
    }
    for (concern, entry) in &change.timeline {
        tx.execute(
            "INSERT INTO timeline (concern_id, at, data) VALUES (?1, ?2, ?3)",
            params![concern.to_string(), ms(entry.at), json(entry)?],
        )?;
    }
    // A timer removed or replaced is other work than the one claimed: its
    // claim goes with it.
    for concern in &change.cancel_timers {
        tx.execute(
            "DELETE FROM timers WHERE concern_id = ?1",
            params![concern.to_string()],
        )?;
        for kind in TimerKind::ALL {
            end_claim(
                tx,
                &WorkKey::Timer {
                    concern: *concern,
                    kind,
                },
            )?;
        }
    }
    if let Some(WorkKey::Timer { concern, kind }) = change.claim.as_ref().map(|c| &c.key) {
        tx.execute(
            "DELETE FROM timers WHERE concern_id = ?1 AND kind = ?2",
            params![concern.to_string(), kind.as_str()],
        )?;
    }
    for t in &change.set_timers {
        tx.execute(
            "INSERT INTO timers (concern_id, kind, due_at, seq) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(concern_id, kind) DO UPDATE SET due_at = excluded.due_at, seq = excluded.seq",
            params![t.concern.to_string(), t.kind.as_str(), ms(t.due_at), t.seq as i64],
        )?;
        end_claim(tx, &t.work_key())?;
    }
    write_notices(tx, &change)?;
    for concern in &change.close_pages {
        tx.execute(
            "UPDATE pages SET open = 0, closed_at = ?2 WHERE concern_id = ?1 AND open = 1",
            params![concern.to_string(), ms(change.at)],
        )?;
        tx.execute(
            "UPDATE code_reservations SET closed_at = ?2 WHERE concern_id = ?1 AND closed_at IS NULL",
            params![concern.to_string(), ms(change.at)],
        )?;
    }
    for p in &change.open_pages {
        tx.execute(
            "INSERT INTO pages (concern_id, staff, code, open, opened_at) VALUES (?1, ?2, ?3, 1, ?4)
             ON CONFLICT(concern_id, staff) DO UPDATE SET open = 1, closed_at = NULL",
            params![p.concern.to_string(), p.staff.as_str(), p.code, ms(p.opened_at)],
        )?;
        tx.execute(
            "INSERT INTO last_codes (staff, code) VALUES (?1, ?2) ON CONFLICT(staff) DO UPDATE SET code = excluded.code",
            params![p.staff.as_str(), p.code],
        )?;
        // The page holds the code from now on.
        tx.execute(
            "DELETE FROM code_reservations WHERE concern_id = ?1 AND staff = ?2",
            params![p.concern.to_string(), p.staff.as_str()],
        )?;
    }
    let now = ms(change.at);
    for m in &change.outbox {
        insert_outbox(tx, m, now)?;
    }
    for outcome in &change.outbox_outcomes {
        match outcome {
            OutboxOutcome::Sent { id, provider_id } => tx.execute(
                "UPDATE outbox SET state = 'sent', provider_id = ?2, attempts = attempts + 1 WHERE id = ?1",
                params![id, provider_id],
            )?,
            OutboxOutcome::Retry { id, at } => tx.execute(
                "UPDATE outbox SET state = 'pending', attempts = attempts + 1, due_at = ?2, ready_at = ?2 WHERE id = ?1",
                params![id, ms(*at)],
            )?,
            OutboxOutcome::Failed { id } => {
                tx.execute("UPDATE outbox SET state = 'failed', attempts = attempts + 1 WHERE id = ?1", params![id])?
            }
            OutboxOutcome::Cancelled { id } => {
                tx.execute("UPDATE outbox SET state = 'cancelled' WHERE id = ?1", params![id])?
            }
        };
        end_claim(tx, &WorkKey::Outbox(outcome.id()))?;
    }
    if let Some(WorkKey::Inbound(key)) = change.claim.as_ref().map(|c| &c.key) {
        tx.execute(
            "UPDATE inbound SET processed_at = ?2 WHERE key = ?1 AND processed_at IS NULL",
            params![key, now],
        )?;
        end_claim(tx, &WorkKey::Inbound(key.clone()))?;
    }
    if let Some(kept) = &change.inbound_kept {
        let data = serde_json::to_string(kept).map_err(corrupt)?;
        tx.execute(
            "UPDATE inbound SET data = ?2 WHERE key = ?1",
            params![kept.key, data],
        )?;
    }
    if let Some((phone, opted_out)) = &change.opt_out {
        tx.execute(
            "INSERT INTO opt_outs (phone, opted_out) VALUES (?1, ?2) ON CONFLICT(phone) DO UPDATE SET opted_out = excluded.opted_out",
            params![phone.as_str(), opted_out],
        )?;
    }
    if let Some(claim) = &change.claim {
        end_claim(tx, &claim.key)?;
    }
    Ok(())
}

/// The notices a change removes, schedules and answers (docs/adr/0017). A
/// notice removed or replaced is other work than the one claimed: its
/// claim goes with it.
fn write_notices(tx: &Transaction<'_>, change: &Change) -> StoreResult<()> {
    for key in &change.cancel_notices {
        tx.execute("DELETE FROM notices WHERE key = ?1", params![key])?;
        end_claim(tx, &WorkKey::Notice(key.clone()))?;
    }
    if let Some(WorkKey::Notice(key)) = change.claim.as_ref().map(|c| &c.key) {
        tx.execute("DELETE FROM notices WHERE key = ?1", params![key])?;
    }
    for n in &change.set_notices {
        tx.execute(
            "INSERT INTO notices (key, due_at, data) VALUES (?1, ?2, ?3)
             ON CONFLICT(key) DO UPDATE SET due_at = excluded.due_at, data = excluded.data",
            params![n.key, ms(n.due_at), json(n)?],
        )?;
        end_claim(tx, &n.work_key())?;
    }
    for n in &change.add_notices {
        tx.execute(
            "INSERT OR IGNORE INTO notices (key, due_at, data) VALUES (?1, ?2, ?3)",
            params![n.key, ms(n.due_at), json(n)?],
        )?;
    }
    for a in &change.check_in_answers {
        tx.execute(
            "INSERT INTO check_in_answers (enrolment_id, at, data) VALUES (?1, ?2, ?3)",
            params![a.enrolment.to_string(), ms(a.at), json(a)?],
        )?;
    }
    Ok(())
}

/// Refuse unless `claim` is still its work's current claim: same token, not
/// released, and the work not completed since.
fn check_claim(tx: &Transaction<'_>, claim: &Claim) -> StoreResult<()> {
    let held: Option<(i64, String)> = tx
        .query_row(
            "SELECT token, holder FROM claims WHERE kind = ?1 AND key = ?2 AND until IS NOT NULL",
            params![claim.kind().as_str(), claim.key.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match held {
        Some((token, _)) if token as u64 == claim.token => Ok(()),
        Some((token, holder)) => Err(conflict(format!(
            "{} {} is now claimed by {holder} with token {token}, not {}",
            claim.kind().as_str(),
            claim.key,
            claim.token
        ))),
        None => Err(conflict(format!(
            "{} {} is no longer claimed with token {} (completed or released)",
            claim.kind().as_str(),
            claim.key,
            claim.token
        ))),
    }
}

/// The work is done (or gone): forget its claim, and with it the count of attempts.
fn end_claim(tx: &Transaction<'_>, key: &WorkKey) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM claims WHERE kind = ?1 AND key = ?2",
        params![key.kind().as_str(), key.to_string()],
    )?;
    Ok(())
}

/// Write a concern if it is still the version the caller read (a new one,
/// version 0, only if it is new and its sender has nothing unresolved), and
/// bump its version.
fn write_concern(tx: &Transaction<'_>, c: &Concern, at: i64) -> StoreResult<()> {
    let id = c.id.to_string();
    if c.version == 0 {
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM concerns WHERE id = ?1)",
            params![id],
            |r| r.get(0),
        )?;
        if exists {
            return Err(conflict(format!("concern {id} was stored already")));
        }
        if !c.escalation.is_resolved() {
            let open: Option<String> = tx
                .query_row(
                    "SELECT id FROM concerns WHERE sender = ?1 AND resolved = 0 LIMIT 1",
                    params![c.sender.key()],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(open) = open {
                return Err(conflict(format!(
                    "the sender of new concern {id} has concern {open} unresolved"
                )));
            }
        }
        tx.execute(
            "INSERT INTO concerns (id, sender, resolved, opened_at, data, closed_at, status, service, enrolment_id, version)
             VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?3 THEN ?6 END, ?7, ?8, ?9, 1)",
            params![
                id,
                c.sender.key(),
                c.escalation.is_resolved(),
                ms(c.opened_at),
                json(c)?,
                at,
                ConcernStatus::of(c).as_str(),
                c.service.as_ref().map(Id::as_str),
                c.enrolment.map(|e| e.to_string()),
            ],
        )?;
        return Ok(());
    }
    let written = tx.execute(
        "UPDATE concerns SET resolved = ?2, data = ?3,
             closed_at = CASE WHEN ?2 THEN COALESCE(closed_at, ?4) END,
             status = ?5, version = version + 1
         WHERE id = ?1 AND version = ?6",
        params![
            id,
            c.escalation.is_resolved(),
            json(c)?,
            at,
            ConcernStatus::of(c).as_str(),
            c.version as i64,
        ],
    )?;
    if written == 0 {
        return Err(conflict(format!(
            "concern {id} changed since version {} was read (or is gone)",
            c.version
        )));
    }
    Ok(())
}

/// [`StoreError::Conflict`] unless the rota edits layer is still at the
/// version an edit or undo was judged against.
fn layer_still_at(tx: &Transaction<'_>, judged_at: u64) -> StoreResult<()> {
    let version: i64 = tx.query_row("SELECT version FROM rota_layer WHERE id = 1", [], |r| {
        r.get(0)
    })?;
    if version as u64 != judged_at {
        return Err(conflict(format!(
            "the rota edits layer moved on (version {version}, judged at {judged_at})"
        )));
    }
    Ok(())
}

fn insert_outbox(tx: &Transaction<'_>, m: &NewOutbox, due_at: i64) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO outbox (concern_id, to_number, body, purpose, staff, recipient, due_at, queued_at, ready_at, step) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7, ?8)",
        params![
            m.concern.map(|c| c.to_string()),
            m.to.key(),
            m.body,
            m.purpose.as_str(),
            m.staff.as_ref().map(Id::as_str),
            m.recipient,
            due_at,
            m.step.map(|s| s as i64),
        ],
    )?;
    Ok(())
}

fn outbox_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<OutboxItem, StoreError>> {
    let id: i64 = row.get(0)?;
    let concern: Option<String> = row.get(1)?;
    let to: String = row.get(2)?;
    let body: String = row.get(3)?;
    let purpose: String = row.get(4)?;
    let staff: Option<String> = row.get(5)?;
    let recipient: String = row.get(6)?;
    let attempts: i64 = row.get(7)?;
    let due_at: i64 = row.get(8)?;
    let provider_id: Option<String> = row.get(9)?;
    let state: String = row.get(10)?;
    let queued_at: Option<i64> = row.get(11)?;
    let step: Option<i64> = row.get(12)?;
    Ok((|| {
        Ok(OutboxItem {
            id,
            message: NewOutbox {
                concern: concern.map(|c| c.parse().map_err(corrupt)).transpose()?,
                to: Address::from_key(&to).map_err(corrupt)?,
                body,
                purpose: Purpose::parse(&purpose)
                    .ok_or_else(|| corrupt(format!("purpose {purpose:?}")))?,
                staff: staff.map(|s| Id::parse(&s).map_err(corrupt)).transpose()?,
                recipient,
                step: step.map(|s| s as u64),
            },
            attempts: attempts as u32,
            due_at: instant(due_at),
            queued_at: instant(queued_at.unwrap_or(due_at)),
            provider_id,
            in_flight: state == "in_flight",
        })
    })())
}

/// Rewrite every timeline entry of a concern as [`TimelineEntry::redacted`]
/// says. Each is written back from its typed form, so fields the code no
/// longer knows (a forward's quoted text, as early versions stored it) go
/// too; an entry that cannot be read at all becomes a note saying only
/// `placeholder`.
fn redact_timeline(tx: &Transaction<'_>, concern: &str, placeholder: &str) -> StoreResult<()> {
    let rows: Vec<(i64, i64, String)> = {
        let mut stmt =
            tx.prepare_cached("SELECT seq, at, data FROM timeline WHERE concern_id = ?1")?;
        let rows = stmt.query_map(params![concern], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (seq, at, data) in rows {
        let redacted = match serde_json::from_str::<TimelineEntry>(&data) {
            Ok(entry) => entry.redacted(placeholder),
            Err(_) => TimelineEntry {
                at: instant(at),
                event: crate::timeline::TimelineEvent::note(placeholder.to_owned()),
            },
        };
        tx.execute(
            "UPDATE timeline SET data = ?2 WHERE seq = ?1",
            params![seq, json(&redacted)?],
        )?;
    }
    Ok(())
}

const OUTBOX_COLUMNS: &str = "o.id, o.concern_id, o.to_number, o.body, o.purpose, o.staff, o.recipient, o.attempts, o.due_at, o.provider_id, o.state, o.queued_at, o.step";

/// An unsent outbox item `o` that is the earliest unsent one in its lane:
/// only such an item may be sent. A lane is a patient's or carer's number,
/// or a clinician's number and one concern; so texts to a patient keep
/// their order, and a clinician's about one concern, while a page that
/// hangs holds up no other patient's page to the same clinician.
const HEAD_OF_LINE: &str = "o.state IN ('pending', 'in_flight') AND NOT EXISTS (
    SELECT 1 FROM outbox e WHERE e.to_number = o.to_number
    AND (o.staff IS NULL OR e.concern_id IS o.concern_id) AND (e.staff IS NULL) = (o.staff IS NULL)
    AND e.id < o.id AND e.state IN ('pending', 'in_flight'))";

/// How each kind of work is named in claims, as SQL over its table's alias
/// (`i` inbound, `t` timers, `o` outbox, `n` notices): the same keys as
/// [`WorkKey`]'s `Display` writes.
fn work_key_sql(kind: WorkKind) -> &'static str {
    match kind {
        WorkKind::Inbound => "i.key",
        WorkKind::Timer => "t.concern_id || '/' || t.kind",
        WorkKind::Outbox => "CAST(o.id AS TEXT)",
        WorkKind::Notice => "n.key",
    }
}

/// SQL that is true while the work (of its table's row) has a claim row
/// for which `lease` holds (e.g. `c.until > ?1`: a claim live at `?1`).
fn claimed_sql(kind: WorkKind, lease: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM claims c WHERE c.kind = '{}' AND c.key = {} AND ({lease}))",
        kind.as_str(),
        work_key_sql(kind)
    )
}

/// The work of one kind that can be claimed at `?1`, in the order it is
/// handed out, at most `?2`. The outbox's last column says whether the
/// item was claimed before and not completed: it may have reached the
/// provider.
fn claimable_sql(kind: WorkKind) -> String {
    let live = claimed_sql(kind, "c.until > ?1");
    match kind {
        WorkKind::Inbound => format!(
            "SELECT i.data FROM inbound i WHERE i.processed_at IS NULL AND NOT {live}
             ORDER BY i.received_at, i.rowid LIMIT ?2"
        ),
        WorkKind::Timer => format!(
            "SELECT t.concern_id, t.kind, t.due_at, t.seq FROM timers t
             WHERE t.due_at <= ?1 AND NOT {live} ORDER BY t.due_at LIMIT ?2"
        ),
        WorkKind::Notice => format!(
            "SELECT n.data FROM notices n
             WHERE n.due_at <= ?1 AND NOT {live} ORDER BY n.due_at LIMIT ?2"
        ),
        // `ready_at` is the due time, or the end of a lease on the item if
        // later: items under a live claim are past `?1`, not stepped over.
        WorkKind::Outbox => format!(
            "SELECT {OUTBOX_COLUMNS}, {} FROM outbox o
             WHERE {HEAD_OF_LINE} AND o.ready_at <= ?1 AND NOT {live}
             ORDER BY o.ready_at, o.id LIMIT ?2",
            claimed_sql(kind, "1"),
        ),
    }
}

/// What [`WorkQueue::next_due`](crate::work::WorkQueue::next_due) reads.
fn next_due_sql(kinds: &[WorkKind]) -> String {
    // For each kind: the first due that is not under a claim, and the
    // first lease to end among the claimed (work is claimed only once
    // due, so its lease ends after its due time). Both parts read in
    // index order and stop early, so this stays cheap with 100,000 timers.
    // `work`: the row the claim is on, if it still waits (as `FROM … WHERE …`).
    let held = |kind: WorkKind, work: &str| {
        format!(
            "SELECT MIN(c.until) FROM claims c WHERE c.kind = '{}' AND c.until IS NOT NULL
             AND EXISTS (SELECT 1 FROM {work})",
            kind.as_str()
        )
    };
    let parts: Vec<String> = kinds
        .iter()
        .map(|kind| {
            let claimed = claimed_sql(*kind, "c.until IS NOT NULL");
            match kind {
                WorkKind::Timer => format!(
                    "SELECT (SELECT t.due_at FROM timers t WHERE NOT {claimed} ORDER BY t.due_at LIMIT 1) AS t
                     UNION ALL SELECT ({})",
                    held(
                        WorkKind::Timer,
                        "timers t WHERE t.concern_id = substr(c.key, 1, instr(c.key, '/') - 1)
                         AND t.kind = substr(c.key, instr(c.key, '/') + 1)",
                    )
                ),
                WorkKind::Notice => format!(
                    "SELECT (SELECT n.due_at FROM notices n WHERE NOT {claimed} ORDER BY n.due_at LIMIT 1) AS t
                     UNION ALL SELECT ({})",
                    held(WorkKind::Notice, "notices n WHERE n.key = c.key"),
                ),
                // `ready_at` already counts a claimed item from its lease's end.
                WorkKind::Outbox => format!(
                    "SELECT (SELECT o.ready_at FROM outbox o WHERE {HEAD_OF_LINE} ORDER BY o.ready_at, o.id LIMIT 1) AS t"
                ),
                WorkKind::Inbound => format!(
                    "SELECT (SELECT i.received_at FROM inbound i WHERE i.processed_at IS NULL AND NOT {claimed} ORDER BY i.received_at LIMIT 1) AS t
                     UNION ALL SELECT ({})",
                    held(
                        WorkKind::Inbound,
                        "inbound i WHERE i.key = c.key AND i.processed_at IS NULL",
                    )
                ),
            }
        })
        .collect();
    if parts.is_empty() {
        return "SELECT NULL".to_owned();
    }
    format!("SELECT MIN(t) FROM ({})", parts.join(" UNION ALL "))
}

/// A claim on work of `kind` was granted, renewed or given back: an outbox
/// item's `ready_at` follows it (its due time, or its lease's end if later).
fn rescore(tx: &Transaction<'_>, key: &WorkKey) -> StoreResult<()> {
    if let WorkKey::Outbox(id) = key {
        tx.execute(
            "UPDATE outbox SET ready_at = MAX(due_at, COALESCE((SELECT c.until FROM claims c
                 WHERE c.kind = 'outbox' AND c.key = ?1), due_at))
             WHERE id = CAST(?1 AS INTEGER)",
            params![id.to_string()],
        )?;
    }
    Ok(())
}

/// Hand out claims on `picked`, in order, to `node` until `until`: fresh
/// tokens from the counter, and `attempts` one more than the last claim's
/// when the work was claimed before and not completed.
fn grant<T: Work>(
    tx: &Transaction<'_>,
    node: &NodeId,
    until: Instant,
    picked: Vec<T>,
) -> StoreResult<Vec<Claimed<T>>> {
    if picked.is_empty() {
        return Ok(Vec::new());
    }
    let count = picked.len() as i64;
    let last: i64 = tx.query_row(
        "UPDATE claim_tokens SET last = last + ?1 WHERE id = 1 RETURNING last",
        params![count],
        |r| r.get(0),
    )?;
    let mut claimed = Vec::with_capacity(picked.len());
    for (token, item) in (last - count + 1..).zip(picked) {
        let key = item.work_key();
        let attempts: i64 = tx.query_row(
            "INSERT INTO claims (kind, key, token, holder, until, attempts) VALUES (?1, ?2, ?3, ?4, ?5, 0)
             ON CONFLICT(kind, key) DO UPDATE SET token = excluded.token, holder = excluded.holder,
                 until = excluded.until, attempts = claims.attempts + 1
             RETURNING attempts",
            params![T::KIND.as_str(), key.to_string(), token, node.as_str(), ms(until)],
            |r| r.get(0),
        )?;
        rescore(tx, &key)?;
        claimed.push(Claimed {
            claim: Claim {
                key,
                token: token as u64,
                holder: node.clone(),
                until,
                attempts: attempts as u32,
            },
            item,
        });
    }
    Ok(claimed)
}

/// A timer row: `concern_id, kind, due_at, seq`.
fn timer_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoreResult<Timer>> {
    let concern: String = row.get(0)?;
    let kind: String = row.get(1)?;
    let due_at: i64 = row.get(2)?;
    let seq: i64 = row.get(3)?;
    Ok((|| {
        Ok(Timer {
            concern: concern.parse().map_err(corrupt)?,
            kind: TimerKind::parse(&kind).ok_or_else(|| corrupt(format!("timer kind {kind:?}")))?,
            due_at: instant(due_at),
            seq: seq as u64,
        })
    })())
}

/// The codes a clinician has in use: on an open page or one closed since
/// `?2`, or reserved and not released, or released since `?2` (`?1` is the
/// clinician).
const CODES_IN_USE: &str = "SELECT code FROM pages WHERE staff = ?1 AND (open = 1 OR closed_at >= ?2)
    UNION SELECT code FROM code_reservations WHERE staff = ?1 AND (closed_at IS NULL OR closed_at >= ?2)";

/// The code a clinician has for a concern (see [`Concerns::reserve_code`](crate::concern::Concerns::reserve_code)).
fn reserve_code(
    tx: &Transaction<'_>,
    concern: &str,
    staff: &str,
    quarantine_since: i64,
    at: i64,
) -> StoreResult<u16> {
    // The code already given: on a page, or reserved (and in use again if
    // the reservation had been released).
    let given = [
        "SELECT code FROM pages WHERE concern_id = ?1 AND staff = ?2",
        "UPDATE code_reservations SET closed_at = NULL WHERE concern_id = ?1 AND staff = ?2 RETURNING code",
    ];
    for sql in given {
        let code: Option<i64> = tx
            .query_row(sql, params![concern, staff], |r| r.get(0))
            .optional()?;
        if let Some(code) = code {
            return Ok(code as u16);
        }
    }
    // Reservations out of quarantine hold nothing any more.
    tx.execute(
        "DELETE FROM code_reservations WHERE staff = ?1 AND closed_at < ?2",
        params![staff, quarantine_since],
    )?;
    let in_use: std::collections::HashSet<i64> = {
        let mut stmt = tx.prepare_cached(CODES_IN_USE)?;
        let rows = stmt.query_map(params![staff, quarantine_since], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let last: i64 = tx
        .query_row(
            "SELECT code FROM last_codes WHERE staff = ?1",
            params![staff],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    // Which code comes next is the domain's rule; this only makes it atomic.
    let code = crate::escalation::reply::next_code(last as u16, |c| {
        Ok::<_, std::convert::Infallible>(in_use.contains(&i64::from(c)))
    })
    .unwrap_or_else(|never| match never {});
    tx.execute(
        "INSERT INTO code_reservations (concern_id, staff, code, reserved_at, closed_at) VALUES (?1, ?2, ?3, ?4, NULL)",
        params![concern, staff, code, at],
    )?;
    tx.execute(
        "INSERT INTO last_codes (staff, code) VALUES (?1, ?2) ON CONFLICT(staff) DO UPDATE SET code = excluded.code",
        params![staff, code],
    )?;
    Ok(code)
}

/// Work this store claims: how it reads from a row of [`claimable_sql`].
trait Claimable: Work + Send + Sized + 'static {
    /// The work in a row `claimable_sql(Self::KIND)` selects.
    fn from_claimable(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoreResult<Self>>;
}

impl Claimable for Inbound {
    fn from_claimable(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoreResult<Self>> {
        Ok(from_json(&row.get::<_, String>(0)?))
    }
}

impl Claimable for Timer {
    fn from_claimable(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoreResult<Self>> {
        timer_row(row)
    }
}

impl Claimable for OutboxItem {
    fn from_claimable(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoreResult<Self>> {
        let item = outbox_row(row)?;
        let claimed_before: bool = row.get(13)?;
        Ok(item.map(|mut item| {
            // Claimed before and not completed: it may have reached the provider.
            item.in_flight |= claimed_before;
            item
        }))
    }
}

impl Claimable for Notice {
    fn from_claimable(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoreResult<Self>> {
        Ok(from_json(&row.get::<_, String>(0)?))
    }
}

impl SqliteStore {
    /// Claim up to `limit` pieces of work of one kind in one write: those
    /// claimable at `now` ([`claimable_sql`]), in order, each until
    /// `now + lease`.
    fn claim<T: Claimable>(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<T>>> {
        let until = now
            .checked_add_signed(lease)
            .filter(|_| lease > TimeDelta::zero())
            .ok_or_else(|| invalid(format!("a lease of {lease} cannot be held")))?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let node = node.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.write(move |tx| {
            let picked = {
                let mut stmt = tx.prepare_cached(&claimable_sql(T::KIND))?;
                let rows = stmt.query_map(params![ms(now), limit], T::from_claimable)?;
                rows.map(|row| row?).collect::<StoreResult<Vec<T>>>()?
            };
            grant(tx, &node, until, picked)
        })
    }
}

impl WorkQueue for SqliteStore {
    fn ping(&self) -> StoreResult<()> {
        // Through the writer, like a webhook: a full disk, a lock held
        // elsewhere or a stopped writer fail here as they would fail it.
        self.write(|tx| {
            tx.execute(
                "INSERT INTO heartbeat (id, beats) VALUES (1, 1)
                 ON CONFLICT(id) DO UPDATE SET beats = beats + 1",
                [],
            )?;
            Ok(())
        })
    }

    fn record_inbound(&self, item: &Inbound) -> StoreResult<bool> {
        let key = item.key.clone();
        let data = serde_json::to_string(item).map_err(corrupt)?;
        let at = ms(item.received_at);
        self.write(move |tx| {
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO inbound (key, data, received_at) VALUES (?1, ?2, ?3)",
                params![key, data, at],
            )?;
            Ok(inserted == 1)
        })
    }

    fn inbound(&self, key: &str) -> StoreResult<Option<Inbound>> {
        let key = key.to_owned();
        self.read(move |c| {
            let data: Option<String> = c
                .query_row(
                    "SELECT data FROM inbound WHERE key = ?1",
                    params![key],
                    |r| r.get(0),
                )
                .optional()?;
            Ok(data)
        })?
        .map(|d| serde_json::from_str(&d).map_err(|e| StoreError::Corrupt(e.into())))
        .transpose()
    }

    fn claim_inbound(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<Inbound>>> {
        self.claim(node, now, lease, limit)
    }

    fn claim_timers(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<Timer>>> {
        self.claim(node, now, lease, limit)
    }

    fn claim_outbox(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<OutboxItem>>> {
        self.claim(node, now, lease, limit)
    }

    fn claim_notices(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<Notice>>> {
        self.claim(node, now, lease, limit)
    }

    fn notice(&self, key: &str) -> StoreResult<Option<Notice>> {
        let key = key.to_owned();
        let data: Option<String> = self.read(move |c| {
            c.query_row(
                "SELECT data FROM notices WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()
        })?;
        data.as_deref().map(from_json).transpose()
    }

    fn renew(&self, claims: &[Claim], until: Instant) -> StoreResult<Vec<Claim>> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let claims = claims.to_vec();
        self.write(move |tx| {
            let mut held = Vec::with_capacity(claims.len());
            for claim in claims {
                let renewed = tx.execute(
                    "UPDATE claims SET until = ?4 WHERE kind = ?1 AND key = ?2 AND token = ?3 AND until IS NOT NULL",
                    params![claim.kind().as_str(), claim.key.to_string(), claim.token as i64, ms(until)],
                )?;
                if renewed == 1 {
                    rescore(tx, &claim.key)?;
                    held.push(Claim { until, ..claim });
                }
            }
            Ok(held)
        })
    }

    fn release(&self, claims: &[Claim]) -> StoreResult<()> {
        if claims.is_empty() {
            return Ok(());
        }
        let claims = claims.to_vec();
        self.write(move |tx| {
            for claim in claims {
                tx.execute(
                    "UPDATE claims SET until = NULL WHERE kind = ?1 AND key = ?2 AND token = ?3",
                    params![
                        claim.kind().as_str(),
                        claim.key.to_string(),
                        claim.token as i64
                    ],
                )?;
                rescore(tx, &claim.key)?;
            }
            Ok(())
        })
    }

    fn apply(&self, change: Change) -> StoreResult<()> {
        self.write(move |tx| apply_change(tx, change))
    }

    fn next_due_of(&self, kinds: &[WorkKind]) -> StoreResult<Option<Instant>> {
        let sql = next_due_sql(kinds);
        let next: Option<i64> = self.read(|c| c.query_row(&sql, [], |r| r.get(0)))?;
        Ok(next.map(instant))
    }

    fn outbox_by_provider_id(&self, provider_id: &str) -> StoreResult<Option<OutboxItem>> {
        let row = self.read(|c| {
            c.query_row(
                &format!("SELECT {OUTBOX_COLUMNS} FROM outbox o WHERE o.provider_id = ?1"),
                params![provider_id],
                outbox_row,
            )
            .optional()
        })?;
        row.transpose()
    }

    fn check_in_answers(&self, enrolment: EnrolmentId) -> StoreResult<Vec<CheckInAnswer>> {
        let rows: Vec<String> = self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT data FROM check_in_answers WHERE enrolment_id = ?1 ORDER BY at, rowid",
            )?;
            let rows = stmt.query_map(params![enrolment.to_string()], |r| r.get(0))?;
            rows.collect()
        })?;
        rows.iter().map(|r| from_json(r)).collect()
    }
}

impl Concerns for SqliteStore {
    fn concern(&self, id: ConcernId) -> StoreResult<Option<Concern>> {
        let row = self.read(|c| {
            c.query_row(
                "SELECT data, version FROM concerns WHERE id = ?1",
                params![id.to_string()],
                concern_row,
            )
            .optional()
        })?;
        row.map(concern_from).transpose()
    }

    fn timeline(&self, id: ConcernId) -> StoreResult<Vec<TimelineEntry>> {
        let rows: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare_cached(TIMELINE_OF)?;
            let rows = stmt.query_map(params![id.to_string()], |r| r.get(0))?;
            rows.collect()
        })?;
        rows.iter().map(|r| from_json(r)).collect()
    }

    fn open_concern_from(&self, sender: &Address) -> StoreResult<Option<Concern>> {
        let sender = sender.key();
        let row = self.read(|c| {
            c.query_row(
                "SELECT data, version FROM concerns WHERE sender = ?1 AND resolved = 0 ORDER BY opened_at DESC LIMIT 1",
                params![sender],
                concern_row,
            )
            .optional()
        })?;
        row.map(concern_from).transpose()
    }

    fn purge(&self, closed_before: Instant, placeholder: &str) -> StoreResult<super::Purged> {
        let (cutoff, placeholder) = (ms(closed_before), placeholder.to_owned());
        self.write(move |tx| {
            let rows: Vec<(String, String)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT id, data FROM concerns WHERE purged = 0 AND closed_at IS NOT NULL AND closed_at < ?1 LIMIT 1000",
                )?;
                let rows = stmt.query_map(params![cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut purged = super::Purged::default();
            for (id, data) in &rows {
                // What counts as personal data is the domain's to say.
                match serde_json::from_str::<Concern>(data) {
                    Ok(concern) => {
                        tx.execute(
                            "UPDATE concerns SET purged = 1, data = ?2, version = version + 1 WHERE id = ?1",
                            params![id, json(&concern.redacted(&placeholder))?],
                        )?;
                        purged.concerns += 1;
                    }
                    Err(_) => {
                        // Unreadable, so nothing can say what in it is
                        // personal: set aside for an operator (2), not
                        // picked up by every batch after this one.
                        tx.execute("UPDATE concerns SET purged = 2 WHERE id = ?1", params![id])?;
                        purged.set_aside += 1;
                    }
                }
                redact_timeline(tx, id, &placeholder)?;
                // Every text sent about it may quote the sender.
                tx.execute("UPDATE outbox SET body = ?2 WHERE concern_id = ?1", params![id, placeholder])?;
            }
            purged.inbound = tx.execute("DELETE FROM inbound WHERE processed_at IS NOT NULL AND processed_at < ?1", params![cutoff])? as u64;
            // Enrolments (names, numbers, context) that ended before the cutoff.
            tx.execute(
                "DELETE FROM enrolment_phones WHERE enrolment_id IN
                    (SELECT id FROM enrolments WHERE COALESCE(ended_at, ends_at) < ?1)",
                params![cutoff],
            )?;
            tx.execute(
                "DELETE FROM check_in_answers WHERE enrolment_id IN
                    (SELECT id FROM enrolments WHERE COALESCE(ended_at, ends_at) < ?1)",
                params![cutoff],
            )?;
            purged.enrolments = tx.execute("DELETE FROM enrolments WHERE COALESCE(ended_at, ends_at) < ?1", params![cutoff])? as u64;
            Ok(purged)
        })
    }

    fn concerns(&self, filter: &ConcernFilter) -> StoreResult<Vec<Concern>> {
        let (sql, values) = concerns_query(filter);
        let rows = self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(values), concern_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(concern_from).collect()
    }

    fn unresolved_concerns(&self) -> StoreResult<u64> {
        self.read(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM concerns WHERE resolved = 0",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .map(|n| n as u64)
    }

    fn pages_for(&self, staff: &Id, closed_since: Instant) -> StoreResult<Vec<Page>> {
        let staff = staff.clone();
        let rows: Vec<(String, i64, bool, i64)> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT concern_id, code, open, opened_at FROM pages
                 WHERE staff = ?1 AND (open = 1 OR closed_at >= ?2) ORDER BY opened_at DESC",
            )?;
            let rows = stmt.query_map(params![staff.as_str(), ms(closed_since)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            rows.collect()
        })?;
        rows.into_iter()
            .map(|(concern, code, open, opened_at)| {
                Ok(Page {
                    concern: concern.parse().map_err(corrupt)?,
                    staff: staff.clone(),
                    code: code as u16,
                    open,
                    opened_at: instant(opened_at),
                })
            })
            .collect()
    }

    fn page(&self, concern: ConcernId, staff: &Id) -> StoreResult<Option<Page>> {
        let row: Option<(i64, bool, i64)> = self.read(|c| {
            c.query_row(
                "SELECT code, open, opened_at FROM pages WHERE concern_id = ?1 AND staff = ?2",
                params![concern.to_string(), staff.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
        })?;
        Ok(row.map(|(code, open, opened_at)| Page {
            concern,
            staff: staff.clone(),
            code: code as u16,
            open,
            opened_at: instant(opened_at),
        }))
    }

    fn reserve_code(
        &self,
        concern: ConcernId,
        staff: &Id,
        quarantine_since: Instant,
        at: Instant,
    ) -> StoreResult<u16> {
        let (concern, staff) = (concern.to_string(), staff.as_str().to_owned());
        self.write(move |tx| reserve_code(tx, &concern, &staff, ms(quarantine_since), ms(at)))
    }
}

impl Enrolments for SqliteStore {
    fn enrolment(&self, id: EnrolmentId) -> StoreResult<Option<Enrolment>> {
        let row: Option<(String, Option<i64>)> = self.read(|c| {
            c.query_row(
                "SELECT data, ended_at FROM enrolments WHERE id = ?1",
                params![id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })?;
        row.map(|(data, ended_at)| {
            let mut e: Enrolment = from_json(&data)?;
            e.ended_at = ended_at.map(instant);
            Ok(e)
        })
        .transpose()
    }

    fn end_enrolment(&self, id: EnrolmentId, at: Instant) -> StoreResult<bool> {
        let at = ms(at);
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE enrolments SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL AND ends_at > ?2",
                params![id.to_string(), at],
            )?;
            Ok(changed == 1)
        })
    }

    fn enrolments_for_phone(
        &self,
        phone: &PhoneNumber,
        now: Instant,
    ) -> StoreResult<Vec<Enrolment>> {
        self.enrolments_at(phone.as_str().to_owned(), now)
    }

    fn enrolments_for_email(
        &self,
        email: &EmailAddress,
        now: Instant,
    ) -> StoreResult<Vec<Enrolment>> {
        self.enrolments_at(email.index_key(), now)
    }

    fn is_opted_out(&self, phone: &PhoneNumber) -> StoreResult<bool> {
        let v: Option<bool> = self.read(|c| {
            c.query_row(
                "SELECT opted_out FROM opt_outs WHERE phone = ?1",
                params![phone.as_str()],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(v.unwrap_or(false))
    }
}

impl StaffWeb for SqliteStore {
    fn put_sign_in_code(&self, code: &SignInCode) -> StoreResult<()> {
        let code = code.clone();
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM sign_in_codes WHERE expires_at < ?1",
                params![ms(code.expires_at) - SIGN_IN_CODE_KEPT_MS],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO sign_in_codes (challenge, person, code, method, expires_at, attempts)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0)",
                params![
                    &code.challenge[..],
                    code.person.as_str(),
                    &code.code[..],
                    code.method.as_str(),
                    ms(code.expires_at)
                ],
            )?;
            Ok(())
        })
    }

    fn check_sign_in_code(
        &self,
        challenge: [u8; 32],
        code: [u8; 32],
        now: Instant,
        max_attempts: u32,
    ) -> StoreResult<CodeCheck> {
        self.write(move |tx| {
            let row: Option<(String, Vec<u8>, String, i64, u32)> = tx
                .query_row(
                    "SELECT person, code, method, expires_at, attempts FROM sign_in_codes WHERE challenge = ?1",
                    params![&challenge[..]],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let Some((person, stored, method, expires_at, attempts)) = row else {
                return Ok(CodeCheck::Gone);
            };
            if expires_at <= ms(now) || attempts >= max_attempts {
                tx.execute("DELETE FROM sign_in_codes WHERE challenge = ?1", params![&challenge[..]])?;
                return Ok(CodeCheck::Gone);
            }
            if stored != code {
                let attempts = attempts + 1;
                if attempts >= max_attempts {
                    tx.execute("DELETE FROM sign_in_codes WHERE challenge = ?1", params![&challenge[..]])?;
                } else {
                    tx.execute(
                        "UPDATE sign_in_codes SET attempts = ?2 WHERE challenge = ?1",
                        params![&challenge[..], attempts],
                    )?;
                }
                return Ok(CodeCheck::Wrong {
                    attempts_left: max_attempts - attempts,
                    person: Id::parse(&person).map_err(corrupt)?,
                });
            }
            tx.execute("DELETE FROM sign_in_codes WHERE challenge = ?1", params![&challenge[..]])?;
            Ok(CodeCheck::Accepted(SignInCode {
                challenge,
                person: Id::parse(&person).map_err(corrupt)?,
                code,
                method: SignInMethod::parse(&method)
                    .ok_or_else(|| corrupt(format!("unknown sign-in method {method:?}")))?,
                expires_at: instant(expires_at),
            }))
        })
    }

    fn count_hit(&self, bucket: &str, now: Instant, window: TimeDelta) -> StoreResult<u32> {
        let (start, end) = super::hit_window(now, window)?;
        let bucket = bucket.to_owned();
        self.write(move |tx| {
            tx.execute("DELETE FROM hit_counts WHERE window_end <= ?1", params![ms(now)])?;
            Ok(tx.query_row(
                "INSERT INTO hit_counts (bucket, window_start, window_end, hits) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (bucket, window_start) DO UPDATE SET hits = hits + 1
                 RETURNING hits",
                params![bucket, start, end],
                |r| r.get(0),
            )?)
        })
    }

    fn hits(&self, bucket: &str, now: Instant, window: TimeDelta) -> StoreResult<u32> {
        let (start, end) = super::hit_window(now, window)?;
        let bucket = bucket.to_owned();
        let hits: Option<u32> = self.read(move |c| {
            c.query_row(
                "SELECT hits FROM hit_counts WHERE bucket = ?1 AND window_start = ?2 AND window_end = ?3",
                params![bucket, start, end],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(hits.unwrap_or(0))
    }

    fn create_session(&self, session: &Session) -> StoreResult<()> {
        let s = session.clone();
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM sessions WHERE expires_at <= ?1",
                params![ms(s.created_at)],
            )?;
            tx.execute(
                "INSERT INTO sessions (hash, person, method, created_at, last_seen, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    &s.hash[..],
                    s.person.as_str(),
                    s.method.as_str(),
                    ms(s.created_at),
                    ms(s.last_seen),
                    ms(s.expires_at)
                ],
            )?;
            Ok(())
        })
    }

    fn session(&self, hash: [u8; 32]) -> StoreResult<Option<Session>> {
        let row: Option<(String, String, i64, i64, i64)> = self.read(|c| {
            c.query_row(
                "SELECT person, method, created_at, last_seen, expires_at FROM sessions WHERE hash = ?1",
                params![&hash[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
        })?;
        row.map(|(person, method, created_at, last_seen, expires_at)| {
            Ok(Session {
                hash,
                person: Id::parse(&person).map_err(corrupt)?,
                method: SignInMethod::parse(&method)
                    .ok_or_else(|| corrupt(format!("unknown sign-in method {method:?}")))?,
                created_at: instant(created_at),
                last_seen: instant(last_seen),
                expires_at: instant(expires_at),
            })
        })
        .transpose()
    }

    fn touch_session(&self, hash: [u8; 32], at: Instant) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE sessions SET last_seen = MAX(last_seen, ?2) WHERE hash = ?1",
                params![&hash[..], ms(at)],
            )?;
            Ok(())
        })
    }

    fn delete_session(&self, hash: [u8; 32]) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute("DELETE FROM sessions WHERE hash = ?1", params![&hash[..]])?;
            Ok(())
        })
    }

    fn set_calendar_token(
        &self,
        person: &Id,
        hash: Option<[u8; 32]>,
        at: Instant,
    ) -> StoreResult<()> {
        let person = person.clone();
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM calendar_tokens WHERE person = ?1",
                params![person.as_str()],
            )?;
            if let Some(hash) = hash {
                tx.execute(
                    "INSERT INTO calendar_tokens (person, hash, created_at) VALUES (?1, ?2, ?3)",
                    params![person.as_str(), &hash[..], ms(at)],
                )?;
            }
            Ok(())
        })
    }

    fn calendar_person(&self, hash: [u8; 32]) -> StoreResult<Option<Id>> {
        let person: Option<String> = self.read(|c| {
            c.query_row(
                "SELECT person FROM calendar_tokens WHERE hash = ?1",
                params![&hash[..]],
                |r| r.get(0),
            )
            .optional()
        })?;
        person.map(|p| Id::parse(&p).map_err(corrupt)).transpose()
    }

    fn calendar_token_made(&self, person: &Id) -> StoreResult<Option<Instant>> {
        let person = person.as_str().to_owned();
        let at: Option<i64> = self.read(|c| {
            c.query_row(
                "SELECT created_at FROM calendar_tokens WHERE person = ?1",
                params![person],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(at.map(instant))
    }
}

impl RotaLayer for SqliteStore {
    fn add_rota_edit(
        &self,
        edit: &NewRotaEdit,
        audit: &AuditRecord,
        judged_at: u64,
    ) -> StoreResult<u64> {
        let (edit, audit) = (edit.clone(), audit.clone());
        self.write(move |tx| {
            layer_still_at(tx, judged_at)?;
            tx.execute(
                "INSERT INTO rota_edits (data) VALUES (?1)",
                params![json(&edit)?],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO audit (edit, data) VALUES (?1, ?2)",
                params![id, json(&audit)?],
            )?;
            tx.execute(
                "UPDATE rota_layer SET version = version + 1 WHERE id = 1",
                [],
            )?;
            Ok(id as u64)
        })
    }

    fn undo_rota_edit(
        &self,
        id: u64,
        undone: &Undone,
        audit: &AuditRecord,
        judged_at: u64,
    ) -> StoreResult<bool> {
        let (undone, audit) = (undone.clone(), audit.clone());
        self.write(move |tx| {
            layer_still_at(tx, judged_at)?;
            let n = tx.execute(
                "UPDATE rota_edits SET undone = ?2 WHERE id = ?1 AND undone IS NULL",
                params![id as i64, json(&undone)?],
            )?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO audit (edit, data) VALUES (?1, ?2)",
                params![id as i64, json(&audit)?],
            )?;
            tx.execute(
                "UPDATE rota_layer SET version = version + 1 WHERE id = 1",
                [],
            )?;
            Ok(true)
        })
    }

    fn rota_edits(&self) -> StoreResult<Vec<RotaEdit>> {
        let rows: Vec<(i64, String, Option<String>)> = self.read(|c| {
            let mut stmt = c.prepare("SELECT id, data, undone FROM rota_edits ORDER BY id")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })?;
        rows.into_iter()
            .map(|(id, data, undone)| {
                Ok(RotaEdit {
                    id: id as u64,
                    edit: serde_json::from_str(&data).map_err(corrupt)?,
                    undone: undone
                        .map(|u| serde_json::from_str(&u))
                        .transpose()
                        .map_err(corrupt)?,
                })
            })
            .collect()
    }

    fn rota_layer_version(&self) -> StoreResult<u64> {
        self.read(|c| {
            c.query_row("SELECT version FROM rota_layer WHERE id = 1", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .map(|v| v as u64)
    }

    fn append_audit(&self, record: &AuditRecord) -> StoreResult<u64> {
        let record = record.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO audit (data) VALUES (?1)",
                params![json(&record)?],
            )?;
            Ok(tx.last_insert_rowid() as u64)
        })
    }

    fn audit_trail(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<(i64, Option<i64>, String)> = self.read(move |c| {
            let mut stmt = c.prepare(
                "SELECT seq, edit, data FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            stmt.query_map(params![after as i64, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })?;
        rows.into_iter()
            .map(|(seq, edit, data)| {
                Ok(AuditEntry {
                    seq: seq as u64,
                    edit: edit.map(|e| e as u64),
                    record: serde_json::from_str(&data).map_err(corrupt)?,
                })
            })
            .collect()
    }

    fn mark_gap_alerted(&self, key: &str, at: Instant) -> StoreResult<bool> {
        let key = key.to_owned();
        self.write(move |tx| {
            Ok(tx.execute(
                "INSERT OR IGNORE INTO gap_alerts (key, at) VALUES (?1, ?2)",
                params![key, ms(at)],
            )? == 1)
        })
    }
}

impl Keys for SqliteStore {
    fn create_api_key(&self, key: &ApiKey, hash: [u8; 32]) -> StoreResult<()> {
        let key = key.clone();
        self.write(move |tx| {
            // The one writer makes this check and the insert one step.
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM api_keys WHERE name = ?1)",
                params![key.name],
                |r| r.get(0),
            )?;
            if taken {
                return Err(invalid(format!(
                    "an API key named {:?} exists already",
                    key.name
                )));
            }
            tx.execute(
                "INSERT INTO api_keys (hash, name, created_at, client, scopes, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    &hash[..],
                    key.name,
                    ms(key.created_at),
                    key.client,
                    key.scopes.to_string(),
                    key.expires_at.map(ms),
                    key.revoked_at.map(ms),
                ],
            )?;
            Ok(())
        })
    }

    fn api_key(&self, hash: [u8; 32]) -> StoreResult<Option<ApiKey>> {
        let row = self.read(|c| {
            c.query_row(
                &format!("{API_KEYS} WHERE hash = ?1"),
                params![&hash[..]],
                api_key_row,
            )
            .optional()
        })?;
        row.map(api_key_from).transpose()
    }

    fn api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        let rows = self.read(|c| {
            let mut stmt = c.prepare(&format!("{API_KEYS} ORDER BY created_at, name"))?;
            let rows = stmt.query_map([], api_key_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(api_key_from).collect()
    }

    fn revoke_api_key(&self, name: &str, at: Instant) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write(move |tx| {
            let revoked = tx.execute(
                "UPDATE api_keys SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
                params![name, ms(at)],
            )?;
            Ok(revoked > 0)
        })
    }

    fn backup(&self, to: &Path) -> StoreResult<()> {
        if to.exists() {
            return Err(unavailable(format!(
                "{} already exists: give a new file name",
                to.display()
            )));
        }
        let target = to
            .to_str()
            .ok_or_else(|| unavailable("the backup path is not valid UTF-8"))?
            .to_owned();
        // A read transaction sees one consistent snapshot, however busy the writer.
        self.read(|c| c.execute("VACUUM INTO ?1", params![target]).map(|_| ()))
    }

    fn secret(&self, name: &str) -> StoreResult<Vec<u8>> {
        let name = name.to_owned();
        let mut fresh = [0u8; 32];
        getrandom::getrandom(&mut fresh).map_err(unavailable)?;
        self.write(move |tx| {
            tx.execute(
                "INSERT OR IGNORE INTO secrets (name, value) VALUES (?1, ?2)",
                params![name, &fresh[..]],
            )?;
            Ok(tx.query_row(
                "SELECT value FROM secrets WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )?)
        })
    }
}

impl Reports for SqliteStore {
    fn backlog(&self, now: Instant) -> StoreResult<super::Backlog> {
        self.read(|c| {
            c.query_row(
                "SELECT (SELECT COUNT(*) FROM inbound WHERE processed_at IS NULL),
                        (SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight') AND due_at <= ?1),
                        (SELECT COUNT(*) FROM timers WHERE due_at <= ?1),
                        (SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight') AND attempts > 0),
                        (SELECT MIN(queued_at) FROM outbox WHERE state IN ('pending', 'in_flight'))",
                params![ms(now)],
                |r| {
                    Ok(super::Backlog {
                        inbound_pending: r.get::<_, i64>(0)? as u64,
                        outbox_due: r.get::<_, i64>(1)? as u64,
                        timers_overdue: r.get::<_, i64>(2)? as u64,
                        outbox_retrying: r.get::<_, i64>(3)? as u64,
                        outbox_oldest_queued: r.get::<_, Option<i64>>(4)?.map(instant),
                    })
                },
            )
        })
    }

    fn concerns_opened(
        &self,
        service: &Id,
        from: Instant,
        until: Instant,
    ) -> StoreResult<Vec<(Concern, Vec<TimelineEntry>)>> {
        let service = service.as_str().to_owned();
        let rows = self.read(|c| {
            let mut stmt = c.prepare_cached(CONCERNS_OPENED)?;
            let concerns = stmt
                .query_map(params![service, ms(from), ms(until)], |r| {
                    Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?)))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut timeline = c.prepare_cached(TIMELINE_OF)?;
            concerns
                .into_iter()
                .map(|(id, row)| {
                    let entries = timeline
                        .query_map(params![id], |r| r.get::<_, String>(0))?
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Ok((row, entries))
                })
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter()
            .map(|(row, entries)| {
                let concern = concern_from(row)?;
                let entries = entries
                    .iter()
                    .map(|e| from_json(e))
                    .collect::<StoreResult<Vec<_>>>()?;
                Ok((concern, entries))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::concern::ConcernKey;
    use crate::concern::Party;
    use crate::escalation::{Escalation, StaffRef, Status};

    #[test]
    fn a_key_stored_before_keys_had_scopes_reads_as_its_own_client_with_the_old_keys_scopes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let store = SqliteStore::open(&path).unwrap();
        // What `create_api_key` wrote before ADR 21: the migration leaves
        // such rows without a client or scopes.
        let made: Instant = "2026-11-25T10:00:00Z".parse().unwrap();
        Connection::open(&path)
            .unwrap()
            .execute(
                "INSERT INTO api_keys (hash, name, created_at) VALUES (?1, 'ward-7-discharge', ?2)",
                params![&[9u8; 32][..], ms(made)],
            )
            .unwrap();
        assert_eq!(
            store.api_key([9; 32]).unwrap().unwrap(),
            ApiKey::made(
                "ward-7-discharge",
                crate::api_keys::Scopes::BEFORE_SCOPES,
                made
            )
        );
        assert_eq!(store.api_keys().unwrap().len(), 1);
    }

    fn accepted_concern() -> Concern {
        let mut escalation = Escalation::new(false);
        escalation.status = Status::Accepted {
            by: StaffRef {
                id: Id::parse("chen").unwrap(),
                name: "Chen Li".into(),
                role: "Registrar".into(),
            },
            at: "2026-11-27T19:15:00Z".parse().unwrap(),
        };
        Concern {
            id: ConcernId::new(),
            enrolment: Some(EnrolmentId::new()),
            service: Some(Id::parse("cardiology-ward-7").unwrap()),
            sender: PhoneNumber::parse("+447700900801").unwrap().into(),
            party: Party::Patient,
            opened_at: "2026-11-27T19:05:00Z".parse().unwrap(),
            text: "My dressing is leaking".into(),
            escalation,
            pictures_explained: false,
            recognised: None,
            calls: Vec::new(),
            version: 0,
        }
    }

    #[test]
    fn concerns_stored_before_the_list_existed_are_listed_after_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let c = accepted_concern();
        {
            // A store as the previous version left it: three migrations.
            let conn = open_connection(&path).unwrap();
            for sql in &MIGRATIONS[..3] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 3).unwrap();
            conn.execute(
                "INSERT INTO concerns (id, sender, resolved, opened_at, data) VALUES (?1, ?2, 0, ?3, ?4)",
                params![c.id.to_string(), c.sender.key(), ms(c.opened_at), json(&c).unwrap()],
            )
            .unwrap();
            // A row whose JSON has no status must not stop the upgrade (and `serve` with it).
            conn.execute(
                "INSERT INTO concerns (id, sender, resolved, opened_at, data) VALUES ('x', '+447700900802', 1, 0, '{}')",
                [],
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let filter = ConcernFilter {
            statuses: vec![ConcernStatus::Accepted],
            service: c.service.clone(),
            enrolment: c.enrolment,
            limit: 10,
            ..ConcernFilter::default()
        };
        // Stored concerns start at version 1.
        assert_eq!(
            store.concerns(&filter).unwrap(),
            [Concern { version: 1, ..c }]
        );
    }

    #[test]
    fn purging_clears_words_the_code_no_longer_knows_and_sets_aside_what_it_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("n.db")).unwrap();
        let resolved_at: Instant = "2026-11-28T09:00:00Z".parse().unwrap();
        let resolve = |mut c: Concern| {
            c.escalation.status = Status::Resolved {
                by: None,
                at: resolved_at,
                note: None,
            };
            store
                .apply(Change {
                    at: resolved_at,
                    concern: Some(c),
                    ..Change::default()
                })
                .unwrap();
        };
        let (readable, unreadable) = (accepted_concern(), accepted_concern());
        let unreadable = Concern {
            sender: PhoneNumber::parse("+447700900802").unwrap().into(),
            ..unreadable
        };
        resolve(readable.clone());
        resolve(unreadable.clone());
        // A forward as early versions stored it, quoting the sender; a
        // message on the concern whose record no longer reads; and a
        // timeline entry that does not read either.
        let (a, b) = (readable.id.to_string(), unreadable.id.to_string());
        store
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO timeline (concern_id, at, data) VALUES (?1, 0, ?2)",
                    params![a, r#"{"at":"2026-11-27T19:20:00Z","event":"forwarded","staff":"chen","name":"Chen Li","text":"SECRET leg"}"#],
                )?;
                tx.execute(
                    "INSERT INTO timeline (concern_id, at, data) VALUES (?1, 0, ?2)",
                    params![a, r#"{"event":"no such event","text":"SECRET shin"}"#],
                )?;
                tx.execute(
                    "INSERT INTO timeline (concern_id, at, data) VALUES (?1, 0, ?2)",
                    params![b, r#"{"at":"2026-11-27T19:05:00Z","event":"received","from":"patient","text":"SECRET knee"}"#],
                )?;
                tx.execute("UPDATE concerns SET data = '{\"broken\": true}' WHERE id = ?1", params![b])?;
                Ok(())
            })
            .unwrap();

        let purged = store
            .purge(resolved_at + TimeDelta::seconds(1), "[removed]")
            .unwrap();
        assert_eq!((purged.concerns, purged.set_aside), (1, 1));
        let rows: Vec<String> = store
            .read(|c| {
                let mut stmt = c.prepare("SELECT data FROM timeline")?;
                let rows = stmt.query_map([], |r| r.get(0))?;
                rows.collect()
            })
            .unwrap();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| !r.contains("SECRET")), "{rows:?}");
        assert_eq!(
            store.timeline(readable.id).unwrap().len(),
            2,
            "every entry reads now"
        );
        assert_eq!(
            store.concern(readable.id).unwrap().unwrap().text,
            "[removed]"
        );
        assert_eq!(
            store
                .purge(resolved_at + TimeDelta::days(1), "[removed]")
                .unwrap(),
            crate::concern::Purged::default(),
            "the unreadable one is not tried again"
        );
    }

    /// `EXPLAIN QUERY PLAN` of `sql` with these parameters (every one 1
    /// when `None`), one step a line.
    fn plan(
        store: &SqliteStore,
        sql: &str,
        values: Option<Vec<rusqlite::types::Value>>,
    ) -> Vec<String> {
        store
            .read(|c| {
                let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let values = values.unwrap_or_else(|| {
                    vec![rusqlite::types::Value::Integer(1); stmt.parameter_count()]
                });
                let rows = stmt.query_map(rusqlite::params_from_iter(values), |r| r.get(3))?;
                rows.collect()
            })
            .unwrap()
    }

    #[test]
    fn claiming_and_next_due_read_indexes_in_order_and_never_scan_a_table() {
        // The engine asks for `next_due` after every idle pass, with 100,000
        // timers waiting: each part must stop at its first row.
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("n.db")).unwrap();
        let queries = [
            ("next_due", next_due_sql(&WorkKind::ALL)),
            ("claim inbound", claimable_sql(WorkKind::Inbound)),
            ("claim timers", claimable_sql(WorkKind::Timer)),
            ("claim outbox", claimable_sql(WorkKind::Outbox)),
            ("claim notices", claimable_sql(WorkKind::Notice)),
            ("codes in use", CODES_IN_USE.to_owned()),
        ];
        for (name, sql) in queries {
            let plan = plan(&store, &sql, None);
            for step in &plan {
                let whole_table = step.starts_with("SCAN ")
                    && !step.contains(" USING ")
                    && !step.starts_with("SCAN (")
                    && step != "SCAN CONSTANT ROW";
                assert!(!whole_table, "{name} reads a whole table: {plan:#?}");
                assert!(
                    !step.contains("TEMP B-TREE FOR ORDER BY"),
                    "{name} sorts: {plan:#?}"
                );
            }
        }
    }

    #[test]
    fn every_shape_of_list_is_served_by_an_index_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("n.db")).unwrap();
        let key = ConcernKey {
            opened_at: "2026-11-27T19:05:00Z".parse().unwrap(),
            id: ConcernId::new(),
        };
        let all = || ConcernFilter {
            after: Some(key),
            limit: 50,
            ..ConcernFilter::default()
        };
        let shapes = [
            ("newest", "concerns_newest", all()),
            (
                "since",
                "concerns_newest",
                ConcernFilter {
                    opened_since: Some(key.opened_at),
                    ..all()
                },
            ),
            (
                "unresolved",
                "concerns_unresolved_newest",
                ConcernFilter {
                    statuses: vec![ConcernStatus::Open, ConcernStatus::Accepted],
                    ..all()
                },
            ),
            (
                "open",
                "concerns_unresolved_newest",
                ConcernFilter {
                    statuses: vec![ConcernStatus::Open],
                    ..all()
                },
            ),
            (
                "resolved",
                "concerns_newest",
                ConcernFilter {
                    statuses: vec![ConcernStatus::Resolved],
                    ..all()
                },
            ),
            (
                "service",
                // Migration 10's index, for reports, serves this list too.
                "concerns_by_service",
                ConcernFilter {
                    service: Some(Id::parse("cardiology-ward-7").unwrap()),
                    ..all()
                },
            ),
            (
                "enrolment",
                "concerns_by_enrolment",
                ConcernFilter {
                    enrolment: Some(EnrolmentId::new()),
                    ..all()
                },
            ),
        ];
        for (name, index, filter) in shapes {
            let (sql, values) = concerns_query(&filter);
            let plan = plan(&store, &sql, Some(values)).join("; ");
            assert!(
                plan.contains(&format!("USING INDEX {index} (")),
                "{name}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{name} sorts: {plan}");
        }
        // A read-own key's list: its client's enrolments by their index,
        // each one's concerns by theirs, then sorted. That sorts one
        // client's concerns, never walks the trust's: the cost grows with
        // what the client enrolled.
        let (sql, values) = concerns_query(&ConcernFilter {
            client: Some("ward-7-discharge".into()),
            ..all()
        });
        let own = plan(&store, &sql, Some(values)).join("; ");
        for index in ["enrolments_by_client (client=?)", "concerns_by_enrolment ("] {
            assert!(own.contains(&format!("USING INDEX {index}")), "{own}");
        }
        assert!(!own.contains("SCAN"), "{own}");
        // A service's week, for its report; each concern's timeline by its index.
        let week = plan(&store, CONCERNS_OPENED, None).join("; ");
        assert!(
            week.contains(
                "USING INDEX concerns_by_service (service=? AND opened_at>? AND opened_at<?)"
            ),
            "{week}"
        );
        assert!(!week.contains("TEMP B-TREE"), "{week}");
        let timeline = plan(&store, TIMELINE_OF, None).join("; ");
        assert!(
            timeline.contains("USING INDEX timeline_by_concern"),
            "{timeline}"
        );
    }
}
