//! The phone line: what a patient or carer who calls hears at each step,
//! and what each step of a call tells the engine.
//!
//! A call is a series of webhooks from Twilio (answer, the end of each
//! `<Dial>`, the callee's key on the screen, the recording, the
//! transcription, the call's end). Each is stored as one [`CallStep`]
//! under the key `call:SID:STEP` before it is answered, so a retried
//! webhook is recognised and nothing a caller said is lost; intake then
//! turns the steps into a concern (`engine::calls`).
//!
//! What the caller hears next is worked out here from what the request
//! carries, the rota and the clock: [`Line::plan`] gives the people to ring
//! now, and [`next_ring`] says whether there is time to ring another
//! level before the caller is asked to leave a message. The words are in
//! `templates/twiml/`.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::clock::Instant;
use crate::directory::{ContactMethod, Id, Party, PhoneNumber};
use crate::escalation::ChainSnapshot;
use crate::rota::Rota;

/// How long one level is rung before the next is tried.
pub const RING: TimeDelta = TimeDelta::seconds(20);
/// Less time than this left of `live_for` is not worth ringing anyone for:
/// the caller is asked to leave a message instead.
pub const LEAST_RING: TimeDelta = TimeDelta::seconds(5);
/// How long a caller may speak after the tone.
pub const MESSAGE_SECONDS: u32 = 120;

/// One step of a phone call, as Twilio reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum CallStep {
    /// The call reached us (`POST /twilio/voice`).
    Answered {
        /// The number they called.
        to: String,
    },
    /// A `<Dial>` to one level ended (its `action`).
    Dialled {
        /// Which level was rung (1 is the first).
        level: u32,
        /// Twilio's `DialCallStatus`.
        status: String,
    },
    /// A callee pressed 1 on the screen: they take the call.
    Taken {
        /// Who.
        staff: Id,
    },
    /// The caller left a message (the `<Record>` action).
    Message {
        /// Twilio's `RecordingSid`.
        recording_sid: String,
        /// Twilio's `RecordingUrl` (fetched with the account's auth).
        recording_url: String,
        /// How long it is.
        seconds: u32,
    },
    /// The caller was asked for a message and left none.
    NoMessage,
    /// Twilio's transcription of the message arrived (or failed).
    Transcription {
        /// The words, when it worked.
        text: Option<String>,
    },
    /// The call ended (its status callback).
    Ended {
        /// Twilio's `CallStatus`: `completed`, `busy`, `no-answer`, …
        status: String,
    },
}

impl CallStep {
    /// The step's part of the idempotency key: one of each per call, one
    /// per level for a dial, one per final status.
    pub fn name(&self) -> String {
        match self {
            CallStep::Answered { .. } => "answered".to_owned(),
            CallStep::Dialled { level, .. } => format!("dialled:{level}"),
            CallStep::Taken { .. } => "taken".to_owned(),
            CallStep::Message { .. } => "message".to_owned(),
            CallStep::NoMessage => "no-message".to_owned(),
            CallStep::Transcription { .. } => "transcription".to_owned(),
            CallStep::Ended { status } => format!("ended:{status}"),
        }
    }
}

/// The idempotency key of one step of one call.
pub fn step_key(call: &str, step: &str) -> String {
    format!("call:{call}:{step}")
}

/// What Twilio's `CallStatus` values mean for a call that has ended.
pub fn call_ended(status: &str) -> bool {
    matches!(
        status,
        "completed" | "busy" | "no-answer" | "failed" | "canceled"
    )
}

/// Who is calling, as the screen and the greeting speak of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerKind {
    /// The enrolled patient.
    Patient,
    /// One of their carers.
    Carer,
    /// A number Nightingale does not know.
    Unknown,
}

impl CallerKind {
    /// From the party a number is.
    pub fn of(party: &Party) -> Self {
        match party {
            Party::Patient => CallerKind::Patient,
            Party::Carer { .. } => CallerKind::Carer,
            Party::Unknown => CallerKind::Unknown,
        }
    }

    /// As it travels in a step's URL.
    pub fn as_str(self) -> &'static str {
        match self {
            CallerKind::Patient => "patient",
            CallerKind::Carer => "carer",
            CallerKind::Unknown => "unknown",
        }
    }

    /// Back from a step's URL; anything else is unknown.
    pub fn parse(s: &str) -> Self {
        match s {
            "patient" => CallerKind::Patient,
            "carer" => CallerKind::Carer,
            _ => CallerKind::Unknown,
        }
    }
}

/// One person to ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callee {
    /// Who.
    pub staff: Id,
    /// The number to ring: the first they take calls on.
    pub number: PhoneNumber,
}

/// The people a caller may be put through to, level by level, at one
/// instant, and how long the caller may wait for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Level by level (the service's, then the trust fallback), each with
    /// those of its people who take calls.
    pub levels: Vec<Vec<Callee>>,
    /// How long a caller waits for a person before being asked to leave a message.
    pub live_for: TimeDelta,
    /// How long the service's levels take, each waited for once: by then a
    /// message left now has been paged to every level, so this is what a
    /// caller leaving one is told to expect a call back within.
    pub call_back_within: TimeDelta,
}

impl Line {
    /// The line for a caller routed to `service` (or the trust fallback,
    /// for a caller Nightingale does not know) at `now`, led by their care
    /// co-ordinator in the co-ordinator's hours.
    pub fn plan(rota: &Rota, service: Option<&Id>, coordinator: Option<&Id>, now: Instant) -> Self {
        let chain = ChainSnapshot::at(rota, service, coordinator, now);
        let live_for = service
            .and_then(|s| rota.service(s.as_str()))
            .map(|ix| rota.services()[ix as usize].live_for)
            .and_then(|d| TimeDelta::from_std(d).ok())
            .unwrap_or(crate::rota::DEFAULT_LIVE_FOR);
        let mut levels: Vec<Vec<Callee>> = chain
            .levels
            .iter()
            .map(|level| callees(rota, &level.people))
            .collect();
        if chain.levels.last() != Some(&chain.fallback) {
            levels.push(callees(rota, &chain.fallback.people));
        }
        let call_back_within = chain.levels.iter().map(|l| l.ack_within).sum();
        Self {
            levels,
            live_for,
            call_back_within,
        }
    }

    /// [`Line::call_back_within`] in whole minutes as a caller hears it:
    /// rounded up to five, and never less than five.
    pub fn call_back_minutes(&self) -> i64 {
        let minutes = (self.call_back_within.num_seconds() + 59) / 60;
        (minutes.max(1) + 4) / 5 * 5
    }

    /// The level to ring after `after` (0 before any), and for how long,
    /// when a call that began at `started` reaches `now`; `None` when the
    /// caller should be asked for a message (no time left, or nobody left
    /// who takes calls).
    pub fn next_ring(
        &self,
        after: usize,
        started: Instant,
        now: Instant,
    ) -> Option<(usize, TimeDelta)> {
        next_ring(&self.levels, self.live_for, after, started, now)
    }
}

fn callees(rota: &Rota, people: &[crate::escalation::StaffRef]) -> Vec<Callee> {
    people
        .iter()
        .filter_map(|p| {
            let person = rota.person(p.id.as_str())?;
            let number = person.contacts.iter().find_map(|c| match c {
                ContactMethod::Voice(n) => Some(n.clone()),
                _ => None,
            })?;
            Some(Callee {
                staff: person.id.clone(),
                number,
            })
        })
        .collect()
}

/// See [`Line::next_ring`]: levels are numbered from 1; a level with
/// nobody who takes calls is passed over.
pub fn next_ring(
    levels: &[Vec<Callee>],
    live_for: TimeDelta,
    after: usize,
    started: Instant,
    now: Instant,
) -> Option<(usize, TimeDelta)> {
    let left = live_for - (now - started);
    if left < LEAST_RING {
        return None;
    }
    let level = levels
        .iter()
        .enumerate()
        .skip(after)
        .find(|(_, people)| !people.is_empty())
        .map(|(i, _)| i + 1)?;
    Some((level, left.min(RING)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Instant {
        s.parse().unwrap()
    }

    fn callee(n: &str) -> Callee {
        Callee {
            staff: Id::parse("chen-li").unwrap(),
            number: PhoneNumber::parse(n).unwrap(),
        }
    }

    #[test]
    fn each_level_rings_for_twenty_seconds_until_the_caller_has_waited_live_for() {
        let levels = vec![
            vec![callee("07700 900113")],
            vec![],
            vec![callee("07700 900121")],
        ];
        let start = at("2026-11-29T02:10:00Z");
        let live_for = TimeDelta::seconds(90);
        assert_eq!(
            next_ring(&levels, live_for, 0, start, start),
            Some((1, RING))
        );
        // Level 2 has nobody who takes calls: level 3 is next.
        assert_eq!(
            next_ring(&levels, live_for, 1, start, at("2026-11-29T02:10:21Z")),
            Some((3, RING))
        );
        // Nobody left.
        assert_eq!(
            next_ring(&levels, live_for, 3, start, at("2026-11-29T02:10:42Z")),
            None
        );
        // Ten seconds left: ring for ten.
        assert_eq!(
            next_ring(&levels, live_for, 0, start, at("2026-11-29T02:11:20Z")),
            Some((1, TimeDelta::seconds(10)))
        );
        // Too little left to ring anyone.
        assert_eq!(
            next_ring(&levels, live_for, 0, start, at("2026-11-29T02:11:26Z")),
            None
        );
    }

    #[test]
    fn each_step_has_its_own_key_and_a_dial_one_per_level() {
        assert_eq!(
            step_key(
                "CA1",
                &CallStep::Dialled {
                    level: 2,
                    status: "no-answer".into()
                }
                .name()
            ),
            "call:CA1:dialled:2"
        );
        assert_eq!(
            step_key("CA1", &CallStep::NoMessage.name()),
            "call:CA1:no-message"
        );
        assert!(call_ended("no-answer") && !call_ended("ringing") && !call_ended("in-progress"));
    }
}
