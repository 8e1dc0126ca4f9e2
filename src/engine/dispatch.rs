//! Dispatch: the outbox, sent on tasks of its own.
//!
//! The sending loop claims what is due — as many items as there are free
//! permits (at most `NIGHTINGALE_SENDS_AT_ONCE` sends at once, by default
//! [`super::SENDS_AT_ONCE`]) — marks them in
//! flight in one write, and hands each to its own task. So a provider that
//! is slow, or hangs until the client's timeout, holds up only its own
//! sends: intake and deadlines go on, and other texts go out beside it.
//!
//! Each item is checked first against what it is for: a page for a
//! concern that has moved on is dropped, a landline or a number that sent
//! STOP is not texted. An item that may already have reached the provider
//! (marked in flight when the process stopped, or tried before) is looked
//! up there before it is sent again. The outcome is one change: sent;
//! retried with the backoff of the [`RetryPolicy`], forever; or refused
//! for good, which for a page fails over to the person's next number or
//! the next step (under the step lock, as any step is).
//!
//! Items are claimed in the store with a lease and a fencing token (ADR 7),
//! so several nodes can share one outbox and no text goes out twice: the
//! outcome is written only while this node's claim is still the item's
//! current one, and a node that dies mid-send has its items taken over
//! when their leases end (and looked up at the provider before being sent
//! again). Claims on texts being sent are held in the engine's leases and
//! renewed on their own task (`leases`), and again before each claiming
//! round, so a send that waits on a slow provider keeps its item; a text
//! this node is still sending that comes back claimed (its renewal was too
//! late) is not sent twice: the sending task carries on under the new
//! claim. The store gives at
//! most one item per lane at a time (the earliest unsent): a patient's
//! texts go out in the order they were queued, and a clinician's about one
//! concern, even while the first of them hangs; pages about other patients
//! to the same clinician do not wait behind it.
//!
//! The store hands out the most urgent lanes first (ADR 31). With a send
//! budget (`NIGHTINGALE_TWILIO_MPS`, [`SendBudget`]) a text goes to the
//! provider only while the sending number has room for it in about the
//! next second, so Twilio's queue stays that short: an urgent text goes
//! whatever the room, and anything else waits here, in the outbox, where
//! the next page overtakes it. While the budget is spent the loop claims
//! only when something was written since (which may be urgent), one item
//! at a time, giving back what is not urgent; otherwise it sleeps until
//! the budget has room. Bulk texts go with a validity period
//! ([`BULK_VALID_FOR`]): one the provider could not send in time is
//! dropped there, not sent hours late.

use std::sync::{Arc, Mutex};

use chrono::TimeDelta;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::channels::email::{EmailBody, EmailSender, NoMailServer, OutgoingEmail};
use crate::channels::twilio::client::OPTED_OUT;
use crate::channels::{
    CallPlacer, Lookup, RecordingCaller, RetryPolicy, SendBudget, SendOutcome, SmsSender,
};
use crate::clock::Instant;
use crate::directory::Address;
use crate::directory::NumberKind;
use crate::escalation;
use crate::outbox::{OutboxItem, OutboxOutcome, Priority};
use crate::store;
use crate::timeline::{Medium, Purpose, TimelineEvent};
use crate::work::{Change, ClaimOf, Claimed, WorkKey, WorkKind};

use super::leases::Leases;
use super::{BATCH, EngineResult, LEASE, Parts, Wake, advance, record};

/// How often the outbox is checked for texts waiting too long.
const STUCK_CHECK_EVERY: TimeDelta = TimeDelta::minutes(1);

/// How long the provider may hold a bulk text (a welcome, a check-in, a
/// handover) before dropping it unsent (Twilio's `ValidityPeriod`): the
/// length of the default morning window for check-ins. Texts wait in
/// Nightingale's outbox, not the provider's, so this only bites when the
/// provider itself is slow.
pub(super) const BULK_VALID_FOR: std::time::Duration = std::time::Duration::from_secs(2 * 3600);

/// Claims due outbox items and sends each on a task of its own.
pub(super) struct Dispatcher {
    sending: Arc<Sending>,
    permits: Arc<Semaphore>,
    /// One claiming round at a time, so the claims it sees are all there are.
    round: tokio::sync::Mutex<()>,
    last_stuck_check: Mutex<Option<Instant>>,
    /// The sending number's budget, if one is set (none: hand everything
    /// over at once, as a provider without queues wants).
    budget: Option<Arc<Mutex<SendBudget>>>,
    /// Something was written to the outbox since the last claim (it may
    /// be urgent, which goes even when the budget is spent).
    written: std::sync::atomic::AtomicBool,
}

/// What a send task needs of the dispatcher: the providers and the policy.
struct Sending {
    sender: Arc<dyn SmsSender>,
    caller: Arc<dyn CallPlacer>,
    email: Arc<dyn EmailSender>,
    retry: RetryPolicy,
}

/// An outbox item this process is sending: its claim is no longer held
/// (and its permit is freed) when dropped, which is after its outcome is
/// written, or when its task is aborted (the item then stays in flight, to
/// be asked about).
struct Claim {
    key: WorkKey,
    leases: Arc<Leases>,
    _permit: OwnedSemaphorePermit,
}

impl Claim {
    /// The store's claim as it stands now (renewed since, perhaps).
    fn current(&self) -> Option<crate::work::Claim> {
        self.leases.current(&self.key)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.leases.let_go(&self.key);
    }
}

impl Dispatcher {
    /// A dispatcher sending through `sender`, at most `at_once` at a time,
    /// retrying as `retry` says.
    pub(super) fn new(sender: Arc<dyn SmsSender>, retry: RetryPolicy, at_once: usize) -> Self {
        Self {
            sending: Arc::new(Sending {
                sender,
                caller: Arc::new(RecordingCaller::default()),
                email: Arc::new(NoMailServer),
                retry,
            }),
            permits: Arc::new(Semaphore::new(at_once.max(1))),
            round: tokio::sync::Mutex::new(()),
            last_stuck_check: Mutex::new(None),
            budget: None,
            written: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Hand texts to the provider within `budget` (before the engine runs).
    pub(super) fn with_budget(mut self, budget: SendBudget) -> Self {
        self.budget = Some(Arc::new(Mutex::new(budget)));
        self
    }

    /// Something was written that may have put texts in the outbox.
    pub(super) fn outbox_written(&self) {
        self.written
            .store(true, std::sync::atomic::Ordering::Release);
    }

    /// The budget's rate and the segments handed over since start, if one is set.
    pub(super) fn budget_spent(&self) -> Option<(u32, u64)> {
        spent(self.budget.as_ref()?)
    }

    /// The budget, shared with the engine's handle (for `/metrics`).
    pub(super) fn budget(&self) -> Option<Arc<Mutex<SendBudget>>> {
        self.budget.clone()
    }

    /// How many items to claim at `now` with `free` permits: no more than
    /// the budget has room for, and while it has none, one (the most
    /// urgent due: it goes if urgent) and only if something was written
    /// since the last claim.
    fn claim_limit(&self, free: usize, now: Instant) -> usize {
        let written = self
            .written
            .swap(false, std::sync::atomic::Ordering::AcqRel);
        let Some(budget) = &self.budget else {
            return free;
        };
        let room = budget.lock().unwrap_or_else(|p| p.into_inner()).room(now) as usize;
        match room {
            0 if written => 1,
            room => free.min(room),
        }
    }

    /// Whether `item` may go to the provider at `now` as far as the budget
    /// goes, taking its room if so. Only texts use it: calls, email and
    /// deleting a recording go by other queues.
    fn within_budget(&self, item: &OutboxItem, now: Instant) -> bool {
        let Some(budget) = &self.budget else {
            return true;
        };
        let purpose = item.message.purpose;
        let text = item.message.to.phone().is_some()
            && !matches!(
                purpose,
                Purpose::CallPage | Purpose::CallBack | Purpose::DeleteRecording
            );
        if !text {
            return true;
        }
        let (segments, _) = crate::templates::sms_segments(&item.message.body);
        let urgent = item.priority == Priority::Urgent;
        budget.lock().unwrap_or_else(|p| p.into_inner()).take(
            u32::try_from(segments).unwrap_or(u32::MAX),
            urgent,
            now,
        )
    }

    /// The same dispatcher, at most `at_once` sends at a time.
    pub(super) fn with_at_once(mut self, at_once: usize) -> Self {
        self.permits = Arc::new(Semaphore::new(at_once.max(1)));
        self
    }

    /// Place call pages through `caller` (before the engine runs).
    pub(super) fn with_caller(mut self, caller: Arc<dyn CallPlacer>) -> Self {
        self.sending = Arc::new(Sending {
            sender: Arc::clone(&self.sending.sender),
            caller,
            email: Arc::clone(&self.sending.email),
            retry: self.sending.retry,
        });
        self
    }

    /// Send email through `email` (before the engine runs).
    pub(super) fn with_email(mut self, email: Arc<dyn EmailSender>) -> Self {
        self.sending = Arc::new(Sending {
            sender: Arc::clone(&self.sending.sender),
            caller: Arc::clone(&self.sending.caller),
            email,
            retry: self.sending.retry,
        });
        self
    }

    /// The provider's name, for logs.
    pub(super) fn sender_name(&self) -> &'static str {
        self.sending.sender.name()
    }

    /// Claim what is due at `now` (as many as there are free permits), mark
    /// it in flight, and start a task in `sends` for each; returns how many.
    pub(super) async fn claim_due(
        &self,
        parts: &Arc<Parts>,
        wake: &Arc<Wake>,
        now: Instant,
        sends: &mut JoinSet<EngineResult<()>>,
    ) -> EngineResult<usize> {
        let _one_round_at_a_time = self.round.lock().await;
        // What this node is still sending keeps its claims: renewed first
        // (the renewal task may not have run yet when the clock jumped), so
        // a slow send is not taken over while it waits.
        parts.leases.renew_due(&parts.store, now).await?;
        let free = self.claim_limit(self.permits.available_permits().min(BATCH), now);
        if free == 0 {
            return Ok(0);
        }
        let node = parts.node.clone();
        let due = store::blocking(&parts.store, move |s| {
            s.claim_of::<OutboxItem>(&node, now, LEASE, free)
        })
        .await?;
        let mut claims = Vec::new();
        let mut unsent = Vec::new();
        for Claimed { claim, item } in due {
            if parts.leases.holds(&claim.key) {
                // Still being sent here: its renewal came too late and the
                // store handed it out again, to this node. The task sending
                // it carries on under the new claim; it is not sent twice.
                parts.leases.keep(claim);
                continue;
            }
            match Arc::clone(&self.permits).try_acquire_owned() {
                Ok(permit) if self.within_budget(&item, now) => {
                    claims.push((Self::claim(parts, claim, permit), item));
                }
                _ => unsent.push(claim),
            }
        }
        if !unsent.is_empty() {
            store::blocking(&parts.store, move |s| s.release(&unsent)).await?;
        }
        if claims.is_empty() {
            return Ok(0);
        }
        if claims
            .iter()
            .any(|(_, item)| item.priority == Priority::Urgent)
        {
            // More may be due, and they go whatever the budget's room.
            self.outbox_written();
        }
        let count = claims.len();
        for (claim, item) in claims {
            let (sending, parts, wake) = (
                Arc::clone(&self.sending),
                Arc::clone(parts),
                Arc::clone(wake),
            );
            sends.spawn(async move { sending.send(&parts, &wake, claim, item, now).await });
        }
        Ok(count)
    }

    /// When the next item not already being sent falls due, if before
    /// `horizon`; `None` too when every permit is taken (a send finishing
    /// is then what to wait for).
    pub(super) async fn next_due(
        &self,
        parts: &Parts,
        horizon: Instant,
    ) -> crate::store_error::StoreResult<Option<Instant>> {
        if self.permits.available_permits() == 0 {
            return Ok(None);
        }
        // The store counts work under a claim from its lease's end, so an
        // item another node is sending does not wake this one early.
        let next = store::blocking(&parts.store, |s| s.next_due_of(&[WorkKind::Outbox])).await?;
        // While the budget is spent, what is due waits for room (a write,
        // which may be urgent, wakes the loop sooner).
        let now = parts.clock.now();
        let next = match (&self.budget, next) {
            (Some(budget), Some(next)) => Some(
                next.max(
                    budget
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .ready_at(now),
                ),
            ),
            (_, next) => next,
        };
        Ok(next.filter(|t| *t <= horizon))
    }

    /// Hold `claim` in the engine's leases while its text is sent.
    fn claim(parts: &Parts, claim: crate::work::Claim, permit: OwnedSemaphorePermit) -> Claim {
        Claim {
            key: parts.leases.keep(claim),
            leases: Arc::clone(&parts.leases),
            _permit: permit,
        }
    }

    /// Say loudly, once a minute while it lasts, when texts have waited
    /// longer than the retry policy allows (the provider is down or refusing us).
    pub(super) async fn warn_if_stuck(&self, parts: &Parts, now: Instant) -> EngineResult<()> {
        {
            let mut last = self
                .last_stuck_check
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| now - t < STUCK_CHECK_EVERY) {
                return Ok(());
            }
            *last = Some(now);
        }
        let backlog = store::blocking(&parts.store, move |s| s.backlog(now)).await?;
        if let Some(oldest) = backlog.outbox_oldest_queued
            && self.sending.retry.is_stuck(now - oldest)
        {
            tracing::error!(
                retrying = backlog.outbox_retrying,
                due = backlog.outbox_due,
                oldest_waiting_s = (now - oldest).num_seconds(),
                "OUTBOX STUCK: texts to patients and pages to clinicians are not going out; check the SMS provider"
            );
        }
        Ok(())
    }
}

impl Sending {
    /// Send one claimed item and write its outcome; the claim is released
    /// once the outcome is written (or this task ends without it).
    async fn send(
        &self,
        parts: &Parts,
        wake: &Wake,
        claim: Claim,
        item: OutboxItem,
        now: Instant,
    ) -> EngineResult<()> {
        let outcome = self.attempt(parts, &item, now).await;
        let answered = parts.clock.now();
        let (mut change, page_failed) = self.outcome(&item, outcome, answered);
        change.claim = claim.current();
        let written = if page_failed {
            // Failing over moves the concern on: a step like any other.
            let _one_at_a_time = parts.steps.lock().await;
            advance::page_failed(parts, &item, answered, &mut change).await?;
            let written = parts.write(change).await;
            wake.all();
            written
        } else {
            parts.write(change).await
        };
        drop(claim);
        match written {
            Err(e) if e.is_conflict() => {
                // Another node took the item over (this one was too slow to
                // renew): its outcome is theirs to write. If this attempt
                // reached the provider, theirs finds it there.
                tracing::warn!(
                    outbox = item.id,
                    "the outcome of a send was not recorded: another node had taken the text over"
                );
                Ok(())
            }
            other => other,
        }
    }

    /// One attempt at an outbox item: checked against what it is for, and
    /// against the provider when an earlier attempt may already have been
    /// accepted. `None`: not sent, because it is no longer wanted.
    async fn attempt(&self, parts: &Parts, item: &OutboxItem, now: Instant) -> Option<SendOutcome> {
        if let Some(reason) = unwanted(parts, item).await {
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
        if item.message.purpose == Purpose::DeleteRecording {
            return Some(self.caller.delete_recording(&item.message.body).await);
        }
        if let Address::Email(to) = &item.message.to {
            // No mail server can be asked whether it took a message: one
            // sent again keeps its Message-ID, and mail clients show it once.
            return Some(match email(parts, item, to.as_str(), now) {
                Ok(mail) => self.email.send(&mail).await,
                Err(e) => SendOutcome::Permanent {
                    code: None,
                    reason: e.to_string(),
                },
            });
        }
        let call = matches!(item.message.purpose, Purpose::CallPage | Purpose::CallBack);
        if !call && let Some(refused) = not_to_be_texted(parts, item).await {
            return Some(refused);
        }
        if item.in_flight || item.attempts > 0 {
            let since = item.due_at.min(now) - TimeDelta::days(1);
            let to = item.message.to.key();
            let to = to.as_str();
            let found = if call {
                self.caller.find(to, item.queued_at).await
            } else {
                self.sender.find(to, &item.message.body, since).await
            };
            match found {
                Lookup::Sent { provider_id } => {
                    tracing::info!(outbox = item.id, provider_id = %provider_id, "already accepted by the provider; not sending again");
                    return Some(SendOutcome::Accepted { provider_id });
                }
                Lookup::NotSent => {}
                Lookup::Unknown { reason } => {
                    return Some(SendOutcome::Retryable {
                        reason: format!("could not check whether it was already sent: {reason}"),
                        retry_after: None,
                    });
                }
            }
        }
        let to = item.message.to.key();
        let to = to.as_str();
        Some(if call {
            self.caller.place(to, &item.message.body).await
        } else {
            match item.message.priority() {
                Priority::Bulk => {
                    self.sender
                        .send_valid_for(to, &item.message.body, BULK_VALID_FOR)
                        .await
                }
                _ => self.sender.send(to, &item.message.body).await,
            }
        })
    }

    /// The change that records an attempt's outcome, answered at `at`
    /// (retries count from then), and whether it was a page refused for
    /// good (which must then fail over).
    fn outcome(
        &self,
        item: &OutboxItem,
        outcome: Option<SendOutcome>,
        at: Instant,
    ) -> (Change, bool) {
        let mut change = Change {
            at,
            ..Change::default()
        };
        let purpose = item.message.purpose;
        let to = item.message.recipient.clone();
        let medium = Medium::of(&item.message.to, item.message.purpose == Purpose::CallPage);
        let note = |change: &mut Change, event: TimelineEvent| {
            if let Some(c) = item.message.concern {
                record(change, c, at, event);
            }
        };
        let Some(outcome) = outcome else {
            let reason = "the concern had moved on before it could be sent".to_owned();
            note(
                &mut change,
                TimelineEvent::Dropped {
                    to,
                    purpose,
                    reason,
                    medium,
                },
            );
            change
                .outbox_outcomes
                .push(OutboxOutcome::Cancelled { id: item.id });
            return (change, false);
        };
        let attempts = item.attempts + 1;
        let (failure, will_retry) = match outcome {
            SendOutcome::Accepted { provider_id } => {
                tracing::info!(outbox = item.id, provider_id = %provider_id, purpose = %purpose, attempts, "sent");
                let waited = at - item.queued_at > TimeDelta::seconds(1);
                note(
                    &mut change,
                    TimelineEvent::Sent {
                        to,
                        purpose,
                        provider_id: provider_id.clone(),
                        queued_at: waited.then_some(item.queued_at),
                        attempts: (attempts > 1).then_some(attempts),
                        medium,
                    },
                );
                change.outbox_outcomes.push(OutboxOutcome::Sent {
                    id: item.id,
                    provider_id,
                });
                return (change, false);
            }
            SendOutcome::Retryable {
                reason,
                retry_after,
            } => {
                // Retried until it goes: an outage of hours loses nothing.
                let delay = self.retry.delay(item.attempts, retry_after);
                let waiting = at - item.queued_at;
                if item.message.purpose == Purpose::DeleteRecording {
                    // A recording of a patient's words is still held at the provider.
                    tracing::error!(outbox = item.id, attempts, reason = %reason, "RECORDING NOT DELETED at the provider after its retention period; retrying");
                } else if self.retry.is_stuck(waiting) {
                    tracing::error!(outbox = item.id, purpose = %purpose, attempts, waiting_s = waiting.num_seconds(), reason = %reason, "text still not sent; retrying");
                } else {
                    tracing::warn!(outbox = item.id, purpose = %purpose, attempts, reason = %reason, "send failed; will retry");
                }
                let retry_at = at + TimeDelta::from_std(delay).unwrap_or(TimeDelta::seconds(60));
                change.outbox_outcomes.push(OutboxOutcome::Retry {
                    id: item.id,
                    at: retry_at,
                });
                // The timeline hears of the first failure and then about
                // every half hour, not of every retry in a long outage.
                (self.retry.records(attempts).then_some(reason), true)
            }
            SendOutcome::Permanent { code, reason } => {
                if code == Some(OPTED_OUT)
                    && let Some(phone) = item.message.to.phone()
                {
                    change.opt_out = Some((phone.clone(), true));
                }
                tracing::warn!(outbox = item.id, purpose = %purpose, reason = %reason, "refused for good; not retried");
                change
                    .outbox_outcomes
                    .push(OutboxOutcome::Failed { id: item.id });
                (Some(reason), false)
            }
        };
        if let Some(reason) = failure {
            note(
                &mut change,
                TimelineEvent::SendFailed {
                    to,
                    purpose,
                    reason,
                    will_retry,
                    medium,
                },
            );
        }
        let page_failed =
            !will_retry && matches!(item.message.purpose, Purpose::Page | Purpose::CallPage);
        (change, page_failed)
    }
}

/// Why a page should not go out after all (`Ok`), or that the store
/// could not say (`Err`: the page waits rather than guess).
async fn unwanted(
    parts: &Parts,
    item: &OutboxItem,
) -> Option<Result<&'static str, crate::store_error::StoreError>> {
    let (Purpose::Page | Purpose::CallPage, Some(step), Some(id)) = (
        item.message.purpose,
        item.message.step,
        item.message.concern,
    ) else {
        return None;
    };
    match store::blocking(&parts.store, move |s| s.concern(id)).await {
        Ok(Some(c)) if escalation::page_still_wanted(&c.escalation, step) => None,
        Ok(Some(c)) if !c.escalation.is_open() => Some(Ok("the concern was accepted or resolved")),
        Ok(_) => Some(Ok("the concern had moved on to the next step")),
        Err(e) => Some(Err(e)),
    }
}

/// Why this number must not be texted (a refusal for good), that the
/// store could not say (a retry), or `None`: it may be texted.
async fn not_to_be_texted(parts: &Parts, item: &OutboxItem) -> Option<SendOutcome> {
    let to = item.message.to.phone()?;
    if !to.can_text() {
        let kind = match to.kind() {
            NumberKind::Landline => "landline",
            _ => "non-personal",
        };
        return Some(SendOutcome::Permanent {
            code: None,
            reason: format!("not sent: {kind} numbers cannot receive texts"),
        });
    }
    // A patient or carer who texted STOP is not texted again until START.
    if !matches!(
        item.message.purpose,
        Purpose::Welcome | Purpose::Notice | Purpose::CheckIn
    ) {
        return None;
    }
    let to = to.clone();
    match store::blocking(&parts.store, move |s| s.is_opted_out(&to)).await {
        Ok(false) => None,
        Ok(true) => Some(SendOutcome::Permanent {
            code: None,
            reason: "not sent: the recipient has opted out of texts (STOP)".to_owned(),
        }),
        // Not knowing is not "not opted out": wait and ask again.
        Err(e) => Some(SendOutcome::Retryable {
            reason: format!("could not check for an opt-out: {e}"),
            retry_after: None,
        }),
    }
}

/// The email an outbox item to `to` is: what it says, rendered into its
/// body, and what only sending knows (its signed `Message-ID`, its
/// concern's thread, the envelope sender bounces come back to).
fn email(
    parts: &Parts,
    item: &OutboxItem,
    to: &str,
    now: Instant,
) -> Result<OutgoingEmail, Unsendable> {
    let identity = parts.email.as_ref().ok_or(Unsendable::NoMailServer)?;
    let body = EmailBody::from_body(&item.message.body).ok_or(Unsendable::Unreadable)?;
    let tag = parts.links.outbox_tag(item.id);
    Ok(OutgoingEmail {
        envelope_from: identity.envelope_from(item.id, &tag),
        from: identity.from.clone(),
        to: to.to_owned(),
        message_id: identity.message_id(item.id, &tag),
        thread: item
            .message
            .concern
            .map(|c| identity.thread_root(&c.to_string())),
        date: now,
        body,
    })
}

/// Why an email in the outbox cannot go out at all: its outcome, refused
/// for good, says which.
#[derive(Debug, thiserror::Error)]
enum Unsendable {
    /// No mail server is configured.
    #[error("not sent: no mail server is configured (NIGHTINGALE_SMTP_URL)")]
    NoMailServer,
    /// The stored body is not an email's.
    #[error("not sent: the stored email could not be read")]
    Unreadable,
}

#[cfg(test)]
mod tests;

/// `budget`'s rate and the segments handed over since start.
pub(super) fn spent(budget: &Mutex<SendBudget>) -> Option<(u32, u64)> {
    let budget = budget.lock().unwrap_or_else(|p| p.into_inner());
    Some((budget.rate(), budget.spent()))
}
