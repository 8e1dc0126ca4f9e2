//! The engine: the background loop that moves concerns along.
//!
//! Each pass takes, in order: inbound messages not yet processed
//! ([`intake`]), timers that are due ([`timers`]), and outbox items that
//! are due ([`dispatch`]); now and then it removes text past its retention
//! period ([`retention`]). Every step reads what it needs, asks the pure
//! state machine what follows ([`advance`]), turns the effects into texts
//! and timers with the pure renderer ([`render`]), and writes the outcome
//! as one atomic [`Change`]; so a crash at any point loses nothing, and on
//! restart the engine simply carries on from what the store holds.
//!
//! One pass runs at a time (a lock), which keeps page codes and concern
//! states free of races without the state machine knowing about
//! concurrency. Domain rules live with their owners (escalation,
//! directory, channels, templates); the engine only wires them to the
//! store, the rota and the SMS sender.

mod advance;
mod dispatch;
mod intake;
mod render;
mod retention;
mod stats;
mod timers;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::TimeDelta;

use crate::channels::{RetryPolicy, SmsSender};
use crate::clock::{Clock, Instant};
use crate::concern::{Concern, ConcernId, TimelineEntry, TimelineEvent};
use crate::directory::Enrolment;
use crate::escalation::{Policy, redflag::RedFlags};
use crate::links::LinkSigner;
use crate::rota::Rota;
use crate::store::{self, Change, Store};
use crate::templates::Templates;

use dispatch::Dispatcher;
use render::Renderer;
use retention::Retention;
use stats::Stats;

pub use retention::REMOVED;
pub use stats::Lateness;

/// How many items of each kind one pass takes.
const BATCH: usize = 200;

/// Everything the engine works with.
pub struct Engine {
    parts: Parts,
    dispatch: Dispatcher,
    retention: Retention,
    stats: Arc<Stats>,
    pass: tokio::sync::Mutex<()>,
    wake: Arc<tokio::sync::Notify>,
}

/// What the rest of the service holds of the engine: a way to wake it when
/// there is new work, and its counters for `/metrics`. Cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    wake: Arc<tokio::sync::Notify>,
    stats: Arc<Stats>,
}

impl EngineHandle {
    /// Ask the engine to look for work now (after a webhook or an
    /// enrolment) rather than when it next would.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// How late recent timers fired, for `/metrics`.
    pub fn lateness(&self) -> Lateness {
        self.stats.lateness()
    }

    /// Inbound texts refused since start-up because nobody can be texted
    /// back at their sender, by reason (`alphanumeric`, `channel`, …), for
    /// `/metrics`.
    pub fn refused_senders(&self) -> Vec<(&'static str, u64)> {
        self.stats.refused_senders()
    }

    /// How late each timer fired, most recent last, forgetting them: for
    /// benchmarks.
    pub fn take_lateness_samples(&self) -> Vec<TimeDelta> {
        self.stats.take_lateness_samples()
    }
}

/// What every stage reads: the store, the rota, the clock and the words.
struct Parts {
    store: Arc<dyn Store>,
    rota: Arc<Rota>,
    clock: Arc<dyn Clock>,
    templates: Arc<Templates>,
    links: LinkSigner,
    red_flags: RedFlags,
    policy: Policy,
}

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
            parts: Parts {
                store,
                rota,
                clock,
                templates,
                links,
                red_flags,
                policy,
            },
            dispatch: Dispatcher::new(sender, RetryPolicy::default()),
            retention: Retention::default(),
            stats: Arc::default(),
            pass: tokio::sync::Mutex::new(()),
            wake: Arc::default(),
        }
    }

    /// Remove what people wrote from concerns resolved more than `retention`
    /// ago (checked hourly); who was paged and who accepted is kept.
    pub fn with_retention(mut self, retention: TimeDelta) -> Self {
        self.retention = Retention::keeping(retention);
        self
    }

    /// A handle to wake the engine and read its counters.
    pub fn handle(&self) -> EngineHandle {
        EngineHandle {
            wake: Arc::clone(&self.wake),
            stats: Arc::clone(&self.stats),
        }
    }

    /// The loop: run passes until `shutdown`, sleeping until the next thing falls due.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let store = &self.parts.store;
        // Every timer lives in the store, indexed by when it falls due: once
        // the earliest is known, all of them are armed.
        match store::blocking(store, |s| Ok((s.next_due()?, s.unresolved_concerns()?))).await {
            Ok((next, unresolved)) => {
                tracing::info!(next_due = ?next.map(|t| t.to_rfc3339()), unresolved, sender = self.dispatch.sender_name(), "engine armed")
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
            let sleep = match store::blocking(store, |s| s.next_due()).await {
                Ok(Some(at)) => (at - self.parts.clock.now())
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
        let now = self.parts.clock.now();
        let report = PassReport {
            inbound: intake::take_in_waiting(&self.parts, &self.stats, now).await?,
            timers: timers::fire_due(&self.parts, &self.stats, now).await?,
            sent: self.dispatch.send_due(&self.parts, now).await?,
        };
        self.dispatch.warn_if_stuck(&self.parts, now).await?;
        self.retention.purge_if_due(&self.parts.store, now).await?;
        Ok(report)
    }
}

impl Parts {
    fn renderer(&self) -> Renderer<'_> {
        Renderer {
            rota: &self.rota,
            templates: &self.templates,
            links: &self.links,
        }
    }

    async fn write(&self, change: Change) -> anyhow::Result<()> {
        store::blocking(&self.store, move |s| s.apply(change))
            .await
            .context("writing to the store")
    }

    /// Write what handling one item produced. On success, its change; on a
    /// store failure, the error (the pass stops and is retried: nothing is
    /// lost); on any other failure, which retrying would only repeat and
    /// which would hold up every item behind it, `aside` (the item is marked
    /// handled and stays in the store for an operator), with a loud log line.
    async fn write_or_set_aside(
        &self,
        handled: anyhow::Result<Change>,
        aside: Change,
        what: &str,
    ) -> anyhow::Result<()> {
        let change = match handled {
            Ok(change) => change,
            Err(e) if is_store_error(&e) => return Err(e.context(format!("handling {what}"))),
            Err(e) => {
                tracing::error!(error = ?e, "{what} could not be handled; set aside for an operator");
                aside
            }
        };
        self.write(change).await
    }

    async fn concern(&self, id: ConcernId) -> anyhow::Result<Option<Concern>> {
        Ok(store::blocking(&self.store, move |s| s.concern(id)).await?)
    }

    async fn enrolment_of(&self, concern: &Concern) -> anyhow::Result<Option<Enrolment>> {
        match concern.enrolment {
            Some(id) => Ok(store::blocking(&self.store, move |s| s.enrolment(id)).await?),
            None => Ok(None),
        }
    }
}

/// Add `event` at `at` to `concern`'s timeline in `change`.
fn record(change: &mut Change, concern: ConcernId, at: Instant, event: TimelineEvent) {
    change.timeline.push((concern, TimelineEntry { at, event }));
}

/// Whether an error came from the store (worth retrying) rather than from the work itself.
fn is_store_error(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| cause.is::<store::StoreError>())
}
