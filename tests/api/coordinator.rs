//! A patient with a long-term condition, enrolled as ongoing with a named
//! care co-ordinator: the co-ordinator answers first in their own hours,
//! the service's chain otherwise.

use chrono::Duration;
use serde_json::{Value, json};

use crate::support::nightingale::TestApp;

const ARTHUR: &str = "+447700900851"; // a patient with heart failure
const JOAN: &str = "+447700900852"; // his wife and carer
const BETHAN: &str = "+447700900221"; // community matron, his care co-ordinator (weekdays 09:00-17:00)
const HANNAH: &str = "+447700900202"; // the community nursing co-ordinator rota, that week in hours
const ISLA: &str = "+447700900211"; // the community evening nurse on Tuesday 1 December

const WORRY: &str = "Arthur's ankles are much more swollen than yesterday and he has put on 2kg";

/// Enrol Arthur, with Joan as carer, as ongoing with the community nursing
/// team and Bethan as co-ordinator: the enrolment's id.
async fn enrol_arthur(app: &TestApp) -> String {
    let response = app
        .enrol(&json!({
            "kind": "ongoing",
            "patient": {"name": "Arthur Price", "phone": "07700 900851"},
            "carers": [{"name": "Joan Price", "phone": "07700 900852", "relationship": "wife"}],
            "service": "community-nursing-north",
            "coordinator": "bethan-lloyd",
            "context": "Heart failure (NYHA III); daily weights; furosemide 40 mg",
        }))
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    app.settle().await;
    body["id"].as_str().unwrap().to_owned()
}

/// Who the oncall API says answers Arthur now: each level's ids.
async fn chain_for(app: &TestApp, enrolment: &str) -> (Value, Vec<Vec<String>>) {
    let response = app
        .get(&format!("/api/v1/oncall?enrolment={enrolment}"))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let levels = body["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["on_call"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    (body, levels)
}

#[tokio::test]
async fn joan_texts_at_eleven_on_a_tuesday_and_the_matron_is_paged_first() {
    let app = TestApp::spawn("2026-12-01T10:55").await;
    let arthur = enrol_arthur(&app).await;

    let (chain, levels) = chain_for(&app, &arthur).await;
    assert_eq!(levels[0], ["bethan-lloyd"], "{chain}");
    assert_eq!(
        levels[1],
        ["hannah-price"],
        "then the team's chain: {chain}"
    );
    assert_eq!(chain["enrolment"], arthur.as_str());
    assert_eq!(chain["coordinator"]["first_contact"], true, "{chain}");

    app.clock.advance(Duration::minutes(5));
    app.text(JOAN, WORRY).await;
    app.settle().await;
    assert!(
        app.twilio.messages_to(ARTHUR)[0]
            .body
            .starts_with("Hello Arthur. This number reaches the community nursing team"),
        "Arthur was welcomed when he was enrolled"
    );
    let pages = app.twilio.messages_to(BETHAN);
    assert_eq!(pages.len(), 1, "the matron is paged first");
    assert!(
        pages[0]
            .body
            .starts_with("Arthur (via wife Joan) - Community nursing, north locality:"),
        "{}",
        pages[0].body
    );
    assert!(pages[0].body.contains("ankles are much more swollen"));
    assert!(
        app.twilio.messages_to(HANNAH).is_empty(),
        "the team is not paged while the matron has her 15 minutes"
    );

    // Bethan is with another patient; after her 15 minutes the team's own
    // chain is paged, and she may still accept.
    app.advance(Duration::minutes(15)).await;
    let team = app.twilio.messages_to(HANNAH);
    assert_eq!(team.len(), 1, "then the service's chain");
    assert!(team[0].body.contains("ankles are much more swollen"));

    // `rota who --enrolment` shows the same chain the engine used.
    let out = app.cli(&[
        "rota",
        "who",
        "--enrolment",
        &arthur,
        "--at",
        "2026-12-01T11:00",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("care co-ordinator Bethan Lloyd [bethan-lloyd]: first contact"),
        "{text}"
    );
    let level_1 = text.split("level 1").nth(1).unwrap();
    assert!(
        level_1
            .split("level 2")
            .next()
            .unwrap()
            .contains("Bethan Lloyd"),
        "{text}"
    );
    assert!(
        !text.contains("Arthur"),
        "the CLI shows no patient data: {text}"
    );
}

#[tokio::test]
async fn at_eleven_at_night_the_same_text_goes_to_the_on_call_chain() {
    let app = TestApp::spawn("2026-12-01T22:55").await;
    let arthur = enrol_arthur(&app).await;

    let (chain, levels) = chain_for(&app, &arthur).await;
    assert_eq!(levels[0], ["isla-morgan"], "{chain}");
    assert!(
        !levels.iter().flatten().any(|id| id == "bethan-lloyd"),
        "{chain}"
    );
    assert_eq!(chain["coordinator"]["first_contact"], false);
    assert!(
        chain["coordinator"]["why"]
            .as_str()
            .unwrap()
            .contains("out of their hours"),
        "{chain}"
    );

    app.clock.advance(Duration::minutes(5));
    app.text(JOAN, WORRY).await;
    app.settle().await;
    assert_eq!(app.twilio.messages_to(ISLA).len(), 1, "the evening nurse");
    // The whole night: the matron's phone stays quiet.
    app.advance(Duration::hours(2)).await;
    assert!(app.twilio.messages_to(BETHAN).is_empty());
}

#[tokio::test]
async fn the_matron_is_on_leave_and_the_chain_answers() {
    // The demo rota files, and Bethan's week of annual leave.
    let rota = tempfile::tempdir().unwrap();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/rota");
    for entry in std::fs::read_dir(demo).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, rota.path().join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        rota.path().join("leave.toml"),
        r#"
[[overrides]]
for = "bethan-lloyd"
from = 2026-11-30T00:00:00
until = 2026-12-05T00:00:00
reason = "annual leave"
"#,
    )
    .unwrap();
    let dir = rota.path().to_owned();
    let app = TestApp::spawn_with("2026-12-01T10:55", move |c| c.rota_dir = dir.clone()).await;
    let arthur = enrol_arthur(&app).await;

    let (chain, levels) = chain_for(&app, &arthur).await;
    assert_eq!(levels[0], ["hannah-price"], "{chain}");
    let why = chain["coordinator"]["why"].as_str().unwrap();
    assert!(
        why.contains("away (annual leave") && why.contains("leave.toml"),
        "{why}"
    );
    assert!(
        levels.iter().all(|l| !l.is_empty()),
        "nobody is missing: the matron's leave is not a gap"
    );

    app.clock.advance(Duration::minutes(5));
    app.text(JOAN, WORRY).await;
    app.settle().await;
    let team = app.twilio.messages_to(HANNAH);
    assert_eq!(team.len(), 1, "the team answers at once");
    assert!(team[0].body.contains("ankles are much more swollen"));
    app.advance(Duration::minutes(30)).await;
    assert!(
        app.twilio.messages_to(BETHAN).is_empty(),
        "nobody pages a matron on leave"
    );
}

#[tokio::test]
async fn a_coordinator_must_be_someone_with_working_hours() {
    let app = TestApp::spawn("2026-12-01T10:55").await;
    // Grace leads the district nurses but has no hours of her own as a co-ordinator.
    let response = app
        .enrol(&json!({
            "kind": "ongoing",
            "patient": {"name": "Arthur Price", "phone": "07700 900851"},
            "service": "community-nursing-north",
            "coordinator": "grace-adeyemi",
        }))
        .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "coordinator");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("no working hours") && message.contains("bethan-lloyd"),
        "{message}"
    );

    let response = app.get("/api/v1/oncall?enrolment=not-an-id").await;
    assert_eq!(response.status(), 404);
    let response = app
        .get("/api/v1/oncall?enrolment=6f1d2c1e-0000-4000-8000-000000000001&service=community-nursing-north")
        .await;
    assert_eq!(response.status(), 400);
}

/// The first page quoting `words`, whoever got it.
fn paged_with(app: &TestApp, words: &str) -> crate::support::fake_twilio::SentSms {
    app.twilio
        .messages()
        .into_iter()
        .find(|m| m.body.contains(words) && m.body.contains("Reply A"))
        .unwrap_or_else(|| panic!("a page quoting {words:?}"))
}

#[tokio::test]
async fn the_night_nurse_opens_the_link_and_reads_arthurs_story_without_asking_for_it() {
    let app = TestApp::spawn("2026-12-01T10:55").await;
    enrol_arthur(&app).await;

    // Tuesday 11:00: Joan texts, the matron takes it and closes it with a note.
    app.clock.advance(Duration::minutes(5));
    app.text(JOAN, WORRY).await;
    app.settle().await;
    let code = TestApp::code_in(&app.twilio.messages_to(BETHAN)[0]);
    app.clock.advance(Duration::minutes(4));
    app.text(BETHAN, &format!("A{code}")).await;
    app.settle().await;
    app.clock.advance(Duration::minutes(40));
    app.text(
        BETHAN,
        &format!("R{code} Extra furosemide 40 mg today, I will visit Thursday"),
    )
    .await;
    app.settle().await;

    // Wednesday 23:00: Arthur himself texts, and the evening nurse is paged.
    app.clock
        .advance(Duration::hours(36) - Duration::minutes(49));
    app.text(
        ARTHUR,
        "I could not lie flat last night and my weight is up again",
    )
    .await;
    app.settle().await;
    let page = paged_with(&app, "could not lie flat");
    let html = app.get_text(&app.local_link(&page)).await;
    assert!(html.contains("I could not lie flat last night"), "{html}");
    // What kind of care, and who co-ordinates it.
    assert!(
        html.contains("Ongoing (long-term condition), review due 1 Dec 2027"),
        "{html}"
    );
    assert!(
        html.contains("Bethan Lloyd, Community matron (heart failure)"),
        "{html}"
    );
    assert!(
        html.contains("Heart failure (NYHA III); daily weights"),
        "{html}"
    );
    // What Joan raised yesterday, and what the matron did about it.
    let earlier = html
        .split("Earlier concerns")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .expect("the page lists earlier concerns");
    assert!(earlier.contains("Tue 1 Dec 11:00"), "{earlier}");
    assert!(earlier.contains("from the carer (wife)"), "{earlier}");
    assert!(
        earlier.contains("ankles are much more swollen"),
        "{earlier}"
    );
    assert!(
        earlier.contains(
            "Resolved by Bethan Lloyd at Tue 1 Dec 11:44: “Extra furosemide 40 mg today, I will visit Thursday”"
        ),
        "{earlier}"
    );
    assert!(
        !earlier.contains("I could not lie flat"),
        "this concern is not listed as an earlier one"
    );
}

#[tokio::test]
async fn earlier_concerns_whose_words_retention_removed_are_not_shown() {
    let app = TestApp::spawn_with("2026-12-01T10:55", |c| c.retention_days = 7).await;
    enrol_arthur(&app).await;
    app.clock.advance(Duration::minutes(5));
    app.text(JOAN, WORRY).await;
    app.settle().await;
    let code = TestApp::code_in(&app.twilio.messages_to(BETHAN)[0]);
    app.text(BETHAN, &format!("R{code} Extra furosemide today"))
        .await;
    app.settle().await;

    // Ten days on, past the seven days' retention, Arthur texts at 23:00.
    app.advance(Duration::days(10) + Duration::hours(12)).await;
    app.text(ARTHUR, "Breathless when I walk to the kitchen")
        .await;
    app.settle().await;
    let page = paged_with(&app, "Breathless when I walk");
    let html = app.get_text(&app.local_link(&page)).await;
    assert!(html.contains("Breathless when I walk"), "{html}");
    assert!(
        html.contains("Bethan Lloyd"),
        "the enrolment's context stays: {html}"
    );
    assert!(!html.contains("Earlier concerns"), "{html}");
    assert!(!html.contains("ankles"), "{html}");
}

#[tokio::test]
async fn when_the_matrons_day_ends_a_waiting_concern_goes_straight_to_the_team() {
    let app = TestApp::spawn("2026-12-01T16:45").await;
    enrol_arthur(&app).await;
    app.clock.advance(Duration::minutes(5));
    app.text(JOAN, WORRY).await;
    app.settle().await;
    assert_eq!(app.twilio.messages_to(BETHAN).len(), 1, "16:50: the matron");
    assert!(app.twilio.messages_to(HANNAH).is_empty());

    // 17:00: her hours end with her 15 minutes still running; the team's
    // first level is paged at once, not at 17:05.
    app.advance(Duration::minutes(10)).await;
    let team = app.twilio.messages_to(HANNAH);
    assert_eq!(team.len(), 1, "the team at 17:00");
    assert!(team[0].body.contains("ankles are much more swollen"));
    // Bethan may still take it: her page stays good.
    let code = TestApp::code_in(&app.twilio.messages_to(BETHAN)[0]);
    app.text(BETHAN, &format!("A{code}")).await;
    app.settle().await;
    let to_joan = app.twilio.messages_to(JOAN);
    assert!(
        to_joan.last().unwrap().body.contains("Bethan Lloyd"),
        "{}",
        to_joan.last().unwrap().body
    );
}

#[tokio::test]
async fn joan_phones_at_eleven_and_the_matrons_phone_rings_first_then_the_teams() {
    let app = TestApp::spawn("2026-12-01T10:55").await;
    enrol_arthur(&app).await;
    app.clock.advance(Duration::minutes(5));
    let mut call = app.phone(JOAN).await;
    assert_eq!(
        call.heard.numbers_rung(),
        [BETHAN],
        "the matron is rung first"
    );
    app.clock.advance(Duration::seconds(20));
    call.dial_ends("no-answer").await;
    assert_eq!(
        call.heard.numbers_rung(),
        [HANNAH],
        "then the team's first level"
    );

    // At 23:00 the same call rings the evening nurse, not the matron.
    let app = TestApp::spawn("2026-12-01T22:55").await;
    enrol_arthur(&app).await;
    app.clock.advance(Duration::minutes(5));
    let call = app.phone(JOAN).await;
    assert_eq!(call.heard.numbers_rung(), [ISLA]);
}
