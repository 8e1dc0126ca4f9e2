//! The demo's email provider: simulated inboxes, where the mail server
//! would be.
//!
//! Outbound, it is an [`EmailSender`] like lettre's SMTP sender: the
//! engine's outbox sends through it, and each email lands in the
//! recipient's inbox on the demo page instead of a real mailbox. Inbound,
//! an email written in an inbox on the page is kept here as that inbox's
//! own message and stored as the SMTP listener stores one (see
//! `routes`). Nothing in the engine knows the difference.
//!
//! A change (an email either way) bumps the same counter as the phones,
//! which the page's live updates watch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{DemoPhones, Direction};
use crate::channels::email::{EmailSender, OutgoingEmail};
use crate::channels::{SendFuture, SendOutcome};
use crate::clock::{Clock, Instant};

/// The domain our emails come from in the demo, and that replies and
/// bounces go back to: a reserved one (RFC 2606), so nothing can leave.
pub const OUR_DOMAIN: &str = "demo.nightingale.invalid";

/// One email in an inbox.
#[derive(Debug, Clone)]
pub struct Email {
    /// When it arrived or left, on the demo clock.
    pub at: Instant,
    /// Which way it went.
    pub direction: Direction,
    /// Who it was from (`From`) or, for one written here, to.
    pub other: String,
    /// Where a reply goes, for one Nightingale sent with a reply address.
    pub reply_to: Option<String>,
    /// Its subject.
    pub subject: String,
    /// Its plain text part.
    pub text: String,
    /// Its `Message-ID`, for one Nightingale sent.
    id: String,
}

/// The simulated inboxes: every email sent to or written from each address.
pub struct DemoMailbox {
    clock: Arc<dyn Clock>,
    phones: Arc<DemoPhones>,
    by_address: Mutex<HashMap<String, Vec<Email>>>,
}

impl DemoMailbox {
    /// Inboxes whose emails are stamped with `clock`, telling the page of
    /// each change through `phones`' counter.
    pub fn new(clock: Arc<dyn Clock>, phones: Arc<DemoPhones>) -> Self {
        Self {
            clock,
            phones,
            by_address: Mutex::default(),
        }
    }

    fn inboxes(&self) -> MutexGuard<'_, HashMap<String, Vec<Email>>> {
        self.by_address.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The emails in the inbox of this address, oldest first.
    pub fn emails_of(&self, address: &str) -> Vec<Email> {
        self.inboxes()
            .get(&address.to_lowercase())
            .cloned()
            .unwrap_or_default()
    }

    /// Every address that has sent or received an email.
    pub fn addresses(&self) -> Vec<String> {
        let mut addresses: Vec<String> = self.inboxes().keys().cloned().collect();
        addresses.sort();
        addresses
    }

    /// Keep an email written in the inbox of `from` to `to`, as sent.
    pub fn written(&self, from: &str, to: &str, subject: &str, text: &str) {
        let at = self.clock.now();
        self.inboxes()
            .entry(from.to_lowercase())
            .or_default()
            .push(Email {
                at,
                direction: Direction::Sent,
                other: to.to_owned(),
                reply_to: None,
                subject: subject.to_owned(),
                text: text.to_owned(),
                id: String::new(),
            });
        self.phones.changed();
    }
}

impl EmailSender for DemoMailbox {
    fn send<'a>(&'a self, mail: &'a OutgoingEmail) -> SendFuture<'a> {
        Box::pin(async move {
            let at = self.clock.now();
            let mut inboxes = self.inboxes();
            let inbox = inboxes.entry(mail.to.to_lowercase()).or_default();
            // A retry carries the same Message-ID: shown once, as a mail
            // server that got it twice would.
            if inbox.iter().all(|e| e.id != mail.message_id) {
                inbox.push(Email {
                    at,
                    direction: Direction::Received,
                    other: mail.from.clone(),
                    reply_to: mail.body.reply_to.clone(),
                    subject: mail.body.subject.clone(),
                    text: mail.body.text.clone(),
                    id: mail.message_id.clone(),
                });
            }
            drop(inboxes);
            self.phones.changed();
            SendOutcome::Accepted {
                provider_id: mail.message_id.clone(),
            }
        })
    }

    fn name(&self) -> &'static str {
        "demo mailbox (nothing leaves this machine)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::email::EmailBody;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn an_email_sent_lands_in_the_recipients_inbox_once_however_often_it_is_retried() {
        let start: Instant = "2026-11-27T21:05:00Z".parse().unwrap();
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start));
        let phones = Arc::new(DemoPhones::new(Arc::clone(&clock)));
        let changes = phones.changes();
        let mailbox = DemoMailbox::new(clock, phones);
        let mail = OutgoingEmail {
            envelope_from: format!("bounce+1.tag@{OUR_DOMAIN}"),
            from: format!("Nightingale <nightingale@{OUR_DOMAIN}>"),
            to: "Rhys.Davies@home.demo.invalid".to_owned(),
            message_id: format!("1.tag@{OUR_DOMAIN}"),
            thread: None,
            date: start,
            body: EmailBody {
                subject: "Your message about Arthur".to_owned(),
                text: "Dr Patel has the message and will be in touch.".to_owned(),
                html: String::new(),
                reply_to: None,
            },
        };
        for _ in 0..2 {
            assert_eq!(
                mailbox.send(&mail).await,
                SendOutcome::Accepted {
                    provider_id: mail.message_id.clone()
                }
            );
        }
        assert!(changes.has_changed().unwrap(), "the page is told");
        let inbox = mailbox.emails_of("rhys.davies@home.demo.invalid");
        assert_eq!(
            inbox.len(),
            1,
            "a retry under the same Message-ID shows once"
        );
        assert_eq!(inbox[0].direction, Direction::Received);
        assert_eq!(inbox[0].subject, "Your message about Arthur");
        mailbox.written(
            "rhys.davies@home.demo.invalid",
            &format!("nightingale@{OUR_DOMAIN}"),
            "Dad",
            "Thank you",
        );
        assert_eq!(
            mailbox.emails_of("rhys.davies@home.demo.invalid")[1].direction,
            Direction::Sent
        );
        assert_eq!(mailbox.addresses(), ["rhys.davies@home.demo.invalid"]);
    }
}
