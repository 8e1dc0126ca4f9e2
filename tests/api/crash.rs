//! A node killed mid-work, under the test clock (ADR 30): the node runs on
//! a runtime of its own, and killing it shuts that runtime down, so
//! nothing of it runs on and it lets go of nothing, as with SIGKILL. Its
//! claims stay in the store. On SQLite the restarted node takes them back
//! at once; on Redis a peer takes them over once their short lease ends.
//! The clock moves only as each story says, so "at once" means the clock
//! did not move, and "within 5 s" that it moved 5 s.

use std::time::Duration as StdDuration;

use chrono::Duration;

use crate::support::fake_twilio::{FakeTwilio, SentSms};
use crate::support::nightingale::{
    ACCOUNT_SID, AUTH_TOKEN, NowInstant, STRANGER, TestApp, text_to,
};
use crate::support::redis_server::RedisServer;

/// How long a story waits (real time) for what should happen at once.
/// Only ever reached when it does not happen.
const GENEROUS: StdDuration = StdDuration::from_secs(20);

/// How long the Twilio client waits for an answer: longer than any story,
/// so a request the fake holds hangs until the node dies.
const NEVER: StdDuration = StdDuration::from_secs(3600);

/// A node built by `make` on a runtime of its own, and that runtime: shut
/// it down ([`tokio::runtime::Runtime::shutdown_background`]) to kill the node.
fn on_own_runtime<F>(make: impl FnOnce() -> F + Send) -> (tokio::runtime::Runtime, TestApp)
where
    F: std::future::Future<Output = TestApp>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = std::thread::scope(|s| s.spawn(|| runtime.block_on(make())).join().unwrap());
    (runtime, app)
}

/// A text from `from` posted to `node`'s webhook, signed as Twilio signs
/// it (through `twilio`, whose client lives on the test's runtime).
async fn text(twilio: &FakeTwilio, node: &TestApp, from: &str, body: &str) {
    text_to(twilio, &node.address, from, body).await;
}

fn is_page(m: &SentSms) -> bool {
    m.body.contains(" Reply A")
}

/// Each message sent at most once, by recipient and words.
fn none_twice(sent: &[SentSms]) {
    let mut seen = std::collections::HashMap::new();
    for m in sent {
        *seen.entry((&m.to, &m.body)).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_sqlite_node_takes_back_its_predecessors_claims_and_confirms_an_accept_at_once()
{
    let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let (runtime, node) = on_own_runtime(|| {
        TestApp::spawn_running_with_twilio("2026-11-27T19:05", twilio.clone(), NEVER, |_| {})
    });

    // 19:05 Friday: a stranger texts. Twilio takes the reply to him and
    // the page to the duty manager, and has answered neither when the
    // node is killed: it dies holding both texts, its claims in the store.
    twilio.set_hanging(true);
    text(
        &twilio,
        &node,
        STRANGER,
        "My dad has fallen and cannot get up",
    )
    .await;
    let taken = twilio.wait_for_messages(2, GENEROUS).await;
    let page = taken.iter().find(|m| is_page(m)).expect("a page").clone();
    runtime.shutdown_background();
    twilio.set_hanging(false);
    let killed_at = node.clock.now_instant();

    // Restarted on the same file at the same instant, the node holds the
    // serve lock, so the claims are its dead predecessor's: taken back.
    let node = node.restart_after_kill().await;
    // The duty manager had his page and accepts. His confirmation shares
    // a lane with the page the dead process held: it goes at once.
    text(
        &twilio,
        &node,
        &page.to,
        &format!("A{}", TestApp::code_in(&page)),
    )
    .await;
    twilio
        .wait_until("the duty manager's confirmation", GENEROUS, |sent| {
            sent.iter()
                .any(|m| m.to == page.to && m.body.starts_with("You have concern "))
        })
        .await;
    assert_eq!(
        node.clock.now_instant(),
        killed_at,
        "confirmed without the clock moving: nothing waited for a lease"
    );
    // Twilio had the page and the reply already: asked first, not sent again.
    let sent = twilio
        .wait_until("the stranger told who has it", GENEROUS, |sent| {
            sent.iter()
                .any(|m| m.to == STRANGER && m.body.contains("will be in touch"))
        })
        .await;
    none_twice(&sent);
    assert_eq!(sent.iter().filter(|m| is_page(m)).count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_peer_finishes_a_killed_nodes_texts_within_5_seconds_and_sends_none_twice() {
    let redis = RedisServer::start();
    let url = redis.url();
    let on_redis = move |c: &mut nightingale::config::Config| c.store = url.clone();
    // Each node has its own line to Twilio; node A's takes every text
    // and answers none, so what A holds when it dies is in flight.
    let (twilio_a, twilio_b) = (
        FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await,
        FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await,
    );
    twilio_a.set_hanging(true);
    let (runtime, node_a) = on_own_runtime(|| {
        TestApp::spawn_running_with_twilio("2026-11-27T19:05", twilio_a.clone(), NEVER, on_redis)
    });
    let node_b = node_a.peer(&twilio_b).await;

    // Three strangers text node A, which answers each 200, takes each in
    // and hands the reply and the page to Twilio; then it is killed.
    let strangers = ["+447700900911", "+447700900912", "+447700900913"];
    for (i, from) in strangers.iter().enumerate() {
        text(
            &twilio_b,
            &node_a,
            from,
            &format!("Message {i}: please call me"),
        )
        .await;
    }
    // (Node B, just started, may take one of them first: what matters is
    // that every reply and page has been handed to a provider.)
    let handed = || twilio_a.messages().len() + twilio_b.messages().len();
    tokio::time::timeout(GENEROUS, async {
        while handed() < 2 * strangers.len() {
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    })
    .await
    .expect("every text taken in, its reply and page handed to Twilio");
    runtime.shutdown_background();
    drop(node_a);

    // Five seconds on, node B, which nobody woke, has looked, seen the
    // dead node's leases run out, and sent everything it held, once.
    node_b.clock.advance(Duration::seconds(5));
    let sent = twilio_b
        .wait_until("every reply and page node A held", GENEROUS, |sent| {
            strangers.iter().enumerate().all(|(i, from)| {
                let quoted = format!("Message {i}: please call me");
                sent.iter().any(|m| m.to == *from)
                    && sent.iter().any(|m| is_page(m) && m.body.contains(&quoted))
            })
        })
        .await;
    none_twice(&sent);
    assert_eq!(sent.len(), 2 * strangers.len(), "{sent:#?}");
}
