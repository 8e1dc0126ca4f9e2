//! What the engine counts for `/metrics` and benchmarks: how late timers
//! fire, and inbound texts refused because nobody can be texted back.
//!
//! Counters only, in memory since start-up; ids and reasons, never what
//! anyone wrote or their number.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use chrono::TimeDelta;

/// How many recent timer-lateness samples are kept.
const LATENESS_SAMPLES: usize = 200_000;

/// How late recent timers fired.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Lateness {
    /// How many samples the figures are from.
    pub count: usize,
    /// The median.
    pub p50: Duration,
    /// The 99th percentile.
    pub p99: Duration,
}

/// The counters, shared by the engine's stages and its handle.
#[derive(Debug, Default)]
pub(super) struct Stats {
    lateness: Mutex<VecDeque<TimeDelta>>,
    refused: Mutex<BTreeMap<&'static str, u64>>,
    set_aside: std::sync::atomic::AtomicU64,
}

impl Stats {
    /// Count an item set aside for an operator.
    pub(super) fn count_set_aside(&self) {
        self.set_aside
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Items set aside for an operator since start-up.
    pub(super) fn set_aside(&self) -> u64 {
        self.set_aside.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Count an inbound text refused for `reason`.
    pub(super) fn count_refused(&self, reason: &'static str) {
        if let Ok(mut refused) = self.refused.lock() {
            *refused.entry(reason).or_default() += 1;
        }
    }

    /// Refused inbound texts by reason.
    pub(super) fn refused_senders(&self) -> Vec<(&'static str, u64)> {
        self.refused
            .lock()
            .map(|r| r.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default()
    }

    /// A timer fired `late` after it fell due.
    pub(super) fn record_lateness(&self, late: TimeDelta) {
        if let Ok(mut samples) = self.lateness.lock() {
            if samples.len() == LATENESS_SAMPLES {
                samples.pop_front();
            }
            samples.push_back(late);
        }
    }

    /// How late recent timers fired.
    pub(super) fn lateness(&self) -> Lateness {
        let mut samples: Vec<TimeDelta> = self
            .lateness
            .lock()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        samples.sort();
        let at = |p: f64| {
            samples
                .get(((samples.len().max(1) - 1) as f64 * p).round() as usize)
                .and_then(|d| d.to_std().ok())
                .unwrap_or_default()
        };
        Lateness {
            count: samples.len(),
            p50: at(0.5),
            p99: at(0.99),
        }
    }

    /// How late each timer fired, most recent last, forgetting them.
    pub(super) fn take_lateness_samples(&self) -> Vec<TimeDelta> {
        self.lateness
            .lock()
            .map(|mut s| s.drain(..).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lateness_is_summarised_as_median_and_99th_percentile() {
        let stats = Stats::default();
        assert_eq!(stats.lateness(), Lateness::default());
        for ms in 1..=100 {
            stats.record_lateness(TimeDelta::milliseconds(ms));
        }
        let l = stats.lateness();
        assert_eq!(l.count, 100);
        assert_eq!(l.p50, Duration::from_millis(51));
        assert_eq!(l.p99, Duration::from_millis(99));
        assert_eq!(stats.take_lateness_samples().len(), 100);
        assert_eq!(stats.lateness().count, 0);
    }

    #[test]
    fn refusals_are_counted_by_reason() {
        let stats = Stats::default();
        stats.count_refused("alphanumeric");
        stats.count_refused("channel");
        stats.count_refused("alphanumeric");
        assert_eq!(
            stats.refused_senders(),
            [("alphanumeric", 2), ("channel", 1)]
        );
    }
}
