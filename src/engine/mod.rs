//! The engine: the background loop that moves concerns along.
//!
//! Each pass takes, in order: inbound messages not yet processed (intake),
//! timers that are due (deadlines, handovers, reminders), and outbox items
//! that are due (sending). Every step reads what it needs, asks the pure
//! state machine what follows, and writes the outcome as one atomic
//! [`Change`]; so a crash at any point loses nothing, and on restart the
//! engine simply carries on from what the store holds.
//!
//! One pass runs at a time (a lock), which keeps page codes and concern
//! states free of races without the state machine knowing about
//! concurrency. Domain rules live in [`crate::escalation`]; this module
//! only wires them to the store, the rota and the SMS sender.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::TimeDelta;

use crate::channels::{RetryPolicy, SmsSender};
use crate::clock::{Clock, Instant};
use crate::directory::Staff;
use crate::escalation::{Policy, StaffRef, redflag::RedFlags};
use crate::links::LinkSigner;
use crate::rota::Rota;
use crate::store::{self, Change, Store};
use crate::templates::Templates;

mod advance;
mod dispatch;
mod intake;
mod retention;
mod timers;

pub use retention::REMOVED;

/// How many items of each kind one pass takes.
const BATCH: usize = 200;
/// Everything the engine works with.
pub struct Engine {
    store: Arc<dyn Store>,
    rota: Arc<Rota>,
    clock: Arc<dyn Clock>,
    sender: Arc<dyn SmsSender>,
    templates: Arc<Templates>,
    red_flags: RedFlags,
    policy: Policy,
    links: LinkSigner,
    retry: RetryPolicy,
    pass: tokio::sync::Mutex<()>,
    wake: tokio::sync::Notify,
    lateness: std::sync::Mutex<std::collections::VecDeque<TimeDelta>>,
    retention: Option<TimeDelta>,
    last_purge: std::sync::Mutex<Option<Instant>>,
    last_stuck_warning: std::sync::Mutex<Option<Instant>>,
    refused: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

/// How many recent timer-lateness samples the engine keeps.
const LATENESS_SAMPLES: usize = 200_000;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    /// Inbound items processed.
    pub inbound: usize,
    /// Timers fired.
    pub timers: usize,
    /// Outbox items attempted.
    pub sent: usize,
}

impl PassReport {
    /// Whether the pass did anything.
    pub fn is_idle(&self) -> bool {
        self.inbound + self.timers + self.sent == 0
    }
}

impl Engine {
    /// Build an engine.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn Store>,
        rota: Arc<Rota>,
        clock: Arc<dyn Clock>,
        sender: Arc<dyn SmsSender>,
        templates: Arc<Templates>,
        red_flags: RedFlags,
        policy: Policy,
        links: LinkSigner,
    ) -> Self {
        Self {
            store,
            rota,
            clock,
            sender,
            templates,
            red_flags,
            policy,
            links,
            retry: RetryPolicy::default(),
            pass: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
            lateness: std::sync::Mutex::new(std::collections::VecDeque::new()),
            retention: None,
            last_purge: std::sync::Mutex::new(None),
            last_stuck_warning: std::sync::Mutex::new(None),
            refused: std::sync::Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    /// Remove what people wrote from concerns resolved more than `retention`
    /// ago (checked hourly); who was paged and who accepted is kept.
    pub fn with_retention(mut self, retention: TimeDelta) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Ask the loop to look for work now (after a webhook or an enrolment).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The loop: run passes until `shutdown`, sleeping until the next thing falls due.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        // Every timer lives in the store, indexed by when it falls due: once
        // the earliest is known, all of them are armed.
        match store::blocking(&self.store, |s| {
            Ok((s.next_due()?, s.unresolved_concerns()?))
        })
        .await
        {
            Ok((next, unresolved)) => {
                tracing::info!(next_due = ?next.map(|t| t.to_rfc3339()), unresolved, sender = self.sender.name(), "engine armed")
            }
            Err(e) => tracing::error!(error = %e, "engine cannot read the store yet"),
        }
        loop {
            let idle = match self.run_pass().await {
                Ok(report) => report.is_idle(),
                Err(e) => {
                    // The store is unavailable: nothing was lost, so wait and try again.
                    tracing::error!(error = ?e, "engine pass failed; retrying in a second");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            if !idle {
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::task::yield_now() => continue,
                }
            }
            let sleep = match store::blocking(&self.store, |s| s.next_due()).await {
                Ok(Some(at)) => (at - self.clock.now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(Duration::from_secs(60)),
                Ok(None) => Duration::from_secs(60),
                Err(e) => {
                    tracing::error!(error = %e, "engine cannot read the store");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                () = &mut shutdown => break,
                () = self.wake.notified() => {},
                () = tokio::time::sleep(sleep) => {},
            }
        }
        tracing::info!("engine stopped");
    }

    /// Run passes until there is nothing left to do now. Tests drive time with
    /// an injected clock and call this instead of waiting.
    pub async fn settle(&self) -> anyhow::Result<()> {
        for _ in 0..1000 {
            if self.run_pass().await?.is_idle() {
                return Ok(());
            }
        }
        anyhow::bail!("the engine did not settle after 1000 passes")
    }

    /// One pass: intake, due timers, due outbox.
    pub async fn run_pass(&self) -> anyhow::Result<PassReport> {
        let _one_at_a_time = self.pass.lock().await;
        let now = self.clock.now();
        let mut report = PassReport::default();

        let inbound = store::blocking(&self.store, |s| s.pending_inbound(BATCH)).await?;
        for item in inbound {
            let key = item.key.clone();
            let aside = Change {
                at: now,
                inbound_done: Some(key.clone()),
                ..Change::default()
            };
            let change = set_aside_unless_store(
                self.intake(item, now).await,
                aside,
                &format!("inbound message {key}"),
            )?;
            self.write(change).await?;
            report.inbound += 1;
        }

        let timers = store::blocking(&self.store, move |s| s.due_timers(now, BATCH)).await?;
        for timer in timers {
            self.record_lateness(self.clock.now() - timer.due_at);
            let aside = Change {
                at: now,
                fired_timer: Some(timer.clone()),
                ..Change::default()
            };
            let what = format!("{:?} timer of concern {}", timer.kind, timer.concern);
            let change = set_aside_unless_store(self.fire(timer, now).await, aside, &what)?;
            self.write(change).await?;
            report.timers += 1;
        }

        let due = store::blocking(&self.store, move |s| s.due_outbox(now, BATCH)).await?;
        report.sent = due.len();
        if !due.is_empty() {
            // Marked in flight first: if the process stops mid-send, the next
            // pass asks the provider before sending again.
            let ids = due.iter().map(|i| i.id).collect();
            self.write(Change {
                at: now,
                outbox_in_flight: ids,
                ..Change::default()
            })
            .await?;
        }
        let sends = due.into_iter().map(|item| async move {
            let outcome = self.attempt(&item, now).await;
            (item, outcome, self.clock.now())
        });
        // Outcomes that only record a send are written together (one group
        // commit); one that moves a concern on is written before the next is
        // worked out, so it reads the concern's latest state.
        let mut records = Vec::new();
        for (item, outcome, answered) in futures_util::future::join_all(sends).await {
            let change = self.after_send(item, outcome, now, answered).await?;
            if change.concern.is_some() {
                self.write(change).await?;
            } else {
                records.push(self.write(change));
            }
        }
        for written in futures_util::future::join_all(records).await {
            written?;
        }
        self.warn_if_stuck(now).await?;
        self.purge_if_due(now).await?;
        Ok(report)
    }

    fn count_refused(&self, reason: &'static str) {
        if let Ok(mut refused) = self.refused.lock() {
            *refused.entry(reason).or_default() += 1;
        }
    }

    /// Inbound texts refused since start-up because nobody can be texted
    /// back at their sender, by reason (`alphanumeric`, `channel`, …), for `/metrics`.
    pub fn refused_senders(&self) -> Vec<(&'static str, u64)> {
        self.refused
            .lock()
            .map(|r| r.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default()
    }

    fn record_lateness(&self, late: TimeDelta) {
        if let Ok(mut samples) = self.lateness.lock() {
            if samples.len() == LATENESS_SAMPLES {
                samples.pop_front();
            }
            samples.push_back(late);
        }
    }

    /// How late recent timers fired: (count, median, 99th percentile), for `/metrics`.
    pub fn lateness_summary(&self) -> (usize, Duration, Duration) {
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
        (samples.len(), at(0.5), at(0.99))
    }

    /// How late each timer fired, most recent last (and forgets them): for
    /// benchmarks.
    pub fn take_lateness_samples(&self) -> Vec<TimeDelta> {
        self.lateness
            .lock()
            .map(|mut s| s.drain(..).collect())
            .unwrap_or_default()
    }

    async fn write(&self, change: Change) -> anyhow::Result<()> {
        store::blocking(&self.store, move |s| s.apply(change))
            .await
            .context("writing to the store")
    }
}

/// The change to write after handling one item: on success, its change; on a
/// store failure, the error (the pass stops and is retried: nothing is lost);
/// on any other failure, which retrying would only repeat and which would
/// hold up every item behind it, `aside` (the item is marked handled and
/// stays in the store for an operator), with a loud log line.
fn set_aside_unless_store(
    result: anyhow::Result<Change>,
    aside: Change,
    what: &str,
) -> anyhow::Result<Change> {
    match result {
        Ok(change) => Ok(change),
        Err(e) if is_store_error(&e) => Err(e.context(format!("handling {what}"))),
        Err(e) => {
            tracing::error!(error = ?e, "{what} could not be handled; set aside for an operator");
            Ok(aside)
        }
    }
}

/// Whether an error came from the store (worth retrying) rather than from the work itself.
fn is_store_error(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| cause.is::<store::StoreError>())
}

fn staff_ref(staff: &Staff) -> StaffRef {
    StaffRef {
        id: staff.id.clone(),
        name: staff.name.clone(),
        role: staff.role.clone(),
    }
}
