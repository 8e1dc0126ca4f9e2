//! Timers: due timers become events.

use super::Engine;
use crate::clock::Instant;
use crate::escalation::Event;
use crate::store::{self, Change, Timer, TimerKind};

impl Engine {
    // ---- timers ---------------------------------------------------------------

    pub(super) async fn fire(&self, timer: Timer, now: Instant) -> anyhow::Result<Change> {
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
}
