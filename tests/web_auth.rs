//! Staff on the web in a real Chromium: a clinician signs in with the
//! code texted to them, and is refused a manager's page; every page passes
//! axe-core.

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

use support::browser::Browser;
use support::staff::{browser_app, sign_in_browser};

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
