//! The hazard log's check, as CI runs it (`scripts/test`).
//!
//! `docs/safety/hazards.toml` must keep the log's rules (every hazard has a
//! control; every design or test control names its tests, unless planned
//! on an open hazard; a residual 4 or 5 is transferred with its reason;
//! ratings are the matrix's), every test it names must exist in this
//! repository's source as a test CI runs, and `docs/safety/hazard-log.md`
//! must be what the data gives. Each failure says what to do.

use std::path::Path;

use nightingale::safety::HazardLog;
use nightingale::safety::evidence;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn the_log() -> HazardLog {
    HazardLog::load(&repo().join("docs/safety/hazards.toml"))
        .unwrap_or_else(|e| panic!("docs/safety/hazards.toml: {e}"))
}

#[test]
fn every_test_the_hazard_log_names_exists() {
    let log = the_log();
    let named = log.hazards.iter().flat_map(|h| h.tests()).count();
    assert!(named > 100, "the log names its evidence ({named} tests)");
    let missing: Vec<String> = evidence::missing(&log, repo())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        missing.is_empty(),
        "docs/safety/hazards.toml names tests that are not there; name the real test, or write it:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_hazard_log_page_is_current() {
    let page = repo().join("docs/safety/hazard-log.md");
    let committed = std::fs::read_to_string(&page).unwrap_or_default();
    assert!(
        committed == the_log().to_markdown(),
        "docs/safety/hazard-log.md is not what docs/safety/hazards.toml gives: run `cargo run -- safety hazard-log` and commit it"
    );
}

#[test]
fn the_check_fails_on_a_misnamed_test() {
    let text = std::fs::read_to_string(repo().join("docs/safety/hazards.toml")).unwrap();
    let real = "tests/api/stories.rs::a_page_twilio_refuses_fails_over_too";
    assert!(text.contains(real), "the log names {real}");
    let misnamed = text.replacen(
        real,
        "tests/api/stories.rs::a_page_twilio_refuses_fails_over",
        1,
    );
    let log = HazardLog::parse(&misnamed).unwrap();
    let missing: Vec<String> = evidence::missing(&log, repo())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        missing,
        [
            "NH-006: tests/api/stories.rs::a_page_twilio_refuses_fails_over is not a function in that file"
        ]
    );
}

#[test]
fn the_check_fails_on_a_hazard_with_no_control_or_an_untransferred_residual_four() {
    let text = std::fs::read_to_string(repo().join("docs/safety/hazards.toml")).unwrap();
    // NH-024's only control, taken away.
    let start = text.find("id = \"NH-024\"").unwrap();
    let control = start + text[start..].find("[[hazard.control]]").unwrap();
    let end = control + text[control..].find("\n[[hazard]]").unwrap();
    let without = format!("{}{}", &text[..control], &text[end..]);
    let error = HazardLog::parse(&without).unwrap_err().to_string();
    assert!(
        error.contains("NH-024: it has no control; name at least one"),
        "{error}"
    );

    // NH-013 kept at its initial rating of 4, and no longer transferred.
    let start = text.find("id = \"NH-013\"").unwrap();
    let end = start + text[start..].find("\n[[hazard]]").unwrap();
    let hazard = text[start..end]
        .replace(
            r#"residual = { likelihood = "low", severity = "major", rating = 3 }"#,
            r#"residual = { likelihood = "high", severity = "major", rating = 4 }"#,
        )
        .replace("status = \"transferred\"", "status = \"closed\"");
    let hazard: String = hazard
        .lines()
        .filter(|l| !l.starts_with("transfer_reason"))
        .map(|l| format!("{l}\n"))
        .collect();
    let kept = format!("{}{}{}", &text[..start], hazard, &text[end..]);
    let error = HazardLog::parse(&kept).unwrap_err().to_string();
    assert!(
        error.contains("NH-013: its residual rating is 4: control it further, or mark it transferred to the deploying trust with the reason"),
        "{error}"
    );
}

#[test]
fn this_version_is_in_the_release_record_with_the_hazard_log_it_ships() {
    let version = env!("CARGO_PKG_VERSION");
    let log = the_log().version;
    let record = std::fs::read_to_string(repo().join("docs/safety/releases.md")).unwrap();
    let recorded = record.lines().any(|line| {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        cells.get(1) == Some(&version) && cells.get(2) == Some(&log.as_str())
    });
    assert!(
        recorded,
        "docs/safety/releases.md has no row for release {version} with hazard log {log}: add one (see the top of that file)"
    );
}
