//! One change, atomically ([`WorkQueue::apply`](crate::work::WorkQueue::apply)):
//! the claim and concern-version checks first, then the concern, its
//! timeline, timers, pages, outbox items, notices and the claims they end,
//! all inside the change's savepoint on the writer.

use rusqlite::{OptionalExtension, Transaction, params};

use crate::concern::Concern;
use crate::concern::ConcernStatus;
use crate::directory::Id;
use crate::outbox::{NewOutbox, OutboxOutcome};
use crate::store::codec;
use crate::store::codec::{conflict, corrupt, invalid, ms, to_json};
use crate::store_error::StoreResult;
use crate::work::{Change, Claim, TimerKind};
use crate::work::{Work, WorkKey};

pub(super) fn apply_change(tx: &Transaction<'_>, change: Change) -> StoreResult<()> {
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
            "INSERT INTO enrolments (id, data, ends_at, ended_at, client, nhs_number) VALUES (?1, ?2, ?3, NULL, ?4, ?5)",
            params![
                e.id.to_string(),
                to_json(e)?,
                ms(codec::ends_at_or_never(e)),
                e.client,
                e.nhs_number.as_ref().map(|n| n.as_str().to_owned())
            ],
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
            params![concern.to_string(), ms(entry.at), to_json(entry)?],
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
            params![n.key, ms(n.due_at), to_json(n)?],
        )?;
        end_claim(tx, &n.work_key())?;
    }
    for n in &change.add_notices {
        tx.execute(
            "INSERT OR IGNORE INTO notices (key, due_at, data) VALUES (?1, ?2, ?3)",
            params![n.key, ms(n.due_at), to_json(n)?],
        )?;
    }
    for a in &change.check_in_answers {
        tx.execute(
            "INSERT INTO check_in_answers (enrolment_id, at, data) VALUES (?1, ?2, ?3)",
            params![a.enrolment.to_string(), ms(a.at), to_json(a)?],
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
                to_json(c)?,
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
            to_json(c)?,
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
pub(super) fn layer_still_at(tx: &Transaction<'_>, judged_at: u64) -> StoreResult<()> {
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

/// Queue `m` at the end of its lane, with its priority and its lane's
/// concern as [`NewOutbox::priority`] and [`NewOutbox::lane`] say; the
/// texts before it in its lane go at least as urgently (ADR 31), so the
/// lane's head always carries the lane's most urgent priority.
fn insert_outbox(tx: &Transaction<'_>, m: &NewOutbox, due_at: i64) -> StoreResult<()> {
    let lane = m.lane();
    let lane_concern = lane.concern.map(|c| c.to_string());
    let priority = i64::from(m.priority().rank());
    tx.execute(
        "INSERT INTO outbox (concern_id, to_number, body, purpose, staff, recipient, due_at, queued_at, ready_at, step, priority, lane_concern)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7, ?8, ?9, ?10)",
        params![
            m.concern.map(|c| c.to_string()),
            m.to.key(),
            m.body,
            m.purpose.as_str(),
            m.staff.as_ref().map(Id::as_str),
            m.recipient,
            due_at,
            m.step.map(|s| s as i64),
            priority,
            lane_concern,
        ],
    )?;
    tx.execute(
        "UPDATE outbox SET priority = ?3 WHERE to_number = ?1 AND lane_concern IS ?2
         AND state IN ('pending', 'in_flight') AND priority > ?3",
        params![lane.to.key(), lane_concern, priority],
    )?;
    Ok(())
}
