//! Twilio's webhooks: only Twilio gets in, nothing is stored twice, and a
//! message Nightingale answered 200 for is never lost.

use std::time::Duration;

use nightingale::inbox::InboundKind;

use crate::support::fake_twilio::twilio_signature;
use crate::support::nightingale::{
    AUTH_TOKEN, MARGARET, OUR_NUMBER, PREVIOUS_AUTH_TOKEN, PUBLIC_URL, SIAN, STRANGER, TestApp,
};

#[tokio::test]
async fn an_unsigned_or_wrongly_signed_webhook_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let params =
        app.twilio
            .inbound_sms_params(&app.twilio.new_sid(), STRANGER, OUR_NUMBER, "hello");
    let url = format!("{}/twilio/sms", app.address);
    assert_eq!(
        app.twilio
            .post_with_signature(&url, &params, None)
            .await
            .status(),
        403
    );
    let wrong_token = twilio_signature(
        "not-the-token",
        &format!("{PUBLIC_URL}/twilio/sms"),
        &params,
    );
    assert_eq!(
        app.twilio
            .post_with_signature(&url, &params, Some(&wrong_token))
            .await
            .status(),
        403
    );
    // Signed for the address the server sees rather than the public one Twilio calls.
    let wrong_url = twilio_signature(AUTH_TOKEN, &url, &params);
    assert_eq!(
        app.twilio
            .post_with_signature(&url, &params, Some(&wrong_url))
            .await
            .status(),
        403
    );
    // Tampered after signing.
    let signed = twilio_signature(AUTH_TOKEN, &format!("{PUBLIC_URL}/twilio/sms"), &params);
    let mut tampered = params.clone();
    tampered.iter_mut().find(|(k, _)| k == "Body").unwrap().1 = "something else".into();
    assert_eq!(
        app.twilio
            .post_with_signature(&url, &tampered, Some(&signed))
            .await
            .status(),
        403
    );
    app.settle().await;
    assert!(
        app.twilio.messages().is_empty(),
        "nothing was stored, so nothing was answered"
    );
}

#[tokio::test]
async fn the_previous_auth_token_still_works_during_a_rotation() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let params =
        app.twilio
            .inbound_sms_params(&app.twilio.new_sid(), STRANGER, OUR_NUMBER, "hello");
    let signature = twilio_signature(
        PREVIOUS_AUTH_TOKEN,
        &format!("{PUBLIC_URL}/twilio/sms"),
        &params,
    );
    let response = app
        .twilio
        .post_with_signature(
            &format!("{}/twilio/sms", app.address),
            &params,
            Some(&signature),
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn twilio_retrying_a_webhook_does_not_open_a_second_concern() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let sid = app.twilio.new_sid();
    for _ in 0..3 {
        assert_eq!(
            app.text_with_sid(&sid, STRANGER, "Is anyone there?")
                .await
                .status(),
            200
        );
    }
    app.settle().await;
    assert_eq!(app.twilio.messages_to(STRANGER).len(), 1, "one reply");
    assert_eq!(app.twilio.messages().len(), 2, "one reply and one page");
}

#[tokio::test]
async fn a_patient_who_texts_stop_is_not_texted_again_until_start() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    let welcome = app.twilio.messages_to(MARGARET).len();
    app.text(MARGARET, "STOP").await;
    app.settle().await;
    assert!(
        app.twilio
            .messages()
            .iter()
            .all(|m| !m.body.contains("STOP"))
    );
    // She is told, once, that texts have stopped and how to start them again.
    let told = app.twilio.messages_to(MARGARET);
    assert_eq!(told.len(), welcome + 1, "{told:#?}");
    assert_eq!(
        told.last().unwrap().body,
        "You will get no more texts from the community nursing team on this number. To get them again, text START. If you are worried, you can still call this number, day or night. If you need help now, call NHS 111. In an emergency, call 999."
    );
    // A later concern from her still reaches the nurse, but she is not texted.
    app.text(MARGARET, "Actually my leg hurts").await;
    app.settle().await;
    assert_eq!(app.twilio.messages_to(MARGARET).len(), welcome + 1);
    assert_eq!(app.twilio.messages_to("+447700900213").len(), 1);
    let concern = app
        .concern(&TestApp::concern_id_in(
            &app.twilio.messages_to("+447700900213")[0],
        ))
        .await;
    let failed = concern["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "send_failed")
        .unwrap()
        .clone();
    assert!(
        failed["reason"].as_str().unwrap().contains("opted out"),
        "{failed}"
    );
    app.clock.advance(chrono::Duration::minutes(1));
    app.text(MARGARET, "START").await;
    app.settle().await;
    let told = app.twilio.messages_to("+447700900213");
    assert!(
        told.last()
            .unwrap()
            .body
            .contains(": \"START\" \"(texts to them are allowed again)\" Reply"),
        "the nurse with her open concern is told: {told:#?}"
    );
    // And she is told that texts are on again.
    let to_margaret = app.twilio.messages_to(MARGARET);
    assert_eq!(to_margaret.len(), welcome + 2, "{to_margaret:#?}");
    assert!(
        to_margaret
            .last()
            .unwrap()
            .body
            .starts_with("Texts from the community nursing team are on again."),
        "{to_margaret:#?}"
    );
    // A "Yes" from someone who never opted out is an answer, not a keyword: it reaches the nurse.
    app.clock.advance(chrono::Duration::minutes(1));
    app.text(MARGARET, "Yes").await;
    app.settle().await;
    assert!(
        app.twilio
            .messages_to("+447700900213")
            .last()
            .unwrap()
            .body
            .contains(": \"Yes\" Reply")
    );
    app.text(MARGARET, "Thank you").await;
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(MARGARET).len(),
        welcome + 2,
        "a message on the open concern is forwarded, not answered"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.get("/readyz").await.text().await.unwrap(), "ready\n");
    app.text(STRANGER, "hello").await;
    app.settle().await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("nightingale_unresolved_concerns 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("nightingale_inbound_pending 0"),
        "{metrics}"
    );
    for priority in ["urgent", "prompt", "bulk"] {
        assert!(
            metrics.contains(&format!(
                "nightingale_outbox_due{{priority=\"{priority}\"}} 0\n"
            )),
            "{metrics}"
        );
    }
    // Ten minutes on, the deadline fires (exactly on time, on this clock),
    // after the duty manager's call page ("voice after 2m") fell due.
    app.advance(chrono::Duration::minutes(2)).await;
    app.advance(chrono::Duration::minutes(8)).await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("nightingale_timer_lateness_seconds_count 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("nightingale_timer_lateness_seconds{quantile=\"0.99\"} 0\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_signed_link_shows_the_whole_story_and_accepts_with_one_tap() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    app.text(MARGARET, "My leg <b>hurts</b>").await;
    app.settle().await;
    let page = app.twilio.messages_to("+447700900213")[0].clone();
    let link = page
        .body
        .split_whitespace()
        .find(|w| w.starts_with("https://nightingale.test/l/"))
        .unwrap()
        .to_owned();
    let local = app.opened(&link.replace(PUBLIC_URL, &app.address)).await;
    assert!(
        local.contains("/c/"),
        "the short link opens the long one: {local}"
    );
    let html = app
        .http
        .get(&local)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Margaret Evans"), "{html}");
    assert!(
        html.contains("Ward 7; admitted with cellulitis"),
        "the context given at discharge is there"
    );
    assert!(
        html.contains("My leg &lt;b&gt;hurts") && !html.contains("<b>hurts"),
        "patient text is escaped"
    );
    assert!(html.contains("Waiting for someone to accept"));

    // A tampered link is refused.
    let tampered = local.replace("&sig=", "&sig=0");
    assert_eq!(app.http.get(&tampered).send().await.unwrap().status(), 403);

    // One tap on Accept.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_redirect
        .post(&local)
        .form(&[("action", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    app.settle().await;
    assert!(
        app.twilio
            .messages_to(MARGARET)
            .last()
            .unwrap()
            .body
            .starts_with("Kiran Patel, Community staff nurse, has the message")
    );
    let html = app
        .http
        .get(&local)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("You have accepted this"), "{html}");

    // After 24 hours the link no longer works.
    app.clock.advance(chrono::Duration::hours(25));
    let response = app.http.get(&local).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("This link has expired")
    );
}

#[tokio::test]
async fn an_oversized_webhook_is_refused_as_it_arrives_not_after_megabytes() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    // Unsigned, declaring 1 MB: the first 128 KB are enough to refuse it.
    // The rest never comes, so a server that waits to buffer it all never answers.
    let head = format!(
        "POST /twilio/sms HTTP/1.1\r\nHost: nightingale.test\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        1024 * 1024
    );
    let answer = app
        .send_partial(&head, &[b'a'; 128 * 1024], Duration::from_secs(5))
        .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");

    // A whole 1 MB body gets the same answer.
    let response = app
        .http
        .post(format!("{}/twilio/sms", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 1024 * 1024])
        .send()
        .await;
    if let Ok(response) = response {
        assert_eq!(response.status(), 413);
    }
    app.settle().await;
    assert!(app.twilio.messages().is_empty(), "nothing was stored");
}

#[tokio::test]
async fn a_text_and_a_delivery_report_cannot_pass_for_each_other() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    app.text(STRANGER, "Is anyone there?").await;
    app.settle().await;
    let reply = app.twilio.messages_to(STRANGER)[0].clone();
    assert_eq!(app.status(&reply, "delivered", None).await.status(), 200);
    // A text whose MessageSid reads like that report's old key ("SID:delivered")
    // is a new text, not a repeat of the report.
    let lookalike = format!("{}:delivered", reply.sid);
    assert_eq!(
        app.text_with_sid(&lookalike, SIAN, "Hello, my mum is unwell")
            .await
            .status(),
        200
    );
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(SIAN).len(),
        1,
        "Sian's text was taken in and answered"
    );
}

#[tokio::test]
async fn a_text_records_how_many_pictures_came_with_it() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let response = app
        .text_with_media(STRANGER, "Here is a photo of the wound", 2)
        .await;
    assert_eq!(response.status(), 200);
    let pending = app.pending_inbound();
    assert!(
        matches!(&pending[..], [item] if matches!(item.kind, InboundKind::Sms { media: 2, .. })),
        "{:?}",
        pending.iter().map(|i| &i.kind).collect::<Vec<_>>()
    );
}
