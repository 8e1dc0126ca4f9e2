//! What `GET /metrics` shows, written out by `prometheus-client` in the
//! Prometheus text format (0.0.4).
//!
//! The figures belong elsewhere: the store counts unresolved concerns and
//! what waits, the engine counts what it refused, set aside and how late its
//! timers fired, the calendar knows how far the published bank holidays
//! reach. So nothing here counts: each scrape gathers a [`Snapshot`] and
//! the [`Metrics`] registry, owned by the application (no global registry),
//! writes it out with the names, types, labels and help that dashboards
//! and alerts already use.
//!
//! One difference from a hand-written exposition: `prometheus-client` has
//! no summary type, so the timer-lateness quantiles are written as an
//! untyped family with their `_count` as a gauge beside it (same series,
//! same labels, same values).

use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, EncodeMetric, GaugeValueEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

/// The `Content-Type` of what [`Metrics::encode`] writes.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// The figures of one scrape, as their owners report them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Concerns not yet resolved.
    pub unresolved_concerns: u64,
    /// Stored webhooks not yet processed.
    pub inbound_pending: u64,
    /// Deadlines, handovers and reminders past due.
    pub timers_overdue: u64,
    /// Texts not yet sent that failed at least once.
    pub outbox_retrying: u64,
    /// How long the longest-waiting unsent text has waited, in seconds.
    pub outbox_oldest_seconds: u64,
    /// The median lateness of recent timers, in seconds.
    pub lateness_p50: f64,
    /// The 99th percentile lateness of recent timers, in seconds.
    pub lateness_p99: f64,
    /// How many recent timers the lateness figures are from.
    pub lateness_count: u64,
    /// Messages and timers set aside for an operator since start-up.
    pub set_aside: u64,
    /// Inbound texts refused since start-up, by reason (every reason, in
    /// order, zeros included).
    pub refused: Vec<(&'static str, u64)>,
    /// Days from today the published bank holidays cover, by division.
    pub bank_holidays_covered_days: Vec<(&'static str, u32)>,
    /// Texts due now and not yet sent, by priority (every priority, most
    /// urgent first, zeros included): the priority, how many, and how long
    /// the one due longest has been due in seconds (0 when none).
    pub outbox_by_priority: Vec<PriorityLine>,
    /// The send budget, if one is set: its rate (segments a second) and the
    /// segments handed to the provider since start-up.
    pub send_budget: Option<(u32, u64)>,
}

/// The application's metrics registry: one per application, written out on
/// each scrape from that scrape's [`Snapshot`].
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// What the registry's collector writes.
    latest: Arc<Mutex<Snapshot>>,
    /// Held through a scrape.
    scrape: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every Nightingale metric in it.
    pub fn new() -> Self {
        let latest = Arc::new(Mutex::new(Snapshot::default()));
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Figures(latest.clone())));
        Self {
            registry,
            latest,
            scrape: Mutex::new(()),
        }
    }

    /// `snapshot` as Prometheus text.
    pub fn encode(&self, snapshot: Snapshot) -> String {
        // One scrape at a time, so that two at once never mix their figures.
        let _one_at_a_time = self.scrape.lock().unwrap_or_else(PoisonError::into_inner);
        *self.latest.lock().unwrap_or_else(PoisonError::into_inner) = snapshot;
        let mut text = String::new();
        if let Err(e) = prometheus_text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "metrics could not be written");
        }
        text
    }
}

/// One priority's line of [`Snapshot::outbox_by_priority`]: the priority,
/// the texts due, and seconds the one due longest has been due.
type PriorityLine = (&'static str, u64, u64);

/// Which figure of a [`PriorityLine`] a family shows.
type Pick = fn(&PriorityLine) -> u64;

/// Writes the figures out, in a fixed order.
#[derive(Debug)]
struct Figures(Arc<Mutex<Snapshot>>);

/// Seconds as the text shows them: whole ones without a decimal point
/// (`0`, `2`), others as they are (`0.25`).
#[derive(Debug, Clone, Copy)]
struct Seconds(f64);

impl EncodeGaugeValue for Seconds {
    fn encode(&self, encoder: &mut GaugeValueEncoder) -> Result<(), std::fmt::Error> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        if self.0.fract() == 0.0 && self.0.abs() < EXACT {
            (self.0 as i64).encode(encoder)
        } else {
            self.0.encode(encoder)
        }
    }
}

impl Collector for Figures {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut gauge = |name: &str, help: &str, value: u64| {
            ConstGauge::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)
        };
        gauge(
            "nightingale_unresolved_concerns",
            "Concerns not yet resolved.",
            s.unresolved_concerns,
        )?;
        gauge(
            "nightingale_inbound_pending",
            "Stored webhooks not yet processed.",
            s.inbound_pending,
        )?;
        gauge(
            "nightingale_timers_overdue",
            "Deadlines, handovers and reminders past due.",
            s.timers_overdue,
        )?;
        gauge(
            "nightingale_outbox_retrying",
            "Texts not yet sent that failed at least once and are being retried.",
            s.outbox_retrying,
        )?;
        gauge(
            "nightingale_outbox_oldest_seconds",
            "How long the longest-waiting unsent text has waited (0 when none waits). Above 120 the outbox is stuck: alert.",
            s.outbox_oldest_seconds,
        )?;

        // The outbox by priority: how many texts are due, and how long the
        // one due longest has been.
        let by_priority: [(&str, &str, Pick); 2] = [
            (
                "nightingale_outbox_due",
                "Texts due to be sent now, by priority (urgent, prompt, bulk; sum them for all).",
                |(_, due, _)| *due,
            ),
            (
                "nightingale_outbox_oldest_due_seconds",
                "How long the text due longest and not yet sent has been due, by priority (0 when none is due). Bulk waits while the send budget has no room; urgent should stay near 0.",
                |(_, _, seconds)| *seconds,
            ),
        ];
        for (name, help, value) in by_priority {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for lane in &s.outbox_by_priority {
                ConstGauge::new(value(lane))
                    .encode(family.encode_family(&[("priority", lane.0)])?)?;
            }
        }

        let mut lateness = encoder.encode_descriptor(
            "nightingale_timer_lateness_seconds",
            "How late recent timers fired.",
            None,
            MetricType::Unknown,
        )?;
        for (quantile, value) in [("0.5", s.lateness_p50), ("0.99", s.lateness_p99)] {
            ConstGauge::new(Seconds(value))
                .encode(lateness.encode_family(&[("quantile", quantile)])?)?;
        }
        ConstGauge::new(s.lateness_count).encode(encoder.encode_descriptor(
            "nightingale_timer_lateness_seconds_count",
            "How many recent timers the lateness quantiles are from.",
            None,
            MetricType::Gauge,
        )?)?;

        let mut refused = encoder.encode_descriptor(
            "nightingale_inbound_refused",
            "Inbound texts refused because nobody can be texted back at their sender, by reason.",
            None,
            MetricType::Counter,
        )?;
        for (reason, n) in &s.refused {
            ConstCounter::new(*n).encode(refused.encode_family(&[("reason", *reason)])?)?;
        }
        ConstCounter::new(s.set_aside).encode(encoder.encode_descriptor(
            "nightingale_set_aside",
            "Messages and timers set aside for an operator since start-up, because handling them failed the same way every time. Alert on any.",
            None,
            MetricType::Counter,
        )?)?;

        let mut covered = encoder.encode_descriptor(
            "nightingale_bank_holidays_covered_days",
            "Days from today to the end of the last year the published bank holidays cover (0: rules only).",
            None,
            MetricType::Gauge,
        )?;
        for (division, days) in &s.bank_holidays_covered_days {
            ConstGauge::new(*days).encode(covered.encode_family(&[("division", *division)])?)?;
        }

        if let Some((rate, spent)) = s.send_budget {
            ConstGauge::new(u64::from(rate)).encode(encoder.encode_descriptor(
                "nightingale_send_budget_segments_per_second",
                "The send budget: segments a second the sending number may hand to the provider.",
                None,
                MetricType::Gauge,
            )?)?;
            ConstCounter::new(spent).encode(encoder.encode_descriptor(
                "nightingale_send_budget_segments",
                "Segments handed to the provider under the send budget since start-up.",
                None,
                MetricType::Counter,
            )?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_keeps_the_names_types_labels_and_help_dashboards_use() {
        let text = Metrics::new().encode(Snapshot {
            unresolved_concerns: 1,
            outbox_oldest_seconds: 300,
            lateness_p50: 0.25,
            lateness_p99: 0.0,
            lateness_count: 2,
            set_aside: 1,
            refused: vec![("alphanumeric", 3), ("channel", 0)],
            bank_holidays_covered_days: vec![("scotland", 362)],
            outbox_by_priority: vec![("urgent", 1, 0), ("prompt", 0, 0), ("bulk", 4_000, 95)],
            send_budget: Some((10, 1_234)),
            ..Snapshot::default()
        });
        for line in [
            "# HELP nightingale_unresolved_concerns Concerns not yet resolved.\n# TYPE nightingale_unresolved_concerns gauge\nnightingale_unresolved_concerns 1\n",
            "nightingale_inbound_pending 0\n",
            "nightingale_outbox_oldest_seconds 300\n",
            "nightingale_timer_lateness_seconds{quantile=\"0.5\"} 0.25\n",
            "nightingale_timer_lateness_seconds{quantile=\"0.99\"} 0\n",
            "nightingale_timer_lateness_seconds_count 2\n",
            "# TYPE nightingale_inbound_refused_total counter\n",
            "nightingale_inbound_refused_total{reason=\"alphanumeric\"} 3\nnightingale_inbound_refused_total{reason=\"channel\"} 0\n",
            "# HELP nightingale_set_aside_total Messages and timers set aside for an operator since start-up, because handling them failed the same way every time. Alert on any.\n# TYPE nightingale_set_aside_total counter\nnightingale_set_aside_total 1\n",
            "# TYPE nightingale_bank_holidays_covered_days gauge\nnightingale_bank_holidays_covered_days{division=\"scotland\"} 362\n",
            "# TYPE nightingale_outbox_due gauge\nnightingale_outbox_due{priority=\"urgent\"} 1\nnightingale_outbox_due{priority=\"prompt\"} 0\nnightingale_outbox_due{priority=\"bulk\"} 4000\n",
            "# TYPE nightingale_outbox_oldest_due_seconds gauge\nnightingale_outbox_oldest_due_seconds{priority=\"urgent\"} 0\nnightingale_outbox_oldest_due_seconds{priority=\"prompt\"} 0\nnightingale_outbox_oldest_due_seconds{priority=\"bulk\"} 95\n",
            "# TYPE nightingale_send_budget_segments_per_second gauge\nnightingale_send_budget_segments_per_second 10\n",
            "# TYPE nightingale_send_budget_segments_total counter\nnightingale_send_budget_segments_total 1234\n",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
        assert!(!text.contains("# EOF"), "{text}");
    }

    #[test]
    fn without_a_send_budget_there_are_no_budget_series() {
        let text = Metrics::new().encode(Snapshot::default());
        assert!(!text.contains("nightingale_send_budget"), "{text}");
    }
}
