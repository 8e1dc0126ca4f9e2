//! Whether the tests a hazard log names exist, read from the source tree.
//!
//! A control that says "tested" with no test behind it is worse than none:
//! it reassures. So each test a control names is looked for where its path
//! says, in the real source: a function of that name in that file marked
//! `#[test]` or `#[tokio::test]` (and not `#[ignore]`d, since CI would not
//! run it), inside the modules the path names; or a case of the store's
//! conformance suite, a function in a file of `src/store/conformance/`
//! that the suite's `conformance!` list runs on every backend.
//!
//! This reads text, not Rust's syntax tree: it finds the attribute lines
//! just above `fn name(`, which is how every test here is written
//! (`cargo fmt` keeps them so).

use std::path::Path;

use super::{HazardLog, TestPath};

/// Where the store's conformance cases live, and the file whose
/// `conformance!` list makes each one a test on every backend.
const CONFORMANCE_DIR: &str = "src/store/conformance/";
const CONFORMANCE_LIST: &str = "src/store/conformance/mod.rs";

/// A named test that is not there, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The hazard whose control names it.
    pub hazard: String,
    /// The path as written.
    pub test: TestPath,
    /// What was not found.
    pub why: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} {}", self.hazard, self.test, self.why)
    }
}

/// Every test `log` names that is not in the source tree at `root` (the
/// repository: the folder holding `src/` and `tests/`).
pub fn missing(log: &HazardLog, root: &Path) -> Vec<Missing> {
    log.hazards
        .iter()
        .flat_map(|h| h.tests().map(move |t| (h, t)))
        .filter_map(|(h, t)| {
            find(root, t).err().map(|why| Missing {
                hazard: h.id.to_string(),
                test: t.clone(),
                why,
            })
        })
        .collect()
}

/// Finds one test, or says what is missing.
pub fn find(root: &Path, test: &TestPath) -> Result<(), String> {
    let text = std::fs::read_to_string(root.join(&test.file))
        .map_err(|_| "names a file that is not there".to_owned())?;
    for module in &test.modules {
        if !declares(&text, &format!("mod {module}")) {
            return Err(format!("names a module `{module}` the file does not have"));
        }
    }
    match attributes_of(&text, &test.name) {
        Some(attributes) if attributes.iter().any(|a| is_ignore(a)) => {
            Err("is #[ignore]d, so CI does not run it".to_owned())
        }
        Some(attributes) if attributes.iter().any(|a| is_test(a)) => Ok(()),
        Some(_) if is_conformance_case(root, test)? => Ok(()),
        Some(_) => Err("is a function but not a test".to_owned()),
        None => Err("is not a function in that file".to_owned()),
    }
}

/// The attribute lines just above `fn name(` in `text`, if it has one.
fn attributes_of(text: &str, name: &str) -> Option<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|line| is_fn(line.trim(), name))?;
    let mut attributes = Vec::new();
    for line in lines[..at].iter().rev().map(|l| l.trim()) {
        if line.starts_with("#[") {
            attributes.push(line.to_owned());
        } else if !(line.starts_with("///") || line.starts_with("//")) {
            break;
        }
    }
    Some(attributes)
}

/// Whether `line` starts a function called `name`.
fn is_fn(line: &str, name: &str) -> bool {
    let line = without_visibility(line);
    let line = line.strip_prefix("async ").unwrap_or(line);
    line.strip_prefix("fn ")
        .and_then(|rest| rest.strip_prefix(name))
        .is_some_and(|rest| rest.starts_with('(') || rest.starts_with('<'))
}

/// `line` without a leading `pub`, `pub(crate)`, `pub(super)`, ….
fn without_visibility(line: &str) -> &str {
    if let Some(rest) = line.strip_prefix("pub ") {
        return rest;
    }
    match line.strip_prefix("pub(").and_then(|r| r.split_once(") ")) {
        Some((_, rest)) => rest,
        None => line,
    }
}

fn is_test(attribute: &str) -> bool {
    attribute == "#[test]" || attribute.starts_with("#[tokio::test")
}

fn is_ignore(attribute: &str) -> bool {
    attribute.starts_with("#[ignore")
}

/// Whether `text` has a line starting with `declaration` as a whole word.
fn declares(text: &str, declaration: &str) -> bool {
    text.lines().any(|line| {
        without_visibility(line.trim())
            .strip_prefix(declaration)
            .is_some_and(|rest| rest.starts_with([' ', ';', '{']))
    })
}

/// Whether `test` is a case of the conformance suite: in its folder and
/// in its `conformance!` list.
fn is_conformance_case(root: &Path, test: &TestPath) -> Result<bool, String> {
    if !test.file.starts_with(CONFORMANCE_DIR) || !test.modules.is_empty() {
        return Ok(false);
    }
    let list = std::fs::read_to_string(root.join(CONFORMANCE_LIST)).map_err(|_| {
        format!("is in the conformance folder, but {CONFORMANCE_LIST} is not there")
    })?;
    let Some((_, cases)) = list.split_once("conformance! {") else {
        return Err(format!(
            "is in the conformance folder, but {CONFORMANCE_LIST} runs no `conformance!` list"
        ));
    };
    let cases = cases.split('}').next().unwrap_or_default();
    if cases
        .split(',')
        .map(str::trim)
        .any(|case| case == test.name)
    {
        Ok(true)
    } else {
        Err(format!(
            "is a function in the conformance folder, but the `conformance!` list in {CONFORMANCE_LIST} does not run it"
        ))
    }
}
