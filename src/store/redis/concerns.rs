//! Concerns on Redis: reading one or a list of them, pages and page
//! codes, and purging what is past its keeping time.

use super::plan::{self, corrupt, lex_time, ms};

use redis::Script;

use super::scripts;
use super::{LIST_BUDGET, PURGE_BATCH, PURGE_WRITE_BATCH, RedisStore, args, concern_from};
use crate::clock::Instant;
use crate::concern::Concerns;
use crate::concern::{CodeRequest, Concern, ConcernId};
use crate::concern::{ConcernFilter, ConcernStatus, Page, Purged};
use crate::directory::{Address, Id};
use crate::store_error::StoreResult;
use crate::timeline::{TimelineEntry, TimelineEvent};

impl Concerns for RedisStore {
    fn concern(&self, id: ConcernId) -> StoreResult<Option<Concern>> {
        let row: Option<(String, u64)> = self.script(&scripts::CONCERN, args([&id.to_string()]))?;
        row.map(concern_from).transpose()
    }

    fn timeline(&self, id: ConcernId) -> StoreResult<Vec<TimelineEntry>> {
        self.json_list(&["c", &id.to_string(), "timeline"])
    }

    fn open_concern_from(&self, sender: &Address) -> StoreResult<Option<Concern>> {
        let row: Option<(String, u64)> =
            self.script(&scripts::OPEN_CONCERN_FROM, args([&sender.key()]))?;
        row.map(concern_from).transpose()
    }

    fn concerns(&self, filter: &ConcernFilter) -> StoreResult<Vec<Concern>> {
        if filter.limit == 0 {
            return Ok(Vec::new());
        }
        let wanted: Vec<ConcernStatus> = ConcernStatus::ALL
            .into_iter()
            .filter(|s| filter.statuses.is_empty() || filter.statuses.contains(s))
            .collect();
        // The smallest index that holds every match, as SQLite picks one.
        let index = match filter.enrolment {
            Some(e) => format!("c:enrolment:{e}"),
            None if !wanted.contains(&ConcernStatus::Resolved) => "c:unresolved".to_owned(),
            None => "c:all".to_owned(),
        };
        let statuses = if wanted.len() == ConcernStatus::ALL.len() {
            String::new()
        } else {
            wanted
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let max = filter.after.map_or_else(
            || "+".to_owned(),
            |k| format!("({}:{}", lex_time(k.opened_at), k.id),
        );
        let min = filter
            .opened_since
            .map_or_else(|| "-".to_owned(), |t| format!("[{}", lex_time(t)));
        let service = filter.service.as_ref().map(Id::as_str).unwrap_or_default();
        // A walk of a long list comes back in parts (see
        // scripts/concerns.lua); each part is consistent, and a concern written between
        // two parts is above the place the walk has reached, as it would be
        // between two pages of the list.
        let (mut max, mut found) = (max, Vec::new());
        loop {
            let (rows, next): (Vec<(String, u64)>, String) = self.script(
                &scripts::CONCERNS,
                args([
                    &index,
                    &max,
                    &min,
                    &(filter.limit - found.len()).to_string(),
                    &statuses,
                    &service,
                    &filter.client.as_deref().unwrap_or_default(),
                    &LIST_BUDGET.to_string(),
                ]),
            )?;
            for row in rows {
                found.push(concern_from(row)?);
            }
            if next.is_empty() || found.len() >= filter.limit {
                return Ok(found);
            }
            max = next;
        }
    }

    fn unresolved_concerns(&self) -> StoreResult<u64> {
        self.command(
            redis::cmd("ZCARD")
                .arg(self.key(&["c", "unresolved"]))
                .clone(),
        )
    }

    fn purge(&self, closed_before: Instant, placeholder: &str) -> StoreResult<Purged> {
        // What counts as personal data is the domain's to say, so the
        // redaction happens here, between a script that reads the
        // candidates and one that writes each back only if it has not
        // changed since (its version and timeline length are checked): a
        // concern written in between waits for the next call.
        let cutoff = ms(closed_before);
        let candidates: Vec<Vec<String>> = self.script(
            &scripts::PURGE_CANDIDATES,
            args([&cutoff, &PURGE_BATCH.to_string()]),
        )?;
        let mut purged = Purged::default();
        for batch in candidates.chunks(PURGE_WRITE_BATCH) {
            let mut rows = Vec::with_capacity(batch.len());
            for row in batch {
                let [id, version, data, timeline @ ..] = row.as_slice() else {
                    return Err(corrupt("a purge candidate of the wrong shape"));
                };
                // Unreadable, so nothing can say what in it is personal: set
                // aside for an operator (an empty document), not picked up
                // by every batch after this one.
                let redacted = match serde_json::from_str::<Concern>(data) {
                    Ok(concern) => plan::json(&concern.redacted(placeholder))?,
                    Err(_) => String::new(),
                };
                let entries = timeline
                    .iter()
                    .map(|entry| plan::json(&redact_entry(entry, placeholder, closed_before)))
                    .collect::<StoreResult<Vec<_>>>()?;
                rows.push((id, version, timeline.len().to_string(), redacted, entries));
            }
            let rows = serde_json::to_string(&rows).map_err(corrupt)?;
            let (concerns, set_aside): (u64, u64) =
                self.script(&scripts::PURGE_CONCERNS, args([&placeholder, &rows]))?;
            purged.concerns += concerns;
            purged.set_aside += set_aside;
        }
        let drain = |what: &'static Script| -> StoreResult<u64> {
            let mut total = 0;
            loop {
                let n: u64 = self.script(what, args([&cutoff, &PURGE_BATCH.to_string()]))?;
                total += n;
                if n < PURGE_BATCH as u64 {
                    return Ok(total);
                }
            }
        };
        purged.inbound = drain(&scripts::PURGE_INBOUND)?;
        purged.enrolments = drain(&scripts::PURGE_ENROLMENTS)?;
        Ok(purged)
    }

    fn pages_for(&self, staff: &Id, closed_since: Instant) -> StoreResult<Vec<Page>> {
        let rows: Vec<(String, String)> = self.script(
            &scripts::PAGES_FOR,
            args([&staff.as_str(), &ms(closed_since)]),
        )?;
        let mut pages = rows
            .iter()
            .map(|(concern, record)| plan::page(concern.parse().map_err(corrupt)?, staff, record))
            .collect::<StoreResult<Vec<_>>>()?;
        pages.sort_by_key(|p| std::cmp::Reverse(p.opened_at));
        Ok(pages)
    }

    fn page(&self, concern: ConcernId, staff: &Id) -> StoreResult<Option<Page>> {
        let record: Option<String> = self.hget(&["pg", staff.as_str()], &concern.to_string())?;
        record.map(|r| plan::page(concern, staff, &r)).transpose()
    }

    fn reserve_code(&self, request: CodeRequest<'_>) -> StoreResult<u16> {
        // `at` is not stored: a reservation's age is never asked, only
        // whether it is held or when it was released.
        let CodeRequest {
            concern,
            staff,
            quarantine_since,
            at: _,
        } = request;
        self.script(
            &scripts::RESERVE_CODE,
            args([&concern.to_string(), &staff.as_str(), &ms(quarantine_since)]),
        )
    }
}

/// A timeline entry as [`TimelineEntry::redacted`] says. It is written back
/// from its typed form, so fields the code no longer knows go too; one that
/// cannot be read at all becomes a note saying only `placeholder`, at the
/// time it records if that can be read, else at the cutoff.
fn redact_entry(entry: &str, placeholder: &str, cutoff: Instant) -> TimelineEntry {
    match serde_json::from_str::<TimelineEntry>(entry) {
        Ok(entry) => entry.redacted(placeholder),
        Err(_) => TimelineEntry {
            at: serde_json::from_str::<serde_json::Value>(entry)
                .ok()
                .and_then(|v| v.get("at")?.as_str()?.parse().ok())
                .unwrap_or(cutoff),
            event: TimelineEvent::note(placeholder.to_owned()),
        },
    }
}
