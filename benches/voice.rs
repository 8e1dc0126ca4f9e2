//! Voice figures, measured against the real server, store (SQLite,
//! `synchronous=FULL`) and HTTP client, with the fake Twilio standing in for
//! Twilio, engine running:
//!
//! 1. `answer`: how long the voice webhooks take to answer at 100 new calls
//!    a second: the call arriving (`POST /twilio/voice`: signature check,
//!    caller looked up, step stored durably, TwiML rendered) and, a second
//!    later, the same call's message (`POST /twilio/voice/message`). Open
//!    loop: latency counts from when a request was due to be sent.
//! 2. `callpage`: a call page's deadline → its `Calls.json` request at the
//!    fake Twilio: on the generated 1,000-service trust, where everyone asks
//!    for a text at once and a call 2 s later (`voice after 2s`), 1,000
//!    enrolled patients text at 100 a second; each concern pages its
//!    service's level 1, and its call falls due 2 s after the text came in
//!    (counted from when the text was due to be sent, so intake's own time
//!    is inside the figure).
//!
//! Run: `cargo bench --bench voice` (all), or name figures:
//! `cargo bench --bench voice -- answer`. Without `--bench` (as under
//! `cargo test`) it runs a second of each as a smoke test.

#[path = "../tests/support/fake_twilio.rs"]
#[allow(dead_code)]
mod fake_twilio;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/trust.rs"]
mod trust;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fake_twilio::{FakeTwilio, twilio_signature};
use harness::{ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, PUBLIC_URL, Server, root, spread};
/// How long after a page the duty managers' call falls due, in the rota this bench writes.
const CALL_AFTER: Duration = Duration::from_secs(2);

/// The generated trust, with everyone asking for a call `CALL_AFTER` after a page.
fn generated_rota(dir: &Path) -> PathBuf {
    let rota = dir.join("generated-rota");
    std::fs::create_dir_all(&rota).unwrap();
    let notify = format!(
        "notify = [\"sms\", \"voice after {}s\"]\n",
        CALL_AFTER.as_secs()
    );
    for (name, text) in trust::generated_files() {
        let text: String = text
            .lines()
            .map(|l| {
                if l.starts_with("phone = ") {
                    format!("{l}\n{notify}")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(rota.join(name), text).unwrap();
    }
    rota
}

/// A node on a fresh SQLite store in `dir`, engine running.
async fn start(dir: &Path, twilio: &FakeTwilio, rota_dir: PathBuf) -> Server {
    let store = format!("sqlite://{}", dir.join("n.db").display());
    Server::start(&harness::config(&store, &rota_dir, twilio.base_url()), true).await
}

fn caller(i: usize) -> String {
    format!("+4479112{i:05}")
}

fn form(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One signed webhook, due at `due`: its latency from then, and whether it was a `200` TwiML.
async fn post(
    client: &reqwest::Client,
    address: &str,
    path: &str,
    params: Vec<(String, String)>,
    due: Instant,
) -> (Duration, bool) {
    let signature = twilio_signature(AUTH_TOKEN, &format!("{PUBLIC_URL}{path}"), &params);
    let ok = match client
        .post(format!("{address}{path}"))
        .header("X-Twilio-Signature", signature)
        .form(&params)
        .send()
        .await
    {
        Ok(r) => {
            r.status().is_success()
                && r.text()
                    .await
                    .is_ok_and(|t| t.contains("<Response>") && !t.contains("NHS 111"))
        }
        Err(_) => false,
    };
    (due.elapsed(), ok)
}

/// Offer `rate` new calls a second for `seconds`, each answered and, a
/// second later, leaving a message; returns the latencies of the answers
/// and of the messages (sorted), how many of either failed, and when each
/// message was due.
async fn calls(
    address: &str,
    rate: usize,
    seconds: usize,
) -> (Vec<Duration>, Vec<Duration>, usize, Vec<Instant>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let n = rate * seconds;
    let start = Instant::now() + Duration::from_millis(200);
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let (client, address) = (client.clone(), address.to_owned());
        handles.push(tokio::spawn(async move {
            let (sid, from) = (format!("CA{i:032x}"), caller(i));
            let base = [
                ("CallSid", sid.as_str()),
                ("AccountSid", ACCOUNT_SID),
                ("From", from.as_str()),
                ("To", OUR_NUMBER),
            ];
            let mut answer = form(&base);
            answer.extend(form(&[("CallStatus", "ringing")]));
            let answered = post(&client, &address, "/twilio/voice", answer, due).await;
            let message_due = due + Duration::from_secs(1);
            tokio::time::sleep_until(message_due.into()).await;
            let recording = format!("RE{i:032x}");
            let mut message = form(&base);
            message.extend(form(&[
                ("RecordingSid", recording.as_str()),
                ("RecordingUrl", "https://api.twilio.com/recording"),
                ("RecordingDuration", "20"),
            ]));
            let path = "/twilio/voice/message?who=unknown&started=0";
            let messaged = post(&client, &address, path, message, message_due).await;
            (answered, messaged, message_due)
        }));
    }
    let (mut answers, mut messages, mut failed, mut dues) = (Vec::new(), Vec::new(), 0, Vec::new());
    for h in handles {
        let ((a, a_ok), (m, m_ok), due) = h.await.unwrap();
        answers.push(a);
        messages.push(m);
        dues.push(due);
        failed += usize::from(!a_ok) + usize::from(!m_ok);
    }
    answers.sort();
    messages.sort();
    (answers, messages, failed, dues)
}

async fn figure_answer(rate: usize, seconds: usize) -> (Vec<Duration>, Vec<Duration>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let server = start(dir.path(), &twilio, root().join("rota")).await;
    let (answers, messages, failed, _) = calls(&server.address, rate, seconds).await;
    server.stop().await;
    (answers, messages, failed)
}

/// `patients` patients, one enrolled with each generated service, text
/// at `rate` a second: for each call page placed, the time from its
/// deadline (the text's due time plus `CALL_AFTER`) to its `Calls.json`
/// request at the fake; and how many calls were placed.
async fn figure_callpage(rate: usize, patients: usize) -> (usize, Vec<Duration>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let db = dir.path().join("n.db");
    let key = harness::api_key(
        &nightingale::store::sqlite::SqliteStore::open(&db).unwrap(),
        "bench",
    );
    let server = start(dir.path(), &twilio, generated_rota(dir.path())).await;
    let client = reqwest::Client::new();
    let discharged = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    for i in 0..patients {
        let response = client
            .post(format!("{}/api/v1/enrolments", server.address))
            .bearer_auth(&key)
            .json(&serde_json::json!({
                "patient": {"name": format!("Pat{i} Bench"), "phone": patient(i)},
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
    // The texts, open loop.
    let start = Instant::now() + Duration::from_millis(200);
    let mut handles = Vec::new();
    for i in 0..patients {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let (client, address) = (client.clone(), server.address.clone());
        handles.push(tokio::spawn(async move {
            let (sid, from) = (format!("SM{i:032x}"), patient(i));
            let params = form(&[
                ("MessageSid", sid.as_str()),
                ("AccountSid", ACCOUNT_SID),
                ("From", from.as_str()),
                ("To", OUR_NUMBER),
                ("Body", "My dressing is leaking"),
                ("NumMedia", "0"),
            ]);
            let signature =
                twilio_signature(AUTH_TOKEN, &format!("{PUBLIC_URL}/twilio/sms"), &params);
            let ok = client
                .post(format!("{address}/twilio/sms"))
                .header("X-Twilio-Signature", signature)
                .form(&params)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            (i, due, ok)
        }));
    }
    let mut dues = vec![start; patients];
    let mut failed = 0;
    for h in handles {
        let (i, due, ok) = h.await.unwrap();
        dues[i] = due;
        failed += usize::from(!ok);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while twilio.calls().len() < patients && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Which patient each concern is: its page text names them ("Pat12 - Service 12").
    let mut patient_of = std::collections::HashMap::new();
    for m in twilio.messages() {
        if let (Some(name), Some(id)) = (
            m.body
                .split(" - ")
                .next()
                .and_then(|n| n.strip_prefix("Pat")),
            concern_in(&m.body),
        ) && let Ok(i) = name.parse::<usize>()
        {
            patient_of.insert(id, i);
        }
    }
    let calls = twilio.calls();
    let mut latencies: Vec<Duration> = calls
        .iter()
        .filter_map(|c| {
            let id = c
                .url
                .as_deref()?
                .split("concern=")
                .nth(1)?
                .split('&')
                .next()?;
            let i = *patient_of.get(id)?;
            Some(
                c.received_at
                    .saturating_duration_since(dues[i] + CALL_AFTER),
            )
        })
        .collect();
    latencies.sort();
    server.stop().await;
    (calls.len(), latencies, failed)
}

/// The concern a page is about: in its link, `/c/ID?…`, or a short link
/// `/l/STAFF/TOKEN`, whose token starts with the concern's id (ADR 27).
fn concern_in(body: &str) -> Option<String> {
    use base64::Engine as _;
    if let Some(after) = body.split("/c/").nth(1) {
        return after.split('?').next().map(str::to_owned);
    }
    let link = body.split_whitespace().find(|w| w.contains("/l/"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(link.rsplit('/').next()?)
        .ok()?;
    Some(uuid::Uuid::from_slice(bytes.get(..16)?).ok()?.to_string())
}

fn patient(i: usize) -> String {
    format!("+4479111{i:05}")
}

async fn smoke() {
    let (answers, messages, failed) = figure_answer(10, 1).await;
    assert_eq!((answers.len(), messages.len(), failed), (10, 10, 0));
    let (placed, latencies, failed) = figure_callpage(5, 5).await;
    assert_eq!((placed, latencies.len(), failed), (5, 5, 0));
    println!("voice benchmark smoke test: 10 calls answered, 5 call pages placed");
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
    let wanted: Vec<String> = args.into_iter().filter(|a| !a.starts_with("--")).collect();
    let all = wanted.is_empty();
    runtime.block_on(async {
        println!(
            "# Nightingale voice figures ({} cores)",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        );
        if all || wanted.iter().any(|w| w == "answer") {
            println!("\n## Voice webhooks, 100 new calls a second for 10 s (engine running, durable store)\n");
            let (answers, messages, failed) = figure_answer(100, 10).await;
            println!("| webhook | requests | p50 | p99 | max |");
            println!("| --- | --- | --- | --- | --- |");
            println!("| `/twilio/voice` (call arrives) | {} | {} |", answers.len(), spread(&answers));
            println!("| `/twilio/voice/message` (message left) | {} | {} |", messages.len(), spread(&messages));
            println!("\nfailed or 111 answers: {failed}");
        }
        if all || wanted.iter().any(|w| w == "callpage") {
            println!("\n## Call page deadline → `Calls.json` at the fake Twilio, 1,000 new concerns at 100 a second\n");
            let (placed, latencies, failed) = figure_callpage(100, 1000).await;
            println!("| call pages | p50 | p99 | max | failed webhooks |");
            println!("| --- | --- | --- | --- | --- |");
            println!("| {placed} | {} | {failed} |", spread(&latencies));
        }
    });
}
