//! API keys as the trust's systems hold them: each belongs to a client,
//! reads only what its scopes reach, and stops at once when revoked or
//! when it expires (docs/adr/0021).

use chrono::Duration;
use serde_json::{Value, json};

use crate::support::nightingale::{MARGARET, NowInstant, TestApp};

const FRIDAY_EVENING: &str = "2026-11-27T19:05";
const HER_WORDS: &str = "My leg is hot and the redness is spreading up past my knee";

/// Margaret Evans, discharged from ward 7 an hour ago.
fn margaret(app: &TestApp) -> Value {
    json!({
        "patient": {"name": "Margaret Evans", "phone": "07700 900801"},
        "service": "cardiology-ward-7",
        "discharged_at": (app.clock.now_instant() - Duration::hours(1)).to_rfc3339(),
        "context": "Ward 7; cellulitis of the left leg",
    })
}

/// Ward 7's discharge system enrols Margaret with its own key, and she
/// texts that evening: her enrolment's id and her concern's.
async fn ward_7_enrols_margaret_and_she_texts(app: &TestApp, ward_7: &str) -> (String, String) {
    let enrolled = app.enrol_as(ward_7, &margaret(app)).await;
    assert_eq!(enrolled.status(), 201);
    let enrolment = enrolled.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.text(MARGARET, HER_WORDS).await.status(), 200);
    app.settle().await;
    let listed: Value = app
        .get_as(ward_7, "/api/v1/concerns")
        .await
        .json()
        .await
        .unwrap();
    let concern = listed["concerns"][0]["id"].as_str().unwrap().to_owned();
    (enrolment, concern)
}

/// A `404` that gives nothing of Margaret away, and reads as the answer
/// for an id nobody made (`made_up`).
async fn absent(response: reqwest::Response, id: &str, made_up: reqwest::Response, other: &str) {
    assert_eq!(response.status(), 404);
    assert_eq!(made_up.status(), 404);
    let body = response.text().await.unwrap();
    assert!(
        !body.contains("900801") && !body.contains("redness"),
        "{body}"
    );
    assert_eq!(
        body.replace(id, "ID"),
        made_up.text().await.unwrap().replace(other, "ID"),
        "the same answer as for an id nobody made"
    );
}

#[tokio::test]
async fn another_wards_key_cannot_read_or_end_margarets_enrolment_and_the_trusts_read_all_key_can_read_it()
 {
    let app = TestApp::spawn(FRIDAY_EVENING).await;
    let ward_7 = app.api_key_for("ward-7-discharge", "enrol,read-own", None);
    let ward_9 = app.api_key_for("ward-9-discharge", "enrol,read-own", None);
    let engine = app.api_key_for("trust-integration-engine", "read-all", None);
    let (enrolment, concern) = ward_7_enrols_margaret_and_she_texts(&app, &ward_7).await;
    let nobody = uuid::Uuid::new_v4().to_string();

    // Ward 9's system asks for her concern, her enrolment's concerns and
    // her chain, and tries to end her enrolment: none of it is there.
    absent(
        app.get_as(&ward_9, &format!("/api/v1/concerns/{concern}"))
            .await,
        &concern,
        app.get_as(&ward_9, &format!("/api/v1/concerns/{nobody}"))
            .await,
        &nobody,
    )
    .await;
    absent(
        app.delete_as(&ward_9, &format!("/api/v1/enrolments/{enrolment}"))
            .await,
        &enrolment,
        app.delete_as(&ward_9, &format!("/api/v1/enrolments/{nobody}"))
            .await,
        &nobody,
    )
    .await;
    absent(
        app.get_as(&ward_9, &format!("/api/v1/oncall?enrolment={enrolment}"))
            .await,
        &enrolment,
        app.get_as(&ward_9, &format!("/api/v1/oncall?enrolment={nobody}"))
            .await,
        &nobody,
    )
    .await;
    for path in [
        "/api/v1/concerns".to_owned(),
        "/api/v1/concerns?status=open".to_owned(),
        format!("/api/v1/concerns?enrolment={enrolment}"),
    ] {
        let listed = app.get_as(&ward_9, &path).await;
        assert_eq!(listed.status(), 200, "{path}");
        let listed: Value = listed.json().await.unwrap();
        assert_eq!(listed["concerns"], json!([]), "{path}: {listed}");
    }

    // Her enrolment is intact: ward 7 still reads her concern, in her words,
    // and she is still enrolled.
    let hers: Value = app
        .get_as(&ward_7, &format!("/api/v1/concerns/{concern}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hers["text"], HER_WORDS);
    assert_eq!(hers["sender"], MARGARET);
    let chain = app
        .get_as(&ward_7, &format!("/api/v1/oncall?enrolment={enrolment}"))
        .await;
    assert_eq!(chain.status(), 200);
    let stored = app
        .ops
        .enrolment(enrolment.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.is_active(app.clock.now_instant()),
        "not ended by ward 9"
    );
    assert_eq!(stored.client.as_deref(), Some("ward-7-discharge"));

    // The trust's integration engine reads everything, but ends nothing.
    let read: Value = app
        .get_as(&engine, &format!("/api/v1/concerns/{concern}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["text"], HER_WORDS);
    let listed: Value = app
        .get_as(&engine, "/api/v1/concerns")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["concerns"][0]["id"], concern.as_str());
    let refused = app
        .delete_as(&engine, &format!("/api/v1/enrolments/{enrolment}"))
        .await;
    assert_eq!(refused.status(), 403, "read-all does not mean end-all");

    // Ward 7 ends its own enrolment.
    let ended = app
        .delete_as(&ward_7, &format!("/api/v1/enrolments/{enrolment}"))
        .await;
    assert_eq!(ended.status(), 204);
}

#[tokio::test]
async fn a_strangers_concern_is_read_only_by_a_read_all_key() {
    let app = TestApp::spawn(FRIDAY_EVENING).await;
    let ward_7 = app.api_key_for("ward-7-discharge", "enrol,read-own", None);
    let engine = app.api_key_for("trust-integration-engine", "read-all", None);
    assert_eq!(
        app.text("+447700900999", "Is this the hospital?")
            .await
            .status(),
        200
    );
    app.settle().await;
    let all: Value = app
        .get_as(&engine, "/api/v1/concerns")
        .await
        .json()
        .await
        .unwrap();
    let id = all["concerns"][0]["id"].as_str().unwrap();
    let own: Value = app
        .get_as(&ward_7, "/api/v1/concerns")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["concerns"], json!([]));
    let one = app.get_as(&ward_7, &format!("/api/v1/concerns/{id}")).await;
    assert_eq!(one.status(), 404);
}

#[tokio::test]
async fn a_key_is_refused_for_what_its_scopes_do_not_allow_before_anything_is_looked_up() {
    let app = TestApp::spawn(FRIDAY_EVENING).await;
    let enrol_only = app.api_key_for("ward-7-discharge", "enrol", None);
    let read_only = app.api_key_for("ward-7-dashboard", "read-own", None);

    let enrolled = app.enrol_as(&enrol_only, &margaret(&app)).await;
    assert_eq!(enrolled.status(), 201, "enrol is all it needs to enrol");
    let id = enrolled.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listed = app.get_as(&enrol_only, "/api/v1/concerns").await;
    assert_eq!(listed.status(), 403);
    let said: Value = listed.json().await.unwrap();
    assert!(
        said["error"].as_str().unwrap().contains("--scope read-own"),
        "{said}"
    );

    let refused = app.enrol_as(&read_only, &margaret(&app)).await;
    assert_eq!(refused.status(), 403);
    let said: Value = refused.json().await.unwrap();
    assert!(
        said["error"].as_str().unwrap().contains("--scope enrol"),
        "{said}"
    );
    let end = app
        .delete_as(&read_only, &format!("/api/v1/enrolments/{id}"))
        .await;
    assert_eq!(end.status(), 403);
    // Any key may ask who is on call for a service: no patient in that.
    let chain = app
        .get_as(&enrol_only, "/api/v1/oncall?service=cardiology-ward-7")
        .await;
    assert_eq!(chain.status(), 200);
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_and_its_clients_next_key_reaches_what_it_enrolled() {
    let app = TestApp::spawn(FRIDAY_EVENING).await;
    let made = app.cli(&["api-key", "create", "ward-7-discharge"]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let old = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    let (enrolment, concern) = ward_7_enrols_margaret_and_she_texts(&app, &old).await;

    // The key leaks; the operator revokes it and makes the next one for
    // the same client.
    let revoked = app.cli(&["api-key", "revoke", "ward-7-discharge"]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let refused = app.get_as(&old, "/api/v1/concerns").await;
    assert_eq!(refused.status(), 401, "at once: nothing is cached");
    let said: Value = refused.json().await.unwrap();
    assert!(
        said["error"].as_str().unwrap().contains("revoked"),
        "{said}"
    );
    assert_eq!(app.enrol_as(&old, &margaret(&app)).await.status(), 401);

    let made = app.cli(&[
        "api-key",
        "create",
        "ward-7-discharge-2",
        "--client",
        "ward-7-discharge",
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let next = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    let hers = app
        .get_as(&next, &format!("/api/v1/concerns/{concern}"))
        .await;
    assert_eq!(
        hers.status(),
        200,
        "the client, not the key, owns her enrolment"
    );
    let ended = app
        .delete_as(&next, &format!("/api/v1/enrolments/{enrolment}"))
        .await;
    assert_eq!(ended.status(), 204);
}

#[tokio::test]
async fn a_key_that_expires_at_eight_works_until_eight_and_not_a_minute_after() {
    let app = TestApp::spawn(FRIDAY_EVENING).await;
    let eight = app.clock.now_instant() + Duration::minutes(55);
    let key = app.api_key_for("locum-agency-feed", "enrol,read-own", Some(eight));
    assert_eq!(app.get_as(&key, "/api/v1/concerns").await.status(), 200);
    app.advance(Duration::minutes(54)).await;
    assert_eq!(app.get_as(&key, "/api/v1/concerns").await.status(), 200);
    app.advance(Duration::minutes(1)).await;
    let refused = app.get_as(&key, "/api/v1/concerns").await;
    assert_eq!(refused.status(), 401);
    let said: Value = refused.json().await.unwrap();
    assert!(
        said["error"].as_str().unwrap().contains("expired"),
        "{said}"
    );
}

#[tokio::test]
async fn an_enrolment_no_client_made_is_ended_only_by_a_key_that_may_enrol_and_read_all() {
    let app = TestApp::spawn(FRIDAY_EVENING).await;
    // Enrolled as the staff pages and an EPR do (or before keys had
    // clients): it belongs to no client.
    let enrolment = app
        .ops
        .enrol(serde_json::from_value(margaret(&app)).unwrap(), None)
        .await
        .unwrap()
        .id;
    let path = format!("/api/v1/enrolments/{enrolment}");
    let ward_7 = app.api_key_for("ward-7-discharge", "enrol,read-own", None);
    let reader = app.api_key_for("trust-dashboard", "read-all", None);
    let integration = app.api_key_for("trust-integration-engine", "enrol,read-all", None);
    assert_eq!(app.delete_as(&ward_7, &path).await.status(), 404);
    assert_eq!(app.delete_as(&reader, &path).await.status(), 403);
    assert_eq!(app.delete_as(&integration, &path).await.status(), 204);
}
