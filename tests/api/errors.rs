//! The JSON API answers every error in JSON, in words a discharge system's
//! developer can act on: no parser positions, no Rust type names, and no
//! echo of what was posted.

use std::time::Duration;

use serde_json::Value;

use crate::support::nightingale::TestApp;

async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "status {status}"
    );
    let body: Value = response.json().await.unwrap();
    let message = body["error"].as_str().expect("an error message").to_owned();
    for leak in [
        "line 1",
        "column",
        "EnrolmentRequest",
        "PersonRequest",
        "OnCallQuery",
        "Margaret",
    ] {
        assert!(!message.contains(leak), "{message}");
    }
    (status, message)
}

async fn post_enrolment(
    app: &TestApp,
    content_type: &str,
    body: &'static str,
) -> reqwest::Response {
    app.http
        .post(format!("{}/api/v1/enrolments", app.address))
        .bearer_auth(&app.api_key)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_broken_enrolment_body_says_what_is_wrong_without_parser_detail() {
    let app = TestApp::spawn("2026-11-27T18:00").await;
    let (status, message) =
        error_of(post_enrolment(&app, "application/json", r#"{"patient": "#).await).await;
    assert_eq!(
        (status, message.as_str()),
        (400, "the body is not valid JSON")
    );

    let (status, message) = error_of(
        post_enrolment(&app, "application/json", r#"{"patient": "Margaret Evans"}"#).await,
    )
    .await;
    assert_eq!(
        (status, message.as_str()),
        (400, "patient: expected an object")
    );

    let (status, message) =
        error_of(post_enrolment(&app, "text/plain", r#"{"patient": {}}"#).await).await;
    assert_eq!(status, 415);
    assert!(
        message.contains("Content-Type: application/json"),
        "{message}"
    );
}

#[tokio::test]
async fn an_oversized_enrolment_is_refused_with_413_as_it_arrives() {
    let app = TestApp::spawn("2026-11-27T18:00").await;
    let head = format!(
        "POST /api/v1/enrolments HTTP/1.1\r\nHost: nightingale.test\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.api_key,
        1024 * 1024
    );
    let answer = app
        .send_partial(&head, &[b' '; 128 * 1024], Duration::from_secs(5))
        .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(answer.contains("application/json"), "{answer:?}");
}

#[tokio::test]
async fn a_repeated_query_parameter_is_a_json_error() {
    let app = TestApp::spawn("2026-11-27T18:00").await;
    let (status, message) = error_of(
        app.get("/api/v1/oncall?service=cardiology-ward-7&service=community-nursing-north")
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(message.contains("duplicate field `service`"), "{message}");
}

#[tokio::test]
async fn a_wrong_method_or_a_broken_path_is_a_json_error_too() {
    let app = TestApp::spawn("2026-11-27T18:00").await;
    let response = app
        .get("/api/v1/enrolments/9b2f6a5e-8c1d-4e7a-b3f0-2d4c6e8a1b3c")
        .await;
    assert_eq!(response.headers()["allow"], "DELETE");
    let (status, message) = error_of(response).await;
    assert_eq!(status, 405);
    assert!(message.contains("Allow header"), "{message}");

    // Not UTF-8 once decoded: axum's own plain-text rejection, made JSON.
    let (status, _) = error_of(app.get("/api/v1/concerns/%FF").await).await;
    assert_eq!(status, 400);
    let (status, _) = error_of(app.get("/api/v1/nothing-here").await).await;
    assert_eq!(status, 404);
}

/// Whatever a discharge system posts or asks, no error repeats it: a
/// number, an address, a name or a word of theirs put in any field or
/// parameter comes back as the field's name and what to write, never as
/// itself (README, "Errors").
#[tokio::test]
async fn no_error_repeats_a_value_the_client_sent() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    const SECRET: &str = "07700 9";
    let bodies = [
        r#"{"patient": {"name": "Ann", "phone": "07700 9"}, "service": "cardiology-ward-7", "discharged_at": "2026-11-27T18:00"}"#,
        r#"{"patient": {"name": "Ann", "phone": "07700 9xyz"}, "service": "cardiology-ward-7", "discharged_at": "2026-11-27T18:00"}"#,
        r#"{"patient": {"name": "Ann", "phone": "07700 900000000"}, "service": "cardiology-ward-7", "discharged_at": "2026-11-27T18:00"}"#,
        r#"{"patient": {"name": "Ann", "email": "07700 9@"}, "service": "cardiology-ward-7", "discharged_at": "2026-11-27T18:00"}"#,
        r#"{"patient": {"name": "Ann", "phone": "0800 246 8135"}, "service": "07700 9", "discharged_at": "2026-11-27T18:00"}"#,
        r#"{"patient": {"name": "Ann", "phone": "07911 654321"}, "service": "cardiology-ward-7", "kind": "07700 9", "discharged_at": "07700 9"}"#,
        r#"{"patient": {"name": "Ann", "phone": "07911 654321"}, "service": "heart-failure-team", "kind": "ongoing", "coordinator": "07700 9"}"#,
        r#"{"patient": {"name": "Ann", "phone": "07911 654321"}, "service": "cardiology-ward-7", "discharged_at": "2026-11-27T18:00", "check_ins": "07700 9"}"#,
        r#"{"patient": {"name": "Ann", "phone": "07911 654321"}, "service": "cardiology-ward-7", "discharged_at": "2026-11-27T18:00", "carers": "07700 9"}"#,
    ];
    for body in bodies {
        let answer = app
            .http
            .post(format!("{}/api/v1/enrolments", app.address))
            .bearer_auth(&app.api_key)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        assert!(matches!(status, 400 | 422), "{status} for {body}: {text}");
        assert!(!text.contains(SECRET), "{body}\nrepeated in: {text}");
        assert!(!text.contains("654321"), "{body}\nrepeated in: {text}");
        assert!(!text.contains("246 8135"), "{body}\nrepeated in: {text}");
    }
    for query in [
        "/api/v1/concerns?status=07700%209",
        "/api/v1/concerns?service=07700%209",
        "/api/v1/concerns?since=07700%209",
        "/api/v1/concerns?enrolment=07700%209",
        "/api/v1/concerns?limit=07700%209",
        "/api/v1/concerns?cursor=07700%209",
        "/api/v1/concerns?07700%209=1",
        "/api/v1/concerns?07700%209=1&07700%209=2",
        "/api/v1/oncall?service=07700%209",
        "/api/v1/oncall?service=cardiology-ward-7&at=07700%209",
        "/api/v1/oncall?enrolment=07700%209",
        "/api/v1/enrolments/07700%209",
        "/api/v1/concerns/07700%209",
    ] {
        let answer = app.get(query).await;
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        assert!(
            matches!(status, 400 | 404 | 405),
            "{status} for {query}: {text}"
        );
        assert!(!text.contains(SECRET), "{query}\nrepeated in: {text}");
    }
    let end = app
        .http
        .delete(format!("{}/api/v1/enrolments/07700%209", app.address))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(end.status(), 404);
    assert!(!end.text().await.unwrap().contains(SECRET));
}

#[tokio::test]
async fn a_person_who_types_the_address_lands_on_sign_in_and_a_mistyped_one_gets_a_page_home() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .unwrap();
    let html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let home = browser
        .get(format!("{}/", app.address))
        .header("Accept", html)
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    assert!(home.url().path().starts_with("/staff"), "{}", home.url());
    assert!(home.text().await.unwrap().contains("Sign in"));

    let typo = browser
        .get(format!("{}/staf/shifts", app.address))
        .header("Accept", html)
        .send()
        .await
        .unwrap();
    assert_eq!(typo.status(), 404);
    assert!(
        typo.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = typo.text().await.unwrap();
    assert!(page.contains("Page not found"), "{page}");
    assert!(page.contains("href=\"&#x2f;staff\""), "{page}");

    // An API client, or a browser under /api/, still gets JSON.
    let (status, message) = error_of(app.get("/staf/shifts").await).await;
    assert_eq!(
        (status, message.as_str()),
        (404, "no such page: see README.md for the API")
    );
    let api = browser
        .get(format!("{}/api/v1/nothing", app.address))
        .header("Accept", html)
        .send()
        .await
        .unwrap();
    let (status, _) = error_of(api).await;
    assert_eq!(status, 404);
}
