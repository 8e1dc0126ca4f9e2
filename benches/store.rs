//! Store figures: what one atomic change costs on each backend, measured
//! through the `Store` trait as the engine calls it.
//!
//! Two operations, each timed from the call to its return:
//!
//! - `open`: the change intake makes for a first message: a new concern
//!   ("open unless open" checked), its first timeline entry, the reply to
//!   the sender, a page to the clinician with its code, and the
//!   acknowledgement deadline.
//! - `send`: what dispatch does for one text: claim it (lease and fencing
//!   token), then write its outcome in a change carrying the claim.
//!
//! Each runs with 1 caller and with 8 at once (threads, as the blocking
//! pool calls the store), on: SQLite (`synchronous=FULL`, group commit);
//! Redis with `appendfsync everysec` and with `always`; and a three-primary
//! Redis Cluster (everysec), where the whole namespace is one slot on one
//! primary. For one Redis server it also reports the server's own time
//! running scripts per operation (`INFO commandstats`): one core runs every
//! script of a namespace, so that time bounds what one namespace can do
//! however many nodes call it (`open` is two scripts: the code reservation
//! and the change; `send` is two: the claim and the change).
//!
//! Run: `cargo bench --bench store` (part of `scripts/bench`). Without
//! `--bench` (as under `cargo test`) it runs a few hundred operations per
//! backend as a smoke test. Needs `redis-server` (and `redis-cli` for the
//! cluster), as the tests do.

#[path = "support/harness.rs"]
mod harness;
#[path = "../tests/support/redis_server.rs"]
mod redis_server;

use harness::{ms, percentile};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use nightingale::concern::Page;
use nightingale::concern::{CodeRequest, Concern, ConcernId, Party};
use nightingale::directory::{Id, PhoneNumber};
use nightingale::escalation::Escalation;
use nightingale::outbox::OutboxItem;
use nightingale::outbox::{NewOutbox, OutboxOutcome};
use nightingale::store::Store;
use nightingale::store::redis::RedisStore;
use nightingale::store::sqlite::SqliteStore;
use nightingale::timeline::Purpose;
use nightingale::timeline::{TimelineEntry, TimelineEvent};
use nightingale::work::{Change, ClaimOf, NodeId, Timer, TimerKind};
use redis_server::{RedisCluster, RedisServer};

/// Callers at once in the concurrent runs.
const CALLERS: usize = 8;

fn at() -> chrono::DateTime<chrono::Utc> {
    "2026-11-27T19:05:00Z".parse().unwrap()
}

/// The change intake writes for concern `i`'s first message.
fn open_change(store: &dyn Store, i: usize) -> Change {
    let now = at();
    let sender = PhoneNumber::parse(&format!("+4479111{i:05}")).unwrap();
    // A few hundred clinicians, so each holds a few open pages (the codes
    // in use are looked through on every reservation).
    let chen = Id::parse(&format!("clinician-{}", i % 500)).unwrap();
    let concern = Concern {
        id: ConcernId::new(),
        enrolment: None,
        service: Some(Id::parse("cardiology-ward-7").unwrap()),
        sender: sender.clone().into(),
        party: Party::Patient,
        opened_at: now,
        text: "My dressing is leaking and I am worried".into(),
        escalation: Escalation::new(false),
        pictures_explained: false,
        recognised: None,
        calls: Vec::new(),
        version: 0,
    };
    let code = store
        .reserve_code(CodeRequest {
            concern: concern.id,
            staff: &chen,
            quarantine_since: now - TimeDelta::days(1),
            at: now,
        })
        .expect("a code");
    let text = |to: &PhoneNumber, purpose, staff: Option<Id>| NewOutbox {
        concern: Some(concern.id),
        to: to.clone().into(),
        body: "We have your message. A nurse is being contacted now.".into(),
        purpose,
        staff,
        recipient: "patient".into(),
        step: Some(1),
    };
    Change {
        at: now,
        timeline: vec![(
            concern.id,
            TimelineEntry {
                at: now,
                event: TimelineEvent::Received {
                    from: "patient".into(),
                    text: concern.text.clone(),
                    voicemail: false,
                },
            },
        )],
        outbox: vec![
            text(&sender, Purpose::Notice, None),
            // Each concern's clinician has a number of their own, so no
            // text waits behind another to the same number.
            text(
                &PhoneNumber::parse(&format!("+4479112{i:05}")).unwrap(),
                Purpose::Page,
                Some(chen.clone()),
            ),
        ],
        set_timers: vec![Timer {
            concern: concern.id,
            kind: TimerKind::AckDeadline,
            due_at: now + TimeDelta::minutes(10),
            seq: 1,
        }],
        open_pages: vec![Page {
            concern: concern.id,
            staff: chen,
            code,
            open: true,
            opened_at: now,
        }],
        concern: Some(concern),
        ..Change::default()
    }
}

/// Claim one due text and record that it was sent; false if none was due.
fn send_one(store: &dyn Store, node: &NodeId, n: usize) -> bool {
    let now = at() + TimeDelta::seconds(1);
    let Some(claimed) = store
        .claim_of::<OutboxItem>(node, now, TimeDelta::seconds(30), 1)
        .expect("claim")
        .pop()
    else {
        return false;
    };
    store
        .apply(Change {
            at: now,
            claim: Some(claimed.claim),
            outbox_outcomes: vec![OutboxOutcome::Sent {
                id: claimed.item.id,
                provider_id: format!("SM{}-{n}", node.as_str()),
            }],
            ..Change::default()
        })
        .expect("outcome");
    true
}

/// Latencies of `ops` operations split over `callers` threads, and the
/// wall time they all took.
fn run(
    callers: usize,
    ops: usize,
    op: impl Fn(usize, usize) -> bool + Send + Sync + 'static,
) -> (Vec<Duration>, Duration) {
    let op = Arc::new(op);
    let start = Instant::now();
    let threads: Vec<_> = (0..callers)
        .map(|t| {
            let op = Arc::clone(&op);
            std::thread::spawn(move || {
                let mut took = Vec::new();
                for i in (t..ops).step_by(callers) {
                    let begun = Instant::now();
                    if op(t, i) {
                        took.push(begun.elapsed());
                    }
                }
                took
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let elapsed = start.elapsed();
    all.sort();
    (all, elapsed)
}

/// The server's own time running scripts since its stats were last reset, in µs.
fn script_time(server: &RedisServer) -> Option<f64> {
    let stats = server.command("INFO commandstats");
    let line = stats.lines().find(|l| l.starts_with("cmdstat_evalsha:"))?;
    line.split(',')
        .find_map(|f| f.strip_prefix("usec="))
        .and_then(|us| us.parse().ok())
}

/// One backend: `fresh` makes an empty store; `stats` reads and resets the
/// Redis server's script time in µs (None for SQLite, and for the cluster).
fn figures(
    name: &str,
    ops: usize,
    fresh: &dyn Fn(usize) -> Arc<dyn Store>,
    stats: &dyn Fn() -> Option<f64>,
) {
    for (i, callers) in [1, CALLERS].into_iter().enumerate() {
        let store = fresh(i);
        let _ = stats();
        let opener = Arc::clone(&store);
        let (took, elapsed) = run(callers, ops, move |_, i| {
            let change = open_change(opener.as_ref(), i);
            opener.apply(change).expect("open");
            true
        });
        let open_server = stats();
        let sender = Arc::clone(&store);
        let nodes: Vec<NodeId> = (0..callers)
            .map(|t| NodeId::new(format!("node-{t}")))
            .collect();
        // Each concern queued two texts (to different numbers): send them all.
        let (sent, sent_elapsed) = run(callers, 2 * ops, move |t, n| {
            send_one(sender.as_ref(), &nodes[t], n)
        });
        let send_server = stats();
        assert_eq!(sent.len(), 2 * ops, "every text was sent once");
        for (what, took, elapsed, server) in [
            ("open", &took, elapsed, open_server),
            ("send", &sent, sent_elapsed, send_server),
        ] {
            println!(
                "| {name} | {what} | {callers} | {:.0}/s | {} | {} | {} |",
                took.len() as f64 / elapsed.as_secs_f64(),
                ms(percentile(took, 0.5)),
                ms(percentile(took, 0.99)),
                server.map_or_else(
                    || "—".to_owned(),
                    |us| format!("{:.0} µs", us / took.len() as f64)
                ),
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        // A test runner asking what tests this binary has: none.
        return;
    }
    // Under `cargo test`: a few hundred operations, so it cannot rot.
    let ops = if args.iter().any(|a| a == "--bench") {
        4000
    } else {
        200
    };
    println!(
        "# Nightingale store figures ({} cores, {ops} concerns per run)\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!(
        "| backend | operation | callers | throughput | p50 | p99 | Redis time per operation |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");

    let dir = tempfile::tempdir().unwrap();
    figures(
        "SQLite, synchronous=FULL",
        ops,
        &|i| Arc::new(SqliteStore::open(&dir.path().join(format!("{i}.db"))).unwrap()),
        &|| None,
    );

    let mut memory = None;
    for fsync in ["everysec", "always"] {
        let server = RedisServer::start_with(&["--appendfsync", fsync]);
        let empty = used_memory(&server);
        let stats = || {
            let used = script_time(&server);
            server.command("CONFIG RESETSTAT");
            used
        };
        figures(
            &format!("Redis, appendfsync {fsync}"),
            ops,
            &|i| Arc::new(RedisStore::open_in(&server.url(), &format!("bench-{i}")).unwrap()),
            &stats,
        );
        // Both runs' concerns (two namespaces) are still held.
        memory.get_or_insert((used_memory(&server) - empty) / (2 * ops) as f64);
    }

    let cluster = RedisCluster::start();
    figures(
        "Redis Cluster of 3, everysec",
        ops,
        &|i| Arc::new(RedisStore::open_in(&cluster.url(), &format!("bench-{i}")).unwrap()),
        &|| None,
    );
    if let Some(bytes) = memory {
        println!(
            "\nRedis memory per concern (opened, its two texts sent): {:.1} KiB",
            bytes / 1024.0
        );
    }
}

/// What the Redis server holds, in bytes (`INFO memory`).
fn used_memory(server: &RedisServer) -> f64 {
    server
        .command("INFO memory")
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0.0)
}
