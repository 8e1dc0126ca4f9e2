//! The demo's clock: real time, plus however far a viewer has moved it on.
//!
//! It is the injected [`Clock`] of a `serve --demo` process, so the
//! production engine loop runs on it. It ticks like the machine's clock,
//! and a viewer may move it forward ("+10 min", "skip to the next
//! deadline", "Friday 19:00") to watch an escalation without waiting. A
//! wait on it ([`Clock::sleep_until`]) ends when real time reaches the
//! instant or when a move carries the clock past it, whichever is first.
//! It never goes back: leases, deadlines and the timeline stay in order.

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use tokio::sync::watch;

use crate::clock::{Clock, Instant, Sleep};

/// Real time plus an offset that only grows. Cheap to clone; clones share
/// the offset.
#[derive(Debug, Clone)]
pub struct DemoClock {
    offset: Arc<watch::Sender<TimeDelta>>,
}

impl DemoClock {
    /// A clock that reads `start` now and ticks in real time from there
    /// (`start` may be in the past or the future).
    pub fn starting_at(start: Instant) -> Self {
        Self {
            offset: Arc::new(watch::Sender::new(start - Utc::now())),
        }
    }

    /// Move the clock forward by `by`; a move backwards is ignored.
    pub fn advance(&self, by: TimeDelta) {
        if by > TimeDelta::zero() {
            self.offset.send_modify(|offset| *offset += by);
        }
    }

    /// Move the clock forward to `to`, if that is ahead of it.
    pub fn advance_to(&self, to: Instant) {
        self.advance(to - self.now());
    }

    /// A receiver that sees every move (to tell viewers the time changed).
    pub fn moves(&self) -> watch::Receiver<TimeDelta> {
        self.offset.subscribe()
    }
}

impl Clock for DemoClock {
    fn now(&self) -> Instant {
        Utc::now() + *self.offset.borrow()
    }

    fn sleep_until(&self, at: Instant) -> Sleep<'_> {
        let mut moved = self.offset.subscribe();
        Box::pin(async move {
            loop {
                let Ok(wait) = (at - self.now()).to_std() else {
                    return;
                };
                if wait.is_zero() {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    // The sender lives as long as `self`: a move, not a close.
                    _ = moved.changed() => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reads_its_start_and_only_moves_forward() {
        let start: Instant = "2026-11-27T19:05:00Z".parse().unwrap();
        let clock = DemoClock::starting_at(start);
        let read = clock.now();
        assert!(
            read >= start && read - start < TimeDelta::seconds(5),
            "{read}"
        );
        clock.advance(TimeDelta::minutes(10));
        assert!(clock.now() - start >= TimeDelta::minutes(10));
        clock.advance(TimeDelta::minutes(-30));
        assert!(clock.now() - start >= TimeDelta::minutes(10), "never back");
        clock.advance_to(start);
        assert!(clock.now() - start >= TimeDelta::minutes(10), "never back");
    }

    #[tokio::test]
    async fn a_wait_ends_when_a_move_carries_the_clock_past_it() {
        let start: Instant = "2026-11-27T19:05:00Z".parse().unwrap();
        let clock = DemoClock::starting_at(start);
        let deadline = start + TimeDelta::minutes(10);
        let mover = clock.clone();
        let waited = tokio::spawn(async move {
            clock.sleep_until(deadline).await;
            clock.now()
        });
        tokio::task::yield_now().await;
        assert!(!waited.is_finished(), "ten minutes have not passed");
        mover.advance(TimeDelta::minutes(10));
        let woke = tokio::time::timeout(std::time::Duration::from_secs(5), waited)
            .await
            .expect("the move ends the wait at once")
            .unwrap();
        assert!(woke >= deadline);
    }
}
