//! Reading rota files: TOML in, a compiled [`Rota`] out — or every problem
//! found, each naming the file, the line and what to write instead.
//!
//! A rota directory holds any number of `*.toml` files; each may define
//! `[trust]`, `[people.*]`, `[rotations.*]`, `[services.*]`, `[[overrides]]`
//! and `[[swaps]]`, and may refer to what the others define. The format is
//! documented with a complete example in `rota/README.md`.

mod covers;
mod names;
mod people;
mod raw;
mod services;
mod values;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::cover::RotationIx;
use super::rotation::{PersonIx, Rotation};
use super::{Level, Rota, Service, ServiceIx, Who};
use crate::calendar::{Calendar, WorkingHours};
use crate::directory::{ContactMethod, Id, PhoneNumber, Staff};

use names::Names;
use raw::RawFile;

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
        locations: HashMap::new(),
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

/// The default wait for an accept at each level.
pub const DEFAULT_ACK_WITHIN: Duration = Duration::from_secs(10 * 60);

// ---- compilation -------------------------------------------------------------

struct Compiler<'a> {
    files: &'a [(String, String)],
    /// Per file, the byte offset at which each line starts.
    line_starts: Vec<Vec<usize>>,
    problems: Vec<Problem>,
    /// Each EPR location (`locations = [...]`) met so far, with the service
    /// that claimed it: one location maps to one service.
    locations: HashMap<String, Id>,
}

/// Where something was written: file index and byte span.
#[derive(Debug, Clone)]
struct Src {
    file: usize,
    span: Range<usize>,
}

impl Src {
    /// Where `value` was written in file `file`.
    fn of<T>(file: usize, value: &Spanned<T>) -> Self {
        Self {
            file,
            span: value.span(),
        }
    }
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
                let src = Src::of(file, &key);
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
                let src = Src::of(file, &t);
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
        let src = Src::of(file, text);
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
}
