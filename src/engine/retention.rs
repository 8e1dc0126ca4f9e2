//! Retention: removing what people wrote once it is no longer needed.

use chrono::TimeDelta;

use super::Engine;
use crate::clock::Instant;
use crate::store;

/// How often the engine removes text past its retention period.
const PURGE_EVERY: TimeDelta = TimeDelta::hours(1);
/// What replaces removed text.
pub const REMOVED: &str = "[removed after the retention period]";

impl Engine {
    pub(super) async fn purge_if_due(&self, now: Instant) -> anyhow::Result<()> {
        let Some(retention) = self.retention else {
            return Ok(());
        };
        let due = self
            .last_purge
            .lock()
            .map(|last| last.is_none_or(|t| now - t >= PURGE_EVERY))
            .unwrap_or(true);
        if !due {
            return Ok(());
        }
        let cutoff = now - retention;
        let (mut concerns, mut inbound, mut enrolments) = (0, 0, 0);
        loop {
            let purged = store::blocking(&self.store, move |s| s.purge(cutoff, REMOVED)).await?;
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
        if let Ok(mut last) = self.last_purge.lock() {
            *last = Some(now);
        }
        Ok(())
    }
}
