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
//!    fake Twilio: 100 new concerns a second, each paging the duty manager,
//!    who asks for a text at once and a call 2 s later (`voice after 2s`).
//!    Calls to one number go out in order, so deadlines and calls are paired
//!    in order.
//!
//! Run: `cargo bench --bench voice` (all), or name figures:
//! `cargo bench --bench voice -- answer`. Without `--bench` (as under
//! `cargo test`) it runs a second of each as a smoke test.

#[path = "../tests/support/fake_twilio.rs"]
#[allow(dead_code)]
mod fake_twilio;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_twilio::{FakeTwilio, twilio_signature};
use nightingale::app::Application;
use nightingale::clock::SystemClock;
use nightingale::config::Config;
use secrecy::SecretString;

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "bench-auth-token";
const PUBLIC_URL: &str = "https://nightingale.bench";
const OUR_NUMBER: &str = "+447700900000";
/// How long after a page the duty managers' call falls due, in the rota this bench writes.
const CALL_AFTER: Duration = Duration::from_secs(2);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo rota, with the duty managers' call due `CALL_AFTER` after a page.
fn rota(dir: &Path) -> PathBuf {
    let rota = dir.join("rota");
    std::fs::create_dir_all(&rota).unwrap();
    for entry in std::fs::read_dir(root().join("rota")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "notify = [\"sms\", \"voice after 2m\"]",
            &format!(
                "notify = [\"sms\", \"voice after {}s\"]",
                CALL_AFTER.as_secs()
            ),
        );
        std::fs::write(rota.join(path.file_name().unwrap()), text).unwrap();
    }
    rota
}

struct Server {
    address: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(dir: &Path, twilio: &FakeTwilio) -> Self {
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            public_url: PUBLIC_URL.to_owned(),
            store: format!("sqlite://{}", dir.join("n.db").display()),
            rota_dir: rota(dir),
            templates_dir: root().join("templates"),
            twilio_account_sid: Some(ACCOUNT_SID.to_owned()),
            twilio_auth_token: Some(SecretString::from(AUTH_TOKEN)),
            twilio_from: Some(OUR_NUMBER.to_owned()),
            twilio_api_base: twilio.base_url().to_owned(),
            ..Config::default()
        };
        let app = Application::build(&config, Arc::new(SystemClock))
            .await
            .expect("server builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        Self {
            address,
            stop: Some(tx),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// "p50 | p99 | max" of sorted latencies, as table cells.
fn spread(sorted: &[Duration]) -> String {
    format!(
        "{} | {} | {}",
        ms(percentile(sorted, 0.5)),
        ms(percentile(sorted, 0.99)),
        ms(*sorted.last().unwrap_or(&Duration::ZERO))
    )
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
    let server = Server::start(dir.path(), &twilio).await;
    let (answers, messages, failed, _) = calls(&server.address, rate, seconds).await;
    server.stop().await;
    (answers, messages, failed)
}

/// New concerns (callers' messages) at `rate` a second for `seconds`: for
/// each call page placed, the time from its deadline (the page plus
/// `CALL_AFTER`) to its `Calls.json` request, paired in order.
async fn figure_callpage(rate: usize, seconds: usize) -> (usize, Vec<Duration>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let server = Server::start(dir.path(), &twilio).await;
    let (_, _, failed, dues) = calls(&server.address, rate, seconds).await;
    let expected = dues.len();
    let deadline = Instant::now() + Duration::from_secs(60);
    while twilio.calls().len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The page goes when intake takes the message in, at once: its call
    // falls due CALL_AFTER later. The message webhook's arrival stands in
    // for the page (measured above in milliseconds).
    let mut deadlines: Vec<Instant> = dues.iter().map(|d| *d + CALL_AFTER).collect();
    deadlines.sort();
    let mut placed: Vec<Instant> = twilio.calls().iter().map(|c| c.received_at).collect();
    placed.sort();
    let mut latencies: Vec<Duration> = deadlines
        .iter()
        .zip(&placed)
        .map(|(due, at)| at.saturating_duration_since(*due))
        .collect();
    latencies.sort();
    server.stop().await;
    (placed.len(), latencies, failed)
}

async fn smoke() {
    let (answers, messages, failed) = figure_answer(10, 1).await;
    assert_eq!((answers.len(), messages.len(), failed), (10, 10, 0));
    let (placed, _, failed) = figure_callpage(5, 1).await;
    assert_eq!((placed, failed), (5, 0));
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
            println!("\n## Call page deadline → `Calls.json` at the fake Twilio, 100 new concerns a second for 10 s\n");
            let (placed, latencies, failed) = figure_callpage(100, 10).await;
            println!("| call pages | p50 | p99 | max | failed webhooks |");
            println!("| --- | --- | --- | --- | --- |");
            println!("| {placed} | {} | {failed} |", spread(&latencies));
        }
    });
}
