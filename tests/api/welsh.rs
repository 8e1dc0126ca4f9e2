//! A Welsh-speaking patient, as she lives it: enrolled in Welsh, she is
//! welcomed and answered in Welsh, and her "Dw i'n methu anadlu" is an
//! emergency; the nurses paged read English. A stranger who writes in
//! Welsh is answered in Welsh and English.

use chrono::Duration;
use serde_json::{Value, json};

use crate::support::nightingale::{MARGARET, NowInstant, SIAN, STRANGER, TestApp};

const KIRAN: &str = "+447700900213"; // community evening nurse on Friday 27 November
const HANNAH: &str = "+447700900202"; // district nursing team leader on call that week

/// The last text sent to `number`.
fn last_to(app: &TestApp, number: &str) -> String {
    app.twilio.messages_to(number).last().unwrap().body.clone()
}

/// Enrol Megan Pritchard in Welsh with `service`, with her son Gethin as
/// carer (on the demo numbers of Margaret and Sian), discharged an hour ago.
async fn enrol_megan_in_welsh(app: &TestApp, service: &str) -> Value {
    let discharged = (app.clock.now_instant() - Duration::hours(1)).to_rfc3339();
    let response = app
        .enrol(&json!({
            "patient": {"name": "Megan Pritchard", "phone": "07700 900801"},
            "carers": [{"name": "Gethin Pritchard", "phone": "07700 900802", "relationship": "son"}],
            "service": service,
            "discharged_at": discharged,
            "language": "cy",
        }))
        .await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_welsh_speaking_patient_is_welcomed_and_answered_in_welsh_and_her_nurses_read_english() {
    let app = TestApp::spawn("2026-11-27T18:40").await;
    let enrolled = enrol_megan_in_welsh(&app, "community-nursing-north").await;
    assert_eq!(enrolled["language"], "cy", "{enrolled}");
    app.settle().await;
    for (who, number) in [("Megan", MARGARET), ("Gethin", SIAN)] {
        let welcome = app.twilio.messages_to(number)[0].body.clone();
        assert!(
            welcome.starts_with(&format!(
                "Helo {who}. Gallwch decstio'r rhif hwn unrhyw bryd"
            )),
            "{welcome}"
        );
        assert!(
            welcome.ends_with("Mewn argyfwng, ffoniwch 999."),
            "{welcome}"
        );
    }

    // 19:05: Megan writes that her leg is swollen.
    app.clock.advance(Duration::minutes(25));
    app.text(MARGARET, "Mae fy nghoes wedi chwyddo ac yn boeth")
        .await;
    app.settle().await;
    let to_megan = app.twilio.messages_to(MARGARET);
    assert_eq!(
        to_megan[1].body,
        "Diolch, mae eich neges wedi cyrraedd. Rydym yn cysylltu gyda'r staff ar alwad nawr a byddwn yn anfon neges atoch pan fydd rhywun wedi ei chael. Mewn argyfwng, ffoniwch 999."
    );
    // Kiran reads her page in English, with Megan's words as she wrote them.
    let page = &app.twilio.messages_to(KIRAN)[0];
    assert!(
        page.body.starts_with("Megan - Community nursing"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Mae fy nghoes wedi chwyddo"),
        "{}",
        page.body
    );
    let code = TestApp::code_in(page);
    assert!(
        page.body
            .ends_with(&format!("Reply A{code} to accept, P{code} to pass."))
    );

    // Kiran accepts: Megan is told in Welsh, Kiran in English.
    app.text(KIRAN, &format!("A{code}")).await;
    app.settle().await;
    let told = last_to(&app, MARGARET);
    assert!(told.starts_with("Mae Kiran"), "{told}");
    assert!(
        told.ends_with("wedi cael eich neges a bydd mewn cysylltiad."),
        "{told}"
    );
    let to_kiran = last_to(&app, KIRAN);
    assert!(
        !to_kiran.contains("neges"),
        "clinicians read English: {to_kiran}"
    );

    // Kiran resolves it: Megan is told kindly, with 111 and 999, in Welsh.
    app.text(KIRAN, &format!("R{code} dressing advice given"))
        .await;
    app.settle().await;
    let resolved = last_to(&app, MARGARET);
    assert!(resolved.contains("wedi edrych ar eich neges"), "{resolved}");
    assert!(
        resolved.ends_with("ffoniwch GIG 111. Mewn argyfwng, ffoniwch 999."),
        "{resolved}"
    );
}

#[tokio::test]
async fn dw_in_methu_anadlu_from_a_welsh_speaker_is_a_red_flag_paging_two_levels_at_once() {
    let app = TestApp::spawn("2026-11-27T19:00").await;
    enrol_megan_in_welsh(&app, "community-nursing-north").await;
    app.settle().await;
    app.text(MARGARET, "Dw i'n methu anadlu").await;
    app.settle().await;
    let reply = last_to(&app, MARGARET);
    assert_eq!(
        reply,
        "Os yw hyn yn argyfwng, ffoniwch 999 nawr. Mae eich neges yn dweud \"methu anadlu\". Rydym hefyd yn cysylltu gyda'r staff ar alwad ar frys."
    );
    let to_kiran = app.twilio.messages_to(KIRAN)[0].body.clone();
    assert!(to_kiran.starts_with("URGENT: Megan"), "{to_kiran}");
    let to_hannah = app.twilio.messages_to(HANNAH)[0].body.clone();
    assert!(
        to_hannah.starts_with("URGENT: Megan"),
        "level 2 paged at once: {to_hannah}"
    );
    let concern = app
        .concern(&TestApp::concern_id_in(&app.twilio.messages_to(KIRAN)[0]))
        .await;
    assert_eq!(concern["urgent"], true);
}

#[tokio::test]
async fn a_stranger_writing_in_welsh_is_answered_in_welsh_then_english_in_one_text() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    app.text(
        STRANGER,
        "Helo, mae fy nhad wedi dod adref o'r ysbyty heddiw ac mae o'n ddryslyd iawn",
    )
    .await;
    app.settle().await;
    let replies = app.twilio.messages_to(STRANGER);
    assert_eq!(replies.len(), 1, "one reply, in both languages");
    let (welsh, english) = replies[0]
        .body
        .split_once("\n\n")
        .unwrap_or_else(|| panic!("Welsh, a blank line, English: {}", replies[0].body));
    assert!(
        welsh.starts_with("Diolch, mae eich neges wedi cyrraedd gwasanaeth y tu allan i oriau Riverside NHS Foundation Trust (demo)."),
        "{welsh}"
    );
    assert!(welsh.ends_with("Mewn argyfwng, ffoniwch 999."), "{welsh}");
    assert!(
        english.starts_with("Thank you, your message has reached the Riverside NHS Foundation Trust (demo) out-of-hours service."),
        "{english}"
    );
    assert!(english.ends_with("In an emergency, call 999."), "{english}");

    // A stranger writing English is answered in English alone.
    const OTHER: &str = "+447700900998";
    app.text(OTHER, "Hello, my mum is confused tonight").await;
    app.settle().await;
    let reply = app.twilio.messages_to(OTHER)[0].body.clone();
    assert!(
        reply.starts_with("Thank you, your message has reached"),
        "{reply}"
    );
    assert!(!reply.contains("Diolch"), "{reply}");
}

#[tokio::test]
async fn a_welsh_speaking_carer_who_phones_at_night_hears_welsh_and_is_asked_for_a_message_in_welsh()
 {
    // Cardiology Ward 7's chain early on Sunday 29 November (`rota who`).
    const LEVELS: [&str; 4] = [
        "+447700900114", // cardiology registrar
        "+447700900121", // consultant cardiologist
        "+447700900401", // senior clinician
        "+447700900501", // site duty manager, the trust fallback
    ];
    let app = TestApp::spawn("2026-11-29T02:10").await;
    enrol_megan_in_welsh(&app, "cardiology-ward-7").await;
    app.settle().await;

    let mut call = app.phone(SIAN).await;
    let words = call.heard.words();
    assert!(
        words.starts_with("Os yw hyn yn argyfwng, rhowch y ffôn i lawr nawr a ffoniwch 999."),
        "{words}"
    );
    assert!(call.heard.languages().iter().all(|l| *l == "cy-GB"));
    for who in LEVELS {
        assert_eq!(call.heard.numbers_rung(), [who]);
        app.clock.advance(Duration::seconds(20));
        call.dial_ends("no-answer").await;
    }
    let words = call.heard.words();
    assert!(words.contains("Gadewch neges ar ôl y tôn."), "{words}");
    assert!(words.contains("ffoniwch GIG 111"), "{words}");
    let words = call
        .leave_message("RE0123456789abcdef0123456789abcdef", 35)
        .await
        .words();
    assert!(
        words.starts_with("Diolch. Mae eich neges gennym"),
        "{words}"
    );
    assert!(call.heard.hangs_up());
}
