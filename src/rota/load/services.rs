//! Rotations (`[rotations.*]`) and services (`[services.*]`) with their
//! escalation levels: who is paged, in what order, and how long each level
//! waits for an accept.

use std::ops::Range;
use std::time::Duration;

use chrono::{Datelike, Days};
use toml::Spanned;

use super::names::{Names, suggest};
use super::raw::{RawLevel, RawRotation, RawService};
use super::values::parse_weekday;
use super::{Compiler, DEFAULT_ACK_WITHIN, Defined, Src};
use crate::calendar::{Division, WorkingHours};
use crate::directory::Staff;
use crate::rota::rotation::Rotation;
use crate::rota::{Level, Service, Who};

impl Compiler<'_> {
    pub(super) fn rotation(
        &mut self,
        d: Defined<RawRotation>,
        names: &Names<'_>,
    ) -> Option<Rotation> {
        let Defined { id, src, raw } = d;
        let file = src.file;
        let s = |span: Range<usize>| Src { file, span };
        let mut members = Vec::new();
        if raw.members.get_ref().is_empty() {
            self.report(&s(raw.members.span()), format!("rotation {id} has no members: list people, like members = [\"amara-okafor\", \"ben-hughes\"]"));
        }
        for m in raw.members.get_ref() {
            if let Some(p) = self.resolve_person(names, file, m) {
                members.push(p);
            }
        }
        let length_days = self.days(&s(raw.length.span()), raw.length.get_ref());
        let handover =
            self.time_of_day(&s(raw.handover.span()), raw.handover.get_ref(), "handover");
        let start = self.date(&s(raw.start.span()), raw.start.get_ref(), "start");
        let until = raw
            .until
            .as_ref()
            .and_then(|u| self.date(&s(u.span()), u.get_ref(), "until"));
        let mut start_ok = true;
        if let (Some(day), Some(start)) = (&raw.handover_day, start) {
            match parse_weekday(day.get_ref()) {
                Some(weekday) if weekday != start.weekday() => {
                    let back = (7 + start.weekday().num_days_from_monday()
                        - weekday.num_days_from_monday())
                        % 7;
                    let fixed = start - Days::new(u64::from(back));
                    start_ok = false;
                    self.report(
                        &s(raw.start.span()),
                        format!("start = {start} is a {}, but handover_day = {:?}: write start = {fixed}", start.weekday(), day.get_ref()),
                    );
                }
                Some(_) => {}
                None => self.report(
                    &s(day.span()),
                    format!(
                        "handover_day = {:?} is not a day: write one like \"monday\"",
                        day.get_ref()
                    ),
                ),
            }
        }
        let handover_at = handover?;
        if let (Some(until), Some(start)) = (until, start)
            && until <= start
        {
            self.report(&s(raw.start.span()), format!("rotation {id} ends ({until}) before it starts ({start}): write an until date after start"));
        }
        if members.len() != raw.members.get_ref().len() || !start_ok {
            return None;
        }
        Some(Rotation {
            name: raw.name.unwrap_or_else(|| id.to_string()),
            id,
            members,
            start: start?,
            length_days: length_days?,
            handover: handover_at,
            end: until.map(|u| u.and_time(handover_at)),
        })
    }

    pub(super) fn service(
        &mut self,
        d: Defined<RawService>,
        names: &Names<'_>,
        staff: &[Staff],
    ) -> Option<Service> {
        let Defined { id, src, raw } = d;
        let file = src.file;
        let managers = self.managers(file, &raw.managers, names, staff);
        let division = match raw.division.get_ref().parse::<Division>() {
            Ok(d) => Some(d),
            Err(e) => {
                self.report(&Src::of(file, &raw.division), format!("division: {e}"));
                None
            }
        };
        let hours = match &raw.hours {
            None => Some(WorkingHours::rcgp()),
            Some(h) => self.hours(&Src::of(file, h), h.get_ref()),
        };
        let (has_in_hours, has_out_of_hours) =
            (!raw.in_hours.is_empty(), !raw.out_of_hours.is_empty());
        let in_hours: Vec<Level> = raw
            .in_hours
            .into_iter()
            .filter_map(|l| self.level(file, l, names, &format!("service {id}")))
            .collect();
        let out_of_hours: Vec<Level> = raw
            .out_of_hours
            .into_iter()
            .filter_map(|l| self.level(file, l, names, &format!("service {id}")))
            .collect();
        if !has_out_of_hours {
            self.report(&src, format!("service {id} has no out-of-hours levels: add [[services.{id}.out_of_hours]] with rotation = \"…\""));
        }
        if let Some(h) = &hours
            && h.has_in_hours_team()
            && !has_in_hours
        {
            self.report(
                    &src,
                    format!("service {id} has working hours but no in-hours levels: add [[services.{id}.in_hours]], or write hours = \"none\" if the on-call rota answers at all times"),
                );
        }
        if let Some(h) = &hours
            && !h.has_in_hours_team()
            && has_in_hours
        {
            self.report(
                &src,
                format!("service {id} has in-hours levels but hours = \"none\", so they would never be used: give it working hours, or delete its in_hours levels"),
            );
        }
        let live_for = match &raw.live_for {
            None => Some(Duration::from_secs(
                crate::rota::DEFAULT_LIVE_FOR.num_seconds() as u64,
            )),
            Some(l) => match humantime::parse_duration(l.get_ref()) {
                Ok(d) if d >= Duration::from_secs(20) && d <= Duration::from_secs(600) => Some(d),
                _ => {
                    self.report(&Src { file, span: l.span() }, format!("live_for = {:?}: write how long a caller may wait for a person before leaving a message, between \"20s\" and \"10m\", like \"90s\"", l.get_ref()));
                    None
                }
            },
        };
        let check_ins = match &raw.check_ins {
            None => Some(crate::directory::check_ins::CheckIns::after_discharge(
                &crate::directory::check_ins::DEFAULT_AFTER_DISCHARGE,
            )),
            Some(c) => {
                let list = serde_json::Value::from(c.get_ref().clone());
                match crate::directory::check_ins::CheckIns::parse(&list) {
                    Ok(plan) => Some(plan),
                    Err(e) => {
                        self.report(&Src::of(file, c), format!("check_ins: {e}; or [] for none"));
                        None
                    }
                }
            }
        };
        let answer_within = match &raw.check_in_answer_within {
            None => Some(crate::directory::check_ins::DEFAULT_ANSWER_WITHIN),
            Some(a) => match humantime::parse_duration(a.get_ref()) {
                Ok(d)
                    if d >= Duration::from_secs(30 * 60)
                        && d <= Duration::from_secs(3 * 24 * 3600) =>
                {
                    chrono::TimeDelta::from_std(d).ok()
                }
                _ => {
                    self.report(&Src { file, span: a.span() }, format!("check_in_answer_within = {:?}: write how long to wait for the answer to a check-in before telling the team, between \"30m\" and \"3days\", like \"6h\"", a.get_ref()));
                    None
                }
            },
        };
        let mut locations = Vec::new();
        for l in &raw.locations {
            let code = l.get_ref().trim();
            let at = Src {
                file,
                span: l.span(),
            };
            if code.is_empty()
                || code.chars().count() > 80
                || code.contains(['^', '|', '~', '&', '\\'])
            {
                self.report(&at, format!("locations: {:?} is not a point of care: write the code your EPR sends in PV1-3, like \"W7\"", l.get_ref()));
                continue;
            }
            match self.locations.get(code) {
                Some(other) if *other == id => {
                    self.report(
                        &at,
                        format!("locations: {code:?} is listed twice in service {id}: remove one"),
                    );
                }
                Some(other) => {
                    let other = other.clone();
                    self.report(&at, format!("locations: {code:?} is also a location of service {other}: a discharge from it must go to one service, so keep it in one of them"));
                }
                None => {
                    self.locations.insert(code.to_owned(), id.clone());
                    locations.push(code.to_owned());
                }
            }
        }
        let window = match &raw.check_in_window {
            None => Some(crate::directory::check_ins::DEFAULT_WINDOW),
            Some(w) => match crate::directory::check_ins::CheckInWindow::parse(w.get_ref()) {
                Ok(window) => Some(window),
                Err(e) => {
                    self.report(
                        &Src {
                            file,
                            span: w.span(),
                        },
                        format!("check_in_window = {e}"),
                    );
                    None
                }
            },
        };
        Some(Service {
            locations,
            check_ins: check_ins?,
            check_in_answer_within: answer_within?,
            check_in_window: window?,
            live_for: live_for?,
            patient_name: raw.patient_name.unwrap_or_else(|| raw.name.clone()),
            name: raw.name,
            id,
            division: division?,
            hours: hours?,
            in_hours,
            out_of_hours,
            chain_repeats: raw.repeat_chain,
            managers,
        })
    }

    pub(super) fn level(
        &mut self,
        file: usize,
        raw: Spanned<RawLevel>,
        names: &Names<'_>,
        whose: &str,
    ) -> Option<Level> {
        let src = Src::of(file, &raw);
        let raw = raw.into_inner();
        let who = match (&raw.rotation, &raw.people) {
            (Some(r), None) => match names.rotations.get(r.get_ref()) {
                Some(&ix) => Some(Who::Rotation(ix)),
                None => {
                    let message = format!(
                        "{whose}: no rotation {:?}{}",
                        r.get_ref(),
                        suggest(r.get_ref(), names.rotations.keys())
                    );
                    self.report(&Src::of(file, r), message);
                    None
                }
            },
            (None, Some(people)) if !people.is_empty() => {
                let found: Vec<_> = people
                    .iter()
                    .filter_map(|p| self.resolve_person(names, file, p))
                    .collect();
                (found.len() == people.len()).then_some(Who::People(found))
            }
            _ => {
                self.report(&src, format!("{whose}: a level names either rotation = \"…\" or people = [\"…\"], not both or neither"));
                None
            }
        };
        let ack_within = self.ack_within(file, raw.ack_within.as_ref());
        Some(Level {
            who: who?,
            ack_within: ack_within?,
            repeat: raw.repeat,
        })
    }

    /// How long to wait for an accept (`ack_within`), or the default.
    pub(super) fn ack_within(
        &mut self,
        file: usize,
        raw: Option<&Spanned<String>>,
    ) -> Option<Duration> {
        match raw {
            None => Some(DEFAULT_ACK_WITHIN),
            Some(a) => match humantime::parse_duration(a.get_ref()) {
                Ok(d) if d >= Duration::from_secs(30) && d <= Duration::from_secs(24 * 3600) => {
                    Some(d)
                }
                Ok(_) => {
                    self.report(&Src { file, span: a.span() }, format!("ack_within = {:?} is out of range: write between \"30s\" and \"24h\", like \"10m\"", a.get_ref()));
                    None
                }
                Err(_) => {
                    self.report(&Src { file, span: a.span() }, format!("ack_within = {:?} is not a duration: write one like \"90s\", \"10m\" or \"2h\"", a.get_ref()));
                    None
                }
            },
        }
    }
}
