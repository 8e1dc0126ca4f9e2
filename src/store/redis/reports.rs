//! What reports read from Redis: the concerns a service opened in a
//! window, and the backlog of work waiting.

use super::plan::{corrupt, instant, lex_time, ms};

use super::scripts;
use super::{RedisStore, args, concern_from, from_json};
use crate::clock::Instant;
use crate::directory::Id;
use crate::reports::{Backlog, PriorityBacklog};
use crate::reports::{Opened, Reports};
use crate::store_error::StoreResult;
use std::ops::Range;

impl Reports for RedisStore {
    fn concerns_opened(&self, service: &Id, opened: Range<Instant>) -> StoreResult<Opened> {
        let Range {
            start: from,
            end: until,
        } = opened;
        let rows: Vec<(String, u64, Vec<String>)> = self.script(
            &scripts::CONCERNS_OPENED,
            args([
                &service.as_str(),
                &format!("[{}", lex_time(from)),
                &format!("({}", lex_time(until)),
            ]),
        )?;
        rows.into_iter()
            .map(|(data, version, timeline)| {
                let entries = timeline
                    .iter()
                    .map(|e| from_json(e))
                    .collect::<StoreResult<Vec<_>>>()?;
                Ok((concern_from((data, version))?, entries))
            })
            .collect()
    }

    fn backlog(&self, now: Instant) -> StoreResult<Backlog> {
        let row: Vec<String> = self.script(&scripts::BACKLOG, args([&ms(now)]))?;
        let [inbound, due, overdue, retrying, oldest, by_priority @ ..] = row.as_slice() else {
            return Err(corrupt("a backlog of the wrong shape"));
        };
        let count = |s: &str| s.parse::<u64>().map_err(corrupt);
        let when = |s: &String| (!s.is_empty()).then(|| instant(s)).transpose();
        let [
            urgent,
            urgent_oldest,
            prompt,
            prompt_oldest,
            bulk,
            bulk_oldest,
        ] = by_priority
        else {
            return Err(corrupt("a backlog of the wrong shape"));
        };
        let lane = |n: &str, oldest: &String| -> StoreResult<PriorityBacklog> {
            Ok(PriorityBacklog {
                due: count(n)?,
                oldest_due: when(oldest)?,
            })
        };
        Ok(Backlog {
            outbox_due_by_priority: [
                lane(urgent, urgent_oldest)?,
                lane(prompt, prompt_oldest)?,
                lane(bulk, bulk_oldest)?,
            ],
            inbound_pending: count(inbound)?,
            outbox_due: count(due)?,
            outbox_retrying: count(retrying)?,
            outbox_oldest_queued: (!oldest.is_empty()).then(|| instant(oldest)).transpose()?,
            timers_overdue: count(overdue)?,
        })
    }
}
