//! Dispatch: the outbox, sent.
//!
//! Each due item is marked in flight before it is handed to the provider,
//! so if the process stops mid-send the next attempt asks the provider
//! whether it already has the text before sending it again. An item is
//! checked first against what it is for: a page for a concern that has
//! moved on is dropped, a landline or a number that sent STOP is not
//! texted. The outcome is written as one change: sent; retried with the
//! backoff of the [`RetryPolicy`], forever; or refused for good, which for
//! a page fails over to the person's next number or the next step.
//!
//! The store gives at most one item per number at a time (the earliest
//! unsent), so texts to one person go out in the order they were queued.

use std::sync::{Arc, Mutex};

use chrono::TimeDelta;

use crate::channels::twilio::client::OPTED_OUT;
use crate::channels::{Lookup, RetryPolicy, SendOutcome, SmsSender};
use crate::clock::Instant;
use crate::concern::TimelineEvent;
use crate::directory::NumberKind;
use crate::escalation;
use crate::store::{self, Change, OutboxItem, OutboxOutcome, Purpose};

use super::{BATCH, Parts, advance, record};

/// Sends the outbox through one provider.
pub(super) struct Dispatcher {
    sender: Arc<dyn SmsSender>,
    retry: RetryPolicy,
    last_stuck_warning: Mutex<Option<Instant>>,
}

impl Dispatcher {
    /// A dispatcher sending through `sender`, retrying as `retry` says.
    pub(super) fn new(sender: Arc<dyn SmsSender>, retry: RetryPolicy) -> Self {
        Self {
            sender,
            retry,
            last_stuck_warning: Mutex::new(None),
        }
    }

    /// The provider's name, for logs.
    pub(super) fn sender_name(&self) -> &'static str {
        self.sender.name()
    }

    /// Send what is due at `now`; returns how many items were attempted.
    pub(super) async fn send_due(&self, parts: &Parts, now: Instant) -> anyhow::Result<usize> {
        let due = store::blocking(&parts.store, move |s| s.due_outbox(now, BATCH)).await?;
        let count = due.len();
        if !due.is_empty() {
            // Marked in flight first: if the process stops mid-send, the next
            // attempt asks the provider before sending again.
            parts
                .write(Change {
                    at: now,
                    outbox_in_flight: due.iter().map(|i| i.id).collect(),
                    ..Change::default()
                })
                .await?;
        }
        let sends = due.into_iter().map(|item| async move {
            let outcome = self.attempt(parts, &item, now).await;
            (item, outcome, parts.clock.now())
        });
        // Outcomes that only record a send are written together (one group
        // commit); one that moves a concern on is written before the next is
        // worked out, so it reads the concern's latest state.
        let mut records = Vec::new();
        for (item, outcome, answered) in futures_util::future::join_all(sends).await {
            let (mut change, page_failed) = self.outcome(&item, outcome, now, answered);
            if page_failed {
                advance::page_failed(parts, &item, now, &mut change).await?;
            }
            if change.concern.is_some() {
                parts.write(change).await?;
            } else {
                records.push(parts.write(change));
            }
        }
        for written in futures_util::future::join_all(records).await {
            written?;
        }
        Ok(count)
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
        if let Some(refused) = not_to_be_texted(parts, item).await {
            return Some(refused);
        }
        if item.in_flight || item.attempts > 0 {
            let since = item.due_at.min(now) - TimeDelta::days(1);
            let to = item.message.to.as_str();
            match self.sender.find(to, &item.message.body, since).await {
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
        Some(
            self.sender
                .send(item.message.to.as_str(), &item.message.body)
                .await,
        )
    }

    /// The change that records an attempt's outcome, and whether it was a
    /// page refused for good (which must then fail over).
    fn outcome(
        &self,
        item: &OutboxItem,
        outcome: Option<SendOutcome>,
        now: Instant,
        answered: Instant,
    ) -> (Change, bool) {
        let mut change = Change {
            at: now,
            ..Change::default()
        };
        let purpose = item.message.purpose.as_str().to_owned();
        let to = item.message.recipient.clone();
        let note = |change: &mut Change, at: Instant, event: TimelineEvent| {
            if let Some(c) = item.message.concern {
                record(change, c, at, event);
            }
        };
        let Some(outcome) = outcome else {
            let reason = "the concern had moved on before it could be sent".to_owned();
            note(
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
            return (change, false);
        };
        let attempts = item.attempts + 1;
        let (failure, will_retry) = match outcome {
            SendOutcome::Accepted { provider_id } => {
                tracing::info!(outbox = item.id, provider_id = %provider_id, purpose = %purpose, attempts, "sent");
                let waited = answered - item.queued_at > TimeDelta::seconds(1);
                note(
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
                return (change, false);
            }
            SendOutcome::Retryable {
                reason,
                retry_after,
            } => {
                // Retried until it goes: an outage of hours loses nothing.
                let delay = self.retry.delay(item.attempts, retry_after);
                let waiting = now - item.queued_at;
                if self.retry.is_stuck(waiting) {
                    tracing::error!(outbox = item.id, purpose = %purpose, attempts, waiting_s = waiting.num_seconds(), reason = %reason, "text still not sent; retrying");
                } else {
                    tracing::warn!(outbox = item.id, purpose = %purpose, attempts, reason = %reason, "send failed; will retry");
                }
                let at = now + TimeDelta::from_std(delay).unwrap_or(TimeDelta::seconds(60));
                change
                    .outbox_outcomes
                    .push(OutboxOutcome::Retry { id: item.id, at });
                // The timeline hears of the first failure and then about
                // every half hour, not of every retry in a long outage.
                (self.retry.records(attempts).then_some(reason), true)
            }
            SendOutcome::Permanent { code, reason } => {
                if code == Some(OPTED_OUT) {
                    change.opt_out = Some((item.message.to.clone(), true));
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
                now,
                TimelineEvent::SendFailed {
                    to,
                    purpose,
                    reason,
                    will_retry,
                },
            );
        }
        let page_failed = !will_retry && item.message.purpose == Purpose::Page;
        (change, page_failed)
    }

    /// Say loudly, once a minute while it lasts, when texts have waited
    /// longer than the retry policy allows (the provider is down or refusing us).
    pub(super) async fn warn_if_stuck(&self, parts: &Parts, now: Instant) -> anyhow::Result<()> {
        let due = self
            .last_stuck_warning
            .lock()
            .map(|last| last.is_none_or(|t| now - t >= TimeDelta::minutes(1)))
            .unwrap_or(true);
        if !due {
            return Ok(());
        }
        let backlog = store::blocking(&parts.store, move |s| s.backlog(now)).await?;
        if let Some(oldest) = backlog.outbox_oldest_queued
            && self.retry.is_stuck(now - oldest)
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
}

/// Why a page should not go out after all (`Ok`), or that the store
/// could not say (`Err`: the page waits rather than guess).
async fn unwanted(
    parts: &Parts,
    item: &OutboxItem,
) -> Option<Result<&'static str, store::StoreError>> {
    let (Purpose::Page, Some(step), Some(id)) = (
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
    if !item.message.to.can_text() {
        let kind = match item.message.to.kind() {
            NumberKind::Landline => "landline",
            _ => "non-personal",
        };
        return Some(SendOutcome::Permanent {
            code: None,
            reason: format!("not sent: {kind} numbers cannot receive texts"),
        });
    }
    // A patient or carer who texted STOP is not texted again until START.
    if !matches!(item.message.purpose, Purpose::Welcome | Purpose::Notice) {
        return None;
    }
    let to = item.message.to.clone();
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
