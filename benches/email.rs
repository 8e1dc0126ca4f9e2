//! Email figures, measured against the real server, SMTP listener, store
//! (SQLite, `synchronous=FULL`) and engine, with the fake Twilio standing
//! in for Twilio:
//!
//! `in`: on the generated 1,000-service trust, enrolled patients, each
//! with an email, write at 100 messages a second (open loop, a connection
//! and a whole SMTP transaction each). Two figures: `DATA` → `250` (the
//! message read, parsed and stored durably before the answer), and the
//! message's due time → its page at the fake Twilio (intake, routing, the
//! outbox and the send).
//!
//! `out`: the same, with every clinician of the trust asking to be paged
//! by email first (`notify = ["email", "sms"]`): the message's due time →
//! its page email taken (`250`) by a test mail server on loopback, sent by
//! lettre through the outbox.
//!
//! Run: `cargo bench --bench email`. Without `--bench` (as under
//! `cargo test`) it runs five messages as a smoke test.

#[path = "../tests/support/fake_twilio.rs"]
#[allow(dead_code)]
mod fake_twilio;
#[path = "support/harness.rs"]
mod harness;
#[path = "../tests/support/smtp.rs"]
mod smtp;
#[path = "support/trust.rs"]
mod trust;

use std::path::Path;
use std::time::{Duration, Instant};

use fake_twilio::FakeTwilio;
use harness::{ACCOUNT_SID, AUTH_TOKEN, Server, spread};
use smtp::{MailServer, SmtpClient};

const DOMAIN: &str = "nightingale.bench";

fn patient(i: usize) -> String {
    format!("+4479111{i:05}")
}

fn email(i: usize) -> String {
    format!("pat{i}@bench.example")
}

/// `patients` patients with emails, one per generated service, write at
/// `rate` a second: the `DATA` → `250` latencies, the due → page
/// latencies (both sorted), and how many messages were not answered `250`.
/// With `pages_by_email`, clinicians are paged by email, and the page is
/// timed to its arrival at a test mail server.
async fn figure_in(
    rate: usize,
    patients: usize,
    pages_by_email: bool,
) -> (Vec<Duration>, Vec<Duration>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let db = dir.path().join("n.db");
    let key = harness::api_key(
        &nightingale::store::sqlite::SqliteStore::open(&db).unwrap(),
        "bench",
    );
    let rota = generated_rota(dir.path(), pages_by_email);
    let mut config = harness::config(
        &format!("sqlite://{}", db.display()),
        &rota,
        twilio.base_url(),
    );
    config.smtp_listen = Some("127.0.0.1:0".parse().unwrap());
    config.email_domain = Some(DOMAIN.to_owned());
    let mail = MailServer::start().await;
    if pages_by_email {
        config.smtp_url = Some(mail.url().into());
        config.email_from = Some(format!("Nightingale <nightingale@{DOMAIN}>"));
    }
    let server = Server::start(&config, true).await;
    let smtp = server.smtp.clone().unwrap();
    let client = reqwest::Client::new();
    let discharged = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    for i in 0..patients {
        let response = client
            .post(format!("{}/api/v1/enrolments", server.address))
            .bearer_auth(&key)
            .json(&serde_json::json!({
                "patient": {"name": format!("Pat{i} Bench"), "phone": patient(i), "email": email(i)},
                "carers": [], "service": format!("s{}", i % trust::SERVICES), "discharged_at": discharged,
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }
    twilio
        .wait_for_messages(patients, Duration::from_secs(60))
        .await;
    let welcomes = twilio.messages().len();

    let start = Instant::now() + Duration::from_millis(200);
    let mut handles = Vec::new();
    for i in 0..patients {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let smtp = smtp.clone();
        handles.push(tokio::spawn(async move {
            let from = email(i);
            let message = format!(
                "From: Pat{i} Bench <{from}>\r\nTo: ward@{DOMAIN}\r\nSubject: Dressing\r\nMessage-ID: <bench-{i}@bench.example>\r\n\r\nMy dressing is leaking.\r\n\r\n-- \r\nPat{i}\r\n"
            );
            let mut c = SmtpClient::connect(&smtp).await;
            c.command("EHLO bench.example").await;
            c.command(&format!("MAIL FROM:<{from}>")).await;
            c.command(&format!("RCPT TO:<ward@{DOMAIN}>")).await;
            let sent = Instant::now();
            let reply = c.data(&message).await;
            let took = sent.elapsed();
            c.command("QUIT").await;
            (i, due, took, reply.code == 250)
        }));
    }
    let mut dues = vec![start; patients];
    let (mut stored, mut failed) = (Vec::new(), 0);
    for h in handles {
        let (i, due, took, ok) = h.await.unwrap();
        dues[i] = due;
        stored.push(took);
        failed += usize::from(!ok);
    }
    stored.sort();
    // Each patient gets a first reply and their service's level 1 a page.
    let pages_by_text = if pages_by_email { 0 } else { patients };
    twilio
        .wait_for_messages(welcomes + patients + pages_by_text, Duration::from_secs(60))
        .await;
    let mut paged: Vec<Duration> = if pages_by_email {
        mail.wait_for(patients, Duration::from_secs(60)).await;
        // "Concern 3: Pat12, Service 12": the patient is named after the code.
        mail.delivered()
            .iter()
            .filter_map(|m| {
                let subject = m.subject();
                let (_, who) = subject.split_once(": ")?;
                let i: usize = who.split(',').next()?.strip_prefix("Pat")?.parse().ok()?;
                Some(m.received_at.saturating_duration_since(dues[i]))
            })
            .collect()
    } else {
        twilio
            .messages()
            .iter()
            .filter_map(|m| {
                let i: usize = m
                    .body
                    .split(" - ")
                    .next()?
                    .strip_prefix("Pat")?
                    .parse()
                    .ok()?;
                Some(m.received_at.saturating_duration_since(dues[i]))
            })
            .collect()
    };
    paged.sort();
    server.stop().await;
    (stored, paged, failed)
}

/// The generated trust's rota files in `dir`; with `pages_by_email`,
/// everyone has an email and asks to be paged there first.
fn generated_rota(dir: &Path, pages_by_email: bool) -> std::path::PathBuf {
    let rota = dir.join("generated-rota");
    std::fs::create_dir_all(&rota).unwrap();
    for (name, mut text) in trust::generated_files() {
        if pages_by_email && name == "people.toml" {
            text = text
                .lines()
                .map(|line| match line.strip_prefix("[people.") {
                    Some(id) => {
                        let id = id.trim_end_matches(']');
                        format!("{line}\nemail = \"{id}@trust.bench.example\"\nnotify = [\"email\", \"sms\"]")
                    }
                    None => line.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        std::fs::write(rota.join(name), text).unwrap();
    }
    rota
}

async fn smoke() {
    let (stored, paged, failed) = figure_in(5, 5, false).await;
    assert_eq!((stored.len(), paged.len(), failed), (5, 5, 0));
    let (stored, paged, failed) = figure_in(5, 5, true).await;
    assert_eq!((stored.len(), paged.len(), failed), (5, 5, 0));
    println!("email benchmark smoke test: 5 emails stored and paged by text, 5 by email");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if !args.iter().any(|a| a == "--bench") {
        runtime.block_on(smoke());
        return;
    }
    runtime.block_on(async {
        println!(
            "# Nightingale email figures ({} cores)",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        );
        println!("\n## Email in, 1,000 messages at 100 a second (engine running, durable store)\n");
        let (stored, paged, failed) = figure_in(100, 1000, false).await;
        println!("| measure | messages | p50 | p99 | max |");
        println!("| --- | --- | --- | --- | --- |");
        println!(
            "| `DATA` → `250` (stored) | {} | {} |",
            stored.len(),
            spread(&stored)
        );
        println!(
            "| due → page at the fake Twilio | {} | {} |",
            paged.len(),
            spread(&paged)
        );
        println!("\nnot answered 250: {failed}");

        println!("\n## Email out: the same, every clinician paged by email first\n");
        let (stored, paged, failed) = figure_in(100, 1000, true).await;
        println!("| measure | messages | p50 | p99 | max |");
        println!("| --- | --- | --- | --- | --- |");
        println!(
            "| due → page email taken by the mail server | {} | {} |",
            paged.len(),
            spread(&paged)
        );
        println!(
            "| `DATA` → `250` (stored) | {} | {} |",
            stored.len(),
            spread(&stored)
        );
        println!("\nnot answered 250: {failed}");
    });
}
