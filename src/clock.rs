//! Time as an input.
//!
//! Every rule in Nightingale (rota resolution, escalation deadlines) is a pure
//! function of `now`. The engine and the CLI read one injected [`Clock`]; tests
//! drive a [`ManualClock`] instead of sleeping on the wall clock. The engine
//! also waits on its clock ([`Clock::sleep_until`]), so under a manual clock
//! its loop wakes when a test moves time, not when real time passes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

/// A point on the UTC timeline. Local (Europe/London) time is derived from it
/// by the calendar, which builds on this module, and is never stored.
pub type Instant = DateTime<Utc>;

/// A wait on a clock, boxed so the trait stays object-safe.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The source of "now".
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;

    /// Complete once this clock reads `at` or later. By default, a sleep on
    /// the runtime's timer for the time between now and `at`.
    fn sleep_until(&self, at: Instant) -> Sleep<'_> {
        let wait = (at - self.now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(wait))
    }
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Utc::now()
    }
}

/// A clock that only moves when told to; cheap to clone, all clones share
/// one time. Waits on it ([`Clock::sleep_until`]) end when it is moved far
/// enough, however little real time passes.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<tokio::sync::watch::Sender<Instant>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Instant) -> Self {
        Self {
            now: Arc::new(tokio::sync::watch::Sender::new(start)),
        }
    }

    /// Move the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|now| *now += by);
    }

    /// Put the clock at `to` (which may be earlier, to model a corrected clock).
    pub fn set(&self, to: Instant) {
        self.now.send_replace(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: Instant) -> Sleep<'_> {
        let mut moved = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as `self`, which this borrows: the
            // wait ends only when the clock reaches `at`.
            let _ = moved.wait_for(|now| *now >= at).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_time() {
        let start = "2026-11-27T19:05:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        let other = clock.clone();
        assert_eq!(clock.now(), start);
        other.advance(Duration::minutes(10));
        assert_eq!(clock.now(), start + Duration::minutes(10));
    }

    #[tokio::test]
    async fn a_wait_on_a_manual_clock_ends_when_the_clock_is_moved_far_enough() {
        let start: Instant = "2026-11-27T19:05:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        let mut wait = clock.sleep_until(start + Duration::minutes(10));
        let poll = |wait: &mut Sleep<'_>| {
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            wait.as_mut().poll(&mut cx).is_ready()
        };
        assert!(!poll(&mut wait), "the clock has not moved");
        clock.advance(Duration::minutes(9));
        assert!(!poll(&mut wait), "nine minutes is not ten");
        clock.advance(Duration::minutes(1));
        assert!(poll(&mut wait), "ten minutes have passed on the clock");
        assert!(
            poll(&mut clock.sleep_until(start)),
            "a time already passed needs no wait"
        );
    }
}
