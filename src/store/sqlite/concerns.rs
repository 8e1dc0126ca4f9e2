//! Concerns ([`Concerns`]): reading and listing them and their timelines,
//! their pages, purging closed ones, and reserving a clinician's page code.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{SqliteStore, concern_row};
use crate::clock::Instant;
use crate::concern::Concerns;
use crate::concern::{CodeRequest, Concern, ConcernId};
use crate::concern::{ConcernFilter, ConcernStatus, Page};
use crate::directory::{Address, Id};
use crate::store::codec::{concern_from, corrupt, from_json, instant, ms, to_json};
use crate::store_error::StoreResult;
use crate::timeline::TimelineEntry;

/// A concern's timeline, oldest first.
pub(super) const TIMELINE_OF: &str = "SELECT data FROM timeline WHERE concern_id = ?1 ORDER BY seq";

/// The query that lists concerns for `filter`, and its parameters. Only
/// the conditions a filter sets are written, so that SQLite can pick the
/// index that serves them (see migration 4).
pub(super) fn concerns_query(filter: &ConcernFilter) -> (String, Vec<rusqlite::types::Value>) {
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
            params![seq, to_json(&redacted)?],
        )?;
    }
    Ok(())
}

/// The codes a clinician has in use: on an open page or one closed since
/// `?2`, or reserved and not released, or released since `?2` (`?1` is the
/// clinician).
pub(super) const CODES_IN_USE: &str = "SELECT code FROM pages WHERE staff = ?1 AND (open = 1 OR closed_at >= ?2)
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

    fn purge(
        &self,
        closed_before: Instant,
        placeholder: &str,
    ) -> StoreResult<crate::concern::Purged> {
        let (cutoff, placeholder) = (ms(closed_before), placeholder.to_owned());
        self.write(move |tx| {
            let rows: Vec<(String, String)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT id, data FROM concerns WHERE purged = 0 AND closed_at IS NOT NULL AND closed_at < ?1 LIMIT 1000",
                )?;
                let rows = stmt.query_map(params![cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let mut purged = crate::concern::Purged::default();
            for (id, data) in &rows {
                // What counts as personal data is the domain's to say.
                match serde_json::from_str::<Concern>(data) {
                    Ok(concern) => {
                        tx.execute(
                            "UPDATE concerns SET purged = 1, data = ?2, version = version + 1 WHERE id = ?1",
                            params![id, to_json(&concern.redacted(&placeholder))?],
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

    fn reserve_code(&self, request: CodeRequest<'_>) -> StoreResult<u16> {
        let (concern, staff) = (
            request.concern.to_string(),
            request.staff.as_str().to_owned(),
        );
        let (quarantine_since, at) = (ms(request.quarantine_since), ms(request.at));
        self.write(move |tx| reserve_code(tx, &concern, &staff, quarantine_since, at))
    }
}
