//! The week's report in a real Chromium: Ward 7's manager opens it on her
//! phone, reads the figures and the chart, and a registrar without the
//! role is refused; axe-core finds nothing on either page.

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

use chrono::Duration;

use support::browser::Browser;
use support::nightingale::MARGARET;
use support::staff::{browser_app, on_call, sign_in_browser, text_browser_app};

/// Wendy Clarke, Ward 7 manager, as she types her number.
const WENDY: &str = "07700 900131";
/// Arthur Hughes, another patient of the ward.
const ARTHUR: &str = "+447700900811";

#[tokio::test]
async fn the_ward_manager_reads_fridays_figures_and_a_registrar_is_refused_them() {
    let app = browser_app("2026-11-27T20:30").await;
    let (_, registrar) = on_call("cardiology-ward-7", "2026-11-27T20:30", 1);
    app.enrol_margaret("cardiology-ward-7").await;
    app.enrol_patient("Arthur Hughes", ARTHUR, "cardiology-ward-7")
        .await;
    app.settle().await;

    // Margaret's text is accepted after four minutes; Arthur's reaches the
    // consultant after two unanswered pages to the registrar.
    text_browser_app(&app, MARGARET, "My ankles are more swollen tonight").await;
    app.settle().await;
    let code = support::nightingale::TestApp::code_in(&app.twilio.messages_to(&registrar)[0]);
    app.advance(Duration::minutes(4)).await;
    text_browser_app(&app, &registrar, &format!("A{code}")).await;
    app.settle().await;
    text_browser_app(&app, ARTHUR, "I feel dizzy when I stand up").await;
    app.settle().await;
    app.advance(Duration::minutes(10)).await;
    app.advance(Duration::minutes(10)).await;

    let browser = Browser::start(390, 844, true).await;
    sign_in_browser(&browser, &app, WENDY, "/staff/reports").await;
    browser.wait_for_text("h1", "Reports").await;
    browser.assert_accessible("the reports page").await;
    browser
        .press("a[href='/staff/reports/cardiology-ward-7?week=2026-W48']")
        .await;
    browser.wait_for_text("h1", "Week 2026-W48").await;
    let table = browser.text_of("#figures").await;
    for row in [
        "Concerns raised 2",
        "Raised by text message 2",
        "Accepted 1",
        "Never accepted 1",
        "Median time to accept 4 min",
        "Reached level 1 2",
        "Reached level 2 1",
        "Pages that failed 0",
    ] {
        assert!(table.contains(row), "{row} in {table}");
    }
    assert_eq!(
        browser.attr_of("svg.ng-report-chart", "role").await,
        "img",
        "the chart is one image with a title and description"
    );
    // Its look comes from our stylesheet (the policy allows no inline
    // style): NHS blue bars, and weeks in a row.
    let look = browser
        .client
        .execute(
            "return [getComputedStyle(document.querySelector('.ng-report-chart rect')).fill,
                     getComputedStyle(document.querySelector('.ng-report-weeks')).display];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(look, serde_json::json!(["rgb(0, 94, 184)", "flex"]));
    assert_eq!(
        browser.attr_of("a[download]", "href").await,
        "/staff/reports/cardiology-ward-7.csv?week=2026-W48"
    );
    browser.assert_accessible("a week's report").await;
    browser.save_screenshot("staff-report.png").await;
    browser
        .client
        .execute("document.getElementById('chart').scrollIntoView()", vec![])
        .await
        .unwrap();
    browser.save_screenshot("staff-report-chart.png").await;

    // The week chooser works without JavaScript's help: a plain GET form.
    browser.press("#week option[value='2026-W47']").await;
    browser.press("form[method='get'] button").await;
    browser.wait_for_text("h1", "Week 2026-W47").await;
    let table = browser.text_of("#figures").await;
    assert!(table.contains("Concerns raised 0"), "{table}");

    // The registrar has no part in the reports.
    browser.press(".ng-staff-nav__sign-out button").await;
    browser.wait_for_text("h1", "You have signed out").await;
    sign_in_browser(
        &browser,
        &app,
        &registrar,
        "/staff/reports/cardiology-ward-7",
    )
    .await;
    browser
        .wait_for_text("h1", "You do not have access to this service")
        .await;
    browser.assert_accessible("the refusal of a report").await;
    browser.close().await;
}

/// Grace Adeyemi, the district nurses' in-hours co-ordinator that week.
const GRACE: &str = "07700 900201";

#[tokio::test]
async fn the_district_nurses_morning_handover_lists_the_night_and_passes_axe() {
    // Tuesday 24 November, 22:00: Margaret's dressing; at 02:10 Arthur is dizzy.
    let app = browser_app("2026-11-24T22:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.enrol_patient("Arthur Hughes", ARTHUR, "community-nursing-north")
        .await;
    app.settle().await;
    text_browser_app(&app, MARGARET, "My leg dressing is soaked through").await;
    app.settle().await;
    let (nurse_name, nurse) = on_call("community-nursing-north", "2026-11-24T22:00", 1);
    let code = support::nightingale::TestApp::code_in(&app.twilio.messages_to(&nurse)[0]);
    text_browser_app(
        &app,
        &nurse,
        &format!("R{code} Changed the dressing at home"),
    )
    .await;
    app.settle().await;
    app.advance(Duration::hours(4) + Duration::minutes(10))
        .await;
    text_browser_app(&app, ARTHUR, "I feel dizzy when I stand up").await;
    app.settle().await;
    for _ in 0..7 {
        app.advance(Duration::minutes(50)).await;
    }
    assert!(
        app.twilio
            .messages()
            .iter()
            .any(|m| m.body.starts_with("Nightingale handover")),
        "the handover went at 08:00"
    );

    let browser = Browser::start(390, 844, true).await;
    sign_in_browser(
        &browser,
        &app,
        GRACE,
        "/staff/handover/community-nursing-north",
    )
    .await;
    browser
        .wait_for_text("h1", "Handover: Community nursing, north locality")
        .await;
    let table = browser.text_of("table").await;
    for words in [
        "My leg dressing is soaked through",
        &format!("Closed by {nurse_name}"),
        "Changed the dressing at home",
        "I feel dizzy when I stand up",
        "Not yet taken",
    ] {
        assert!(table.contains(words), "{words} in {table}");
    }
    browser.assert_accessible("the morning handover").await;
    browser.close().await;
}
