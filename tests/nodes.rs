//! Several nodes, shown with real processes (issue 7): three `nightingale
//! serve` processes share one `redis-server` of the test's own and one fake
//! Twilio. Webhooks reach random nodes; one node is killed with SIGKILL just
//! after it answered `200` to ten texts, and the others finish its work once
//! its leases (3 s, renewed every second: ADR 7, ADR 30) end, within the
//! 5 s the issue asks for. Real clock: the senders are strangers, so every
//! concern goes to the trust's fallback whatever the hour.

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use support::fake_twilio::{FakeTwilio, SentSms};
use support::nightingale::{ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, PUBLIC_URL};
use support::redis_server::RedisServer;
use support::serve_process::ServeProcess;

/// The engine's lease on claimed work (`engine::LEASE`, ADR 30).
const LEASE: Duration = Duration::from_secs(3);
/// How long after the kill the survivors must have finished the dead
/// node's work: 5 s (issue 21), and as much again for this debug build on
/// a machine shared with other builds (the release figure is in
/// docs/benchmarks.md, figure 5).
const TAKEOVER: Duration = Duration::from_secs(10);
/// Generous: nothing here should take more than a few seconds.
const PATIENCE: Duration = Duration::from_secs(20);

/// A `nightingale serve` node on the test's Redis, sending to the fake Twilio.
fn start_node(redis: &RedisServer, twilio: &FakeTwilio) -> ServeProcess {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    ServeProcess::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_nightingale")),
        root,
        &[
            ("NIGHTINGALE_STORE", redis.url()),
            ("NIGHTINGALE_PUBLIC_URL", PUBLIC_URL.to_owned()),
            (
                "NIGHTINGALE_ROTA_DIR",
                root.join("rota").display().to_string(),
            ),
            (
                "NIGHTINGALE_TEMPLATES_DIR",
                root.join("templates").display().to_string(),
            ),
            ("NIGHTINGALE_TWILIO_ACCOUNT_SID", ACCOUNT_SID.to_owned()),
            ("NIGHTINGALE_TWILIO_AUTH_TOKEN", AUTH_TOKEN.to_owned()),
            ("NIGHTINGALE_TWILIO_FROM", OUR_NUMBER.to_owned()),
            ("NIGHTINGALE_TWILIO_API_BASE", twilio.base_url().to_owned()),
        ],
    )
}

/// A small deterministic generator, seeded and printed, to pick nodes.
struct Dice(u64);

impl Dice {
    fn pick(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Post a text from `from` to a node's SMS webhook, signed as Twilio signs it.
async fn text(twilio: &FakeTwilio, node: &str, from: &str, body: &str) {
    support::nightingale::text_to(twilio, node, from, body).await;
}

fn is_page(m: &SentSms) -> bool {
    m.body.contains(" Reply A")
}

fn code_in(page: &SentSms) -> String {
    let after = page.body.split(" Reply A").nth(1).unwrap();
    after.chars().take_while(char::is_ascii_digit).collect()
}

fn stranger(i: usize) -> String {
    format!("+4477009009{:02}", 10 + i)
}

fn words(i: usize) -> String {
    format!("Message {i} from a stranger, please call")
}

/// The page that carries stranger `i`'s words, if sent yet.
fn page_for(sent: &[SentSms], i: usize) -> Option<&SentSms> {
    let quoted = format!("\"{}\"", words(i));
    sent.iter().find(|m| is_page(m) && m.body.contains(&quoted))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_share_the_work_and_finish_a_killed_nodes_within_seconds() {
    let started = Instant::now();
    let redis = RedisServer::start();
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let mut nodes: Vec<ServeProcess> = (0..3).map(|_| start_node(&redis, &twilio)).collect();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("node choices seeded with {seed}");
    let mut dice = Dice(seed);

    // Fifteen strangers text once each, to random nodes.
    let (first, more) = (15, 10);
    for i in 0..first {
        let node = &nodes[dice.pick(3)].address;
        text(&twilio, node, &stranger(i), &words(i)).await;
    }
    twilio
        .wait_until(
            "a page and an acknowledgement for each of the first 15",
            PATIENCE,
            |sent| {
                (0..first).all(|i| {
                    page_for(sent, i).is_some() && sent.iter().any(|m| m.to == stranger(i))
                })
            },
        )
        .await;

    // Ten more reach node 0, which is killed as soon as it has answered them all.
    let victim = nodes[0].address.clone();
    let posts: Vec<_> = (first..first + more)
        .map(|i| {
            let (twilio, victim) = (twilio.clone(), victim.clone());
            tokio::spawn(async move { text(&twilio, &victim, &stranger(i), &words(i)).await })
        })
        .collect();
    for post in posts {
        post.await.unwrap();
    }
    nodes[0].kill();
    let killed = Instant::now();
    let survivors: Vec<String> = nodes[1..].iter().map(|n| n.address.clone()).collect();
    let paged_before_kill = (first..first + more)
        .filter(|&i| page_for(&twilio.messages(), i).is_some_and(|p| p.received_at <= killed))
        .count();

    // The duty manager accepts every page, each reply reaching a random survivor.
    let mut answered = HashSet::new();
    let all = first + more;
    let deadline = killed + TAKEOVER;
    while answered.len() < all {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let sent = twilio
            .wait_until(
                &format!("pages for all {all} concerns within {TAKEOVER:?} of the kill"),
                remaining,
                |sent| (0..all).any(|i| !answered.contains(&i) && page_for(sent, i).is_some()),
            )
            .await;
        for i in 0..all {
            if answered.contains(&i) {
                continue;
            }
            if let Some(page) = page_for(&sent, i) {
                let node = &survivors[dice.pick(survivors.len())];
                text(&twilio, node, &page.to, &format!("A{}", code_in(page))).await;
                answered.insert(i);
            }
        }
    }
    let sent = twilio.messages();
    let last_page = (first..first + more)
        .map(|i| page_for(&sent, i).unwrap().received_at)
        .max()
        .unwrap();
    let takeover = last_page.saturating_duration_since(killed);
    println!(
        "{paged_before_kill} of the killed node's {more} texts were paged before it died; \
         the last of them {takeover:?} after the kill (lease {LEASE:?})"
    );
    assert!(
        takeover <= TAKEOVER,
        "the killed node's work was taken over in {takeover:?}"
    );

    // Every concern ends accepted: the duty manager is told he has it, and
    // the sender that someone will be in touch.
    let pages: Vec<SentSms> = (0..all)
        .map(|i| page_for(&sent, i).unwrap().clone())
        .collect();
    let sent = twilio
        .wait_until("every concern accepted", PATIENCE, |sent| {
            pages.iter().all(|p| {
                sent.iter().any(|m| {
                    m.to == p.to
                        && m.body
                            .starts_with(&format!("You have concern {} ", code_in(p)))
                })
            }) && (0..all).all(|i| {
                sent.iter()
                    .any(|m| m.to == stranger(i) && m.body.contains("will be in touch"))
            })
        })
        .await;

    // No text went out twice: no page, no confirmation, no reply to a sender.
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    for m in &sent {
        *seen.entry((&m.to, &m.body)).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:#?}");
    let confirmations = sent
        .iter()
        .filter(|m| m.body.starts_with("You have concern "))
        .count();
    assert_eq!(confirmations, all, "one confirmation a concern");
    assert_eq!(
        sent.iter().filter(|m| is_page(m)).count(),
        all,
        "one page a concern"
    );
    for i in 0..all {
        let to_sender: Vec<_> = twilio.messages_to(&stranger(i));
        let acks = to_sender
            .iter()
            .filter(|m| m.body.contains("your message has reached"))
            .count();
        let accepted = to_sender
            .iter()
            .filter(|m| m.body.contains("will be in touch"))
            .count();
        assert_eq!(
            (acks, accepted, to_sender.len()),
            (1, 1, 2),
            "stranger {i}: one acknowledgement, one acceptance: {to_sender:#?}"
        );
    }

    let http = reqwest::Client::new();
    for node in &survivors {
        let ready = http.get(format!("{node}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "{node} is ready");
    }
    println!("the story took {:?}", started.elapsed());
}
