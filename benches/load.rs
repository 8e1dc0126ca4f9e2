//! Load figures for the SMS path, measured against the real server, store
//! and HTTP client, with the fake Twilio standing in for Twilio:
//!
//! 1. `webhook`: inbound webhook latency (signature check + durable write +
//!    response) at fixed offered rates, open loop (latency counts from when
//!    a request was due to be sent, so a slow server cannot hide queueing).
//! 2. `page`: time from the inbound webhook being sent to the page request
//!    reaching the fake Twilio, at 100 concerns a second.
//! 3. `timers`: how late acknowledgement deadlines fire with 100,000 open
//!    escalations (on a generated 1,000-service trust).
//! 4. `restart`: a fresh `nightingale serve` process on that store of
//!    100,000 open escalations, until its engine has armed every timer;
//!    and resident memory per open escalation.
//!
//! Run: `cargo bench --bench load` (all), or name figures:
//! `cargo bench --bench load -- webhook page`. Without `--bench` (as under
//! `cargo test`) it runs a few seconds of load as a smoke test. The load generator shares the
//! machine's cores with the server.

#[path = "../tests/support/fake_twilio.rs"]
#[allow(dead_code)]
mod fake_twilio;
#[path = "support/trust.rs"]
mod trust;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use fake_twilio::{FakeTwilio, twilio_signature};
use nightingale::app::Application;
use nightingale::clock::{Clock, SystemClock};
use nightingale::concern::{Concern, ConcernId, Party};
use nightingale::config::Config;
use nightingale::directory::{Id, PhoneNumber};
use nightingale::escalation::Escalation;
use nightingale::store::sqlite::SqliteStore;
use nightingale::store::{Change, Store, Timer, TimerKind};
use secrecy::SecretString;

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "bench-auth-token";
const PUBLIC_URL: &str = "https://nightingale.bench";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn config(store: &Path, rota_dir: &Path, twilio: &FakeTwilio) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: PUBLIC_URL.to_owned(),
        store: format!("sqlite://{}", store.display()),
        rota_dir: rota_dir.to_owned(),
        templates_dir: root().join("templates"),
        twilio_account_sid: Some(ACCOUNT_SID.to_owned()),
        twilio_auth_token: Some(SecretString::from(AUTH_TOKEN)),
        twilio_from: Some("+447700900000".to_owned()),
        twilio_api_base: twilio.base_url().to_owned(),
        ..Config::default()
    }
}

struct Server {
    address: String,
    engine: nightingale::engine::EngineHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(store: &Path, rota_dir: &Path, twilio: &FakeTwilio, engine_loop: bool) -> Self {
        let config = config(store, rota_dir, twilio);
        let app = Application::build(&config, Arc::new(SystemClock))
            .await
            .expect("server builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let engine = app.engine_handle();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = rx.await;
        };
        let task = if engine_loop {
            tokio::spawn(app.run_until_stopped(shutdown))
        } else {
            tokio::spawn(app.run_without_engine_loop(shutdown))
        };
        Self {
            address,
            engine,
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
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
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

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn sender(i: usize) -> String {
    format!("+4479111{i:05}")
}

fn inbound(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    [
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", from),
        ("To", "+447700900000"),
        ("Body", body),
        ("NumMedia", "0"),
        ("NumSegments", "1"),
        ("ApiVersion", "2010-04-01"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Offer `rate` signed inbound webhooks a second for `seconds`, open loop.
/// Returns each request's latency (from when it was due) and how many failed.
async fn offer(
    address: &str,
    rate: usize,
    seconds: usize,
    first_sender: usize,
) -> (Vec<(usize, Instant, Duration)>, usize, Duration) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let url = format!("{address}/twilio/sms");
    let signed_url = format!("{PUBLIC_URL}/twilio/sms");
    let n = rate * seconds;
    let start = Instant::now() + Duration::from_millis(200);
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let (client, url) = (client.clone(), url.clone());
        let who = first_sender + i;
        let params = inbound(
            &format!("SM{:032x}", who),
            &sender(who),
            "My dressing is leaking and I am worried",
        );
        let signature = twilio_signature(AUTH_TOKEN, &signed_url, &params);
        handles.push(tokio::spawn(async move {
            let ok = client
                .post(&url)
                .header("X-Twilio-Signature", signature)
                .form(&params)
                .send()
                .await
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            (who, due, due.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(n);
    let mut failed = 0;
    for h in handles {
        let (who, due, latency, ok) = h.await.unwrap();
        if ok {
            latencies.push((who, due, latency));
        } else {
            failed += 1;
        }
    }
    (latencies, failed, start.elapsed())
}

async fn figure_webhook() {
    println!(
        "\n## 1. Inbound webhook: signature check + durable write + response (engine paused)\n"
    );
    println!("| offered rate | achieved | p50 | p99 | max | failed |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for rate in [250, 500, 1000, 2000] {
        let dir = tempfile::tempdir().unwrap();
        let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
        let server = Server::start(
            &dir.path().join("n.db"),
            &root().join("rota"),
            &twilio,
            false,
        )
        .await;
        let seconds = 5;
        let (results, failed, elapsed) = offer(&server.address, rate, seconds, 0).await;
        let mut latencies: Vec<Duration> = results.iter().map(|r| r.2).collect();
        latencies.sort();
        println!(
            "| {rate}/s | {:.0}/s | {} | {failed} |",
            latencies.len() as f64 / elapsed.as_secs_f64(),
            spread(&latencies)
        );
        server.stop().await;
    }
}

/// Offer `rate` new concerns a second for `seconds` to a server with its
/// engine running; return, per concern, the time from its webhook being due
/// to its page reaching the fake Twilio, and how many webhooks failed.
async fn page_latencies(rate: usize, seconds: usize) -> (usize, Vec<Duration>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let server = Server::start(
        &dir.path().join("n.db"),
        &root().join("rota"),
        &twilio,
        true,
    )
    .await;
    let (results, failed, _) = offer(&server.address, rate, seconds, 0).await;
    let sent = twilio
        .wait_for_messages(2 * results.len(), Duration::from_secs(60))
        .await;
    let mut latencies = Vec::new();
    for (who, due, _) in &results {
        let number = sender(*who);
        let suffix = format!("ending {}", &number[number.len() - 4..]);
        if let Some(page) = sent
            .iter()
            .find(|m| m.body.contains(&format!("Unknown sender {suffix} ")))
        {
            latencies.push(page.received_at.duration_since(*due));
        }
    }
    latencies.sort();
    server.stop().await;
    (results.len(), latencies, failed)
}

async fn figure_page() {
    println!(
        "\n## 2. Webhook sent → page request at the fake Twilio, 100 new concerns a second for 10 s\n"
    );
    let (concerns, latencies, failed) = page_latencies(100, 10).await;
    println!("| concerns | pages matched | p50 | p99 | max | failed webhooks |");
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| {concerns} | {} | {} | {failed} |",
        latencies.len(),
        spread(&latencies)
    );
}

const OPEN: usize = 100_000;
/// Deadlines are spread over ten minutes (one `ack_within`), starting this far ahead.
const FIRST_DUE: Duration = Duration::from_secs(20);
const SPREAD: Duration = Duration::from_secs(600);
const WATCH: Duration = Duration::from_secs(60);

fn write_trust(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in trust::generated_files() {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// Fill a store with `OPEN` open escalations, each with a deadline due from
/// `FIRST_DUE` to `FIRST_DUE + SPREAD` after now, without going through the engine.
fn fill(store: Arc<SqliteStore>) -> Duration {
    let started = Instant::now();
    let now = SystemClock.now();
    let threads = 32;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in (t..OPEN).step_by(threads) {
                    let id = ConcernId::new();
                    let due = now
                        + TimeDelta::from_std(FIRST_DUE).unwrap()
                        + TimeDelta::milliseconds(
                            (SPREAD.as_millis() as u64 * i as u64 / OPEN as u64) as i64,
                        );
                    let mut escalation = Escalation::new(false);
                    escalation.seq = 1;
                    let concern = Concern {
                        id,
                        enrolment: None,
                        service: Some(Id::parse(&format!("s{}", i % trust::SERVICES)).unwrap()),
                        sender: PhoneNumber::parse(&format!("+4479112{i:05}")).unwrap(),
                        party: Party::Unknown,
                        opened_at: now,
                        text: "My dressing is leaking and I am worried".into(),
                        escalation,
                        pictures_explained: false,
                        calls: Vec::new(),
                        version: 0,
                    };
                    store
                        .apply(Change {
                            at: now,
                            concern: Some(concern),
                            set_timers: vec![Timer {
                                concern: id,
                                kind: TimerKind::AckDeadline,
                                due_at: due,
                                seq: 1,
                            }],
                            ..Change::default()
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    started.elapsed()
}

async fn figure_timers(work: &Path) {
    println!(
        "\n## 3. Timer lateness with {OPEN} open escalations (generated trust of {} services)\n",
        trust::SERVICES
    );
    let rota_dir = work.join("rota");
    write_trust(&rota_dir);
    let db = work.join("n.db");
    let filled = {
        let store = Arc::new(SqliteStore::open(&db).unwrap());
        fill(store)
    };
    println!(
        "Filled the store with {OPEN} open escalations in {:.1} s ({} on disk).",
        filled.as_secs_f64(),
        size(&db)
    );
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let server = Server::start(&db, &rota_dir, &twilio, true).await;
    // Deadlines began falling due FIRST_DUE after filling began; watch a minute of them.
    tokio::time::sleep(FIRST_DUE + WATCH).await;
    let mut late: Vec<Duration> = server
        .engine
        .take_lateness_samples()
        .iter()
        .map(|d| d.to_std().unwrap_or_default())
        .collect();
    late.sort();
    println!("| timers fired | p50 late | p99 late | max late | pages sent |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| {} | {} | {} |",
        late.len(),
        spread(&late),
        twilio.messages().len()
    );
    server.stop().await;
}

fn size(path: &Path) -> String {
    let bytes: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum();
    format!("{:.0} MB", bytes as f64 / 1e6)
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Start `nightingale serve` on a store; return the time until its engine
/// has armed every timer, and its resident memory then.
async fn serve_until_armed(db: &Path, rota_dir: &Path, twilio: &FakeTwilio) -> (Duration, u64) {
    use tokio::io::AsyncBufReadExt;
    let binary = root().join("target/release/nightingale");
    let started = Instant::now();
    let mut child = tokio::process::Command::new(&binary)
        .arg("serve")
        .env("NIGHTINGALE_LISTEN", "127.0.0.1:0")
        .env("NIGHTINGALE_STORE", format!("sqlite://{}", db.display()))
        .env("NIGHTINGALE_ROTA_DIR", rota_dir)
        .env("NIGHTINGALE_TEMPLATES_DIR", root().join("templates"))
        .env("NIGHTINGALE_PUBLIC_URL", PUBLIC_URL)
        .env("NIGHTINGALE_TWILIO_ACCOUNT_SID", ACCOUNT_SID)
        .env("NIGHTINGALE_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
        .env("NIGHTINGALE_TWILIO_FROM", "+447700900000")
        .env("NIGHTINGALE_TWILIO_API_BASE", twilio.base_url())
        .env("NIGHTINGALE_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start {}: {e} (cargo build --release first)",
                binary.display()
            )
        });
    let pid = child.id().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let armed = loop {
        match tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await {
            Ok(Ok(Some(line))) if line.contains("engine armed") => break started.elapsed(),
            Ok(Ok(Some(_))) => continue,
            other => panic!("the server stopped before arming its timers: {other:?}"),
        }
    };
    let rss = rss_kb(pid);
    let _ = child.kill().await;
    (armed, rss)
}

async fn figure_restart(work: &Path) {
    println!("\n## 4. Restart: `nightingale serve` until its engine has armed every timer\n");
    let rota_dir = work.join("rota");
    let db = work.join("n.db");
    if !db.exists() {
        write_trust(&rota_dir);
        let store = Arc::new(SqliteStore::open(&db).unwrap());
        fill(store);
    }
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let empty = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for run in 0..3 {
        let (armed_empty, rss_empty) =
            serve_until_armed(&empty.path().join("empty.db"), &rota_dir, &twilio).await;
        let (armed_full, rss_full) = serve_until_armed(&db, &rota_dir, &twilio).await;
        rows.push((run, armed_empty, rss_empty, armed_full, rss_full));
    }
    println!(
        "| run | empty store: armed after | RSS | {OPEN} open: armed after | RSS | RSS per open escalation |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for (run, ae, re, af, rf) in rows {
        println!(
            "| {} | {} | {} MB | {} | {} MB | {:.1} bytes |",
            run + 1,
            ms(ae),
            re / 1024,
            ms(af),
            rf / 1024,
            (rf as f64 - re as f64) * 1024.0 / OPEN as f64
        );
    }
}

async fn smoke() {
    let (concerns, latencies, failed) = page_latencies(20, 1).await;
    assert_eq!((concerns, latencies.len(), failed), (20, 20, 0));
    println!("load benchmark smoke test: 20 concerns in, 20 pages out");
}

fn main() {
    if let Ok(filter) = std::env::var("NIGHTINGALE_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        // A test runner asking what tests this binary has: none.
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if !args.iter().any(|a| a == "--bench") {
        // Run as a test (`cargo test --all-targets`): a few seconds of load,
        // so the benchmark cannot rot unnoticed.
        runtime.block_on(smoke());
        return;
    }
    let wanted: Vec<String> = args.into_iter().filter(|a| !a.starts_with("--")).collect();
    let all = wanted.is_empty();
    runtime.block_on(async {
        let work = tempfile::tempdir().unwrap();
        println!(
            "# Nightingale load figures ({} cores)",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        );
        if all || wanted.iter().any(|w| w == "webhook") {
            figure_webhook().await;
        }
        if all || wanted.iter().any(|w| w == "page") {
            figure_page().await;
        }
        if all || wanted.iter().any(|w| w == "timers") {
            figure_timers(work.path()).await;
        }
        if all || wanted.iter().any(|w| w == "restart") {
            figure_restart(work.path()).await;
        }
    });
}
