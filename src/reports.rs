//! The figures a trust's clinical safety officer reviews: per service and
//! ISO week, how concerns were raised, how long they waited for someone to
//! accept them, how far they escalated, how often the trust-wide fallback
//! was reached, and how many pages failed.
//!
//! Pure: computed from concerns and their timelines as the store keeps
//! them ([`Reports::concerns_opened`]). Nothing here reads what
//! a patient or clinician wrote, so a concern whose words were removed
//! after the retention period counts the same as before.

use std::ops::Range;

use chrono::TimeDelta;

use crate::clock::Instant;
use crate::concern::{Concern, Recognised};
use crate::directory::Id;
use crate::spreadsheet::{self, Quoting};
use crate::store_error::StoreResult;
use crate::timeline::{Purpose, TimelineEntry, TimelineEvent};

pub use crate::calendar::{BadWeek, Week};

/// How a concern was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// By text message.
    Sms,
    /// By a phone call.
    Voice,
}

impl Channel {
    /// Every channel, in the order reports show them.
    pub const ALL: [Channel; 2] = [Channel::Sms, Channel::Voice];

    /// How a concern was raised: by phone when the call that opened it is
    /// the first thing on its timeline, by text otherwise.
    pub fn of(concern: &Concern, timeline: &[TimelineEntry]) -> Self {
        let opened_by_call = match timeline.first().map(|e| &e.event) {
            Some(TimelineEvent::Call { .. }) => true,
            Some(_) => false,
            None => concern
                .calls
                .first()
                .is_some_and(|c| c.at <= concern.opened_at),
        };
        if opened_by_call {
            Channel::Voice
        } else {
            Channel::Sms
        }
    }

    /// "SMS", "Voice".
    pub fn label(self) -> &'static str {
        match self {
            Channel::Sms => "SMS",
            Channel::Voice => "Voice",
        }
    }

    /// "Raised by text message", "Raised by phone call".
    pub fn raised_by(self) -> &'static str {
        match self {
            Channel::Sms => "Raised by text message",
            Channel::Voice => "Raised by phone call",
        }
    }
}

/// One service's figures for one week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The service.
    pub service: Id,
    /// The week.
    pub week: Week,
    /// Concerns opened in the week.
    pub raised: u32,
    /// Of them, how many by each channel, in [`Channel::ALL`] order.
    pub by_channel: Vec<(Channel, u32)>,
    /// Of them, how many someone accepted.
    pub accepted: u32,
    /// Of them, how many nobody accepted (not counted in the times).
    pub never_accepted: u32,
    /// The median time from opening to the first accept: the shortest time
    /// within which at least half of the accepted concerns were accepted.
    pub median_to_accept: Option<TimeDelta>,
    /// The 90th percentile: the shortest time within which at least nine in
    /// ten of the accepted concerns were accepted.
    pub p90_to_accept: Option<TimeDelta>,
    /// How many concerns reached each level of the chain: `[0]` is level 1.
    pub reached_level: Vec<u32>,
    /// How many concerns reached the trust-wide fallback.
    pub fallback: u32,
    /// Pages to clinicians that reached nobody: a text or call refused by
    /// the provider for good after its retries, or reported undelivered (a
    /// call: busy, unanswered, failed, or a machine), and not followed by
    /// a try of the person's next contact (that try counts on its own).
    pub pages_failed: u32,
}

impl Report {
    /// The figures for `service`'s concerns opened in `week`, each with
    /// its timeline. A stranger's email, which pages nobody and waits for
    /// the in-hours team (docs/adr/0022), is no escalation and is not
    /// counted: it would read as one nobody accepted.
    pub fn compute(service: Id, week: Week, concerns: &[(Concern, Vec<TimelineEntry>)]) -> Self {
        let (from, until) = (week.start(), week.end());
        let concerns: Vec<_> = concerns
            .iter()
            .filter(|(c, _)| c.opened_at >= from && c.opened_at < until)
            .filter(|(c, _)| !c.recognised.is_some_and(Recognised::pages_nobody))
            .collect();
        let mut report = Report {
            service,
            week,
            raised: concerns.len() as u32,
            by_channel: Channel::ALL.iter().map(|&c| (c, 0)).collect(),
            accepted: 0,
            never_accepted: 0,
            median_to_accept: None,
            p90_to_accept: None,
            reached_level: Vec::new(),
            fallback: 0,
            pages_failed: 0,
        };
        let mut waits = Vec::new();
        for (concern, timeline) in concerns {
            let channel = Channel::of(concern, timeline);
            if let Some(n) = report.by_channel.iter_mut().find(|(c, _)| *c == channel) {
                n.1 += 1;
            }
            match first_accept(concern, timeline) {
                Some(at) => {
                    report.accepted += 1;
                    waits.push((at - came_in(concern, timeline)).max(TimeDelta::zero()));
                }
                None => report.never_accepted += 1,
            }
            let (levels, fallback) = reached(timeline);
            for level in levels {
                if report.reached_level.len() < level {
                    report.reached_level.resize(level, 0);
                }
                report.reached_level[level - 1] += 1;
            }
            report.fallback += u32::from(fallback);
            report.pages_failed += pages_failed(timeline);
        }
        waits.sort();
        report.median_to_accept = nearest_rank(&waits, 50);
        report.p90_to_accept = nearest_rank(&waits, 90);
        report
    }

    /// The figures as people read them, each as (figure, value): what the
    /// page's table and `nightingale report` show.
    pub fn rows(&self) -> Vec<(String, String)> {
        let row = |figure: &str, value: &dyn ToString| (figure.to_owned(), value.to_string());
        let time =
            |d: Option<TimeDelta>| d.map_or_else(|| "No concern was accepted".to_owned(), human);
        let mut rows = vec![row("Concerns raised", &self.raised)];
        for (channel, n) in &self.by_channel {
            rows.push(row(channel.raised_by(), n));
        }
        rows.extend([
            row("Accepted", &self.accepted),
            row("Never accepted", &self.never_accepted),
            row("Median time to accept", &time(self.median_to_accept)),
            row("90th percentile time to accept", &time(self.p90_to_accept)),
        ]);
        for (i, n) in self.reached_level.iter().enumerate() {
            rows.push((format!("Reached level {}", i + 1), n.to_string()));
        }
        rows.extend([
            row("Reached the trust-wide fallback", &self.fallback),
            row("Pages that failed", &self.pages_failed),
        ]);
        rows
    }

    /// The counts a chart draws, each as (what, how many): concerns by
    /// channel, never accepted, reaching each level and the fallback, and
    /// failed pages.
    pub fn counts(&self) -> Vec<(String, u32)> {
        let mut counts: Vec<(String, u32)> = self
            .by_channel
            .iter()
            .map(|(c, n)| (c.raised_by().to_owned(), *n))
            .collect();
        counts.push(("Never accepted".into(), self.never_accepted));
        for (i, n) in self.reached_level.iter().enumerate() {
            counts.push((format!("Reached level {}", i + 1), *n));
        }
        counts.push(("Reached the trust-wide fallback".into(), self.fallback));
        counts.push(("Pages that failed".into(), self.pages_failed));
        counts
    }

    /// The figures as CSV rows (`figure,value`), times in whole seconds. A
    /// cell that a spreadsheet would read as a formula is quoted with `'`
    /// ([`spreadsheet::neutralise`]).
    pub fn csv(&self) -> String {
        let mut rows: Vec<(String, String)> = vec![
            ("service".into(), self.service.as_str().to_owned()),
            ("week".into(), self.week.to_string()),
            ("from".into(), self.week.start().to_rfc3339()),
            ("until".into(), self.week.end().to_rfc3339()),
            ("concerns raised".into(), self.raised.to_string()),
        ];
        for (channel, n) in &self.by_channel {
            rows.push((channel.raised_by().to_lowercase(), n.to_string()));
        }
        let seconds =
            |d: Option<TimeDelta>| d.map(|d| d.num_seconds().to_string()).unwrap_or_default();
        rows.extend([
            ("accepted".into(), self.accepted.to_string()),
            ("never accepted".into(), self.never_accepted.to_string()),
            (
                "median seconds to accept".into(),
                seconds(self.median_to_accept),
            ),
            (
                "90th percentile seconds to accept".into(),
                seconds(self.p90_to_accept),
            ),
        ]);
        for (i, n) in self.reached_level.iter().enumerate() {
            rows.push((format!("reached level {}", i + 1), n.to_string()));
        }
        rows.extend([
            ("reached the fallback".into(), self.fallback.to_string()),
            ("pages failed".into(), self.pages_failed.to_string()),
        ]);
        spreadsheet::write(
            &["figure", "value"],
            rows.into_iter().map(|(figure, value)| [figure, value]),
            Quoting::Needed,
        )
    }
}

/// When a concern was first accepted: the first accept on its timeline, or
/// the accept its escalation keeps when the timeline has none.
fn first_accept(concern: &Concern, timeline: &[TimelineEntry]) -> Option<Instant> {
    timeline
        .iter()
        .find(|e| matches!(e.event, TimelineEvent::Accepted { .. }))
        .map(|e| e.at)
        .or_else(|| concern.escalation.accepted.as_ref().map(|a| a.at))
}

/// When the wait for someone to accept began: when the call that opened
/// it came in, for a call taken live; else when it was opened.
fn came_in(concern: &Concern, timeline: &[TimelineEntry]) -> Instant {
    timeline
        .iter()
        .filter_map(|e| match &e.event {
            TimelineEvent::Call { came_in, .. } => *came_in,
            _ => None,
        })
        .chain(std::iter::once(concern.opened_at))
        .min()
        .unwrap_or(concern.opened_at)
}

/// The levels a concern was paged or escalated at (1-based, each once), and
/// whether it reached the fallback. A call taken live rang each level up
/// to the one that took it.
fn reached(timeline: &[TimelineEntry]) -> (Vec<usize>, bool) {
    let mut levels = Vec::new();
    let mut fallback = false;
    for entry in timeline {
        if let TimelineEvent::Call {
            level: Some(rung), ..
        } = &entry.event
        {
            for n in 1..=*rung as usize {
                if !levels.contains(&n) {
                    levels.push(n);
                }
            }
            continue;
        }
        let label = match &entry.event {
            TimelineEvent::Paged { level, .. } => level.as_str(),
            TimelineEvent::Escalated { to, .. } => to.as_str(),
            _ => continue,
        };
        if label.starts_with("fallback") {
            fallback = true;
        } else if let Some(n) = label
            .strip_prefix("level ")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n > 0)
            && !levels.contains(&n)
        {
            levels.push(n);
        }
    }
    (levels, fallback)
}

/// How many of a concern's pages reached nobody: failed attempts, less
/// those that went on to the person's next contact (that attempt counts
/// on its own).
fn pages_failed(timeline: &[TimelineEntry]) -> u32 {
    let failed = timeline.iter().filter(|e| page_failed(&e.event)).count();
    let failed_over = timeline.iter().filter(|e| e.event.is_failed_over()).count();
    failed.saturating_sub(failed_over) as u32
}

/// Whether an event is a page that did not reach the phone.
fn page_failed(event: &TimelineEvent) -> bool {
    match event {
        TimelineEvent::SendFailed {
            purpose,
            will_retry: false,
            ..
        } => matches!(purpose, Purpose::Page | Purpose::CallPage),
        TimelineEvent::Delivery {
            purpose, status, ..
        } => match purpose {
            Purpose::Page => status.delivery_failed(),
            Purpose::CallPage => status.call_failed(),
            _ => false,
        },
        _ => false,
    }
}

/// The nearest-rank percentile of sorted values: the smallest value that at
/// least `percent` per cent of them are at or below.
fn nearest_rank(sorted: &[TimeDelta], percent: usize) -> Option<TimeDelta> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// A duration as people read it: "4 min", "1 h 5 min", "45 s".
pub fn human(d: TimeDelta) -> String {
    let s = d.num_seconds();
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => {
            let (m, r) = (s / 60, s % 60);
            if r == 0 {
                format!("{m} min")
            } else {
                format!("{m} min {r} s")
            }
        }
        s => {
            let (h, m) = (s / 3600, (s % 3600) / 60);
            if m == 0 {
                format!("{h} h")
            } else {
                format!("{h} h {m} min")
            }
        }
    }
}

/// Work waiting, for `/metrics`: each should stay near zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Stored webhooks not yet processed.
    pub inbound_pending: u64,
    /// Texts due to be sent.
    pub outbox_due: u64,
    /// Texts not yet sent that have failed at least once and are being retried.
    pub outbox_retrying: u64,
    /// When the longest-waiting unsent text was queued.
    pub outbox_oldest_queued: Option<Instant>,
    /// Timers past their due time.
    pub timers_overdue: u64,
    /// Texts due and not yet sent, by priority (indexed by
    /// [`crate::outbox::Priority::rank`]: urgent, prompt, bulk).
    pub outbox_due_by_priority: [PriorityBacklog; 3],
}

/// The texts of one priority due and not yet sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PriorityBacklog {
    /// How many are due.
    pub due: u64,
    /// When the one due longest became due.
    pub oldest_due: Option<Instant>,
}

/// Concerns with their timelines, as [`Reports::concerns_opened`] finds them.
pub type Opened = Vec<(Concern, Vec<TimelineEntry>)>;

/// The figures: a service's concerns with their timelines for the
/// clinical safety report ([`crate::reports`]), and the work waiting, for
/// `/metrics`. Every method blocks.
pub trait Reports: Send + Sync + 'static {
    /// A service's concerns opened in the range `opened` (its start
    /// included, its end not), oldest first (by
    /// when they were opened, then by id), each with its timeline: what the
    /// week's report is computed from ([`crate::reports`]). Served by an
    /// index on service and opening time.
    fn concerns_opened(&self, service: &Id, opened: Range<Instant>) -> StoreResult<Opened>;
    /// Work waiting at `now`, for metrics.
    fn backlog(&self, now: Instant) -> StoreResult<Backlog>;
}

#[cfg(test)]
mod tests;
