use chrono::Duration;
use serde_json::Value;

use crate::support::nightingale::TestApp;

#[tokio::test]
async fn healthz_answers_ok() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok\n");
}

#[tokio::test]
async fn friday_evening_the_cardiology_registrar_is_on_call_now() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    // Ward 7 is staffed until 20:00: at 19:05 the nurse in charge answers.
    let body: Value = app
        .get("/api/v1/oncall?service=cardiology-ward-7")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["in_hours"], true);
    assert_eq!(
        body["levels"][0]["on_call"][0]["id"],
        "ward-7-nurse-in-charge"
    );
    assert_eq!(body["valid_until"], "2026-11-27T20:00:00+00:00");

    // An hour later the ward has handed over to the out-of-hours chain.
    app.clock.advance(Duration::hours(1));
    let body: Value = app
        .get("/api/v1/oncall?service=cardiology-ward-7")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["in_hours"], false);
    assert_eq!(body["local_time"], "Fri 27 Nov 2026 20:05 GMT");
    let level1 = &body["levels"][0];
    assert_eq!(level1["on_call"][0]["name"], "Chen Li");
    assert_eq!(level1["on_call"][0]["via"], "rotation cardiology-registrar");
    assert_eq!(level1["ack_within"], "10m");
    assert_eq!(
        level1["on_call"][0]["contact_methods"],
        serde_json::json!(["sms", "voice"])
    );
    assert_eq!(body["levels"].as_array().unwrap().len(), 3);
    assert_eq!(body["fallback"]["level"], 4);
    assert_eq!(body["fallback"]["on_call"][0]["role"], "Site duty manager");
    // Staff's own numbers are not in this view.
    assert!(!body.to_string().contains("+447700"));
}

#[tokio::test]
async fn an_instant_can_be_asked_about_in_uk_time_or_with_an_offset() {
    let app = TestApp::spawn("2026-11-25T12:00").await;
    let local: Value = app
        .get("/api/v1/oncall?service=childrens-assessment-unit&at=2026-12-25T10:00")
        .await
        .json()
        .await
        .unwrap();
    let utc: Value = app
        .get("/api/v1/oncall?service=childrens-assessment-unit&at=2026-12-25T10:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(local, utc);
    // Christmas Day cover from the demo trust's overrides.
    assert_eq!(local["levels"][0]["on_call"][0]["id"], "nia-williams");
    assert!(
        local["levels"][0]["on_call"][0]["via"]
            .as_str()
            .unwrap()
            .starts_with("cover (Christmas Day)")
    );
}

#[tokio::test]
async fn the_rota_is_not_public() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let anonymous = app
        .http
        .get(format!(
            "{}/api/v1/oncall?service=cardiology-ward-7",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn bad_requests_say_what_to_write() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let response = app.get("/api/v1/oncall").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("?service=ID"));

    let response = app.get("/api/v1/oncall?service=cardiology").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("cardiology-ward-7"),
        "{body}"
    );

    let response = app
        .get("/api/v1/oncall?service=cardiology-ward-7&at=tonight")
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("like 2026-11-27T19:05"),
        "{body}"
    );

    assert_eq!(app.get("/nothing-here").await.status(), 404);
}
