//! Finding concerns from outside: a discharge system looks up what its
//! patient raised, a ward lists what is still unresolved, and an
//! integration pages through everything while new concerns keep arriving.

use chrono::Duration;
use serde_json::{Value, json};

use crate::support::nightingale::{MARGARET, NowInstant, TestApp};

const KIRAN: &str = "+447700900213"; // community evening nurse on Friday 27 November
const ARTHUR: &str = "+447700900811"; // a patient of cardiology ward 7

/// GET /api/v1/concerns with this query string, expecting 200.
async fn list(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/api/v1/concerns{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

fn opened(page: &Value) -> Vec<String> {
    page["concerns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["opened_at"].as_str().unwrap().to_owned())
        .collect()
}

async fn enrol_arthur_on_ward_7(app: &TestApp) {
    let discharged = (app.clock.now_instant() - Duration::hours(2)).to_rfc3339();
    let response = app
        .enrol(&json!({
            "patient": {"name": "Arthur Jones", "phone": "07700 900811"},
            "service": "cardiology-ward-7",
            "discharged_at": discharged,
        }))
        .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn a_discharge_system_finds_the_concern_its_patient_raised_and_follows_it() {
    let app = TestApp::spawn("2026-11-27T18:40").await;
    let enrolment = app.enrol_margaret("community-nursing-north").await;
    app.settle().await;

    // 19:05 on a Friday: Margaret texts; Kiran is paged with a link.
    app.clock.advance(Duration::minutes(25));
    app.text(MARGARET, "My leg dressing is soaked through and smells")
        .await;
    app.settle().await;
    let page = app.twilio.messages_to(KIRAN)[0].clone();
    let code = TestApp::code_in(&page);

    // The discharge system knows only the enrolment it made: that finds the
    // concern, with the same id as the link Kiran was sent.
    let found = list(&app, &format!("?enrolment={enrolment}")).await;
    assert_eq!(
        found,
        json!({
            "concerns": [{
                "id": TestApp::concern_id_in(&page),
                "status": "open",
                "urgent": false,
                "service": "community-nursing-north",
                "from": "patient",
                "opened_at": "2026-11-27T19:05:00+00:00",
                "accepted_by": null,
                "resolved_at": null,
            }],
            "next": null,
        })
    );
    let text = found.to_string();
    assert!(
        !text.contains("dressing") && !text.contains("+447700") && !text.contains("Margaret"),
        "a list carries no words, numbers or names: {text}"
    );

    // Kiran accepts at 19:08: the list says who has it.
    app.clock.advance(Duration::minutes(3));
    app.text(KIRAN, &format!("A{code}")).await;
    app.settle().await;
    let accepted = list(&app, "?status=accepted").await;
    assert_eq!(
        accepted["concerns"][0]["accepted_by"],
        json!({"id": "kiran-patel", "name": "Kiran Patel", "role": "Community staff nurse", "at": "2026-11-27T19:08:00+00:00"})
    );
    assert_eq!(list(&app, "?status=open").await["concerns"], json!([]));
    assert_eq!(
        list(&app, "?status=unresolved").await["concerns"][0]["status"],
        "accepted"
    );

    // He resolves it at 19:40: it leaves the unresolved list.
    app.clock.advance(Duration::minutes(32));
    app.text(KIRAN, &format!("R{code} Visited, dressing changed"))
        .await;
    app.settle().await;
    let resolved = list(&app, &format!("?status=resolved&enrolment={enrolment}")).await;
    assert_eq!(
        resolved["concerns"][0]["resolved_at"],
        "2026-11-27T19:40:00+00:00"
    );
    assert_eq!(
        resolved["concerns"][0]["accepted_by"]["id"], "kiran-patel",
        "who accepted it is kept once it is resolved"
    );
    assert_eq!(
        list(&app, "?status=unresolved").await["concerns"],
        json!([])
    );
}

#[tokio::test]
async fn a_ward_lists_only_its_own_unresolved_concerns() {
    let app = TestApp::spawn("2026-11-27T20:30").await;
    app.enrol_margaret("community-nursing-north").await;
    enrol_arthur_on_ward_7(&app).await;
    app.settle().await;
    app.text(ARTHUR, "My ankles are more swollen tonight").await;
    app.clock.advance(Duration::minutes(1));
    app.text(MARGARET, "I have run out of dressings").await;
    app.settle().await;

    for query in [
        "?service=cardiology-ward-7&status=unresolved",
        "?service=cardiology-ward-7&status=open,accepted",
        "?service=cardiology-ward-7&status=open&status=accepted",
    ] {
        let ward = list(&app, query).await;
        let services: Vec<_> = ward["concerns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["service"].clone())
            .collect();
        assert_eq!(services, [json!("cardiology-ward-7")], "{query}");
    }
    assert_eq!(
        list(&app, "?status=unresolved").await["concerns"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn pages_run_newest_first_and_stay_put_while_new_concerns_arrive() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    // Five people Nightingale does not know text, a minute apart.
    for i in 1..=5 {
        app.text(&format!("+44770090093{i}"), "Hello, is anyone there?")
            .await;
        app.settle().await;
        app.clock.advance(Duration::minutes(1));
    }
    let first = list(&app, "?limit=2").await;
    assert_eq!(
        opened(&first),
        ["2026-11-27T19:04:00+00:00", "2026-11-27T19:03:00+00:00"]
    );
    assert_eq!(first["concerns"][0]["from"], "unknown sender");
    assert_eq!(first["concerns"][0]["service"], Value::Null);

    // A sixth arrives at 19:05 while the client reads the first page.
    app.text("+447700900936", "Hello?").await;
    app.settle().await;

    let next = first["next"].as_str().unwrap();
    let second = list(&app, &format!("?limit=2&cursor={next}")).await;
    assert_eq!(
        opened(&second),
        ["2026-11-27T19:02:00+00:00", "2026-11-27T19:01:00+00:00"],
        "the newcomer does not push the pages along"
    );
    let next = second["next"].as_str().unwrap();
    let last = list(&app, &format!("?limit=2&cursor={next}")).await;
    assert_eq!(opened(&last), ["2026-11-27T19:00:00+00:00"]);
    assert_eq!(last["next"], Value::Null, "the last page says so");

    // Asked afresh, the newcomer leads; `since` reads UK local time.
    assert_eq!(
        opened(&list(&app, "?limit=1").await),
        ["2026-11-27T19:05:00+00:00"]
    );
    assert_eq!(
        opened(&list(&app, "?since=2026-11-27T19:04").await),
        ["2026-11-27T19:05:00+00:00", "2026-11-27T19:04:00+00:00"]
    );
    assert_eq!(
        list(&app, "").await["concerns"].as_array().unwrap().len(),
        6,
        "fifty to a page unless asked"
    );
}

#[tokio::test]
async fn a_wrong_filter_is_refused_with_what_to_write_instead() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    for (query, says) in [
        (
            "?service=cardiology-ward-8",
            "no such service; the services are",
        ),
        (
            "?status=closed",
            "write open, accepted, resolved or unresolved",
        ),
        ("?limit=0", "from 1 to 200"),
        ("?limit=201", "from 1 to 200"),
        ("?limit=ten", "from 1 to 200"),
        ("?since=yesterday", "like 2026-11-27T19:05"),
        ("?enrolment=margaret", "not an enrolment id"),
        ("?cursor=abc", "pass the previous page's \"next\" as it is"),
        ("?limit=5&limit=6", "give limit once"),
        (
            "?servce=cardiology-ward-7",
            "the parameters are status, service",
        ),
    ] {
        let response = app.get(&format!("/api/v1/concerns{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(says), "{query}: {error}");
    }
    let anonymous = app
        .http
        .get(format!("{}/api/v1/concerns", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}
