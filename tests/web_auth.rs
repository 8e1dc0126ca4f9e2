//! Staff on the web in a real Chromium: a clinician signs in with the
//! code texted to them, and is refused a manager's page; every page passes
//! axe-core.

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

use support::browser::Browser;
use support::staff::{browser_app, on_call, sign_in_browser, text_browser_app};

/// Amara Okafor, cardiology registrar, as she types her number.
const AMARA: &str = "07700 900111";

#[tokio::test]
async fn amara_signs_in_with_the_texted_code_and_is_refused_the_ward_managers_page() {
    let app = browser_app("2026-11-27T19:05").await;
    let browser = Browser::start(390, 844, true).await;

    browser
        .goto(&format!("{}/staff/sign-in", app.address))
        .await;
    browser.wait_for_text("h1", "Sign in").await;
    browser.assert_accessible("the sign-in page").await;

    sign_in_browser(&browser, &app, AMARA, "/staff").await;
    browser.wait_for_text("h1", "Amara Okafor").await;
    browser.assert_accessible("the staff home page").await;
    let services = browser.text_of("main").await;
    assert!(services.contains("Cardiology Ward 7"), "{services}");

    browser
        .goto(&format!("{}/staff/services/cardiology-ward-7", app.address))
        .await;
    browser
        .wait_for_text("h1", "You do not have access to this service")
        .await;
    browser.assert_accessible("the refusal page").await;

    browser.goto(&format!("{}/staff", app.address)).await;
    browser.press(".ng-staff-nav__sign-out button").await;
    browser.wait_for_text("h1", "You have signed out").await;
    browser.goto(&format!("{}/staff", app.address)).await;
    browser.wait_for_text("h1", "Sign in").await;
    browser.close().await;
}

/// Save a screenshot where `NIGHTINGALE_SCREENSHOTS` says (docs/ when
/// retaking the README's), else in the temporary directory.
async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.client.screenshot().await.unwrap();
    let dir = std::env::var_os("NIGHTINGALE_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test]
async fn the_registrar_paged_tonight_signs_in_sees_her_shifts_and_accepts_the_concern() {
    use support::nightingale::MARGARET;
    let app = browser_app("2026-11-27T21:00").await;
    let (name, phone) = on_call("cardiology-ward-7", "2026-11-27T21:00", 1);
    app.enrol_margaret("cardiology-ward-7").await;
    text_browser_app(&app, MARGARET, "My ankles are more swollen tonight").await;
    app.settle().await;

    let browser = Browser::start(390, 844, true).await;
    sign_in_browser(&browser, &app, &phone, "/staff/concerns").await;
    browser.wait_for_text("h1", "My concerns").await;
    browser.assert_accessible("My concerns").await;
    browser.wait_for_text("main", "Margaret Evans").await;
    browser.press(".ng-concerns a").await;
    browser
        .wait_for_text("main", "My ankles are more swollen tonight")
        .await;
    browser
        .assert_accessible("a concern on the staff pages")
        .await;
    browser.press("button[value='accept']").await;
    // The press is stored when the browser's POST lands; the engine then
    // takes it in. Settle and reload until the page says so.
    let _ = name;
    let accepted = "You have accepted this";
    let deadline = tokio::time::Instant::now() + support::browser::PATIENCE;
    loop {
        app.settle().await;
        browser.reload().await;
        if browser.text_of("main").await.contains(accepted) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never accepted");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser
        .assert_accessible("a concern she has accepted")
        .await;
    screenshot(&browser, "staff-concern.png").await;

    browser.press("a[href='/staff/shifts']").await;
    browser.wait_for_text("h1", "My shifts").await;
    browser
        .wait_for_text("main", "Cardiology Ward 7, level 1 (out of hours)")
        .await;
    browser.assert_accessible("My shifts").await;
    screenshot(&browser, "staff-shifts.png").await;

    browser.press("a[href='/staff/calendar']").await;
    browser
        .wait_for_text("h1", "Your shifts in your calendar")
        .await;
    browser.assert_accessible("the calendar page").await;
    browser.press("button[value='create']").await;
    browser.wait_for_text("main", "/calendar/").await;
    browser
        .assert_accessible("the calendar page with its new link")
        .await;
    browser.close().await;
}

#[tokio::test]
async fn a_ward_manager_sees_the_wards_page() {
    let app = browser_app("2026-11-27T19:05").await;
    let browser = Browser::start(1280, 900, true).await;
    sign_in_browser(&browser, &app, "07700 900131", "/staff/services").await;
    browser.wait_for_text("h1", "Services you manage").await;
    browser
        .assert_accessible("the services a manager manages")
        .await;
    browser
        .press("a[href='/staff/services/cardiology-ward-7']")
        .await;
    browser.wait_for_text("h1", "Cardiology Ward 7").await;
    browser.wait_for_text("main", "Wendy Clarke").await;
    browser.assert_accessible("a service's page").await;
    browser.close().await;
}

/// In a real Chromium, with JavaScript on and off: Kiran opens his page's
/// link and taps Accept; the page he lands on, with no reload, says he
/// has it and offers Resolve; he resolves it there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiran_taps_accept_on_his_pages_link_and_the_page_he_lands_on_says_he_has_it() {
    use support::nightingale::{MARGARET, TestApp};
    use support::staff::BROWSER_PUBLIC_URL;
    for javascript in [false, true] {
        let app = TestApp::spawn_running_with(
            "2026-11-27T19:00",
            std::time::Duration::from_secs(10),
            |c| c.public_url = BROWSER_PUBLIC_URL.to_owned(),
        )
        .await;
        app.enrol_margaret("community-nursing-north").await;
        app.clock.advance(chrono::Duration::minutes(5));
        text_browser_app(&app, MARGARET, "My leg dressing is soaked through").await;
        let page = app
            .twilio
            .wait_for_messages_to("+447700900213", 1, std::time::Duration::from_secs(20))
            .await[0]
            .clone();
        let link = page
            .body
            .split_whitespace()
            .find(|w| w.starts_with(&format!("{BROWSER_PUBLIC_URL}/l/")))
            .expect("the page carries its short link")
            .replace(BROWSER_PUBLIC_URL, &app.address);

        let browser = Browser::start(390, 844, javascript).await;
        browser.goto(&link).await;
        browser
            .wait_for_text("main", "Waiting for someone to accept")
            .await;
        browser.press("button[value='accept']").await;
        // No reload: what the browser landed on must say it.
        let landed = landed_on(&browser, "You have accepted this").await;
        assert!(
            !landed.contains("Waiting for someone to accept"),
            "{landed}"
        );
        let accept = browser
            .client
            .find_all(fantoccini::Locator::Css("button[value='accept']"))
            .await
            .unwrap();
        assert!(accept.is_empty(), "Accept is gone");
        browser.press("button[value='resolve']").await;
        landed_on(&browser, "Resolved at").await;
        browser.close().await;
    }
}

/// The text of the page the browser is on once it says `wanted`, read
/// again (never reloaded) until the browser has followed the form's
/// redirect.
async fn landed_on(browser: &Browser, wanted: &str) -> String {
    let deadline = tokio::time::Instant::now() + support::browser::PATIENCE;
    loop {
        let text = browser.client.find(fantoccini::Locator::Css("main")).await;
        if let Ok(main) = text
            && let Ok(text) = main.text().await
            && text.contains(wanted)
        {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page never said {wanted:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
