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

    assert_eq!(end(&app, &id).await, 204);
    assert_eq!(end(&app, &id).await, 404);

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

/// End an enrolment through the API: its status code.
async fn end(app: &TestApp, id: &str) -> reqwest::StatusCode {
    app.http
        .delete(format!("{}/api/v1/enrolments/{id}", app.address))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap()
        .status()
}

/// Enrol a patient and carers with the heart team, discharged at 17:00 on the test's Friday.
async fn discharge(app: &TestApp, patient: Value, carers: Value) -> reqwest::Response {
    app.enrol(&json!({
        "patient": patient,
        "carers": carers,
        "service": "cardiology-ward-7",
        "discharged_at": "2026-11-27T17:00:00Z",
    }))
    .await
}

#[tokio::test]
async fn control_and_direction_characters_never_reach_a_phone() {
    let app = TestApp::spawn("2026-11-27T18:00").await;
    // A NUL inside the first name and a right-to-left override before the surname.
    let response = discharge(
        &app,
        json!({"name": "Marg\u{0}aret \u{202E}Evans", "phone": "07700 900801"}),
        json!([]),
    )
    .await;
    assert_eq!(response.status(), 201);
    app.settle().await;
    let welcome = &app.twilio.messages_to(MARGARET)[0].body;
    assert!(welcome.starts_with("Hello Margaret."), "{welcome}");
    assert!(
        !welcome.chars().any(|c| c.is_control() || c == '\u{202E}'),
        "{welcome:?}"
    );

    // A name that is nothing but such characters is no name.
    let response = discharge(
        &app,
        json!({"name": "\u{0}\u{202E}", "phone": "07700 900803"}),
        json!([]),
    )
    .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "patient.name");
}

#[tokio::test]
async fn numbers_that_cannot_be_a_persons_own_are_refused_saying_why() {
    let app = TestApp::spawn("2026-11-27T18:00").await;
    let response = discharge(
        &app,
        json!({"name": "Margaret Evans", "phone": "0909 879 0000"}),
        json!([
            {"name": "Sian Evans", "phone": "07700 900802"},
            {"name": "Huw Evans", "phone": "0800 123 4567"},
            {"name": "Gwen Evans", "phone": "0871 234 5678"},
        ]),
    )
    .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let errors: Vec<(&str, &str)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        fields,
        ["patient.phone", "carers[1].phone", "carers[2].phone"]
    );
    for ((_, message), words) in errors
        .iter()
        .zip(["premium-rate", "freephone", "revenue-sharing"])
    {
        assert!(message.contains(words), "{message}");
        assert!(message.contains("not a person's own phone"), "{message}");
    }
    app.settle().await;
    assert!(app.twilio.messages().is_empty());
}

#[tokio::test]
async fn a_landline_is_enrolled_but_never_texted_and_the_answer_says_so() {
    let app = TestApp::spawn("2026-11-27T18:00").await;
    let response = discharge(
        &app,
        json!({"name": "Margaret Evans", "phone": "07700 900801"}),
        json!([{"name": "Sian Evans", "phone": "020 7946 0802", "relationship": "daughter"}]),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let notes = body["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{body}");
    assert_eq!(notes[0]["field"], "carers[0].phone");
    let message = notes[0]["message"].as_str().unwrap();
    assert!(message.contains("landline"), "{message}");
    assert!(message.contains("will not be texted"), "{message}");

    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(MARGARET).len(),
        1,
        "Margaret is welcomed"
    );
    assert!(
        app.twilio.messages_to("+442079460802").is_empty(),
        "nothing is texted to a landline"
    );

    // A mobile-only enrolment has no notes.
    let body: Value = discharge(
        &app,
        json!({"name": "Owen Jones", "phone": "07700 900811"}),
        json!([]),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(body["notes"], json!([]));
}

#[tokio::test]
async fn an_ongoing_enrolment_outlasts_any_discharge_window_until_it_is_ended() {
    let app = TestApp::spawn("2026-11-27T18:00").await;
    let response = app
        .enrol(&json!({
            "kind": "ongoing",
            "patient": {"name": "Margaret Evans", "phone": "07700 900801"},
            "service": "community-nursing-north",
            "coordinator": "bethan-lloyd",
            "context": "Heart failure; weighs herself daily",
        }))
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["kind"], "ongoing");
    assert_eq!(body["ends_at"], Value::Null, "{body}");
    assert_eq!(body["coordinator"], "bethan-lloyd");
    assert!(
        body["review_at"]
            .as_str()
            .unwrap()
            .starts_with("2027-11-27"),
        "reviewed a year on by default: {body}"
    );
    let id = body["id"].as_str().unwrap().to_owned();

    // Two months on, long past a discharge's thirty days, she is still known.
    app.advance(chrono::Duration::days(60)).await;
    app.text(MARGARET, "My ankles are more swollen today").await;
    app.settle().await;
    let texts = app.twilio.messages_to(MARGARET);
    let reply = &texts.last().unwrap().body;
    assert!(reply.contains("community nursing team"), "{reply}");
    assert_eq!(end(&app, &id).await, 204);
}

#[tokio::test]
async fn a_coordinator_who_is_not_in_the_rota_is_refused_by_name() {
    let app = TestApp::spawn("2026-11-27T18:00").await;
    let response = app
        .enrol(&json!({
            "kind": "ongoing",
            "patient": {"name": "Margaret Evans", "phone": "07700 900801"},
            "service": "community-nursing-north",
            "coordinator": "bethan-loyd",
            "review_at": "2027-05-01",
        }))
        .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{body}");
    assert_eq!(errors[0]["field"], "coordinator");
    let message = errors[0]["message"].as_str().unwrap();
    // The people who can be are named; what was sent is not repeated.
    assert!(
        !message.contains("bethan-loyd") && message.contains("bethan-lloyd"),
        "{message}"
    );
    app.settle().await;
    assert!(app.twilio.messages().is_empty());
}
