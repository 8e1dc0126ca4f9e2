//! Translation between the store's types and what the Lua scripts read
//! and return: a [`Change`] as the JSON plan `apply.lua` runs, the
//! encodings the indexes sort by, and stored records read back.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::checkins::Notice;
use crate::clock::Instant;
use crate::concern::ConcernId;
use crate::concern::{ConcernStatus, Page};
use crate::directory::{Address, Id};
use crate::outbox::{NewOutbox, OutboxItem, OutboxOutcome, Priority};
use crate::store_error::StoreResult;
use crate::timeline::Purpose;
use crate::work::{Change, Timer, TimerKind};

pub(super) use crate::store::codec::corrupt;

/// Milliseconds since the epoch, as the scripts keep times.
pub(super) fn ms(t: Instant) -> String {
    t.timestamp_millis().to_string()
}

/// The instant of a stored millisecond count (a score may come back as a
/// float, "1764270300000" or "1.7642703e+12").
pub(super) fn instant(text: &str) -> StoreResult<Instant> {
    let ms = match text.parse::<i64>() {
        Ok(ms) => ms,
        Err(_) => text
            .parse::<f64>()
            .map_err(|_| corrupt(format!("stored time {text:?}")))? as i64,
    };
    DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(|| corrupt(format!("stored time {ms}")))
}

/// A time that sorts as text in the order of the times: 16 hex digits of
/// the milliseconds with the sign bit flipped. The concern lists are sorted
/// sets of "<this>:<id>" at one score, walked with ZREVRANGEBYLEX, which
/// gives the keyset paging (newest first, then by id) the SQL store gets
/// from its index on (opened_at, id).
pub(super) fn lex_time(t: Instant) -> String {
    format!("{:016x}", (t.timestamp_millis() as u64) ^ (1 << 63))
}

/// A timer's identity as the scripts compare it: due time and sequence.
fn stamp(due_at: Instant, seq: u64) -> String {
    format!("{}:{seq}", due_at.timestamp_millis())
}

/// What `apply.lua` reads: one [`Change`], every value already rendered.
#[derive(Serialize)]
pub(super) struct Plan {
    at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    claim: Option<ClaimPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enrolment: Option<EnrolmentPlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    concern: Option<ConcernPlan>,
    timeline: Vec<(String, String)>,
    cancel_timers: Vec<String>,
    set_timers: Vec<TimerPlan>,
    close_pages: Vec<String>,
    open_pages: Vec<PagePlan>,
    outbox: Vec<OutboxPlan>,
    outcomes: Vec<OutcomePlan>,
    /// The key and JSON of what is kept of the processed inbound item.
    #[serde(skip_serializing_if = "Option::is_none")]
    inbound_kept: Option<(String, String)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    opt_out: Option<(String, &'static str)>,
    cancel_notices: Vec<String>,
    set_notices: Vec<NoticePlan>,
    add_notices: Vec<NoticePlan>,
    check_in_answers: Vec<AnswerPlan>,
}

#[derive(Serialize)]
struct NoticePlan {
    key: String,
    due: String,
    data: String,
}

#[derive(Serialize)]
struct AnswerPlan {
    enrolment: String,
    data: String,
}

#[derive(Serialize)]
struct ClaimPlan {
    kind: &'static str,
    key: String,
    token: String,
}

#[derive(Serialize)]
struct EnrolmentPlan {
    id: String,
    data: String,
    ends: String,
    phones: Vec<String>,
    /// The API client whose key made it, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<String>,
    /// The patient's NHS number, for an enrolment from the EPR feed.
    #[serde(skip_serializing_if = "Option::is_none")]
    nhs: Option<String>,
}

#[derive(Serialize)]
struct ConcernPlan {
    id: String,
    /// The version read ("0": a new concern).
    version: String,
    data: String,
    sender: String,
    status: &'static str,
    resolved: bool,
    opened: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enrolment: Option<String>,
}

#[derive(Serialize)]
struct TimerPlan {
    concern: String,
    kind: &'static str,
    due: String,
    stamp: String,
}

#[derive(Serialize)]
struct PagePlan {
    concern: String,
    staff: String,
    code: String,
    opened: String,
}

#[derive(Serialize)]
struct OutboxPlan {
    #[serde(skip_serializing_if = "Option::is_none")]
    concern: Option<String>,
    to: String,
    body: String,
    purpose: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    staff: Option<String>,
    recipient: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    step: Option<String>,
    /// Its [`crate::outbox::Priority::rank`], as Rust decides it.
    prio: String,
}

#[derive(Serialize)]
struct OutcomePlan {
    outcome: &'static str,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
}

/// `value` as JSON.
pub(super) fn json<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(corrupt)
}

impl Plan {
    /// Render a change.
    pub(super) fn of(change: &Change) -> StoreResult<Self> {
        let notice = |n: &Notice| -> StoreResult<NoticePlan> {
            Ok(NoticePlan {
                key: n.key.clone(),
                due: ms(n.due_at),
                data: json(n)?,
            })
        };
        let timer = |t: &Timer| TimerPlan {
            concern: t.concern.to_string(),
            kind: t.kind.as_str(),
            due: ms(t.due_at),
            stamp: stamp(t.due_at, t.seq),
        };
        Ok(Plan {
            at: ms(change.at),
            claim: change.claim.as_ref().map(|c| ClaimPlan {
                kind: c.kind().as_str(),
                key: c.key.to_string(),
                token: c.token.to_string(),
            }),
            enrolment: change
                .enrolment
                .as_ref()
                .map(|e| -> StoreResult<_> {
                    Ok(EnrolmentPlan {
                        id: e.id.to_string(),
                        data: json(e)?,
                        ends: ms(super::super::codec::ends_at_or_never(e)),
                        // Phones and emails alike (ADR 14).
                        phones: e.addresses(),
                        client: e.client.clone(),
                        nhs: e.nhs_number.as_ref().map(|n| n.as_str().to_owned()),
                    })
                })
                .transpose()?,
            concern: change
                .concern
                .as_ref()
                .map(|c| -> StoreResult<_> {
                    Ok(ConcernPlan {
                        id: c.id.to_string(),
                        version: c.version.to_string(),
                        data: json(c)?,
                        sender: c.sender.key(),
                        status: ConcernStatus::of(c).as_str(),
                        resolved: c.escalation.is_resolved(),
                        opened: lex_time(c.opened_at),
                        service: c.service.as_ref().map(|s| s.as_str().to_owned()),
                        enrolment: c.enrolment.map(|e| e.to_string()),
                    })
                })
                .transpose()?,
            timeline: change
                .timeline
                .iter()
                .map(|(id, entry)| Ok((id.to_string(), json(entry)?)))
                .collect::<StoreResult<_>>()?,
            cancel_timers: change.cancel_timers.iter().map(|c| c.to_string()).collect(),
            set_timers: change.set_timers.iter().map(timer).collect(),
            close_pages: change.close_pages.iter().map(|c| c.to_string()).collect(),
            open_pages: change
                .open_pages
                .iter()
                .map(|p| PagePlan {
                    concern: p.concern.to_string(),
                    staff: p.staff.as_str().to_owned(),
                    code: p.code.to_string(),
                    opened: ms(p.opened_at),
                })
                .collect(),
            outbox: change
                .outbox
                .iter()
                .map(|m| OutboxPlan {
                    concern: m.concern.map(|c| c.to_string()),
                    to: m.to.key(),
                    body: m.body.clone(),
                    purpose: m.purpose.as_str(),
                    staff: m.staff.as_ref().map(|s| s.as_str().to_owned()),
                    recipient: m.recipient.clone(),
                    step: m.step.map(|s| s.to_string()),
                    prio: m.priority().rank().to_string(),
                })
                .collect(),
            outcomes: change
                .outbox_outcomes
                .iter()
                .map(|o| {
                    let (outcome, id, provider, at) = match o {
                        OutboxOutcome::Sent { id, provider_id } => {
                            ("sent", id, Some(provider_id.clone()), None)
                        }
                        OutboxOutcome::Retry { id, at } => ("retry", id, None, Some(ms(*at))),
                        OutboxOutcome::Failed { id } => ("failed", id, None, None),
                        OutboxOutcome::Cancelled { id } => ("cancelled", id, None, None),
                    };
                    OutcomePlan {
                        outcome,
                        id: id.to_string(),
                        provider,
                        at,
                    }
                })
                .collect(),
            inbound_kept: change
                .inbound_kept
                .as_ref()
                .map(|kept| {
                    let data = serde_json::to_string(kept).map_err(corrupt)?;
                    StoreResult::Ok((kept.key.clone(), data))
                })
                .transpose()?,
            opt_out: change
                .opt_out
                .as_ref()
                .map(|(p, out)| (p.as_str().to_owned(), if *out { "1" } else { "0" })),
            cancel_notices: change.cancel_notices.clone(),
            set_notices: change
                .set_notices
                .iter()
                .map(notice)
                .collect::<StoreResult<_>>()?,
            add_notices: change
                .add_notices
                .iter()
                .map(notice)
                .collect::<StoreResult<_>>()?,
            check_in_answers: change
                .check_in_answers
                .iter()
                .map(|a| {
                    Ok(AnswerPlan {
                        enrolment: a.enrolment.to_string(),
                        data: json(a)?,
                    })
                })
                .collect::<StoreResult<_>>()?,
        })
    }

    /// The plan as the script's argument.
    pub(super) fn to_json(&self) -> StoreResult<String> {
        json(self)
    }
}

/// A timer as the scripts return it: concern, kind and stamp.
pub(super) fn timer(row: &[String]) -> StoreResult<Timer> {
    let [concern, kind, stamp] = row else {
        return Err(corrupt("a timer row of the wrong shape"));
    };
    let (due, seq) = stamp
        .split_once(':')
        .ok_or_else(|| corrupt("a timer without its sequence"))?;
    Ok(Timer {
        concern: concern.parse().map_err(corrupt)?,
        kind: TimerKind::parse(kind).ok_or_else(|| corrupt(format!("timer kind {kind:?}")))?,
        due_at: instant(due)?,
        seq: seq.parse().map_err(corrupt)?,
    })
}

/// An outbox item as the scripts return it: field and value pairs.
pub(super) fn outbox_item(pairs: Vec<String>) -> StoreResult<OutboxItem> {
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut pairs = pairs.into_iter();
    while let (Some(name), Some(value)) = (pairs.next(), pairs.next()) {
        fields.insert(name, value);
    }
    let mut take = |name: &str| fields.remove(name);
    let need = |value: Option<String>, name: &str| {
        value.ok_or_else(|| corrupt(format!("an outbox item without {name}")))
    };
    let id = need(take("id"), "id")?.parse().map_err(corrupt)?;
    let to = need(take("to"), "to")?;
    let purpose = need(take("purpose"), "purpose")?;
    let state = need(take("state"), "state")?;
    Ok(OutboxItem {
        id,
        message: NewOutbox {
            concern: take("concern")
                .map(|c| c.parse::<ConcernId>().map_err(corrupt))
                .transpose()?,
            to: Address::from_key(&to).map_err(corrupt)?,
            body: need(take("body"), "body")?,
            purpose: Purpose::parse(&purpose)
                .ok_or_else(|| corrupt(format!("purpose {purpose:?}")))?,
            staff: take("staff")
                .map(|s| Id::parse(&s).map_err(corrupt))
                .transpose()?,
            recipient: need(take("recipient"), "recipient")?,
            step: take("step")
                .map(|s| s.parse().map_err(corrupt))
                .transpose()?,
        },
        attempts: need(take("attempts"), "attempts")?
            .parse()
            .map_err(corrupt)?,
        due_at: instant(&need(take("due"), "due")?)?,
        queued_at: instant(&need(take("queued"), "queued")?)?,
        provider_id: take("provider"),
        in_flight: state == "in_flight",
        // Stored before priorities and not yet given one: as urgent as any.
        priority: take("prio")
            .and_then(|p| Priority::from_rank(p.parse().ok()?))
            .unwrap_or(Priority::Urgent),
    })
}

/// A page as kept in a clinician's hash: "code|open|opened_at|closed_at".
pub(super) fn page(concern: ConcernId, staff: &Id, record: &str) -> StoreResult<Page> {
    let mut parts = record.split('|');
    let (Some(code), Some(open), Some(opened)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(corrupt("a page record of the wrong shape"));
    };
    Ok(Page {
        concern,
        staff: staff.clone(),
        code: code.parse().map_err(corrupt)?,
        open: open == "1",
        opened_at: instant(opened)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_times_sort_as_the_times_do() {
        let times = [
            "1969-07-20T20:17:00Z",
            "1970-01-01T00:00:00Z",
            "2026-11-27T19:05:00Z",
            "2026-11-27T19:05:00.001Z",
            "2286-11-20T17:46:40Z",
        ];
        let encoded: Vec<String> = times.iter().map(|t| lex_time(t.parse().unwrap())).collect();
        let mut sorted = encoded.clone();
        sorted.sort();
        assert_eq!(encoded, sorted);
        assert!(encoded.iter().all(|e| e.len() == 16));
    }

    #[test]
    fn stored_times_read_back_from_integers_and_scores() {
        let t: Instant = "2026-11-27T19:05:00Z".parse().unwrap();
        assert_eq!(instant(&ms(t)).unwrap(), t);
        assert_eq!(
            instant("1.7642703e+12").unwrap().timestamp_millis(),
            1_764_270_300_000
        );
        assert!(instant("soon").is_err());
    }
}
