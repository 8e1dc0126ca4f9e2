//! Patients and carers who phone: every call reaches a person or becomes a
//! concern someone is paged for; none is lost. Calls are played by the
//! driver in `support::phone`, which posts Twilio's webhooks in order and
//! follows the TwiML answered.

use chrono::Duration;

use crate::night::timeline_events as entries;
use crate::support::fake_twilio::SentSms;
use crate::support::nightingale::{MARGARET, OUR_NUMBER, PUBLIC_URL, SIAN, STRANGER, TestApp};

// Cardiology Ward 7's chain early on Sunday 29 November (`rota who`).
const DAFYDD: &str = "+447700900114"; // cardiology registrar, level 1
const ELEANOR: &str = "+447700900121"; // consultant cardiologist, level 2
const TARA: &str = "+447700900401"; // senior clinician, level 3
const QUENTIN: &str = "+447700900501"; // site duty manager, the trust fallback

const SUNDAY_0210: &str = "2026-11-29T02:10";

/// Start with the demo rota, but with these people's `notify` changed:
/// `(person id, notify list as TOML)`.
async fn spawn_with_notify(now: &str, notify: &[(&str, &str)]) -> TestApp {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rota");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        for (person, list) in notify {
            let header = format!("[people.{person}]\n");
            if let Some(at) = text.find(&header) {
                text.insert_str(at + header.len(), &format!("notify = {list}\n"));
            }
        }
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    let rota = dir.keep();
    TestApp::spawn_with(now, move |c| c.rota_dir = rota.clone()).await
}

/// The only concern there is, as the API shows it.
async fn the_concern(app: &TestApp) -> serde_json::Value {
    let list: serde_json::Value = app.get("/api/v1/concerns").await.json().await.unwrap();
    let concerns = list["concerns"].as_array().unwrap();
    assert_eq!(concerns.len(), 1, "one concern: {list:#}");
    app.concern(concerns[0]["id"].as_str().unwrap()).await
}

async fn concern_count(app: &TestApp) -> usize {
    let list: serde_json::Value = app.get("/api/v1/concerns").await.json().await.unwrap();
    list["concerns"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_carer_who_phones_hears_999_first_then_the_service_and_a_registrar_takes_the_call_live() {
    let app = TestApp::spawn(SUNDAY_0210).await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;

    // 02:10 Sunday: Siân phones about her mother.
    let mut call = app.phone(SIAN).await;
    let words = call.heard.words();
    assert!(
        words.starts_with("If this is an emergency, hang up now and dial 999."),
        "999 comes first: {words}"
    );
    assert!(
        words.contains("You have reached the heart team at Riverside Hospital."),
        "{words}"
    );
    assert_eq!(call.heard.numbers_rung(), [DAFYDD], "level 1 is rung");
    assert_eq!(call.heard.dial().1, 20, "for twenty seconds");

    // Dafydd answers and hears who is calling before anything connects.
    app.clock.advance(Duration::seconds(8));
    let screened = call.callee_answers(DAFYDD, Some("1")).await;
    assert!(
        screened
            .screen
            .words()
            .starts_with("A carer of a patient of the Cardiology Ward 7 is calling through Nightingale. Press 1 to take the call."),
        "{}",
        screened.screen.words()
    );
    assert!(screened.connected, "pressing 1 puts him through");
    assert_eq!(
        screened.screen.words().matches("Press 1").count(),
        1,
        "said once"
    );
    assert!(
        call.heard.words().contains(
            "Nothing more is needed unless the person you spoke to asked you to do something"
        ),
        "{}",
        call.heard.words()
    );
    assert!(call.heard.hangs_up());
    assert_eq!(call.hang_up().await.status(), 200);
    app.settle().await;

    // A concern already accepted by Dafydd, with the call on its timeline.
    let concern = the_concern(&app).await;
    assert_eq!(concern["status"], "accepted", "{concern:#}");
    let calls = entries(&concern, "call");
    assert_eq!(calls.len(), 1, "{concern:#}");
    assert_eq!(
        (&calls[0]["outcome"], &calls[0]["name"]),
        (&"live".into(), &"Dafydd Evans".into())
    );
    assert_eq!(entries(&concern, "accepted")[0]["name"], "Dafydd Evans");
    // Siân, who has just spoken to him, is not promised that he "will be
    // in touch": she is texted who she spoke to, and 111 and 999.
    let to_sian = app.twilio.messages_to(SIAN);
    assert_eq!(
        to_sian.last().unwrap().body,
        "Thank you for calling. You spoke to Dafydd Evans, Cardiology registrar. If you are worried again, call or text this number at any time, day or night. If you need help now, call NHS 111. In an emergency, call 999.",
        "{to_sian:#?}"
    );
    assert!(
        to_sian.iter().all(|m| !m.body.contains("will be in touch")),
        "{to_sian:#?}"
    );
    // Margaret was not on the call: nothing is said to her about it.
    let to_margaret = app.twilio.messages_to(MARGARET);
    assert!(
        to_margaret.iter().all(|m| !m.body.contains("Dafydd")),
        "{to_margaret:#?}"
    );
    // Dafydd is told the concern is his, and not that she was promised a call.
    let to_dafydd = app.twilio.messages_to(DAFYDD);
    let told = &to_dafydd.last().unwrap().body;
    assert!(told.contains("You took their call."), "{told}");
    assert!(
        !told.contains("We have told them you will be in touch"),
        "{told}"
    );
    // Nobody was paged by text for a call already taken.
    assert!(app.twilio.messages_to(ELEANOR).is_empty());
}

#[tokio::test]
async fn a_screen_answered_by_voicemail_never_connects_and_the_next_level_is_rung() {
    let app = TestApp::spawn(SUNDAY_0210).await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;

    let mut call = app.phone(MARGARET).await;
    // Dafydd's phone goes to his voicemail, which presses nothing.
    app.clock.advance(Duration::seconds(15));
    let screened = call.callee_answers(DAFYDD, None).await;
    assert!(!screened.connected);
    assert!(
        screened
            .screen
            .words()
            .starts_with("A patient of the Cardiology Ward 7 is calling")
    );
    // The caller is still waiting: level 2 is rung.
    assert_eq!(call.heard.numbers_rung(), [ELEANOR]);
    assert!(
        call.heard
            .words()
            .contains("We are still trying to reach someone. Please hold.")
    );

    // A key other than 1 is asked about once more; a second does not
    // connect either.
    app.clock.advance(Duration::seconds(10));
    let screened = call.callee_presses(ELEANOR, &["2", "3"]).await;
    assert!(!screened.connected);
    assert_eq!(call.heard.numbers_rung(), [TARA]);
}

#[tokio::test]
async fn the_registrar_presses_2_by_mistake_is_asked_once_more_and_takes_the_call_with_1() {
    let app = TestApp::spawn(SUNDAY_0210).await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;

    let mut call = app.phone(SIAN).await;
    app.clock.advance(Duration::seconds(8));
    let screened = call.callee_presses(DAFYDD, &["2", "1"]).await;
    let asked = screened.answers[0].words();
    assert!(
        asked.starts_with("That was not 1. To take the call, press 1."),
        "{asked}"
    );
    assert!(screened.connected, "the second key, 1, puts him through");
}

#[tokio::test]
async fn sunday_0210_nobody_takes_it_live_the_carer_leaves_a_message_and_it_is_paged_as_a_voicemail()
 {
    let app = TestApp::spawn(SUNDAY_0210).await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;

    let mut call = app.phone(SIAN).await;
    // Each level rings for twenty seconds; nobody answers.
    for (who, status) in [
        (DAFYDD, "no-answer"),
        (ELEANOR, "busy"),
        (TARA, "no-answer"),
        (QUENTIN, "no-answer"),
    ] {
        assert_eq!(call.heard.numbers_rung(), [who]);
        app.clock.advance(Duration::seconds(20));
        call.dial_ends(status).await;
    }
    // Eighty seconds gone, ten left of live_for: not enough to ring again.
    let words = call.heard.words();
    assert!(
        words.contains("Please leave a message after the tone."),
        "{words}"
    );
    // She hears when to expect the call back, and what to do if it does not come.
    assert!(
        words.contains("Someone from the team will call you back on this number, usually within 35 minutes. If you have not heard from us by then, or you cannot wait, call NHS 111. If it is an emergency, dial 999."),
        "{words}"
    );
    assert!(!call.heard.dials());

    app.clock.advance(Duration::seconds(40));
    let words = call
        .leave_message("RE0123456789abcdef0123456789abcdef", 35)
        .await
        .words();
    assert!(words.contains("We have your message"), "{words}");
    assert!(call.heard.hangs_up());
    call.hang_up().await;
    app.settle().await;

    // A concern paged like a text, saying there is a voicemail.
    let concern = the_concern(&app).await;
    assert_eq!(concern["status"], "open");
    let page = app.twilio.messages_to(DAFYDD);
    assert_eq!(page.len(), 1, "{page:#?}");
    assert!(
        page[0].body.contains("Margaret (via daughter Sian) - Cardiology Ward 7, discharged 29 Nov: phoned and left a voicemail."),
        "{}",
        page[0].body
    );
    // The caller heard it all on the phone: no "we got your message" text.
    assert!(
        app.twilio
            .messages_to(SIAN)
            .iter()
            .all(|m| !m.body.contains("received"))
    );

    // Four minutes later the transcription arrives: sent on to Dafydd,
    // and the concern's words.
    app.clock.advance(Duration::minutes(4));
    let response = call
        .transcription(Some("Mum's leg is red and hot and she has a temperature"))
        .await;
    assert_eq!(response.status(), 200);
    app.settle().await;
    let forwarded = app.twilio.messages_to(DAFYDD);
    assert_eq!(
        forwarded.len(),
        2,
        "{forwarded:#?} {:#}",
        the_concern(&app).await
    );
    assert!(
        forwarded[1].body.contains("Mum's leg is red and hot"),
        "{}",
        forwarded[1].body
    );

    // The page's link plays the message, fetched from Twilio with the account's credentials.
    let link = app.opened(&app.local_link(&forwarded[0])).await;
    let html = app.get_text(&link).await;
    assert!(html.contains("Listen to the voicemail"), "{html}");
    let (path, query) = link.split_once('?').unwrap();
    let audio = app
        .http
        .get(format!("{path}/recording?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(audio.status(), 200);
    assert_eq!(audio.headers()["content-type"], "audio/mpeg");
    assert_eq!(audio.bytes().await.unwrap().as_ref(), b"ID3 fake voicemail");
    let concern = the_concern(&app).await;
    assert_eq!(
        concern["text"],
        "Mum's leg is red and hot and she has a temperature"
    );
    assert_eq!(
        concern_count(&app).await,
        1,
        "the call's end opened nothing more"
    );
}

#[tokio::test]
async fn a_caller_who_hangs_up_while_ringing_becomes_a_concern_to_call_back() {
    let app = TestApp::spawn(SUNDAY_0210).await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;

    let mut call = app.phone(MARGARET).await;
    app.clock.advance(Duration::seconds(12));
    // Margaret gives up while Dafydd's phone rings.
    assert_eq!(call.hang_up().await.status(), 200);
    app.settle().await;

    let concern = the_concern(&app).await;
    assert_eq!(concern["status"], "open");
    // She is texted that the team will call back, with 111 and 999.
    let to_margaret = app.twilio.messages_to(MARGARET);
    assert_eq!(
        to_margaret.last().unwrap().body,
        "Sorry we missed your call to the heart team at Riverside Hospital. We have asked the team on call to call you back on this number as soon as they can. If you cannot wait, call NHS 111. In an emergency, call 999.",
        "{to_margaret:#?}"
    );
    let page = app.twilio.messages_to(DAFYDD);
    assert_eq!(page.len(), 1);
    assert!(
        page[0].body.contains("Margaret - Cardiology Ward 7, discharged 29 Nov: phoned and reached nobody. Please call them back."),
        "{}",
        page[0].body
    );
    // Nobody answers the page: it escalates as a text would.
    app.advance(Duration::minutes(10)).await;
    app.advance(Duration::minutes(10)).await;
    assert_eq!(
        app.twilio.messages_to(ELEANOR).len(),
        1,
        "level 2 paged after level 1 twice"
    );
}

#[tokio::test]
async fn a_caller_silent_at_the_tone_is_called_back_and_twilio_retries_open_nothing_twice() {
    let app = TestApp::spawn(SUNDAY_0210).await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;

    let mut call = app.phone(MARGARET).await;
    app.clock.advance(Duration::seconds(95));
    call.dial_ends("no-answer").await;
    assert!(
        call.heard
            .words()
            .contains("Please leave a message after the tone.")
    );
    let words = call.silent_at_tone().await.words();
    assert!(
        words.contains("The person on call will call you back on this number")
            && words.contains("call NHS 111"),
        "{words}"
    );
    // Twilio posts the end of the call, and retries it.
    call.hang_up().await;
    call.hang_up().await;
    app.settle().await;
    assert_eq!(concern_count(&app).await, 1);
    assert_eq!(app.twilio.messages_to(DAFYDD).len(), 1);
}

/// A withheld number is put through like any other, and the caller is
/// told at once that nobody can ring them back.
#[tokio::test]
async fn a_caller_who_withholds_their_number_is_put_through_and_told_we_cannot_call_back() {
    let app = TestApp::spawn(SUNDAY_0210).await;
    let mut call = app.phone("anonymous").await;
    let words = call.heard.words();
    assert!(words.starts_with("If this is an emergency, hang up now and dial 999."));
    assert!(
        words.contains(
            "Your number is withheld, so we cannot call you back. If nobody answers now, \
             please call again without withholding it, or call NHS 111."
        ),
        "{words}"
    );
    assert_eq!(call.heard.numbers_rung(), [QUENTIN]);

    // Nobody answers in the time allowed: a message nobody could return is
    // not asked for; the caller is told what to do instead.
    app.clock.advance(Duration::seconds(95));
    call.dial_ends("no-answer").await;
    let words = call.heard.words();
    assert!(!words.contains("leave a message"), "{words}");
    assert!(
        words.contains(
            "your number is withheld, so we cannot call you back. Please call again without \
             withholding your number, or call NHS 111. If it is an emergency, dial 999."
        ),
        "{words}"
    );
    assert!(call.heard.hangs_up());
}

#[tokio::test]
async fn a_caller_nightingale_does_not_know_reaches_the_trust_fallback() {
    let app = TestApp::spawn(SUNDAY_0210).await;
    let mut call = app.phone(STRANGER).await;
    let words = call.heard.words();
    assert!(words.starts_with("If this is an emergency, hang up now and dial 999."));
    assert!(
        words.contains("You have reached Riverside NHS Foundation Trust (demo)."),
        "{words}"
    );
    assert_eq!(call.heard.numbers_rung(), [QUENTIN]);

    app.clock.advance(Duration::seconds(5));
    let screened = call.callee_answers(QUENTIN, None).await;
    assert!(
        screened
            .screen
            .words()
            .starts_with("A caller Nightingale does not know is calling through Nightingale."),
        "{}",
        screened.screen.words()
    );
    // Nobody else: a message.
    assert!(
        call.heard
            .words()
            .contains("Please leave a message after the tone.")
    );
    call.leave_message("RE00000000000000000000000000000abc", 20)
        .await;
    call.hang_up().await;
    app.settle().await;

    let page = app.twilio.messages_to(QUENTIN);
    assert_eq!(page.len(), 1);
    assert!(
        page[0].body.contains("phoned and left a voicemail."),
        "{}",
        page[0].body
    );
    let concern = the_concern(&app).await;
    assert_eq!(concern["service"], serde_json::Value::Null);
}

#[tokio::test]
async fn when_the_store_cannot_be_written_the_caller_hears_111_and_999_never_silence() {
    let app = TestApp::spawn(SUNDAY_0210).await;
    // Another process holds the store's write lock: nothing can be stored.
    let other = rusqlite::Connection::open(app.store_path()).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let call = app.phone(MARGARET).await;
    assert_eq!(
        call.heard.words(),
        "Sorry, this line is not working just now. Please call NHS 111. In an emergency, hang up and dial 999."
    );
    assert!(call.heard.hangs_up());
    other.execute_batch("ROLLBACK").unwrap();
}

#[tokio::test]
async fn a_voice_webhook_not_signed_by_twilio_is_refused_and_a_retried_answer_is_the_same() {
    let app = TestApp::spawn(SUNDAY_0210).await;
    let params = vec![
        ("CallSid".to_owned(), "CA1".to_owned()),
        ("From".to_owned(), MARGARET.to_owned()),
        ("To".to_owned(), OUR_NUMBER.to_owned()),
    ];
    let forged = app
        .twilio
        .post_with_signature(
            &format!("{}/twilio/voice", app.address),
            &params,
            Some("forged"),
        )
        .await;
    assert_eq!(forged.status(), 403);

    let call = app.phone(MARGARET).await;
    let again = call
        .post(
            &format!("{PUBLIC_URL}/twilio/voice"),
            vec![
                ("CallSid".to_owned(), call.sid.clone()),
                ("From".to_owned(), MARGARET.to_owned()),
                ("To".to_owned(), OUR_NUMBER.to_owned()),
            ],
        )
        .await;
    assert_eq!(again.numbers_rung(), call.heard.numbers_rung());
    app.settle().await;
    assert_eq!(app.pending_inbound().len(), 0);
}

#[tokio::test]
async fn sunday_0210_the_consultant_accepts_the_voicemail_by_pressing_1_on_a_call_page() {
    // Dr Shaw asks for a text at once and a call three minutes later.
    let app = spawn_with_notify(
        SUNDAY_0210,
        &[("eleanor-shaw", r#"["sms", "voice after 3m"]"#)],
    )
    .await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;
    let mut call = app.phone(SIAN).await;
    app.clock.advance(Duration::seconds(95));
    call.dial_ends("no-answer").await;
    call.leave_message("RE0000000000000000000000000000beef", 40)
        .await;
    call.hang_up().await;
    app.settle().await;
    assert_eq!(app.twilio.messages_to(DAFYDD).len(), 1);

    // Dafydd does not answer his page, nor its repeat: level 2 at 02:32.
    app.advance(Duration::minutes(10)).await;
    app.advance(Duration::minutes(10)).await;
    assert_eq!(app.twilio.messages_to(ELEANOR).len(), 1);
    assert!(
        app.twilio.calls_to(ELEANOR).is_empty(),
        "the call waits three minutes"
    );
    app.advance(Duration::minutes(3)).await;
    let placed = app.twilio.calls_to(ELEANOR);
    assert_eq!(placed.len(), 1, "then her phone rings");
    assert_eq!(placed[0].from, OUR_NUMBER);

    let mut page = app.answer_page(&placed[0], "human").await;
    let words = page.heard.words();
    assert!(
        words.starts_with("This is Nightingale, with a page for Cardiology Ward 7. Margaret (via daughter Sian) left a voicemail"),
        "{words}"
    );
    assert!(words.contains("Press 1 to accept, 2 to pass, or star to hear this again."));
    // She asks to hear it again, then accepts.
    assert_eq!(page.press("*").await.words(), words);
    let done = page.press("1").await.words();
    assert!(done.contains("You are accepting this concern"), "{done}");
    assert!(
        done.contains("To call them back now through Nightingale, press 1."),
        "{done}"
    );
    app.settle().await;
    // She calls Siân back from the same call: Siân's phone shows the
    // service's number, never Dr Shaw's.
    let back = page.press("1").await.clone();
    assert!(
        back.words()
            .starts_with("Calling Margaret (via daughter Sian) now."),
        "{}",
        back.words()
    );
    let (_, _, caller_id, numbers) = back.dial();
    assert_eq!(caller_id, Some(OUR_NUMBER));
    assert_eq!(
        numbers
            .iter()
            .map(|n| n.number.as_str())
            .collect::<Vec<_>>(),
        [SIAN]
    );

    let concern = the_concern(&app).await;
    assert_eq!(concern["status"], "accepted");
    assert_eq!(concern["accepted_by"]["name"], "Dr Eleanor Shaw");
    let to_sian = app.twilio.messages_to(SIAN);
    assert!(
        to_sian.last().unwrap().body.contains("Dr Eleanor Shaw"),
        "{to_sian:#?}"
    );
    // The call's progress is on the timeline.
    assert_eq!(app.call_status(&placed[0], "completed").await.status(), 200);
    app.settle().await;
    let concern = the_concern(&app).await;
    let statuses: Vec<_> = entries(&concern, "delivery")
        .into_iter()
        .filter(|d| d["purpose"] == "call_page")
        .map(|d| d["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["completed"]);
}

#[tokio::test]
async fn a_call_page_that_reaches_voicemail_falls_back_to_a_text() {
    // Dafydd asks to be rung first, then texted.
    let app = spawn_with_notify(SUNDAY_0210, &[("dafydd-evans", r#"["voice", "sms"]"#)]).await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;
    app.text(MARGARET, "My leg is very swollen tonight").await;
    app.settle().await;
    assert!(app.twilio.messages_to(DAFYDD).is_empty(), "no text yet");
    let placed = app.twilio.calls_to(DAFYDD);
    assert_eq!(placed.len(), 1);

    // His voicemail answers: not a person.
    let page = app.answer_page(&placed[0], "machine_start").await;
    assert!(page.heard.hangs_up());
    assert_eq!(page.heard.words(), "", "nothing is left on his voicemail");
    app.settle().await;
    let texts = app.twilio.messages_to(DAFYDD);
    assert_eq!(texts.len(), 1, "the page falls back to a text");
    assert!(texts[0].body.contains("My leg is very swollen tonight"));
    let concern = app.concern(&TestApp::concern_id_in(&texts[0])).await;
    assert!(
        entries(&concern, "delivery")
            .iter()
            .any(|d| d["purpose"] == "call_page" && d["status"] == "machine"),
        "{concern:#}"
    );
}

#[tokio::test]
async fn a_voicemail_is_deleted_at_twilio_once_its_retention_is_over_and_a_failed_delete_is_retried()
 {
    let app = TestApp::spawn_with(SUNDAY_0210, |c| c.retention_days = 7).await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;
    let recording = "RE00000000000000000000000000000a11";
    let mut call = app.phone(SIAN).await;
    app.clock.advance(Duration::seconds(95));
    call.dial_ends("no-answer").await;
    call.leave_message(recording, 30).await;
    call.hang_up().await;
    app.settle().await;
    call.transcription(Some("Mum's leg is red and hot")).await;
    app.settle().await;
    let page = app.twilio.messages_to(DAFYDD)[0].clone();
    app.text(DAFYDD, &format!("A{}", TestApp::code_in(&page)))
        .await;
    app.settle().await;
    app.clock.advance(Duration::minutes(30));
    app.text(
        DAFYDD,
        &format!(
            "R{} Rang Sian back; district nurse tomorrow",
            TestApp::code_in(&page)
        ),
    )
    .await;
    app.settle().await;
    assert_eq!(the_concern(&app).await["status"], "resolved");

    // Six days on, it is still held.
    app.advance(Duration::days(6)).await;
    assert!(app.twilio.deleted_recordings().is_empty());
    // Seven days after the resolve, Twilio refuses the first delete.
    app.twilio.fail_deletes_of(recording, 500);
    app.advance(Duration::days(1)).await;
    assert_eq!(app.twilio.deleted_recordings(), [recording]);
    assert_eq!(app.twilio.recordings(), [recording], "still held");
    // It is not forgotten: retried until it goes.
    app.twilio.allow_delete(recording);
    app.advance(Duration::minutes(5)).await;
    assert_eq!(app.twilio.deleted_recordings(), [recording, recording]);
    assert!(app.twilio.recordings().is_empty(), "deleted at Twilio");

    let concern = the_concern(&app).await;
    let deletes: Vec<_> = entries(&concern, "send_failed")
        .into_iter()
        .chain(entries(&concern, "sent"))
        .filter(|e| e["purpose"] == "delete_recording")
        .collect();
    assert_eq!(
        deletes.len(),
        2,
        "the failure and the delete are on the timeline: {concern:#}"
    );
    // The transcription goes with the rest of what people wrote, at the
    // next hourly purge.
    app.advance(Duration::hours(1)).await;
    assert_eq!(
        the_concern(&app).await["text"],
        nightingale::engine::REMOVED
    );
}

#[tokio::test]
async fn a_registrar_who_phones_the_service_number_hears_their_pages_and_accepts_one_by_its_key() {
    let app = TestApp::spawn(SUNDAY_0210).await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;
    app.text(MARGARET, "My ankles are very swollen tonight")
        .await;
    app.settle().await;
    let mut call = app.phone(SIAN).await;
    app.clock.advance(Duration::seconds(12));
    call.hang_up().await;
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(DAFYDD).len(),
        2,
        "Margaret's text and Siân's call back are two concerns, two pages"
    );

    // Dafydd rings the number his pages come from.
    let mut rings = app.phone(DAFYDD).await;
    let words = rings.heard.words();
    assert!(
        words.starts_with("Hello Dafydd Evans. This is Nightingale. You have 2 pages waiting."),
        "{words}"
    );
    assert!(
        words.contains(
            "Press 1 for Margaret, Cardiology Ward 7: My ankles are very swollen tonight."
        ),
        "{words}"
    );
    assert!(words.contains("Press 2 for Margaret (via daughter Sian), Cardiology Ward 7: phoned and needs a call back."), "{words}");
    assert_eq!(
        rings.press("*").await.words(),
        words,
        "star reads them again"
    );
    let done = rings.press("2").await.words();
    assert!(done.contains("You are accepting this concern"), "{done}");
    app.settle().await;

    rings.hang_up().await;
    app.settle().await;
    assert_eq!(
        concern_count(&app).await,
        2,
        "his own call raised no concern"
    );
    let list: serde_json::Value = app
        .get("/api/v1/concerns?status=accepted")
        .await
        .json()
        .await
        .unwrap();
    let accepted = list["concerns"].as_array().unwrap();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["from"], "carer (daughter)");
    assert_eq!(accepted[0]["accepted_by"]["name"], "Dafydd Evans");
}

/// Sunday 02:10: Margaret texts that her ankles are very swollen, and
/// Dafydd, the registrar paged, accepts by text. The app and his page.
async fn dafydd_has_margarets_swollen_ankles() -> (TestApp, SentSms) {
    let app = TestApp::spawn(SUNDAY_0210).await;
    app.enrol_margaret("cardiology-ward-7").await;
    app.settle().await;
    app.text(MARGARET, "My ankles are very swollen tonight")
        .await;
    app.settle().await;
    let page = app.twilio.messages_to(DAFYDD)[0].clone();
    app.text(DAFYDD, &format!("A{}", TestApp::code_in(&page)))
        .await;
    app.settle().await;
    (app, page)
}

#[tokio::test]
async fn from_the_pages_link_a_registrar_calls_the_patient_back_through_nightingale() {
    let (app, page) = dafydd_has_margarets_swollen_ankles().await;

    let link = app.opened(&app.local_link(&page)).await;
    assert!(
        app.get_text(&link)
            .await
            .contains("Call them through Nightingale")
    );
    let asked = app
        .http
        .post(&link)
        .header("Origin", PUBLIC_URL)
        .form(&[("action", "call")])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.status(), 200);
    assert!(
        asked
            .text()
            .await
            .unwrap()
            .contains("Your phone will ring.")
    );
    app.settle().await;

    // Dafydd's phone rings first; when he answers, Margaret's rings,
    // showing the service's number.
    let placed = app.twilio.calls_to(DAFYDD);
    assert_eq!(placed.len(), 1);
    let leg = app.answer_page(&placed[0], "human").await;
    assert!(
        leg.heard.words().starts_with("Calling Margaret now."),
        "{}",
        leg.heard.words()
    );
    let (_, _, caller_id, numbers) = leg.heard.dial();
    assert_eq!(caller_id, Some(OUR_NUMBER));
    assert_eq!(
        numbers
            .iter()
            .map(|n| n.number.as_str())
            .collect::<Vec<_>>(),
        [MARGARET]
    );
    let concern = app.concern(&TestApp::concern_id_in(&page)).await;
    assert!(
        entries(&concern, "note").iter().any(|n| n["text"]
            .as_str()
            .unwrap()
            .starts_with("Dafydd Evans is calling the sender back through Nightingale")),
        "{concern:#}"
    );
}

#[tokio::test]
async fn a_registrar_pressing_call_again_and_again_is_rung_once_at_a_time_and_four_times_an_hour() {
    let (app, page) = dafydd_has_margarets_swollen_ankles().await;
    let link = app.opened(&app.local_link(&page)).await;
    let press = || async {
        let answer = app
            .http
            .post(&link)
            .header("Origin", PUBLIC_URL)
            .form(&[("action", "call")])
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let html = answer.text().await.unwrap();
        app.settle().await;
        (status, html)
    };

    let (status, html) = press().await;
    assert_eq!(status, 200);
    assert!(html.contains("Your phone will ring."), "{html}");
    // A second press while his phone rings is not a second call.
    let (status, html) = press().await;
    assert_eq!(status, 429);
    assert!(html.contains("Your phone is already being rung"), "{html}");
    assert!(html.contains("try again in 2 minutes"), "{html}");
    assert_eq!(app.twilio.calls_to(DAFYDD).len(), 1);

    // Every three minutes he may ask again, four times in the hour.
    for _ in 0..3 {
        app.advance(Duration::minutes(3)).await;
        let (status, _) = press().await;
        assert_eq!(status, 200);
    }
    assert_eq!(app.twilio.calls_to(DAFYDD).len(), 4);
    app.advance(Duration::minutes(3)).await;
    let (status, html) = press().await;
    assert_eq!(status, 429);
    assert!(html.contains("No more calls this hour"), "{html}");
    assert!(html.contains("Call them on the number shown"), "{html}");
    assert_eq!(
        app.twilio.calls_to(DAFYDD).len(),
        4,
        "a link cannot ring the clinician at will"
    );

    // The next hour, he may call again.
    app.advance(Duration::minutes(45)).await;
    let (status, _) = press().await;
    assert_eq!(status, 200);
    assert_eq!(app.twilio.calls_to(DAFYDD).len(), 5);
}
