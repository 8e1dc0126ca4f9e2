//! Reading rota files: TOML in, a compiled [`Rota`] out — or every problem
//! found, each naming the file, the line and what to write instead.
//!
//! A rota directory holds any number of `*.toml` files; each may define
//! `[trust]`, `[people.*]`, `[rotations.*]`, `[services.*]`, `[[overrides]]`
//! and `[[swaps]]`, and may refer to what the others define. The format is
//! documented with a complete example in `rota/README.md`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use serde::Deserialize;
use toml::Spanned;

use super::cover::{Cover, CoverBook, RotationIx};
use super::rotation::{PersonIx, Rotation};
use super::{Level, Rota, Service, ServiceIx, Who};
use crate::calendar::{Calendar, Division, Span, WorkingHours, instant_of};
use crate::clock::Instant;
use crate::directory::{ContactMethod, EmailAddress, Id, PhoneNumber, Staff, clean_line};

/// One thing wrong with the rota files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as given (e.g. `rota/people.toml`).
    pub file: String,
    /// The 1-based line, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Everything wrong with the rota files, in file and line order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Load every `*.toml` file in `dir` (and `bank-holidays.json`, when present) into a [`Rota`].
pub fn load_dir(dir: &Path) -> Result<Rota, Problems> {
    let (files, calendar) = read_dir(dir)?;
    load_files(&files, calendar)
}

/// Read every `*.toml` file in `dir` as `(name, text)`, and the calendar.
pub fn read_dir(dir: &Path) -> Result<(Vec<(String, String)>, Calendar), Problems> {
    let problem = |file: &Path, message: String| {
        Problems(vec![Problem {
            file: file.display().to_string(),
            line: None,
            message,
        }])
    };
    let calendar =
        Calendar::load(dir).map_err(|e| problem(Path::new(&e.path), e.source.to_string()))?;
    let entries = std::fs::read_dir(dir)
        .map_err(|e| problem(dir, format!("cannot read the rota directory: {e}")))?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(problem(
            dir,
            "no rota files (*.toml) here: see rota/README.md for the format".to_owned(),
        ));
    }
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| problem(&path, format!("cannot read: {e}")))?;
        files.push((path.display().to_string(), text));
    }
    Ok((files, calendar))
}

/// Compile rota files given as `(name, text)` pairs.
pub fn load_files(files: &[(String, String)], calendar: Calendar) -> Result<Rota, Problems> {
    let line_starts = files
        .iter()
        .map(|(_, text)| {
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
        .collect();
    let mut cx = Compiler {
        files,
        line_starts,
        problems: Vec::new(),
    };
    let mut parsed = Vec::with_capacity(files.len());
    for (i, (_, text)) in files.iter().enumerate() {
        match toml::from_str::<RawFile>(text) {
            Ok(raw) => parsed.push((i, raw)),
            Err(e) => {
                let line = e.span().map(|s| cx.line(i, s.start));
                cx.problems.push(Problem {
                    file: files[i].0.clone(),
                    line,
                    message: e.message().trim().to_owned(),
                });
            }
        }
    }
    // A file that does not parse would make every reference into it look
    // wrong; report the parse errors alone and let the author fix those first.
    let rota = if cx.problems.is_empty() {
        cx.compile(parsed, calendar)
    } else {
        None
    };
    let mut problems = cx.problems;
    if problems.is_empty() {
        Ok(rota.expect("a rota compiles when there are no problems"))
    } else {
        problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        problems.dedup();
        Err(Problems(problems))
    }
}

// ---- the file format, as serde reads it ------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    trust: Option<Spanned<RawTrust>>,
    #[serde(default)]
    people: BTreeMap<Spanned<String>, RawPerson>,
    #[serde(default)]
    rotations: BTreeMap<Spanned<String>, RawRotation>,
    #[serde(default)]
    services: BTreeMap<Spanned<String>, RawService>,
    #[serde(default)]
    overrides: Vec<Spanned<RawOverride>>,
    #[serde(default)]
    swaps: Vec<Spanned<RawSwap>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrust {
    name: String,
    fallback: Option<Spanned<RawLevel>>,
    #[serde(default)]
    managers: Vec<Spanned<String>>,
    gap_alerts: Option<Spanned<String>>,
    max_on_call_in_a_row: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPerson {
    name: String,
    #[serde(default)]
    role: String,
    /// Their role as patients and carers read it, if not `role`.
    patient_role: Option<String>,
    phone: Option<Spanned<String>>,
    email: Option<Spanned<String>>,
    notify: Option<Vec<Spanned<String>>>,
    /// Their own working hours, as a care co-ordinator.
    hours: Option<Spanned<toml::Value>>,
    /// How long to wait for them to accept, as a co-ordinator.
    ack_within: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRotation {
    name: Option<String>,
    members: Spanned<Vec<Spanned<String>>>,
    length: Spanned<String>,
    handover: Spanned<toml::Value>,
    handover_day: Option<Spanned<String>>,
    start: Spanned<toml::Value>,
    until: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: String,
    patient_name: Option<String>,
    division: Spanned<String>,
    hours: Option<Spanned<toml::Value>>,
    #[serde(default)]
    in_hours: Vec<Spanned<RawLevel>>,
    #[serde(default)]
    out_of_hours: Vec<Spanned<RawLevel>>,
    #[serde(default)]
    repeat_chain: u32,
    live_for: Option<Spanned<String>>,
    #[serde(default)]
    managers: Vec<Spanned<String>>,
    /// When its discharge enrolments are checked on (docs/adr/0017).
    check_ins: Option<Spanned<Vec<String>>>,
    /// How long a check-in's answer is waited for.
    check_in_answer_within: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevel {
    rotation: Option<Spanned<String>>,
    people: Option<Vec<Spanned<String>>>,
    ack_within: Option<Spanned<String>>,
    #[serde(default)]
    repeat: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    covering: Option<Spanned<String>>,
    #[serde(rename = "for")]
    replacing: Option<Spanned<String>>,
    rotation: Option<Spanned<String>>,
    from: Spanned<toml::Value>,
    until: Spanned<toml::Value>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSwap {
    rotation: Spanned<String>,
    shifts: Spanned<Vec<Spanned<toml::Value>>>,
    reason: Option<String>,
}

/// The default wait for an accept at each level.
pub const DEFAULT_ACK_WITHIN: Duration = Duration::from_secs(10 * 60);

// ---- compilation -------------------------------------------------------------

struct Compiler<'a> {
    files: &'a [(String, String)],
    /// Per file, the byte offset at which each line starts.
    line_starts: Vec<Vec<usize>>,
    problems: Vec<Problem>,
}

/// Where something was written: file index and byte span.
#[derive(Debug, Clone)]
struct Src {
    file: usize,
    span: Range<usize>,
}

struct Defined<T> {
    id: Id,
    src: Src,
    raw: T,
}

impl Compiler<'_> {
    fn line(&self, file: usize, offset: usize) -> usize {
        self.line_starts[file].partition_point(|&start| start <= offset)
    }

    fn place(&self, src: &Src) -> String {
        format!(
            "{}:{}",
            self.files[src.file].0,
            self.line(src.file, src.span.start)
        )
    }

    fn report(&mut self, src: &Src, message: impl Into<String>) {
        let line = Some(self.line(src.file, src.span.start));
        self.problems.push(Problem {
            file: self.files[src.file].0.clone(),
            line,
            message: message.into(),
        });
    }

    fn report_file(&mut self, file: usize, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.files[file].0.clone(),
            line: None,
            message: message.into(),
        });
    }

    /// Merge one kind of definition across files, rejecting bad and duplicate ids.
    fn gather<T>(
        &mut self,
        what: &str,
        all: Vec<(usize, BTreeMap<Spanned<String>, T>)>,
    ) -> Vec<Defined<T>> {
        let mut seen: HashMap<String, Src> = HashMap::new();
        let mut out = Vec::new();
        for (file, map) in all {
            for (key, raw) in map {
                let src = Src {
                    file,
                    span: key.span(),
                };
                let text = key.into_inner();
                let id = match Id::parse(&text) {
                    Ok(id) => id,
                    Err(e) => {
                        self.report(&src, format!("{what} id: {e}"));
                        continue;
                    }
                };
                if let Some(first) = seen.get(&text) {
                    let message = format!(
                        "{what} {text:?} is defined twice (first at {}): give one of them another id",
                        self.place(first)
                    );
                    self.report(&src, message);
                    continue;
                }
                seen.insert(text, src.clone());
                out.push(Defined { id, src, raw });
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    fn compile(&mut self, parsed: Vec<(usize, RawFile)>, calendar: Calendar) -> Option<Rota> {
        let mut trusts = Vec::new();
        let (mut people, mut rotations, mut services, mut overrides, mut swaps) =
            (vec![], vec![], vec![], vec![], vec![]);
        for (file, raw) in parsed {
            if let Some(t) = raw.trust {
                trusts.push((file, t));
            }
            people.push((file, raw.people));
            rotations.push((file, raw.rotations));
            services.push((file, raw.services));
            overrides.extend(raw.overrides.into_iter().map(|o| (file, o)));
            swaps.extend(raw.swaps.into_iter().map(|s| (file, s)));
        }
        let people = self.gather("person", people);
        let rotations = self.gather("rotation", rotations);
        let services = self.gather("service", services);

        let person_ix: HashMap<String, PersonIx> = people
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.to_string(), i as PersonIx))
            .collect();
        let rotation_ix: HashMap<String, RotationIx> = rotations
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.to_string(), i as RotationIx))
            .collect();
        let names = Names {
            people: &person_ix,
            rotations: &rotation_ix,
        };

        let (staff, coordinating): (Vec<Staff>, Vec<Option<(WorkingHours, Duration)>>) =
            people.into_iter().map(|d| self.person(d)).unzip();
        let coordinators = coordinating
            .into_iter()
            .enumerate()
            .filter_map(|(ix, c)| {
                let (hours, ack_within) = c?;
                let level = Level {
                    who: Who::People(vec![ix as PersonIx]),
                    ack_within,
                    repeat: 0,
                };
                Some((ix as PersonIx, super::Coordinator { hours, level }))
            })
            .collect();
        let compiled_rotations: Vec<Rotation> = rotations
            .into_iter()
            .filter_map(|d| self.rotation(d, &names))
            .collect();

        let mut gap_alerts = None;
        let mut max_on_call = Some(super::DEFAULT_MAX_ON_CALL_IN_A_ROW);
        let (trust_name, fallback, trust_managers) = match trusts.len() {
            0 => {
                self.report_file(0, "no [trust] section in any rota file: add one with name = \"…\" and a [trust.fallback] level, as in rota/README.md");
                (String::new(), None, Vec::new())
            }
            n => {
                if n > 1 {
                    let (file, t) = &trusts[1];
                    let src = Src {
                        file: *file,
                        span: t.span(),
                    };
                    self.report(&src, "a second [trust] section: keep one, in trust.toml");
                }
                let (file, t) = trusts.swap_remove(0);
                let src = Src {
                    file,
                    span: t.span(),
                };
                let t = t.into_inner();
                let fallback = match t.fallback {
                    Some(level) => self.level(file, level, &names, "the trust fallback"),
                    None => {
                        self.report(&src, "[trust] has no fallback: add [trust.fallback] with rotation = \"…\" (for example the site duty manager), so no service is ever left with nobody");
                        None
                    }
                };
                let managers = self.managers(file, &t.managers, &names, &staff);
                gap_alerts = match &t.gap_alerts {
                    Some(text) => self.schedule(file, text),
                    None => Some(
                        super::GapAlerts::parse(super::DEFAULT_GAP_ALERTS)
                            .expect("the default schedule parses"),
                    ),
                };
                if let Some(text) = &t.max_on_call_in_a_row {
                    max_on_call = self.max_on_call(file, text);
                }
                (t.name, fallback, managers)
            }
        };

        let compiled_services: Vec<Service> = services
            .into_iter()
            .filter_map(|d| self.service(d, &names, &staff))
            .collect();
        let covers = self.covers(overrides, swaps, &names, &compiled_rotations, &staff);

        if !self.problems.is_empty() {
            return None;
        }
        let people_by_id = staff
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i as PersonIx))
            .collect();
        let services_by_id = compiled_services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i as ServiceIx))
            .collect();
        // Replies are recognised by number; where two people share one (a
        // team phone), the first by id answers for it.
        let mut people_by_phone: HashMap<PhoneNumber, PersonIx> = HashMap::new();
        for (i, person) in staff.iter().enumerate() {
            for contact in &person.contacts {
                if let ContactMethod::Sms(n) | ContactMethod::Voice(n) = contact {
                    people_by_phone.entry(n.clone()).or_insert(i as PersonIx);
                }
            }
        }
        Some(Rota {
            trust_name,
            calendar,
            people: staff,
            people_by_id,
            people_by_phone,
            services: compiled_services,
            services_by_id,
            rotations: compiled_rotations,
            fallback: fallback?,
            covers,
            managers: trust_managers,
            gap_alerts: gap_alerts?,
            max_on_call_in_a_row: max_on_call?,
            coordinators,
        })
    }

    /// The longest stretch on call in a row before an edit is warned about
    /// (`max_on_call_in_a_row = "24h"`): from 1 hour to 14 days.
    fn max_on_call(&mut self, file: usize, text: &Spanned<String>) -> Option<chrono::TimeDelta> {
        let src = Src {
            file,
            span: text.span(),
        };
        match humantime::parse_duration(text.get_ref().trim()) {
            Ok(d) if d >= Duration::from_secs(3600) && d <= Duration::from_secs(14 * 24 * 3600) => {
                chrono::TimeDelta::from_std(d).ok()
            }
            Ok(_) => {
                self.report(&src, format!("max_on_call_in_a_row = {:?} is out of range: write between \"1h\" and \"14days\", like \"24h\"", text.get_ref()));
                None
            }
            Err(_) => {
                self.report(&src, format!("max_on_call_in_a_row = {:?} is not a duration: write one like \"24h\" or \"36h\"", text.get_ref()));
                None
            }
        }
    }

    /// A cron schedule for gap alerts (`gap_alerts = "0 17 * * *"`).
    fn schedule(&mut self, file: usize, text: &Spanned<String>) -> Option<super::GapAlerts> {
        match super::GapAlerts::parse(text.get_ref()) {
            Ok(s) => Some(s),
            Err(e) => {
                self.report(
                    &Src { file, span: text.span() },
                    format!("gap_alerts = {:?} is not a schedule ({e}): write minute, hour, day of month, month and day of week, UK time, e.g. \"0 17 * * *\" for 17:00 every day", text.get_ref()),
                );
                None
            }
        }
    }

    /// The people a `managers = [...]` list names, each checked against
    /// people.toml (an unknown one is reported like any other name).
    fn managers(
        &mut self,
        file: usize,
        raw: &[Spanned<String>],
        names: &Names<'_>,
        staff: &[Staff],
    ) -> Vec<Id> {
        let mut ids: Vec<Id> = raw
            .iter()
            .filter_map(|p| self.resolve_person(names, file, p))
            .map(|ix| staff[ix as usize].id.clone())
            .collect();
        ids.dedup();
        ids
    }

    /// A person, and their own working hours and wait for an accept if
    /// they are a care co-ordinator (`hours` on the person).
    fn person(&mut self, d: Defined<RawPerson>) -> (Staff, Option<(WorkingHours, Duration)>) {
        let Defined { id, src, raw } = d;
        let problems_before = self.problems.len();
        let file = src.file;
        let coordinating = self.coordinating(&id, file, &raw);
        let phone = raw.phone.and_then(|p| {
            let s = Src {
                file,
                span: p.span(),
            };
            PhoneNumber::parse(p.get_ref())
                .map_err(|e| self.report(&s, format!("phone: {e}")))
                .ok()
        });
        let email = raw.email.and_then(|e| {
            let s = Src {
                file,
                span: e.span(),
            };
            EmailAddress::parse(e.get_ref())
                .map_err(|err| self.report(&s, format!("email: {err}")))
                .ok()
        });
        let notify: Vec<Spanned<String>> = match raw.notify {
            Some(n) => n,
            None => {
                let mut n = Vec::new();
                if phone.is_some() {
                    n.push(Spanned::new(src.span.clone(), "sms".to_owned()));
                    n.push(Spanned::new(src.span.clone(), "voice".to_owned()));
                }
                if email.is_some() {
                    n.push(Spanned::new(src.span.clone(), "email".to_owned()));
                }
                n
            }
        };
        let mut contacts = Vec::new();
        let mut after = Vec::new();
        for method in notify {
            let s = Src {
                file,
                span: method.span(),
            };
            // "voice after 3m": the method, and how long after a page it is tried.
            let (name, delay) = match method.get_ref().split_once(" after ") {
                None => (method.get_ref().trim(), None),
                Some((name, delay)) => match humantime::parse_duration(delay.trim()) {
                    Ok(d) if d <= Duration::from_secs(3600) => (name.trim(), Some(d)),
                    _ => {
                        self.report(&s, format!("notify {:?}: write how long after a page to try it, up to an hour, like \"voice after 3m\"", method.get_ref()));
                        continue;
                    }
                },
            };
            if contacts.is_empty() && delay.is_some() {
                self.report(&s, format!("notify {:?}: the first way to reach someone is tried at once; put the delay on a later one, like notify = [\"sms\", \"voice after 3m\"]", method.get_ref()));
                continue;
            }
            let contact = match (name, &phone, &email) {
                ("sms", Some(p), _) => ContactMethod::Sms(p.clone()),
                ("voice", Some(p), _) => ContactMethod::Voice(p.clone()),
                ("email", _, Some(e)) => ContactMethod::Email(e.clone()),
                ("sms" | "voice", None, _) => {
                    self.report(
                        &s,
                        format!(
                            "{id} is to be notified by {name} but has no phone: add phone = \"07…\""
                        ),
                    );
                    continue;
                }
                ("email", _, None) => {
                    self.report(&s, format!("{id} is to be notified by email but has no email: add email = \"…@nhs.net\""));
                    continue;
                }
                (other, _, _) => {
                    self.report(&s, format!("notify {other:?} is not a contact method: write \"sms\", \"voice\" or \"email\""));
                    continue;
                }
            };
            if !contacts.contains(&contact) {
                contacts.push(contact);
                after.push(delay);
            }
        }
        if contacts.is_empty() && self.problems.len() == problems_before {
            self.report(
                &src,
                format!(
                    "{id} has no way to be reached: add phone = \"07…\" or email = \"…@nhs.net\""
                ),
            );
        }
        // Names and roles reach patients' and clinicians' phones: no control characters.
        let staff = Staff {
            id,
            name: clean_line(&raw.name),
            role: clean_line(&raw.role),
            patient_role: raw.patient_role.as_deref().map(clean_line),
            contacts,
            after,
        };
        (staff, coordinating)
    }

    /// A person's `hours` and `ack_within`, which make them someone an
    /// enrolment may name as care co-ordinator.
    fn coordinating(
        &mut self,
        id: &Id,
        file: usize,
        raw: &RawPerson,
    ) -> Option<(WorkingHours, Duration)> {
        let Some(h) = &raw.hours else {
            if let Some(a) = &raw.ack_within {
                self.report(
                    &Src { file, span: a.span() },
                    format!("ack_within on {id} is how long to wait for them as a care co-ordinator, but they have no hours: add hours = {{ weekdays = \"09:00-17:00\" }}, or delete ack_within"),
                );
            }
            return None;
        };
        let src = Src {
            file,
            span: h.span(),
        };
        let hours = self.hours(&src, h.get_ref())?;
        if !hours.has_in_hours_team() {
            self.report(
                &src,
                format!("hours = \"none\" on {id} would make them a care co-ordinator who is never first contact: give their working hours, like hours = {{ weekdays = \"09:00-17:00\" }}, or delete hours"),
            );
            return None;
        }
        let ack_within = self.ack_within(file, raw.ack_within.as_ref())?;
        Some((hours, ack_within))
    }

    fn rotation(&mut self, d: Defined<RawRotation>, names: &Names<'_>) -> Option<Rotation> {
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

    fn service(
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
                self.report(
                    &Src {
                        file,
                        span: raw.division.span(),
                    },
                    format!("division: {e}"),
                );
                None
            }
        };
        let hours = match &raw.hours {
            None => Some(WorkingHours::rcgp()),
            Some(h) => self.hours(
                &Src {
                    file,
                    span: h.span(),
                },
                h.get_ref(),
            ),
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
                super::DEFAULT_LIVE_FOR.num_seconds() as u64
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
            None => Some(crate::checkins::CheckIns::after_discharge(
                &crate::checkins::DEFAULT_AFTER_DISCHARGE,
            )),
            Some(c) => {
                let list = serde_json::Value::from(c.get_ref().clone());
                match crate::checkins::CheckIns::parse(&list) {
                    Ok(plan) => Some(plan),
                    Err(e) => {
                        self.report(
                            &Src {
                                file,
                                span: c.span(),
                            },
                            format!("check_ins: {e}; or [] for none"),
                        );
                        None
                    }
                }
            }
        };
        let answer_within = match &raw.check_in_answer_within {
            None => Some(crate::checkins::DEFAULT_ANSWER_WITHIN),
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
        Some(Service {
            check_ins: check_ins?,
            check_in_answer_within: answer_within?,
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

    fn level(
        &mut self,
        file: usize,
        raw: Spanned<RawLevel>,
        names: &Names<'_>,
        whose: &str,
    ) -> Option<Level> {
        let src = Src {
            file,
            span: raw.span(),
        };
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
                    self.report(
                        &Src {
                            file,
                            span: r.span(),
                        },
                        message,
                    );
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
    fn ack_within(&mut self, file: usize, raw: Option<&Spanned<String>>) -> Option<Duration> {
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

    fn resolve_person(
        &mut self,
        names: &Names<'_>,
        file: usize,
        p: &Spanned<String>,
    ) -> Option<PersonIx> {
        match names.people.get(p.get_ref()) {
            Some(&ix) => Some(ix),
            None => {
                let message = format!(
                    "no person {:?}{}",
                    p.get_ref(),
                    suggest(p.get_ref(), names.people.keys())
                );
                self.report(
                    &Src {
                        file,
                        span: p.span(),
                    },
                    message,
                );
                None
            }
        }
    }

    fn days(&mut self, src: &Src, text: &str) -> Option<u32> {
        match humantime::parse_duration(text) {
            Ok(d)
                if d.as_secs() > 0
                    && d.as_secs() % 86_400 == 0
                    && d.subsec_nanos() == 0
                    && d.as_secs() / 86_400 <= 366 =>
            {
                Some((d.as_secs() / 86_400) as u32)
            }
            _ => {
                self.report(src, format!("length = {text:?}: write whole days or weeks, like \"1d\", \"7d\" or \"2w\""));
                None
            }
        }
    }

    fn time_of_day(&mut self, src: &Src, value: &toml::Value, what: &str) -> Option<NaiveTime> {
        let parsed = match value {
            toml::Value::String(s) => NaiveTime::parse_from_str(s, "%H:%M").ok(),
            toml::Value::Datetime(dt) if dt.date.is_none() => dt.time.and_then(|t| {
                NaiveTime::from_hms_opt(u32::from(t.hour), u32::from(t.minute), u32::from(t.second))
            }),
            _ => None,
        };
        if parsed.is_none() {
            self.report(
                src,
                format!("{what} = {value}: write a 24-hour local time, like \"08:00\""),
            );
        }
        parsed
    }

    fn date(&mut self, src: &Src, value: &toml::Value, what: &str) -> Option<NaiveDate> {
        let parsed = match value {
            toml::Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            toml::Value::Datetime(dt) if dt.time.is_none() => dt.date.and_then(|d| {
                NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
            }),
            _ => None,
        };
        if parsed.is_none() {
            self.report(
                src,
                format!("{what} = {value}: write a date, like 2026-12-07"),
            );
        }
        parsed
    }

    fn moment(&mut self, src: &Src, value: &toml::Value, what: &str) -> Option<Instant> {
        if let toml::Value::Datetime(dt) = value
            && dt.offset.is_some()
        {
            let parsed = chrono::DateTime::parse_from_rfc3339(&dt.to_string()).ok();
            if parsed.is_none() {
                self.report(
                    src,
                    format!(
                        "{what} = {dt}: write a local (UK) date and time, like 2026-12-24T18:30:00"
                    ),
                );
            }
            return parsed.map(|t| t.with_timezone(&chrono::Utc));
        }
        let local = match value {
            toml::Value::String(s) => [
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
            .or_else(|| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            }),
            toml::Value::Datetime(dt) if dt.offset.is_none() => match (dt.date, dt.time) {
                (Some(d), Some(t)) => {
                    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                        .and_then(|d| {
                            d.and_hms_opt(
                                u32::from(t.hour),
                                u32::from(t.minute),
                                u32::from(t.second),
                            )
                        })
                }
                (Some(d), None) => {
                    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                }
                _ => None,
            },
            _ => None,
        };
        if local.is_none() {
            self.report(
                src,
                format!(
                    "{what} = {value}: write a local (UK) date and time, like 2026-12-24T18:30:00"
                ),
            );
        }
        local.map(instant_of)
    }

    fn hours(&mut self, src: &Src, value: &toml::Value) -> Option<WorkingHours> {
        const HINT: &str = "write hours = \"rcgp\" (08:00–18:30 Monday to Friday), hours = \"none\" (no in-hours team), or a table like hours = { weekdays = \"08:00-20:00\", saturday = \"09:00-13:00\" }";
        match value {
            toml::Value::String(s) if s == "rcgp" => Some(WorkingHours::rcgp()),
            toml::Value::String(s) if s == "none" => Some(WorkingHours::always_out_of_hours()),
            toml::Value::Table(table) => {
                let mut days: [Option<Span>; 7] = [None; 7];
                let mut open_on_bank_holidays = false;
                let mut ok = true;
                // Broad keys first, so a named day can refine "weekdays".
                let mut keys: Vec<_> = table.iter().collect();
                keys.sort_by_key(|(k, _)| {
                    !matches!(k.as_str(), "weekdays" | "weekend" | "every_day")
                });
                for (key, v) in keys {
                    if key == "bank_holidays" {
                        match v.as_str() {
                            Some("closed") => open_on_bank_holidays = false,
                            Some("open") => open_on_bank_holidays = true,
                            _ => {
                                self.report(src, format!("hours.bank_holidays = {v}: write \"closed\" (the default: out of hours all day) or \"open\""));
                                ok = false;
                            }
                        }
                        continue;
                    }
                    let targets: Vec<usize> = match key.as_str() {
                        "weekdays" => (0..5).collect(),
                        "weekend" => vec![5, 6],
                        "every_day" => (0..7).collect(),
                        other => match parse_weekday(other) {
                            Some(d) => vec![d.num_days_from_monday() as usize],
                            None => {
                                self.report(src, format!("hours.{other}: not a day; {HINT}"));
                                ok = false;
                                continue;
                            }
                        },
                    };
                    let span = match v.as_str() {
                        Some("closed") => None,
                        Some(text) => match parse_span(text) {
                            Some(span) => Some(span),
                            None => {
                                self.report(src, format!("hours.{key} = {text:?}: write a range like \"08:00-18:30\", or \"closed\""));
                                ok = false;
                                continue;
                            }
                        },
                        None => {
                            self.report(src, format!("hours.{key} = {v}: write a range like \"08:00-18:30\", or \"closed\""));
                            ok = false;
                            continue;
                        }
                    };
                    for t in targets {
                        days[t] = span;
                    }
                }
                ok.then(|| WorkingHours::new(days, open_on_bank_holidays))
            }
            other => {
                self.report(src, format!("hours = {other}: {HINT}"));
                None
            }
        }
    }

    fn covers(
        &mut self,
        overrides: Vec<(usize, Spanned<RawOverride>)>,
        swaps: Vec<(usize, Spanned<RawSwap>)>,
        names: &Names<'_>,
        rotations: &[Rotation],
        staff: &[Staff],
    ) -> CoverBook {
        let mut on_rotation_for = Vec::new();
        let mut on_rotation = Vec::new();
        let mut for_person = Vec::new();
        for (file, o) in overrides {
            let src = Src {
                file,
                span: o.span(),
            };
            let o = o.into_inner();
            let s = |span: Range<usize>| Src { file, span };
            let covering = match &o.covering {
                Some(c) => self.resolve_person(names, file, c).map(Some),
                None => Some(None),
            };
            let replacing = match &o.replacing {
                Some(p) => self.resolve_person(names, file, p).map(Some),
                None => Some(None),
            };
            let rotation = match &o.rotation {
                Some(r) => match names.rotations.get(r.get_ref()) {
                    Some(&ix) => Some(Some(ix)),
                    None => {
                        let message = format!(
                            "no rotation {:?}{}",
                            r.get_ref(),
                            suggest(r.get_ref(), names.rotations.keys())
                        );
                        self.report(&s(r.span()), message);
                        None
                    }
                },
                None => Some(None),
            };
            let from = self.moment(&s(o.from.span()), o.from.get_ref(), "from");
            let until = self.moment(&s(o.until.span()), o.until.get_ref(), "until");
            let (Some(covering), Some(replacing), Some(rotation), Some(from), Some(until)) =
                (covering, replacing, rotation, from, until)
            else {
                continue;
            };
            if until <= from {
                self.report(&s(o.until.span()), "until is not after from: an override covers [from, until), so write an until later than from");
                continue;
            }
            if rotation.is_none() && replacing.is_none() {
                self.report(&src, "an override names whom it replaces (for = \"…\"), the rotation it holds (rotation = \"…\"), or both");
                continue;
            }
            if covering.is_some() && covering == replacing {
                self.report(
                    &src,
                    "covering and for name the same person: nothing changes; delete this override",
                );
                continue;
            }
            let cover = Cover {
                from,
                until,
                covering,
                replacing,
                source: self.place(&src),
                reason: o.reason,
            };
            match (rotation, replacing) {
                (Some(r), Some(p)) => on_rotation_for.push((r, p, cover)),
                (Some(r), None) => on_rotation.push((r, cover)),
                (None, Some(p)) => for_person.push((p, cover)),
                (None, None) => unreachable!("rejected above"),
            }
        }
        for (file, swap) in swaps {
            let src = Src {
                file,
                span: swap.span(),
            };
            let swap = swap.into_inner();
            let Some(&r) = names.rotations.get(swap.rotation.get_ref()) else {
                let message = format!(
                    "no rotation {:?}{}",
                    swap.rotation.get_ref(),
                    suggest(swap.rotation.get_ref(), names.rotations.keys())
                );
                self.report(
                    &Src {
                        file,
                        span: swap.rotation.span(),
                    },
                    message,
                );
                continue;
            };
            let Some(rotation) = rotations
                .iter()
                .find(|rot| rot.id.as_str() == swap.rotation.get_ref())
            else {
                continue; // the rotation itself has problems, already reported
            };
            if swap.shifts.get_ref().len() != 2 {
                self.report(&Src { file, span: swap.shifts.span() }, "a swap trades exactly two shifts: write shifts = [2026-12-21, 2027-01-04], the days they start");
                continue;
            }
            let mut shifts = Vec::new();
            for shift in swap.shifts.get_ref() {
                let s = Src {
                    file,
                    span: shift.span(),
                };
                let Some(date) = self.date(&s, shift.get_ref(), "shift") else {
                    continue;
                };
                match rotation.shift_starting_on(date) {
                    Some(k) => shifts.push(k),
                    None => {
                        let (before, after) = rotation.nearest_shift_starts(date);
                        self.report(
                            &s,
                            format!(
                                "no {} shift starts on {date} ({}): write {}",
                                rotation.id,
                                date.weekday(),
                                match before {
                                    Some(b) => format!("{b} or {after}"),
                                    None => after.to_string(),
                                }
                            ),
                        );
                    }
                }
            }
            let [a, b] = shifts[..] else { continue };
            let holder = |k: u64| rotation.members[(k % rotation.members.len() as u64) as usize];
            let (pa, pb) = (holder(a), holder(b));
            if pa == pb {
                self.report(
                    &src,
                    format!(
                        "both shifts are held by {}: a swap needs two people; pick another shift",
                        staff[pa as usize].id
                    ),
                );
                continue;
            }
            for (k, holder, covering) in [(a, pa, pb), (b, pb, pa)] {
                let cover = Cover {
                    from: instant_of(rotation.shift_start(k)),
                    until: instant_of(rotation.shift_start(k + 1)),
                    covering: Some(covering),
                    replacing: Some(holder),
                    source: self.place(&src),
                    reason: swap.reason.clone().or_else(|| Some("swap".to_owned())),
                };
                on_rotation_for.push((r, holder, cover));
            }
        }
        let book = CoverBook::new(
            rotations.len().max(names.rotations.len()),
            staff.len().max(names.people.len()),
            on_rotation_for,
            on_rotation,
            for_person,
        );
        let overlaps: Vec<(String, String)> = book
            .all_intervals()
            .filter_map(|i| i.first_overlap())
            .map(|(a, b)| (a.source.clone(), b.source.clone()))
            .collect();
        for (a, b) in overlaps {
            let (file, line) = b
                .rsplit_once(':')
                .map(|(f, l)| (f.to_owned(), l.parse().ok()))
                .unwrap_or((b.clone(), None));
            self.problems.push(Problem {
                file,
                line,
                message: format!("this cover overlaps the one at {a}, which covers the same person or rotation: end one before the other starts"),
            });
        }
        book
    }
}

struct Names<'a> {
    people: &'a HashMap<String, PersonIx>,
    rotations: &'a HashMap<String, RotationIx>,
}

fn parse_weekday(s: &str) -> Option<Weekday> {
    let s = s.to_ascii_lowercase();
    [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ]
    .into_iter()
    .find(|d| {
        let full = match d {
            Weekday::Mon => "monday",
            Weekday::Tue => "tuesday",
            Weekday::Wed => "wednesday",
            Weekday::Thu => "thursday",
            Weekday::Fri => "friday",
            Weekday::Sat => "saturday",
            Weekday::Sun => "sunday",
        };
        s == full || s == full[..3]
    })
}

fn parse_span(text: &str) -> Option<Span> {
    let (a, b) = text.split_once('-')?;
    let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
    let b = b.trim();
    let b = if b == "24:00" {
        NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999)?
    } else {
        NaiveTime::parse_from_str(b, "%H:%M").ok()?
    };
    Span::new(a, b)
}

/// ", did you mean \"x\"?" for the closest known name, or a list of them.
fn suggest<'a>(wrong: &str, known: impl Iterator<Item = &'a String>) -> String {
    let mut known: Vec<&String> = known.collect();
    if known.is_empty() {
        return ": none is defined yet".to_owned();
    }
    known.sort_by_key(|k| (strsim::levenshtein(wrong, k), k.as_str()));
    if strsim::levenshtein(wrong, known[0]) <= wrong.len().max(3) / 3 {
        format!(": did you mean {:?}?", known[0])
    } else {
        let list: Vec<String> = known.iter().take(5).map(|k| format!("{k:?}")).collect();
        format!(
            ": write one of {}{}",
            list.join(", "),
            if known.len() > 5 { ", …" } else { "" }
        )
    }
}
