//! Staff signing in on the web with a texted code: sessions, forgery,
//! roles, refusals.

use chrono::Duration;

use crate::support::nightingale::TestApp;
use crate::support::staff::{SESSION_COOKIE, code_texted_to, set_cookie, set_cookie_header};

/// Amara Okafor, cardiology registrar.
const AMARA: &str = "+447700900111";
/// Wendy Clarke, Ward 7 manager.
const WENDY: &str = "07700 900131";

#[tokio::test]
async fn amara_signs_in_with_the_code_texted_to_her_and_out_again() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    // Not signed in: sent to sign in, and back afterwards.
    let response = crate::support::staff::client()
        .get(format!("{}/staff/services/cardiology-ward-7", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/staff/sign-in?next=%2Fstaff%2Fservices%2Fcardiology-ward-7"
    );

    let amara = app.sign_in("07700 900111").await;
    let (status, home) = amara.page("/staff").await;
    assert_eq!(status, 200, "{home}");
    assert!(home.contains("Amara Okafor"), "{home}");
    assert!(
        home.contains("Cardiology Ward 7"),
        "her service is listed: {home}"
    );
    assert!(
        !home.contains("Children&#x27;s assessment unit")
            && !home.contains("Children's assessment unit"),
        "a service she has no part in is not: {home}"
    );
    assert!(
        !home.contains("/staff/services"),
        "she manages nothing: {home}"
    );

    let signed_out = amara.post("/staff/sign-out", &[]).await;
    assert_eq!(signed_out.status(), 200);
    assert!(
        set_cookie_header(&signed_out, SESSION_COOKIE)
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _) = amara.page("/staff").await;
    assert_eq!(status, 303, "the session is gone from the store");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_and_secure_behind_https() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let (pending, _) = app.ask_for_code(AMARA).await;
    app.settle().await;
    let response = app
        .enter_code(&pending.unwrap(), &code_texted_to(&app, AMARA))
        .await;
    let cookie = set_cookie_header(&response, SESSION_COOKIE).unwrap();
    for part in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
}

#[tokio::test]
async fn a_wrong_code_is_refused_five_times_then_the_code_is_gone() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let (pending, _) = app.ask_for_code(AMARA).await;
    let pending = pending.unwrap();
    app.settle().await;
    let right = code_texted_to(&app, AMARA);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for left in (1..5).rev() {
        let response = app.enter_code(&pending, wrong).await;
        assert_eq!(response.status(), 422);
        let page = response.text().await.unwrap();
        assert!(page.contains(&format!("({left} tr")), "{page}");
    }
    let response = app.enter_code(&pending, wrong).await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Ask for a new code")
    );
    // The fifth wrong try deleted it: the right code no longer works.
    let response = app.enter_code(&pending, &right).await;
    assert_eq!(response.status(), 422);
    assert!(set_cookie(&response, SESSION_COOKIE).is_none());
}

#[tokio::test]
async fn a_code_works_once_and_not_after_ten_minutes() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let (pending, _) = app.ask_for_code(AMARA).await;
    let pending = pending.unwrap();
    app.settle().await;
    let code = code_texted_to(&app, AMARA);
    assert_eq!(app.enter_code(&pending, &code).await.status(), 303);
    let again = app.enter_code(&pending, &code).await;
    assert_eq!(again.status(), 422, "a used code does not work again");

    let (pending, _) = app.ask_for_code(AMARA).await;
    let pending = pending.unwrap();
    app.settle().await;
    let code = code_texted_to(&app, AMARA);
    app.clock.advance(Duration::minutes(10));
    let late = app.enter_code(&pending, &code).await;
    assert_eq!(late.status(), 422, "a code ten minutes old does not work");
    assert!(set_cookie(&late, SESSION_COOKIE).is_none());
}

#[tokio::test]
async fn a_number_not_on_the_rota_gets_the_same_answer_and_no_text() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let (on, on_rota) = app.ask_for_code(AMARA).await;
    let (off, stranger) = app.ask_for_code("07700 900999").await;
    assert_eq!(on_rota.status(), stranger.status());
    assert_eq!(
        on_rota.headers()["location"],
        stranger.headers()["location"]
    );
    assert!(
        on.is_some() && off.is_some(),
        "both browsers hold a challenge"
    );
    app.settle().await;
    assert!(app.twilio.messages_to("+447700900999").is_empty());
    assert_eq!(app.twilio.messages_to(AMARA).len(), 1);
}

#[tokio::test]
async fn asking_for_codes_again_and_again_is_limited() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    for _ in 0..3 {
        assert_eq!(app.ask_for_code(AMARA).await.1.status(), 303);
    }
    let (_, fourth) = app.ask_for_code(AMARA).await;
    assert_eq!(fourth.status(), 429);
    // A number not on the rota is limited just the same.
    for _ in 0..3 {
        assert_eq!(app.ask_for_code("07700 900999").await.1.status(), 303);
    }
    assert_eq!(app.ask_for_code("07700 900999").await.1.status(), 429);
    app.settle().await;
    assert_eq!(app.twilio.messages_to(AMARA).len(), 3);
    // The window passes.
    app.clock.advance(Duration::minutes(15));
    assert_eq!(app.ask_for_code(AMARA).await.1.status(), 303);
}

#[tokio::test]
async fn a_form_without_the_session_token_or_from_another_site_is_refused() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let amara = app.sign_in(AMARA).await;
    let csrf = amara.csrf().await;
    let forged = amara.post_raw("/staff/sign-out", &[], &[]).await;
    assert_eq!(forged.status(), 403);
    let page = forged.text().await.unwrap();
    assert!(page.contains("That did not go through"), "{page}");
    let cross_site = amara
        .post_raw(
            "/staff/sign-out",
            &[("csrf", &csrf)],
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(cross_site.status(), 403);
    // Still signed in.
    assert_eq!(amara.page("/staff").await.0, 200);
}

#[tokio::test]
async fn a_session_ends_after_thirty_idle_minutes_or_twelve_hours() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let amara = app.sign_in(AMARA).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(amara.page("/staff").await.0, 200);
    app.clock.advance(Duration::minutes(29));
    assert_eq!(amara.page("/staff").await.0, 200, "used 29 minutes ago");
    app.clock.advance(Duration::minutes(30));
    assert_eq!(amara.page("/staff").await.0, 303, "idle for 30 minutes");

    let amara = app.sign_in(AMARA).await;
    for _ in 0..(12 * 60 / 20 - 1) {
        app.clock.advance(Duration::minutes(20));
        assert_eq!(amara.page("/staff").await.0, 200);
    }
    app.clock.advance(Duration::minutes(20));
    assert_eq!(
        amara.page("/staff").await.0,
        303,
        "twelve hours after signing in"
    );
}

#[tokio::test]
async fn a_manager_sees_their_service_and_a_clinician_is_refused_it() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let wendy = app.sign_in(WENDY).await;
    let (status, page) = wendy.page("/staff/services/cardiology-ward-7").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Wendy Clarke"), "{page}");
    let (status, page) = wendy
        .page("/staff/services/childrens-assessment-unit")
        .await;
    assert_eq!(status, 403);
    assert!(
        page.contains("You do not have access to this service"),
        "{page}"
    );

    let amara = app.sign_in(AMARA).await;
    let (status, page) = amara.page("/staff/services/cardiology-ward-7").await;
    assert_eq!(status, 403);
    assert!(
        page.contains("You do not have access to this service"),
        "{page}"
    );
    assert!(
        page.starts_with("<!doctype html>"),
        "a page, not JSON: {page}"
    );
    let (status, page) = amara.page("/staff/services/no-such-service").await;
    assert_eq!(status, 404);
    assert!(page.contains("Page not found"), "{page}");
    let (status, page) = amara.page("/staff/no-such-page").await;
    assert_eq!(status, 404);
    assert!(page.contains("Page not found"), "{page}");

    // The trust's manager manages every service.
    let tara = app.sign_in("07700 900401").await;
    let (status, _) = tara.page("/staff/services/childrens-assessment-unit").await;
    assert_eq!(status, 200);
}
