//! What leaves: a text, a call or an email waiting to be sent
//! ([`NewOutbox`], [`OutboxItem`]) and what became of an attempt
//! ([`OutboxOutcome`]). Why it is sent ([`crate::timeline::Purpose`]) lives
//! with the timeline, which records it. The engine's dispatcher sends them.
//!
//! Two rules say in what order: the [`Lane`] a message waits in (one
//! person's texts go out in the order they were queued) and its
//! [`Priority`] (a page never waits behind a welcome). Both are decided
//! here, from the message alone; the store backends only keep and order
//! by what these give (docs/adr/0031).

use crate::clock::Instant;
use crate::concern::ConcernId;
use crate::directory::{Address, Id};
use crate::timeline::Purpose;

/// A message to send: a text, a call or an email (ADR 15).
#[derive(Clone, PartialEq, Eq)]
pub struct NewOutbox {
    /// The concern it belongs to, if any.
    pub concern: Option<ConcernId>,
    /// To whom: a number, or an email address (stored as
    /// [`crate::directory::Address::key`]).
    pub to: Address,
    /// The text, rendered.
    pub body: String,
    /// Why.
    pub purpose: Purpose,
    /// The member of staff it is for, if any.
    pub staff: Option<Id>,
    /// A label for timelines ("patient", "Chen Li").
    pub recipient: String,
    /// For a page: the concern's escalation step (its deadline's `seq`) when
    /// it was paged. Once the concern moves on, a page not yet sent is dropped.
    pub step: Option<u64>,
}

impl std::fmt::Debug for NewOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOutbox")
            .field("concern", &self.concern)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

impl NewOutbox {
    /// The lane this message waits in (see [`Lane`]).
    pub fn lane(&self) -> Lane {
        Lane::of(&self.to, self.concern, self.staff.as_ref())
    }

    /// How soon it must go, beside other messages (see [`Priority`]).
    pub fn priority(&self) -> Priority {
        Priority::of(self.purpose)
    }
}

/// How soon a message must go, beside others waiting: the outbox hands out
/// the most urgent lanes first, and only [`Priority::Bulk`] waits for the
/// send budget to have room beyond what more urgent texts need. A lane
/// goes at the priority of the most urgent message in it, so a page or an
/// answer never waits behind a welcome to the same person for longer than
/// that one text takes (per-person order is kept).
///
/// Stored as [`Priority::rank`] (0 first); ordered by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// Pages, call pages, a patient's later words forwarded to whoever has
    /// their concern, and answers to the person who just wrote (that we
    /// have their message, who has it, that STOP worked).
    Urgent,
    /// Confirmations and notices to staff (you have concern 1, it is
    /// taken, a reminder, a sign-in code, a check-in went unanswered).
    Prompt,
    /// Texts that can wait minutes: welcomes, check-ins, review
    /// reminders, morning handovers, gap alerts; and deleting recordings
    /// at the provider.
    Bulk,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 3] = [Priority::Urgent, Priority::Prompt, Priority::Bulk];

    /// The priority of a message sent for `purpose`: the one rule.
    pub fn of(purpose: Purpose) -> Priority {
        match purpose {
            Purpose::Page
            | Purpose::CallPage
            | Purpose::CallBack
            | Purpose::Forward
            | Purpose::Notice
            | Purpose::OptOut => Priority::Urgent,
            Purpose::StaffNotice | Purpose::SignInCode => Priority::Prompt,
            Purpose::Welcome
            | Purpose::CheckIn
            | Purpose::ReviewReminder
            | Purpose::Handover
            | Purpose::GapAlert
            | Purpose::DeleteRecording => Priority::Bulk,
        }
    }

    /// As stored and ordered: 0 for [`Priority::Urgent`], 1, 2.
    pub fn rank(self) -> u8 {
        match self {
            Priority::Urgent => 0,
            Priority::Prompt => 1,
            Priority::Bulk => 2,
        }
    }

    /// The priority stored as `rank`.
    pub fn from_rank(rank: u8) -> Option<Priority> {
        Self::ALL.into_iter().find(|p| p.rank() == rank)
    }

    /// As `/metrics` labels it: `urgent`, `prompt`, `bulk`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::Prompt => "prompt",
            Priority::Bulk => "bulk",
        }
    }
}

/// The queue a message waits in. Messages in one lane go out one at a
/// time, in the order they were queued: the earliest unsent one (also
/// while it waits for a retry) holds back the next. A patient's or carer's
/// messages share one lane, their address's, so they arrive in order; a
/// clinician's have one per concern, so a page that hangs holds up no
/// other patient's page to the same clinician.
///
/// A clinician's text about no concern (a handover, a gap alert, help)
/// shares the lane of everything else to their number about no concern.
///
/// This is the rule; the backends keep it. SQLite stores each item's
/// [`Lane::concern`] (`outbox.lane_concern`); Redis keeps a queue per lane
/// (`lane_of` in `store/redis/scripts/common.lua`); a test on each
/// backend checks it agrees with [`Lane::of`] on many random messages.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Lane {
    /// The address the messages go to.
    pub to: Address,
    /// For a clinician's messages, the concern they are about.
    pub concern: Option<ConcernId>,
}

impl Lane {
    /// The lane of a message to `to` about `concern`, for the member of
    /// staff `staff` if it is one.
    pub fn of(to: &Address, concern: Option<ConcernId>, staff: Option<&Id>) -> Lane {
        Lane {
            to: to.clone(),
            concern: staff.and(concern),
        }
    }
}

/// An SMS waiting to be sent.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Its id.
    pub id: i64,
    /// What to send.
    pub message: NewOutbox,
    /// Attempts so far.
    pub attempts: u32,
    /// When it may next be tried.
    pub due_at: Instant,
    /// When it was put in the outbox.
    pub queued_at: Instant,
    /// The provider's id, once accepted.
    pub provider_id: Option<String>,
    /// It may have been handed to the provider without the outcome being
    /// recorded: it was claimed before and no outcome was written (the node
    /// stopped, or gave it back, mid-send), or it was stored in flight by an
    /// earlier, single-node version. Ask the provider before sending it again.
    pub in_flight: bool,
    /// The priority it goes at: its own ([`NewOutbox::priority`]), or a
    /// more urgent one that a text queued behind it in its lane lent it.
    pub priority: Priority,
}

impl std::fmt::Debug for OutboxItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxItem")
            .field("id", &self.id)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// What became of a send attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    /// The provider accepted it.
    Sent {
        /// The outbox item.
        id: i64,
        /// The provider's id for it.
        provider_id: String,
    },
    /// Try again at `at`.
    Retry {
        /// The outbox item.
        id: i64,
        /// When.
        at: Instant,
    },
    /// Give up: the provider refused it for good.
    Failed {
        /// The outbox item.
        id: i64,
    },
    /// Not sent, and no longer wanted (a page for a concern that moved on).
    Cancelled {
        /// The outbox item.
        id: i64,
    },
}

impl OutboxOutcome {
    /// The outbox item it is the outcome of.
    pub fn id(&self) -> i64 {
        match self {
            OutboxOutcome::Sent { id, .. }
            | OutboxOutcome::Retry { id, .. }
            | OutboxOutcome::Failed { id }
            | OutboxOutcome::Cancelled { id } => *id,
        }
    }
}

/// What the backends' lane property tests draw from (SQLite's in
/// `store/sqlite/tests.rs`, Redis's in `store/redis/rules_agree.rs`): a
/// few addresses, two concerns, one clinician, and messages among them.
#[cfg(test)]
pub(crate) struct LaneCases {
    /// Two numbers and an email address.
    pub addresses: [Address; 3],
    /// Two concerns.
    pub concerns: [ConcernId; 2],
    /// A clinician.
    pub staff: Id,
}

#[cfg(test)]
impl LaneCases {
    /// Fresh cases.
    pub(crate) fn new() -> Self {
        Self {
            addresses: [
                "+447700900001",
                "+447700900002",
                "mailto:nurse@example.nhs.uk",
            ]
            .map(|k| Address::from_key(k).unwrap()),
            concerns: [ConcernId::new(), ConcernId::new()],
            staff: Id::parse("chen").unwrap(),
        }
    }

    /// Lists of `sizes` messages, each as indexes: its address, its
    /// concern if any, and whether it is for the clinician.
    pub(crate) fn messages(
        &self,
        sizes: std::ops::Range<usize>,
    ) -> impl proptest::strategy::Strategy<Value = Vec<(usize, Option<usize>, bool)>> {
        use proptest::prelude::*;
        let message = (
            0..self.addresses.len(),
            proptest::option::of(0..self.concerns.len()),
            any::<bool>(),
        );
        proptest::collection::vec(message, sizes)
    }

    /// The address, concern and member of staff a message's indexes name.
    pub(crate) fn message(
        &self,
        (to, concern, for_staff): (usize, Option<usize>, bool),
    ) -> (&Address, Option<ConcernId>, Option<&Id>) {
        (
            &self.addresses[to],
            concern.map(|c| self.concerns[c]),
            for_staff.then_some(&self.staff),
        )
    }
}
