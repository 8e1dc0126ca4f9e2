//! Who an email is from (docs/adr/0022), over real SMTP on loopback: a
//! forged `From` is a stranger's email, which pages nobody and is answered
//! by email; only a proved sender joins an enrolled person's concern. And
//! what one sender can hold of the listener: connections per host, a
//! session's time, and the memory of unfinished messages.

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::Value;

use crate::email::{ISLA, SIAN_EMAIL, enrol_with_sian_email, message, ward};
use crate::support::fake_twilio::SentSms;
use crate::support::nightingale::{EMAIL_DOMAIN, NowInstant, OUR_NUMBER, TestApp};
use crate::support::smtp::{MailServer, SmtpClient};
use crate::support::staff::on_call;

const MALLORY: &str = "mallory@evil.example";
const NEIGHBOUR: &str = "j.okoro@example.net";
/// The trust's relay, in the tests that name one.
const RELAY: &str = "127.0.0.2";
const AUTHSERV_ID: &str = "mx1.riverside-nhs.example";

fn ip(address: &str) -> IpAddr {
    address.parse().unwrap()
}

/// A fresh app on `now` taking email, sending its own through `mail`,
/// with `tweak` applied.
async fn app_with_mail(
    now: &str,
    mail: &MailServer,
    tweak: impl Fn(&mut nightingale::config::Config) + Send + Sync + 'static,
) -> TestApp {
    let url = mail.url();
    TestApp::spawn_with_email(now, move |c| {
        c.smtp_url = Some(secrecy::SecretString::from(url.clone()));
        c.email_from = Some(format!("Nightingale <nightingale@{EMAIL_DOMAIN}>"));
        tweak(c);
    })
    .await
}

/// The concerns the API lists for `query`.
async fn concerns(app: &TestApp, query: &str) -> Vec<Value> {
    let response = app.get(&format!("/api/v1/concerns?{query}")).await;
    assert_eq!(response.status(), 200);
    let page: Value = response.json().await.unwrap();
    page["concerns"].as_array().unwrap().clone()
}

/// `raw` arrives from the loopback address `host` with the envelope
/// sender `envelope`: stored (`250`), and taken in.
async fn arrives(app: &TestApp, host: &str, envelope: &str, raw: &str) {
    let smtp = app.smtp.clone().unwrap();
    let reply = SmtpClient::send_from(&smtp, ip(host), envelope, &[&ward()], raw).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    app.settle().await;
}

/// The one page Isla has had: Sian's words ("more breathless"), never
/// `not` (what a forger wrote).
fn isla_paged_once_with_sians_words(app: &TestApp, not: Option<&str>) -> SentSms {
    let mut pages = app.twilio.messages_to(ISLA);
    assert_eq!(pages.len(), 1, "{pages:?}");
    let page = pages.remove(0);
    assert!(page.body.contains("more breathless"), "{}", page.body);
    let forged = not.is_some_and(|words| page.body.contains(words));
    assert!(!forged, "{}", page.body);
    page
}

/// Enrol Margaret with her daughter Sian, who has no mobile: her email alone.
async fn enrol_sian_with_email_alone(app: &TestApp) {
    let discharged = (app.clock.now_instant() - Duration::hours(1)).to_rfc3339();
    let enrolled = app
        .enrol(&serde_json::json!({
            "patient": {"name": "Margaret Evans", "phone": "07700 900801"},
            "carers": [{"name": "Sian Evans", "email": SIAN_EMAIL, "relationship": "daughter"}],
            "service": "community-nursing-north",
            "discharged_at": discharged,
        }))
        .await;
    assert_eq!(enrolled.status(), 201);
    app.settle().await;
}

/// `message` with an `Authentication-Results` header on top, as a relay adds it.
fn with_results(results: &str, raw: &str) -> String {
    format!("Authentication-Results: {results}\r\n{raw}")
}

#[tokio::test]
async fn a_forged_from_pages_nobody_and_only_the_same_email_from_her_own_mail_server_joins_her_concern()
 {
    let mail = MailServer::start().await;
    let app = app_with_mail("2026-11-28T19:40", &mail, |_| {}).await;
    let enrolment = enrol_with_sian_email(&app).await;
    let texts_at_enrolment = app.twilio.messages().len();

    // Someone writes as Sian, from their own server: the header says
    // Sian, the envelope says otherwise, and nothing vouches for it.
    let forged = message(
        SIAN_EMAIL,
        "forged-1",
        "Mum",
        "Mum has fallen. Ask the nurse to ring me on 07700 900666, not my usual number.",
    );
    arrives(&app, "127.0.0.1", MALLORY, &forged).await;

    // Nobody is paged, and nobody is texted at all.
    assert_eq!(app.twilio.messages().len(), texts_at_enrolment);
    assert!(app.twilio.messages_to(ISLA).is_empty());
    // It is not on Margaret's enrolment: a stranger's concern of its own.
    assert!(
        concerns(&app, &format!("enrolment={enrolment}"))
            .await
            .is_empty()
    );
    let all = concerns(&app, "").await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["from"], "unknown sender");
    // The answer goes to the envelope sender, never to Sian, whose name
    // was borrowed: our number, 111 and 999.
    assert!(mail.delivered_to(SIAN_EMAIL).is_empty());
    let answer = mail.delivered_to(MALLORY);
    assert_eq!(answer.len(), 1, "{answer:?}");
    let (text, html) = answer[0].parts();
    for words in [
        OUR_NUMBER,
        "call NHS 111",
        "call 999",
        "could not tell who sent it",
    ] {
        assert!(text.contains(words), "{words} in {text}");
        assert!(html.contains(words), "{words} in {html}");
    }

    // The same words from her own mail server (no relay named: the
    // envelope is at the From's domain) are hers: Isla is paged.
    let real = message(
        SIAN_EMAIL,
        "real-1",
        "Mum",
        "Mum is more breathless tonight and cannot lie flat.",
    );
    arrives(&app, "127.0.0.1", SIAN_EMAIL, &real).await;
    let page = isla_paged_once_with_sians_words(&app, Some("fallen"));
    let hers = concerns(&app, &format!("enrolment={enrolment}")).await;
    assert_eq!(hers.len(), 1, "{hers:?}");
    // The clinician's page says how Sian was recognised.
    let link = app.local_link(&page);
    let html = app.get_text(&link).await;
    assert!(html.contains("Recognised by"), "{html}");
    assert!(html.contains("email, envelope sender matches"), "{html}");
}

#[tokio::test]
async fn a_carer_with_no_phone_whose_address_was_forged_still_reaches_the_nurse_when_she_writes_herself()
 {
    let mail = MailServer::start().await;
    let app = app_with_mail("2026-11-28T19:40", &mail, |_| {}).await;
    enrol_sian_with_email_alone(&app).await;

    // A forgery in her name: a stranger's concern from her address, unpaged.
    let forged = message(
        SIAN_EMAIL,
        "forged-2",
        "Mum",
        "Ignore my earlier emails, all is well.",
    );
    arrives(&app, "127.0.0.1", MALLORY, &forged).await;
    assert!(app.twilio.messages_to(ISLA).is_empty());

    // Her own email, proved: the concern becomes hers and Isla is paged
    // with her words, not the forger's.
    let real = message(
        SIAN_EMAIL,
        "real-2",
        "Mum",
        "Mum is more breathless tonight.",
    );
    arrives(&app, "127.0.0.1", SIAN_EMAIL, &real).await;
    let page = isla_paged_once_with_sians_words(&app, Some("all is well"));
    let concern = app.concern(&TestApp::concern_id_in(&page)).await;
    assert_eq!(concern["from"], "carer (daughter)");
    // She is told by email that we have it; the forger was answered once.
    assert_eq!(mail.delivered_to(MALLORY).len(), 1);
    assert!(!mail.delivered_to(SIAN_EMAIL).is_empty());
}

#[tokio::test]
async fn a_forgery_while_her_own_concern_is_open_is_noted_there_without_its_words() {
    let mail = MailServer::start().await;
    let app = app_with_mail("2026-11-28T19:40", &mail, |_| {}).await;
    enrol_sian_with_email_alone(&app).await;
    let real = message(
        SIAN_EMAIL,
        "real-3",
        "Mum",
        "Mum is more breathless tonight.",
    );
    arrives(&app, "127.0.0.1", SIAN_EMAIL, &real).await;
    let page = isla_paged_once_with_sians_words(&app, None);
    let id = TestApp::concern_id_in(&page);

    let forged = message(
        SIAN_EMAIL,
        "forged-3",
        "Mum",
        "All is well now, no need to call.",
    );
    arrives(&app, "127.0.0.1", MALLORY, &forged).await;
    // Isla hears nothing more; her concern says an unproved email came,
    // without its words; the forger is answered.
    isla_paged_once_with_sians_words(&app, Some("All is well"));
    let concern = app.concern(&id).await;
    let timeline = concern["timeline"].to_string();
    assert!(
        timeline.contains("not proved to be from them"),
        "{timeline}"
    );
    assert!(!timeline.contains("All is well"), "{timeline}");
    assert_eq!(mail.delivered_to(MALLORY).len(), 1);
}

#[tokio::test]
async fn with_a_relay_named_only_its_dmarc_pass_joins_her_concern() {
    let mail = MailServer::start().await;
    let app = app_with_mail("2026-11-28T19:40", &mail, |c| {
        c.smtp_trusted_relays = Some(format!("{RELAY}/32"));
        c.smtp_authserv_id = Some(AUTHSERV_ID.to_owned());
    })
    .await;
    let enrolment = enrol_with_sian_email(&app).await;
    let pass = format!(
        "{AUTHSERV_ID}; spf=pass smtp.mailfrom=example.org; dmarc=pass (p=quarantine) header.from=example.org"
    );
    let fail = format!(
        "{AUTHSERV_ID}; spf=fail smtp.mailfrom=example.org; dmarc=fail header.from=example.org"
    );

    // Straight to the listener, not through the relay: a header saying
    // "pass" that anyone could write proves nothing, and neither does a
    // matching envelope once a relay is named.
    let direct = with_results(
        &pass,
        &message(SIAN_EMAIL, "direct-1", "Mum", "Call me now."),
    );
    arrives(&app, "127.0.0.1", SIAN_EMAIL, &direct).await;
    // Through the relay, which found DMARC failed.
    let failed = with_results(
        &fail,
        &message(SIAN_EMAIL, "failed-1", "Mum", "Call me now!"),
    );
    arrives(&app, RELAY, SIAN_EMAIL, &failed).await;
    // Through the relay, with a "pass" forged below the relay's own "fail".
    let buried = with_results(
        &fail,
        &with_results(&pass, &message(SIAN_EMAIL, "buried-1", "Mum", "Call me!")),
    );
    arrives(&app, RELAY, SIAN_EMAIL, &buried).await;
    assert!(app.twilio.messages_to(ISLA).is_empty(), "nobody is paged");
    assert!(
        concerns(&app, &format!("enrolment={enrolment}"))
            .await
            .is_empty()
    );

    // Through the relay, which found DMARC passed: Sian's, as her text.
    let proved = with_results(
        &pass,
        &message(
            SIAN_EMAIL,
            "proved-1",
            "Mum",
            "Mum is more breathless tonight.",
        ),
    );
    arrives(&app, RELAY, SIAN_EMAIL, &proved).await;
    let page = isla_paged_once_with_sians_words(&app, None);
    assert_eq!(
        concerns(&app, &format!("enrolment={enrolment}"))
            .await
            .len(),
        1
    );
    let html = app.get_text(&app.local_link(&page)).await;
    assert!(
        html.contains("email, DMARC passed at the trust&#x27;s relay")
            || html.contains("email, DMARC passed at the trust's relay"),
        "{html}"
    );
}

#[tokio::test]
async fn a_strangers_email_at_23_00_pages_nobody_and_is_in_the_mornings_handover() {
    const SERVICE: &str = "community-nursing-north";
    let mail = MailServer::start().await;
    // Tuesday 24 November, 23:00: the community team's in-hours team
    // takes strangers' emails.
    let app = app_with_mail("2026-11-24T23:00", &mail, |c| {
        c.email_strangers_service = Some(SERVICE.to_owned());
    })
    .await;
    app.settle().await;
    let sent = message(
        NEIGHBOUR,
        "neighbour-1",
        "My neighbour",
        "My neighbour came home from your hospital yesterday and has not answered her door all day.",
    );
    arrives(&app, "127.0.0.1", NEIGHBOUR, &sent).await;

    // Nobody is woken: not the duty manager, not anyone.
    assert!(
        app.twilio.messages().is_empty(),
        "{:?}",
        app.twilio.messages()
    );
    // The neighbour is answered at once, by email.
    let answer = mail.delivered_to(NEIGHBOUR);
    assert_eq!(answer.len(), 1, "{answer:?}");
    assert!(answer[0].parts().0.contains(OUR_NUMBER));
    // A second email joins the first, unanswered: no autoresponder ping-pong.
    let again = message(
        NEIGHBOUR,
        "neighbour-2",
        "Re: My neighbour",
        "Her lights are off too.",
    );
    arrives(&app, "127.0.0.1", NEIGHBOUR, &again).await;
    assert_eq!(mail.delivered_to(NEIGHBOUR).len(), 1);
    assert!(app.twilio.messages().is_empty());

    // Through the night, still nobody.
    for _ in 0..8 {
        app.advance(Duration::hours(1)).await;
    }
    app.advance(Duration::minutes(59)).await;
    assert!(
        app.twilio.messages().is_empty(),
        "{:?}",
        app.twilio.messages()
    );

    // 08:00 Wednesday: the in-hours team hears of it.
    app.advance(Duration::minutes(1)).await;
    let (_, coordinator) = on_call(SERVICE, "2026-11-25T08:00", 1);
    let summary = app.twilio.messages_to(&coordinator);
    assert_eq!(summary.len(), 1, "{summary:?}");
    assert_eq!(
        summary[0].body,
        format!(
            "Nightingale handover, Community nursing, north locality, Tue 24 Nov 18:30 to Wed 25 Nov 08:00: 1 raised, 1 not yet taken. Tue 23:00 an unknown sender by email: NOT PAGED, for you to read. Full list: https://nightingale.test/staff/handover/{SERVICE}"
        )
    );

    // The full list links to it; the team reads it and resolves it, but
    // cannot accept or pass it (that would page someone).
    let session = app.sign_in(&coordinator).await;
    let (status, html) = session.page(&format!("/staff/handover/{SERVICE}")).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Not paged: an email from an unknown sender"),
        "{html}"
    );
    let id = concerns(&app, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/staff/concerns/{id}");
    assert!(html.contains(&path), "{html}");
    let (status, page) = session.page(&path).await;
    assert_eq!(status, 200, "{page}");
    for words in [
        "Not paged: an email from an unknown sender, kept for the in-hours team",
        "not recognised: a stranger",
        "has not answered her door",
        "Her lights are off too",
        NEIGHBOUR,
    ] {
        assert!(page.contains(words), "{words} in {page}");
    }
    assert!(!page.contains("value=\"accept\""), "{page}");
    let refused = session.post(&path, &[("action", "pass")]).await;
    assert_eq!(refused.status(), 400);
    let resolved = session
        .post(
            &path,
            &[
                ("action", "resolve"),
                ("note", "Rang the neighbour; district nurse visiting at 10"),
            ],
        )
        .await;
    assert_eq!(resolved.status(), 303);
    app.settle().await;
    assert_eq!(app.concern(&id).await["status"], "resolved");
    // Still nobody was paged for it, all night and morning.
    assert!(
        app.twilio
            .messages()
            .iter()
            .all(|m| !m.body.contains("has not answered"))
    );
}

#[tokio::test]
async fn two_hundred_and_fifty_six_idle_connections_from_one_host_cannot_keep_out_the_relay() {
    let app = TestApp::spawn_with_email("2026-11-28T19:40", |_| {}).await;
    let smtp = app.smtp.clone().unwrap();
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..256 {
        let (mut client, greeting) = SmtpClient::open_from(&smtp, ip("127.0.0.1")).await;
        match greeting.code {
            220 => {
                assert_eq!(client.command("NOOP").await.code, 250);
                held.push(client);
            }
            421 => {
                assert!(greeting.text.starts_with("4.7.0"), "{greeting:?}");
                assert!(client.closed().await);
                refused += 1;
            }
            other => panic!("{other}: {greeting:?}"),
        }
    }
    assert_eq!((held.len(), refused), (16, 240));
    // They keep NOOPing; the relay still gets its mail in.
    for client in &mut held {
        assert_eq!(client.command("NOOP").await.code, 250);
    }
    let mail = message(
        NEIGHBOUR,
        "relay-1",
        "Hello",
        "A message through the relay.",
    );
    let reply = SmtpClient::send_from(&smtp, ip(RELAY), NEIGHBOUR, &[&ward()], &mail).await;
    assert_eq!((reply.code, reply.text.as_str()), (250, "2.0.0 Stored"));
    // One of the idle ones leaves: its host may connect once more.
    held.pop();
    let mut again = None;
    for _ in 0..100 {
        let (client, greeting) = SmtpClient::open_from(&smtp, ip("127.0.0.1")).await;
        if greeting.code == 220 {
            again = Some(client);
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    assert!(again.is_some(), "a place is given back when a session ends");
}

#[tokio::test]
async fn idle_connections_from_sixteen_hosts_fill_the_listener_but_not_for_the_named_relay() {
    let app = TestApp::spawn_with_email("2026-11-28T19:40", |c| {
        c.smtp_trusted_relays = Some(RELAY.to_owned());
    })
    .await;
    let smtp = app.smtp.clone().unwrap();
    let mut held = Vec::new();
    for host in 1..=16 {
        for _ in 0..16 {
            let (client, greeting) =
                SmtpClient::open_from(&smtp, ip(&format!("127.0.2.{host}"))).await;
            assert_eq!(greeting.code, 220, "{greeting:?}");
            held.push(client);
        }
    }
    // Every conversation is taken: a seventeenth host is turned away…
    let (_, busy) = SmtpClient::open_from(&smtp, ip("127.0.3.1")).await;
    assert_eq!(busy.code, 421, "{busy:?}");
    assert!(busy.text.starts_with("4.3.2"), "{busy:?}");
    // …but the trust's relay is not.
    let mail = message(
        NEIGHBOUR,
        "relay-4",
        "Hello",
        "A message through the relay.",
    );
    let reply = SmtpClient::send_from(&smtp, ip(RELAY), NEIGHBOUR, &[&ward()], &mail).await;
    assert_eq!((reply.code, reply.text.as_str()), (250, "2.0.0 Stored"));
    for client in &mut held {
        assert_eq!(client.command("NOOP").await.code, 250);
    }
}

#[tokio::test]
async fn a_session_past_its_time_limit_is_closed_even_while_it_sends_noop() {
    let app = TestApp::spawn_with_email("2026-11-28T19:40", |c| {
        c.smtp_session_limit = StdDuration::from_millis(800);
    })
    .await;
    let smtp = app.smtp.clone().unwrap();
    let started = std::time::Instant::now();
    let mut client = SmtpClient::connect(&smtp).await;
    assert_eq!(client.command("EHLO idle.example").await.code, 250);
    let last = loop {
        let reply = client.command("NOOP").await;
        if reply.code != 250 {
            break reply;
        }
        assert!(
            started.elapsed() < StdDuration::from_secs(10),
            "never closed"
        );
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    };
    assert_eq!(last.code, 421, "{last:?}");
    assert!(last.text.starts_with("4.4.2"), "{last:?}");
    assert!(started.elapsed() >= StdDuration::from_millis(800));
    assert!(client.closed().await);
}

#[tokio::test]
async fn eight_unfinished_ten_mib_messages_fill_the_mail_buffer_and_a_relays_mail_still_gets_in() {
    // 10 MiB messages and a 64 MiB buffer: the defaults.
    let app = TestApp::spawn_with_email("2026-11-28T19:40", |_| {}).await;
    let smtp = app.smtp.clone().unwrap();
    let mut streams = Vec::new();
    let mut full = Vec::new();
    for i in 0..8u8 {
        // From eight hosts, none over its own limit.
        let (mut client, greeting) =
            SmtpClient::open_from(&smtp, ip(&format!("127.0.1.{}", i + 1))).await;
        assert_eq!(greeting.code, 220);
        assert_eq!(client.command("EHLO bulk.example").await.code, 250);
        assert_eq!(
            client.command(&format!("MAIL FROM:<{MALLORY}>")).await.code,
            250
        );
        assert_eq!(
            client.command(&format!("RCPT TO:<{}>", ward())).await.code,
            250
        );
        let go = client.command("DATA").await;
        match go.code {
            354 => streams.push(client),
            452 => {
                assert!(go.text.starts_with("4.3.1"), "{go:?}");
                full.push(client);
            }
            other => panic!("{other}: {go:?}"),
        }
    }
    // Each DATA with no SIZE declared takes the largest message's share.
    assert_eq!((streams.len(), full.len()), (6, 2));
    // The six send 10 MiB each and never finish.
    let line = format!("{}\r\n", "x".repeat(998));
    let chunk = line.repeat(1024 * 1024 / line.len());
    let sends = streams.iter_mut().map(|client| async {
        client
            .write(b"From: mallory@evil.example\r\nSubject: bulk\r\n\r\n")
            .await;
        for _ in 0..10 {
            client.write(chunk.as_bytes()).await;
        }
    });
    futures_util::future::join_all(sends).await;

    // A relay that declares its message's size (as relays do) gets in.
    let mail = message(
        NEIGHBOUR,
        "relay-2",
        "Hello",
        "A message through the relay.",
    );
    let reply = SmtpClient::send_from(&smtp, ip(RELAY), NEIGHBOUR, &[&ward()], &mail).await;
    assert_eq!((reply.code, reply.text.as_str()), (250, "2.0.0 Stored"));
    // One that does not is told to come back later.
    let (mut late, _) = SmtpClient::open_from(&smtp, ip(RELAY)).await;
    assert_eq!(late.command("EHLO relay.test").await.code, 250);
    assert_eq!(
        late.command(&format!("MAIL FROM:<{NEIGHBOUR}>")).await.code,
        250
    );
    assert_eq!(
        late.command(&format!("RCPT TO:<{}>", ward())).await.code,
        250
    );
    let refused = late.command("DATA").await;
    assert_eq!(refused.code, 452, "{refused:?}");

    // The six go away: their share of the buffer is given back.
    drop(streams);
    let mut stored = None;
    for _ in 0..200 {
        let go = late.command("DATA").await;
        if go.code == 354 {
            stored = Some(
                late.data_after_go(&mail.replace("relay-2", "relay-3"))
                    .await,
            );
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    let stored = stored.expect("the buffer is free again once the six have gone");
    assert_eq!(stored.code, 250, "{stored:?}");
}
