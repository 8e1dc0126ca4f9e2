//! Load figures for the SMS path, measured from the user's side against the
//! real server, store and HTTP client, with the fake Twilio standing in for
//! Twilio. Each figure runs on the embedded SQLite store (one node), on
//! Redis (one node) and on Redis with three nodes sharing it, so the
//! backends can be read side by side:
//!
//! 1. `page`: time from an inbound webhook being due to be sent to the page
//!    request reaching the fake Twilio, at 100 new concerns a second, from
//!    unknown senders, enrolled patients and carers in turn.
//! 2. `ceiling`: inbound webhook latency (signature check + durable write +
//!    response; the engines paused, so only the webhook path is measured)
//!    at rising offered rates, open loop, until p99 passes 20 ms: where that
//!    happens is the durable webhook ceiling.
//! 3. `timers`: with 100,000 open escalations (a generated 1,000-service
//!    trust) and a provider that takes 10 s to answer every request, how
//!    late each acknowledgement deadline's page reaches the provider.
//! 4. `restart`: a fresh `nightingale serve` process on a store of 100,000
//!    open escalations, some already due, until the first page reaches the
//!    provider; and resident memory then.
//! 5. `crash` (or `takeover`): a `nightingale serve` process killed
//!    (SIGKILL) the moment it has answered ten texts' `200`s, then started
//!    again on SQLite, started again on Redis with no peer, or with a peer
//!    on Redis that carries on: the longest wait from a text's `200` to its
//!    page (ADR 30).
//! 6. `redis-cost`: what three idle nodes, and three at 100 new concerns a
//!    second, ask of Redis a second (requests, and commands with those run
//!    inside scripts).
//!
//! Run: `scripts/bench` (all benchmarks), or `cargo bench --bench load`
//! (these figures; `restart`, `crash` and `redis-cost` run
//! `nightingale serve` processes of the release build: `cargo build
//! --release` first, or name another build in `BENCH_NIGHTINGALE_BINARY`),
//! or name figures: `cargo bench --bench load -- page timers`.
//! Without `--bench` (as under `cargo test`) it runs a few seconds of load
//! on each backend as a smoke test. `NIGHTINGALE_BENCH_SETUP=SQLite` (or
//! `Redis`, `3 nodes`: any part of a setup's name) runs only the setups
//! named; `NIGHTINGALE_BENCH_BUCKETS=1` also prints the timers figure's
//! lateness by five seconds of deadlines, and as the engine saw it. Nodes of figures 1–3 run in this
//! process (each its own server, engine and store connection); the load
//! generator and the fake Twilio share the machine's cores with them.

#[path = "../tests/support/fake_twilio.rs"]
#[allow(dead_code)]
mod fake_twilio;
#[path = "support/harness.rs"]
mod harness;
#[path = "../tests/support/redis_server.rs"]
mod redis_server;
#[path = "../tests/support/serve_process.rs"]
mod serve_process;
#[path = "support/trust.rs"]
mod trust;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use fake_twilio::{FakeTwilio, SentSms, twilio_signature};
use harness::{
    ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, PUBLIC_URL, Server, ms, percentile, root, spread,
};
use nightingale::clock::{Clock, SystemClock};
use nightingale::concern::{Concern, ConcernId, Party};
use nightingale::config::Config;
use nightingale::directory::{Id, PhoneNumber};
use nightingale::escalation::Escalation;
use nightingale::store::Store;
use nightingale::work::{Change, Timer, TimerKind};
use redis_server::RedisServer;
use serve_process::ServeProcess;

/// Where the figures run: which store, and how many nodes share it.
#[derive(Clone, Copy)]
struct Setup {
    backend: Backend,
    nodes: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    /// Redis with the append-only file on, fsynced as named.
    Redis(&'static str),
}

const SETUPS: [Setup; 3] = [
    Setup {
        backend: Backend::Sqlite,
        nodes: 1,
    },
    Setup {
        backend: Backend::Redis("everysec"),
        nodes: 1,
    },
    Setup {
        backend: Backend::Redis("everysec"),
        nodes: 3,
    },
];

impl Setup {
    fn name(&self) -> String {
        let store = match self.backend {
            Backend::Sqlite => "SQLite".to_owned(),
            Backend::Redis("everysec") => "Redis".to_owned(),
            Backend::Redis(fsync) => format!("Redis (appendfsync {fsync})"),
        };
        match self.nodes {
            1 => format!("{store}, 1 node"),
            n => format!("{store}, {n} nodes"),
        }
    }
}

/// A store of the figure's own: a fresh SQLite file, or a fresh redis-server.
struct Backing {
    url: String,
    _dir: tempfile::TempDir,
    _redis: Option<RedisServer>,
}

impl Backing {
    fn start(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}", dir.path().join("n.db").display()),
                _dir: dir,
                _redis: None,
            },
            Backend::Redis(fsync) => {
                let redis = RedisServer::start_with(&["--appendfsync", fsync]);
                Self {
                    url: redis.url(),
                    _dir: dir,
                    _redis: Some(redis),
                }
            }
        }
    }

    fn open(&self) -> Arc<dyn Store> {
        nightingale::store::open(&self.url).unwrap()
    }
}

fn config(store: &str, rota_dir: &Path, twilio: &FakeTwilio, sends_at_once: usize) -> Config {
    Config {
        sends_at_once,
        // The timers figure's provider answers after 10 s: it is slow, and
        // within this timeout.
        twilio_timeout: Duration::from_secs(15),
        ..harness::config(store, rota_dir, twilio.base_url())
    }
}

/// A setup running: its store and its nodes, all sending to one fake Twilio.
struct Deployment {
    backing: Backing,
    nodes: Vec<Server>,
}

impl Deployment {
    async fn start(setup: Setup, rota_dir: &Path, twilio: &FakeTwilio) -> Self {
        Self::start_on(
            Backing::start(setup.backend),
            setup.nodes,
            rota_dir,
            twilio,
            256,
            true,
        )
        .await
    }

    /// `engine_loop` false: the nodes answer webhooks but take nothing in.
    async fn start_on(
        backing: Backing,
        nodes: usize,
        rota_dir: &Path,
        twilio: &FakeTwilio,
        sends_at_once: usize,
        engine_loop: bool,
    ) -> Self {
        let config = config(&backing.url, rota_dir, twilio, sends_at_once);
        let mut servers = Vec::new();
        for _ in 0..nodes {
            servers.push(Server::start(&config, engine_loop).await);
        }
        Self {
            backing,
            nodes: servers,
        }
    }

    fn addresses(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.address.clone()).collect()
    }

    async fn stop(self) {
        for node in self.nodes {
            node.stop().await;
        }
    }
}

/// The words of the `i`th text, with a reference a page quotes back.
fn words(i: usize) -> String {
    format!("My dressing is leaking, ref {i:06}")
}

/// The reference quoted in a page (`ref 000042"`), if it is a page.
fn reference(m: &SentSms) -> Option<usize> {
    if !m.body.contains("Reply A") {
        return None;
    }
    let at = m.body.find("ref ")? + 4;
    m.body.get(at..at + 6)?.parse().ok()
}

/// The earliest page quoting each reference.
fn first_pages(sent: &[SentSms]) -> HashMap<usize, Instant> {
    let mut first: HashMap<usize, Instant> = HashMap::new();
    for m in sent {
        if let Some(r) = reference(m) {
            let at = first.entry(r).or_insert(m.received_at);
            *at = (*at).min(m.received_at);
        }
    }
    first
}

/// Who sends the `i`th text of a figure.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Unknown,
    Patient,
    Carer,
}

/// A number nobody enrolled (below 60,000), a patient's or a carer's.
fn stranger(i: usize) -> String {
    format!("+4479111{i:05}")
}
fn patient(i: usize) -> String {
    stranger(60_000 + i)
}
fn carer(i: usize) -> String {
    stranger(80_000 + i)
}

fn inbound(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    [
        ("MessageSid", sid),
        ("SmsSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", from),
        ("To", OUR_NUMBER),
        ("Body", body),
        ("NumMedia", "0"),
        ("NumSegments", "1"),
        ("ApiVersion", "2010-04-01"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// One webhook as offered: whose text, when it was due, how long its answer took.
struct Offered {
    i: usize,
    due: Instant,
    latency: Duration,
}

/// Offer `rate` signed inbound webhooks a second for `seconds`, open loop,
/// to the nodes in turn; the `i`th comes from `from(i)`. Returns each
/// answered request (latency counted from when it was due), how many
/// failed, and how long offering took.
async fn offer(
    nodes: &[String],
    rate: usize,
    seconds: f64,
    from: impl Fn(usize) -> String,
) -> (Vec<Offered>, usize, Duration) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .build()
        .unwrap();
    let signed_url = format!("{PUBLIC_URL}/twilio/sms");
    let n = (rate as f64 * seconds) as usize;
    let start = Instant::now() + Duration::from_millis(200);
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let client = client.clone();
        let url = format!("{}/twilio/sms", nodes[i % nodes.len()]);
        let params = inbound(&format!("SM{i:032x}"), &from(i), &words(i));
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
            (i, due, due.elapsed(), ok)
        }));
    }
    let mut answered = Vec::with_capacity(n);
    let mut failed = 0;
    for h in handles {
        let (i, due, latency, ok) = h.await.unwrap();
        if ok {
            answered.push(Offered { i, due, latency });
        } else {
            failed += 1;
        }
    }
    (answered, failed, start.elapsed())
}

/// The kind of sender of the `i`th text of the page figure: in turn an
/// unknown sender, an enrolled patient, a carer.
fn kind(i: usize) -> Kind {
    match i % 3 {
        0 => Kind::Unknown,
        1 => Kind::Patient,
        _ => Kind::Carer,
    }
}

fn sender(i: usize) -> String {
    match kind(i) {
        Kind::Unknown => stranger(i),
        Kind::Patient => patient(i),
        Kind::Carer => carer(i),
    }
}

/// Enrol the patients and carers who will text among the first `n`, on the
/// demo trust's two services, through the API as a discharge system would.
async fn enrol(backing: &Backing, node: &str, n: usize) {
    let key = harness::api_key(backing.open().as_ref(), "bench-discharge-system");
    let client = reqwest::Client::new();
    let discharged = (SystemClock.now() - TimeDelta::hours(3)).to_rfc3339();
    for i in (0..n).filter(|i| kind(*i) != Kind::Unknown) {
        let service = ["cardiology-ward-7", "community-nursing-north"][i % 2];
        let answer = client
            .post(format!("{node}/api/v1/enrolments"))
            .bearer_auth(&key)
            .json(&serde_json::json!({
                "patient": {"name": "Margaret Evans", "phone": patient(i)},
                "carers": [{"name": "Sian Evans", "phone": carer(i), "relationship": "daughter"}],
                "service": service,
                "discharged_at": discharged,
                "context": "Ward 7; cellulitis of the left leg; dressings daily",
            }))
            .send()
            .await
            .unwrap();
        let status = answer.status();
        assert_eq!(
            status,
            201,
            "enrolment {i}: {}",
            answer.text().await.unwrap_or_default()
        );
    }
}

/// Wait until every reference in `wanted` has a page, or `patience` passes.
async fn wait_for_pages(
    twilio: &FakeTwilio,
    wanted: &[usize],
    patience: Duration,
) -> HashMap<usize, Instant> {
    let deadline = Instant::now() + patience;
    loop {
        let first = first_pages(&twilio.messages());
        if wanted.iter().all(|i| first.contains_key(i)) || Instant::now() > deadline {
            return first;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The page figure on one setup: per kind of sender, webhook due → page at the provider.
async fn page_latencies(
    setup: Setup,
    rate: usize,
    seconds: f64,
) -> (usize, Vec<(Kind, Duration)>, usize) {
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let deployment = Deployment::start(setup, &root().join("rota"), &twilio).await;
    let n = (rate as f64 * seconds) as usize;
    enrol(&deployment.backing, &deployment.nodes[0].address, n).await;
    let (answered, failed, _) = offer(&deployment.addresses(), rate, seconds, sender).await;
    let wanted: Vec<usize> = answered.iter().map(|o| o.i).collect();
    let first = wait_for_pages(&twilio, &wanted, Duration::from_secs(60)).await;
    let latencies = answered
        .iter()
        .filter_map(|o| {
            first
                .get(&o.i)
                .map(|at| (kind(o.i), at.duration_since(o.due)))
        })
        .collect();
    deployment.stop().await;
    (n, latencies, failed)
}

async fn figure_page() {
    println!(
        "\n## 1. Webhook due → page request at the fake Twilio, 100 new concerns a second for 10 s\n"
    );
    println!(
        "Senders in turn: an unknown number, an enrolled patient, a carer. Target: p99 ≤ 50 ms.\n"
    );
    println!(
        "| setup | concerns | pages matched | p50 | p99 | max | p99 unknown / patient / carer | failed webhooks |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for setup in chosen() {
        let (concerns, latencies, failed) = page_latencies(setup, 100, 10.0).await;
        let mut all: Vec<Duration> = latencies.iter().map(|l| l.1).collect();
        all.sort();
        let by_kind = [Kind::Unknown, Kind::Patient, Kind::Carer]
            .iter()
            .map(|k| {
                let mut these: Vec<Duration> = latencies
                    .iter()
                    .filter(|l| l.0 == *k)
                    .map(|l| l.1)
                    .collect();
                these.sort();
                ms(percentile(&these, 0.99))
            })
            .collect::<Vec<_>>()
            .join(" / ");
        println!(
            "| {} | {concerns} | {} | {} | {by_kind} | {failed} |",
            setup.name(),
            all.len(),
            spread(&all)
        );
    }
}

/// The offered rates of the ceiling figure, a second.
const RATES: [usize; 8] = [250, 500, 750, 1000, 1500, 2000, 3000, 4000];

/// Where webhook latency passes this, the ceiling is reached.
const CEILING_P99: Duration = Duration::from_millis(20);

async fn figure_ceiling() {
    println!(
        "\n## 2. Durable webhook ceiling: signature check + durable write + response (engines paused)\n"
    );
    println!(
        "Each rate runs 5 s on a fresh store; rates rise until p99 passes 20 ms.\n\n\
         | setup | offered rate | achieved | p50 | p99 | max | failed |\n\
         | --- | --- | --- | --- | --- | --- | --- |"
    );
    let mut setups = SETUPS.to_vec();
    setups.insert(
        2,
        Setup {
            backend: Backend::Redis("always"),
            nodes: 1,
        },
    );
    let only = std::env::var("NIGHTINGALE_BENCH_SETUP").unwrap_or_default();
    setups.retain(|s| s.name().contains(&only));
    let mut ceilings = Vec::new();
    for setup in setups {
        let mut ceiling = None;
        for rate in RATES {
            let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
            let deployment = Deployment::start_on(
                Backing::start(setup.backend),
                setup.nodes,
                &root().join("rota"),
                &twilio,
                256,
                false,
            )
            .await;
            let (answered, failed, elapsed) =
                offer(&deployment.addresses(), rate, 5.0, stranger).await;
            let mut latencies: Vec<Duration> = answered.iter().map(|o| o.latency).collect();
            latencies.sort();
            println!(
                "| {} | {rate}/s | {:.0}/s | {} | {failed} |",
                setup.name(),
                latencies.len() as f64 / elapsed.as_secs_f64(),
                spread(&latencies)
            );
            deployment.stop().await;
            if percentile(&latencies, 0.99) > CEILING_P99 || failed > 0 {
                break;
            }
            ceiling = Some(rate);
        }
        ceilings.push((setup.name(), ceiling));
    }
    println!("\n| setup | highest offered rate with p99 ≤ 20 ms |\n| --- | --- |");
    for (name, ceiling) in ceilings {
        match ceiling {
            Some(rate) if rate == RATES[RATES.len() - 1] => {
                println!("| {name} | {rate}/s or more (the highest rate offered) |")
            }
            Some(rate) => println!("| {name} | {rate}/s |"),
            None => println!("| {name} | below 250/s |"),
        }
    }
}

const OPEN: usize = 100_000;
/// Deadlines start this long after filling begins (filling must end first)…
const LEAD: Duration = Duration::from_secs(60);
/// …and are spread over ten minutes (one `ack_within`).
const SPREAD: Duration = Duration::from_secs(600);
/// The deadlines measured: those falling due in the first minute.
const WATCH: Duration = Duration::from_secs(60);
/// How long the provider takes to answer every request in the timers figure.
const HANG: Duration = Duration::from_secs(10);

fn write_trust(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in trust::generated_files() {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// Fill a store with `OPEN` open escalations at level 1 of the generated
/// trust's services, each with a deadline due `lead` after `start` plus its
/// share of `SPREAD`, without going through the engine. Returns how long it took.
fn fill(
    store: Arc<dyn Store>,
    start: (Instant, chrono::DateTime<chrono::Utc>),
    lead: Duration,
) -> Duration {
    let threads = 32;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in (t..OPEN).step_by(threads) {
                    let id = ConcernId::new();
                    let now = start.1;
                    let due = now + TimeDelta::from_std(lead + due_offset(i)).unwrap();
                    let mut escalation = Escalation::new(false);
                    escalation.seq = 1;
                    let concern = Concern {
                        id,
                        enrolment: None,
                        service: Some(Id::parse(&format!("s{}", i % trust::SERVICES)).unwrap()),
                        sender: PhoneNumber::parse(&format!("+4479112{i:05}"))
                            .unwrap()
                            .into(),
                        party: Party::Unknown,
                        opened_at: now,
                        text: words(i),
                        escalation,
                        pictures_explained: false,
                        recognised: None,
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
    start.0.elapsed()
}

/// How far into `SPREAD` the `i`th deadline falls.
fn due_offset(i: usize) -> Duration {
    Duration::from_millis(SPREAD.as_millis() as u64 * i as u64 / OPEN as u64)
}

fn now_pair() -> (Instant, chrono::DateTime<chrono::Utc>) {
    (Instant::now(), SystemClock.now())
}

async fn figure_timers(work: &Path) {
    println!(
        "\n## 3. Deadline → page request at the provider, {OPEN} open escalations, provider answering every request after {} s\n",
        HANG.as_secs()
    );
    println!(
        "A generated trust of {} services; deadlines spread over ten minutes (~{} a second); \
         the first minute of them measured. Nodes send at most 4,096 texts at once between them \
         (`NIGHTINGALE_SENDS_AT_ONCE`), and wait up to 15 s for an answer \
         (`NIGHTINGALE_TWILIO_TIMEOUT`). Target: p99 ≤ 50 ms.\n",
        trust::SERVICES,
        OPEN as u64 / SPREAD.as_secs()
    );
    println!(
        "| setup | filled in | deadlines measured | paged | p50 late | p99 late | max late | requests at the provider |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let rota_dir = work.join("trust");
    write_trust(&rota_dir);
    for setup in chosen() {
        let backing = Backing::start(setup.backend);
        let start = now_pair();
        let filled = fill(backing.open(), start, LEAD);
        assert!(
            filled < LEAD,
            "filling took {filled:?}, longer than the lead of {LEAD:?}"
        );
        let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
        // `NIGHTINGALE_BENCH_HANG_MS` sets another answer time, to see what
        // the sends in flight cost.
        let hang = std::env::var("NIGHTINGALE_BENCH_HANG_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(HANG, Duration::from_millis);
        twilio.set_answer_after(Some(hang));
        let deployment = Deployment::start_on(
            backing,
            setup.nodes,
            &rota_dir,
            &twilio,
            4096 / setup.nodes,
            true,
        )
        .await;
        tokio::time::sleep_until((start.0 + LEAD + WATCH + Duration::from_secs(5)).into()).await;
        let first = first_pages(&twilio.messages());
        let watched: Vec<usize> = (0..OPEN).filter(|i| due_offset(*i) < WATCH).collect();
        let mut late: Vec<Duration> = watched
            .iter()
            .filter_map(|i| {
                first
                    .get(i)
                    .map(|at| at.saturating_duration_since(start.0 + LEAD + due_offset(*i)))
            })
            .collect();
        if std::env::var("NIGHTINGALE_BENCH_BUCKETS").is_ok() {
            let mut fired: Vec<Duration> = deployment
                .nodes
                .iter()
                .flat_map(|n| n.engine.take_lateness_samples())
                .map(|d| d.to_std().unwrap_or_default())
                .collect();
            fired.sort();
            eprintln!("fired by the engine: {}, {}", fired.len(), spread(&fired));
            for bucket in 0..12 {
                let mut these: Vec<Duration> = watched
                    .iter()
                    .filter(|i| due_offset(**i).as_secs() / 5 == bucket)
                    .filter_map(|i| {
                        first
                            .get(i)
                            .map(|at| at.saturating_duration_since(start.0 + LEAD + due_offset(*i)))
                    })
                    .collect();
                these.sort();
                eprintln!(
                    "due +{}s: {} paged, {}",
                    bucket * 5,
                    these.len(),
                    spread(&these)
                );
            }
        }
        late.sort();
        println!(
            "| {} | {:.1} s | {} | {} | {} | {} |",
            setup.name(),
            filled.as_secs_f64(),
            watched.len(),
            late.len(),
            spread(&late),
            twilio.request_count()
        );
        twilio.set_answer_after(None);
        deployment.stop().await;
    }
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

/// The `nightingale` that figures 4 to 6 run as processes:
/// `BENCH_NIGHTINGALE_BINARY` (another build, to compare; not a
/// `NIGHTINGALE_` name, which `serve` would refuse), or the release
/// build in the target directory (`CARGO_TARGET_DIR`, or `target/`).
fn binary() -> std::path::PathBuf {
    if let Some(binary) = std::env::var_os("BENCH_NIGHTINGALE_BINARY") {
        return binary.into();
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("release/nightingale")
}

/// A `nightingale serve` process (the release build) on `store`, sending
/// to `twilio`; killed when dropped.
fn serve(store: &str, rota_dir: &Path, twilio: &FakeTwilio) -> ServeProcess {
    let binary = binary();
    assert!(
        binary.exists(),
        "{} is missing: cargo build --release first",
        binary.display()
    );
    ServeProcess::start(
        &binary,
        &root(),
        &[
            ("NIGHTINGALE_STORE", store.to_owned()),
            ("NIGHTINGALE_ROTA_DIR", rota_dir.display().to_string()),
            (
                "NIGHTINGALE_TEMPLATES_DIR",
                root().join("templates").display().to_string(),
            ),
            ("NIGHTINGALE_PUBLIC_URL", PUBLIC_URL.to_owned()),
            ("NIGHTINGALE_TWILIO_ACCOUNT_SID", ACCOUNT_SID.to_owned()),
            ("NIGHTINGALE_TWILIO_AUTH_TOKEN", AUTH_TOKEN.to_owned()),
            ("NIGHTINGALE_TWILIO_FROM", OUR_NUMBER.to_owned()),
            ("NIGHTINGALE_TWILIO_API_BASE", twilio.base_url().to_owned()),
        ],
    )
}

async fn figure_restart(work: &Path) {
    println!(
        "\n## 4. Restart: a fresh `nightingale serve` on {OPEN} open escalations, until the first due deadline's page reaches the provider\n"
    );
    println!(
        "| setup | run | first page after | RSS then | RSS, empty store | RSS per open escalation |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let rota_dir = work.join("trust");
    write_trust(&rota_dir);
    for setup in &SETUPS[..2] {
        let backing = Backing::start(setup.backend);
        // Deadlines from now on: by the time a process starts, some are due.
        fill(backing.open(), now_pair(), Duration::ZERO);
        let empty = Backing::start(setup.backend);
        for run in 1..=3 {
            let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
            let started = Instant::now();
            let mut process = serve(&backing.url, &rota_dir, &twilio);
            let sent = twilio
                .wait_until("a page", Duration::from_secs(120), |sent| !sent.is_empty())
                .await;
            let after = sent[0].received_at.duration_since(started);
            let rss = rss_kb(process.pid());
            process.kill();
            let mut idle = serve(&empty.url, &rota_dir, &twilio);
            let client = reqwest::Client::new();
            while !client
                .get(format!("{}/readyz", idle.address))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let rss_empty = rss_kb(idle.pid());
            idle.kill();
            println!(
                "| {} | {run} | {} | {} MB | {} MB | {:.1} bytes |",
                setup.name(),
                ms(after),
                rss / 1024,
                rss_empty / 1024,
                (rss as f64 - rss_empty as f64) * 1024.0 / OPEN as f64
            );
        }
    }
}

/// How many texts the node that is killed answers before it dies.
const KILLED_AFTER: usize = 10;
/// Runs of each crash.
const CRASH_RUNS: usize = 3;

/// What follows the SIGKILL in the crash figure.
#[derive(Clone, Copy, PartialEq)]
enum Crash {
    /// One node on SQLite, started again on the same file.
    SqliteRestart,
    /// One node on Redis, started again, with no peer.
    RedisRestart,
    /// Two nodes on Redis: the other finishes the work.
    RedisTakeover,
}

impl Crash {
    fn name(self) -> &'static str {
        match self {
            Crash::SqliteRestart => "SQLite, restarted",
            Crash::RedisRestart => "Redis, restarted (no peer)",
            Crash::RedisTakeover => "Redis, taken over by a peer",
        }
    }
}

/// One crash: a node takes [`KILLED_AFTER`] texts from strangers at once
/// and is killed (SIGKILL) the moment it has answered every `200`; then it
/// is started again on the same store, or its peer carries on. For each
/// text, the wait from its `200` to its first page at the provider.
/// Returns the waits (sorted), how many pages reached the provider before
/// the kill, pages sent more than once, and, after a restart, when the new
/// process was ready (from the kill) and its last page (from ready).
async fn crash_once(crash: Crash, run: usize) -> CrashRun {
    let backing = Backing::start(match crash {
        Crash::SqliteRestart => Backend::Sqlite,
        _ => Backend::Redis("everysec"),
    });
    let rota_dir = root().join("rota");
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let mut victim = serve(&backing.url, &rota_dir, &twilio);
    let _peer = (crash == Crash::RedisTakeover).then(|| serve(&backing.url, &rota_dir, &twilio));
    let client = reqwest::Client::new();
    let signed_url = format!("{PUBLIC_URL}/twilio/sms");
    let first = run * 100;
    let posts: Vec<_> = (first..first + KILLED_AFTER)
        .map(|i| {
            let (client, url) = (client.clone(), format!("{}/twilio/sms", victim.address));
            let params = inbound(&format!("SM{i:032x}"), &stranger(i), &words(i));
            let signature = twilio_signature(AUTH_TOKEN, &signed_url, &params);
            tokio::spawn(async move {
                let answer = client
                    .post(&url)
                    .header("X-Twilio-Signature", signature)
                    .form(&params)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(answer.status(), 200);
                (i, Instant::now())
            })
        })
        .collect();
    let mut answered = HashMap::new();
    for post in posts {
        let (i, at) = post.await.unwrap();
        answered.insert(i, at);
    }
    victim.kill();
    let killed = Instant::now();
    let paged_before = first_pages(&twilio.messages())
        .values()
        .filter(|at| **at <= killed)
        .count();
    let restarted = (crash != Crash::RedisTakeover).then(|| {
        let process = serve(&backing.url, &rota_dir, &twilio);
        (process, Instant::now())
    });
    let sent = twilio
        .wait_until("a page for every text", Duration::from_secs(120), |sent| {
            let pages = first_pages(sent);
            answered.keys().all(|i| pages.contains_key(i))
        })
        .await;
    let pages = first_pages(&sent);
    let mut waits: Vec<Duration> = answered
        .iter()
        .map(|(i, at)| pages[i].saturating_duration_since(*at))
        .collect();
    waits.sort();
    let twice = sent.iter().filter(|m| reference(m).is_some()).count() - pages.len();
    let ready = restarted.as_ref().map(|(_, ready)| {
        let last = answered.keys().map(|i| pages[i]).max().unwrap();
        (
            ready.duration_since(killed),
            last.saturating_duration_since(*ready),
        )
    });
    CrashRun {
        waits,
        paged_before,
        twice,
        ready,
    }
}

/// What one crash run measured (see [`crash_once`]).
struct CrashRun {
    waits: Vec<Duration>,
    paged_before: usize,
    twice: usize,
    ready: Option<(Duration, Duration)>,
}

async fn figure_crash() {
    println!(
        "\n## 5. A node killed with SIGKILL the moment it has answered {KILLED_AFTER} texts: the wait from each text's `200` to its page\n"
    );
    println!(
        "| setup | run | paged before the kill | longest wait | median wait | restarted process ready after the kill | its last page after ready | pages sent twice |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for crash in [
        Crash::SqliteRestart,
        Crash::RedisRestart,
        Crash::RedisTakeover,
    ] {
        let mut longest = Vec::new();
        for run in 1..=CRASH_RUNS {
            let r = crash_once(crash, run).await;
            let (ready, last) = match r.ready {
                Some((ready, last)) => (ms(ready), ms(last)),
                None => ("—".to_owned(), "—".to_owned()),
            };
            println!(
                "| {} | {run} | {} of {KILLED_AFTER} | {} | {} | {ready} | {last} | {} |",
                crash.name(),
                r.paged_before,
                ms(*r.waits.last().unwrap()),
                ms(percentile(&r.waits, 0.5)),
                r.twice
            );
            longest.push(*r.waits.last().unwrap());
        }
        longest.sort();
        println!(
            "| {} | median of the runs | | **{}** | | | | |",
            crash.name(),
            ms(percentile(&longest, 0.5))
        );
    }
}

/// Every command Redis has run (`INFO commandstats`, commands called from
/// scripts included) and every request it has answered
/// (`total_commands_processed`, a script call counting once).
fn redis_counts(url: &str) -> (u64, u64) {
    let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .unwrap();
    let calls = stats
        .lines()
        .filter_map(|l| l.split("calls=").nth(1))
        .filter_map(|rest| rest.split(',').next()?.parse::<u64>().ok())
        .sum();
    let info: String = redis::cmd("INFO").arg("stats").query(&mut conn).unwrap();
    let requests = info
        .lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (calls, requests)
}

/// Redis commands a second over `span`, while `during` runs (requests,
/// commands).
async fn redis_rate(url: &str, span: Duration, during: impl std::future::Future) -> (f64, f64) {
    let (calls, requests) = redis_counts(url);
    let started = Instant::now();
    during.await;
    let left = span.saturating_sub(started.elapsed());
    tokio::time::sleep(left).await;
    let seconds = started.elapsed().as_secs_f64();
    let (calls_after, requests_after) = redis_counts(url);
    (
        (requests_after - requests) as f64 / seconds,
        (calls_after - calls) as f64 / seconds,
    )
}

async fn figure_redis_cost() {
    println!(
        "\n## 6. What the nodes ask of Redis: three `nightingale serve` processes on one Redis, idle and at 100 new concerns a second\n"
    );
    let redis = RedisServer::start();
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let rota_dir = root().join("rota");
    let processes: Vec<ServeProcess> = (0..3)
        .map(|_| serve(&redis.url(), &rota_dir, &twilio))
        .collect();
    let nodes: Vec<String> = processes.iter().map(|p| p.address.clone()).collect();
    // Past start-up (handovers seeded, scripts loaded).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = redis_rate(&redis.url(), Duration::from_secs(30), async {}).await;
    let load = redis_rate(&redis.url(), Duration::from_secs(10), async {
        let (_, failed, _) = offer(&nodes, 100, 10.0, stranger).await;
        assert_eq!(failed, 0);
    })
    .await;
    println!("Binary: `{}`.\n", binary().display());
    println!(
        "| three nodes | requests a second (a script call is one) | commands a second (with those scripts run) |"
    );
    println!("| --- | --- | --- |");
    println!("| idle, 30 s | {:.1} | {:.1} |", idle.0, idle.1);
    println!(
        "| 100 new concerns a second, 10 s | {:.0} | {:.0} |",
        load.0, load.1
    );
}

/// The setups to run: all, or those whose name contains
/// `NIGHTINGALE_BENCH_SETUP` (for example `SQLite`, or `3 nodes`).
fn chosen() -> Vec<Setup> {
    let only = std::env::var("NIGHTINGALE_BENCH_SETUP").unwrap_or_default();
    SETUPS
        .into_iter()
        .filter(|s| s.name().contains(&only))
        .collect()
}

async fn smoke() {
    for setup in SETUPS {
        let (concerns, latencies, failed) = page_latencies(setup, 30, 1.0).await;
        assert_eq!(
            (concerns, latencies.len(), failed),
            (30, 30, 0),
            "{}",
            setup.name()
        );
        println!(
            "load benchmark smoke test, {}: 30 concerns in, 30 pages out",
            setup.name()
        );
    }
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
    // Both ends of every connection to the fake Twilio are in this process.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
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
    let want = |name: &str| all || wanted.iter().any(|w| w == name);
    runtime.block_on(async {
        let work = tempfile::tempdir().unwrap();
        println!(
            "# Nightingale load figures ({} cores)",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0)
        );
        if want("page") {
            figure_page().await;
        }
        if want("ceiling") {
            figure_ceiling().await;
        }
        if want("timers") {
            figure_timers(work.path()).await;
        }
        if want("restart") {
            figure_restart(work.path()).await;
        }
        if want("crash") || want("takeover") {
            figure_crash().await;
        }
        if want("redis-cost") {
            figure_redis_cost().await;
        }
    });
}
