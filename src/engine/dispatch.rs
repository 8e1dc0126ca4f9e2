//! Sending: the outbox.

use chrono::TimeDelta;

use super::Engine;
use crate::channels::{Lookup, SendOutcome};
use crate::clock::Instant;
use crate::concern::{TimelineEntry, TimelineEvent};
use crate::escalation;
use crate::store::{self, Change, OutboxItem, OutboxOutcome, Purpose};

impl Engine {
    /// One attempt at an outbox item: checked against opt-outs, and against
    /// the provider when an earlier attempt may already have been accepted.
    /// `None`: not sent, because it is no longer wanted.
    pub(super) async fn attempt(&self, item: &OutboxItem, now: Instant) -> Option<SendOutcome> {
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

    // ---- sending --------------------------------------------------------------

    pub(super) async fn after_send(
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
                let delay = self.retry.delay(item.attempts, retry_after);
                let waiting = now - item.queued_at;
                if self.retry.is_stuck(waiting) {
                    tracing::error!(outbox = item.id, purpose = %purpose, attempts, waiting_s = waiting.num_seconds(), reason = %reason, "text still not sent; retrying");
                } else {
                    tracing::warn!(outbox = item.id, purpose = %purpose, attempts, reason = %reason, "send failed; will retry");
                }
                // The timeline hears of the first failure and then about
                // every half hour, not of every retry in a long outage.
                if self.retry.records(attempts) {
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
    /// longer than the retry policy allows (the provider is down or refusing us).
    pub(super) async fn warn_if_stuck(&self, now: Instant) -> anyhow::Result<()> {
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
