//! Channels: how messages leave and arrive. Outbound senders sit behind
//! [`SmsSender`], [`CallPlacer`] and [`email::EmailSender`]; inbound adapters (the Twilio webhooks) live in
//! the HTTP layer above, and hand over to the store. The outbox's [`RetryPolicy`]
//! and the SMS opt-out words ([`OptOutWord`]) live here too. Channels never
//! decide routing.

pub mod budget;
pub mod email;
pub mod opt_out;
pub mod retry;
pub mod twilio;
pub mod voice;

pub use budget::SendBudget;
pub use opt_out::OptOutWord;
pub use retry::RetryPolicy;
pub use voice::{CallPlacer, RecordingCaller};

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use crate::timeline::DeliveryStatus;

/// What became of one attempt to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The provider took it; delivery reports will follow.
    Accepted {
        /// The provider's id for the message.
        provider_id: String,
    },
    /// It may work later (network trouble, rate limit, provider error).
    Retryable {
        /// Why, for the timeline (never includes the message text).
        reason: String,
        /// When the provider asked us to come back, if it did.
        retry_after: Option<Duration>,
    },
    /// It will never work as addressed (bad number, opted out, blocked).
    Permanent {
        /// The provider's error code, e.g. 21610 for an opted-out number.
        code: Option<u32>,
        /// Why, for the timeline.
        reason: String,
    },
}

/// Whether a delivery report's status means the message did not arrive
/// (Twilio's `undelivered` and `failed`, or an email's `bounced`);
/// `queued`, `sent`, `delivered` and the rest do not.
pub fn delivery_failed(status: &str) -> bool {
    DeliveryStatus::from(status).delivery_failed()
}

/// Whether a call page's status (Twilio's `CallStatus`, or `machine` when
/// machine detection heard one) means it did not reach a person.
pub fn call_failed(status: &str) -> bool {
    DeliveryStatus::from(status).call_failed()
}

/// A boxed future, so the trait stays object-safe.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = SendOutcome> + Send + 'a>>;

/// Whether the provider already has a message we may have sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// It does: this is its id. Do not send it again.
    Sent {
        /// The provider's id for the message.
        provider_id: String,
    },
    /// It does not: send it.
    NotSent,
    /// The provider could not be asked; try again later.
    Unknown {
        /// Why.
        reason: String,
    },
}

/// A boxed lookup future.
pub type LookupFuture<'a> = Pin<Box<dyn Future<Output = Lookup> + Send + 'a>>;

/// Sends SMS.
pub trait SmsSender: Send + Sync + 'static {
    /// Make one attempt to send `body` to `to` (E.164). Never retries itself:
    /// retries are the outbox's, so they survive a restart.
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> SendFuture<'a>;

    /// As [`SmsSender::send`], for a text that is no use if it waits at the
    /// provider longer than `valid_for` (Twilio's `ValidityPeriod`): a
    /// check-in that could not go in the morning is dropped there rather
    /// than sent in the evening. A provider without the notion sends it as
    /// any other.
    fn send_valid_for<'a>(
        &'a self,
        to: &'a str,
        body: &'a str,
        valid_for: Duration,
    ) -> SendFuture<'a> {
        let _ = valid_for;
        self.send(to, body)
    }

    /// Whether a message with exactly this body went to `to` on or after
    /// `since`: asked before re-sending one whose last attempt may have been
    /// accepted (the process stopped mid-send, or the answer was lost).
    fn find<'a>(
        &'a self,
        to: &'a str,
        body: &'a str,
        since: crate::clock::Instant,
    ) -> LookupFuture<'a>;

    /// A name for logs and timelines ("twilio", "recorded only").
    fn name(&self) -> &'static str;
}

/// The sender used when no SMS provider is configured: it sends nothing and
/// records what it would have sent, so the timeline still shows every step.
#[derive(Debug, Default)]
pub struct RecordingSender {
    sent: Mutex<Vec<(String, String)>>,
}

impl RecordingSender {
    /// Messages it was asked to send, as `(to, body)`.
    pub fn recorded(&self) -> Vec<(String, String)> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl SmsSender for RecordingSender {
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let mut sent = match self.sent.lock() {
                Ok(s) => s,
                Err(poisoned) => poisoned.into_inner(),
            };
            sent.push((to.to_owned(), body.to_owned()));
            SendOutcome::Accepted {
                provider_id: format!("RECORDED-{}", sent.len()),
            }
        })
    }

    fn find<'a>(
        &'a self,
        to: &'a str,
        body: &'a str,
        _since: crate::clock::Instant,
    ) -> LookupFuture<'a> {
        Box::pin(async move {
            let sent = self.recorded();
            match sent.iter().position(|(t, b)| t == to && b == body) {
                Some(i) => Lookup::Sent {
                    provider_id: format!("RECORDED-{}", i + 1),
                },
                None => Lookup::NotSent,
            }
        })
    }

    fn name(&self) -> &'static str {
        "recorded only (no SMS provider configured)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_undelivered_and_failed_mean_the_text_did_not_arrive() {
        assert!(delivery_failed("undelivered"));
        assert!(delivery_failed("failed"));
        assert!(delivery_failed("bounced"));
        for status in ["queued", "sending", "sent", "delivered", "read", "accepted"] {
            assert!(!delivery_failed(status), "{status}");
        }
    }
}
