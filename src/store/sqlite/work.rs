//! The work queue ([`WorkQueue`]): claims with leases and fencing tokens,
//! the SQL that finds claimable and next-due work (inbound items, timers,
//! outbox items at the head of their lane, notices), and the one generic
//! claim every kind of work goes through.

use rusqlite::{OptionalExtension, Transaction, params};

use super::SqliteStore;
use super::apply::apply_change;
use crate::checkins::{CheckInAnswer, Notice};
use crate::clock::Instant;
use crate::directory::{Address, EnrolmentId, Id};
use crate::inbox::Inbound;
use crate::outbox::{NewOutbox, OutboxItem, Priority};
use crate::store::codec::{corrupt, from_json, instant, ms, unavailable};
use crate::store_error::{StoreError, StoreResult};
use crate::timeline::Purpose;
use crate::work::WorkQueue;
use crate::work::{
    Change, Claim, ClaimRequest, Claimed, ClaimedWork, NodeId, Timer, TimerKind, WorkKind,
};
use crate::work::{ClaimKind, Work, WorkKey, claim_by_kind};

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
    let priority: Option<i64> = row.get(13)?;
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
            // Sent before priorities (or unreadable then): as urgent as any.
            priority: priority
                .and_then(|p| Priority::from_rank(u8::try_from(p).ok()?))
                .unwrap_or(Priority::Urgent),
        })
    })())
}

const OUTBOX_COLUMNS: &str = "o.id, o.concern_id, o.to_number, o.body, o.purpose, o.staff, o.recipient, o.attempts, o.due_at, o.provider_id, o.state, o.queued_at, o.step, o.priority";

/// An unsent outbox item `o` that is the earliest unsent one in its lane:
/// only such an item may be sent. A lane is a number and, for a
/// clinician's texts about a concern, that concern, as
/// [`crate::outbox::Lane::of`] says (stored as `to_number` and
/// `lane_concern`); so texts to a patient keep their order, and a
/// clinician's about one concern, while a page that hangs holds up no
/// other patient's page to the same clinician.
const HEAD_OF_LINE: &str = "o.state IN ('pending', 'in_flight') AND NOT EXISTS (
    SELECT 1 FROM outbox e WHERE e.to_number = o.to_number AND e.lane_concern IS o.lane_concern
    AND e.id < o.id AND e.state IN ('pending', 'in_flight'))";

/// Give the unsent outbox items stored before priorities their priority
/// and lane, from Rust's rules ([`NewOutbox::priority`], [`NewOutbox::lane`]):
/// run once, by the migration that added the columns. Each lane's head
/// then goes at its lane's most urgent priority, as new items make it.
pub(super) fn fill_outbox_order(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let items: Vec<OutboxItem> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox o WHERE o.state IN ('pending', 'in_flight') ORDER BY o.id"
        ))?;
        let rows = stmt.query_map([], outbox_row)?;
        // An unreadable row stays without a priority (NULL sorts first):
        // it is reported when it is claimed, as before.
        rows.filter_map(|row| row.map(Result::ok).transpose())
            .collect::<rusqlite::Result<_>>()?
    };
    for item in items {
        let lane = item.message.lane();
        let lane_concern = lane.concern.map(|c| c.to_string());
        tx.execute(
            "UPDATE outbox SET lane_concern = ?2, priority = ?3 WHERE id = ?1",
            params![item.id, lane_concern, item.message.priority().rank()],
        )?;
        tx.execute(
            "UPDATE outbox SET priority = ?3 WHERE to_number = ?1 AND lane_concern IS ?2
             AND id < ?4 AND state IN ('pending', 'in_flight') AND priority > ?3",
            params![
                lane.to.key(),
                lane_concern,
                item.message.priority().rank(),
                item.id
            ],
        )?;
    }
    Ok(())
}

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
pub(super) fn claimable_sql(kind: WorkKind) -> String {
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
        // The most urgent first (a lane's head carries its lane's most
        // urgent priority), then the longest due.
        WorkKind::Outbox => format!(
            "SELECT {OUTBOX_COLUMNS}, {} FROM outbox o
             WHERE {HEAD_OF_LINE} AND o.ready_at <= ?1 AND NOT {live}
             ORDER BY o.priority, o.ready_at, o.id LIMIT ?2",
            claimed_sql(kind, "1"),
        ),
    }
}

/// What [`WorkQueue::next_due`](crate::work::WorkQueue::next_due) reads.
pub(super) fn next_due_sql(kinds: &[WorkKind]) -> String {
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
        let claimed_before: bool = row.get(14)?;
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

impl<T: Claimable> ClaimKind<T> for SqliteStore {
    /// Claim up to `limit` pieces of work of one kind in one write: those
    /// claimable at `now` ([`claimable_sql`]), in order, each until
    /// `now + lease`.
    fn claim_kind(&self, request: &ClaimRequest<'_>) -> StoreResult<Vec<Claimed<T>>> {
        let (node, now, until) = (request.node, request.now, request.until()?);
        let node = node.clone();
        let limit = i64::try_from(request.limit).unwrap_or(i64::MAX);
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

/// How much the readiness probe writes: as much as one stored message
/// (ADR 18: a message keeps up to 16 KB).
const PROBE_BYTES: i64 = 16 * 1024;

impl SqliteStore {
    /// Take back every claim in the file at once, as if each had been
    /// released: the work under them can be claimed again now (and counts
    /// one more attempt), an outbox item stays marked as perhaps sent (it
    /// is asked about at the provider first), and a change carrying one of
    /// them is refused. Only the holder of the serve lock may do this, at
    /// start-up (docs/adr/0030): no other process can hold a claim on a
    /// file it has locked, so every claim in it is a stopped process's.
    /// Returns how many were taken back.
    pub fn take_back_claims(&self, _serving: &super::ServeLock) -> StoreResult<usize> {
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET ready_at = due_at WHERE id IN (SELECT CAST(key AS INTEGER)
                     FROM claims WHERE kind = 'outbox' AND until IS NOT NULL)",
                [],
            )?;
            Ok(tx.execute("UPDATE claims SET until = NULL WHERE until IS NOT NULL", [])?)
        })
    }
}

impl WorkQueue for SqliteStore {
    fn ping(&self) -> StoreResult<()> {
        // Through the writer, like a webhook, and as much as one writes (a
        // message keeps up to 16 KB, ADR 18), put back within the write: a
        // lock held elsewhere, a stopped writer or a disk with no room for
        // that fail here as they would fail a webhook. A row rewritten in
        // place can find room where a new message cannot, so while the
        // last writes that stored something failed for want of space, the
        // store is not ready: until a write stores something again, or
        // this probe succeeds a while after the last failure.
        self.write_probe(|tx| {
            tx.execute(
                "INSERT INTO heartbeat (id, beats) VALUES (1, 1)
                 ON CONFLICT(id) DO UPDATE SET beats = randomblob(?1)",
                params![PROBE_BYTES],
            )?;
            tx.execute("UPDATE heartbeat SET beats = 1 WHERE id = 1", [])?;
            Ok(())
        })?;
        if self.space.short() {
            if !self.space.may_recheck() {
                return Err(unavailable(
                    "the last writes to the store failed for want of disk space",
                ));
            }
            self.space.cleared_by_probe();
        }
        Ok(())
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

    fn claim(&self, kind: WorkKind, request: &ClaimRequest<'_>) -> StoreResult<ClaimedWork> {
        claim_by_kind(self, kind, request)
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
