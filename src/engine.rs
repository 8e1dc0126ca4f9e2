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

use crate::calendar::LONDON;
use crate::channels::{Lookup, SendOutcome, SmsSender};
use crate::clock::{Clock, Instant};
use crate::concern::{Concern, ConcernId, Party, TimelineEntry, TimelineEvent};
use crate::directory::{ContactMethod, Enrolment, Id, PhoneNumber, Staff, clean_text};
use crate::escalation::{
    self, ChainSnapshot, Effect, Escalation, Event, Policy, SenderNotice, StaffNotice, StaffRef,
    redflag::RedFlags, reply,
};
use crate::links::LinkSigner;
use crate::rota::Rota;
use crate::store::{
    self, Change, Inbound, InboundKind, NewOutbox, OutboxItem, OutboxOutcome, Page, Purpose, Store,
    Timer, TimerKind,
};
use crate::templates::Templates;

/// A text unsent for this long makes the outbox "stuck": logged as an
/// error (once a minute while it lasts) and visible in `/metrics`.
const STUCK_AFTER: TimeDelta = TimeDelta::minutes(2);
/// How much of the sender's later words one forward quotes; the rest is
/// counted ("and 4 more messages") and sits behind the link.
const FORWARD_QUOTE_CHARS: usize = 220;
/// How many items of each kind one pass takes.
const BATCH: usize = 200;
/// How long a closed page's code stays reserved, so a late reply to it is
/// answered "someone else has it" rather than acting on a newer concern.
const CODE_QUARANTINE: TimeDelta = TimeDelta::days(7);
/// How much of a message a page SMS quotes; the rest is behind the link.
const PAGE_QUOTE_CHARS: usize = 100;
/// Words that opt a number out of texts, and back in (as carriers define them).
const STOP_WORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
];
const START_WORDS: &[&str] = &["START", "UNSTOP", "YES"];

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
    pass: tokio::sync::Mutex<()>,
    wake: tokio::sync::Notify,
    lateness: std::sync::Mutex<std::collections::VecDeque<TimeDelta>>,
    retention: Option<TimeDelta>,
    last_purge: std::sync::Mutex<Option<Instant>>,
    last_stuck_warning: std::sync::Mutex<Option<Instant>>,
    refused: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

/// How often the engine removes text past its retention period.
const PURGE_EVERY: TimeDelta = TimeDelta::hours(1);
/// What replaces removed text.
pub const REMOVED: &str = "[removed after the retention period]";

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

    /// One attempt at an outbox item: checked against opt-outs, and against
    /// the provider when an earlier attempt may already have been accepted.
    /// `None`: not sent, because it is no longer wanted.
    async fn attempt(&self, item: &OutboxItem, now: Instant) -> Option<SendOutcome> {
        if let Some(reason) = self.unwanted(item).await {
            return match reason {
                Ok(reason) => {
                    tracing::info!(outbox = item.id, reason, "page no longer wanted; not sent");
                    None
                }
                Err(e) => Some(SendOutcome::Retryable {
                    reason: format!("could not check whether the page is still wanted: {e}"),
                    retry_after: None,
                }),
            };
        }
        Some(self.attempt_send(item, now).await)
    }

    /// Why a page should not go out after all (`Ok`), or that the store
    /// could not say (`Err`: the page waits rather than guess).
    async fn unwanted(&self, item: &OutboxItem) -> Option<Result<&'static str, store::StoreError>> {
        let (Purpose::Page, Some(step), Some(id)) = (
            item.message.purpose,
            item.message.step,
            item.message.concern,
        ) else {
            return None;
        };
        match store::blocking(&self.store, move |s| s.concern(id)).await {
            Ok(Some(c)) if escalation::page_still_wanted(&c.escalation, step) => None,
            Ok(Some(c)) if !c.escalation.is_open() => {
                Some(Ok("the concern was accepted or resolved"))
            }
            Ok(_) => Some(Ok("the concern had moved on to the next step")),
            Err(e) => Some(Err(e)),
        }
    }

    async fn attempt_send(&self, item: &OutboxItem, now: Instant) -> SendOutcome {
        if !item.message.to.can_text() {
            return SendOutcome::Permanent {
                code: None,
                reason: format!(
                    "not sent: {} numbers cannot receive texts",
                    match item.message.to.kind() {
                        crate::directory::NumberKind::Landline => "landline",
                        _ => "non-personal",
                    }
                ),
            };
        }
        // A patient or carer who texted STOP is not texted again until START.
        if matches!(item.message.purpose, Purpose::Welcome | Purpose::Notice) {
            let to = item.message.to.clone();
            match store::blocking(&self.store, move |s| s.is_opted_out(&to)).await {
                Ok(false) => {}
                Ok(true) => {
                    return SendOutcome::Permanent {
                        code: None,
                        reason: "not sent: the recipient has opted out of texts (STOP)".to_owned(),
                    };
                }
                // Not knowing is not "not opted out": wait and ask again.
                Err(e) => {
                    return SendOutcome::Retryable {
                        reason: format!("could not check for an opt-out: {e}"),
                        retry_after: None,
                    };
                }
            }
        }
        if item.in_flight || item.attempts > 0 {
            let since = item.due_at.min(now) - TimeDelta::days(1);
            match self
                .sender
                .find(item.message.to.as_str(), &item.message.body, since)
                .await
            {
                Lookup::Sent { provider_id } => {
                    tracing::info!(outbox = item.id, provider_id = %provider_id, "already accepted by the provider; not sending again");
                    return SendOutcome::Accepted { provider_id };
                }
                Lookup::NotSent => {}
                Lookup::Unknown { reason } => {
                    return SendOutcome::Retryable {
                        reason: format!("could not check whether it was already sent: {reason}"),
                        retry_after: None,
                    };
                }
            }
        }
        self.sender
            .send(item.message.to.as_str(), &item.message.body)
            .await
    }

    async fn purge_if_due(&self, now: Instant) -> anyhow::Result<()> {
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

    // ---- intake ---------------------------------------------------------------

    async fn intake(&self, item: Inbound, now: Instant) -> anyhow::Result<Change> {
        let mut change = Change {
            at: now,
            inbound_done: Some(item.key.clone()),
            ..Change::default()
        };
        match item.kind {
            InboundKind::Sms {
                from, body, media, ..
            } => {
                // Any E.164 number the provider gives is a sender; only what
                // nobody can be texted back at is refused, and counted.
                let from = match PhoneNumber::from_provider(&from) {
                    Ok(from) => from,
                    Err(why) => {
                        self.count_refused(why.as_str());
                        tracing::warn!(key = %item.key, reason = why.as_str(), "inbound SMS refused: {why}; nobody can be texted back at it");
                        return Ok(change);
                    }
                };
                let body = clean_text(&body);
                if let Some(staff) = self.rota.staff_by_phone(&from) {
                    self.staff_reply(staff, &body, now, &mut change).await?;
                } else {
                    self.sender_message(from, body, media, now, &mut change)
                        .await?;
                }
            }
            InboundKind::Action {
                concern,
                staff,
                action,
            } => {
                let Some(person) = self.rota.person(staff.as_str()) else {
                    return Ok(change);
                };
                let Some(mut c) = store::blocking(&self.store, move |s| s.concern(concern)).await?
                else {
                    return Ok(change);
                };
                let by = staff_ref(person);
                let event = if action == "pass" {
                    Event::Pass { by }
                } else {
                    Event::Accept { by }
                };
                let enrolment = self.enrolment_of(&c).await?;
                self.apply_event(&mut c, enrolment.as_ref(), event, now, &mut change)
                    .await?;
            }
            InboundKind::Status {
                message_id,
                status,
                error_code,
            } => {
                self.delivery_report(&message_id, &status, error_code, now, &mut change)
                    .await?;
            }
        }
        Ok(change)
    }

    async fn sender_message(
        &self,
        from: PhoneNumber,
        body: String,
        media: u32,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let word = body.trim().to_ascii_uppercase();
        // What they sent, as clinicians read it: a picture is never shown.
        let body = with_media_note(&body, media);
        let open = {
            let from = from.clone();
            store::blocking(&self.store, move |s| s.open_concern_from(&from)).await?
        };
        // A start word only opts back in a number that opted out: from anyone
        // else, "Yes" is an answer and goes on to whoever has the concern.
        let opting_in = START_WORDS.contains(&word.as_str()) && {
            let from = from.clone();
            store::blocking(&self.store, move |s| s.is_opted_out(&from)).await?
        };
        if STOP_WORDS.contains(&word.as_str()) || opting_in {
            let opted_out = !opting_in;
            change.opt_out = Some((from, opted_out));
            if let Some(mut c) = open {
                change.timeline.push((
                    c.id,
                    TimelineEntry {
                        at: now,
                        event: TimelineEvent::Received {
                            from: c.party.label(),
                            text: body.trim().to_owned(),
                        },
                    },
                ));
                change.timeline.push((
                    c.id,
                    TimelineEntry {
                        at: now,
                        event: TimelineEvent::OptOut { opted_out },
                    },
                ));
                // Whoever has the concern should know: "STOP" may mean "I am fine now".
                let enrolment = self.enrolment_of(&c).await?;
                let text = body.trim().to_owned();
                return self
                    .apply_event(
                        &mut c,
                        enrolment.as_ref(),
                        Event::Message { text },
                        now,
                        change,
                    )
                    .await;
            }
            return Ok(());
        }
        let enrolment = {
            let from = from.clone();
            store::blocking(&self.store, move |s| s.enrolments_for_phone(&from, now))
                .await?
                .into_iter()
                .next()
        };
        let party = match &enrolment {
            Some(e) if e.patient.phone == from => Party::Patient,
            Some(e) => e
                .carers
                .iter()
                .find(|c| c.contact.phone == from)
                .map(|c| Party::Carer {
                    name: c.contact.name.clone(),
                    relationship: c.relationship.clone(),
                })
                .unwrap_or(Party::Unknown),
            None => Party::Unknown,
        };
        if let Some(mut concern) = open {
            change.timeline.push((
                concern.id,
                TimelineEntry {
                    at: now,
                    event: TimelineEvent::Received {
                        from: party.label(),
                        text: body.clone(),
                    },
                },
            ));
            if media > 0 {
                self.explain_pictures(&mut concern, change)?;
            }
            return self
                .apply_event(
                    &mut concern,
                    enrolment.as_ref(),
                    Event::Message { text: body },
                    now,
                    change,
                )
                .await;
        }
        let red_flag = self.red_flags.find(&body).map(str::to_owned);
        let mut concern = Concern {
            id: ConcernId::new(),
            enrolment: enrolment.as_ref().map(|e| e.id),
            service: enrolment.as_ref().map(|e| e.service.clone()),
            sender: from.clone(),
            party: party.clone(),
            opened_at: now,
            text: body.clone(),
            escalation: Escalation::new(red_flag.is_some()),
            pictures_explained: false,
            version: 0,
        };
        change.timeline.push((
            concern.id,
            TimelineEntry {
                at: now,
                event: TimelineEvent::Received {
                    from: party.label(),
                    text: body,
                },
            },
        ));
        let service_name = self.patient_facing_service(&concern);
        let reply = match &red_flag {
            Some(phrase) => {
                change.timeline.push((
                    concern.id,
                    TimelineEntry {
                        at: now,
                        event: TimelineEvent::RedFlag {
                            phrase: phrase.clone(),
                        },
                    },
                ));
                self.templates
                    .render("sms/red_flag.txt", minijinja::context! { phrase })?
            }
            None if enrolment.is_some() => self.templates.render(
                "sms/received.txt",
                minijinja::context! { service => service_name },
            )?,
            None => self.templates.render(
                "sms/received_unknown.txt",
                minijinja::context! { trust => self.rota.trust_name },
            )?,
        };
        change.outbox.push(NewOutbox {
            concern: Some(concern.id),
            to: from,
            body: reply,
            purpose: Purpose::Notice,
            staff: None,
            recipient: party.label(),
            step: None,
        });
        if media > 0 {
            self.explain_pictures(&mut concern, change)?;
        }
        self.apply_event(&mut concern, enrolment.as_ref(), Event::Open, now, change)
            .await
    }

    /// Tell a sender, once for each concern, that pictures cannot be seen
    /// and to say in words what they show.
    fn explain_pictures(&self, concern: &mut Concern, change: &mut Change) -> anyhow::Result<()> {
        if concern.pictures_explained {
            return Ok(());
        }
        concern.pictures_explained = true;
        change.outbox.push(NewOutbox {
            concern: Some(concern.id),
            to: concern.sender.clone(),
            body: self
                .templates
                .render("sms/no_pictures.txt", minijinja::context! {})?,
            purpose: Purpose::Notice,
            staff: None,
            recipient: concern.party.label(),
            step: None,
        });
        Ok(())
    }

    async fn staff_reply(
        &self,
        staff: &Staff,
        body: &str,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let id = staff.id.clone();
        let since = now - CODE_QUARANTINE;
        let pages = store::blocking(&self.store, move |s| s.pages_for(&id, since)).await?;
        let open: Vec<&Page> = pages.iter().filter(|p| p.open).collect();
        let target = match reply::parse(body) {
            None => None,
            Some(r) => {
                let page = match r.code {
                    Some(code) => pages
                        .iter()
                        .filter(|p| p.code == code)
                        .max_by_key(|p| (p.open, p.opened_at)),
                    None if open.len() == 1 => Some(open[0]),
                    None => None,
                };
                page.map(|p| (r, p.concern))
            }
        };
        let Some((r, concern_id)) = target else {
            let codes: Vec<String> = open.iter().map(|p| p.code.to_string()).collect();
            let text = self.templates.render(
                "sms/help.txt",
                minijinja::context! { codes => codes.join(", ") },
            )?;
            self.to_staff(staff, None, text, change);
            return Ok(());
        };
        let Some(mut concern) =
            store::blocking(&self.store, move |s| s.concern(concern_id)).await?
        else {
            return Ok(());
        };
        let enrolment = self.enrolment_of(&concern).await?;
        let by = staff_ref(staff);
        let event = match r.action {
            reply::Action::Accept => Event::Accept { by },
            reply::Action::Pass => Event::Pass { by },
            reply::Action::Resolve => Event::Resolve { by, note: r.note },
        };
        self.apply_event(&mut concern, enrolment.as_ref(), event, now, change)
            .await
    }

    async fn delivery_report(
        &self,
        message_id: &str,
        status: &str,
        error_code: Option<u32>,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let id = message_id.to_owned();
        let Some(item) =
            store::blocking(&self.store, move |s| s.outbox_by_provider_id(&id)).await?
        else {
            tracing::info!(
                message_id,
                status,
                "delivery report for a message we have no record of; ignored"
            );
            return Ok(());
        };
        let Some(concern_id) = item.message.concern else {
            return Ok(());
        };
        change.timeline.push((
            concern_id,
            TimelineEntry {
                at: now,
                event: TimelineEvent::Delivery {
                    to: item.message.recipient.clone(),
                    purpose: item.message.purpose.as_str().to_owned(),
                    status: status.to_owned(),
                    error_code,
                },
            },
        ));
        if matches!(status, "undelivered" | "failed") && item.message.purpose == Purpose::Page {
            self.page_failed(&item, now, change).await?;
        }
        Ok(())
    }

    // ---- timers ---------------------------------------------------------------

    async fn fire(&self, timer: Timer, now: Instant) -> anyhow::Result<Change> {
        let mut change = Change {
            at: now,
            fired_timer: Some(timer.clone()),
            ..Change::default()
        };
        let id = timer.concern;
        let Some(mut concern) = store::blocking(&self.store, move |s| s.concern(id)).await? else {
            return Ok(change);
        };
        let event = match timer.kind {
            TimerKind::AckDeadline => Event::AckDeadline { seq: timer.seq },
            TimerKind::Handover => Event::Handover,
            TimerKind::Reminder => Event::ReminderDue,
            TimerKind::Forward => Event::ForwardDue,
        };
        let enrolment = self.enrolment_of(&concern).await?;
        self.apply_event(&mut concern, enrolment.as_ref(), event, now, &mut change)
            .await?;
        Ok(change)
    }

    // ---- sending --------------------------------------------------------------

    async fn after_send(
        &self,
        item: OutboxItem,
        outcome: Option<SendOutcome>,
        now: Instant,
        answered: Instant,
    ) -> anyhow::Result<Change> {
        let mut change = Change {
            at: now,
            ..Change::default()
        };
        let purpose = item.message.purpose.as_str().to_owned();
        let to = item.message.recipient.clone();
        let record = |change: &mut Change, at: Instant, event: TimelineEvent| {
            if let Some(c) = item.message.concern {
                change.timeline.push((c, TimelineEntry { at, event }));
            }
        };
        let Some(outcome) = outcome else {
            let reason = "the concern had moved on before it could be sent".to_owned();
            record(
                &mut change,
                now,
                TimelineEvent::Dropped {
                    to,
                    purpose,
                    reason,
                },
            );
            change
                .outbox_outcomes
                .push(OutboxOutcome::Cancelled { id: item.id });
            return Ok(change);
        };
        let attempts = item.attempts + 1;
        match outcome {
            SendOutcome::Accepted { provider_id } => {
                tracing::info!(outbox = item.id, provider_id = %provider_id, purpose = %purpose, attempts, "sent");
                let waited = answered - item.queued_at > TimeDelta::seconds(1);
                record(
                    &mut change,
                    answered,
                    TimelineEvent::Sent {
                        to,
                        purpose,
                        provider_id: provider_id.clone(),
                        queued_at: waited.then_some(item.queued_at),
                        attempts: (attempts > 1).then_some(attempts),
                    },
                );
                change.outbox_outcomes.push(OutboxOutcome::Sent {
                    id: item.id,
                    provider_id,
                });
            }
            SendOutcome::Retryable {
                reason,
                retry_after,
            } => {
                // Retried until it goes: an outage of hours loses nothing.
                let delay = crate::channels::retry_delay(item.attempts, retry_after);
                let waiting = now - item.queued_at;
                if waiting >= STUCK_AFTER {
                    tracing::error!(outbox = item.id, purpose = %purpose, attempts, waiting_s = waiting.num_seconds(), reason = %reason, "text still not sent; retrying");
                } else {
                    tracing::warn!(outbox = item.id, purpose = %purpose, attempts, reason = %reason, "send failed; will retry");
                }
                // The timeline hears of the first failure and then about
                // every half hour, not of every retry in a long outage.
                if item.attempts == 0 || attempts.is_multiple_of(30) {
                    record(
                        &mut change,
                        now,
                        TimelineEvent::SendFailed {
                            to,
                            purpose,
                            reason,
                            will_retry: true,
                        },
                    );
                }
                let at = now + TimeDelta::from_std(delay).unwrap_or(TimeDelta::seconds(60));
                change
                    .outbox_outcomes
                    .push(OutboxOutcome::Retry { id: item.id, at });
            }
            SendOutcome::Permanent { code, reason } => {
                if code == Some(crate::channels::twilio::client::OPTED_OUT) {
                    change.opt_out = Some((item.message.to.clone(), true));
                }
                tracing::warn!(outbox = item.id, purpose = %purpose, reason = %reason, "refused for good; not retried");
                record(
                    &mut change,
                    now,
                    TimelineEvent::SendFailed {
                        to,
                        purpose,
                        reason,
                        will_retry: false,
                    },
                );
                change
                    .outbox_outcomes
                    .push(OutboxOutcome::Failed { id: item.id });
                if item.message.purpose == Purpose::Page {
                    self.page_failed(&item, now, &mut change).await?;
                }
            }
        }
        Ok(change)
    }

    /// Say loudly, once a minute while it lasts, when texts have waited
    /// longer than [`STUCK_AFTER`] (the provider is down or refusing us).
    async fn warn_if_stuck(&self, now: Instant) -> anyhow::Result<()> {
        let due = self
            .last_stuck_warning
            .lock()
            .map(|last| last.is_none_or(|t| now - t >= TimeDelta::minutes(1)))
            .unwrap_or(true);
        if !due {
            return Ok(());
        }
        let backlog = store::blocking(&self.store, move |s| s.backlog(now)).await?;
        if let Some(oldest) = backlog.outbox_oldest_queued
            && now - oldest >= STUCK_AFTER
        {
            tracing::error!(
                retrying = backlog.outbox_retrying,
                due = backlog.outbox_due,
                oldest_waiting_s = (now - oldest).num_seconds(),
                "OUTBOX STUCK: texts to patients and pages to clinicians are not going out; check the SMS provider"
            );
            if let Ok(mut last) = self.last_stuck_warning.lock() {
                *last = Some(now);
            }
        }
        Ok(())
    }

    /// A page could not be delivered: try the person's next number, or tell
    /// the state machine nobody can reach them.
    async fn page_failed(
        &self,
        item: &OutboxItem,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let (Some(concern_id), Some(staff_id)) = (item.message.concern, item.message.staff.clone())
        else {
            return Ok(());
        };
        let Some(staff) = self.rota.person(staff_id.as_str()) else {
            return Ok(());
        };
        let numbers = sms_numbers(staff);
        let next = numbers.iter().skip_while(|n| **n != item.message.to).nth(1);
        if let Some(next) = next {
            change.timeline.push((
                concern_id,
                TimelineEntry {
                    at: now,
                    event: TimelineEvent::Note {
                        text: format!(
                            "page to {} not delivered; trying their next number",
                            staff.name
                        ),
                    },
                },
            ));
            change.outbox.push(NewOutbox {
                to: next.clone(),
                ..item.message.clone()
            });
            return Ok(());
        }
        let Some(mut concern) =
            store::blocking(&self.store, move |s| s.concern(concern_id)).await?
        else {
            return Ok(());
        };
        let enrolment = self.enrolment_of(&concern).await?;
        self.apply_event(
            &mut concern,
            enrolment.as_ref(),
            Event::PageUndeliverable { staff: staff_id },
            now,
            change,
        )
        .await
    }

    // ---- the state machine, and what its effects mean here -----------------------

    async fn apply_event(
        &self,
        concern: &mut Concern,
        enrolment: Option<&Enrolment>,
        event: Event,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let chain = self.chain_for(concern, now);
        let (next, effects) =
            escalation::step(&concern.escalation, event, now, &chain, &self.policy);
        concern.escalation = next;
        let mut cancelled = false;
        for effect in effects {
            match effect {
                Effect::Page { staff, step } => {
                    self.page(concern, enrolment, &staff, &step, now, change)
                        .await?
                }
                Effect::Forward { staff, skip } => {
                    self.forward(concern, enrolment, &staff, skip, now, change)
                        .await?;
                }
                Effect::TellSender(notice) => {
                    let body = match notice {
                        SenderNotice::AcceptedBy { name, role } => self
                            .templates
                            .render("sms/accepted.txt", minijinja::context! { name, role })?,
                        SenderNotice::Call111 => self
                            .templates
                            .render("sms/call_111.txt", minijinja::context! {})?,
                        SenderNotice::Resolved { name, role } => self.templates.render(
                            "sms/resolved.txt",
                            minijinja::context! { name, role, service => self.patient_facing_service(concern) },
                        )?,
                    };
                    change.outbox.push(NewOutbox {
                        concern: Some(concern.id),
                        to: concern.sender.clone(),
                        body: body.clone(),
                        purpose: Purpose::Notice,
                        staff: None,
                        recipient: concern.party.label(),
                        step: None,
                    });
                    // When a carer wrote, the patient is told too.
                    if let (Party::Carer { .. }, Some(e)) = (&concern.party, enrolment) {
                        change.outbox.push(NewOutbox {
                            concern: Some(concern.id),
                            to: e.patient.phone.clone(),
                            body,
                            purpose: Purpose::Notice,
                            staff: None,
                            recipient: "patient".to_owned(),
                            step: None,
                        });
                    }
                }
                Effect::TellStaff { staff, notice } => {
                    let code = self.code_for(concern.id, &staff.id, now, change).await?;
                    let who = who(concern, enrolment);
                    let body = match notice {
                        StaffNotice::TakenBy { name } => self
                            .templates
                            .render("sms/taken.txt", minijinja::context! { code, who, name })?,
                        StaffNotice::AlreadyAccepted { name } => self
                            .templates
                            .render("sms/already_accepted.txt", minijinja::context! { name })?,
                        StaffNotice::YouHaveIt => self
                            .templates
                            .render("sms/you_have_it.txt", minijinja::context! { code })?,
                        StaffNotice::Reminder => {
                            let accepted_at = match &concern.escalation.status {
                                escalation::Status::Accepted { at, .. } => {
                                    at.with_timezone(&LONDON).format("%H:%M").to_string()
                                }
                                _ => String::new(),
                            };
                            self.templates.render(
                                "sms/reminder.txt",
                                minijinja::context! { code, who, accepted_at },
                            )?
                        }
                        StaffNotice::ResolvedBy { name } => self.templates.render(
                            "sms/resolved_by.txt",
                            minijinja::context! { code, who, name },
                        )?,
                        StaffNotice::AlreadyResolved => self
                            .templates
                            .render("sms/already_resolved.txt", minijinja::context! {})?,
                        StaffNotice::YouAccepted => self.templates.render(
                            "sms/you_accepted.txt",
                            minijinja::context! { code, who, service => self.staff_facing_service(concern) },
                        )?,
                        StaffNotice::YouResolved => self
                            .templates
                            .render("sms/you_resolved.txt", minijinja::context! { code, who })?,
                    };
                    if let Some(person) = self.rota.person(staff.id.as_str()) {
                        self.to_staff(person, Some(concern.id), body, change);
                    }
                }
                Effect::ArmAckDeadline { at, seq } => change.set_timers.push(Timer {
                    concern: concern.id,
                    kind: TimerKind::AckDeadline,
                    due_at: at,
                    seq,
                }),
                Effect::ArmHandover { at } => change.set_timers.push(Timer {
                    concern: concern.id,
                    kind: TimerKind::Handover,
                    due_at: at,
                    seq: 0,
                }),
                Effect::ArmReminder { at } => change.set_timers.push(Timer {
                    concern: concern.id,
                    kind: TimerKind::Reminder,
                    due_at: at,
                    seq: 0,
                }),
                Effect::ArmForward { at } => change.set_timers.push(Timer {
                    concern: concern.id,
                    kind: TimerKind::Forward,
                    due_at: at,
                    seq: 0,
                }),
                Effect::CancelTimers => {
                    cancelled = true;
                    change.cancel_timers.push(concern.id);
                }
                Effect::ClosePages => change.close_pages.push(concern.id),
                Effect::Record(event) => change
                    .timeline
                    .push((concern.id, TimelineEntry { at: now, event })),
            }
        }
        if cancelled {
            // A fired timer's own delete must not outlive a cancel in the same change.
            change.fired_timer = None;
        }
        change.concern = Some(concern.clone());
        Ok(())
    }

    async fn page(
        &self,
        concern: &Concern,
        enrolment: Option<&Enrolment>,
        staff: &StaffRef,
        step: &str,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let Some(person) = self.rota.person(staff.id.as_str()) else {
            return Ok(());
        };
        let code = self.code_for(concern.id, &staff.id, now, change).await?;
        if !change
            .open_pages
            .iter()
            .any(|p| p.concern == concern.id && p.staff == staff.id)
        {
            change.open_pages.push(Page {
                concern: concern.id,
                staff: staff.id.clone(),
                code,
                open: true,
                opened_at: now,
            });
        }
        let service = self.staff_facing_service(concern);
        let discharged = enrolment.map(|e| {
            e.discharged_at
                .with_timezone(&LONDON)
                .format("%-d %b")
                .to_string()
        });
        let body = self.templates.render(
            "sms/page.txt",
            minijinja::context! {
                urgent => concern.escalation.urgent,
                who => who(concern, enrolment),
                service,
                discharged,
                text => quote(&concern.text),
                link => self.links.link(concern.id, &staff.id, now),
                code,
            },
        )?;
        change.timeline.push((
            concern.id,
            TimelineEntry {
                at: now,
                event: TimelineEvent::Paged {
                    staff: staff.id.clone(),
                    name: staff.name.clone(),
                    level: step.to_owned(),
                    code,
                },
            },
        ));
        match sms_numbers(person).into_iter().next() {
            Some(to) => change.outbox.push(NewOutbox {
                concern: Some(concern.id),
                to,
                body,
                purpose: Purpose::Page,
                staff: Some(staff.id.clone()),
                recipient: staff.name.clone(),
                step: Some(concern.escalation.seq),
            }),
            None => change.timeline.push((
                concern.id,
                TimelineEntry {
                    at: now,
                    event: TimelineEvent::Note {
                        text: format!("{} has no phone for SMS pages", staff.name),
                    },
                },
            )),
        }
        Ok(())
    }

    /// The code this clinician uses for this concern: the one already given,
    /// or the next one after their last that is not in use (open, or closed
    /// within [`CODE_QUARANTINE`], so a late reply cannot hit a new concern).
    async fn code_for(
        &self,
        concern: ConcernId,
        staff: &Id,
        now: Instant,
        change: &Change,
    ) -> anyhow::Result<u16> {
        if let Some(p) = change
            .open_pages
            .iter()
            .find(|p| p.concern == concern && &p.staff == staff)
        {
            return Ok(p.code);
        }
        let pending: Vec<u16> = change
            .open_pages
            .iter()
            .filter(|p| &p.staff == staff)
            .map(|p| p.code)
            .collect();
        let id = staff.clone();
        let since = now - CODE_QUARANTINE;
        let code = store::blocking(&self.store, move |s| {
            if let Some(p) = s.page(concern, &id)? {
                return Ok(p.code);
            }
            let last = match pending.iter().copied().max() {
                Some(code) => code,
                None => s.last_code(&id)?,
            };
            for i in 1..=9999u32 {
                let candidate = ((u32::from(last) + i - 1) % 9999 + 1) as u16;
                if !pending.contains(&candidate) && !s.code_taken(&id, candidate, since)? {
                    return Ok(candidate);
                }
            }
            // 9,999 open pages for one person: reuse a code rather than fail to page.
            Ok(((u32::from(last) % 9999) + 1) as u16)
        })
        .await?;
        Ok(code)
    }

    fn to_staff(
        &self,
        staff: &Staff,
        concern: Option<ConcernId>,
        body: String,
        change: &mut Change,
    ) {
        if let Some(to) = sms_numbers(staff).into_iter().next() {
            change.outbox.push(NewOutbox {
                concern,
                to,
                body,
                purpose: Purpose::StaffNotice,
                staff: Some(staff.id.clone()),
                recipient: staff.name.clone(),
                step: None,
            });
        }
    }

    fn chain_for(&self, concern: &Concern, now: Instant) -> ChainSnapshot {
        match concern
            .service
            .as_ref()
            .and_then(|s| self.rota.service(s.as_str()))
        {
            Some(ix) => ChainSnapshot::from_chain(&self.rota.resolve(ix, now)),
            None => {
                let (fallback, valid_until) = self.rota.fallback_at(now);
                ChainSnapshot::fallback_only(&fallback, valid_until)
            }
        }
    }

    /// The service's name as staff know it ("Cardiology Ward 7").
    fn staff_facing_service(&self, concern: &Concern) -> String {
        concern
            .service
            .as_ref()
            .and_then(|s| self.rota.service(s.as_str()))
            .map(|ix| self.rota.services()[ix as usize].name.clone())
            .unwrap_or_else(|| "out-of-hours service".to_owned())
    }

    /// Send on to `staff` what the sender wrote after their first `skip`
    /// messages, in one text: as many messages as fit, then how many more
    /// there are and the link, where every message is shown.
    async fn forward(
        &self,
        concern: &Concern,
        enrolment: Option<&Enrolment>,
        staff: &StaffRef,
        skip: u32,
        now: Instant,
        change: &mut Change,
    ) -> anyhow::Result<()> {
        let Some(person) = self.rota.person(staff.id.as_str()) else {
            return Ok(());
        };
        let id = concern.id;
        let stored = store::blocking(&self.store, move |s| s.timeline(id)).await?;
        let pending = change
            .timeline
            .iter()
            .filter(|(c, _)| *c == id)
            .map(|(_, e)| e);
        let mut seen = 0;
        let messages: Vec<String> = stored
            .iter()
            .chain(pending)
            .filter(|e| {
                if matches!(e.event, TimelineEvent::Received { .. }) {
                    seen += 1;
                }
                seen > skip
            })
            .filter_map(|e| match &e.event {
                TimelineEvent::Received { text, .. } => Some(quote(text)),
                TimelineEvent::OptOut { opted_out } => Some(
                    if *opted_out {
                        "(texts to them are now stopped)"
                    } else {
                        "(texts to them are allowed again)"
                    }
                    .to_owned(),
                ),
                _ => None,
            })
            .collect();
        if messages.is_empty() {
            return Ok(());
        }
        let mut quoted = Vec::new();
        let mut used = 0;
        for m in &messages {
            let len = m.chars().count();
            if !quoted.is_empty() && used + len > FORWARD_QUOTE_CHARS {
                break;
            }
            used += len;
            quoted.push(m.clone());
        }
        let more = messages.len() - quoted.len();
        let code = self.code_for(concern.id, &staff.id, now, change).await?;
        let body = self.templates.render(
            "sms/forward.txt",
            minijinja::context! {
                who => who(concern, enrolment),
                code,
                messages => quoted,
                more,
                link => (more > 0).then(|| self.links.link(concern.id, &staff.id, now)),
                accepted => !concern.escalation.is_open(),
            },
        )?;
        change.timeline.push((
            concern.id,
            TimelineEntry {
                at: now,
                event: TimelineEvent::Forwarded {
                    staff: staff.id.clone(),
                    name: staff.name.clone(),
                    messages: Some(messages.len() as u32),
                },
            },
        ));
        self.to_staff(person, Some(concern.id), body, change);
        Ok(())
    }

    fn patient_facing_service(&self, concern: &Concern) -> String {
        concern
            .service
            .as_ref()
            .and_then(|s| self.rota.service(s.as_str()))
            .map(|ix| self.rota.services()[ix as usize].patient_name.clone())
            .unwrap_or_else(|| self.rota.trust_name.clone())
    }

    async fn enrolment_of(&self, concern: &Concern) -> anyhow::Result<Option<Enrolment>> {
        match concern.enrolment {
            Some(id) => Ok(store::blocking(&self.store, move |s| s.enrolment(id)).await?),
            None => Ok(None),
        }
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

/// A person's numbers that take SMS, in their order of preference.
fn sms_numbers(staff: &Staff) -> Vec<PhoneNumber> {
    let mut numbers: Vec<PhoneNumber> = Vec::new();
    for c in &staff.contacts {
        if let ContactMethod::Sms(n) = c
            && !numbers.contains(n)
        {
            numbers.push(n.clone());
        }
    }
    numbers
}

/// Who a concern is about, as a page names them: first name and, for a carer, who wrote.
fn who(concern: &Concern, enrolment: Option<&Enrolment>) -> String {
    match (enrolment, &concern.party) {
        (Some(e), Party::Carer { name, relationship }) => {
            let carer = name.split_whitespace().next().unwrap_or(name);
            match relationship {
                Some(r) => format!("{} (via {r} {carer})", e.patient.first_name()),
                None => format!("{} (via carer {carer})", e.patient.first_name()),
            }
        }
        (Some(e), _) => e.patient.first_name().to_owned(),
        (None, _) => {
            let n = concern.sender.as_str();
            format!("Unknown sender ending {}", &n[n.len().saturating_sub(4)..])
        }
    }
}

/// A message as clinicians read it when pictures came with it: they are
/// never shown (an SMS page cannot carry them, and they are not stored), so
/// the words say one was sent.
fn with_media_note(body: &str, media: u32) -> String {
    let pictures = match media {
        0 => return body.to_owned(),
        1 => "a picture".to_owned(),
        n => format!("{n} pictures"),
    };
    if body.trim().is_empty() {
        format!("sent {pictures} (not shown)")
    } else {
        format!("{} [and {pictures}, not shown]", body.trim_end())
    }
}

/// The sender's words, shortened at a word boundary for an SMS.
fn quote(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= PAGE_QUOTE_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(PAGE_QUOTE_CHARS).collect();
    if let Some(space) = cut.rfind(' ') {
        cut.truncate(space);
    }
    // Three dots, not "…": one character outside the GSM alphabet makes the
    // whole text UCS-2, and a page of two segments becomes four.
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_is_named_not_shown() {
        assert_eq!(with_media_note("", 1), "sent a picture (not shown)");
        assert_eq!(with_media_note("  ", 2), "sent 2 pictures (not shown)");
        assert_eq!(
            with_media_note("my leg today", 1),
            "my leg today [and a picture, not shown]"
        );
        assert_eq!(with_media_note("hello", 0), "hello");
    }

    #[test]
    fn long_messages_are_quoted_to_a_word_boundary() {
        let long = "My dad has been discharged today and his leg dressing is soaked through already and I do not know whether to change it or wait";
        let q = quote(long);
        assert!(q.ends_with("..."));
        assert!(q.chars().count() <= PAGE_QUOTE_CHARS + 3);
        assert_eq!(quote("short  and\nsweet"), "short and sweet");
    }
}
