//! The demo's SMS provider: simulated phones, where Twilio would be.
//!
//! Outbound, it is an [`SmsSender`] like the Twilio client: the engine's
//! outbox sends through it, and each text lands in the recipient's phone
//! on the demo page instead of a real handset. Inbound, a text typed into
//! a phone on the page is kept here as that phone's own message and handed
//! to the same intake a signed webhook reaches (see `routes`).
//! Nothing in the engine knows the difference.
//!
//! Every change (a text either way, a move of the clock) bumps a counter
//! that the page's live updates watch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::channels::{Lookup, LookupFuture, SendFuture, SendOutcome, SmsSender};
use crate::clock::{Clock, Instant};

/// Which way a text went, seen from the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Nightingale sent it to this phone.
    Received,
    /// Someone typed it on this phone and sent it to Nightingale.
    Sent,
}

/// One text in a phone.
#[derive(Debug, Clone)]
pub struct Text {
    /// When it arrived or left, on the demo clock.
    pub at: Instant,
    /// Which way it went.
    pub direction: Direction,
    /// What it said.
    pub body: String,
    /// The provider's id for a text Nightingale sent (`DEMO-n`).
    id: String,
}

/// The simulated phones: every text sent to or typed on each number.
pub struct DemoPhones {
    clock: Arc<dyn Clock>,
    texts: Mutex<Texts>,
    changes: watch::Sender<u64>,
}

#[derive(Default)]
struct Texts {
    by_number: HashMap<String, Vec<Text>>,
    sent: u64,
}

impl DemoPhones {
    /// Phones whose texts are stamped with `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            texts: Mutex::default(),
            changes: watch::Sender::new(0),
        }
    }

    fn texts(&self) -> MutexGuard<'_, Texts> {
        self.texts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The texts in the phone with this number (E.164), oldest first.
    pub fn texts_of(&self, number: &str) -> Vec<Text> {
        self.texts()
            .by_number
            .get(number)
            .cloned()
            .unwrap_or_default()
    }

    /// Every number that has sent or received a text.
    pub fn numbers(&self) -> Vec<String> {
        let mut numbers: Vec<String> = self.texts().by_number.keys().cloned().collect();
        numbers.sort();
        numbers
    }

    /// Keep a text typed on the phone with this number, as sent.
    pub fn typed(&self, number: &str, body: &str) {
        let at = self.clock.now();
        self.texts()
            .by_number
            .entry(number.to_owned())
            .or_default()
            .push(Text {
                at,
                direction: Direction::Sent,
                body: body.to_owned(),
                id: String::new(),
            });
        self.changed();
    }

    /// Tell whoever watches that something on the page changed.
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    /// A receiver that sees every change.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

impl SmsSender for DemoPhones {
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let at = self.clock.now();
            let id = {
                let mut texts = self.texts();
                texts.sent += 1;
                let id = format!("DEMO-{}", texts.sent);
                texts
                    .by_number
                    .entry(to.to_owned())
                    .or_default()
                    .push(Text {
                        at,
                        direction: Direction::Received,
                        body: body.to_owned(),
                        id: id.clone(),
                    });
                id
            };
            self.changed();
            SendOutcome::Accepted { provider_id: id }
        })
    }

    fn find<'a>(&'a self, to: &'a str, body: &'a str, since: Instant) -> LookupFuture<'a> {
        Box::pin(async move {
            let found = self.texts().by_number.get(to).and_then(|texts| {
                texts
                    .iter()
                    .find(|t| t.direction == Direction::Received && t.body == body && t.at >= since)
                    .map(|t| t.id.clone())
            });
            match found {
                Some(provider_id) => Lookup::Sent { provider_id },
                None => Lookup::NotSent,
            }
        })
    }

    fn name(&self) -> &'static str {
        "demo phones (nothing leaves this machine)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[tokio::test]
    async fn a_text_sent_lands_in_the_recipients_phone_and_can_be_found_again() {
        let start: Instant = "2026-11-27T19:05:00Z".parse().unwrap();
        let phones = DemoPhones::new(Arc::new(ManualClock::new(start)));
        let changes = phones.changes();
        let outcome = phones.send("+447700900303", "Page: Leo. Reply A1").await;
        assert_eq!(
            outcome,
            SendOutcome::Accepted {
                provider_id: "DEMO-1".to_owned()
            }
        );
        assert!(changes.has_changed().unwrap(), "the page is told");
        let texts = phones.texts_of("+447700900303");
        assert_eq!(texts.len(), 1);
        assert_eq!(texts[0].direction, Direction::Received);
        assert_eq!(
            phones
                .find("+447700900303", "Page: Leo. Reply A1", start)
                .await,
            Lookup::Sent {
                provider_id: "DEMO-1".to_owned()
            }
        );
        assert_eq!(
            phones
                .find("+447700900311", "Page: Leo. Reply A1", start)
                .await,
            Lookup::NotSent
        );
        phones.typed("+447700900303", "A1");
        assert_eq!(
            phones.texts_of("+447700900303")[1].direction,
            Direction::Sent
        );
        assert_eq!(phones.numbers(), ["+447700900303"]);
    }
}
