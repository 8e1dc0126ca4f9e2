//! Enrolment at discharge, through the JSON API.

use serde_json::{Value, json};

use crate::support::nightingale::{MARGARET, SIAN, TestApp};

#[tokio::test]
async fn enrolling_needs_an_api_key() {
    let app = TestApp::spawn("2026-11-27T18:00").await;
    let response = app
        .http
        .post(format!("{}/api/v1/enrolments", app.address))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = app
        .http
        .post(format!("{}/api/v1/enrolments", app.address))
        .bearer_auth("ng_wrong")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("nightingale api-key create")
    );
}

#[tokio::test]
async fn bad_fields_are_each_named() {
    let app = TestApp::spawn("2026-11-27T18:00").await;
    let response = app
        .enrol(&json!({"patient": {"name": "Margaret Evans", "phone": "0770090080"}, "service": "cardiology", "discharged_at": "27/11/2026"}))
        .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["patient.phone", "service", "discharged_at"]);
    let response = app
        .http
        .post(format!("{}/api/v1/enrolments", app.address))
        .bearer_auth(&app.api_key)
        .header("Content-Type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    app.settle().await;
    assert!(
        app.twilio.messages().is_empty(),
        "nothing is sent for a refused enrolment"
    );
}

#[tokio::test]
async fn an_enrolment_welcomes_patient_and_carer_and_ends_on_delete() {
    let app = TestApp::spawn("2026-11-27T18:00").await;
    let id = app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;
    assert!(
        app.twilio.messages_to(MARGARET)[0].body.starts_with(
            "Hello Margaret. This number reaches the heart team at Riverside Hospital"
        )
    );
    assert!(
        app.twilio.messages_to(SIAN)[0]
            .body
            .starts_with("Hello Sian.")
    );

    let response = app
        .http
        .delete(format!("{}/api/v1/enrolments/{id}", app.address))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let again = app
        .http
        .delete(format!("{}/api/v1/enrolments/{id}", app.address))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);

    // Once ended, Margaret's number is a stranger's: she still reaches a person, via the trust's fallback.
    app.text(MARGARET, "hello").await;
    app.settle().await;
    assert!(
        app.twilio
            .messages_to(MARGARET)
            .last()
            .unwrap()
            .body
            .contains("out-of-hours service")
    );
}
