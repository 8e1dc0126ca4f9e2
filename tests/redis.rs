//! Nightingale on Redis, black-box: real servers on random ports sharing a
//! `redis-server` of the test's own, and the fake Twilio on both sides.
//!
//! The store's behaviour is the conformance suite's business; these check
//! what the service says while Redis comes and goes, and that two nodes on
//! one Redis are one service.

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use support::nightingale::{MARGARET, STRANGER, TestApp};
use support::redis_server::RedisServer;

const FRIDAY_EVENING: &str = "2026-11-27T19:05";

async fn node_on(redis: &RedisServer) -> TestApp {
    let url = redis.url();
    TestApp::spawn_with(FRIDAY_EVENING, move |c| c.store = url.clone()).await
}

#[tokio::test]
async fn while_redis_is_down_readyz_and_webhooks_say_503_and_nothing_is_answered_200() {
    let mut redis = RedisServer::start();
    let app = node_on(&redis).await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_eq!(app.text(STRANGER, "Is anyone there?").await.status(), 200);

    redis.kill();
    let asked = Instant::now();
    let (ready, health, webhook) = tokio::join!(
        app.get("/readyz"),
        app.get("/healthz"),
        app.text(STRANGER, "Hello? Anyone?")
    );
    assert_eq!(health.status(), 200, "the process is up");
    assert_eq!(ready.status(), 503, "but cannot take a webhook");
    assert_eq!(
        ready.text().await.unwrap(),
        "not ready: the store cannot take a write\n"
    );
    assert_eq!(webhook.status(), 503, "so a webhook is not promised");
    assert!(
        asked.elapsed() < Duration::from_secs(6),
        "a load balancer hears it promptly: {:?}",
        asked.elapsed()
    );

    // Redis comes back (its append-only file has the first text).
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while app.get("/readyz").await.status() != 200 {
        assert!(Instant::now() < deadline, "ready again once Redis is back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.text(STRANGER, "Hello? Anyone?").await.status(), 200);
    app.settle().await;
    let concerns = app.get("/api/v1/concerns").await;
    let concerns: serde_json::Value = concerns.json().await.unwrap();
    assert_eq!(
        concerns["concerns"].as_array().map(Vec::len),
        Some(1),
        "both texts are one concern: {concerns}"
    );
}

#[tokio::test]
async fn two_nodes_on_one_redis_are_one_service() {
    let redis = RedisServer::start();
    let (a, b) = (node_on(&redis).await, node_on(&redis).await);

    // A stranger's text reaches node A; A's engine pages someone.
    assert_eq!(a.text(STRANGER, "Is anyone there?").await.status(), 200);
    a.settle().await;
    let page = a
        .twilio
        .messages()
        .into_iter()
        .find(|m| m.to != STRANGER)
        .expect("somebody was paged");
    let code = TestApp::code_in(&page);

    // The clinician's reply reaches node B; node A's engine takes it in.
    // (Each node's fake Twilio numbers its messages from the same start, so
    // the reply gets a SID of its own: Twilio's are unique.)
    let sid = format!("SM{:032x}", 0xb0b);
    let reply = b.text_with_sid(&sid, &page.to, &format!("A{code}")).await;
    assert_eq!(reply.status(), 200);
    a.settle().await;
    let id = TestApp::concern_id_in(&page);
    let on_b = b.concern(&id).await;
    assert_eq!(on_b["status"], "accepted", "{on_b}");
    assert_eq!(
        a.concern(&id).await["status"],
        "accepted",
        "both nodes see one concern"
    );
}

#[tokio::test]
async fn a_key_revoked_on_one_redis_is_refused_by_both_nodes_at_once() {
    let redis = RedisServer::start();
    let (a, b) = (node_on(&redis).await, node_on(&redis).await);
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nightingale"))
            .args(args)
            .env("NIGHTINGALE_STORE", redis.url())
            .env("NIGHTINGALE_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let key = cli(&["api-key", "create", "ward-7-discharge"]);
    let concerns = "/api/v1/concerns";
    for node in [&a, &b] {
        assert_eq!(node.get_as(&key, concerns).await.status(), 200);
    }
    cli(&["api-key", "revoke", "ward-7-discharge"]);
    for node in [&a, &b] {
        assert_eq!(
            node.get_as(&key, concerns).await.status(),
            401,
            "no node keeps a copy of the key"
        );
        assert_eq!(
            node.get(concerns).await.status(),
            200,
            "other keys still work"
        );
    }
}

#[tokio::test]
async fn on_either_node_a_wards_key_sees_its_own_patients_concern_and_another_wards_does_not() {
    let redis = RedisServer::start();
    let (a, b) = (node_on(&redis).await, node_on(&redis).await);
    let ward_7 = a.api_key_for("ward-7-discharge", "enrol,read-own", None);
    let ward_9 = a.api_key_for("ward-9-discharge", "enrol,read-own", None);
    let enrolled = a
        .enrol_as(
            &ward_7,
            &serde_json::json!({
                "patient": {"name": "Margaret Evans", "phone": "07700 900801"},
                "service": "cardiology-ward-7",
                "discharged_at": "2026-11-27T18:00:00Z",
            }),
        )
        .await;
    assert_eq!(enrolled.status(), 201);
    assert_eq!(a.text(MARGARET, "My leg is hot").await.status(), 200);
    a.settle().await;

    let hers: serde_json::Value = b
        .get_as(&ward_7, "/api/v1/concerns")
        .await
        .json()
        .await
        .unwrap();
    let id = hers["concerns"][0]["id"]
        .as_str()
        .expect("ward 7 lists her concern on node B");
    let theirs: serde_json::Value = b
        .get_as(&ward_9, "/api/v1/concerns")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["concerns"], serde_json::json!([]));
    let path = format!("/api/v1/concerns/{id}");
    assert_eq!(b.get_as(&ward_9, &path).await.status(), 404);
    assert_eq!(a.get_as(&ward_9, &path).await.status(), 404);
    assert_eq!(b.get_as(&ward_7, &path).await.status(), 200);
}

#[test]
fn over_tls_a_node_trusts_the_ca_it_is_given_and_no_other() {
    use nightingale::api_keys::Keys as _;
    let redis = RedisServer::start_tls();
    let url = format!("rediss://localhost:{}", redis.tls_port());
    let create = |ca: Option<&std::path::Path>| {
        let mut cli = std::process::Command::new(env!("CARGO_BIN_EXE_nightingale"));
        cli.args(["api-key", "create", "ward-7-discharge"])
            .env("NIGHTINGALE_STORE", &url)
            .env("NIGHTINGALE_LOG", "warn")
            .env_remove("SSL_CERT_FILE");
        if let Some(ca) = ca {
            cli.env("SSL_CERT_FILE", ca);
        }
        cli.output().unwrap()
    };

    // The system's roots do not know the test's CA: refused, saying where.
    let refused = create(None);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("cannot reach Redis at rediss://localhost:"),
        "{said}"
    );

    let made = create(Some(&redis.tls_ca()));
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let key = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    let plain = nightingale::store::redis::RedisStore::open(&redis.url()).unwrap();
    assert_eq!(
        plain
            .api_key(nightingale::operations::hash_key(&key))
            .unwrap()
            .map(|k| k.name)
            .as_deref(),
        Some("ward-7-discharge"),
        "written over TLS, read back over plain TCP"
    );
}
