//! HL7 v2 over MLLP, measured against the real server, listener, store
//! (SQLite, `synchronous=FULL`) and engine, on the demo trust's rota, with
//! the fake Twilio standing in for Twilio (so each discharge's welcome is
//! really sent while the feed is being taken):
//!
//! `ack`: four connections (an engine's channels) send at 200 messages a
//! second together, open loop: each message is due at its time and sent
//! as soon as its connection has the previous ACK, as an engine does. The
//! figure is due → ACK read, so a receiver that falls behind shows it.
//! Per patient: an A28 with a next of kin, then an A03 from Ward 7 (an
//! enrolment and two welcomes) or an A08.
//!
//! `backlog`: an engine replays 10,000 queued messages after an outage on
//! one connection, each sent when the last ACK is read: every ACK is
//! checked (AA, MSA-2 the message's MSH-10, in order), and the drain rate
//! is messages over the wall time.
//!
//! Run: `cargo bench --bench hl7`. Without `--bench` (as under `cargo
//! test`) it sends 20 of each as a smoke test.

#[path = "../tests/support/fake_twilio.rs"]
#[allow(dead_code)]
mod fake_twilio;
#[path = "support/harness.rs"]
mod harness;
#[path = "../tests/support/mllp.rs"]
mod mllp;

use std::time::{Duration, Instant};

use fake_twilio::FakeTwilio;
use harness::{ACCOUNT_SID, AUTH_TOKEN, Server, spread};

/// The `i`th valid NHS number from 900 000 000x (those whose check digit
/// would be 10 are skipped, as no such number is issued).
fn nhs_number(i: usize) -> String {
    let mut n = 900_000_000 + i * 2;
    loop {
        let digits: Vec<usize> = n.to_string().bytes().map(|b| (b - b'0') as usize).collect();
        let sum: usize = digits.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
        match 11 - sum % 11 {
            10 => n += 1,
            11 => return format!("{n}0"),
            c => return format!("{n}{c}"),
        }
    }
}

fn message(trigger: &str, id: &str, i: usize) -> String {
    let nhs = nhs_number(i);
    let mut m = format!(
        "MSH|^~\\&|PAS|RVJ|NIGHTINGALE|RVJ|{}||ADT^{trigger}^ADT_A01|{id}|P|2.4\rEVN|{trigger}\rPID|1||{nhs}^^^NHS^NH||Bench^Pat{i}||19600101|F|||||07911{:06}^PRS^CP\r",
        chrono::Utc::now().format("%Y%m%d%H%M%S+0000"),
        100_000 + i
    );
    match trigger {
        "A28" => m.push_str(&format!(
            "NK1|1|Bench^Kin{i}|NCH^Daughter||07922{:06}\r",
            100_000 + i
        )),
        "A03" => m.push_str("PV1|1|I|W7^Bay 1^Bed 1\r"),
        _ => {}
    }
    m
}

async fn server() -> (Server, FakeTwilio, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let db = dir.path().join("n.db");
    let mut config = harness::config(
        &format!("sqlite://{}", db.display()),
        &harness::root().join("rota"),
        twilio.base_url(),
    );
    config.mllp_listen = Some("127.0.0.1:0".parse().unwrap());
    let server = Server::start(&config, true).await;
    (server, twilio, dir)
}

/// `patients` patients over four connections at `rate` messages a second:
/// due → ACK latencies, sorted, and how many were not `AA`.
async fn figure_ack(rate: usize, patients: usize) -> (Vec<Duration>, usize) {
    let (server, _twilio, _dir) = server().await;
    let address = server.mllp.clone().unwrap();
    let connections = 4;
    let start = Instant::now() + Duration::from_millis(200);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let address = address.clone();
        tasks.push(tokio::spawn(async move {
            let mut engine = mllp::Engine::connect(&address).await;
            let mut out = Vec::new();
            let mut bad = 0;
            // Message k overall is due at k / rate; this connection takes every fourth.
            let mut k = c;
            while k < 2 * patients {
                let (i, first) = (k / 2, k % 2 == 0);
                let trigger = match (first, i % 2) {
                    (true, _) => "A28",
                    (false, 0) => "A03",
                    (false, _) => "A08",
                };
                let due = start + Duration::from_secs_f64(k as f64 / rate as f64);
                tokio::time::sleep_until(due.into()).await;
                let id = format!("B{k}");
                let ack = engine.send(&message(trigger, &id, i)).await;
                out.push(due.elapsed());
                bad += usize::from(ack.code() != "AA" || ack.answers() != id);
                k += connections;
            }
            (out, bad)
        }));
    }
    let (mut all, mut bad) = (Vec::new(), 0);
    for t in tasks {
        let (out, b) = t.await.unwrap();
        all.extend(out);
        bad += b;
    }
    all.sort();
    server.stop().await;
    (all, bad)
}

/// `count` messages replayed back to back on one connection: the wall
/// time and how many ACKs were not `AA` for that message, in order.
async fn figure_backlog(count: usize) -> (Duration, usize) {
    let (server, _twilio, _dir) = server().await;
    let mut engine = mllp::Engine::connect(server.mllp.as_deref().unwrap()).await;
    let messages: Vec<(String, String)> = (0..count)
        .map(|k| {
            let trigger = ["A28", "A03", "A08", "A31"][k % 4];
            let id = format!("Q{k}");
            (id.clone(), message(trigger, &id, k / 4))
        })
        .collect();
    let began = Instant::now();
    let mut wrong = 0;
    for (id, m) in &messages {
        let ack = engine.send(m).await;
        wrong += usize::from(ack.code() != "AA" || &ack.answers() != id);
    }
    let took = began.elapsed();
    server.stop().await;
    (took, wrong)
}

async fn smoke() {
    let (acks, bad) = figure_ack(50, 10).await;
    assert_eq!((acks.len(), bad), (20, 0));
    let (_, wrong) = figure_backlog(20).await;
    assert_eq!(wrong, 0);
    println!("hl7 benchmark smoke test: 20 messages at 50 a second and 20 replayed, all AA");
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
            "# Nightingale HL7 figures ({} cores)",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        );
        println!("\n## ACKs at 200 messages a second, four connections, 6,000 messages (engine running, durable store)\n");
        let (acks, bad) = figure_ack(200, 3000).await;
        println!("| measure | messages | p50 | p99 | max |");
        println!("| --- | --- | --- | --- | --- |");
        println!("| due → ACK read | {} | {} |", acks.len(), spread(&acks));
        println!("\nnot AA for that message: {bad}");
        println!("\n## A backlog of 10,000 replayed on one connection\n");
        let (took, wrong) = figure_backlog(10_000).await;
        println!(
            "10,000 messages in {:.1} s: {:.0} messages a second; not AA for that message, in order: {wrong}",
            took.as_secs_f64(),
            10_000.0 / took.as_secs_f64()
        );
    });
}
