//! The page behind a page's link: what a browser is told about it, and who
//! may press its buttons.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::support::nightingale::{MARGARET, PUBLIC_URL, TestApp};

/// Margaret's concern has paged the community nurse: the link in that page,
/// pointed at the test server.
async fn nurse_link(app: &TestApp) -> String {
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    app.text(MARGARET, "My leg hurts").await;
    app.settle().await;
    let page = app.twilio.messages_to("+447700900213")[0].clone();
    page.body
        .split_whitespace()
        .find(|w| w.starts_with("https://nightingale.test/c/"))
        .unwrap()
        .replace(PUBLIC_URL, &app.address)
}

fn assert_protected(response: &reqwest::Response) {
    let h = response.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
}

#[tokio::test]
async fn every_page_tells_the_browser_to_run_nothing_frame_nothing_and_keep_nothing() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    let link = nurse_link(&app).await;

    let page = app.http.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_protected(&page);
    // The page's own inline styles are allowed by their hash, so it still looks right.
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let css = html
        .split("<style>")
        .nth(1)
        .unwrap()
        .split("</style>")
        .next()
        .unwrap();
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css.as_bytes()));
    assert!(csp.contains(&format!("style-src 'sha256-{hash}'")), "{csp}");

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
