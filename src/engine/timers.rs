//! Timers: what falls due (an acknowledgement deadline, a handover, a
//! reminder, a forward of held messages) becomes an event for its concern.
//!
//! Every timer lives in the store, indexed by when it falls due, so a
//! restart or another node picks it up. This stage fires those due now,
//! earliest first, each in its own change that also removes (or re-arms)
//! it, and records how late each fired. Timers of different concerns fire
//! side by side (up to [`AT_ONCE`]), so their store writes share commits
//! and round trips; one concern's timers fire one after another, in order.

use crate::clock::Instant;
use crate::escalation::Event;
use crate::store;
use crate::timeline::TimelineEvent;
use crate::work::{Change, ClaimOf, Claimed, Timer, TimerKind};

use super::stats::Stats;
use super::{BATCH, EngineResult, LEASE, Parts, advance, exhausted, record, side_by_side};

/// How many concerns' timers fire at once. Each waits mostly on the store;
/// side by side, SQLite commits their changes together and Redis overlaps
/// their round trips, so a busy minute of deadlines does not queue.
const AT_ONCE: usize = 32;

/// Fire the timers due at `now`, earliest first; returns how many.
pub(super) async fn fire_due(parts: &Parts, stats: &Stats, now: Instant) -> EngineResult<usize> {
    let node = parts.node.clone();
    let due = store::blocking(&parts.store, move |s| {
        s.claim_of::<Timer>(&node, now, LEASE, BATCH)
    })
    .await?;
    // Renewed on the leases' own task until every one is finished.
    let _held = parts.leases.hold(due.iter().map(|c| &c.claim));
    let count = due.len();
    side_by_side(
        due,
        |c| c.item.concern,
        AT_ONCE,
        |claimed| fire_claimed(parts, stats, claimed, now),
    )
    .await?;
    Ok(count)
}

/// Fire one claimed timer and write what it changed, ending the claim.
async fn fire_claimed(
    parts: &Parts,
    stats: &Stats,
    Claimed { claim, item: timer }: Claimed<Timer>,
    now: Instant,
) -> EngineResult<()> {
    stats.record_lateness(parts.clock.now() - timer.due_at);
    let what = format!("{:?} timer of concern {}", timer.kind, timer.concern);
    let mut aside = Change {
        at: now,
        ..Change::default()
    };
    if let Some(reason) = exhausted(&claim) {
        // Whoever looks at the concern sees why a step did not happen.
        record(
            &mut aside,
            timer.concern,
            now,
            TimelineEvent::note(parts.templates.render(
                "notes/set_aside.txt",
                minijinja::context! { kind => timer.kind.as_str(), reason },
            )?),
        );
        return parts.set_aside(stats, claim, aside, &what, &reason).await;
    }
    let fired = fire(parts, timer, now).await;
    parts.finish(stats, claim, fired, aside, &what).await
}

/// What one timer falling due changes.
async fn fire(parts: &Parts, timer: Timer, now: Instant) -> EngineResult<Change> {
    let mut change = Change {
        at: now,
        ..Change::default()
    };
    let Some(mut concern) = parts.concern(timer.concern).await? else {
        return Ok(change);
    };
    let event = match timer.kind {
        TimerKind::Contact => {
            advance::contacts_due(parts, &mut concern, now, &mut change).await?;
            return Ok(change);
        }
        TimerKind::Recordings => {
            advance::recordings_due(parts, &mut concern, now, &mut change).await?;
            return Ok(change);
        }
        TimerKind::AckDeadline => Event::AckDeadline { seq: timer.seq },
        TimerKind::Handover => Event::Handover,
        TimerKind::Reminder => Event::ReminderDue,
        TimerKind::Forward => Event::ForwardDue,
    };
    let enrolment = parts.enrolment_of(&concern).await?;
    advance::event(
        parts,
        &mut concern,
        enrolment.as_ref(),
        event,
        now,
        &mut change,
    )
    .await?;
    Ok(change)
}
