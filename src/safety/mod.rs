//! The clinical safety hazard log (DCB0129), as data.
//!
//! `docs/safety/hazards.toml` holds one entry per hazard in the shape of
//! NHS England's own UK Core Hazard Log: what can go wrong, its causes,
//! its effect and the harm it could do; the risk before controls and
//! after them, each a likelihood and a severity read off the log's 5×5
//! matrix ([`Rating::of`]); the controls, each a design, test, training or
//! business-process measure, where every design or test control names the
//! tests that show it; the status and the date it was last reviewed.
//!
//! [`HazardLog::parse`] reads that file into types that cannot hold a log
//! breaking the rules a safety officer relies on: a rating that disagrees
//! with the matrix, a hazard with no control, a design or test control
//! naming no test (unless it is marked planned, on an open hazard), a
//! residual risk of 4 or 5 not transferred to the deploying trust with the
//! reason. Every problem is reported at once, each naming its hazard.
//! Whether each named test exists is [`evidence`]'s question, asked of the
//! source tree; the page a safety officer reads, `docs/safety/hazard-log.md`,
//! is [`render`]ed from the data (`nightingale safety hazard-log`), and a
//! test keeps the committed page current (`tests/safety.rs`).

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub mod evidence;
mod render;

/// How likely harm is, as the UK Core Hazard Log grades it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Likelihood {
    /// Negligible or nearly negligible possibility of occurring.
    VeryLow,
    /// Could occur but in the great majority of occasions will not.
    Low,
    /// Possible.
    Medium,
    /// Not certain but very possible; reasonably expected in most cases.
    High,
    /// Certain or almost certain.
    VeryHigh,
}

/// How bad the harm would be (the UK Core Hazard Log's "consequence").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Minor injury, recovered from in the short term; upset; inconvenience (one patient).
    Minor,
    /// Minor injury not recovered from in the short term, or significant
    /// psychological trauma (one patient); minor injuries (several).
    Significant,
    /// Severe injury recovered from in the short term, or severe
    /// psychological trauma (one patient); lasting minor injuries (several).
    Considerable,
    /// Death or permanent life-changing incapacity (one patient); severe
    /// injuries or trauma (several).
    Major,
    /// Death or permanent life-changing incapacity (several patients).
    Catastrophic,
}

impl Likelihood {
    /// Every grade, lowest first.
    pub const ALL: [Likelihood; 5] = [
        Likelihood::VeryLow,
        Likelihood::Low,
        Likelihood::Medium,
        Likelihood::High,
        Likelihood::VeryHigh,
    ];

    /// As the log writes it: "Very low".
    pub fn label(self) -> &'static str {
        match self {
            Likelihood::VeryLow => "Very low",
            Likelihood::Low => "Low",
            Likelihood::Medium => "Medium",
            Likelihood::High => "High",
            Likelihood::VeryHigh => "Very high",
        }
    }
}

impl Severity {
    /// Every grade, least first.
    pub const ALL: [Severity; 5] = [
        Severity::Minor,
        Severity::Significant,
        Severity::Considerable,
        Severity::Major,
        Severity::Catastrophic,
    ];

    /// As the log writes it: "Considerable".
    pub fn label(self) -> &'static str {
        match self {
            Severity::Minor => "Minor",
            Severity::Significant => "Significant",
            Severity::Considerable => "Considerable",
            Severity::Major => "Major",
            Severity::Catastrophic => "Catastrophic",
        }
    }
}

/// The UK Core Hazard Log's risk matrix, row by likelihood (very low
/// first), column by severity (minor first), as NHS England publishes it
/// (`UK-Core-Hazard-Log/Home/Index.page.md`, "Risk Matrix").
const MATRIX: [[u8; 5]; 5] = [
    [1, 1, 2, 2, 3], // very low
    [1, 2, 2, 3, 4], // low
    [2, 2, 3, 3, 4], // medium
    [2, 3, 3, 4, 5], // high
    [3, 4, 4, 5, 5], // very high
];

/// A risk rating, 1 (acceptable) to 5 (unacceptable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Rating(u8);

impl Rating {
    /// The rating the matrix gives a likelihood and a severity.
    pub fn of(likelihood: Likelihood, severity: Severity) -> Rating {
        Rating(MATRIX[likelihood as usize][severity as usize])
    }

    /// 1 to 5.
    pub fn get(self) -> u8 {
        self.0
    }

    /// What the rating asks for, in the log's words.
    pub fn meaning(self) -> &'static str {
        match self.0 {
            5 => "Unacceptable level of risk.",
            4 => "Mandatory elimination or control to reduce risk to an acceptable level.",
            3 => {
                "Undesirable level of risk; acceptable only when further risk reduction is impractical."
            }
            2 => "Acceptable where cost of further reduction outweighs benefits gained.",
            _ => "Acceptable, no further action required.",
        }
    }

    /// Whether the manufacturer may not carry this risk itself: 4 and 5
    /// must be transferred to the deploying trust, with the reason.
    pub fn must_be_transferred(self) -> bool {
        self.0 >= 4
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A likelihood, a severity and the rating the matrix gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Risk {
    /// How likely.
    pub likelihood: Likelihood,
    /// How bad.
    pub severity: Severity,
    /// From the matrix.
    pub rating: Rating,
}

/// A hazard's id: `NH-` and three digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct HazardId(String);

impl HazardId {
    /// `NH-001`, `NH-042`; anything else is refused.
    pub fn parse(text: &str) -> Option<HazardId> {
        let digits = text.strip_prefix("NH-")?;
        (digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| HazardId(text.to_owned()))
    }
}

impl fmt::Display for HazardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of measure a control is, as the UK Core Hazard Log groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlKind {
    /// Built into the software; shown by tests.
    Design,
    /// A test that would fail if the hazard came back.
    Test,
    /// What the people who use it are taught.
    Training,
    /// What the deploying trust does around it.
    BusinessProcess,
}

impl ControlKind {
    /// As the log writes it.
    pub fn label(self) -> &'static str {
        match self {
            ControlKind::Design => "Design",
            ControlKind::Test => "Test",
            ControlKind::Training => "Training",
            ControlKind::BusinessProcess => "Business process",
        }
    }

    /// Whether a control of this kind must name the tests that show it.
    pub fn needs_tests(self) -> bool {
        matches!(self, ControlKind::Design | ControlKind::Test)
    }
}

/// A test named by its path in the test suite:
/// `tests/api/stories.rs::a_page_twilio_refuses_fails_over_too`, or
/// `src/directory/phone.rs::tests::uk_mobiles_are_mobiles` for a test in a
/// module inside a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TestPath {
    /// The file, relative to the repository: under `src/` or `tests/`, ending `.rs`.
    pub file: String,
    /// Modules inside the file on the way to the test (often none).
    pub modules: Vec<String>,
    /// The test function's name.
    pub name: String,
}

impl TestPath {
    /// Reads `FILE::[MODULE::]NAME`, or says what to write instead.
    pub fn parse(text: &str) -> Result<TestPath, String> {
        let mut parts = text.split("::");
        let file = parts.next().unwrap_or_default();
        if !(file.starts_with("src/") || file.starts_with("tests/")) || !file.ends_with(".rs") {
            return Err(format!(
                "`{text}` is not a test's path: write the file under src/ or tests/, then `::` and the test's name, e.g. tests/api/stories.rs::a_page_twilio_refuses_fails_over_too"
            ));
        }
        let mut rest: Vec<String> = parts.map(str::to_owned).collect();
        let identifier = |s: &String| {
            !s.is_empty()
                && !s.starts_with(|c: char| c.is_ascii_digit())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        match rest.pop() {
            Some(name) if identifier(&name) && rest.iter().all(identifier) => Ok(TestPath {
                file: file.to_owned(),
                modules: rest,
                name,
            }),
            _ => Err(format!(
                "`{text}` does not end in a test's name: after the file write `::` and the function's name"
            )),
        }
    }
}

impl Serialize for TestPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for TestPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        for module in &self.modules {
            write!(f, "::{module}")?;
        }
        write!(f, "::{}", self.name)
    }
}

/// One measure against a hazard.
#[derive(Debug, Clone, Serialize)]
pub struct Control {
    /// Design, test, training or business process.
    pub kind: ControlKind,
    /// What it is, in a sentence or two.
    pub text: String,
    /// The tests that show it (design and test controls).
    pub tests: Vec<TestPath>,
    /// Still being built: it names no test yet, and its hazard stays open.
    pub planned: bool,
}

/// Where a hazard stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Status {
    /// Controls still to be built or shown.
    Open,
    /// Controlled to an acceptable residual risk, with evidence.
    Closed,
    /// Handed to the deploying trust to control under DCB0160.
    Transferred {
        /// Why the trust, not the software, must carry it.
        reason: String,
    },
}

impl Status {
    /// As the log writes it.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Open => "Open",
            Status::Closed => "Closed",
            Status::Transferred { .. } => "Transferred to the deploying trust",
        }
    }
}

/// One hazard, as the UK Core Hazard Log records one.
#[derive(Debug, Clone, Serialize)]
pub struct Hazard {
    /// `NH-001`.
    pub id: HazardId,
    /// A line.
    pub title: String,
    /// What can go wrong (the log's "Hazard Description").
    pub description: String,
    /// How it could come about ("Possible Causes").
    pub causes: Vec<String>,
    /// What happens then.
    pub effect: String,
    /// The harm a patient could come to ("Potential Clinical Impact").
    pub harm: String,
    /// The risk before the controls ("Initial Risk Rating").
    pub initial: Risk,
    /// The measures against it.
    pub controls: Vec<Control>,
    /// The risk left with the controls in place ("Residual Hazard Risk Rating").
    pub residual: Risk,
    /// Open, closed or transferred.
    pub status: Status,
    /// When it was last reviewed.
    pub reviewed: NaiveDate,
}

impl Hazard {
    /// Every test its controls name.
    pub fn tests(&self) -> impl Iterator<Item = &TestPath> {
        self.controls.iter().flat_map(|c| c.tests.iter())
    }
}

/// The whole log.
#[derive(Debug, Clone, Serialize)]
pub struct HazardLog {
    /// The log's version, recorded with each release (`docs/safety/releases.md`).
    pub version: String,
    /// The hazards, by id.
    pub hazards: Vec<Hazard>,
}

/// Why a hazard log could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// Which file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not TOML in the log's shape.
    #[error("the hazard log is not in its shape: {0}")]
    Shape(String),
    /// It breaks the log's rules; every problem, each naming its hazard.
    #[error("the hazard log breaks its rules:\n{}", .0.join("\n"))]
    Rules(Vec<String>),
}

impl HazardLog {
    /// Reads the log at `path` (see [`HazardLog::parse`]).
    pub fn load(path: &Path) -> Result<HazardLog, LogError> {
        let text = std::fs::read_to_string(path).map_err(|source| LogError::Read {
            path: path.display().to_string(),
            source,
        })?;
        HazardLog::parse(&text)
    }

    /// Reads a log from its TOML, or says every rule it breaks.
    pub fn parse(text: &str) -> Result<HazardLog, LogError> {
        let raw: raw::Log = toml::from_str(text).map_err(|e| LogError::Shape(e.to_string()))?;
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        let mut hazards = Vec::new();
        for hazard in raw.hazard {
            let label = hazard.id.clone();
            match hazard.read() {
                Ok(h) if !seen.insert(h.id.clone()) => {
                    problems.push(format!("{label}: the id is used twice"))
                }
                Ok(h) => hazards.push(h),
                Err(found) => problems.extend(found.into_iter().map(|p| format!("{label}: {p}"))),
            }
        }
        if raw.version.trim().is_empty() {
            problems.push("the log has no version".into());
        }
        if problems.is_empty() {
            Ok(HazardLog {
                version: raw.version,
                hazards,
            })
        } else {
            Err(LogError::Rules(problems))
        }
    }

    /// The page a safety officer reads, `docs/safety/hazard-log.md`.
    pub fn to_markdown(&self) -> String {
        render::markdown(self)
    }
}

/// The file as written, before its rules are checked.
mod raw {
    use chrono::NaiveDate;
    use serde::Deserialize;

    use super::{
        Control, ControlKind, Hazard, HazardId, Likelihood, Rating, Risk, Severity, Status,
        TestPath,
    };

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Log {
        pub(super) version: String,
        #[serde(default)]
        pub(super) hazard: Vec<RawHazard>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct RawHazard {
        pub(super) id: String,
        title: String,
        description: String,
        causes: Vec<String>,
        effect: String,
        harm: String,
        initial: RawRisk,
        #[serde(default)]
        control: Vec<RawControl>,
        residual: RawRisk,
        status: RawStatus,
        #[serde(default)]
        transfer_reason: Option<String>,
        reviewed: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawRisk {
        likelihood: Likelihood,
        severity: Severity,
        rating: u8,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawControl {
        kind: ControlKind,
        text: String,
        #[serde(default)]
        tests: Vec<String>,
        #[serde(default)]
        planned: bool,
    }

    #[derive(Deserialize, PartialEq)]
    #[serde(rename_all = "kebab-case")]
    enum RawStatus {
        Open,
        Closed,
        Transferred,
    }

    impl RawRisk {
        fn read(&self, which: &str, say: &mut impl FnMut(String)) -> Risk {
            let rating = Rating::of(self.likelihood, self.severity);
            if rating.get() != self.rating {
                say(format!(
                    "the {which} rating is {}, but the matrix gives {} likelihood and {} severity {rating}",
                    self.rating,
                    self.likelihood.label(),
                    self.severity.label()
                ));
            }
            Risk {
                likelihood: self.likelihood,
                severity: self.severity,
                rating,
            }
        }
    }

    impl RawHazard {
        /// The hazard, or every rule it breaks.
        pub(super) fn read(self) -> Result<Hazard, Vec<String>> {
            let mut problems = Vec::new();
            let mut say = |what: String| problems.push(what);
            let id = HazardId::parse(&self.id);
            if id.is_none() {
                say("an id is NH- and three digits, e.g. NH-007".into());
            }
            for (field, text) in [
                ("title", &self.title),
                ("description", &self.description),
                ("effect", &self.effect),
                ("harm", &self.harm),
            ] {
                if text.trim().is_empty() {
                    say(format!("the {field} is empty"));
                }
            }
            if self.causes.iter().all(|c| c.trim().is_empty()) {
                say("no cause is given".into());
            }
            let reviewed = NaiveDate::parse_from_str(&self.reviewed, "%Y-%m-%d");
            if reviewed.is_err() {
                say(format!(
                    "reviewed is `{}`; write the date as YYYY-MM-DD",
                    self.reviewed
                ));
            }
            let initial = self.initial.read("initial", &mut say);
            let residual = self.residual.read("residual", &mut say);
            if residual.rating > initial.rating {
                say("the residual rating is above the initial one".into());
            }
            if self.control.is_empty() {
                say("it has no control; name at least one".into());
            }
            let mut controls = Vec::new();
            for (n, c) in self.control.into_iter().enumerate() {
                let n = n + 1;
                let mut tests = Vec::new();
                for t in &c.tests {
                    match TestPath::parse(t) {
                        Ok(t) => tests.push(t),
                        Err(why) => say(format!("control {n}: {why}")),
                    }
                }
                if c.text.trim().is_empty() {
                    say(format!("control {n} says nothing"));
                }
                if c.planned && !tests.is_empty() {
                    say(format!(
                        "control {n} is planned but names tests; once it has tests it is no longer planned"
                    ));
                }
                if c.planned && self.status != RawStatus::Open {
                    say(format!(
                        "control {n} is still planned, so the hazard stays open"
                    ));
                }
                if c.kind.needs_tests() && !c.planned && tests.is_empty() {
                    say(format!(
                        "control {n} is a {} control and names no test that shows it",
                        c.kind.label().to_lowercase()
                    ));
                }
                controls.push(Control {
                    kind: c.kind,
                    text: c.text,
                    tests,
                    planned: c.planned,
                });
            }
            let reason = self.transfer_reason.filter(|r| !r.trim().is_empty());
            let status = match (self.status, reason) {
                (RawStatus::Transferred, Some(reason)) => Status::Transferred { reason },
                (RawStatus::Transferred, None) => {
                    say("it is transferred but gives no transfer_reason".into());
                    Status::Open
                }
                (_, Some(_)) => {
                    say("it has a transfer_reason but is not transferred".into());
                    Status::Open
                }
                (RawStatus::Open, None) => Status::Open,
                (RawStatus::Closed, None) => Status::Closed,
            };
            if residual.rating.must_be_transferred()
                && !matches!(status, Status::Transferred { .. })
            {
                say(format!(
                    "its residual rating is {}: control it further, or mark it transferred to the deploying trust with the reason",
                    residual.rating
                ));
            }
            let (Some(id), Ok(reviewed), true) = (id, reviewed, problems.is_empty()) else {
                return Err(problems);
            };
            Ok(Hazard {
                id,
                title: self.title,
                description: self.description,
                causes: self.causes,
                effect: self.effect,
                harm: self.harm,
                initial,
                controls,
                residual,
                status,
                reviewed,
            })
        }
    }
}

#[cfg(test)]
mod tests;
