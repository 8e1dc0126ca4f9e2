//! Tests of the Redis store that only Redis has: its readiness, durability,
//! backups, Cluster and Sentinel, and reading what older versions stored.

use std::sync::Arc;
use std::time::{Duration, Instant as Wall};

use chrono::TimeDelta;

use super::plan::ms;
use super::test_server::RedisServer;
use super::{LIST_BUDGET, RedisStore, hex, test_server};
use crate::api_keys::{ApiKey, Keys};
use crate::clock::Instant;
use crate::concern::{Concern, ConcernFilter, ConcernId, Concerns};
use crate::directory::{Id, PhoneNumber};
use crate::inbox::{Inbound, InboundKind};
use crate::outbox::OutboxItem;
use crate::reports::{Backlog, Reports};
use crate::store::conformance::purged_once_and_set_aside;
use crate::store_error::StoreError;
use crate::work::{Change, Claim, ClaimOf, NodeId, WorkQueue};

fn sms(key: &str) -> Inbound {
    Inbound {
        key: key.into(),
        kind: InboundKind::Sms {
            from: "+447700900123".into(),
            to: "+447700900000".into(),
            body: "My dressing is leaking".into(),
            media: 0,
        },
        received_at: "2026-11-27T19:05:00Z".parse().unwrap(),
    }
}

/// The inbound items not yet taken in, oldest first, as a node finds
/// them: by claiming them (a test's store is not used by a node after).
/// Write `concern` at `at`, in a change that does nothing else.
fn write_concern_at(store: &RedisStore, at: Instant, concern: &Concern) {
    let concern = Some(concern.clone());
    store
        .apply(Change {
            at,
            concern,
            ..Change::default()
        })
        .unwrap();
}

fn pending(store: &RedisStore, limit: usize) -> Vec<Inbound> {
    let now = "2026-11-27T19:05:00Z".parse().unwrap();
    store
        .claim_of::<Inbound>(&NodeId::new("test"), now, TimeDelta::seconds(30), limit)
        .unwrap()
        .into_iter()
        .map(|c| c.item)
        .collect()
}

#[test]
fn a_key_stored_before_keys_had_grants_reads_as_its_own_client_with_the_old_keys_scopes() {
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url()).unwrap();
    // What `create_api_key` wrote before ADR 21: a name and a time.
    let made: Instant = "2026-11-25T10:00:00Z".parse().unwrap();
    for (field, value) in [
        (&["api-key"][..], "ward-7-discharge".to_owned()),
        (&["api-key", "created"][..], ms(made)),
    ] {
        store
            .command::<i64>(
                redis::cmd("HSET")
                    .arg(store.key(field))
                    .arg(hex(&[9; 32]))
                    .arg(value)
                    .clone(),
            )
            .unwrap();
    }
    let key = store.api_key([9; 32]).unwrap().unwrap();
    assert_eq!(
        key,
        ApiKey::made(
            "ward-7-discharge",
            crate::api_keys::Scopes::BEFORE_SCOPES,
            made
        )
    );
    let at = made + TimeDelta::days(3);
    assert!(store.revoke_api_key("ward-7-discharge", at).unwrap());
    assert_eq!(
        store.api_key([9; 32]).unwrap().unwrap().revoked_at,
        Some(at)
    );
}

#[test]
fn readiness_fails_while_redis_is_down_and_returns_when_it_is_back() {
    let mut server = RedisServer::start();
    let store = RedisStore::open(&server.url()).unwrap();
    store.ping().unwrap();

    server.kill();
    for _ in 0..3 {
        let asked = Wall::now();
        let error = store.ping().expect_err("Redis is down");
        assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "/readyz must answer promptly, took {:?}",
            asked.elapsed()
        );
    }
    assert!(
        store.record_inbound(&sms("SM1")).is_err(),
        "nor is a webhook stored"
    );

    server.restart();
    let deadline = Wall::now() + Duration::from_secs(10);
    while store.ping().is_err() {
        assert!(Wall::now() < deadline, "the store did not reconnect");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(store.record_inbound(&sms("SM1")).unwrap());
}

#[test]
fn readiness_fails_when_redis_refuses_writes() {
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url()).unwrap();
    store.ping().unwrap();
    // As when it cannot write its append-only file, or is out of memory.
    assert!(server.command("CONFIG SET maxmemory 1").starts_with("+OK"));
    let error = store.ping().expect_err("Redis refuses writes");
    assert!(error.to_string().contains("OOM"), "{error}");
    // What is stored can still be read (the read scripts say they do not write).
    let now = "2026-11-27T19:05:00Z".parse().unwrap();
    assert_eq!(store.backlog(now).unwrap(), Backlog::default());
    let all = ConcernFilter {
        limit: 10,
        ..ConcernFilter::default()
    };
    assert!(store.concerns(&all).unwrap().is_empty());
    assert!(server.command("CONFIG SET maxmemory 0").starts_with("+OK"));
    store.ping().unwrap();
}

#[test]
fn what_was_acknowledged_survives_redis_being_killed() {
    let mut server = RedisServer::start();
    let store = RedisStore::open(&server.url()).unwrap();
    for i in 0..200 {
        assert!(store.record_inbound(&sms(&format!("SM{i}"))).unwrap());
    }
    // SIGKILL, as a crash: the append-only file has every acknowledged
    // write, since Redis writes it before it answers.
    server.restart();
    let store = RedisStore::open(&server.url()).unwrap();
    assert_eq!(pending(&store, 1000).len(), 200);
    assert!(!store.record_inbound(&sms("SM7")).unwrap(), "still a retry");
}

#[test]
fn a_backup_is_a_consistent_copy_another_redis_loads() {
    // Redis waits five seconds by default before streaming a snapshot,
    // in case more replicas ask; a test need not.
    let server = RedisServer::start_with(&["--repl-diskless-sync-delay", "0"]);
    let store = RedisStore::open(&server.url()).unwrap();
    assert!(store.record_inbound(&sms("SM1")).unwrap());
    let secret = store.secret("page-links").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nightingale.rdb");
    store.backup(&file).unwrap();
    assert!(
        store.backup(&file).is_err(),
        "an existing file is not overwritten"
    );

    let restored = RedisServer::start_from_rdb(&file);
    let copy = RedisStore::open(&restored.url()).unwrap();
    assert_eq!(pending(&copy, 10), [sms("SM1")]);
    assert_eq!(copy.secret("page-links").unwrap(), secret);
}

/// Cases beyond the conformance suite, run on both backends so that
/// Redis keeps to what SQLite does.
fn on_both(case: impl Fn(Arc<dyn crate::store::Store>)) {
    let dir = tempfile::tempdir().unwrap();
    case(Arc::new(
        crate::store::sqlite::SqliteStore::open(&dir.path().join("n.db")).unwrap(),
    ));
    let server = RedisServer::start();
    case(Arc::new(RedisStore::open(&server.url()).unwrap()));
}

fn concern(sender: &str) -> Concern {
    Concern {
        id: ConcernId::new(),
        enrolment: None,
        service: None,
        sender: PhoneNumber::parse(sender).unwrap().into(),
        party: crate::concern::Party::Patient,
        opened_at: "2026-11-27T19:05:00Z".parse().unwrap(),
        text: "My dressing is leaking".into(),
        escalation: crate::escalation::Escalation::new(false),
        pictures_explained: false,
        recognised: None,
        calls: Vec::new(),
        version: 0,
    }
}

#[test]
fn a_resolved_concern_cannot_be_stored_again_as_new() {
    on_both(|store| {
        let now = "2026-11-27T19:05:00Z".parse().unwrap();
        let mut c = concern("+447700900123");
        c.escalation.status = crate::escalation::Status::Resolved {
            by: None,
            at: now,
            note: None,
        };
        let new = |c: &Concern| Change {
            at: now,
            concern: Some(c.clone()),
            ..Change::default()
        };
        store.apply(new(&c)).unwrap();
        let again = store.apply(new(&c));
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    });
}

#[test]
fn a_text_stored_by_a_node_whose_clock_runs_ahead_is_claimed_at_once() {
    on_both(|store| {
        let mut item = sms("SM1");
        let now = item.received_at;
        item.received_at = now + TimeDelta::minutes(1);
        assert!(store.record_inbound(&item).unwrap());
        let claimed = store
            .claim_of::<Inbound>(&NodeId::new("a"), now, TimeDelta::seconds(30), 10)
            .unwrap();
        assert_eq!(claimed.len(), 1);
    });
}

#[test]
fn a_released_claim_cannot_be_renewed_and_an_outcome_ends_any_claim_on_its_text() {
    on_both(|store| {
        let now: Instant = "2026-11-27T19:05:00Z".parse().unwrap();
        let lease = TimeDelta::seconds(30);
        let a = NodeId::new("a");
        let text = |to: &str| crate::outbox::NewOutbox {
            concern: None,
            to: PhoneNumber::parse(to).unwrap().into(),
            body: "Hello".into(),
            purpose: crate::timeline::Purpose::Notice,
            staff: None,
            recipient: "patient".into(),
            step: None,
        };
        store
            .apply(Change {
                at: now,
                outbox: vec![text("+447700900123"), text("+447700900124")],
                ..Change::default()
            })
            .unwrap();
        let held = store.claim_of::<OutboxItem>(&a, now, lease, 1).unwrap();
        store.release(&[held[0].claim.clone()]).unwrap();
        assert!(
            store
                .renew(&[held[0].claim.clone()], now + lease)
                .unwrap()
                .is_empty(),
            "released is released"
        );
        // A holds both; B's change cancels the second (as a concern
        // that moved on does): A's claim on it ends with it.
        let held = store.claim_of::<OutboxItem>(&a, now, lease, 2).unwrap();
        let claims: Vec<Claim> = held.iter().map(|h| h.claim.clone()).collect();
        store
            .apply(Change {
                at: now,
                outbox_outcomes: vec![crate::outbox::OutboxOutcome::Cancelled {
                    id: held[1].item.id,
                }],
                ..Change::default()
            })
            .unwrap();
        let renewed = store.renew(&claims, now + lease).unwrap();
        assert_eq!(renewed.len(), 1);
        assert_eq!(renewed[0].key, held[0].claim.key);
    });
}

#[test]
fn purging_clears_words_the_code_no_longer_knows_and_sets_aside_what_it_cannot_read() {
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url()).unwrap();
    // Two concerns stored already resolved (as one opened and closed in
    // one step would be).
    let resolved_at: Instant = "2026-11-28T09:00:00Z".parse().unwrap();
    let [readable, unreadable] = ["+447700900801", "+447700900802"].map(|sender| {
        let mut c = concern(sender);
        c.escalation.status = crate::escalation::Status::Resolved {
            by: None,
            at: resolved_at,
            note: Some("Dressing changed".into()),
        };
        c
    });
    for c in [&readable, &unreadable] {
        write_concern_at(&store, resolved_at, c);
    }
    // A forward as early versions stored it, quoting the sender; an
    // entry that does not read; a message on a concern whose record no
    // longer reads.
    let push = |id: ConcernId, entry: &str| {
        store
            .command::<i64>(
                redis::cmd("RPUSH")
                    .arg(store.key(&["c", &id.to_string(), "timeline"]))
                    .arg(entry)
                    .clone(),
            )
            .unwrap();
    };
    push(
        readable.id,
        r#"{"at":"2026-11-27T19:20:00Z","event":"forwarded","staff":"chen","name":"Chen Li","text":"SECRET leg"}"#,
    );
    push(
        readable.id,
        r#"{"event":"no such event","text":"SECRET shin"}"#,
    );
    push(
        unreadable.id,
        r#"{"at":"2026-11-27T19:05:00Z","event":"received","from":"patient","text":"SECRET knee"}"#,
    );
    store
        .command::<i64>(
            redis::cmd("HSET")
                .arg(store.key(&["c", &unreadable.id.to_string()]))
                .arg("data")
                .arg(r#"{"broken": true}"#)
                .clone(),
        )
        .unwrap();

    let purged = store
        .purge(resolved_at + TimeDelta::seconds(1), "[removed]")
        .unwrap();
    assert_eq!((purged.concerns, purged.set_aside), (1, 1));
    for id in [readable.id, unreadable.id] {
        let raw: Vec<String> = store
            .command(
                redis::cmd("LRANGE")
                    .arg(store.key(&["c", &id.to_string(), "timeline"]))
                    .arg(0)
                    .arg(-1)
                    .clone(),
            )
            .unwrap();
        assert!(raw.iter().all(|r| !r.contains("SECRET")), "{raw:?}");
    }
    purged_once_and_set_aside(&store, readable.id, resolved_at);
}

#[test]
fn a_list_walks_past_many_that_do_not_match_in_parts() {
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url()).unwrap();
    let (ward, nursing) = (
        Id::parse("cardiology-ward-7").unwrap(),
        Id::parse("community-nursing-north").unwrap(),
    );
    let opened: Instant = "2026-11-27T19:05:00Z".parse().unwrap();
    // The one community nursing concern is the oldest, behind more ward
    // concerns than one script looks at.
    for i in 0..=LIST_BUDGET + 200 {
        let mut c = concern(&format!("+4479111{i:05}"));
        c.service = Some(if i == 0 {
            nursing.clone()
        } else {
            ward.clone()
        });
        c.opened_at = opened + TimeDelta::seconds(i as i64);
        write_concern_at(&store, c.opened_at, &c);
    }
    let found = store
        .concerns(&ConcernFilter {
            service: Some(nursing),
            limit: 5,
            ..ConcernFilter::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].opened_at, opened);
    let newest = store
        .concerns(&ConcernFilter {
            service: Some(ward),
            limit: LIST_BUDGET + 50,
            ..ConcernFilter::default()
        })
        .unwrap();
    assert_eq!(newest.len(), LIST_BUDGET + 50);
    assert!(newest.windows(2).all(|w| w[0].opened_at > w[1].opened_at));
}

#[test]
fn on_a_cluster_the_backup_comes_from_the_primary_holding_the_namespace() {
    let cluster = test_server::RedisCluster::start();
    for node in cluster.nodes() {
        node.command("CONFIG SET repl-diskless-sync-delay 0");
    }
    // Three trusts, so at least two primaries hold one each.
    let dir = tempfile::tempdir().unwrap();
    for trust in ["north", "south", "west"] {
        let url = format!("{}?namespace={trust}", cluster.url());
        let store = RedisStore::open(&url).unwrap();
        assert!(store.record_inbound(&sms(&format!("SM-{trust}"))).unwrap());
        let file = dir.path().join(format!("{trust}.rdb"));
        store.backup(&file).unwrap();
        let restored = RedisServer::start_from_rdb(&file);
        let copy = RedisStore::open(&format!("{}?namespace={trust}", restored.url())).unwrap();
        assert_eq!(pending(&copy, 10), [sms(&format!("SM-{trust}"))]);
    }
}

#[test]
fn concerns_stored_before_the_service_index_join_it_when_the_store_opens() {
    let server = RedisServer::start();
    let ward = Id::parse("cardiology-ward-7").unwrap();
    let (from, until) = (
        "2026-11-23T00:00:00Z".parse().unwrap(),
        "2026-11-30T00:00:00Z".parse().unwrap(),
    );
    let store = RedisStore::open_in(&server.url(), "before").unwrap();
    // More than one batch of them.
    let mut ids = Vec::new();
    for i in 0..501 {
        let c = Concern {
            service: Some(ward.clone()),
            opened_at: from + chrono::TimeDelta::seconds(i),
            ..concern(&format!("+4477009{i:05}"))
        };
        ids.push(c.id);
        write_concern_at(&store, c.opened_at, &c);
    }
    // As a store written before reports would have it: no index, no marker.
    let _: () = store
        .command(
            redis::cmd("DEL")
                .arg(store.key(&["c", "service", ward.as_str()]))
                .arg(store.key(&["meta", "service-index"]))
                .clone(),
        )
        .unwrap();
    assert!(
        store
            .concerns_opened(&ward, from..until)
            .unwrap()
            .is_empty()
    );
    let reopened = RedisStore::open_in(&server.url(), "before").unwrap();
    let found: Vec<ConcernId> = reopened
        .concerns_opened(&ward, from..until)
        .unwrap()
        .into_iter()
        .map(|(c, _)| c.id)
        .collect();
    assert_eq!(found, ids);
}

#[test]
fn nodes_on_one_redis_see_one_store() {
    let server = RedisServer::start();
    let one = RedisStore::open(&server.url()).unwrap();
    let two = RedisStore::open(&server.url()).unwrap();
    assert!(one.record_inbound(&sms("SM1")).unwrap());
    assert!(!two.record_inbound(&sms("SM1")).unwrap());
    assert_eq!(one.secret("links").unwrap(), two.secret("links").unwrap());
    // Another namespace on the same server is another store.
    let other = RedisStore::open(&format!("{}?namespace=other-trust", server.url())).unwrap();
    assert!(pending(&other, 10).is_empty());
    assert!(other.record_inbound(&sms("SM1")).unwrap());
}

#[test]
fn opening_an_unreachable_redis_fails_saying_where_without_the_password() {
    let server = RedisServer::start();
    let url = format!("redis://:hunter2@127.0.0.1:{}", server.port());
    drop(server);
    let Err(error) = RedisStore::open(&url) else {
        panic!("opened a Redis that is not running");
    };
    let message = error.to_string();
    assert!(
        message.contains("cannot reach Redis at redis://127.0.0.1:"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Wall::now() + Duration::from_secs(30);
    while !done() {
        assert!(Wall::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn behind_sentinel_the_store_follows_the_master_when_it_dies() {
    // Redis waits five seconds by default before a replica's first sync,
    // in case more replicas ask; a test need not.
    let mut first = RedisServer::start_with(&["--repl-diskless-sync-delay", "0"]);
    let second = RedisServer::start();
    assert!(
        second
            .command(&format!("REPLICAOF 127.0.0.1 {}", first.port()))
            .starts_with("+OK")
    );
    // A sentinel learns of replicas from the master's INFO, so start it
    // once the replica is there (else it waits ten seconds to look again).
    until("the replica to connect", || {
        first
            .command("INFO replication")
            .contains("connected_slaves:1")
    });
    let sentinel = RedisServer::start_sentinel("nightingale", first.port());
    let url = format!("redis+sentinel://127.0.0.1:{}/nightingale", sentinel.port());
    let store = RedisStore::open(&url).unwrap();
    assert!(store.record_inbound(&sms("SM1")).unwrap());
    // Replication is asynchronous: until the replica has it, SM1 would
    // be lost with the master (docs/deploy.md says so; a run of this
    // test once showed it).
    until("the replica to have SM1", || {
        second.command("EXISTS {ng}:in:SM1").starts_with(":1")
    });
    until("the sentinel to know the replica", || {
        sentinel
            .command("SENTINEL REPLICAS nightingale")
            .contains(&second.port().to_string())
    });

    first.kill();
    // Writes fail (unavailable: the webhook answers 503 and the provider
    // retries) until Sentinel has promoted the replica; then the store
    // finds the new master by itself.
    let died = Wall::now();
    until("a write to land on the new master", || {
        store.record_inbound(&sms("SM2")).is_ok()
    });
    eprintln!(
        "writes failed for {:?} after the master died",
        died.elapsed()
    );
    assert!(second.command("ROLE").contains("master"));
    let direct = RedisStore::open(&second.url()).unwrap();
    let keys: Vec<String> = pending(&direct, 10).into_iter().map(|i| i.key).collect();
    assert_eq!(keys, ["SM1", "SM2"]);
    store.ping().unwrap();
}

#[test]
fn every_lua_file_in_the_scripts_folder_is_a_declared_script() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/redis/scripts");
    let mut on_disk: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut declared: Vec<String> = super::scripts::FILES
        .iter()
        .map(|f| format!("{f}.lua"))
        .collect();
    declared.sort();
    assert_eq!(on_disk, declared);
}
