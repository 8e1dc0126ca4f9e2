//! Check-ins and the morning handover (issue 12): Nightingale texts people
//! to ask how they are, listens to the answer, tells the in-hours team
//! when nobody answers (never at night), and tells the team at the start
//! of the day what happened overnight.

use chrono::Duration;
use serde_json::json;

use crate::support::nightingale::{MARGARET, NowInstant, SIAN, TestApp};
use crate::support::staff::on_call;

const SERVICE: &str = "community-nursing-north";
/// Arthur Hughes, another patient of the community nurses.
const ARTHUR: &str = "+447700900811";
const CHECK_IN: &str =
    "How are you today? Reply 1 if all is well, or tell us what is worrying you.";

/// Enrol Margaret (and Siân, her daughter) with the community nurses,
/// discharged at `discharged` (UTC), with these check-ins (or the default).
async fn enrol(app: &TestApp, discharged: &str, check_ins: Option<serde_json::Value>) -> String {
    let mut body = json!({
        "patient": {"name": "Margaret Evans", "phone": "07700 900801"},
        "carers": [{"name": "Sian Evans", "phone": "07700 900802", "relationship": "daughter"}],
        "service": SERVICE,
        "discharged_at": discharged,
    });
    if let Some(check_ins) = check_ins {
        body["check_ins"] = check_ins;
    }
    let response = app.enrol(&body).await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    let body: serde_json::Value = response.json().await.unwrap();
    app.settle().await;
    body["id"].as_str().unwrap().to_owned()
}

/// Every text sent to anyone but Margaret and Siân that says a check-in went unanswered.
fn unanswered_flags(app: &TestApp) -> Vec<(String, String)> {
    app.twilio
        .messages()
        .into_iter()
        .filter(|m| m.body.contains("has not answered the check-in"))
        .map(|m| (m.to, m.body))
        .collect()
}

fn check_ins_to(app: &TestApp, to: &str) -> Vec<String> {
    app.twilio
        .messages_to(to)
        .into_iter()
        .filter(|m| m.body.contains(CHECK_IN))
        .map(|m| m.body)
        .collect()
}

#[tokio::test]
async fn a_check_in_at_24_hours_gets_my_ankles_are_swollen_and_opens_a_concern() {
    // Tuesday 24 November, 11:00: Margaret went home at 10:00.
    let app = TestApp::spawn("2026-11-24T11:00").await;
    enrol(&app, "2026-11-24T10:00:00Z", None).await;
    app.advance(Duration::hours(22) + Duration::minutes(59))
        .await;
    assert!(
        check_ins_to(&app, MARGARET).is_empty(),
        "not before 24 hours"
    );

    // Wednesday 10:00, 24 hours on: Margaret is asked, and only Margaret.
    app.advance(Duration::minutes(1)).await;
    let asked = check_ins_to(&app, MARGARET);
    assert_eq!(asked.len(), 1);
    assert_eq!(
        asked[0],
        format!(
            "Hello Margaret, this is the community nursing team, checking on you. {CHECK_IN} In an emergency, call 999."
        )
    );
    assert!(check_ins_to(&app, SIAN).is_empty());

    // At 10:30 she answers with a worry: a concern, paged like any other.
    app.clock.advance(Duration::minutes(30));
    app.text(MARGARET, "2 my ankles are swollen").await;
    app.settle().await;
    let last = app.twilio.messages_to(MARGARET).pop().unwrap();
    assert!(
        last.body.starts_with("Thank you, we have your message."),
        "{}",
        last.body
    );
    let (_, nurse) = on_call(SERVICE, "2026-11-25T10:30", 1);
    let pages = app.twilio.messages_to(&nurse);
    assert!(
        pages
            .iter()
            .any(|p| p.body.contains("\"2 my ankles are swollen\"")),
        "{pages:?}"
    );
    let id = TestApp::concern_id_in(pages.last().unwrap());
    let concern = app.concern(&id).await;
    let notes: Vec<&str> = concern["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(
        notes.contains(&"In answer to the check-in texted Wed 25 Nov 10:00"),
        "{notes:?}"
    );

    // Answered: nobody is told it went unanswered.
    app.advance(Duration::hours(7)).await;
    assert!(unanswered_flags(&app).is_empty());
}

#[tokio::test]
async fn a_one_is_recorded_and_opens_nothing() {
    let app = TestApp::spawn("2026-11-24T11:00").await;
    let id = enrol(&app, "2026-11-24T10:00:00Z", None).await;
    app.advance(Duration::hours(23)).await;
    assert_eq!(check_ins_to(&app, MARGARET).len(), 1);
    let texts_before = app.twilio.messages().len();

    app.clock.advance(Duration::minutes(5));
    app.text(MARGARET, " 1 ").await;
    app.settle().await;
    let sent: Vec<_> = app.twilio.messages().split_off(texts_before);
    assert_eq!(sent.len(), 1, "only Margaret's thanks: {sent:?}");
    assert_eq!(sent[0].to, MARGARET);
    assert!(
        sent[0]
            .body
            .starts_with("Thank you. We are glad all is well."),
        "{}",
        sent[0].body
    );
    let listed: serde_json::Value = app.get("/api/v1/concerns").await.json().await.unwrap();
    assert_eq!(listed["concerns"], json!([]), "no concern was opened");

    let answers = app.ops.store.check_in_answers(id.parse().unwrap()).unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].answer, nightingale::checkins::CheckInReply::Well);
    assert_eq!(answers[0].sent_at.to_rfc3339(), "2026-11-25T10:00:00+00:00");

    app.advance(Duration::hours(8)).await;
    assert!(unanswered_flags(&app).is_empty(), "an answer is an answer");
    assert_eq!(app.twilio.messages().len(), texts_before + 1);
}

#[tokio::test]
async fn a_check_in_with_no_answer_is_flagged_in_hours_not_at_night() {
    // Thursday 26 November: Margaret went home at 16:30; one check-in, a day on.
    let app = TestApp::spawn("2026-11-26T17:00").await;
    enrol(&app, "2026-11-26T16:30:00Z", Some(json!(["24h"]))).await;
    app.advance(Duration::hours(23) + Duration::minutes(30))
        .await;
    assert_eq!(check_ins_to(&app, MARGARET).len(), 1, "Friday 16:30");

    // No answer. Six hours on it is 22:30 on a Friday: nobody is told,
    // all weekend.
    for _ in 0..63 {
        app.advance(Duration::hours(1)).await;
    }
    assert!(
        app.clock
            .now_instant()
            .to_rfc3339()
            .starts_with("2026-11-30T07:30")
    );
    assert!(
        unanswered_flags(&app).is_empty(),
        "{:?}",
        unanswered_flags(&app)
    );

    // Monday 08:00, when the in-hours team starts: they are told.
    app.advance(Duration::minutes(30)).await;
    let (_, coordinator) = on_call(SERVICE, "2026-11-30T08:00", 1);
    assert_eq!(
        unanswered_flags(&app),
        vec![(
            coordinator,
            "Nightingale: Margaret (Community nursing, north locality) has not answered the check-in texted Fri 27 Nov 16:30. Please call them on +447700900801.".to_owned()
        )]
    );
    app.advance(Duration::hours(12)).await;
    assert_eq!(unanswered_flags(&app).len(), 1, "told once");
}

#[tokio::test]
async fn a_check_in_due_at_night_waits_for_the_morning() {
    // Discharged at 01:30 on Tuesday: a day on is 01:30 on Wednesday.
    let app = TestApp::spawn("2026-11-24T02:00").await;
    enrol(&app, "2026-11-24T01:30:00Z", Some(json!(["24h"]))).await;
    app.advance(Duration::hours(23) + Duration::minutes(30))
        .await;
    assert!(check_ins_to(&app, MARGARET).is_empty(), "not at 01:30");
    app.advance(Duration::hours(7) + Duration::minutes(29))
        .await;
    assert!(check_ins_to(&app, MARGARET).is_empty(), "not at 08:59");
    // Her place in the morning window (ADR 31): by 11:00.
    app.advance(Duration::hours(2) + Duration::minutes(1)).await;
    assert_eq!(
        check_ins_to(&app, MARGARET).len(),
        1,
        "between 09:00 and 11:00"
    );
}

#[tokio::test]
async fn stop_ends_check_ins_and_start_brings_them_back() {
    let app = TestApp::spawn("2026-11-24T11:00").await;
    enrol(&app, "2026-11-24T10:00:00Z", None).await;
    app.clock.advance(Duration::hours(1));
    app.text(MARGARET, "STOP").await;
    app.settle().await;
    let before = app.twilio.messages_to(MARGARET).len();

    // Wednesday 10:00, 24 hours on: nothing for Margaret.
    app.advance(Duration::hours(23)).await;
    assert_eq!(app.twilio.messages_to(MARGARET).len(), before);
    assert!(unanswered_flags(&app).is_empty(), "nothing was asked");

    // She opts back in; the 72-hour check-in reaches her.
    app.text(MARGARET, "START").await;
    app.settle().await;
    app.advance(Duration::hours(48)).await;
    assert_eq!(check_ins_to(&app, MARGARET).len(), 1);
}

#[tokio::test]
async fn an_ongoing_enrolment_is_checked_on_weekly() {
    // Tuesday 24 November, 11:00: Arthur, ongoing, checked on on Thursdays at 11:00.
    let app = TestApp::spawn("2026-11-24T11:00").await;
    let response = app
        .enrol(&json!({
            "patient": {"name": "Arthur Hughes", "phone": "07700 900811"},
            "service": SERVICE,
            "kind": "ongoing",
            "check_ins": "0 11 * * 4",
        }))
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    app.settle().await;
    app.advance(Duration::days(2)).await;
    assert_eq!(check_ins_to(&app, ARTHUR).len(), 1, "Thursday 26th");
    app.text(ARTHUR, "1").await;
    app.advance(Duration::days(7)).await;
    assert_eq!(check_ins_to(&app, ARTHUR).len(), 2, "Thursday 3 December");
}

#[tokio::test]
async fn the_morning_summary_lists_the_nights_concerns() {
    // Tuesday 24 November, 18:00.
    let app = TestApp::spawn("2026-11-24T18:00").await;
    enrol(&app, "2026-11-24T17:00:00Z", Some(json!([]))).await;
    app.enrol_patient("Arthur Hughes", ARTHUR, SERVICE).await;
    app.settle().await;

    // 19:05: Margaret's dressing; the evening nurse takes it and closes it.
    app.clock.advance(Duration::minutes(65));
    app.text(MARGARET, "My leg dressing is soaked through")
        .await;
    app.settle().await;
    let (nurse_name, nurse) = on_call(SERVICE, "2026-11-24T19:05", 1);
    let code = TestApp::code_in(&app.twilio.messages_to(&nurse)[0]);
    app.text(&nurse, &format!("A{code}")).await;
    app.settle().await;
    app.clock.advance(Duration::minutes(40));
    app.text(
        &nurse,
        &format!("R{code} Changed the dressing at home, will review tomorrow"),
    )
    .await;
    app.settle().await;

    // 02:10: Arthur is dizzy; nobody has taken it by the morning.
    app.advance(Duration::hours(6) + Duration::minutes(25))
        .await;
    assert_eq!(
        app.clock.now_instant().to_rfc3339(),
        "2026-11-25T02:10:00+00:00"
    );
    app.text(ARTHUR, "I feel dizzy when I stand up").await;
    app.settle().await;
    for _ in 0..5 {
        app.advance(Duration::minutes(69)).await;
    }
    app.advance(Duration::minutes(4)).await;
    let (_, coordinator) = on_call(SERVICE, "2026-11-25T08:00", 1);
    let summaries = |app: &TestApp| -> Vec<String> {
        app.twilio
            .messages_to(&coordinator)
            .into_iter()
            .filter(|m| m.body.starts_with("Nightingale handover"))
            .map(|m| m.body)
            .collect()
    };
    assert!(summaries(&app).is_empty(), "not before 08:00");

    // 08:00 Wednesday: the in-hours team hears about the night.
    app.advance(Duration::minutes(1)).await;
    assert_eq!(
        summaries(&app),
        vec![format!(
            "Nightingale handover, Community nursing, north locality, Tue 24 Nov 18:30 to Wed 25 Nov 08:00: 2 raised, 1 not yet taken, 1 closed. Tue 19:05 Margaret (patient): closed by {nurse_name}. Wed 02:10 Arthur (patient): NOT YET TAKEN. Full list: https://nightingale.test/staff/handover/community-nursing-north"
        )]
    );

    // The link: the whole list, with the closing note.
    let session = app.sign_in(&coordinator).await;
    let (status, html) = session
        .page("/staff/handover/community-nursing-north")
        .await;
    assert_eq!(status, 200, "{html}");
    for words in [
        "Tue 24 Nov 18:30 to Wed 25 Nov 08:00",
        "My leg dressing is soaked through",
        "Changed the dressing at home, will review tomorrow",
        &format!("Closed by {nurse_name}"),
        "I feel dizzy when I stand up",
        "Not yet taken",
    ] {
        assert!(html.contains(words), "{words} in {html}");
    }

    // Once a day: the next is Thursday's, and Arthur's is still not closed.
    app.advance(Duration::hours(23)).await;
    assert_eq!(summaries(&app).len(), 1);
    app.advance(Duration::hours(1)).await;
    let (_, thursday) = on_call(SERVICE, "2026-11-26T08:00", 1);
    let last = app.twilio.messages_to(&thursday).pop().unwrap();
    assert_eq!(
        last.body,
        "Nightingale handover, Community nursing, north locality, Wed 25 Nov 18:30 to Thu 26 Nov 08:00: nothing new raised. Still not closed from before: 1. Full list: https://nightingale.test/staff/handover/community-nursing-north"
    );
    // A day on, the session has ended: sign in again.
    let session = app.sign_in(&thursday).await;
    let (_, html) = session
        .page("/staff/handover/community-nursing-north")
        .await;
    assert!(html.contains("Still not closed from before"), "{html}");
    assert!(html.contains("Wed 25 Nov 02:10"), "{html}");
}

#[tokio::test]
async fn an_ongoing_patients_coordinator_hears_of_a_silent_check_in_and_of_the_review_in_her_own_hours()
 {
    // Tuesday 24 November: Arthur, with heart failure, enrolled as ongoing;
    // Bethan Lloyd, community matron (09:00 to 17:00 on weekdays), is his
    // named co-ordinator; his review falls on a Saturday.
    let app = TestApp::spawn("2026-11-24T11:00").await;
    let response = app
        .enrol(&json!({
            "patient": {"name": "Arthur Hughes", "phone": "07700 900811"},
            "service": SERVICE,
            "kind": "ongoing",
            "coordinator": "bethan-lloyd",
            "review_at": "2026-11-28T10:00:00Z",
            "check_ins": "0 10 * * 4",
        }))
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    app.settle().await;
    const BETHAN: &str = "+447700900221";
    let (_, in_hours) = on_call(SERVICE, "2026-11-26T17:00", 1);
    assert_ne!(
        in_hours, BETHAN,
        "the team's first contact this week is someone else"
    );

    // Thursday 10:00 he is asked; by 16:00 he has not answered: Bethan,
    // in her hours, is told.
    app.advance(Duration::days(2) - Duration::hours(1)).await;
    assert_eq!(check_ins_to(&app, ARTHUR).len(), 1);
    app.advance(Duration::hours(6)).await;
    assert_eq!(
        unanswered_flags(&app),
        vec![(
            BETHAN.to_owned(),
            "Nightingale: Arthur (Community nursing, north locality) has not answered the check-in texted Thu 26 Nov 10:00. Please call them on +447700900811.".to_owned()
        )]
    );

    // At 22:00 Arthur's wife writes; at 08:00 on Friday the team hears
    // of the night, and Bethan of her own patient, with her own list.
    app.clock.advance(Duration::hours(6));
    app.text(ARTHUR, "He is more breathless lying down tonight")
        .await;
    app.settle().await;
    for _ in 0..9 {
        app.advance(Duration::hours(1)).await;
    }
    assert_eq!(
        app.clock.now_instant().to_rfc3339(),
        "2026-11-27T07:00:00+00:00"
    );
    app.advance(Duration::hours(1)).await;
    let (_, team) = on_call(SERVICE, "2026-11-27T08:00", 1);
    let handover = |to: &str| -> Vec<String> {
        app.twilio
            .messages_to(to)
            .into_iter()
            .filter(|m| m.body.starts_with("Nightingale handover"))
            .map(|m| m.body)
            .collect()
    };
    assert_eq!(handover(&team).len(), 1);
    assert!(handover(&team)[0].ends_with("/staff/handover/community-nursing-north"));
    let hannahs = handover(BETHAN);
    assert_eq!(hannahs.len(), 1, "{hannahs:?}");
    assert!(
        hannahs[0]
            .contains("1 raised, 1 not yet taken. Thu 22:00 Arthur (patient): NOT YET TAKEN.")
            && hannahs[0].ends_with("/staff/handover/community-nursing-north?mine=1"),
        "{}",
        hannahs[0]
    );
    let session = app.sign_in(BETHAN).await;
    let (status, html) = session
        .page("/staff/handover/community-nursing-north?mine=1")
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("He is more breathless lying down tonight"),
        "{html}"
    );

    // The review date is Saturday: Bethan is reminded on Monday when her
    // hours start at 09:00, not at 08:00 when the team's do.
    let reminders = |app: &TestApp| -> Vec<String> {
        app.twilio
            .messages_to(BETHAN)
            .into_iter()
            .filter(|m| m.body.contains("due for review"))
            .map(|m| m.body)
            .collect()
    };
    app.advance(Duration::hours(72) + Duration::minutes(59))
        .await;
    assert_eq!(
        app.clock.now_instant().to_rfc3339(),
        "2026-11-30T08:59:00+00:00"
    );
    assert!(
        reminders(&app).is_empty(),
        "not at the weekend, nor before her hours"
    );
    app.advance(Duration::minutes(1)).await;
    assert_eq!(
        reminders(&app),
        vec!["Nightingale: Arthur's ongoing care with Community nursing, north locality is due for review (28 Nov 2026). Please review it with them and set the next review date.".to_owned()]
    );
}

#[tokio::test]
async fn a_red_flag_overnight_is_marked_urgent_in_the_morning_handover_linked_from_home() {
    // Tuesday 24 November, 18:00; at 02:10 Arthur texts about chest pain.
    let app = TestApp::spawn("2026-11-24T18:00").await;
    app.enrol_patient("Arthur Hughes", ARTHUR, SERVICE).await;
    app.settle().await;
    app.advance(Duration::hours(8) + Duration::minutes(10))
        .await;
    app.text(ARTHUR, "I have chest pain and feel sick").await;
    app.settle().await;
    app.advance(Duration::hours(5) + Duration::minutes(51))
        .await;
    let (_, coordinator) = on_call(SERVICE, "2026-11-25T08:00", 1);
    let summary = app
        .twilio
        .messages_to(&coordinator)
        .into_iter()
        .find(|m| m.body.starts_with("Nightingale handover"))
        .expect("the 08:00 handover")
        .body;
    assert!(
        summary.contains("Wed 02:10 URGENT Arthur (patient)"),
        "{summary}"
    );

    let session = app.sign_in(&coordinator).await;
    let (_, home) = session.page("/staff").await;
    assert!(
        home.contains(&format!("<a href=\"/staff/handover/{SERVICE}\">")),
        "{home}"
    );
    let (_, html) = session.page(&format!("/staff/handover/{SERVICE}")).await;
    assert!(
        html.contains(
            "<strong class=\"nhsuk-tag nhsuk-tag--red\">Urgent</strong> I have chest pain"
        ),
        "{html}"
    );
}

/// Leo Morgan, 9, and his mother Jess, his carer and contact.
const LEO: &str = "+447700900821";
const JESS: &str = "+447700900822";

/// Enrol `patient` with the children's assessment unit, discharged at
/// 10:00 on Tuesday 24 November, with `carers` and one check-in a day on.
async fn enrol_child(
    app: &TestApp,
    patient: serde_json::Value,
    carers: serde_json::Value,
) -> reqwest::Response {
    app.enrol(&json!({
        "patient": patient,
        "carers": carers,
        "service": "childrens-assessment-unit",
        "discharged_at": "2026-11-24T10:00:00Z",
        "check_ins": ["24h"],
    }))
    .await
}

fn jess() -> serde_json::Value {
    json!([{"name": "Jess Morgan", "phone": "07700 900822", "relationship": "mother"}])
}

#[tokio::test]
async fn leo_is_nine_so_his_welcome_check_ins_and_answers_go_to_his_mother_jess_and_leo_gets_nothing()
 {
    // Tuesday 24 November, 11:00: Leo went home from the children's
    // assessment unit at 10:00. His enrolment gives his date of birth and
    // his own phone; it does not say who takes the texts.
    let app = TestApp::spawn("2026-11-24T11:00").await;
    let response = enrol_child(
        &app,
        json!({"name": "Leo Morgan", "phone": "07700 900821", "date_of_birth": "2017-03-02"}),
        jess(),
    )
    .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    app.settle().await;
    let to_jess = app.twilio.messages_to(JESS);
    assert_eq!(to_jess.len(), 1, "Jess is welcomed: {to_jess:#?}");
    assert!(
        to_jess[0].body.starts_with("Hello Jess."),
        "{}",
        to_jess[0].body
    );

    // Wednesday 10:00: the check-in asks Jess about Leo.
    app.advance(Duration::hours(23)).await;
    let to_jess = app.twilio.messages_to(JESS);
    assert_eq!(
        to_jess.last().unwrap().body,
        "Hello Jess, this is the children's team at Riverside Hospital, checking on Leo. How is Leo today? Reply 1 if all is well, or tell us what is worrying you. In an emergency, call 999."
    );

    // Jess answers with a worry; the registrar accepts and later resolves it.
    app.clock.advance(Duration::minutes(5));
    app.text(JESS, "He has a temperature of 39 and is not drinking")
        .await;
    app.settle().await;
    let (registrar, number) = on_call("childrens-assessment-unit", "2026-11-25T10:05", 1);
    let page = app.twilio.messages_to(&number).last().unwrap().clone();
    let code = TestApp::code_in(&page);
    app.clock.advance(Duration::minutes(2));
    app.text(&number, &format!("A{code}")).await;
    app.settle().await;
    assert!(
        app.twilio
            .messages_to(JESS)
            .last()
            .unwrap()
            .body
            .starts_with(&format!(
                "{registrar}, Paediatric registrar, has the message"
            )),
        "{:#?}",
        app.twilio.messages_to(JESS)
    );
    app.clock.advance(Duration::minutes(30));
    app.text(&number, &format!("R{code} Called Jess, calpol and fluids"))
        .await;
    app.settle().await;
    assert!(
        app.twilio
            .messages_to(JESS)
            .last()
            .unwrap()
            .body
            .contains("has finished dealing with your concern"),
        "{:#?}",
        app.twilio.messages_to(JESS)
    );

    // Leo, who is nine, was sent nothing at all.
    assert_eq!(app.twilio.messages_to(LEO), vec![]);
}

#[tokio::test]
async fn an_enrolment_says_who_takes_the_texts_and_a_child_with_no_carer_is_refused_with_what_to_send()
 {
    let app = TestApp::spawn("2026-11-24T11:00").await;
    // 16 today: takes his own texts.
    let response = enrol_child(
        &app,
        json!({"name": "Owen Price", "phone": "07700 900823", "date_of_birth": "2010-11-24"}),
        jess(),
    )
    .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to("+447700900823").len(),
        1,
        "Owen is welcomed"
    );

    // A nine-year-old with nobody to text for him is refused, saying what to send.
    let response = enrol_child(
        &app,
        json!({"name": "Leo Morgan", "phone": "07700 900821", "date_of_birth": "2017-03-02"}),
        json!([]),
    )
    .await;
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["field"], "patient.date_of_birth",
        "{body:#}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("list the carer who is their contact first in carers"),
        "{body:#}"
    );

    // An adult who does not take texts, said outright, with no phone of his own.
    let response = enrol_child(
        &app,
        json!({"name": "Arthur Davies", "takes_texts": false}),
        json!([{"name": "Gwen Davies", "phone": "07700 900824", "relationship": "wife"}]),
    )
    .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}
