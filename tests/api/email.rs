//! Email in, over a real SMTP conversation with the listener on loopback:
//! carers write as they would text, and a clinician's reply acts only with
//! its page's token.

use crate::support::fake_twilio::SentSms;
use crate::support::nightingale::{EMAIL_DOMAIN, MARGARET, NowInstant, SIAN, TestApp};
use crate::support::smtp::SmtpClient;
use nightingale::work::WorkQueue as _;

pub(crate) const ISLA: &str = "+447700900211"; // community evening nurse from 18:30 on Saturday 28th
pub(crate) const ISLA_EMAIL: &str = "isla.morgan@riverside-nhs.example";
pub(crate) const SIAN_EMAIL: &str = "sian.evans@example.org";

/// Enrol Margaret with her daughter Sian, who gave her email.
pub(crate) async fn enrol_with_sian_email(app: &TestApp) -> String {
    let discharged = (app.clock.now_instant() - chrono::Duration::hours(1)).to_rfc3339();
    let response = app
        .enrol(&serde_json::json!({
            "patient": {"name": "Margaret Evans", "phone": "07700 900801"},
            "carers": [{"name": "Sian Evans", "phone": "07700 900802", "email": SIAN_EMAIL, "relationship": "daughter"}],
            "service": "community-nursing-north",
            "discharged_at": discharged,
        }))
        .await;
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    app.settle().await;
    body["id"].as_str().unwrap().to_owned()
}

/// A fresh Saturday evening with Sian enrolled: she sends `raw`, which
/// is stored (`250`) and taken in; returns the app and Isla's page.
async fn sian_sends(raw: &str) -> (TestApp, SentSms) {
    let app = TestApp::spawn_with_email("2026-11-28T19:40", |_| {}).await;
    enrol_with_sian_email(&app).await;
    let smtp = app.smtp.clone().unwrap();
    let reply = SmtpClient::send(&smtp, SIAN_EMAIL, &[&ward()], raw).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    app.settle().await;
    let page = app.twilio.messages_to(ISLA)[0].clone();
    (app, page)
}

/// The last text sent to `number`.
pub(crate) fn last_text(app: &TestApp, number: &str) -> String {
    app.twilio.messages_to(number).last().unwrap().body.clone()
}

pub(crate) fn ward() -> String {
    format!("community@{EMAIL_DOMAIN}")
}

pub(crate) fn message(from: &str, id: &str, subject: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: {}\r\nSubject: {subject}\r\nMessage-ID: <{id}@mail.example.org>\r\nDate: Sat, 28 Nov 2026 19:40:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        ward()
    )
}

#[tokio::test]
async fn a_carer_emails_on_saturday_evening_and_the_nurse_accepts_by_replying_to_her_page() {
    let app = TestApp::spawn_with_email("2026-11-28T19:40", |_| {}).await;
    enrol_with_sian_email(&app).await;
    let smtp = app.smtp.clone().unwrap();

    // Sian writes at length, from her phone's mail app, with her signature.
    let body = "Mum has been more breathless since teatime and her ankles are swollen.\r\n\
She says she is fine but she is not eating.\r\n\r\n-- \r\nSian Evans\r\n07700 900802";
    let mail = message(
        &format!("Sian Evans <{SIAN_EMAIL}>"),
        "sian-1",
        "Mum tonight",
        body,
    );
    let reply = SmtpClient::send(&smtp, SIAN_EMAIL, &[&ward()], &mail).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    app.settle().await;

    // Isla, on call, is paged with Sian's words and not her signature.
    let page = app.twilio.messages_to(ISLA)[0].clone();
    assert!(
        page.body
            .contains("Mum tonight: Mum has been more breathless"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("07700 900802"), "{}", page.body);
    // Sian is answered on her phone, as for a text.
    let to_sian = last_text(&app, SIAN);
    assert!(
        to_sian.starts_with("Thank you, we have your message."),
        "{to_sian}"
    );
    let concern_id = TestApp::concern_id_in(&page);
    let code = TestApp::code_in(&page);
    let concern = app.concern(&concern_id).await;
    assert_eq!(concern["from"], "carer (daughter)");
    let received = concern["timeline"][0]["text"].as_str().unwrap();
    assert!(
        received.contains("Subject: Mum tonight") && received.contains("Sian Evans\n07700 900802"),
        "the timeline keeps the whole message: {received}"
    );

    // Isla replies to the page's email: its reply address carries the token.
    let token = app.page_token(&concern_id, "isla-morgan");
    let reply_to = format!("page+{token}@{EMAIL_DOMAIN}");
    let answer = format!(
        "From: Isla Morgan <{ISLA_EMAIL}>\r\nTo: {reply_to}\r\nSubject: Re: Page {code}\r\nMessage-ID: <isla-1@nhs.example>\r\n\r\nA{code} calling her now\r\n\r\nOn Sat, 28 Nov 2026 at 19:41, Nightingale wrote:\r\n> Reply A{code} to accept\r\n"
    );
    let reply = SmtpClient::send(&smtp, ISLA_EMAIL, &[&reply_to], &answer).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    app.settle().await;

    let concern = app.concern(&concern_id).await;
    assert_eq!(concern["status"], "accepted");
    assert_eq!(concern["accepted_by"]["name"], "Isla Morgan");
    let to_sian = last_text(&app, SIAN);
    assert!(
        to_sian.starts_with("Isla Morgan"),
        "Sian is told who has it: {to_sian}"
    );

    // Her mail server sends the same message again: it is one message.
    let again = SmtpClient::send(&smtp, SIAN_EMAIL, &[&ward()], &mail).await;
    assert_eq!(again.code, 250);
    app.settle().await;
    let timeline = app.concern(&concern_id).await["timeline"].clone();
    let received = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "received")
        .count();
    assert_eq!(received, 1, "a resent message is not taken in twice");
}

#[tokio::test]
async fn a_forged_from_without_the_pages_token_accepts_nothing() {
    let app = TestApp::spawn_with_email("2026-11-28T19:40", |_| {}).await;
    enrol_with_sian_email(&app).await;
    let smtp = app.smtp.clone().unwrap();
    assert_eq!(
        app.text(MARGARET, "My chest feels tight").await.status(),
        200
    );
    app.settle().await;
    let page = app.twilio.messages_to(ISLA)[0].clone();
    let concern_id = TestApp::concern_id_in(&page);
    let code = TestApp::code_in(&page);

    // Someone who knows Isla's address and the code, but not the token.
    let forged = format!(
        "From: Isla Morgan <{ISLA_EMAIL}>\r\nTo: {}\r\nSubject: A{code}\r\nMessage-ID: <forged-1@evil.example>\r\n\r\nA{code}\r\n",
        ward()
    );
    let reply = SmtpClient::send(&smtp, ISLA_EMAIL, &[&ward()], &forged).await;
    assert_eq!(reply.code, 250, "stored, like any message");
    // Nor does a made-up token in the reply address.
    let guessed = format!("page+{}@{EMAIL_DOMAIN}", "0".repeat(32));
    let forged = forged.replace("forged-1", "forged-2");
    let reply = SmtpClient::send(&smtp, ISLA_EMAIL, &[&guessed], &forged).await;
    assert_eq!(reply.code, 250);
    // Nor the real token with another page's code.
    let token = app.page_token(&concern_id, "isla-morgan");
    let wrong_code = format!(
        "From: {ISLA_EMAIL}\r\nSubject: Re: page [{token}]\r\nMessage-ID: <forged-3@evil.example>\r\n\r\nA{}\r\n",
        code.parse::<u16>().unwrap() + 1
    );
    let reply = SmtpClient::send(&smtp, ISLA_EMAIL, &[&ward()], &wrong_code).await;
    assert_eq!(reply.code, 250);
    app.settle().await;

    let concern = app.concern(&concern_id).await;
    assert_eq!(concern["status"], "open", "{concern}");
    assert!(
        app.twilio
            .messages_to(MARGARET)
            .iter()
            .all(|m| !m.body.contains("Isla"))
    );

    // The token in the subject, with the code, does act.
    let real = format!(
        "From: {ISLA_EMAIL}\r\nSubject: Re: A{code} [{token}]\r\nMessage-ID: <isla-2@nhs.example>\r\n\r\nOn my way\r\n"
    );
    assert_eq!(
        SmtpClient::send(&smtp, ISLA_EMAIL, &[&ward()], &real)
            .await
            .code,
        250
    );
    app.settle().await;
    assert_eq!(app.concern(&concern_id).await["status"], "accepted");
}

#[tokio::test]
async fn the_listener_relays_nothing_and_refuses_what_is_too_big() {
    let app = TestApp::spawn_with_email("2026-11-28T19:40", |c| c.email_max_bytes = 4096).await;
    let smtp = app.smtp.clone().unwrap();
    let mut client = SmtpClient::connect(&smtp).await;
    let ehlo = client.command("EHLO relay.test").await;
    assert!(ehlo.text.contains("SIZE 4096"), "{ehlo:?}");
    assert_eq!(
        client.command("RCPT TO:<x@nightingale.test>").await.code,
        503
    );
    assert_eq!(client.command("MAIL FROM:<a@example.org>").await.code, 250);
    let relay = client.command("RCPT TO:<someone@elsewhere.example>").await;
    assert_eq!(relay.code, 550, "{relay:?}");
    assert_eq!(
        client.command("DATA").await.code,
        503,
        "no recipient of ours"
    );

    // Declared too big: refused before a byte of it is sent.
    client.command("RSET").await;
    let big = client
        .command("MAIL FROM:<a@example.org> SIZE=100000")
        .await;
    assert_eq!(big.code, 552, "{big:?}");

    // Not declared, and too big: read to its end, dropped, refused.
    assert_eq!(client.command("MAIL FROM:<a@example.org>").await.code, 250);
    assert_eq!(
        client.command(&format!("RCPT TO:<{}>", ward())).await.code,
        250
    );
    let long = "x".repeat(70);
    let body: String = (0..100).map(|_| format!("{long}\r\n")).collect();
    let mail = message(SIAN_EMAIL, "big-1", "Photos", &body);
    let refused = client.data(&mail).await;
    assert_eq!(refused.code, 552, "{refused:?}");
    // The conversation goes on, and nothing was stored.
    assert_eq!(client.command("NOOP").await.code, 250);
    assert_eq!(client.command("QUIT").await.code, 221);
    assert!(app.pending_inbound().is_empty());
}

#[tokio::test]
async fn while_the_store_cannot_write_mail_gets_451_and_the_retry_is_taken() {
    let app = TestApp::spawn_with_email("2026-11-28T19:40", |_| {}).await;
    enrol_with_sian_email(&app).await;
    let smtp = app.smtp.clone().unwrap();
    let mail = message(SIAN_EMAIL, "sian-outage", "Mum", "Mum has had a fall.");

    let other = rusqlite::Connection::open(app.store_path()).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let reply = SmtpClient::send(&smtp, SIAN_EMAIL, &[&ward()], &mail).await;
    assert_eq!(reply.code, 451, "{reply:?}");
    other.execute_batch("ROLLBACK").unwrap();

    // The relay tries again later, and this time it is stored.
    let reply = SmtpClient::send(&smtp, SIAN_EMAIL, &[&ward()], &mail).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    app.settle().await;
    let page = &app.twilio.messages_to(ISLA)[0];
    assert!(
        page.body.contains("Mum: Mum has had a fall."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn an_html_only_email_in_latin_1_is_paged_as_words() {
    let mail = format!(
        "From: =?ISO-8859-1?Q?Si=E2n_Evans?= <{SIAN_EMAIL}>\r\nTo: {}\r\nSubject: =?ISO-8859-1?Q?Mam_=E0_la_caf=E9?=\r\nMessage-ID: <html-1@mail.example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<html><body><p>Her temperature is 38.5&deg;C and she feels s=E9rieusement unwell.</p></body></html>\r\n",
        ward()
    );
    let (_app, page) = sian_sends(&mail).await;
    assert!(
        page.body
            .contains("Mam à la café: Her temperature is 38.5°C"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<p>"), "{}", page.body);
}

#[tokio::test]
async fn with_a_certificate_the_listener_offers_starttls_and_takes_mail_inside_it() {
    let dir = tempfile::tempdir().unwrap();
    crate::support::redis_server::test_certificates(dir.path());
    let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    let app = TestApp::spawn_with_email("2026-11-28T19:40", move |c| {
        c.smtp_tls_cert = Some(cert.clone());
        c.smtp_tls_key = Some(key.clone());
    })
    .await;
    enrol_with_sian_email(&app).await;
    let smtp = app.smtp.clone().unwrap();

    let mut clear = SmtpClient::connect(&smtp).await;
    let ehlo = clear.command("EHLO relay.test").await;
    assert!(ehlo.text.contains("STARTTLS"), "{ehlo:?}");
    let ca = std::fs::read(dir.path().join("ca.crt")).unwrap();
    let mut secure = clear.starttls(&ca).await;
    // Inside TLS the conversation starts again, and STARTTLS is not offered twice.
    let ehlo = secure.command("EHLO relay.test").await;
    assert_eq!(ehlo.code, 250);
    assert!(!ehlo.text.contains("STARTTLS"), "{ehlo:?}");
    assert_eq!(secure.command("STARTTLS").await.code, 502);
    assert_eq!(
        secure
            .command(&format!("MAIL FROM:<{SIAN_EMAIL}>"))
            .await
            .code,
        250
    );
    assert_eq!(
        secure.command(&format!("RCPT TO:<{}>", ward())).await.code,
        250
    );
    let mail = message(SIAN_EMAIL, "tls-1", "Mum", "Mum's dressing has come off.");
    assert_eq!(secure.data(&mail).await.code, 250);
    app.settle().await;
    let page = &app.twilio.messages_to(ISLA)[0];
    assert!(
        page.body.contains("Mum's dressing has come off."),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn attachments_are_not_kept_and_the_sender_is_asked_to_describe_them() {
    let photo = "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP".repeat(20);
    let mail = format!(
        "From: {SIAN_EMAIL}\r\nTo: {}\r\nSubject: Her leg\r\nMessage-ID: <att-1@mail.example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe redness has spread up to her knee, photo attached.\r\n--b1\r\nContent-Type: image/jpeg; name=\"leg.jpg\"\r\nContent-Disposition: attachment; filename=\"leg.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{photo}\r\n--b1--\r\n",
        ward()
    );
    let (app, page) = sian_sends(&mail).await;
    assert!(
        page.body.contains("The redness has spread up to her knee"),
        "{}",
        page.body
    );
    let concern = app.concern(&TestApp::concern_id_in(&page)).await;
    let received = concern["timeline"][0]["text"].as_str().unwrap();
    assert!(
        received.contains("[attachments not kept: leg.jpg (") && !received.contains("/9j/"),
        "the timeline names the file, and keeps none of it: {received}"
    );
    assert!(
        app.twilio.messages_to(SIAN).iter().any(|m| m
            .body
            .starts_with("We do not open files attached to emails")),
        "Sian is asked to put it into words"
    );
}

#[tokio::test]
async fn stop_by_email_opts_no_phone_out_since_anyone_can_write_from_an_address() {
    let mail = message(SIAN_EMAIL, "stop-1", "", "STOP");
    let (app, page) = sian_sends(&mail).await;
    // Taken as her words, for whoever has her concern, not as an opt-out.
    assert!(page.body.contains("STOP"), "{}", page.body);
    let concern = app.concern(&TestApp::concern_id_in(&page)).await;
    assert!(
        concern["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event"] != "opt_out"),
        "{concern}"
    );
    // Her phone still gets texts: she is told who has it.
    let code = TestApp::code_in(&page);
    assert_eq!(app.text(ISLA, &format!("A{code}")).await.status(), 200);
    app.settle().await;
    assert!(last_text(&app, SIAN).starts_with("Isla Morgan"));
}

/// The bytes the SQLite store takes on disk: its file and its write-ahead log.
fn store_bytes(app: &TestApp) -> u64 {
    let db = app.store_path();
    let wal = db.with_extension("db-wal");
    [db, wal]
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum()
}

/// A letter of about `bytes`, in lines a mail client writes, ending with
/// a line that says it is the end.
fn long_letter(bytes: usize) -> String {
    let line = "Mum's breathing is worse when she lies down and her ankles are swollen.\r\n";
    let mut letter = line.repeat(bytes / line.len());
    letter.push_str("THE VERY LAST LINE\r\n");
    letter
}

#[tokio::test]
async fn a_9_mib_email_is_taken_answered_and_paged_and_the_store_grows_by_its_first_16_kb_only() {
    let app = TestApp::spawn_with_email("2026-11-28T19:40", |_| {}).await;
    enrol_with_sian_email(&app).await;
    let before = store_bytes(&app);

    // 9 MiB of text, under the 10 MiB the listener takes.
    let mail = message(
        SIAN_EMAIL,
        "sian-9mib",
        "Mum tonight",
        &long_letter(9 * 1024 * 1024),
    );
    let smtp = app.smtp.clone().unwrap();
    let reply = SmtpClient::send(&smtp, SIAN_EMAIL, &[&ward()], &mail).await;
    assert_eq!(reply.code, 250, "taken, not refused: {reply:?}");
    app.settle().await;

    // Nothing of it is lost to the people: Isla is paged, Sian answered.
    let page = app.twilio.messages_to(ISLA)[0].clone();
    assert!(
        page.body.contains("Mum tonight: Mum's breathing is worse"),
        "{}",
        page.body
    );
    assert!(last_text(&app, SIAN).starts_with("Thank you, we have your message."));
    // The concern keeps its first 16 KB and says how much more there was.
    let concern = app.concern(&TestApp::concern_id_in(&page)).await;
    let received = concern["timeline"][0]["text"].as_str().unwrap();
    assert!(received.len() <= 16 * 1024 + 64, "{}", received.len());
    assert!(!received.contains("THE VERY LAST LINE"));
    let note = received.rsplit_once("\n\n").unwrap().1;
    assert!(
        note.starts_with("[the rest of this message, 9")
            && note.ends_with(" KB, was not kept: ask the sender by phone]"),
        "{note}"
    );

    // Stored once, and bounded: the store grew by far less than the email
    // (three copies of it grew it by 58 MiB).
    let grown = store_bytes(&app).saturating_sub(before);
    assert!(grown < 1024 * 1024, "the store grew by {grown} bytes");
    // The inbound item keeps who wrote and when, not the words again.
    let stored = nightingale::store::sqlite::SqliteStore::open(&app.store_path())
        .unwrap()
        .inbound("email:sian-9mib@mail.example.org")
        .unwrap()
        .expect("the item is kept, for its Message-ID");
    let nightingale::inbox::InboundKind::Email { from, text, .. } = stored.kind else {
        panic!("an email")
    };
    assert_eq!(from, SIAN_EMAIL);
    assert!(text.is_empty(), "{} bytes kept twice", text.len());
}

#[tokio::test]
async fn a_1_mb_email_to_an_open_concern_leaves_its_pages_whole_with_their_buttons() {
    let app = TestApp::spawn_with_email("2026-11-28T19:40", |_| {}).await;
    enrol_with_sian_email(&app).await;
    assert_eq!(
        app.text(SIAN, "Mum is breathless tonight").await.status(),
        200
    );
    app.settle().await;
    let page = app.twilio.messages_to(ISLA)[0].clone();
    let concern_id = TestApp::concern_id_in(&page);

    // Sian then writes 1.1 MB: over the 1 MiB a page was once held to.
    let mail = message(SIAN_EMAIL, "sian-1mb", "", &long_letter(1_100_000));
    let smtp = app.smtp.clone().unwrap();
    let reply = SmtpClient::send(&smtp, SIAN_EMAIL, &[&ward()], &mail).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    app.settle().await;

    // Isla's link page: whole, with its buttons and who it is about.
    let link = app.http.get(app.local_link(&page)).send().await.unwrap();
    assert_eq!(link.status(), 200);
    let html = link.text().await.unwrap();
    assert!(html.contains("value=\"accept\""), "{}", html.len());
    assert!(html.contains("Margaret"), "the context is there");
    assert!(html.contains("Mum is breathless tonight"));
    assert!(html.contains("was not kept: ask the sender by phone]"));
    assert!(html.ends_with("</html>\n") || html.trim_end().ends_with("</html>"));
    assert!(html.len() < 64 * 1024, "{} bytes", html.len());

    // Her staff page: the same, with Resolve.
    let isla = app.sign_in(ISLA).await;
    let (status, html) = isla.page(&format!("/staff/concerns/{concern_id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"accept\"") && html.contains("value=\"resolve\""));
    assert!(html.contains("Mum is breathless tonight"));
    assert!(html.trim_end().ends_with("</html>"));

    // And the API's view of it stays small.
    let response = app.get(&format!("/api/v1/concerns/{concern_id}")).await;
    assert_eq!(response.status(), 200);
    let body = response.bytes().await.unwrap();
    assert!(body.len() < 64 * 1024, "{} bytes", body.len());
    let concern: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(concern["text"], "Mum is breathless tonight");
    let last = concern["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["event"] == "received")
        .unwrap();
    assert!(
        last["text"]
            .as_str()
            .unwrap()
            .ends_with("KB, was not kept: ask the sender by phone]"),
        "what was cut is named on the concern"
    );
}
