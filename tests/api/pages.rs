//! The page behind a page's link: what a browser is told about it, and who
//! may press its buttons.

use nightingale::directory::Id;
use nightingale::inbox::{Inbound, InboundKind};
use nightingale::store::sqlite::SqliteStore;
use nightingale::work::WorkQueue as _;

use crate::support::nightingale::{MARGARET, PUBLIC_URL, TestApp};

/// Margaret's concern has paged the community nurse: the link in that page,
/// pointed at the test server.
async fn nurse_link(app: &TestApp) -> String {
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    app.text(MARGARET, "My leg hurts").await;
    app.settle().await;
    let page = app.twilio.messages_to("+447700900213")[0].clone();
    let link = page
        .body
        .split_whitespace()
        .find(|w| w.starts_with("https://nightingale.test/l/"))
        .unwrap()
        .replace(PUBLIC_URL, &app.address);
    app.opened(&link).await
}

fn assert_protected(response: &reqwest::Response) {
    let h = response.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(
        h["strict-transport-security"], "max-age=31536000; includeSubDomains",
        "the public URL is https"
    );
}

#[tokio::test]
async fn every_page_tells_the_browser_to_run_nothing_frame_nothing_and_keep_nothing() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    let link = nurse_link(&app).await;

    let page = app.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_protected(&page);
    // Its look is the NHS.UK stylesheet, served by us: allowed, and nothing else.
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert!(csp.ends_with("style-src 'self'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("sha256"),
        "{csp}"
    );
    assert!(!html.contains("<style"), "every style is in our stylesheet");
    let css = html
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&#x2f;", "/");
    let sheet = app
        .http
        .get(format!("{}{css}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(sheet.status(), 200, "{css}");
    assert_eq!(sheet.headers()["content-type"], "text/css; charset=utf-8");
    assert!(
        sheet.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000"),
        "named by its hash, it may be kept"
    );
    assert!(sheet.text().await.unwrap().contains(".nhsuk-button"));

    let refused = app
        .http
        .get(link.replace("&sig=", "&sig=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_protected(&refused);

    let missing = app
        .http
        .get(format!("{}/nothing-here", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_protected(&missing);
}

#[tokio::test]
async fn accept_pressed_on_another_site_is_refused_and_changes_nothing() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    let link = nurse_link(&app).await;
    let told_before = app.twilio.messages_to(MARGARET).len();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // A page elsewhere that holds the link makes the nurse's browser post it.
    let forged = browser
        .post(&link)
        .header("Origin", "https://evil.example")
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("action", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("only work from the page")
    );
    // No Origin, but the browser says it came from another site.
    let no_origin = browser
        .post(&link)
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("action", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), 403);
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(MARGARET).len(),
        told_before,
        "nothing was accepted"
    );

    // From our own page it works.
    let ours = browser
        .post(&link)
        .header("Origin", PUBLIC_URL)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[("action", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(ours.status(), 303);
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(MARGARET).len(),
        told_before + 1,
        "Margaret is told who has her message"
    );
}

#[tokio::test]
async fn a_stored_link_action_that_is_neither_accept_nor_pass_is_set_aside_not_taken_as_an_accept()
{
    let app = TestApp::spawn("2026-11-27T19:00").await;
    let link = nurse_link(&app).await;
    let concern = link.split("/c/").nth(1).unwrap().split('?').next().unwrap();
    let told_before = app.twilio.messages_to(MARGARET).len();

    // The page only posts "accept" or "pass"; anything else in the store
    // (written by other code, or tampered with) must not accept.
    let store = SqliteStore::open(&app.store_path()).unwrap();
    let item = Inbound {
        key: format!("link:{concern}:kiran-patel:resolve"),
        kind: InboundKind::Action {
            concern: concern.parse().unwrap(),
            staff: Id::parse("kiran-patel").unwrap(),
            action: "resolve".to_owned(),
        },
        received_at: "2026-11-27T19:01:00Z".parse().unwrap(),
    };
    assert!(store.record_inbound(&item).unwrap());
    app.settle().await;

    assert!(app.pending_inbound().is_empty(), "set aside, not stuck");
    assert_eq!(
        app.twilio.messages_to(MARGARET).len(),
        told_before,
        "nobody is told it was accepted"
    );
    let view = app.concern(concern).await;
    assert_eq!(view["status"], "open");
    assert!(
        !view["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "accepted"),
        "{view}"
    );

    // And a form posting anything but Accept, Pass or Resolve is turned away at the door.
    let odd = app
        .http
        .post(&link)
        .header("Origin", PUBLIC_URL)
        .form(&[("action", "close")])
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status(), 400);
    assert!(
        odd.text()
            .await
            .unwrap()
            .contains("Choose Accept, Pass or Resolve.")
    );
}

#[tokio::test]
async fn without_demo_there_are_no_phones_and_no_demo_routes() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    for path in ["/", "/demo/events"] {
        let response = app
            .http
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body = response.text().await.unwrap();
        assert!(!body.contains("phone"), "{path}: {body}");
    }
    let text = app
        .http
        .post(format!("{}/demo/text", app.address))
        .form(&[("from", MARGARET), ("body", "hello")])
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 404);
    assert!(app.pending_inbound().is_empty(), "nothing reached intake");
}

#[tokio::test]
async fn a_link_cut_short_or_a_post_without_its_form_answers_a_page_not_a_parser_error() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    let link = nurse_link(&app).await;
    let (path, query) = link.split_once('?').unwrap();
    let without_sig: String = query
        .split('&')
        .filter(|p| !p.starts_with("sig="))
        .collect::<Vec<_>>()
        .join("&");
    let bad_expiry = query
        .split('&')
        .map(|p| if p.starts_with("e=") { "e=tomorrow" } else { p })
        .collect::<Vec<_>>()
        .join("&");
    for broken in [
        path.to_owned(),
        format!("{path}?{without_sig}"),
        format!("{path}?{bad_expiry}"),
        format!("{path}/recording?{without_sig}"),
    ] {
        let page = app.http.get(&broken).send().await.unwrap();
        assert_eq!(page.status(), 400, "{broken}");
        assert_protected(&page);
        assert!(
            page.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let html = page.text().await.unwrap();
        assert!(html.contains("Link not complete"), "{html}");
        assert!(html.contains("reply to the page by text"), "{html}");
        assert!(!html.contains("deserialize"), "{html}");
    }
    // A press whose form is missing: a page, and nothing done.
    let empty = app
        .http
        .post(&link)
        .header("Origin", PUBLIC_URL)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 400);
    let html = empty.text().await.unwrap();
    assert!(html.contains("Choose Accept or Pass"), "{html}");
    assert!(!html.contains("deserialize"), "{html}");
    let page = app.get_text(&link).await;
    assert!(page.contains("Waiting for someone to accept"), "{page}");
}

#[tokio::test]
async fn browsers_are_told_to_keep_to_https_only_when_the_public_url_is_https() {
    let plain = TestApp::spawn_with("2026-11-27T19:00", |c| {
        c.public_url = "http://nightingale.test".to_owned();
    })
    .await;
    for path in ["/healthz", "/staff/sign-in", "/no-such-page"] {
        let response = plain
            .http
            .get(format!("{}{path}", plain.address))
            .send()
            .await
            .unwrap();
        assert!(
            !response.headers().contains_key("strict-transport-security"),
            "{path} over http"
        );
        assert!(response.headers().contains_key("content-security-policy"));
    }
    let https = TestApp::spawn("2026-11-27T19:00").await;
    for path in ["/healthz", "/staff/sign-in", "/no-such-page"] {
        let response = https
            .http
            .get(format!("{}{path}", https.address))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains",
            "{path}"
        );
    }
}

/// Kiran's page, on an app whose engine runs on its own (nothing calls
/// `settle()`): the long link his short one opens, on this server.
async fn kirans_link_with_the_engine_running(app: &TestApp) -> String {
    app.enrol_margaret("community-nursing-north").await;
    app.clock.advance(chrono::Duration::minutes(5));
    app.text(MARGARET, "My leg dressing is soaked through")
        .await;
    let page = app
        .twilio
        .wait_for_messages_to("+447700900213", 1, std::time::Duration::from_secs(20))
        .await[0]
        .clone();
    app.opened(&app.local_link(&page)).await
}

/// A tap on the page, as a browser sends it: from our page, following the
/// redirect to the page it lands on.
async fn tap(app: &TestApp, link: &str, form: &[(&str, &str)]) -> String {
    let answer = app
        .http
        .post(link)
        .header("Origin", PUBLIC_URL)
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "it lands on the concern's page");
    assert!(answer.url().path().starts_with("/c/"), "{}", answer.url());
    answer.text().await.unwrap()
}

#[tokio::test]
async fn kiran_taps_accept_and_lands_on_a_page_saying_he_has_it_with_resolve_on_offer_then_resolves()
 {
    let app = TestApp::spawn_running("2026-11-27T19:00", std::time::Duration::from_secs(10)).await;
    let link = kirans_link_with_the_engine_running(&app).await;
    let before = app.get_text(&link).await;
    assert!(before.contains("Waiting for someone to accept"), "{before}");

    // No refresh, no second tap: the page he lands on says what he did.
    let landed = tap(&app, &link, &[("action", "accept")]).await;
    assert!(landed.contains("You have accepted this"), "{landed}");
    assert!(
        !landed.contains("Waiting for someone to accept"),
        "{landed}"
    );
    assert!(
        !landed.contains("value=\"accept\""),
        "Accept is gone: {landed}"
    );
    assert!(
        landed.contains("value=\"resolve\""),
        "Resolve is offered: {landed}"
    );

    let landed = tap(
        &app,
        &link,
        &[
            ("action", "resolve"),
            ("note", "Rang her; dressing changed by the district nurse"),
        ],
    )
    .await;
    assert!(landed.contains("Resolved at"), "{landed}");
    assert!(!landed.contains("value=\"resolve\""), "{landed}");
}

#[tokio::test]
async fn kiran_taps_pass_and_lands_on_a_page_saying_he_passed_it_on() {
    let app = TestApp::spawn_running("2026-11-27T19:00", std::time::Duration::from_secs(10)).await;
    let link = kirans_link_with_the_engine_running(&app).await;
    let landed = tap(&app, &link, &[("action", "pass")]).await;
    assert!(
        landed.contains("You passed this on. Waiting for someone at the next level to accept"),
        "{landed}"
    );
}
