//! The escalation state machine: pure, `(state, event, now, chain) -> (state, effects)`.
//!
//! It sends nothing, stores nothing and reads no clock: the engine gives it
//! the current instant and the chain [`crate::rota::Rota::resolve`] returns
//! for that instant, and turns the [`Effect`]s it returns into outbox items,
//! timers and timeline entries, written in one atomic step with the new
//! state. That is what makes a crash at any point harmless, and this module
//! testable without a clock, a store or a network.
//!
//! A concern is `Open` until someone accepts, then `Accepted` until someone
//! resolves it. While open it walks the chain: each level is paged and given
//! its `ack_within`; a level is paged again `repeat` times; the whole chain
//! is walked `repeat_chain + 1` times; then the trust-wide fallback is paged
//! (again and again) and the sender is told to call NHS 111, or 999 in an
//! emergency. Earlier pages stay valid: anyone paged may still accept.

pub mod redflag;
pub mod reply;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::clock::Instant;
use crate::directory::{Id, Staff};
use crate::rota::{Chain, ResolvedLevel, Rota};

/// A member of staff as the state machine needs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffRef {
    /// Their id in the rota.
    pub id: Id,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: String,
}

impl From<&Staff> for StaffRef {
    fn from(staff: &Staff) -> Self {
        Self {
            id: staff.id.clone(),
            name: staff.name.clone(),
            role: staff.role.clone(),
        }
    }
}

/// One level of the chain at the current instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelSnapshot {
    /// Who to page.
    pub people: Vec<StaffRef>,
    /// How long to wait for an accept.
    pub ack_within: TimeDelta,
    /// How many more times to page this level before moving on.
    pub repeat: u32,
}

/// The chain at the current instant, owned, as the state machine reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSnapshot {
    /// The service's levels (empty ones already filled by the fallback).
    pub levels: Vec<LevelSnapshot>,
    /// The trust-wide fallback.
    pub fallback: LevelSnapshot,
    /// How many more times to walk the chain before the fallback.
    pub chain_repeats: u32,
    /// When the chain may next change (a handover), if ever.
    pub valid_until: Option<Instant>,
}

impl ChainSnapshot {
    /// The chain for a concern routed to `service` at `now`, for a patient
    /// whose enrolment names `coordinator` (if it does): the service's own,
    /// led by the co-ordinator in their hours ([`Rota::resolve_for`]), or
    /// the trust-wide fallback alone for a concern with no service (or one
    /// the rota no longer has).
    pub fn at(rota: &Rota, service: Option<&Id>, coordinator: Option<&Id>, now: Instant) -> Self {
        match service.and_then(|s| rota.service(s.as_str())) {
            Some(ix) => Self::from_chain(&rota.resolve_for(ix, coordinator, now)),
            None => {
                let (fallback, valid_until) = rota.fallback_at(now);
                Self::fallback_only(&fallback, valid_until)
            }
        }
    }

    /// Snapshot a resolved chain.
    pub fn from_chain(chain: &Chain<'_>) -> Self {
        Self {
            levels: chain.levels.iter().map(level_snapshot).collect(),
            fallback: level_snapshot(&chain.fallback),
            chain_repeats: chain.service.chain_repeats,
            valid_until: chain.valid_until,
        }
    }

    /// A chain of the fallback alone (for senders Nightingale does not know).
    pub fn fallback_only(fallback: &ResolvedLevel<'_>, valid_until: Option<Instant>) -> Self {
        let fallback = level_snapshot(fallback);
        Self {
            levels: vec![fallback.clone()],
            fallback,
            chain_repeats: 0,
            valid_until,
        }
    }
}

fn level_snapshot(level: &ResolvedLevel<'_>) -> LevelSnapshot {
    LevelSnapshot {
        people: level.on_call.iter().map(|o| o.person.into()).collect(),
        ack_within: TimeDelta::from_std(level.level.ack_within).unwrap_or(TimeDelta::minutes(10)),
        repeat: level.level.repeat,
    }
}

/// Settings a trust may tune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Remind whoever accepted after this long without a resolve.
    pub remind_after: TimeDelta,
    /// The sender's later words go on to a clinician at most this often;
    /// what arrives in between is held and sent together, so one sender
    /// texting thirty times cannot bury the person on call.
    pub forward_every: TimeDelta,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            remind_after: TimeDelta::hours(2),
            forward_every: TimeDelta::minutes(1),
        }
    }
}

/// Where a concern stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Waiting for someone to accept.
    Open,
    /// Someone has it.
    Accepted {
        /// Who.
        by: StaffRef,
        /// When.
        at: Instant,
    },
    /// Closed.
    Resolved {
        /// Who resolved it.
        by: Option<StaffRef>,
        /// When.
        at: Instant,
        /// What they wrote.
        note: Option<String>,
    },
}

/// Which step of the chain is being paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Position {
    /// A level of the service's chain (0 is level 1), in some round, some attempt.
    Level {
        /// 0 for the first walk of the chain.
        round: u32,
        /// 0-based level index.
        level: usize,
        /// 0 for the first page of this level in this round.
        attempt: u32,
    },
    /// The trust-wide fallback, after the chain is exhausted.
    Fallback {
        /// How many times the fallback has been paged before.
        attempt: u32,
    },
}

/// A concern's escalation state: what is stored between events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// Open, accepted or resolved.
    pub status: Status,
    /// A red flag was found: levels 1 and 2 were paged at once.
    pub urgent: bool,
    /// The step being paged.
    pub position: Position,
    /// Bumped whenever the acknowledgement deadline is re-armed, so a stale timer is ignored.
    pub seq: u64,
    /// Everyone paged so far (and not yet told it is taken).
    pub paged: Vec<StaffRef>,
    /// People at the current step whose page could not be delivered.
    pub undeliverable: Vec<Id>,
    /// The sender has been told to call 111.
    pub advised_111: bool,
    /// Who accepted it and when: kept once it is resolved.
    #[serde(default)]
    pub accepted: Option<Accepted>,
    /// Who was told "taken" when it was accepted: they are told when it is resolved.
    #[serde(default)]
    pub told_taken: Vec<StaffRef>,
    /// When the sender's words last went out to clinicians (a page or a forward).
    #[serde(default)]
    pub forwarded_at: Option<Instant>,
    /// How many messages the sender has written, the first included.
    #[serde(default)]
    pub received: u32,
    /// How many of them have gone out to clinicians; the rest are held for a forward.
    #[serde(default)]
    pub sent_on: u32,
    /// Ways of reaching people paged that are still to be tried, each at
    /// its time, unless the concern is accepted first (`voice after 3m`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts_due: Vec<DueContact>,
}

/// A way of reaching someone paged, to be tried at `at` (see
/// [`crate::directory::Staff::after`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueContact {
    /// Who.
    pub staff: Id,
    /// Which of their contacts (its place in their list).
    pub index: usize,
    /// When.
    pub at: Instant,
    /// The escalation step they were paged at: once the concern moves on, it is not tried.
    pub step: u64,
}

/// Who accepted a concern, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// Who.
    pub by: StaffRef,
    /// When.
    pub at: Instant,
}

impl Escalation {
    /// A concern not yet paged.
    pub fn new(urgent: bool) -> Self {
        Self {
            status: Status::Open,
            urgent,
            position: Position::Level {
                round: 0,
                level: 0,
                attempt: 0,
            },
            seq: 0,
            paged: Vec::new(),
            undeliverable: Vec::new(),
            advised_111: false,
            accepted: None,
            told_taken: Vec::new(),
            forwarded_at: None,
            received: 0,
            sent_on: 0,
            contacts_due: Vec::new(),
        }
    }

    /// Whether messages are held, waiting for the next forward.
    pub fn holds_messages(&self) -> bool {
        self.received > self.sent_on
    }

    /// Whether it is still waiting for someone to accept.
    pub fn is_open(&self) -> bool {
        matches!(self.status, Status::Open)
    }

    /// Whether it is closed.
    pub fn is_resolved(&self) -> bool {
        matches!(self.status, Status::Resolved { .. })
    }
}

/// Something that happened to a concern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The concern was just opened: page the first step.
    Open,
    /// The sender wrote again.
    Message {
        /// What they wrote.
        text: String,
    },
    /// The acknowledgement deadline armed with this `seq` is due.
    AckDeadline {
        /// The deadline's sequence number.
        seq: u64,
    },
    /// A clinician accepted.
    Accept {
        /// Who.
        by: StaffRef,
    },
    /// A clinician took the sender's call live: they accept it, and the
    /// caller, who has just spoken to them, is not told someone will be
    /// in touch.
    TakeCall {
        /// Who.
        by: StaffRef,
    },
    /// A clinician passed it to the next step.
    Pass {
        /// Who.
        by: StaffRef,
    },
    /// A clinician resolved it.
    Resolve {
        /// Who.
        by: StaffRef,
        /// Their note.
        note: Option<String>,
    },
    /// A page to this person could not be delivered by any means.
    PageUndeliverable {
        /// Who.
        staff: Id,
    },
    /// The chain may have changed (a handover or the end of working hours).
    Handover,
    /// Time to remind whoever accepted.
    ReminderDue,
    /// Time to send on the messages held since the last forward.
    ForwardDue,
}

/// What the sender (and, for a carer, the patient) is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderNotice {
    /// Someone has the concern and will contact them on this number.
    AcceptedBy {
        /// Who, for the role patients read.
        staff: Id,
        /// Their name.
        name: String,
        /// Their role.
        role: String,
    },
    /// They have just spoken to this clinician on the phone: who that
    /// was, and what to do if they are worried again.
    SpokeTo {
        /// Who, for the role patients read.
        staff: Id,
        /// Their name.
        name: String,
        /// Their role.
        role: String,
    },
    /// Nobody has accepted yet: call NHS 111, or 999 in an emergency.
    Call111,
    /// It is resolved: what to do if they are still worried.
    Resolved {
        /// Who, for the role patients read.
        staff: Id,
        /// Who resolved it.
        name: String,
        /// Their role.
        role: String,
    },
}

/// What a member of staff is told (other than a page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffNotice {
    /// Someone else accepted a concern they were paged for.
    TakenBy {
        /// Who.
        name: String,
    },
    /// They replied to a concern someone else already has.
    AlreadyAccepted {
        /// Who has it.
        name: String,
    },
    /// They already accepted it.
    YouHaveIt,
    /// They accepted it a while ago and have not resolved it.
    Reminder,
    /// The concern was resolved by someone else.
    ResolvedBy {
        /// Who.
        name: String,
    },
    /// They tried to act on a concern that is closed.
    AlreadyResolved,
    /// Their accept worked: they have it now.
    YouAccepted,
    /// They took the sender's call, so the concern is theirs.
    YouTookCall,
    /// Their resolve worked: it is closed.
    YouResolved,
}

/// What the engine must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Page this person for the concern.
    Page {
        /// Who.
        staff: StaffRef,
        /// "level 1", "fallback"…
        step: String,
        /// Why it came to this step from the one before, when it did:
        /// what the page tells them ("Not accepted by the registrar in
        /// 10 min").
        after: Option<Escalated>,
    },
    /// Send on to this person the sender's messages after the first `skip`
    /// (counting the one that opened the concern).
    Forward {
        /// Who.
        staff: StaffRef,
        /// How many of the sender's messages went out before.
        skip: u32,
    },
    /// Tell the sender (and the patient, when a carer wrote).
    TellSender(SenderNotice),
    /// Tell a member of staff.
    TellStaff {
        /// Who.
        staff: StaffRef,
        /// What.
        notice: StaffNotice,
    },
    /// (Re-)arm the acknowledgement deadline.
    ArmAckDeadline {
        /// When.
        at: Instant,
        /// The sequence number it carries.
        seq: u64,
    },
    /// (Re-)arm the handover check.
    ArmHandover {
        /// When.
        at: Instant,
    },
    /// (Re-)arm the reminder.
    ArmReminder {
        /// When.
        at: Instant,
    },
    /// (Re-)arm the forward of held messages.
    ArmForward {
        /// When.
        at: Instant,
    },
    /// Cancel every timer of the concern.
    CancelTimers,
    /// Close the concern's pages: their codes may be reused.
    ClosePages,
    /// Record on the timeline.
    Record(crate::timeline::TimelineEvent),
}

/// Apply `event` at `now`, with `chain` the chain resolved at `now`.
pub fn step(
    state: &Escalation,
    event: Event,
    now: Instant,
    chain: &ChainSnapshot,
    policy: &Policy,
) -> (Escalation, Vec<Effect>) {
    let mut next = state.clone();
    let mut effects = Vec::new();
    use crate::timeline::TimelineEvent as T;
    let live = matches!(event, Event::TakeCall { .. });
    match (event, &state.status) {
        (Event::Open, Status::Open) => {
            next.position = Position::Level {
                round: 0,
                level: 0,
                attempt: 0,
            };
            page_current(&mut next, chain, None, &mut effects);
            if state.urgent && chain.levels.len() > 1 {
                next.position = Position::Level {
                    round: 0,
                    level: 1,
                    attempt: 0,
                };
                page_current(&mut next, chain, None, &mut effects);
            }
            arm_deadline(&mut next, now, chain, &mut effects);
            arm_handover(chain, &mut effects);
            // The page quotes the first message: it counts as sending it on.
            next.forwarded_at = Some(now);
            next.received = 1;
            next.sent_on = 1;
        }
        (Event::Open, _) => {}
        (Event::Message { .. }, Status::Open | Status::Accepted { .. }) => {
            let already_held = next.holds_messages();
            next.received += 1;
            if already_held {
                // A forward is already due: this message goes with it.
            } else {
                match next.forwarded_at {
                    Some(last) if now - last < policy.forward_every => {
                        effects.push(Effect::ArmForward {
                            at: last + policy.forward_every,
                        });
                    }
                    _ => forward(&mut next, now, chain, &mut effects),
                }
            }
        }
        (Event::Message { .. }, Status::Resolved { .. }) => {}
        (Event::ForwardDue, Status::Open | Status::Accepted { .. }) => {
            if next.holds_messages() {
                forward(&mut next, now, chain, &mut effects);
            }
        }
        (Event::ForwardDue, Status::Resolved { .. }) => {}
        (Event::AckDeadline { seq }, Status::Open) if seq == state.seq => {
            advance(&mut next, now, chain, &mut effects, Why::Deadline);
        }
        (Event::AckDeadline { .. }, _) => {}
        (Event::Accept { by } | Event::TakeCall { by }, Status::Open) => {
            next.status = Status::Accepted {
                by: by.clone(),
                at: now,
            };
            next.accepted = Some(Accepted {
                by: by.clone(),
                at: now,
            });
            effects.push(Effect::Record(T::Accepted {
                staff: by.id.clone(),
                name: by.name.clone(),
            }));
            effects.push(Effect::CancelTimers);
            effects.push(Effect::ClosePages);
            let (notice, told) = if live {
                let told = SenderNotice::SpokeTo {
                    staff: by.id.clone(),
                    name: by.name.clone(),
                    role: by.role.clone(),
                };
                (StaffNotice::YouTookCall, told)
            } else {
                let told = SenderNotice::AcceptedBy {
                    staff: by.id.clone(),
                    name: by.name.clone(),
                    role: by.role.clone(),
                };
                (StaffNotice::YouAccepted, told)
            };
            effects.push(Effect::TellStaff {
                staff: by.clone(),
                notice,
            });
            effects.push(Effect::TellSender(told));
            next.told_taken = state
                .paged
                .iter()
                .filter(|p| p.id != by.id)
                .cloned()
                .collect();
            for other in &next.told_taken {
                effects.push(Effect::TellStaff {
                    staff: other.clone(),
                    notice: StaffNotice::TakenBy {
                        name: by.name.clone(),
                    },
                });
            }
            next.paged.clear();
            effects.push(Effect::ArmReminder {
                at: now + policy.remind_after,
            });
            // Messages held for a forward now go to whoever accepted.
            if next.holds_messages() {
                let at = next
                    .forwarded_at
                    .map_or(now, |t| (t + policy.forward_every).max(now));
                effects.push(Effect::ArmForward { at });
            }
        }
        (
            Event::Accept { by } | Event::TakeCall { by } | Event::Pass { by },
            Status::Accepted { by: holder, .. },
        ) => {
            let notice = if holder.id == by.id {
                StaffNotice::YouHaveIt
            } else {
                StaffNotice::AlreadyAccepted {
                    name: holder.name.clone(),
                }
            };
            effects.push(Effect::TellStaff { staff: by, notice });
        }
        (
            Event::Accept { by }
            | Event::TakeCall { by }
            | Event::Pass { by }
            | Event::Resolve { by, .. },
            Status::Resolved { .. },
        ) => {
            effects.push(Effect::TellStaff {
                staff: by,
                notice: StaffNotice::AlreadyResolved,
            });
        }
        (Event::Pass { by }, Status::Open) => {
            effects.push(Effect::Record(T::Passed {
                staff: by.id.clone(),
                name: by.name.clone(),
            }));
            advance(&mut next, now, chain, &mut effects, Why::Passed(&by));
        }
        (Event::Resolve { by, note }, Status::Open | Status::Accepted { .. }) => {
            next.status = Status::Resolved {
                by: Some(by.clone()),
                at: now,
                note: note.clone(),
            };
            effects.push(Effect::Record(T::Resolved {
                staff: Some(by.id.clone()),
                name: Some(by.name.clone()),
                note,
            }));
            effects.push(Effect::CancelTimers);
            effects.push(Effect::ClosePages);
            effects.push(Effect::TellStaff {
                staff: by.clone(),
                notice: StaffNotice::YouResolved,
            });
            effects.push(Effect::TellSender(SenderNotice::Resolved {
                staff: by.id.clone(),
                name: by.name.clone(),
                role: by.role.clone(),
            }));
            // Everyone still paged, everyone told "taken", and whoever
            // accepted (if someone else resolved it) hears that it is closed.
            let mut told: Vec<&StaffRef> = Vec::new();
            let holder = state.accepted.as_ref().map(|a| &a.by);
            for other in state.paged.iter().chain(&state.told_taken).chain(holder) {
                if other.id != by.id && !told.iter().any(|t| t.id == other.id) {
                    told.push(other);
                    effects.push(Effect::TellStaff {
                        staff: other.clone(),
                        notice: StaffNotice::ResolvedBy {
                            name: by.name.clone(),
                        },
                    });
                }
            }
            next.paged.clear();
            next.told_taken.clear();
            // Held messages are on the timeline; nobody needs them sent on now.
            next.sent_on = next.received;
        }
        (Event::PageUndeliverable { staff }, Status::Open) => {
            if !next.undeliverable.contains(&staff) {
                next.undeliverable.push(staff);
            }
            let here = people_at(next.position, chain);
            if here.iter().all(|p| next.undeliverable.contains(&p.id)) {
                advance(&mut next, now, chain, &mut effects, Why::Unreachable);
            }
        }
        (Event::PageUndeliverable { .. }, _) => {}
        (Event::Handover, Status::Open) => {
            let label = step_label(next.position);
            for staff in people_at(next.position, chain).to_vec() {
                if !next.paged.iter().any(|p| p.id == staff.id) {
                    effects.push(Effect::Record(T::Handover {
                        staff: staff.id.clone(),
                        name: staff.name.clone(),
                    }));
                    page(&mut next, &staff, &label, None, &mut effects);
                }
            }
            arm_handover(chain, &mut effects);
        }
        (Event::Handover, _) => {}
        (Event::ReminderDue, Status::Accepted { by, .. }) => {
            effects.push(Effect::Record(T::Reminded {
                staff: by.id.clone(),
                name: by.name.clone(),
            }));
            effects.push(Effect::TellStaff {
                staff: by.clone(),
                notice: StaffNotice::Reminder,
            });
            effects.push(Effect::ArmReminder {
                at: now + policy.remind_after,
            });
        }
        (Event::ReminderDue, _) => {}
    }
    (next, effects)
}

/// Why a concern moved on from one step to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Escalated {
    /// Nobody at the step before accepted within its time.
    NotAccepted {
        /// Who was paged at that step.
        before: Vec<StaffRef>,
        /// How long they had.
        within: TimeDelta,
    },
    /// Someone at the step before passed it on.
    Passed {
        /// Who.
        by: StaffRef,
    },
    /// Nobody at the step before could be reached.
    Unreachable {
        /// Who was tried.
        before: Vec<StaffRef>,
    },
}

/// Why a concern moves on, as [`advance`] is told it.
enum Why<'a> {
    /// Its deadline passed.
    Deadline,
    /// Someone passed it on.
    Passed(&'a StaffRef),
    /// Nobody at this step could be reached.
    Unreachable,
}

/// Move to the next step and page it.
fn advance(
    state: &mut Escalation,
    now: Instant,
    chain: &ChainSnapshot,
    effects: &mut Vec<Effect>,
    why: Why<'_>,
) {
    let before = people_at(state.position, chain).to_vec();
    let (reason, after) = match why {
        Why::Deadline => (
            "no one accepted in time".to_owned(),
            Escalated::NotAccepted {
                before,
                within: ack_within(state.position, chain),
            },
        ),
        Why::Passed(by) => (
            format!("{} passed it on", by.name),
            Escalated::Passed { by: by.clone() },
        ),
        Why::Unreachable => (
            "no one at this step could be reached".to_owned(),
            Escalated::Unreachable { before },
        ),
    };
    let levels = chain.levels.len();
    state.position = match state.position {
        Position::Level {
            round,
            level,
            attempt,
        } => {
            let level = level.min(levels.saturating_sub(1));
            let repeat = chain.levels.get(level).map_or(0, |l| l.repeat);
            if attempt < repeat {
                Position::Level {
                    round,
                    level,
                    attempt: attempt + 1,
                }
            } else if level + 1 < levels {
                Position::Level {
                    round,
                    level: level + 1,
                    attempt: 0,
                }
            } else if round < chain.chain_repeats {
                Position::Level {
                    round: round + 1,
                    level: 0,
                    attempt: 0,
                }
            } else {
                Position::Fallback { attempt: 0 }
            }
        }
        Position::Fallback { attempt } => Position::Fallback {
            attempt: attempt + 1,
        },
    };
    state.undeliverable.clear();
    effects.push(Effect::Record(crate::timeline::TimelineEvent::Escalated {
        to: step_label(state.position),
        reason,
    }));
    page_current(state, chain, Some(&after), effects);
    if matches!(state.position, Position::Fallback { .. }) && !state.advised_111 {
        state.advised_111 = true;
        effects.push(Effect::TellSender(SenderNotice::Call111));
        effects.push(Effect::Record(crate::timeline::TimelineEvent::Advised111));
    }
    arm_deadline(state, now, chain, effects);
}

/// Send on what the sender wrote since the last forward: to whoever has
/// the concern, or to the people paged at the current step.
fn forward(state: &mut Escalation, now: Instant, chain: &ChainSnapshot, effects: &mut Vec<Effect>) {
    let recipients = match &state.status {
        Status::Accepted { by, .. } => vec![by.clone()],
        _ => people_at(state.position, chain).to_vec(),
    };
    for staff in recipients {
        effects.push(Effect::Forward {
            staff,
            skip: state.sent_on,
        });
    }
    state.sent_on = state.received;
    state.forwarded_at = Some(now);
}

/// Whether a page sent while the concern's deadline carried `seq` is
/// still wanted: the concern is waiting for someone and has not moved on
/// to another step since. A page that has not gone out by then is dropped.
pub fn page_still_wanted(state: &Escalation, seq: u64) -> bool {
    state.is_open() && state.seq == seq
}

fn people_at(position: Position, chain: &ChainSnapshot) -> &[StaffRef] {
    match position {
        Position::Level { level, .. } => match chain.levels.get(level).or(chain.levels.last()) {
            Some(l) => &l.people,
            None => &chain.fallback.people,
        },
        Position::Fallback { .. } => &chain.fallback.people,
    }
}

fn ack_within(position: Position, chain: &ChainSnapshot) -> TimeDelta {
    match position {
        Position::Level { level, .. } => {
            chain
                .levels
                .get(level)
                .or(chain.levels.last())
                .unwrap_or(&chain.fallback)
                .ack_within
        }
        Position::Fallback { .. } => chain.fallback.ack_within,
    }
}

/// "level 1", "level 2 (again)", "fallback".
pub fn step_label(position: Position) -> String {
    match position {
        Position::Level {
            round,
            level,
            attempt,
        } => {
            let again = if round > 0 || attempt > 0 {
                " (again)"
            } else {
                ""
            };
            format!("level {}{again}", level + 1)
        }
        Position::Fallback { attempt: 0 } => "fallback".to_owned(),
        Position::Fallback { .. } => "fallback (again)".to_owned(),
    }
}

fn page_current(
    state: &mut Escalation,
    chain: &ChainSnapshot,
    after: Option<&Escalated>,
    effects: &mut Vec<Effect>,
) {
    let label = step_label(state.position);
    for staff in people_at(state.position, chain).to_vec() {
        page(state, &staff, &label, after, effects);
    }
}

fn page(
    state: &mut Escalation,
    staff: &StaffRef,
    label: &str,
    after: Option<&Escalated>,
    effects: &mut Vec<Effect>,
) {
    if !state.paged.iter().any(|p| p.id == staff.id) {
        state.paged.push(staff.clone());
    }
    effects.push(Effect::Page {
        staff: staff.clone(),
        step: label.to_owned(),
        after: after.cloned(),
    });
}

fn arm_deadline(
    state: &mut Escalation,
    now: Instant,
    chain: &ChainSnapshot,
    effects: &mut Vec<Effect>,
) {
    state.seq += 1;
    effects.push(Effect::ArmAckDeadline {
        at: now + ack_within(state.position, chain),
        seq: state.seq,
    });
}

fn arm_handover(chain: &ChainSnapshot, effects: &mut Vec<Effect>) {
    if let Some(at) = chain.valid_until {
        effects.push(Effect::ArmHandover { at });
    }
}

#[cfg(test)]
mod tests;
