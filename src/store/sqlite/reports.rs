//! Reports ([`Reports`]): the backlog, and a service's concerns opened in
//! a span of time with their timelines.

use rusqlite::params;

use super::SqliteStore;
use super::concerns::TIMELINE_OF;
use crate::clock::Instant;
use crate::directory::Id;
use crate::reports::{Opened, Reports};
use crate::store::codec::{concern_from, from_json, instant, ms};
use crate::store_error::StoreResult;
use std::ops::Range;

/// A service's concerns opened in a span of time, oldest first (migration 10's index).
pub(super) const CONCERNS_OPENED: &str = "SELECT id, data, version FROM concerns WHERE service = ?1 AND opened_at >= ?2 AND opened_at < ?3 ORDER BY opened_at, id";

impl Reports for SqliteStore {
    fn backlog(&self, now: Instant) -> StoreResult<crate::reports::Backlog> {
        self.read(|c| {
            let mut backlog = c.query_row(
                "SELECT (SELECT COUNT(*) FROM inbound WHERE processed_at IS NULL),
                        (SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight') AND due_at <= ?1),
                        (SELECT COUNT(*) FROM timers WHERE due_at <= ?1),
                        (SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'in_flight') AND attempts > 0),
                        (SELECT MIN(queued_at) FROM outbox WHERE state IN ('pending', 'in_flight'))",
                params![ms(now)],
                |r| {
                    Ok(crate::reports::Backlog {
                        inbound_pending: r.get::<_, i64>(0)? as u64,
                        outbox_due: r.get::<_, i64>(1)? as u64,
                        timers_overdue: r.get::<_, i64>(2)? as u64,
                        outbox_retrying: r.get::<_, i64>(3)? as u64,
                        outbox_oldest_queued: r.get::<_, Option<i64>>(4)?.map(instant),
                        outbox_due_by_priority: Default::default(),
                    })
                },
            )?;
            // An item stored without a priority counts as urgent, as
            // claiming takes it.
            let mut stmt = c.prepare_cached(
                "SELECT COALESCE(priority, 0), COUNT(*), MIN(due_at) FROM outbox
                 WHERE state IN ('pending', 'in_flight') AND due_at <= ?1
                 GROUP BY COALESCE(priority, 0)",
            )?;
            let rows = stmt
                .query_map(params![ms(now)], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            for (rank, due, oldest) in rows {
                let slot = usize::try_from(rank).unwrap_or(0).min(2);
                let entry = &mut backlog.outbox_due_by_priority[slot];
                entry.due += due as u64;
                let oldest = instant(oldest);
                entry.oldest_due = Some(entry.oldest_due.map_or(oldest, |o| o.min(oldest)));
            }
            Ok(backlog)
        })
    }

    fn concerns_opened(&self, service: &Id, opened: Range<Instant>) -> StoreResult<Opened> {
        let Range {
            start: from,
            end: until,
        } = opened;
        let service = service.as_str().to_owned();
        let rows = self.read(|c| {
            let mut stmt = c.prepare_cached(CONCERNS_OPENED)?;
            let concerns = stmt
                .query_map(params![service, ms(from), ms(until)], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        (r.get(1)?, r.get::<_, i64>(2)? as u64),
                    ))
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
