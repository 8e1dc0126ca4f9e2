//! Stories for controls in the hazard log (`docs/safety/hazards.toml`)
//! that had no test of their own until the log named them.

use crate::support::nightingale::{MARGARET, TestApp};

const KIRAN: &str = "+447700900213"; // community evening nurse on Friday 27 November
const HANNAH: &str = "+447700900202"; // district nursing team leader on call that week

/// NH-008: a clinician who once texted STOP to the service's number is
/// refused every text by Twilio from then on (error 21610). Her page is
/// not counted as sent: the next level is paged at once, not when the
/// ten-minute deadline runs out.
#[tokio::test]
async fn kiran_texted_stop_to_the_service_so_her_page_is_refused_and_hannah_is_paged_at_once() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;
    // Earlier that week Kiran texted STOP, meaning to silence something
    // else: Twilio has opted her number out of every text from ours.
    app.text(KIRAN, "STOP").await;
    app.settle().await;
    app.twilio.reject_number(KIRAN, 21610);
    let before = app.twilio.messages_to(KIRAN).len();

    // 19:00 Friday: Margaret texts; Kiran is level 1 tonight.
    app.text(MARGARET, "My dressing is soaked through").await;
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(KIRAN).len(),
        before,
        "Twilio took no text for Kiran"
    );
    let to_hannah = app.twilio.messages_to(HANNAH);
    assert_eq!(to_hannah.len(), 1, "Hannah is paged at 19:00, not at 19:10");
    assert!(
        to_hannah[0].body.contains("My dressing is soaked through"),
        "{}",
        to_hannah[0].body
    );
}
