//! The hazard log as the page a safety officer reads.
//!
//! The page's words and layout are a template, `docs/safety/hazard-log.md.j2`,
//! built into the binary: it is the manufacturer's document, generated from
//! the data beside it, not a text a trust edits (so it is not in
//! `templates/`, which a trust may change and start-up checks).

use minijinja::Environment;
use serde::Serialize;

use super::{HazardLog, Likelihood, Rating, Severity};

const TEMPLATE: &str = include_str!("../../docs/safety/hazard-log.md.j2");

/// One row of the matrix as the page prints it.
#[derive(Serialize)]
struct Row {
    likelihood: &'static str,
    ratings: Vec<u8>,
}

/// One rating and what it asks for.
#[derive(Serialize)]
struct Meaning {
    rating: u8,
    meaning: &'static str,
}

/// Renders `log` as `docs/safety/hazard-log.md`.
pub(super) fn markdown(log: &HazardLog) -> String {
    let mut env = Environment::new();
    env.add_filter("label", |value: String| label(&value));
    let matrix: Vec<Row> = Likelihood::ALL
        .iter()
        .rev()
        .map(|&l| Row {
            likelihood: l.label(),
            ratings: Severity::ALL
                .iter()
                .map(|&s| Rating::of(l, s).get())
                .collect(),
        })
        .collect();
    let meanings: Vec<Meaning> = (1..=5)
        .rev()
        .map(|r| Meaning {
            rating: r,
            meaning: Rating(r).meaning(),
        })
        .collect();
    let severities: Vec<&str> = Severity::ALL.iter().map(|s| s.label()).collect();
    let statuses: Vec<&str> = log.hazards.iter().map(|h| h.status.label()).collect();
    let context = minijinja::context! {
        log,
        matrix,
        meanings,
        severities,
        statuses,
    };
    // The template is built in and its context is fixed: a failure here is
    // a mistake in this file, found by the test that renders the log.
    env.render_str(TEMPLATE, context)
        .expect("the hazard log template renders")
}

/// A serialised enum value as the page writes it: `very-high` as "Very high".
fn label(value: &str) -> String {
    let words = value.replace('-', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
