//! The path of a concern over SMS, as the people involved live it.

use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::support::nightingale::{MARGARET, OUR_NUMBER, SIAN, STRANGER, TestApp};

const KIRAN: &str = "+447700900213"; // community evening nurse on Friday 27 November
const HANNAH: &str = "+447700900202"; // district nursing team leader on call that week
const ISLA: &str = "+447700900211"; // community evening nurse from 18:30 on Saturday 28th
const TARA: &str = "+447700900401"; // senior clinician on call
const SAM: &str = "+447700900503"; // site duty manager (the trust-wide fallback)

fn events(concern: &serde_json::Value) -> Vec<String> {
    concern["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn friday_evening_text_is_accepted_after_one_escalation() {
    let app = TestApp::spawn("2026-11-27T18:40").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(MARGARET).len(),
        1,
        "Margaret got a welcome text"
    );
    assert!(
        app.twilio.messages_to(MARGARET)[0]
            .body
            .contains("the community nursing team at any time, day or night")
    );
    assert!(
        app.twilio.messages_to(SIAN)[0]
            .body
            .contains("In an emergency, call 999.")
    );

    // 19:05 on a Friday: Margaret texts about her dressing.
    app.clock.advance(Duration::minutes(25));
    let response = app
        .text(
            MARGARET,
            "My leg dressing is soaked through and smells. Should I change it?",
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("<Response/>"));
    app.settle().await;

    let to_margaret = app.twilio.messages_to(MARGARET);
    assert_eq!(to_margaret.len(), 2);
    assert!(
        to_margaret[1]
            .body
            .starts_with("Thank you, we have your message."),
        "{}",
        to_margaret[1].body
    );
    assert_eq!(to_margaret[1].from, OUR_NUMBER);
    let page = &app.twilio.messages_to(KIRAN)[0];
    assert!(
        page.body
            .contains("Margaret - Community nursing, north locality, discharged 27 Nov:"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("My leg dressing is soaked through"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("https://nightingale.test/l/"),
        "{}",
        page.body
    );
    let code = TestApp::code_in(page);
    assert!(
        page.body
            .ends_with(&format!("Reply A{code} to accept, P{code} to pass.")),
        "{}",
        page.body
    );
    let concern_id = TestApp::concern_id_in(page);

    // Ten minutes and no answer: the team leader is paged.
    app.advance(Duration::minutes(9)).await;
    assert!(
        app.twilio.messages_to(HANNAH).is_empty(),
        "not before the ten minutes are up"
    );
    app.advance(Duration::minutes(1)).await;
    let page2 = &app.twilio.messages_to(HANNAH)[0];
    let code2 = TestApp::code_in(page2);

    // Hannah accepts from her phone.
    app.clock.advance(Duration::minutes(3));
    assert_eq!(app.text(HANNAH, &format!("a {code2}")).await.status(), 200);
    app.settle().await;
    let told = app.twilio.messages_to(MARGARET);
    assert_eq!(
        told.last().unwrap().body,
        "Hannah Price, District nursing team leader, has the message and will be in touch."
    );
    let kiran = app.twilio.messages_to(KIRAN);
    assert_eq!(
        kiran.last().unwrap().body,
        format!("Hannah Price has accepted concern {code} for Margaret. No action needed.")
    );

    // Kiran, late to his phone, tries to accept: he is told who has it.
    app.text(KIRAN, &format!("A{code}")).await;
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(KIRAN).last().unwrap().body,
        "Hannah Price already has this concern. No action needed."
    );

    // Escalation has stopped: nobody else is paged.
    let before = app.twilio.messages().len();
    app.advance(Duration::minutes(30)).await;
    assert_eq!(app.twilio.messages().len(), before);
    assert!(app.twilio.messages_to(TARA).is_empty());

    let concern = app.concern(&concern_id).await;
    assert_eq!(concern["status"], "accepted");
    assert_eq!(concern["accepted_by"]["name"], "Hannah Price");
    assert_eq!(concern["opened_at"], "2026-11-27T19:05:00+00:00");
    let timeline = events(&concern);
    for expected in ["received", "paged", "sent", "escalated", "accepted"] {
        assert!(
            timeline.contains(&expected.to_owned()),
            "{expected} missing from {timeline:?}"
        );
    }

    // Two hours on, unresolved: Hannah is reminded; she resolves it with a note.
    app.advance(Duration::minutes(90)).await;
    assert!(
        app.twilio
            .messages_to(HANNAH)
            .last()
            .unwrap()
            .body
            .starts_with(&format!(
                "Reminder: you accepted concern {code2} for Margaret today at 19:18."
            ))
    );
    app.text(HANNAH, &format!("R{code2} Visited, dressing changed"))
        .await;
    app.settle().await;
    let concern = app.concern(&concern_id).await;
    assert_eq!(concern["status"], "resolved");
    assert_eq!(
        concern["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|e| e["event"] == "resolved")
            .unwrap()["note"],
        "Visited, dressing changed"
    );
}

#[tokio::test]
async fn a_red_flag_gets_999_advice_at_once_and_pages_two_levels() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    app.text(MARGARET, "Mum has chest pain and is sweating")
        .await;
    app.settle().await;
    let reply = app.twilio.messages_to(MARGARET).last().unwrap().clone();
    assert_eq!(
        reply.body,
        "If this is an emergency, call 999 now. Your message mentions \"chest pain\". We are also contacting the on-call team urgently."
    );
    assert!(
        app.twilio.messages_to(KIRAN)[0]
            .body
            .starts_with("URGENT: Margaret")
    );
    assert!(
        app.twilio.messages_to(HANNAH)[0]
            .body
            .starts_with("URGENT: Margaret"),
        "level 2 paged at once"
    );
    let concern = app
        .concern(&TestApp::concern_id_in(&app.twilio.messages_to(KIRAN)[0]))
        .await;
    assert_eq!(concern["urgent"], true);
    assert!(events(&concern).contains(&"red_flag".to_owned()));
}

#[tokio::test]
async fn an_unknown_sender_still_reaches_a_person() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    app.text(
        STRANGER,
        "Hello, my husband came home from your hospital today and is very confused",
    )
    .await;
    app.settle().await;
    let reply = &app.twilio.messages_to(STRANGER)[0];
    assert!(reply.body.contains("your message has reached the Riverside NHS Foundation Trust (demo) out-of-hours service"), "{}", reply.body);
    let page = &app.twilio.messages_to(SAM)[0];
    assert!(
        page.body
            .contains("Unknown sender ending 0999 - out-of-hours service:"),
        "{}",
        page.body
    );

    // A second text joins the same concern: no new page storm, the words go
    // on to Sam a minute after the page (texts to him are bundled).
    app.text(STRANGER, "He is called John Smith").await;
    app.settle().await;
    assert_eq!(app.twilio.messages_to(SAM).len(), 1);
    app.advance(Duration::minutes(1)).await;
    let to_sam = app.twilio.messages_to(SAM);
    assert_eq!(to_sam.len(), 2);
    assert!(
        to_sam[1]
            .body
            .contains(": \"He is called John Smith\" Reply"),
        "{}",
        to_sam[1].body
    );
    assert_eq!(app.twilio.messages_to(STRANGER).len(), 1);
}

#[tokio::test]
async fn a_carer_writes_and_both_carer_and_patient_are_told_who_has_it() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    app.text(SIAN, "Mum's leg looks redder tonight").await;
    app.settle().await;
    let page = app.twilio.messages_to(KIRAN)[0].clone();
    assert!(
        page.body
            .starts_with("Margaret (via daughter Sian) - Community nursing"),
        "{}",
        page.body
    );
    app.text(KIRAN, "ACK").await; // a bare accept: Kiran has exactly one open page
    app.settle().await;
    let accepted = "Kiran Patel, Community staff nurse, has the message and will be in touch.";
    assert_eq!(app.twilio.messages_to(SIAN).last().unwrap().body, accepted);
    assert_eq!(
        app.twilio.messages_to(MARGARET).last().unwrap().body,
        accepted
    );
}

/// Intake takes several waiting items in side by side; two that meet on one
/// concern are kept apart by its version, and neither is lost.
#[tokio::test]
async fn margarets_second_text_and_kirans_accept_arriving_together_both_land() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.text(MARGARET, "My leg dressing is soaked through")
        .await;
    app.settle().await;
    let page = app.twilio.messages_to(KIRAN)[0].clone();
    let code = TestApp::code_in(&page);
    // Both reach the service before the engine looks again.
    app.text(MARGARET, "It is bleeding a little now").await;
    app.text(KIRAN, &format!("A{code}")).await;
    app.settle().await;
    let concern = app.concern(&TestApp::concern_id_in(&page)).await;
    assert_eq!(concern["status"], "accepted");
    let events: Vec<(String, String)> = concern["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or("").to_owned(),
                e["text"]
                    .as_str()
                    .or(e["name"].as_str())
                    .unwrap_or("")
                    .to_owned(),
            )
        })
        .collect();
    assert!(
        events.contains(&("received".into(), "It is bleeding a little now".into())),
        "{events:?}"
    );
    assert!(
        events.contains(&("accepted".into(), "Kiran Patel".into())),
        "{events:?}"
    );
    assert_eq!(
        app.twilio.messages_to(MARGARET).last().unwrap().body,
        "Kiran Patel, Community staff nurse, has the message and will be in touch."
    );
    assert!(
        app.pending_inbound().is_empty(),
        "nothing is left waiting or set aside"
    );
}

#[tokio::test]
async fn a_handover_mid_escalation_pages_the_new_on_call_nurse() {
    // Saturday 28 November, 18:25: Kiran's shift ends at 18:30 and Isla's begins.
    let app = TestApp::spawn("2026-11-28T18:20").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    app.clock.advance(Duration::minutes(5));
    app.text(MARGARET, "The district nurse did not come today")
        .await;
    app.settle().await;
    assert_eq!(app.twilio.messages_to(KIRAN).len(), 1);
    assert!(app.twilio.messages_to(ISLA).is_empty());
    app.advance(Duration::minutes(5)).await;
    let isla = app.twilio.messages_to(ISLA);
    assert_eq!(isla.len(), 1, "the nurse now on call is paged at handover");
    // Either may accept: Kiran's page is still valid, and Isla's deadline is the original one.
    app.text(
        KIRAN,
        &format!("A{}", TestApp::code_in(&app.twilio.messages_to(KIRAN)[0])),
    )
    .await;
    app.settle().await;
    assert!(
        app.twilio
            .messages_to(ISLA)
            .last()
            .unwrap()
            .body
            .starts_with("Kiran Patel has accepted concern")
    );
}

#[tokio::test]
async fn twilio_failing_then_recovering_delays_but_loses_nothing() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    app.twilio.fail_next(3, 503, 20500);
    app.text(STRANGER, "Is anyone there?").await;
    app.settle().await;
    assert!(app.twilio.messages().is_empty(), "Twilio is down");
    // Retries back off (1 s, 2 s, …) on the injected clock; Twilio recovers.
    for _ in 0..4 {
        app.advance(Duration::seconds(2)).await;
    }
    assert_eq!(app.twilio.messages_to(STRANGER).len(), 1);
    assert_eq!(app.twilio.messages_to(SAM).len(), 1);
    let concern = app
        .concern(&TestApp::concern_id_in(&app.twilio.messages_to(SAM)[0]))
        .await;
    let timeline = concern["timeline"].as_array().unwrap();
    let failed: Vec<_> = timeline
        .iter()
        .filter(|e| e["event"] == "send_failed")
        .collect();
    assert_eq!(
        failed.len(),
        2,
        "the first failure of each text is recorded"
    );
    assert!(failed.iter().all(|e| e["will_retry"] == true));
    assert!(failed[0]["reason"].as_str().unwrap().contains("503"));
    // A text that waited says when it was queued and how many attempts it took;
    // its own time is when Twilio took it.
    let page_sent = timeline
        .iter()
        .find(|e| e["event"] == "sent" && e["purpose"] == "page")
        .unwrap();
    assert!(page_sent["attempts"].as_u64().unwrap() >= 2, "{page_sent}");
    assert!(
        page_sent["queued_at"]
            .as_str()
            .unwrap()
            .contains("19:05:00")
    );
    assert!(!page_sent["at"].as_str().unwrap().contains("19:05:00"));
}

#[tokio::test]
async fn an_undelivered_page_fails_over_to_the_next_level_at_once() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    app.text(MARGARET, "I have run out of dressings").await;
    app.settle().await;
    let page = app.twilio.messages_to(KIRAN)[0].clone();
    // The carrier could not deliver it; Kiran has no other number.
    assert_eq!(app.status(&page, "sent", None).await.status(), 200);
    assert_eq!(
        app.status(&page, "undelivered", Some(30003)).await.status(),
        200
    );
    app.settle().await;
    // Kiran's next way of being reached is a call to the same phone: it is
    // not answered either.
    let call = app.twilio.calls_to(KIRAN);
    assert_eq!(call.len(), 1, "the page rings Kiran instead");
    assert_eq!(app.call_status(&call[0], "no-answer").await.status(), 200);
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(HANNAH).len(),
        1,
        "level 2 is paged without waiting ten minutes"
    );
    let concern = app.concern(&TestApp::concern_id_in(&page)).await;
    let delivery: Vec<_> = concern["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "delivery")
        .collect();
    assert_eq!(delivery.len(), 3);
    assert_eq!(delivery[1]["error_code"], 30003);
    assert_eq!(
        (&delivery[2]["purpose"], &delivery[2]["status"]),
        (&"call_page".into(), &"no-answer".into())
    );
}

#[tokio::test]
async fn a_page_twilio_refuses_fails_over_too() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.twilio.reject_number(KIRAN, 21211);
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    app.text(MARGARET, "I have run out of dressings").await;
    app.settle().await;
    assert!(app.twilio.messages_to(KIRAN).is_empty());
    assert_eq!(app.twilio.messages_to(HANNAH).len(), 1);
}

#[tokio::test]
async fn after_the_whole_chain_the_fallback_is_paged_and_the_patient_told_to_call_111() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    app.text(MARGARET, "I feel a bit worse").await;
    app.settle().await;
    app.advance(Duration::minutes(10)).await; // level 2
    app.advance(Duration::minutes(15)).await; // level 3
    assert_eq!(app.twilio.messages_to(TARA).len(), 1);
    app.advance(Duration::minutes(15)).await; // fallback
    assert_eq!(app.twilio.messages_to(SAM).len(), 1);
    assert_eq!(
        app.twilio.messages_to(MARGARET).last().unwrap().body,
        "We are still trying to reach the on-call team. If you need help now, call NHS 111. In an emergency, call 999."
    );
    // The concern stays open and the fallback keeps being paged.
    app.advance(Duration::minutes(10)).await;
    assert_eq!(app.twilio.messages_to(SAM).len(), 2);
}

#[tokio::test]
async fn a_restart_mid_escalation_carries_on_on_time_without_a_duplicate_page() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    app.text(MARGARET, "My dressing has come off").await;
    app.settle().await;
    assert_eq!(app.twilio.messages_to(KIRAN).len(), 1);
    app.clock.advance(Duration::minutes(4));

    let app = app.restart().await;
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(KIRAN).len(),
        1,
        "nothing is re-sent after a restart"
    );
    app.advance(Duration::minutes(5)).await;
    assert!(
        app.twilio.messages_to(HANNAH).is_empty(),
        "the deadline is still 19:10"
    );
    app.advance(Duration::minutes(1)).await;
    assert_eq!(app.twilio.messages_to(HANNAH).len(), 1);
    assert_eq!(app.twilio.messages_to(KIRAN).len(), 1);
}

#[tokio::test]
async fn twilio_accepting_a_page_but_answering_500_does_not_page_twice() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    // Twilio queues both texts (the reply and the page) but answers 500.
    app.twilio.accept_then_fail_next(2, 500);
    app.text(MARGARET, "My dressing has come off").await;
    app.settle().await;
    assert_eq!(app.twilio.messages_to(KIRAN).len(), 1);
    // The retry asks Twilio first, finds both, and sends neither again.
    app.advance(Duration::seconds(5)).await;
    assert_eq!(app.twilio.messages_to(KIRAN).len(), 1, "no duplicate page");
    assert_eq!(
        app.twilio.messages_to(MARGARET).len(),
        2,
        "welcome and one reply"
    );
    let page = &app.twilio.messages_to(KIRAN)[0];
    let concern = app.concern(&TestApp::concern_id_in(page)).await;
    let sent: Vec<_> = concern["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "sent" && e["purpose"] == "page")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["provider_id"], page.sid.as_str());
}

#[tokio::test]
async fn a_crash_mid_send_does_not_page_twice() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    let before = app.twilio.messages().len();
    // Twilio takes both texts, and the process dies before it hears back.
    app.twilio.accept_then_hang_next(2);
    app.text(MARGARET, "My dressing has come off").await;
    let engine = std::sync::Arc::clone(&app.engine);
    let pass = tokio::spawn(async move { engine.settle().await });
    app.twilio
        .wait_for_messages(before + 2, StdDuration::from_secs(5))
        .await;
    pass.abort();
    let _ = pass.await;

    // The new process finds both texts claimed by the old one: it takes
    // them over when the claims' 30-second leases end.
    let app = app.restart().await;
    app.settle().await;
    assert_eq!(app.twilio.messages().len(), before + 2);
    app.advance(Duration::seconds(31)).await;
    assert_eq!(
        app.twilio.messages().len(),
        before + 2,
        "nothing Twilio accepted is sent again"
    );
    let page = app.twilio.messages_to(KIRAN)[0].clone();
    let concern = app.concern(&TestApp::concern_id_in(&page)).await;
    assert!(
        concern["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "sent" && e["provider_id"] == page.sid.as_str())
    );
    // And the escalation carries on from there as usual.
    app.advance(Duration::minutes(10)).await;
    assert_eq!(app.twilio.messages_to(HANNAH).len(), 1);
}

#[tokio::test]
async fn ninety_days_after_a_concern_is_resolved_what_was_written_is_removed_and_who_acted_stays() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    app.text(MARGARET, "My leg is more swollen tonight").await;
    app.settle().await;
    let page = app.twilio.messages_to(KIRAN)[0].clone();
    let code = TestApp::code_in(&page);
    app.text(KIRAN, &format!("A{code}")).await;
    app.text(
        KIRAN,
        &format!("R{code} Advised elevation, district nurse to visit tomorrow"),
    )
    .await;
    app.settle().await;
    let id = TestApp::concern_id_in(&page);
    assert_eq!(
        app.concern(&id).await["text"],
        "My leg is more swollen tonight"
    );

    app.advance(Duration::days(89)).await;
    assert_eq!(
        app.concern(&id).await["text"],
        "My leg is more swollen tonight",
        "kept for 90 days"
    );
    app.advance(Duration::days(2)).await;
    let concern = app.concern(&id).await;
    let removed = "[removed after the retention period]";
    assert_eq!(concern["text"], removed);
    let timeline = concern["timeline"].as_array().unwrap();
    let received = timeline.iter().find(|e| e["event"] == "received").unwrap();
    assert_eq!(received["text"], removed);
    let resolved = timeline.iter().find(|e| e["event"] == "resolved").unwrap();
    assert_eq!(resolved["note"], removed);
    assert_eq!(resolved["name"], "Kiran Patel", "who resolved it stays");
    assert!(
        timeline
            .iter()
            .any(|e| e["event"] == "paged" && e["name"] == "Kiran Patel"),
        "who was paged stays"
    );
    assert!(!concern.to_string().contains("swollen") && !concern.to_string().contains("elevation"));
}

#[tokio::test]
async fn margaret_is_told_who_has_her_text_by_a_role_written_for_her_not_the_ward_team_phones() {
    // Thursday 26 November, 14:00: the ward's own team answers, by its team phone.
    let app = TestApp::spawn("2026-11-26T14:00").await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;
    app.text(MARGARET, "My ankles are more swollen than this morning")
        .await;
    app.settle().await;
    let team_phone = "+447700900101";
    let page = app.twilio.messages_to(team_phone).last().unwrap().clone();
    let code = TestApp::code_in(&page);

    app.clock.advance(chrono::Duration::minutes(3));
    app.text(team_phone, &format!("A{code}")).await;
    app.settle().await;
    app.clock.advance(chrono::Duration::minutes(40));
    app.text(
        team_phone,
        &format!("R{code} Called her, water tablets tomorrow"),
    )
    .await;
    app.settle().await;

    let told: Vec<String> = app
        .twilio
        .messages_to(MARGARET)
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert!(
        told.contains(
            &"Ward 7 nurse in charge, Cardiology Ward 7, has the message and will be in touch."
                .to_owned()
        ),
        "{told:#?}"
    );
    // The loop is closed kindly, with where to turn if she is still worried.
    assert!(
        told.contains(&"Ward 7 nurse in charge, Cardiology Ward 7, has finished dealing with your concern. Thank you for getting in touch. If you are still worried, or anything changes, text this number again at any time, day or night. If you need help now, call NHS 111. In an emergency, call 999.".to_owned()),
        "{told:#?}"
    );
    assert!(told.iter().all(|t| !t.contains("team phone")), "{told:#?}");
}
