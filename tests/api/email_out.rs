//! Email out, over real SMTP on loopback: Nightingale's sender (lettre)
//! talks to a test mail server that records what it takes, and replies
//! and bounces come back through Nightingale's own listener. Isla, the
//! community nurse on call on Saturday evening, prefers email.

use serde_json::Value;

use super::email::{ISLA, ISLA_EMAIL, SIAN_EMAIL, enrol_with_sian_email, last_text, message, ward};
use crate::support::nightingale::{EMAIL_DOMAIN, NowInstant, PUBLIC_URL, SIAN, TestApp};
use crate::support::smtp::{Delivered, MailServer, SmtpClient};

/// Isla asks to be paged by email first, then by text.
const ISLA_PREFERS_EMAIL: (&str, &str) = ("isla-morgan", r#"notify = ["email", "sms"]"#);

/// Saturday 19:40 with Sian enrolled and Isla preferring email: Sian
/// emails about her mother, and Nightingale takes it in.
async fn sian_emails(mail: &MailServer) -> TestApp {
    let app = TestApp::spawn_with_email_out("2026-11-28T19:40", mail, &[ISLA_PREFERS_EMAIL]).await;
    enrol_with_sian_email(&app).await;
    let smtp = app.smtp.clone().unwrap();
    let body = "Mum has been more breathless since teatime & her ankles are <very> swollen.";
    let sent = message(SIAN_EMAIL, "sian-1", "Mum tonight", body);
    let reply = SmtpClient::send(&smtp, SIAN_EMAIL, &[&ward()], &sent).await;
    assert_eq!(reply.code, 250, "{reply:?}");
    app.settle().await;
    app
}

/// The concern a page email links to.
fn concern_in(page: &Delivered) -> String {
    let (text, _) = page.parts();
    let after = text
        .split(&format!("{PUBLIC_URL}/c/"))
        .nth(1)
        .expect("a page email carries the link");
    after.split('?').next().unwrap().to_owned()
}

/// The code in a page email's subject ("Concern 12: …").
fn code_in(page: &Delivered) -> String {
    let subject = page.subject();
    let rest = subject.strip_prefix("Concern ").expect("{subject}");
    rest.split(':').next().unwrap().to_owned()
}

fn events<'a>(concern: &'a Value, kind: &str) -> Vec<&'a Value> {
    concern["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == kind)
        .collect()
}

#[tokio::test]
async fn a_carer_emails_on_saturday_evening_and_the_nurse_who_prefers_email_accepts_by_replying_to_the_page_email()
 {
    let mail = MailServer::start().await;
    let app = sian_emails(&mail).await;

    // Isla is paged by email, not by text.
    let pages = mail.delivered_to(ISLA_EMAIL);
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert!(app.twilio.messages_to(ISLA).is_empty());
    let page = &pages[0];
    let concern_id = concern_in(page);
    let code = code_in(page);
    let (text, html) = page.parts();
    assert!(text.contains("Mum has been more breathless"), "{text}");
    // The HTML part is escaped: Sian's words are words, not markup.
    assert!(html.contains("&lt;very&gt; swollen"), "{html}");
    let token = app.page_token(&concern_id, "isla-morgan");
    let reply_to = format!("page+{token}@{EMAIL_DOMAIN}");
    assert_eq!(page.header("Reply-To").as_deref(), Some(reply_to.as_str()));

    // She replies from her mail client: to the Reply-To, quoting the page.
    let answer = format!(
        "From: Isla Morgan <{ISLA_EMAIL}>\r\nTo: {reply_to}\r\nSubject: Re: {}\r\nIn-Reply-To: {}\r\nMessage-ID: <isla-reply-1@nhs.example>\r\n\r\nA{code} I will ring her now\r\n\r\nOn Sat, 28 Nov 2026 at 19:41, Nightingale wrote:\r\n> {}\r\n",
        page.subject(),
        page.header("Message-ID").unwrap(),
        text.lines().next().unwrap(),
    );
    let reply = SmtpClient::send(
        &app.smtp.clone().unwrap(),
        ISLA_EMAIL,
        &[&reply_to],
        &answer,
    )
    .await;
    assert_eq!(reply.code, 250, "{reply:?}");
    app.settle().await;

    let concern = app.concern(&concern_id).await;
    assert_eq!(concern["status"], "accepted", "{concern}");
    assert_eq!(concern["accepted_by"]["name"], "Isla Morgan");
    assert!(
        last_text(&app, SIAN).starts_with("Isla Morgan"),
        "Sian is told who has it"
    );
    // Isla's confirmation comes by email too, in the page's thread.
    let to_isla = mail.delivered_to(ISLA_EMAIL);
    assert_eq!(to_isla.len(), 2, "{to_isla:?}");
    let confirmation = &to_isla[1];
    assert!(
        confirmation
            .parts()
            .0
            .contains(&format!("You have concern {code}")),
        "{:?}",
        confirmation.parts()
    );
    assert_eq!(confirmation.subject(), page.subject());
    assert_eq!(confirmation.header("References"), page.header("References"));
    assert!(app.twilio.messages_to(ISLA).is_empty(), "nothing by text");
}

#[tokio::test]
async fn the_page_email_is_threaded_and_carries_the_link_and_codes_in_both_parts() {
    let mail = MailServer::start().await;
    let app = sian_emails(&mail).await;
    let page = mail.delivered_to(ISLA_EMAIL)[0].clone();
    let code = code_in(&page);
    let concern_id = concern_in(&page);

    // From us, bounces to a VERP address of ours that names the item.
    assert_eq!(
        page.header("From").as_deref(),
        Some(format!("Nightingale <nightingale@{EMAIL_DOMAIN}>").as_str())
    );
    assert!(
        page.mail_from.starts_with("bounce+") && page.mail_from.ends_with(EMAIL_DOMAIN),
        "{}",
        page.mail_from
    );
    assert_eq!(page.rcpt_to, [ISLA_EMAIL]);
    assert!(
        page.subject()
            .starts_with(&format!("Concern {code}: Margaret (via daughter Sian)")),
        "{}",
        page.subject()
    );
    let message_id = page.header("Message-ID").unwrap();
    let root = format!("<concern.{concern_id}@{EMAIL_DOMAIN}>");
    assert_eq!(page.header("In-Reply-To").as_deref(), Some(root.as_str()));
    assert_eq!(page.header("References").as_deref(), Some(root.as_str()));
    assert_ne!(message_id, root);
    assert!(
        page.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative"),
        "plain text with an HTML alternative"
    );
    let (text, html) = page.parts();
    // As a browser reads the link's href: escaped as HTML attributes are.
    let html = html.replace("&#x2f;", "/").replace("&amp;", "&");
    for part in [&text, &html] {
        assert!(
            part.contains(&format!("{PUBLIC_URL}/c/{concern_id}?s=isla-morgan")),
            "{part}"
        );
        for reply in [format!("A{code}"), format!("P{code}"), format!("R{code}")] {
            assert!(part.contains(&reply), "{reply} in {part}");
        }
    }
    assert!(
        html.contains("<a href=\"https://nightingale.test/c/"),
        "{html}"
    );

    // Sian writes again: Isla gets it in the same thread, under its own id.
    app.advance(chrono::Duration::minutes(2)).await;
    let again = message(SIAN_EMAIL, "sian-2", "", "She has been sick twice now.");
    let smtp = app.smtp.clone().unwrap();
    assert_eq!(
        SmtpClient::send(&smtp, SIAN_EMAIL, &[&ward()], &again)
            .await
            .code,
        250
    );
    app.settle().await;
    app.advance(chrono::Duration::minutes(2)).await;
    let to_isla = mail.delivered_to(ISLA_EMAIL);
    let forward = to_isla
        .iter()
        .find(|m| m.parts().0.contains("She has been sick twice now."))
        .unwrap_or_else(|| panic!("the later message is sent on: {to_isla:?}"));
    assert_eq!(forward.subject(), page.subject());
    assert_eq!(forward.header("References").as_deref(), Some(root.as_str()));
    assert_ne!(forward.header("Message-ID"), Some(message_id));
    assert_eq!(forward.header("Reply-To"), page.header("Reply-To"));
}

#[tokio::test]
async fn a_5xx_from_the_mail_server_fails_over_to_the_next_contact_method() {
    let mail = MailServer::start().await;
    mail.refuse(ISLA_EMAIL, &["550 5.1.1 No such mailbox"]);
    let app = sian_emails(&mail).await;

    assert!(mail.delivered_to(ISLA_EMAIL).is_empty());
    // Her next way: a text, at once.
    let texts = app.twilio.messages_to(ISLA);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0]
            .body
            .contains("Mum tonight: Mum has been more breathless")
    );
    let concern = app.concern(&TestApp::concern_id_in(&texts[0])).await;
    let failed = events(&concern, "send_failed");
    assert_eq!(failed.len(), 1, "{concern}");
    assert!(
        failed[0]["reason"].as_str().unwrap().contains("550"),
        "{concern}"
    );
    assert_eq!(failed[0]["will_retry"], false);
    assert!(
        events(&concern, "note").iter().any(|n| n["text"]
            .as_str()
            .unwrap()
            .contains("texting their next contact")),
        "{concern}"
    );
}

#[tokio::test]
async fn a_4xx_from_the_mail_server_is_retried_from_the_outbox() {
    let mail = MailServer::start().await;
    mail.refuse(ISLA_EMAIL, &["451 4.3.0 Try again later"]);
    let app = sian_emails(&mail).await;

    assert!(mail.delivered_to(ISLA_EMAIL).is_empty());
    assert!(app.twilio.messages_to(ISLA).is_empty(), "not failed over");
    // The retry policy's first wait is a second.
    app.advance(chrono::Duration::seconds(1)).await;
    let pages = mail.delivered_to(ISLA_EMAIL);
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert!(app.twilio.messages_to(ISLA).is_empty());
    let concern = app.concern(&concern_in(&pages[0])).await;
    let failed = events(&concern, "send_failed");
    assert_eq!(failed.len(), 1, "{concern}");
    assert_eq!(failed[0]["will_retry"], true);
    let sent = events(&concern, "sent");
    assert!(
        sent.iter()
            .any(|s| s["purpose"] == "page" && s["attempts"] == 2),
        "{concern}"
    );
}

#[tokio::test]
async fn a_bounce_to_the_envelope_sender_fails_over_and_a_made_up_one_does_nothing() {
    let mail = MailServer::start().await;
    let app = sian_emails(&mail).await;
    let page = mail.delivered_to(ISLA_EMAIL)[0].clone();
    let concern_id = concern_in(&page);
    let smtp = app.smtp.clone().unwrap();
    let dsn = |to: &str, id: &str| {
        format!(
            "From: Mail Delivery System <MAILER-DAEMON@relay.nhs.example>\r\nTo: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{id}@relay.nhs.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"dsn\"\r\n\r\n--dsn\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered to {ISLA_EMAIL}.\r\n--dsn\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.nhs.example\r\n\r\nFinal-Recipient: rfc822; {ISLA_EMAIL}\r\nAction: failed\r\nStatus: 5.2.2\r\n\r\n--dsn--\r\n"
        )
    };

    // Someone who guesses the item's number but not its tag changes nothing.
    let id = page.mail_from["bounce+".len()..].split('.').next().unwrap();
    let forged = format!("bounce+{id}.0000000000000000@{EMAIL_DOMAIN}");
    assert_eq!(
        SmtpClient::send(&smtp, "", &[&forged], &dsn(&forged, "dsn-forged"))
            .await
            .code,
        250
    );
    app.settle().await;
    assert!(app.twilio.messages_to(ISLA).is_empty());

    // Her mailbox is full: the relay's report comes back to the page's envelope sender.
    let to = page.mail_from.clone();
    assert_eq!(
        SmtpClient::send(&smtp, "", &[&to], &dsn(&to, "dsn-1"))
            .await
            .code,
        250
    );
    app.settle().await;
    let texts = app.twilio.messages_to(ISLA);
    assert_eq!(texts.len(), 1, "failed over to her text: {texts:?}");
    let concern = app.concern(&concern_id).await;
    let delivery = events(&concern, "delivery");
    assert_eq!(delivery.len(), 1, "{concern}");
    assert_eq!(delivery[0]["status"], "bounced");
    assert_eq!(concern["status"], "open");
}

#[tokio::test]
async fn email_out_needs_both_settings_and_a_url_it_understands_and_never_shows_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let config = |url: &str, from: Option<&str>| nightingale::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        store: format!("sqlite://{}", dir.path().join("n.db").display()),
        rota_dir: root.join("rota"),
        templates_dir: root.join("templates"),
        smtp_url: Some(secrecy::SecretString::from(url.to_owned())),
        email_from: from.map(str::to_owned),
        ..nightingale::config::Config::default()
    };
    let clock = std::sync::Arc::new(nightingale::clock::SystemClock);
    let refused = |config| {
        let clock = clock.clone();
        async move {
            match nightingale::app::Application::build(&config, clock).await {
                Ok(_) => panic!("it must not start"),
                Err(e) => format!("{e:#}"),
            }
        }
    };
    let err = refused(config("smtp://relay.test:25", None)).await;
    assert!(
        err.contains("set both NIGHTINGALE_SMTP_URL and NIGHTINGALE_EMAIL_FROM"),
        "{err}"
    );
    let err = refused(config("smtp://relay.test", Some("not an address"))).await;
    assert!(
        err.contains("NIGHTINGALE_EMAIL_FROM is not an address"),
        "{err}"
    );
    let err = refused(config(
        "ftp://nightingale:s3cret@relay.test",
        Some("n@nightingale.test"),
    ))
    .await;
    assert!(
        err.contains("NIGHTINGALE_SMTP_URL is not understood"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "no secret in the message: {err}");
}

#[tokio::test]
async fn a_carer_enrolled_with_an_email_and_no_phone_is_answered_by_email_in_one_thread() {
    let mail = MailServer::start().await;
    let app = TestApp::spawn_with_email_out("2026-11-28T19:40", &mail, &[]).await;
    // Nobody can be enrolled with neither a phone nor an email.
    let discharged = (app.clock.now_instant() - chrono::Duration::hours(1)).to_rfc3339();
    let enrolment = |carer: Value| {
        serde_json::json!({
            "patient": {"name": "Margaret Evans", "phone": "07700 900801"},
            "carers": [carer],
            "service": "community-nursing-north",
            "discharged_at": discharged,
        })
    };
    let refused = app
        .enrol(&enrolment(
            serde_json::json!({"name": "Sian Evans", "relationship": "daughter"}),
        ))
        .await;
    assert_eq!(refused.status(), 422);
    let errors: Value = refused.json().await.unwrap();
    assert_eq!(errors["errors"][0]["field"], "carers[0].phone", "{errors}");
    assert!(
        errors["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("or, for someone with no phone, an email"),
        "{errors}"
    );
    // Sian has no mobile: she is enrolled with her email alone.
    let sian =
        serde_json::json!({"name": "Sian Evans", "email": SIAN_EMAIL, "relationship": "daughter"});
    let enrolled = app.enrol(&enrolment(sian)).await;
    assert_eq!(enrolled.status(), 201);
    let enrolled: Value = enrolled.json().await.unwrap();
    assert_eq!(
        enrolled["notes"][0]["field"], "carers[0].phone",
        "{enrolled}"
    );
    assert!(
        enrolled["notes"][0]["message"]
            .as_str()
            .unwrap()
            .contains("reached by email alone"),
        "whoever enrols her is told what that means: {enrolled}"
    );
    app.settle().await;

    // She is welcomed by email, with the address that reaches the team.
    let welcome = mail.delivered_to(SIAN_EMAIL);
    assert_eq!(welcome.len(), 1, "{welcome:?}");
    assert_eq!(
        welcome[0].subject(),
        "How to reach the community nursing team at any time"
    );
    let (text, html) = welcome[0].parts();
    assert!(
        text.starts_with("Hello Sian.")
            && text.contains(&format!(
                "reaches the community nursing team at any time, day or night: nightingale@{EMAIL_DOMAIN}"
            ))
            && text.contains("In an emergency, call 999."),
        "{text}"
    );
    assert!(
        html.contains(&format!("mailto:nightingale@{EMAIL_DOMAIN}")),
        "{html}"
    );
    let smtp = app.smtp.clone().unwrap();
    let first = message(
        SIAN_EMAIL,
        "sian-only-1",
        "Mum",
        "Mum has had a fall and cannot get up.",
    );
    assert_eq!(
        SmtpClient::send(&smtp, SIAN_EMAIL, &[&ward()], &first)
            .await
            .code,
        250
    );
    app.settle().await;

    // Isla is paged by text as usual; Sian is answered by email.
    let page = app.twilio.messages_to(ISLA)[0].clone();
    assert!(
        page.body.contains("Mum: Mum has had a fall"),
        "{}",
        page.body
    );
    let to_sian = mail.delivered_to(SIAN_EMAIL);
    assert_eq!(to_sian.len(), 2, "{to_sian:?}");
    let received = &to_sian[1];
    assert!(
        received
            .parts()
            .0
            .contains("will email you when someone has it. In an emergency, call 999."),
        "{:?}",
        received.parts()
    );
    assert_eq!(
        received.subject(),
        "Your message to the community nursing team"
    );
    let concern_id = TestApp::concern_id_in(&page);
    let root = format!("<concern.{concern_id}@{EMAIL_DOMAIN}>");
    assert_eq!(
        received.header("References").as_deref(),
        Some(root.as_str())
    );
    let concern = app.concern(&concern_id).await;
    assert_eq!(concern["from"], "carer (daughter)");
    assert_eq!(concern["sender"], format!("mailto:{SIAN_EMAIL}"));

    // She writes again, replying to our email: it joins her concern.
    let again = format!(
        "From: {SIAN_EMAIL}\r\nTo: nightingale@{EMAIL_DOMAIN}\r\nSubject: Re: {}\r\nIn-Reply-To: {}\r\nMessage-ID: <sian-only-2@mail.example.org>\r\n\r\nShe is talking but very cold.\r\n",
        received.subject(),
        received.header("Message-ID").unwrap()
    );
    let reply = SmtpClient::send(
        &smtp,
        SIAN_EMAIL,
        &[&format!("nightingale@{EMAIL_DOMAIN}")],
        &again,
    )
    .await;
    assert_eq!(reply.code, 250);
    app.settle().await;
    let concern = app.concern(&concern_id).await;
    assert_eq!(events(&concern, "received").len(), 2, "{concern}");

    // Isla accepts by text: Sian is told by email, in the same thread; her
    // mother by text.
    let code = TestApp::code_in(&page);
    assert_eq!(app.text(ISLA, &format!("A{code}")).await.status(), 200);
    app.settle().await;
    let to_sian = mail.delivered_to(SIAN_EMAIL);
    let told = to_sian.last().unwrap();
    assert!(
        told.parts().0.starts_with("Isla Morgan"),
        "{:?}",
        told.parts()
    );
    assert_eq!(told.subject(), received.subject());
    assert_eq!(told.header("References").as_deref(), Some(root.as_str()));
    assert!(last_text(&app, crate::support::nightingale::MARGARET).starts_with("Isla Morgan"));
}

#[tokio::test]
async fn a_team_leader_who_prefers_email_gets_the_whole_morning_handover_by_email() {
    // Both district nursing team leaders read email first.
    let leaders = [
        ("grace-adeyemi", r#"notify = ["email", "sms"]"#),
        (
            "hannah-price",
            "email = \"hannah.price@riverside-nhs.example\"\nnotify = [\"email\", \"sms\"]",
        ),
    ];
    let mail = MailServer::start().await;
    // Tuesday 24 November, 18:00.
    let app = TestApp::spawn_with_email_out("2026-11-24T18:00", &mail, &leaders).await;
    app.enrol_margaret("community-nursing-north").await;
    app.settle().await;

    // 19:05: Margaret's dressing; the evening nurse takes it and closes it.
    app.clock.advance(chrono::Duration::minutes(65));
    app.text(
        crate::support::nightingale::MARGARET,
        "My leg dressing is soaked through",
    )
    .await;
    app.settle().await;
    let (nurse_name, nurse) =
        crate::support::staff::on_call("community-nursing-north", "2026-11-24T19:05", 1);
    let code = TestApp::code_in(&app.twilio.messages_to(&nurse)[0]);
    app.text(&nurse, &format!("A{code}")).await;
    app.settle().await;
    app.text(
        &nurse,
        &format!("R{code} Changed the dressing at home, will review tomorrow"),
    )
    .await;
    app.settle().await;

    // 08:00 Wednesday: the team leader in hours gets the night by email,
    // whole, with the closing note; no text.
    for _ in 0..12 {
        app.advance(chrono::Duration::hours(1)).await;
    }
    app.advance(chrono::Duration::minutes(55)).await;
    let (leader_name, leader_phone) =
        crate::support::staff::on_call("community-nursing-north", "2026-11-25T08:00", 1);
    let leader_email = if leader_name == "Grace Adeyemi" {
        "grace.adeyemi@riverside-nhs.example"
    } else {
        "hannah.price@riverside-nhs.example"
    };
    let handovers = mail.delivered_to(leader_email);
    assert_eq!(handovers.len(), 1, "{handovers:?}");
    assert_eq!(
        handovers[0].subject(),
        "Handover: Community nursing, north locality, Tue 24 Nov 18:30 to Wed 25 Nov 08:00"
    );
    let (text, html) = handovers[0].parts();
    for words in [
        "1 raised: 0 not yet taken, 0 being dealt with, 1 closed.",
        "Tue 19:05, Margaret (patient): \"My leg dressing is soaked through\"",
        &format!(
            "Closed by {nurse_name}. Closing note: Changed the dressing at home, will review tomorrow"
        ),
        "https://nightingale.test/staff/handover/community-nursing-north",
    ] {
        assert!(text.contains(words), "{words} in {text}");
    }
    assert!(html.contains("Changed the dressing at home"), "{html}");
    assert!(
        !app.twilio
            .messages_to(&leader_phone)
            .iter()
            .any(|m| m.body.starts_with("Nightingale handover")),
        "no text as well"
    );
}
