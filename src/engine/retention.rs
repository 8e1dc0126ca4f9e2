//! Retention: once a concern has been resolved for the retention period,
//! what people wrote is removed; who was paged, when, and who accepted stays.
//!
//! Checked at most once an hour. What counts as personal data, and how it
//! is replaced, is the store's [`crate::store::Store::purge`]; this stage
//! only decides when, and reports what went.

use std::sync::Mutex;

use chrono::TimeDelta;

use crate::clock::Instant;
use crate::store::{self, Store};

use super::EngineResult;

/// How often the engine removes text past its retention period.
const PURGE_EVERY: TimeDelta = TimeDelta::hours(1);
/// What replaces removed text.
pub const REMOVED: &str = "[removed after the retention period]";

/// When text is removed, and when it last was.
#[derive(Debug, Default)]
pub(super) struct Retention {
    /// How long after a concern is resolved its text is kept; `None`: forever.
    keep: Option<TimeDelta>,
    last: Mutex<Option<Instant>>,
}

impl Retention {
    /// Keep text for `keep` after a concern is resolved.
    pub(super) fn keeping(keep: TimeDelta) -> Self {
        Self {
            keep: Some(keep),
            last: Mutex::new(None),
        }
    }

    /// Remove text past the retention period, if an hour has passed since
    /// the last time (or this is the first).
    pub(super) async fn purge_if_due(
        &self,
        store: &std::sync::Arc<dyn Store>,
        now: Instant,
    ) -> EngineResult<()> {
        let Some(keep) = self.keep else {
            return Ok(());
        };
        let due = self
            .last
            .lock()
            .map(|last| last.is_none_or(|t| now - t >= PURGE_EVERY))
            .unwrap_or(true);
        if !due {
            return Ok(());
        }
        let cutoff = now - keep;
        let (mut concerns, mut inbound, mut enrolments) = (0, 0, 0);
        loop {
            let purged = store::blocking(store, move |s| s.purge(cutoff, REMOVED)).await?;
            concerns += purged.concerns;
            inbound += purged.inbound;
            enrolments += purged.enrolments;
            if purged.concerns == 0 {
                break;
            }
        }
        if concerns + inbound + enrolments > 0 {
            tracing::info!(
                concerns,
                inbound,
                enrolments,
                "removed personal data past its retention period"
            );
        }
        if let Ok(mut last) = self.last.lock() {
            *last = Some(now);
        }
        Ok(())
    }
}
