use std::path::Path;

use super::evidence::{find, missing};
use super::*;

/// A log of one hazard, with `control` as its controls and `rest` after
/// them (residual risk and status).
fn log(control: &str, rest: &str) -> String {
    format!(
        r#"
version = "1.0"

[[hazard]]
id = "NH-001"
title = "A page reaches nobody"
description = "The on-call nurse's phone never gets the page."
causes = ["The number is wrong"]
effect = "Nobody looks at the concern."
harm = "Treatment is delayed."
initial = {{ likelihood = "medium", severity = "major", rating = 3 }}
reviewed = "2026-12-08"
{rest}
{control}
"#
    )
}

const CLOSED: &str = r#"residual = { likelihood = "low", severity = "major", rating = 3 }
status = "closed""#;

fn problems(text: &str) -> Vec<String> {
    match HazardLog::parse(text) {
        Ok(_) => Vec::new(),
        Err(LogError::Rules(p)) => p,
        Err(e) => vec![e.to_string()],
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_matrix_is_the_uk_core_hazard_logs() {
    use Likelihood::*;
    use Severity::*;
    let row = |l| Severity::ALL.map(|s| Rating::of(l, s).get());
    assert_eq!(row(VeryHigh), [3, 4, 4, 5, 5]);
    assert_eq!(row(High), [2, 3, 3, 4, 5]);
    assert_eq!(row(Medium), [2, 2, 3, 3, 4]);
    assert_eq!(row(Low), [1, 2, 2, 3, 4]);
    assert_eq!(row(VeryLow), [1, 1, 2, 2, 3]);
    assert_eq!(Rating::of(Low, Catastrophic).get(), 4);
    assert!(Rating::of(Low, Catastrophic).must_be_transferred());
    assert!(!Rating::of(Medium, Major).must_be_transferred());
}

#[test]
fn a_hazard_with_a_tested_control_reads_whole() {
    let text = log(
        r#"[[hazard.control]]
kind = "design"
text = "A refused page goes to the next level at once."
tests = ["tests/api/stories.rs::a_page_twilio_refuses_fails_over_too"]"#,
        CLOSED,
    );
    let log = HazardLog::parse(&text).unwrap();
    let hazard = &log.hazards[0];
    assert_eq!(hazard.id.to_string(), "NH-001");
    assert_eq!(hazard.initial.rating.get(), 3);
    assert_eq!(hazard.status, Status::Closed);
    assert_eq!(
        hazard.tests().map(ToString::to_string).collect::<Vec<_>>(),
        ["tests/api/stories.rs::a_page_twilio_refuses_fails_over_too"]
    );
    assert!(missing(&log, repo()).is_empty());
}

#[test]
fn a_hazard_with_no_control_is_refused() {
    assert_eq!(
        problems(&log("", CLOSED)),
        ["NH-001: it has no control; name at least one"]
    );
}

#[test]
fn a_design_or_test_control_naming_no_test_is_refused_unless_planned_on_an_open_hazard() {
    let untested = r#"[[hazard.control]]
kind = "test"
text = "Tested somewhere."
"#;
    assert_eq!(
        problems(&log(untested, CLOSED)),
        ["NH-001: control 1 is a test control and names no test that shows it"]
    );
    let planned = format!("{untested}planned = true");
    assert_eq!(
        problems(&log(&planned, CLOSED)),
        ["NH-001: control 1 is still planned, so the hazard stays open"]
    );
    let open = CLOSED.replace("\"closed\"", "\"open\"");
    assert!(problems(&log(&planned, &open)).is_empty());
    let training = r#"[[hazard.control]]
kind = "training"
text = "Staff are taught to text from their own phone."
"#;
    assert!(problems(&log(training, CLOSED)).is_empty());
}

#[test]
fn a_residual_four_or_five_must_be_transferred_with_its_reason() {
    let control = r#"[[hazard.control]]
kind = "business-process"
text = "The trust keeps 999 and 111 in every leaflet."
"#;
    let high = r#"residual = { likelihood = "low", severity = "catastrophic", rating = 4 }"#;
    let initial_high = |rest: &str| {
        log(control, rest).replace(
            r#"initial = { likelihood = "medium", severity = "major", rating = 3 }"#,
            r#"initial = { likelihood = "medium", severity = "catastrophic", rating = 4 }"#,
        )
    };
    assert_eq!(
        problems(&initial_high(&format!("{high}\nstatus = \"open\""))),
        [
            "NH-001: its residual rating is 4: control it further, or mark it transferred to the deploying trust with the reason"
        ]
    );
    assert_eq!(
        problems(&initial_high(&format!("{high}\nstatus = \"transferred\""))),
        [
            "NH-001: it is transferred but gives no transfer_reason",
            "NH-001: its residual rating is 4: control it further, or mark it transferred to the deploying trust with the reason"
        ]
    );
    let transferred = format!(
        "{high}\nstatus = \"transferred\"\ntransfer_reason = \"Only the trust can keep 999 in view.\""
    );
    let log = HazardLog::parse(&initial_high(&transferred)).unwrap();
    assert_eq!(
        log.hazards[0].status,
        Status::Transferred {
            reason: "Only the trust can keep 999 in view.".into()
        }
    );
}

#[test]
fn a_rating_the_matrix_does_not_give_is_refused() {
    let text = log(
        r#"[[hazard.control]]
kind = "training"
text = "Taught."
"#,
        &CLOSED.replace("rating = 3", "rating = 2"),
    );
    assert_eq!(
        problems(&text),
        [
            "NH-001: the residual rating is 2, but the matrix gives Low likelihood and Major severity 3"
        ]
    );
}

#[test]
fn test_paths_name_a_file_then_the_test() {
    let t = TestPath::parse("src/directory/phone.rs::tests::uk_mobiles_are_mobiles").unwrap();
    assert_eq!(t.file, "src/directory/phone.rs");
    assert_eq!(t.modules, ["tests"]);
    assert_eq!(t.name, "uk_mobiles_are_mobiles");
    assert!(TestPath::parse("stories.rs::a").is_err());
    assert!(TestPath::parse("tests/api/stories.rs").is_err());
    assert!(TestPath::parse("tests/api/stories.rs::not a name").is_err());
}

#[test]
fn a_misnamed_test_a_missing_module_or_a_plain_function_is_not_found() {
    let found = |path: &str| find(repo(), &TestPath::parse(path).unwrap());
    assert_eq!(
        found("tests/api/stories.rs::a_page_twilio_refuses_fails_over_to"),
        Err("is not a function in that file".into())
    );
    assert_eq!(
        found("tests/api/nowhere.rs::a_page_twilio_refuses_fails_over_too"),
        Err("names a file that is not there".into())
    );
    assert_eq!(
        found("src/directory/phone.rs::elsewhere::uk_mobiles_are_mobiles"),
        Err("names a module `elsewhere` the file does not have".into())
    );
    assert_eq!(
        found("src/store/conformance/mod.rs::redis_store"),
        Err("is a function in the conformance folder, but the `conformance!` list in src/store/conformance/mod.rs does not run it".into())
    );
    assert_eq!(
        found("src/safety/tests.rs::log"),
        Err("is a function but not a test".into())
    );
    assert_eq!(
        found("src/directory/phone.rs::tests::uk_mobiles_are_mobiles"),
        Ok(())
    );
    assert_eq!(
        found("src/escalation/tests.rs::a_pass_escalates_at_once"),
        Ok(())
    );
    assert_eq!(
        found("src/store/conformance/nodes.rs::two_nodes_claiming_at_once_each_get_different_work"),
        Ok(())
    );
}

#[test]
fn the_page_names_each_hazard_its_ratings_controls_and_tests() {
    let text = log(
        r#"[[hazard.control]]
kind = "design"
text = "A refused page goes to the next level at once."
tests = ["tests/api/stories.rs::a_page_twilio_refuses_fails_over_too"]

[[hazard.control]]
kind = "business-process"
text = "The trust checks its numbers."
"#,
        CLOSED,
    );
    let page = HazardLog::parse(&text).unwrap().to_markdown();
    assert!(
        page.contains(
            "| [NH-001](#nh-001) | A page reaches nobody | 3 | 3 | Closed | 2026-12-08 |"
        ),
        "{page}"
    );
    assert!(page.contains("| initial | Medium | Major | 3 |"), "{page}");
    assert!(
        page.contains("2. *Business process.* The trust checks its numbers."),
        "{page}"
    );
    assert!(
        page.contains("   - `tests/api/stories.rs::a_page_twilio_refuses_fails_over_too`"),
        "{page}"
    );
    assert!(page.contains("| Very high | 3 | 4 | 4 | 5 | 5 |"), "{page}");
}
