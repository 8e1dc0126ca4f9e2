//! The production engine loop, running on the test's clock: nothing calls
//! `settle()`. The clock is moved as the story needs, and each test waits
//! (with a generous real-time limit, never a fixed sleep) for what should
//! reach the fake Twilio.

use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::support::nightingale::{MARGARET, SIAN, TestApp};

const KIRAN: &str = "+447700900213"; // community evening nurse on Friday 27 November
const HANNAH: &str = "+447700900202"; // district nursing team leader on call that week

/// How long a test waits for something that should happen at once. Only
/// ever reached when it does not happen.
const GENEROUS: StdDuration = StdDuration::from_secs(20);

/// How long the Twilio client waits for an answer here: longer than any
/// test, so a request the fake holds hangs for the whole story.
const NEVER: StdDuration = StdDuration::from_secs(3600);

#[tokio::test]
async fn with_twilio_hanging_on_every_request_margarets_text_is_taken_in_and_the_deadline_escalates_on_time()
 {
    let app = TestApp::spawn_running("2026-11-27T18:40", NEVER).await;
    // From here on Twilio takes every message and answers none.
    app.twilio.set_hanging(true);
    app.enrol_margaret("community-nursing-north").await;
    app.twilio
        .wait_for_messages(2, GENEROUS)
        .await
        .iter()
        .for_each(|m| assert!(m.body.contains("at any time, day or night"), "{}", m.body));

    // 19:05 Friday: Margaret texts while both welcome texts still hang.
    app.clock.advance(Duration::minutes(25));
    assert_eq!(
        app.text(MARGARET, "My leg dressing is soaked through")
            .await
            .status(),
        200
    );
    let page = app.twilio.wait_for_messages_to(KIRAN, 1, GENEROUS).await;
    assert!(page[0].body.contains("My leg dressing is soaked through"));

    // Ten minutes, and nobody has accepted: the team leader is paged,
    // though every request before hers is still waiting for Twilio.
    app.clock.advance(Duration::minutes(10));
    let page = app.twilio.wait_for_messages_to(HANNAH, 1, GENEROUS).await;
    let concern = app.concern(&TestApp::concern_id_in(&page[0])).await;
    let paged_hannah = concern["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "paged" && e["name"] == "Hannah Price")
        .cloned()
        .unwrap();
    assert_eq!(
        paged_hannah["at"], "2026-11-27T19:15:00+00:00",
        "escalated at the deadline itself"
    );
    assert_eq!(concern["status"], "open");
    // Texts to one number keep their order: Margaret's reply waits for her
    // welcome text, which Twilio has not answered.
    assert_eq!(app.twilio.messages_to(MARGARET).len(), 1);

    // Twilio answers at last: her reply follows her welcome.
    app.twilio.set_hanging(false);
    let reply = &app.twilio.wait_for_messages_to(MARGARET, 2, GENEROUS).await[1];
    assert!(reply.body.starts_with("Thank you, we have your message."));

    // Kiran, his page delivered at last, accepts. Each text after it to the
    // same number goes only once what was before it is recorded as sent.
    let code = TestApp::code_in(&app.twilio.messages_to(KIRAN)[0]);
    app.text(KIRAN, &format!("A{code}")).await;
    let to_kiran = app.twilio.wait_for_messages_to(KIRAN, 2, GENEROUS).await;
    assert!(
        to_kiran[1]
            .body
            .starts_with(&format!("You have concern {code}"))
    );
    let to_hannah = app.twilio.wait_for_messages_to(HANNAH, 2, GENEROUS).await;
    assert!(to_hannah[1].body.starts_with("Kiran Patel has accepted"));
    let to_margaret = app.twilio.wait_for_messages_to(MARGARET, 3, GENEROUS).await;
    assert!(to_margaret[2].body.starts_with("Kiran Patel"));
    assert_eq!(app.twilio.messages_to(SIAN).len(), 1);

    // Each page was sent once, by one task: none was taken up again while
    // its first send still waited for Twilio.
    let concern = app.concern(&TestApp::concern_id_in(&page[0])).await;
    let mut pages_sent: Vec<&str> = concern["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "sent" && e["purpose"] == "page")
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    pages_sent.sort();
    assert_eq!(pages_sent, ["Hannah Price", "Kiran Patel"]);
}
