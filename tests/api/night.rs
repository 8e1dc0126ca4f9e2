//! A night of faults and floods: what must not happen to a patient's words
//! when Twilio is down for hours, when one sender texts thirty times, and
//! how every loop closes with the people who wrote.

use chrono::Duration;

use crate::support::nightingale::{MARGARET, PUBLIC_URL, SIAN, STRANGER, TestApp};

const KIRAN: &str = "+447700900213"; // community evening nurse on Friday 27 November
const HANNAH: &str = "+447700900202"; // district nursing team leader on call that week
const TARA: &str = "+447700900401"; // senior clinician on call
const SAM: &str = "+447700900503"; // site duty manager (the trust-wide fallback)

pub(crate) fn timeline_events(concern: &serde_json::Value, event: &str) -> Vec<serde_json::Value> {
    concern["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == event)
        .cloned()
        .collect()
}

/// The texts sent to `to` after the first `skip`, in order.
fn bodies_after(app: &TestApp, to: &str, skip: usize) -> Vec<String> {
    app.twilio
        .messages_to(to)
        .into_iter()
        .skip(skip)
        .map(|m| m.body)
        .collect()
}

/// The value of the series `name` (with its labels, if any) in `/metrics`.
pub(crate) fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_three_hour_twilio_outage_delays_margarets_texts_but_loses_none() {
    let app = TestApp::spawn("2026-11-27T18:40").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    let welcomed = app.twilio.messages_to(MARGARET).len();
    let before = app.twilio.messages().len();

    // 19:05 Friday: Twilio goes down just before Margaret texts.
    app.twilio.set_down(true);
    app.clock.advance(Duration::minutes(25));
    app.text(MARGARET, "My leg dressing is soaked through")
        .await;
    app.settle().await;

    // Three hours pass, half a minute at a time. Nobody can be paged, so the
    // concern climbs the chain to the fallback and Margaret should be told
    // to call 111: every one of those texts waits for Twilio.
    for minute in 0..360 {
        app.advance(Duration::seconds(30)).await;
        if minute == 10 {
            let metrics = app.get("/metrics").await.text().await.unwrap();
            assert!(
                metric(&metrics, "nightingale_outbox_retrying") >= 2.0,
                "{metrics}"
            );
            assert!(
                metric(&metrics, "nightingale_outbox_oldest_seconds") >= 300.0,
                "a stuck outbox is plain in /metrics: {metrics}"
            );
        }
    }
    assert_eq!(app.twilio.messages().len(), before, "nothing went out");

    // 22:05 Twilio is back: within a minute everything still wanted goes.
    app.twilio.set_down(false);
    app.advance(Duration::minutes(1)).await;
    let to_margaret = bodies_after(&app, MARGARET, welcomed);
    assert_eq!(to_margaret.len(), 2, "{to_margaret:#?}");
    assert!(
        to_margaret[0].contains("we have your message"),
        "{to_margaret:#?}"
    );
    assert!(
        to_margaret[1].contains("call NHS 111") && to_margaret[1].contains("call 999"),
        "the 111 advice comes second, in order: {to_margaret:#?}"
    );
    // Pages for steps the concern has moved past were dropped; the fallback,
    // who holds it now, is paged once.
    for passed in [KIRAN, HANNAH, TARA] {
        assert!(
            app.twilio.messages_to(passed).is_empty(),
            "{passed} was escalated past and not paged late"
        );
    }
    let to_sam = app.twilio.messages_to(SAM);
    assert_eq!(to_sam.len(), 1, "{to_sam:#?}");

    let concern = app.concern(&TestApp::concern_id_in(&to_sam[0])).await;
    let dropped = timeline_events(&concern, "dropped");
    assert!(
        dropped.len() >= 3,
        "each dropped page is on the timeline: {dropped:#?}"
    );
    let notice = timeline_events(&concern, "sent")
        .into_iter()
        .find(|e| e["to"] == "patient")
        .unwrap();
    assert!(notice["queued_at"].as_str().unwrap().contains("T19:05:00"));
    assert!(notice["at"].as_str().unwrap().contains("T22:0"), "{notice}");
    assert!(notice["attempts"].as_u64().unwrap() > 100, "{notice}");
    let failures = timeline_events(&concern, "send_failed");
    assert!(
        failures.iter().all(|f| f["will_retry"] == true),
        "nothing was given up: {failures:#?}"
    );
    assert!(
        failures.len() < 40,
        "an outage does not bury the timeline in failures: {}",
        failures.len()
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(metric(&metrics, "nightingale_outbox_oldest_seconds"), 0.0);
}

#[tokio::test]
async fn thirty_texts_in_a_burst_reach_the_duty_manager_as_one_page_and_one_forward() {
    let app = TestApp::spawn("2026-11-27T23:10").await;
    app.text(STRANGER, "message 1: is anyone there").await;
    app.settle().await;
    for i in 2..=30 {
        app.clock.advance(Duration::seconds(1));
        app.text(STRANGER, &format!("message {i}: please answer"))
            .await;
        app.settle().await;
    }
    assert_eq!(
        app.twilio.messages_to(SAM).len(),
        1,
        "the page alone, while the rest is held"
    );

    // A minute after the page, what arrived since goes in one text.
    app.advance(Duration::seconds(31)).await;
    let to_sam = app.twilio.messages_to(SAM);
    assert_eq!(to_sam.len(), 2, "{to_sam:#?}");
    let forward = &to_sam[1].body;
    assert!(
        forward.contains("\"message 2: please answer\""),
        "{forward}"
    );
    assert!(
        !forward.contains("message 1:"),
        "the page already quoted it: {forward}"
    );
    assert!(
        forward.contains("more messages. See them all at https://nightingale.test/l/"),
        "{forward}"
    );
    assert!(
        forward.chars().count() <= 480,
        "{} chars",
        forward.chars().count()
    );
    assert_eq!(
        app.twilio.messages_to(STRANGER).len(),
        1,
        "the sender got one acknowledgement, not thirty"
    );

    // The link page shows every message: nothing is dropped.
    let link = forward
        .split_whitespace()
        .find(|w| w.starts_with(PUBLIC_URL))
        .unwrap()
        .replace(PUBLIC_URL, &app.address);
    let page = app
        .http
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for i in 2..=30 {
        assert!(
            page.contains(&format!("message {i}: please answer")),
            "message {i} missing"
        );
    }

    // Later texts go on at most once a minute, and in order.
    app.clock.advance(Duration::minutes(5));
    app.text(STRANGER, "message 31").await;
    app.settle().await;
    app.text(STRANGER, "message 32").await;
    app.settle().await;
    app.advance(Duration::minutes(1)).await;
    let to_sam = app.twilio.messages_to(SAM);
    assert_eq!(to_sam.len(), 4);
    assert!(to_sam[2].body.contains("\"message 31\""));
    assert!(to_sam[3].body.contains("\"message 32\""));
}

#[tokio::test]
async fn margaret_hears_when_her_concern_is_taken_and_when_it_is_resolved() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    let sian_before = app.twilio.messages_to(SIAN).len();
    app.text(MARGARET, "I have run out of dressings").await;
    app.settle().await;
    let page = app.twilio.messages_to(KIRAN)[0].clone();
    let code = TestApp::code_in(&page);

    // Kiran does not answer; Hannah is paged at 19:10 and accepts.
    app.advance(Duration::minutes(10)).await;
    let hannah_page = app.twilio.messages_to(HANNAH)[0].clone();
    let hannah_code = TestApp::code_in(&hannah_page);
    app.text(HANNAH, &format!("A{hannah_code}")).await;
    app.settle().await;
    let to_hannah = app.twilio.messages_to(HANNAH);
    let confirmation = &to_hannah.last().unwrap().body;
    assert!(
        confirmation.contains(&format!(
            "You have concern {hannah_code} for Margaret, Community nursing, north locality"
        )) && confirmation.contains(&format!("Reply R{hannah_code} when it is resolved")),
        "at 19:10 she knows it worked: {confirmation}"
    );
    assert!(
        app.twilio
            .messages_to(KIRAN)
            .last()
            .unwrap()
            .body
            .contains("has accepted concern"),
        "Kiran is told it is taken"
    );

    // 19:40 Hannah resolves it.
    app.clock.advance(Duration::minutes(30));
    app.text(HANNAH, &format!("R{hannah_code} dressings dropped round"))
        .await;
    app.settle().await;
    let confirmation = app.twilio.messages_to(HANNAH).last().unwrap().body.clone();
    assert!(
        confirmation.contains(&format!("Concern {hannah_code} for Margaret is resolved")),
        "{confirmation}"
    );
    let closed = app
        .twilio
        .messages_to(MARGARET)
        .last()
        .unwrap()
        .body
        .clone();
    assert!(
        closed.contains("has finished dealing with your concern. Thank you for getting in touch.")
            && closed.contains("still worried")
            && closed.contains("NHS 111")
            && closed.contains("999"),
        "Margaret hears the loop close in plain words: {closed}"
    );
    let to_kiran = app.twilio.messages_to(KIRAN).last().unwrap().body.clone();
    assert!(
        to_kiran.contains(&format!("has resolved concern {code}")),
        "whoever was told 'taken' is told 'resolved': {to_kiran}"
    );
    assert_eq!(
        app.twilio.messages_to(SIAN).len(),
        sian_before,
        "Margaret wrote herself, so her carer is not texted about it"
    );

    // The record still says who accepted it, and when.
    let concern = app.concern(&TestApp::concern_id_in(&page)).await;
    assert_eq!(concern["status"], "resolved");
    let accepted = &timeline_events(&concern, "accepted")[0];
    assert_eq!(concern["accepted_by"]["name"], accepted["name"]);
    assert_eq!(concern["accepted_by"]["at"], accepted["at"]);
    assert_eq!(concern["resolved_by"]["name"], accepted["name"]);
}

#[tokio::test]
async fn a_picture_with_no_words_reaches_the_nurse_as_words_and_margaret_is_asked_to_describe_it() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    let welcomed = app.twilio.messages_to(MARGARET).len();

    assert_eq!(app.text_with_media(MARGARET, "", 1).await.status(), 200);
    app.settle().await;
    let page = app.twilio.messages_to(KIRAN)[0].body.clone();
    assert!(page.contains("\"sent a picture (not shown)\""), "{page}");
    assert!(!page.contains("\"\""), "never an empty quote: {page}");
    let to_margaret = bodies_after(&app, MARGARET, welcomed);
    assert_eq!(to_margaret.len(), 2, "{to_margaret:#?}");
    assert!(
        to_margaret[1].contains("cannot see pictures"),
        "{to_margaret:#?}"
    );
    assert!(to_margaret[1].contains("in words"), "{to_margaret:#?}");

    // A second picture, with words, goes on with a note; she is not told again.
    app.clock.advance(Duration::minutes(2));
    app.text_with_media(MARGARET, "this is the dressing now", 2)
        .await;
    app.settle().await;
    let forward = app.twilio.messages_to(KIRAN).last().unwrap().body.clone();
    assert!(
        forward.contains("\"this is the dressing now [and 2 pictures, not shown]\""),
        "{forward}"
    );
    assert_eq!(app.twilio.messages_to(MARGARET).len(), welcomed + 2);
}

#[tokio::test]
async fn every_sender_twilio_gives_reaches_a_person_or_is_counted_as_refused() {
    let app = TestApp::spawn("2026-11-27T23:10").await;
    // Côte d'Ivoire's ten-digit numbers, which older phone metadata refuses.
    let abroad = "+2250701234567";
    assert_eq!(
        app.text(abroad, "Bonjour, my mother is unwell")
            .await
            .status(),
        200
    );
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(SAM).len(),
        1,
        "the duty manager is paged"
    );
    assert_eq!(
        app.twilio.messages_to(abroad).len(),
        1,
        "the sender is answered"
    );

    // Senders nobody can text back are taken in (200), refused, and counted.
    for sender in ["VODAFONE", "whatsapp:+447700900999", "NHSAPP"] {
        assert_eq!(app.text(sender, "hello").await.status(), 200);
    }
    app.settle().await;
    assert_eq!(app.twilio.messages_to(SAM).len(), 1);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        metric(
            &metrics,
            "nightingale_inbound_refused_total{reason=\"alphanumeric\"}"
        ),
        2.0
    );
    assert_eq!(
        metric(
            &metrics,
            "nightingale_inbound_refused_total{reason=\"channel\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(&metrics, "nightingale_inbound_pending"),
        0.0,
        "refused, not stuck"
    );
}

#[tokio::test]
async fn control_characters_never_reach_the_nurses_phone() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    app.text(
        MARGARET,
        "My leg\u{0}\u{7} is \u{202e}swollen\u{202c} and\r\nred",
    )
    .await;
    app.settle().await;
    let page = app.twilio.messages_to(KIRAN)[0].body.clone();
    assert!(page.contains("\"My leg is swollen and red\""), "{page:?}");
    assert!(
        !page
            .chars()
            .any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
        "{page:?}"
    );
}

#[tokio::test]
async fn a_patient_enrolled_with_a_landline_is_never_texted_even_when_her_carer_is() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    let landline = "+442079460123"; // Ofcom's London drama range
    let response = app
        .enrol(&serde_json::json!({
            "patient": {"name": "Margaret Evans", "phone": "020 7946 0123"},
            "carers": [{"name": "Sian Evans", "phone": SIAN, "relationship": "daughter"}],
            "service": "community-nursing-north",
            "discharged_at": "2026-11-27T17:30:00Z"
        }))
        .await;
    assert_eq!(response.status(), 201);
    app.settle().await;
    app.text(SIAN, "Mum has a temperature").await;
    app.settle().await;
    let code = TestApp::code_in(&app.twilio.messages_to(KIRAN)[0]);
    app.text(KIRAN, &format!("A{code}")).await;
    app.settle().await;
    assert!(
        app.twilio
            .messages_to(SIAN)
            .last()
            .unwrap()
            .body
            .contains("will be in touch"),
        "Sian hears who has it"
    );
    assert!(
        app.twilio.messages_to(landline).is_empty(),
        "the landline is never texted"
    );
}

#[tokio::test]
async fn a_message_whose_handler_keeps_dying_is_set_aside_and_the_next_one_goes_on() {
    let app = TestApp::spawn("2026-11-27T23:10").await;
    app.text(STRANGER, "first, on a node that keeps dying")
        .await;
    // Five nodes in turn claim the message and die before finishing it.
    let store = nightingale::store::sqlite::SqliteStore::open(&app.store_path()).unwrap();
    for n in 0..5 {
        let node = nightingale::work::NodeId::new(format!("doomed-{n}"));
        let now = nightingale::clock::Clock::now(&app.clock);
        let claimed = nightingale::work::ClaimOf::claim_of::<nightingale::inbox::Inbound>(
            &store,
            &node,
            now,
            chrono::TimeDelta::seconds(30),
            10,
        )
        .unwrap();
        assert_eq!(claimed.len(), 1, "claim {n}");
        app.clock.advance(Duration::seconds(31));
    }
    app.text(SIAN, "second, an ordinary message").await;
    app.settle().await;
    // The first is set aside for an operator, not tried for ever ahead of
    // the rest; the second reaches the duty manager.
    let to_sam = app.twilio.messages_to(SAM);
    assert_eq!(to_sam.len(), 1, "{to_sam:#?}");
    assert!(to_sam[0].body.contains("second, an ordinary message"));
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(metric(&metrics, "nightingale_set_aside_total"), 1.0);
    assert_eq!(metric(&metrics, "nightingale_inbound_pending"), 0.0);
}
