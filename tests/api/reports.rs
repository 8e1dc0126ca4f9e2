//! The week a clinical safety officer reviews: four concerns to Cardiology
//! Ward 7 on a Friday night, driven through the real SMS path, and the
//! report that shows exactly what happened to them, as a page and as CSV.

use chrono::Duration;

use crate::support::nightingale::TestApp;
use crate::support::staff::on_call;

/// Wendy Clarke manages Cardiology Ward 7.
const WENDY: &str = "07700 900131";
/// Grace Adeyemi manages community nursing, not the ward.
const GRACE: &str = "07700 900201";
/// The site duty manager on the trust-wide fallback that night.
const SAM: &str = "+447700900503";

/// The code in the last page `to` was sent.
fn last_code(app: &TestApp, to: &str) -> String {
    let pages = app.twilio.messages_to(to);
    TestApp::code_in(pages.last().expect("a page was sent"))
}

/// The value of the table row whose heading is `figure`.
fn figure(html: &str, figure: &str) -> String {
    let heading = format!(">{figure}</th>");
    let at = html
        .find(&heading)
        .unwrap_or_else(|| panic!("no row {figure:?} in {html}"));
    let rest = &html[at + heading.len()..];
    let start = rest.find('>').unwrap() + 1;
    rest[start..start + rest[start..].find('<').unwrap()].to_owned()
}

/// `nightingale report cardiology-ward-7 --week 2026-W48` on the app's store.
fn report_cli(app: &TestApp, more: &[&str]) -> std::process::Output {
    let mut args = vec!["report", "cardiology-ward-7", "--week", "2026-W48"];
    args.extend_from_slice(more);
    app.cli(&args)
}

#[tokio::test]
async fn a_friday_night_on_ward_7_is_reported_exactly_as_it_happened() {
    let app = TestApp::spawn("2026-11-27T20:30").await;
    let (_, registrar) = on_call("cardiology-ward-7", "2026-11-27T21:00", 1);
    let (_, consultant) = on_call("cardiology-ward-7", "2026-11-27T21:00", 2);
    let (_, senior) = on_call("cardiology-ward-7", "2026-11-27T21:00", 3);
    for (name, phone) in [
        ("Margaret Evans", "07700 900801"),
        ("Arthur Hughes", "07700 900811"),
        ("Bethan Lloyd", "07700 900812"),
        ("Colin Price", "07700 900813"),
    ] {
        app.enrol_patient(name, phone, "cardiology-ward-7").await;
    }
    app.settle().await;

    // 20:30 Margaret texts; the registrar accepts four minutes later, and resolves it.
    app.text("+447700900801", "My ankles are more swollen tonight")
        .await;
    app.settle().await;
    let code = last_code(&app, &registrar);
    app.advance(Duration::minutes(4)).await;
    app.text(&registrar, &format!("A{code}")).await;
    app.settle().await;
    app.advance(Duration::minutes(10)).await;
    app.text(&registrar, &format!("R{code} Advice on fluids given"))
        .await;
    app.settle().await;

    // 21:00 Arthur texts; the registrar is paged twice and does not answer;
    // the consultant is paged at 21:20 and accepts at 21:25.
    app.advance(Duration::minutes(16)).await;
    app.text("+447700900811", "I feel dizzy when I stand up")
        .await;
    app.settle().await;
    app.advance(Duration::minutes(10)).await;
    app.advance(Duration::minutes(10)).await;
    assert_eq!(
        app.twilio.messages_to(&consultant).len(),
        1,
        "level 2 after two unanswered pages at level 1"
    );
    app.advance(Duration::minutes(5)).await;
    app.text(&consultant, &format!("A{}", last_code(&app, &consultant)))
        .await;
    app.settle().await;

    // 21:30 Bethan texts; nobody on the ward's chain answers, and the
    // trust-wide fallback is paged at 22:15. Nobody accepts that night.
    app.advance(Duration::minutes(5)).await;
    app.text("+447700900812", "The wound is weeping").await;
    app.settle().await;
    app.advance(Duration::minutes(10)).await; // level 1 again
    app.advance(Duration::minutes(10)).await; // level 2
    app.advance(Duration::minutes(10)).await; // level 3
    assert!(!app.twilio.messages_to(&senior).is_empty(), "level 3 paged");
    assert!(app.twilio.messages_to(SAM).is_empty());
    app.advance(Duration::minutes(15)).await; // the fallback
    assert_eq!(app.twilio.messages_to(SAM).len(), 1, "the fallback paged");

    // 22:30 Colin texts; Twilio refuses the registrar's number for good, the
    // text and then the call to it: the page reaches nobody, so the
    // consultant is paged at once and accepts three minutes later.
    app.twilio.reject_number(&registrar, 21211);
    app.advance(Duration::minutes(15)).await;
    let before = app.twilio.messages_to(&consultant).len();
    app.text("+447700900813", "I am short of breath lying down")
        .await;
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(&consultant).len(),
        before + 1,
        "the failed page fails over to level 2 at once"
    );
    app.advance(Duration::minutes(3)).await;
    app.text(&consultant, &format!("A{}", last_code(&app, &consultant)))
        .await;
    app.settle().await;

    // Wendy, the ward's manager, reads the week.
    let wendy = app.sign_in(WENDY).await;
    let (status, index) = wendy.page("/staff/reports").await;
    assert_eq!(status, 200, "{index}");
    assert!(
        index.contains("/staff/reports/cardiology-ward-7?week=2026-W48"),
        "{index}"
    );
    assert!(!index.contains("community-nursing-north"), "{index}");
    let (status, page) = wendy
        .page("/staff/reports/cardiology-ward-7?week=2026-W48")
        .await;
    assert_eq!(status, 200, "{page}");
    let expected = [
        ("Concerns raised", "4"),
        ("Raised by text message", "4"),
        ("Raised by phone call", "0"),
        ("Accepted", "3"),
        ("Never accepted", "1"),
        // 3, 4 and 25 minutes: the second and the third.
        ("Median time to accept", "4 min"),
        ("90th percentile time to accept", "25 min"),
        ("Reached level 1", "4"),
        ("Reached level 2", "3"),
        ("Reached level 3", "1"),
        ("Reached the trust-wide fallback", "1"),
        ("Pages that failed", "1"),
    ];
    for (name, value) in expected {
        assert_eq!(figure(&page, name), value, "{name}");
    }
    assert!(page.contains("<svg"), "a chart");
    assert!(page.contains("<desc id=\"chart-desc\">Raised by text message: 4;"));
    // The week is the one asked for: the next is the current week.
    let (_, this_week) = wendy.page("/staff/reports/cardiology-ward-7").await;
    assert!(this_week.contains("Week 2026-W48"), "{this_week}");

    // The CSV has the same figures.
    let csv = wendy
        .get("/staff/reports/cardiology-ward-7.csv?week=2026-W48")
        .await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        csv.headers()["content-disposition"],
        "attachment; filename=\"cardiology-ward-7-2026-W48.csv\""
    );
    let csv = csv.text().await.unwrap();
    for line in [
        "concerns raised,4",
        "raised by text message,4",
        "raised by phone call,0",
        "accepted,3",
        "never accepted,1",
        "median seconds to accept,240",
        "90th percentile seconds to accept,1500",
        "reached level 1,4",
        "reached level 2,3",
        "reached level 3,1",
        "reached the fallback,1",
        "pages failed,1",
    ] {
        assert!(csv.lines().any(|l| l == line), "{line} in {csv}");
    }

    // `nightingale report` reads the same store and prints the same figures.
    let cli = report_cli(&app, &[]);
    assert!(cli.status.success(), "{cli:?}");
    let table = String::from_utf8(cli.stdout).unwrap();
    assert!(
        table.starts_with("Cardiology Ward 7 · week 2026-W48\n"),
        "{table}"
    );
    for (name, value) in expected {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(name) && l[name.len()..].trim() == value),
            "{name}: {value} in {table}"
        );
    }
    let cli_csv = report_cli(&app, &["--csv"]);
    assert_eq!(
        String::from_utf8(cli_csv.stdout).unwrap(),
        csv,
        "the same CSV"
    );

    // The week before has nothing; a week that is not one is refused plainly.
    let (_, before) = wendy
        .page("/staff/reports/cardiology-ward-7?week=2026-W47")
        .await;
    assert_eq!(figure(&before, "Concerns raised"), "0");
    assert_eq!(
        figure(&before, "Median time to accept"),
        "No concern was accepted"
    );
    let (status, bad) = wendy
        .page("/staff/reports/cardiology-ward-7?week=next")
        .await;
    assert_eq!(status, 400);
    assert!(bad.contains("such as 2026-W48"), "{bad}");
}

#[tokio::test]
async fn only_the_services_managers_see_its_report() {
    let app = TestApp::spawn("2026-11-27T20:30").await;
    // Grace manages community nursing: not the ward.
    let grace = app.sign_in(GRACE).await;
    let (status, page) = grace
        .page("/staff/reports/cardiology-ward-7?week=2026-W48")
        .await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("You do not have access to this service"));
    let csv = grace
        .get("/staff/reports/cardiology-ward-7.csv?week=2026-W48")
        .await;
    assert_eq!(csv.status(), 403);
    let (_, index) = grace.page("/staff/reports").await;
    assert!(index.contains("/staff/reports/community-nursing-north?week="));
    assert!(!index.contains("cardiology-ward-7"), "{index}");

    // A registrar manages nothing: no reports at all.
    let (_, registrar) = on_call("cardiology-ward-7", "2026-11-27T21:00", 1);
    let clinician = app.sign_in(&registrar).await;
    let (status, page) = clinician.page("/staff/reports").await;
    assert_eq!(status, 403, "{page}");
    let (status, _) = clinician
        .page("/staff/reports/cardiology-ward-7?week=2026-W48")
        .await;
    assert_eq!(status, 403);
    let (status, page) = clinician.page("/staff").await;
    assert_eq!(status, 200);
    assert!(
        !page.contains("/staff/reports"),
        "no Reports in the nav: {page}"
    );

    // Tara manages the whole trust: every service.
    let tara = app.sign_in("07700 900401").await;
    let (_, index) = tara.page("/staff/reports").await;
    for service in [
        "cardiology-ward-7",
        "community-nursing-north",
        "childrens-assessment-unit",
    ] {
        assert!(
            index.contains(&format!("/staff/reports/{service}?week=")),
            "{service}"
        );
    }
    let (status, _) = tara
        .page("/staff/reports/childrens-assessment-unit?week=2026-W48")
        .await;
    assert_eq!(status, 200);
    // No such service: not found.
    let (status, _) = tara.page("/staff/reports/no-such-ward").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_call_the_consultant_takes_live_after_the_registrar_misses_it_counts_its_wait_and_both_levels()
 {
    // Sunday 02:10: Margaret phones Ward 7. Dafydd, the registrar (level 1),
    // is rung; his voicemail answers the screen and presses nothing. Eleanor,
    // the consultant (level 2), takes the call 25 s after it came in.
    let app = TestApp::spawn("2026-11-29T02:10").await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;
    let mut call = app.phone(crate::support::nightingale::MARGARET).await;
    app.clock.advance(Duration::seconds(15));
    let screened = call.callee_answers("+447700900114", None).await;
    assert!(!screened.connected);
    app.clock.advance(Duration::seconds(10));
    let screened = call.callee_answers("+447700900121", Some("1")).await;
    assert!(screened.connected, "Eleanor takes it");
    assert_eq!(call.hang_up().await.status(), 200);
    app.settle().await;

    let out = report_cli(&app, &["--csv"]);
    let csv = String::from_utf8_lossy(&out.stdout);
    for line in [
        "raised by phone call,1",
        "raised by text message,0",
        "accepted,1",
        "median seconds to accept,25",
        "reached level 1,1",
        "reached level 2,1",
    ] {
        assert!(csv.lines().any(|l| l == line), "{line} in:\n{csv}");
    }
    let wendy = app.sign_in(WENDY).await;
    let (status, html) = wendy
        .page("/staff/reports/cardiology-ward-7?week=2026-W48")
        .await;
    assert_eq!(status, 200);
    assert_eq!(figure(&html, "Median time to accept"), "25 s");
    assert_eq!(figure(&html, "Reached level 2"), "1");
    assert_eq!(figure(&html, "Raised by phone call"), "1");
}
