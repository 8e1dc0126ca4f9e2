//! The engine: the background loops that move concerns along.
//!
//! [`Engine::run`] runs two loops side by side until shutdown:
//!
//! - **steps**: timers that are due (`timers`), then inbound messages not
//!   yet processed (`intake`); now and then, text past its
//!   retention period is removed (`retention`). Each item is one step of
//!   one concern (`advance`): the pure state machine says what follows,
//!   the pure renderer (`render`) turns its effects into texts, timers
//!   and timeline entries, and the outcome is written as one atomic
//!   [`Change`].
//! - **sending** (`dispatch`): due outbox items are claimed and sent on
//!   their own tasks, at most [`SENDS_AT_ONCE`] at a time, so a slow or
//!   hanging provider never holds up intake or a deadline.
//!
//! Beside them, a task of its own renews the claims this node holds
//! (`leases`): short leases, renewed every third of one, so a node that
//! dies has its work taken over within seconds (ADR 30).
//!
//! Steps run one at a time (a lock, also taken by a send whose outcome
//! moves a concern on), which keeps page codes and concern states free of
//! races without the state machine knowing about concurrency. Everything
//! that must happen later is in the store, so a crash at any point loses
//! nothing, and on restart the engine carries on from what the store holds.
//!
//! Both loops wait on the injected clock ([`Clock::sleep_until`]): under a
//! test's manual clock they wake when the test moves time. Tests that do
//! not run the loops call [`Engine::settle`] instead. Domain rules live with
//! their owners (escalation, directory, channels, templates); the engine
//! only wires them to the store, the rota and the SMS sender.
//!
//! A stage that fails says why in an [`EngineError`]: a store conflict, a
//! store that cannot be reached, or work that can never be done (set aside
//! for an operator) are told apart by its variant, not by reading causes.

mod advance;
mod calls;
mod dispatch;
mod error;
mod intake;
mod leases;
mod notices;
mod render;
mod retention;
mod stats;
mod timers;

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::channels::{RetryPolicy, SmsSender};
use crate::clock::{Clock, Instant};
use crate::concern::{Concern, ConcernId};
use crate::directory::Enrolment;
use crate::escalation::{Policy, redflag::RedFlags};
use crate::links::LinkSigner;
use crate::logs::Report;
use crate::rota::{LiveRota, Rota};
use crate::store::{self, Store};
use crate::store_error::StoreError;
use crate::templates::Templates;
use crate::timeline::{TimelineEntry, TimelineEvent};
use crate::work::{Change, Claim, NodeId, WorkKind};

use dispatch::Dispatcher;
use leases::{LEASE, Leases};
use render::Renderer;
use retention::Retention;
use stats::Stats;

pub use error::{EngineError, EngineResult};
pub use intake::EmailSenders;
pub use retention::REMOVED;
pub use stats::Lateness;

/// How many items of each kind one pass takes.
const BATCH: usize = 200;
/// A piece of work claimed this many times without finishing (its node
/// died, or it conflicted every time) is set aside for an operator rather
/// than tried for ever ahead of everything else.
const MAX_CLAIMS: u32 = 5;
/// How soon an idle loop looks again when what falls due next is already
/// due (held by another node, or waiting for a free send permit).
const HELD_ELSEWHERE: TimeDelta = TimeDelta::milliseconds(250);
/// How many texts may be with the provider at once unless configured
/// otherwise (`NIGHTINGALE_SENDS_AT_ONCE`); each waits at most the provider
/// client's timeout.
pub const SENDS_AT_ONCE: usize = 256;
/// How far ahead an idle loop looks for the next thing to fall due; it
/// looks again at least this often. Short: another node may have stored or
/// claimed work since the last look (on Redis, nothing tells this node), and
/// a dead node's claim is seen, and its lease's end waited for, within this
/// of its being taken. One look is a few store calls (docs/benchmarks.md).
const LOOKAHEAD: TimeDelta = TimeDelta::seconds(1);
/// How long a loop waits after the store failed before trying again.
const AFTER_STORE_FAILURE: Duration = Duration::from_secs(1);
/// At shutdown, how long sends already with the provider may take to
/// finish and be recorded; any still waiting are asked about at next start.
const SEND_GRACE: Duration = Duration::from_secs(5);

/// Everything the engine works with.
pub struct Engine {
    parts: Arc<Parts>,
    dispatch: Dispatcher,
    retention: Retention,
    stats: Arc<Stats>,
    wake: Arc<Wake>,
    /// The rota (by address) whose handovers were last seeded.
    seeded: std::sync::atomic::AtomicUsize,
}

/// What every stage reads: the store, the rota, the clock and the words;
/// and the lock that lets one step at a time change concerns.
struct Parts {
    /// This process, as the store knows its claims.
    node: NodeId,
    store: Arc<dyn Store>,
    rota: LiveRota,
    clock: Arc<dyn Clock>,
    templates: Arc<Templates>,
    links: LinkSigner,
    red_flags: RedFlags,
    policy: Policy,
    /// How long after a concern is resolved the recordings of its messages
    /// are kept at the provider; `None`: for ever.
    keep_recordings: Option<TimeDelta>,
    /// Who our emails come from and where replies come back to, when a
    /// mail server is configured; `None`: nobody is paged by email.
    email: Option<crate::channels::email::EmailIdentity>,
    /// Who is believed about an email's sender, and where a stranger's
    /// email goes (docs/adr/0022).
    email_senders: EmailSenders,
    /// Held while a step reads a concern, works out what follows and writes
    /// it (and allocates page codes): one at a time, so none is lost.
    steps: tokio::sync::Mutex<()>,
    /// The claims this node holds, renewed on a task of their own.
    leases: Arc<Leases>,
}

/// Each loop's "there may be work now", and how far the steps loop has
/// got: what lets an operation wait until the engine has taken in what it
/// just stored (see [`EngineHandle::taken_in`]).
#[derive(Debug)]
struct Wake {
    steps: Notify,
    dispatch: Notify,
    /// Steps passes begun and ended, counted from start-up.
    passes: watch::Sender<Passes>,
    /// Whether the steps loop is running (not in tests that settle by
    /// hand, nor in a command that only reads the store).
    running: std::sync::atomic::AtomicBool,
}

impl Default for Wake {
    fn default() -> Self {
        Self {
            steps: Notify::new(),
            dispatch: Notify::new(),
            passes: watch::Sender::new(Passes::default()),
            running: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// How many steps passes have begun and how many have ended.
#[derive(Debug, Default, Clone, Copy)]
struct Passes {
    begun: u64,
    ended: u64,
}

impl Wake {
    fn all(&self) {
        self.steps.notify_one();
        self.dispatch.notify_one();
    }
}

/// What the rest of the service holds of the engine: a way to wake it when
/// there is new work, and its counters for `/metrics`. Cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    wake: Arc<Wake>,
    stats: Arc<Stats>,
    /// The sending number's budget, if one is set.
    budget: Option<Arc<std::sync::Mutex<crate::channels::SendBudget>>>,
}

impl EngineHandle {
    /// Ask the engine to look for work now (after a webhook or an
    /// enrolment) rather than when it next would.
    pub fn wake(&self) {
        self.wake.all();
    }

    /// Wake the engine and wait, at most `within`, until a steps pass
    /// that began after this call has ended: then whatever was stored
    /// before the call has been taken in by this node (unless another node
    /// claimed it first). So a page a clinician lands on after tapping
    /// Accept shows the concern as Accept left it, not as it was (ADR 27).
    /// Returns at once when the steps loop is not running; `false` if the
    /// wait ran out.
    pub async fn taken_in(&self, within: Duration) -> bool {
        if !self.wake.running.load(std::sync::atomic::Ordering::Acquire) {
            return false;
        }
        let mut passes = self.wake.passes.subscribe();
        let begun = passes.borrow_and_update().begun;
        self.wake.steps.notify_one();
        tokio::time::timeout(within, passes.wait_for(|p| p.ended > begun))
            .await
            .is_ok_and(|r| r.is_ok())
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

    /// Items (inbound messages, timers) set aside for an operator since
    /// start-up, because handling them failed the same way every time.
    pub fn set_aside(&self) -> u64 {
        self.stats.set_aside()
    }

    /// The send budget's rate (segments a second) and the segments handed
    /// to the provider since start, if a budget is set (for `/metrics`).
    pub fn send_budget_spent(&self) -> Option<(u32, u64)> {
        dispatch::spent(self.budget.as_ref()?)
    }

    /// How late each timer fired, most recent last, forgetting them: for
    /// benchmarks.
    pub fn take_lateness_samples(&self) -> Vec<TimeDelta> {
        self.stats.take_lateness_samples()
    }
}

impl Engine {
    /// Build an engine.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn Store>,
        rota: impl Into<LiveRota>,
        clock: Arc<dyn Clock>,
        sender: Arc<dyn SmsSender>,
        templates: Arc<Templates>,
        red_flags: RedFlags,
        policy: Policy,
        links: LinkSigner,
    ) -> Self {
        Self {
            parts: Arc::new(Parts {
                node: NodeId::generate(),
                store,
                rota: rota.into(),
                clock,
                templates,
                links,
                red_flags,
                policy,
                keep_recordings: None,
                email: None,
                email_senders: EmailSenders::default(),
                steps: tokio::sync::Mutex::new(()),
                leases: Arc::default(),
            }),
            dispatch: Dispatcher::new(sender, RetryPolicy::default(), SENDS_AT_ONCE),
            retention: Retention::default(),
            stats: Arc::default(),
            wake: Arc::default(),
            seeded: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Place call pages through `caller` (by default they are only recorded).
    pub fn with_caller(mut self, caller: Arc<dyn crate::channels::CallPlacer>) -> Self {
        self.dispatch = self.dispatch.with_caller(caller);
        self
    }

    /// Send email through `sender`, from `identity`: pages then go to
    /// those whose contact methods include email, and patients and carers
    /// with no mobile are written to (ADR 15).
    pub fn with_email(
        mut self,
        identity: crate::channels::email::EmailIdentity,
        sender: Arc<dyn crate::channels::email::EmailSender>,
    ) -> Self {
        if let Some(parts) = Arc::get_mut(&mut self.parts) {
            parts.email = Some(identity);
        }
        self.dispatch = self.dispatch.with_email(sender);
        self
    }

    /// Remove what people wrote from concerns resolved more than `retention`
    /// ago (checked hourly); who was paged and who accepted is kept.
    pub fn with_retention(mut self, retention: TimeDelta) -> Self {
        self.retention = Retention::keeping(retention);
        if let Some(parts) = Arc::get_mut(&mut self.parts) {
            parts.keep_recordings = Some(retention);
        }
        self
    }

    /// Believe what `senders.trust` says of who sent an email, and keep
    /// strangers' emails as `senders` says (docs/adr/0022).
    pub fn with_email_senders(mut self, senders: EmailSenders) -> Self {
        if let Some(parts) = Arc::get_mut(&mut self.parts) {
            parts.email_senders = senders;
        }
        self
    }

    /// Hand texts to the provider within the sending number's `budget`
    /// (ADR 31): the most urgent first, bulk only while it has room.
    pub fn with_send_budget(mut self, budget: crate::channels::SendBudget) -> Self {
        self.dispatch = self.dispatch.with_budget(budget);
        self
    }

    /// The send budget's rate (segments a second) and the segments handed
    /// to the provider since start, if a budget is set (for `/metrics`).
    pub fn send_budget_spent(&self) -> Option<(u32, u64)> {
        self.dispatch.budget_spent()
    }

    /// Hand at most `at_once` texts to the provider at a time (at least one).
    pub fn with_sends_at_once(mut self, at_once: usize) -> Self {
        self.dispatch = self.dispatch.with_at_once(at_once);
        self
    }

    /// A handle to wake the engine and read its counters.
    pub fn handle(&self) -> EngineHandle {
        EngineHandle {
            wake: Arc::clone(&self.wake),
            stats: Arc::clone(&self.stats),
            budget: self.dispatch.budget(),
        }
    }

    /// Run the steps loop and the sending loop until `shutdown`; then
    /// finish the current step and give sends with the provider a moment
    /// to finish.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        // Every timer lives in the store, indexed by when it falls due: once
        // the earliest is known, all of them are armed.
        let store = &self.parts.store;
        match store::blocking(store, |s| Ok((s.next_due()?, s.unresolved_concerns()?))).await {
            Ok((next, unresolved)) => {
                tracing::info!(next_due = ?next.map(|t| t.to_rfc3339()), unresolved, sender = self.dispatch.sender_name(), "engine armed")
            }
            Err(e) => tracing::error!(error = %e, "engine cannot read the store yet"),
        }
        let (stop, stopping) = watch::channel(false);
        let signal = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        // Renewal runs on a task of its own: no step, however long, and no
        // burst of sends delays it past a lease.
        let renewal = tokio::spawn(Arc::clone(&self.parts.leases).run(
            Arc::clone(&self.parts.store),
            Arc::clone(&self.parts.clock),
            stopping.clone(),
        ));
        tokio::join!(
            signal,
            self.steps_loop(stopping.clone()),
            self.dispatch_loop(stopping)
        );
        // Claims still held (sends that did not finish in the grace) lapse
        // within a lease, or are taken back by the next start on SQLite.
        let _ = renewal.await;
        tracing::info!("engine stopped");
    }

    /// Run everything there is to do now, sends included, until nothing is
    /// left: what tests call after moving their clock, instead of running
    /// the loops. Deterministic: each round fires timers, takes in, then
    /// sends and waits for every send it started.
    pub async fn settle(&self) -> EngineResult<()> {
        for _ in 0..1000 {
            let now = self.parts.clock.now();
            let stepped = self.steps_pass(now).await?;
            self.dispatch.outbox_written();
            let mut sends = JoinSet::new();
            let sent = self
                .dispatch
                .claim_due(&self.parts, &self.wake, now, &mut sends)
                .await?;
            while let Some(done) = sends.join_next().await {
                done??;
            }
            self.dispatch.warn_if_stuck(&self.parts, now).await?;
            if stepped + sent == 0 {
                return Ok(());
            }
        }
        Err(EngineError::Unsettled)
    }

    /// One pass of the steps loop: due timers and notices at `now`, then
    /// intake at the clock's time then, then retention; returns how many
    /// items were taken in or fired.
    async fn steps_pass(&self, now: Instant) -> EngineResult<usize> {
        self.wake.passes.send_modify(|p| p.begun += 1);
        let pass = self.steps_pass_counted(now).await;
        self.wake.passes.send_modify(|p| p.ended += 1);
        pass
    }

    /// [`Engine::steps_pass`], uncounted.
    async fn steps_pass_counted(&self, now: Instant) -> EngineResult<usize> {
        let stepped = {
            let _one_at_a_time = self.parts.steps.lock().await;
            // Deadlines first: a timer due now must not wait behind a
            // burst of messages taken in one change each.
            self.seed_handovers_once(now).await?;
            let fired = timers::fire_due(&self.parts, &self.stats, now).await?
                + notices::fire_due(&self.parts, &self.stats, now).await?;
            // Time has moved on while those ran (the first pass seeds every
            // service's handover): a message is received when it is taken
            // in, so its deadlines count from then, not from the pass's start.
            let now = self.parts.clock.now();
            fired + intake::take_in_waiting(&self.parts, &self.stats, now).await?
        };
        if stepped > 0 {
            // What was written may have put texts in the outbox.
            self.wake.dispatch.notify_one();
        }
        self.retention.purge_if_due(&self.parts.store, now).await?;
        Ok(stepped)
    }

    /// Schedule each service's next morning handover where none is, once
    /// for each rota this engine sees (a service added on the web gets its
    /// first handover once the edit reaches this node).
    async fn seed_handovers_once(&self, now: Instant) -> EngineResult<()> {
        let rota = self.parts.rota();
        let seen = Arc::as_ptr(&rota) as usize;
        if self.seeded.load(std::sync::atomic::Ordering::Relaxed) == seen {
            return Ok(());
        }
        notices::seed_handovers(&self.parts, now).await?;
        self.seeded
            .store(seen, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    async fn steps_loop(&self, mut stopping: watch::Receiver<bool>) {
        let running = &self.wake.running;
        running.store(true, std::sync::atomic::Ordering::Release);
        self.loop_steps(&mut stopping).await;
        running.store(false, std::sync::atomic::Ordering::Release);
    }

    async fn loop_steps(&self, stopping: &mut watch::Receiver<bool>) {
        while !*stopping.borrow() {
            let now = self.parts.clock.now();
            let round = self.steps_pass(now).await;
            if after(round, "engine pass failed", stopping).await == Flow::Again {
                continue;
            }
            // The store counts work under a claim from its lease's end, so
            // a timer or a message another node holds (or a dead node held)
            // wakes this loop when it could be taken over.
            let next = store::blocking(&self.parts.store, |s| {
                s.next_due_of(&[WorkKind::Timer, WorkKind::Notice, WorkKind::Inbound])
            })
            .await;
            let until = look_again_at(next, now);
            tokio::select! {
                _ = stopping.wait_for(|stop| *stop) => break,
                () = self.wake.steps.notified() => {},
                () = self.parts.clock.sleep_until(until) => {},
            }
        }
    }

    async fn dispatch_loop(&self, mut stopping: watch::Receiver<bool>) {
        let mut sends = JoinSet::new();
        while !*stopping.borrow() {
            while let Some(done) = sends.try_join_next() {
                log_send_failure(done);
            }
            let now = self.parts.clock.now();
            let round = self
                .dispatch
                .claim_due(&self.parts, &self.wake, now, &mut sends)
                .await;
            if let Err(e) = self.dispatch.warn_if_stuck(&self.parts, now).await {
                tracing::error!(error = %Report(&e), "cannot check whether the outbox is stuck");
            }
            if after(round, "cannot send the outbox", &mut stopping).await == Flow::Again {
                continue;
            }
            // Nothing to claim: every permit is taken, or nothing is due
            // yet. Wait for a send to finish, a text to fall due, a claim
            // to need renewing, or a wake.
            let next = self.dispatch.next_due(&self.parts, now + LOOKAHEAD).await;
            let until = look_again_at(next, now);
            tokio::select! {
                _ = stopping.wait_for(|stop| *stop) => break,
                () = self.wake.dispatch.notified() => self.dispatch.outbox_written(),
                Some(done) = sends.join_next(), if !sends.is_empty() => log_send_failure(done),
                () = self.parts.clock.sleep_until(until) => {},
            }
        }
        // Sends with the provider get a moment to finish, so their outcomes
        // are recorded; those still waiting are aborted when `sends` drops,
        // stay marked in flight, and are asked about at the next start.
        let finished = tokio::time::timeout(SEND_GRACE, async {
            while let Some(done) = sends.join_next().await {
                log_send_failure(done);
            }
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                unfinished = sends.len(),
                "stopping with sends still waiting for the provider; they will be checked at the next start"
            );
        }
    }
}

/// Handle `items` side by side, up to `at_once` at a time, except that
/// items with the same `order` key are handled one after another, in the
/// order given. Their store writes then share commits (SQLite) and round
/// trips (Redis). Every item is tried; the first failure is returned.
async fn side_by_side<T, K, F, Fut>(
    items: Vec<T>,
    order: impl Fn(&T) -> K,
    at_once: usize,
    handle: F,
) -> EngineResult<()>
where
    K: std::hash::Hash + Eq,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = EngineResult<()>>,
{
    use futures_util::StreamExt;
    let mut lines: Vec<Vec<T>> = Vec::new();
    let mut place: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    for item in items {
        let i = *place.entry(order(&item)).or_insert_with(|| {
            lines.push(Vec::new());
            lines.len() - 1
        });
        lines[i].push(item);
    }
    let handle = &handle;
    let outcomes: Vec<EngineResult<()>> = futures_util::stream::iter(lines)
        .map(|line| async move {
            for item in line {
                handle(item).await?;
            }
            Ok(())
        })
        .buffer_unordered(at_once)
        .collect()
        .await;
    outcomes.into_iter().collect()
}

/// What a loop does after a round.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    /// Go round again at once: there was work (or a failure, waited out).
    Again,
    /// Nothing to do now: wait for what falls due next.
    Idle,
}

/// After a round that did `round` items: yield and go again when it did
/// some; after a store failure, wait a second (nothing was lost) unless
/// stopping, and go again.
async fn after(
    round: EngineResult<usize>,
    failed: &str,
    stopping: &mut watch::Receiver<bool>,
) -> Flow {
    match round {
        Ok(0) => Flow::Idle,
        Ok(_) => {
            tokio::task::yield_now().await;
            Flow::Again
        }
        Err(e) => {
            tracing::error!(error = %Report(&e), "{failed}; retrying in a second");
            tokio::select! {
                _ = stopping.wait_for(|stop| *stop) => {},
                () = tokio::time::sleep(AFTER_STORE_FAILURE) => {},
            }
            Flow::Again
        }
    }
}

/// When an idle loop looks again: when the next thing falls due, or at
/// the end of its lookahead; soon, if the store could not say. What is
/// already due and yet was not taken (waiting for a send permit, or for
/// an earlier text in its lane) is looked at again shortly, not in
/// a spin.
fn look_again_at(next: crate::store_error::StoreResult<Option<Instant>>, now: Instant) -> Instant {
    match next {
        // Only what is already due is put off: something due in 10 ms is
        // looked at in 10 ms, not after a nap.
        Ok(next) => next
            .map(|t| if t <= now { now + HELD_ELSEWHERE } else { t })
            .unwrap_or(now + LOOKAHEAD)
            .min(now + LOOKAHEAD),
        Err(e) => {
            tracing::error!(error = %e, "engine cannot read the store");
            now + TimeDelta::from_std(AFTER_STORE_FAILURE).unwrap_or_default()
        }
    }
}

fn log_send_failure(done: Result<EngineResult<()>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(error = %Report(&e), "a send's outcome could not be recorded; it will be checked and retried")
        }
        Err(e) => tracing::error!(error = %e, "a send task stopped"),
    }
}

impl Parts {
    /// The rota as it stands (files and web edits).
    fn rota(&self) -> Arc<Rota> {
        self.rota.current()
    }

    fn renderer(&self) -> Renderer<'_> {
        Renderer {
            rota: self.rota.current(),
            templates: &self.templates,
            links: &self.links,
            email: self.email.as_ref(),
        }
    }

    async fn write(&self, change: Change) -> EngineResult<()> {
        store::blocking(&self.store, move |s| s.apply(change))
            .await
            .map_err(EngineError::Write)
    }

    /// Write what handling one claimed item produced, ending the claim.
    ///
    /// - Handled: its change is written, conditional on the claim (and on
    ///   the concern's version). On `Conflict` — another node moved the
    ///   concern on first, or took this work over — the claim is let go at
    ///   once, so the item is taken again and handled from what is stored now.
    /// - The store is unavailable: the error (the pass stops and is
    ///   retried; the claim lapses and nothing is lost).
    /// - Any other failure, which retrying would only repeat and which would
    ///   hold up everything behind it: `aside` (the item is marked handled
    ///   and stays in the store for an operator), counted and logged loudly.
    async fn finish(
        &self,
        stats: &Stats,
        claim: Claim,
        handled: EngineResult<Change>,
        aside: Change,
        what: &str,
    ) -> EngineResult<()> {
        let mut change = match handled {
            Ok(change) => change,
            Err(e) => match e.store() {
                Some(StoreError::Conflict(_)) => return self.let_go(claim, what).await,
                Some(StoreError::Unavailable(_)) => return Err(e.handling(what)),
                _ => {
                    return self
                        .set_aside(stats, claim, aside, what, &Report(&e).to_string())
                        .await;
                }
            },
        };
        change.claim = Some(claim.clone());
        match self.write(change).await {
            Ok(()) => Ok(()),
            Err(e) => match e.store() {
                Some(StoreError::Conflict(_)) => self.let_go(claim, what).await,
                Some(StoreError::Invalid(_) | StoreError::Corrupt(_)) => {
                    self.set_aside(stats, claim, aside, what, &Report(&e).to_string())
                        .await
                }
                _ => Err(e),
            },
        }
    }

    /// Give a claim back at once after a conflict, so the work is taken
    /// again (by this node or another) and handled afresh.
    async fn let_go(&self, claim: Claim, what: &str) -> EngineResult<()> {
        tracing::info!(
            what,
            "changed by someone else first; taking it again from what is stored"
        );
        store::blocking(&self.store, move |s| s.release(&[claim])).await?;
        Ok(())
    }

    /// Set an item aside for an operator: `aside` marks it handled (it stays
    /// in the store), and the reason is logged and counted.
    async fn set_aside(
        &self,
        stats: &Stats,
        claim: Claim,
        mut aside: Change,
        what: &str,
        reason: &str,
    ) -> EngineResult<()> {
        tracing::error!(
            reason,
            "{what} could not be handled; set aside for an operator"
        );
        stats.count_set_aside();
        aside.claim = Some(claim);
        self.write(aside).await
    }

    async fn concern(&self, id: ConcernId) -> EngineResult<Option<Concern>> {
        Ok(store::blocking(&self.store, move |s| s.concern(id)).await?)
    }

    async fn enrolment_of(&self, concern: &Concern) -> EngineResult<Option<Enrolment>> {
        match concern.enrolment {
            Some(id) => Ok(store::blocking(&self.store, move |s| s.enrolment(id)).await?),
            None => Ok(None),
        }
    }
}

/// Why an item should be set aside rather than handled again: it was
/// claimed [`MAX_CLAIMS`] times without finishing.
fn exhausted(claim: &Claim) -> Option<String> {
    (claim.attempts >= MAX_CLAIMS).then(|| {
        format!(
            "claimed {} times without finishing (a node stopped mid-way, or it conflicted every time)",
            claim.attempts
        )
    })
}

/// Add `event` at `at` to `concern`'s timeline in `change`.
fn record(change: &mut Change, concern: ConcernId, at: Instant, event: TimelineEvent) {
    change.timeline.push((concern, TimelineEntry { at, event }));
}
