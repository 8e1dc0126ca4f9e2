//! The SQLite store's own tests: what only this backend has (its
//! writer, its schema, its query plans); the cases every backend must pass
//! are in `store::conformance`.

use super::*;

use super::concerns::{CODES_IN_USE, TIMELINE_OF, concerns_query};
use super::reports::CONCERNS_OPENED;
use super::schema::MIGRATIONS;
use super::work::{claimable_sql, next_due_sql};
use crate::api_keys::ApiKey;
use crate::api_keys::Keys;
use crate::clock::Instant;
use crate::concern::ConcernKey;
use crate::concern::Concerns;
use crate::concern::Party;
use crate::concern::{Concern, ConcernId};
use crate::concern::{ConcernFilter, ConcernStatus};
use crate::directory::{EnrolmentId, Id, PhoneNumber};
use crate::escalation::{Escalation, StaffRef, Status};
use crate::outbox::OutboxItem;
use crate::store::codec::{ms, to_json};
use crate::store::conformance::purged_once_and_set_aside;
use crate::work::WorkQueue;
use crate::work::{Change, ClaimOf, WorkKind};
use chrono::TimeDelta;
use rusqlite::{Connection, params};

#[test]
fn a_key_stored_before_keys_had_scopes_reads_as_its_own_client_with_the_old_keys_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.db");
    let store = SqliteStore::open(&path).unwrap();
    // What `create_api_key` wrote before ADR 21: the migration leaves
    // such rows without a client or scopes.
    let made: Instant = "2026-11-25T10:00:00Z".parse().unwrap();
    Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO api_keys (hash, name, created_at) VALUES (?1, 'ward-7-discharge', ?2)",
            params![&[9u8; 32][..], ms(made)],
        )
        .unwrap();
    assert_eq!(
        store.api_key([9; 32]).unwrap().unwrap(),
        ApiKey::made(
            "ward-7-discharge",
            crate::api_keys::Scopes::BEFORE_SCOPES,
            made
        )
    );
    assert_eq!(store.api_keys().unwrap().len(), 1);
}

fn accepted_concern() -> Concern {
    let mut escalation = Escalation::new(false);
    escalation.status = Status::Accepted {
        by: StaffRef {
            id: Id::parse("chen").unwrap(),
            name: "Chen Li".into(),
            role: "Registrar".into(),
        },
        at: "2026-11-27T19:15:00Z".parse().unwrap(),
    };
    Concern {
        id: ConcernId::new(),
        enrolment: Some(EnrolmentId::new()),
        service: Some(Id::parse("cardiology-ward-7").unwrap()),
        sender: PhoneNumber::parse("+447700900801").unwrap().into(),
        party: Party::Patient,
        opened_at: "2026-11-27T19:05:00Z".parse().unwrap(),
        text: "My dressing is leaking".into(),
        escalation,
        pictures_explained: false,
        recognised: None,
        calls: Vec::new(),
        version: 0,
    }
}

#[test]
fn concerns_stored_before_the_list_existed_are_listed_after_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let c = accepted_concern();
    {
        // A store as the previous version left it: three migrations.
        let conn = open_connection(&path).unwrap();
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 3).unwrap();
        conn.execute(
            "INSERT INTO concerns (id, sender, resolved, opened_at, data) VALUES (?1, ?2, 0, ?3, ?4)",
            params![c.id.to_string(), c.sender.key(), ms(c.opened_at), to_json(&c).unwrap()],
        )
        .unwrap();
        // A row whose JSON has no status must not stop the upgrade (and `serve` with it).
        conn.execute(
            "INSERT INTO concerns (id, sender, resolved, opened_at, data) VALUES ('x', '+447700900802', 1, 0, '{}')",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let filter = ConcernFilter {
        statuses: vec![ConcernStatus::Accepted],
        service: c.service.clone(),
        enrolment: c.enrolment,
        limit: 10,
        ..ConcernFilter::default()
    };
    // Stored concerns start at version 1.
    assert_eq!(
        store.concerns(&filter).unwrap(),
        [Concern { version: 1, ..c }]
    );
}

#[test]
fn purging_clears_words_the_code_no_longer_knows_and_sets_aside_what_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("n.db")).unwrap();
    let resolved_at: Instant = "2026-11-28T09:00:00Z".parse().unwrap();
    let resolve = |mut c: Concern| {
        c.escalation.status = Status::Resolved {
            by: None,
            at: resolved_at,
            note: None,
        };
        store
            .apply(Change {
                at: resolved_at,
                concern: Some(c),
                ..Change::default()
            })
            .unwrap();
    };
    let (readable, unreadable) = (accepted_concern(), accepted_concern());
    let unreadable = Concern {
        sender: PhoneNumber::parse("+447700900802").unwrap().into(),
        ..unreadable
    };
    resolve(readable.clone());
    resolve(unreadable.clone());
    // A forward as early versions stored it, quoting the sender; a
    // message on the concern whose record no longer reads; and a
    // timeline entry that does not read either.
    let (a, b) = (readable.id.to_string(), unreadable.id.to_string());
    store
        .write(move |tx| {
            tx.execute(
                "INSERT INTO timeline (concern_id, at, data) VALUES (?1, 0, ?2)",
                params![a, r#"{"at":"2026-11-27T19:20:00Z","event":"forwarded","staff":"chen","name":"Chen Li","text":"SECRET leg"}"#],
            )?;
            tx.execute(
                "INSERT INTO timeline (concern_id, at, data) VALUES (?1, 0, ?2)",
                params![a, r#"{"event":"no such event","text":"SECRET shin"}"#],
            )?;
            tx.execute(
                "INSERT INTO timeline (concern_id, at, data) VALUES (?1, 0, ?2)",
                params![b, r#"{"at":"2026-11-27T19:05:00Z","event":"received","from":"patient","text":"SECRET knee"}"#],
            )?;
            tx.execute("UPDATE concerns SET data = '{\"broken\": true}' WHERE id = ?1", params![b])?;
            Ok(())
        })
        .unwrap();

    let purged = store
        .purge(resolved_at + TimeDelta::seconds(1), "[removed]")
        .unwrap();
    assert_eq!((purged.concerns, purged.set_aside), (1, 1));
    let rows: Vec<String> = store
        .read(|c| {
            let mut stmt = c.prepare("SELECT data FROM timeline")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect()
        })
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| !r.contains("SECRET")), "{rows:?}");
    purged_once_and_set_aside(&store, readable.id, resolved_at);
}

/// `EXPLAIN QUERY PLAN` of `sql` with these parameters (every one 1
/// when `None`), one step a line.
fn plan(
    store: &SqliteStore,
    sql: &str,
    values: Option<Vec<rusqlite::types::Value>>,
) -> Vec<String> {
    store
        .read(|c| {
            let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            let values = values.unwrap_or_else(|| {
                vec![rusqlite::types::Value::Integer(1); stmt.parameter_count()]
            });
            let rows = stmt.query_map(rusqlite::params_from_iter(values), |r| r.get(3))?;
            rows.collect()
        })
        .unwrap()
}

#[test]
fn claiming_and_next_due_read_indexes_in_order_and_never_scan_a_table() {
    // The engine asks for `next_due` after every idle pass, with 100,000
    // timers waiting: each part must stop at its first row.
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("n.db")).unwrap();
    let queries = [
        ("next_due", next_due_sql(&WorkKind::ALL)),
        ("claim inbound", claimable_sql(WorkKind::Inbound)),
        ("claim timers", claimable_sql(WorkKind::Timer)),
        ("claim outbox", claimable_sql(WorkKind::Outbox)),
        ("claim notices", claimable_sql(WorkKind::Notice)),
        ("codes in use", CODES_IN_USE.to_owned()),
    ];
    for (name, sql) in queries {
        let plan = plan(&store, &sql, None);
        for step in &plan {
            let whole_table = step.starts_with("SCAN ")
                && !step.contains(" USING ")
                && !step.starts_with("SCAN (")
                && step != "SCAN CONSTANT ROW";
            assert!(!whole_table, "{name} reads a whole table: {plan:#?}");
            assert!(
                !step.contains("TEMP B-TREE FOR ORDER BY"),
                "{name} sorts: {plan:#?}"
            );
        }
    }
}

#[test]
fn every_shape_of_list_is_served_by_an_index_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("n.db")).unwrap();
    let key = ConcernKey {
        opened_at: "2026-11-27T19:05:00Z".parse().unwrap(),
        id: ConcernId::new(),
    };
    let all = || ConcernFilter {
        after: Some(key),
        limit: 50,
        ..ConcernFilter::default()
    };
    let shapes = [
        ("newest", "concerns_newest", all()),
        (
            "since",
            "concerns_newest",
            ConcernFilter {
                opened_since: Some(key.opened_at),
                ..all()
            },
        ),
        (
            "unresolved",
            "concerns_unresolved_newest",
            ConcernFilter {
                statuses: vec![ConcernStatus::Open, ConcernStatus::Accepted],
                ..all()
            },
        ),
        (
            "open",
            "concerns_unresolved_newest",
            ConcernFilter {
                statuses: vec![ConcernStatus::Open],
                ..all()
            },
        ),
        (
            "resolved",
            "concerns_newest",
            ConcernFilter {
                statuses: vec![ConcernStatus::Resolved],
                ..all()
            },
        ),
        (
            "service",
            // Migration 10's index, for reports, serves this list too.
            "concerns_by_service",
            ConcernFilter {
                service: Some(Id::parse("cardiology-ward-7").unwrap()),
                ..all()
            },
        ),
        (
            "enrolment",
            "concerns_by_enrolment",
            ConcernFilter {
                enrolment: Some(EnrolmentId::new()),
                ..all()
            },
        ),
    ];
    for (name, index, filter) in shapes {
        let (sql, values) = concerns_query(&filter);
        let plan = plan(&store, &sql, Some(values)).join("; ");
        assert!(
            plan.contains(&format!("USING INDEX {index} (")),
            "{name}: {plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{name} sorts: {plan}");
    }
    // A read-own key's list: its client's enrolments by their index,
    // each one's concerns by theirs, then sorted. That sorts one
    // client's concerns, never walks the trust's: the cost grows with
    // what the client enrolled.
    let (sql, values) = concerns_query(&ConcernFilter {
        client: Some("ward-7-discharge".into()),
        ..all()
    });
    let own = plan(&store, &sql, Some(values)).join("; ");
    for index in ["enrolments_by_client (client=?)", "concerns_by_enrolment ("] {
        assert!(own.contains(&format!("USING INDEX {index}")), "{own}");
    }
    assert!(!own.contains("SCAN"), "{own}");
    // A service's week, for its report; each concern's timeline by its index.
    let week = plan(&store, CONCERNS_OPENED, None).join("; ");
    assert!(
        week.contains(
            "USING INDEX concerns_by_service (service=? AND opened_at>? AND opened_at<?)"
        ),
        "{week}"
    );
    assert!(!week.contains("TEMP B-TREE"), "{week}");
    let timeline = plan(&store, TIMELINE_OF, None).join("; ");
    assert!(
        timeline.contains("USING INDEX timeline_by_concern"),
        "{timeline}"
    );
}

#[test]
fn the_holder_of_the_serve_lock_takes_back_every_claim_a_killed_process_held() {
    use crate::work::NodeId;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.db");
    let at: Instant = "2026-11-27T19:05:00Z".parse().unwrap();
    let lease = TimeDelta::seconds(3);
    let text = |to: &str| crate::outbox::NewOutbox {
        concern: None,
        to: PhoneNumber::parse(to).unwrap().into(),
        body: "You have concern 1".to_owned(),
        purpose: crate::timeline::Purpose::StaffNotice,
        staff: None,
        recipient: "Dr Chen".to_owned(),
        step: None,
    };
    {
        // The process that is killed: it claimed both texts and sent neither.
        let killed = SqliteStore::open(&path).unwrap();
        killed
            .apply(Change {
                at,
                outbox: vec![text("+447700900801"), text("+447700900802")],
                ..Change::default()
            })
            .unwrap();
        let held = killed
            .claim_of::<OutboxItem>(&NodeId::new("killed"), at, lease, 10)
            .unwrap();
        assert_eq!(held.len(), 2);
    }
    let restarted = SqliteStore::open(&path).unwrap();
    let node = NodeId::new("restarted");
    assert!(
        restarted
            .claim_of::<OutboxItem>(&node, at, lease, 10)
            .unwrap()
            .is_empty(),
        "without taking them back, the dead process's claims hold for their lease"
    );
    assert_eq!(restarted.next_due().unwrap(), Some(at + lease));

    let lock = ServeLock::acquire(&path).unwrap();
    assert_eq!(restarted.take_back_claims(&lock).unwrap(), 2);
    assert_eq!(restarted.next_due().unwrap(), Some(at), "due again at once");
    let again = restarted
        .claim_of::<OutboxItem>(&node, at, lease, 10)
        .unwrap();
    assert_eq!(again.len(), 2, "claimed again at the same instant");
    assert!(
        again
            .iter()
            .all(|c| c.item.in_flight && c.claim.attempts == 1),
        "each may have reached the provider, so it is asked about first, and counts an attempt"
    );
    assert_eq!(
        restarted.take_back_claims(&lock).unwrap(),
        2,
        "a second start takes back the claims of the first"
    );
}

#[test]
fn a_store_whose_last_writes_failed_for_want_of_space_is_not_ready_until_one_stores_something() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("n.db")).unwrap();
    store.ping().unwrap();
    let cap = |extra: i64| {
        store
            .write(move |tx| {
                let pages: i64 = tx.query_row("PRAGMA page_count", [], |r| r.get(0))?;
                let cap: i64 = tx.query_row(
                    &format!("PRAGMA max_page_count = {}", pages + extra),
                    [],
                    |r| r.get(0),
                )?;
                Ok(cap)
            })
            .unwrap()
    };
    // A message of 64 KB, as a webhook stores it, with no room for it:
    // the file may grow no further, as on a full disk.
    let message = |key: &'static str| {
        store.write(move |tx| {
            tx.execute(
                "INSERT INTO inbound (key, data, received_at) VALUES (?1, hex(randomblob(32768)), 0)",
                params![key],
            )?;
            Ok(())
        })
    };
    cap(0);
    let refused = message("sms:SM1").unwrap_err();
    assert!(matches!(refused, StoreError::Unavailable(_)), "{refused:?}");
    assert!(
        store.ping().is_err(),
        "not ready: the last write found no room"
    );

    // Room again (an operator freed space): the probe alone may fit where
    // a message did not, so readiness waits for a write that stores one.
    cap(10_000);
    assert!(
        store.ping().is_err(),
        "not ready until a write has stored something again"
    );
    message("sms:SM2").unwrap();
    store.ping().unwrap();
}

#[test]
fn texts_queued_before_priorities_get_theirs_and_their_lanes_on_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let concern = ConcernId::new();
    let (before, _) = MIGRATIONS.split_at(super::schema::OUTBOX_PRIORITIES - 1);
    {
        // A store as the version before priorities left it, with texts
        // waiting: a welcome to Margaret and, behind it, our answer to her
        // text; a handover to Dr Chen and a page to him.
        let conn = open_connection(&path).unwrap();
        for sql in before {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", before.len() as i64)
            .unwrap();
        let insert = |to: &str,
                      purpose: &str,
                      staff: Option<&str>,
                      concern: Option<String>,
                      body: &str| {
            conn.execute(
                "INSERT INTO outbox (concern_id, to_number, body, purpose, staff, recipient, due_at, queued_at, ready_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'x', 0, 0, 0)",
                params![concern, to, body, purpose, staff],
            )
            .unwrap();
        };
        insert("+447700900801", "welcome", None, None, "welcome");
        insert(
            "+447700900301",
            "staff_notice",
            Some("chen"),
            None,
            "handover",
        );
        insert(
            "+447700900801",
            "notice",
            None,
            Some(concern.to_string()),
            "we have it",
        );
        insert(
            "+447700900301",
            "page",
            Some("chen"),
            Some(concern.to_string()),
            "page",
        );
        // A text to Dr Chen's number as a patient's would be: the same
        // lane as his texts about no concern (`Lane::of`), not one of its own.
        insert("+447700900301", "welcome", None, None, "same lane");
    }
    let store = SqliteStore::open(&path).unwrap();
    let claimed: Vec<String> = store
        .claim_of::<OutboxItem>(
            &crate::work::NodeId::new("a"),
            Instant::UNIX_EPOCH,
            TimeDelta::seconds(30),
            10,
        )
        .unwrap()
        .into_iter()
        .map(|c| c.item.message.body)
        .collect();
    // Margaret's welcome goes as urgently as the answer behind it.
    assert_eq!(claimed, ["welcome", "page", "handover"]);
}

/// Which lane a message waits in is decided in Rust ([`crate::outbox::Lane::of`]);
/// SQLite stores it (`to_number`, `lane_concern`) and sends only the first
/// unsent message of each. On many random sets of messages, what it hands
/// out is exactly the first of each lane the rule gives.
#[test]
fn the_store_holds_back_messages_in_the_lanes_the_rust_rule_gives() {
    use crate::outbox::{Lane, LaneCases, NewOutbox};
    use crate::timeline::Purpose;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let lanes = LaneCases::new();
    let dir = tempfile::tempdir().unwrap();
    let cases = std::sync::atomic::AtomicUsize::new(0);
    TestRunner::new(Config::with_cases(64))
        .run(&lanes.messages(1..8), |messages| {
            let case = cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let store = SqliteStore::open(&dir.path().join(format!("{case}.db"))).unwrap();
            let outbox: Vec<NewOutbox> = messages
                .iter()
                .enumerate()
                .map(|(i, &m)| {
                    let (to, concern, staff) = lanes.message(m);
                    NewOutbox {
                        concern,
                        to: to.clone(),
                        body: i.to_string(),
                        // One priority, so the order is the order queued.
                        purpose: Purpose::Notice,
                        staff: staff.cloned(),
                        recipient: "x".into(),
                        step: None,
                    }
                })
                .collect();
            let mut expected: Vec<String> = Vec::new();
            let mut lanes: Vec<Lane> = Vec::new();
            for m in &outbox {
                if !lanes.contains(&m.lane()) {
                    lanes.push(m.lane());
                    expected.push(m.body.clone());
                }
            }
            let now = Instant::UNIX_EPOCH;
            store
                .apply(Change {
                    at: now,
                    outbox,
                    ..Change::default()
                })
                .unwrap();
            let claimed: Vec<String> = store
                .claim_of::<OutboxItem>(
                    &crate::work::NodeId::new("a"),
                    now,
                    TimeDelta::seconds(30),
                    100,
                )
                .unwrap()
                .into_iter()
                .map(|c| c.item.message.body)
                .collect();
            prop_assert_eq!(claimed, expected);
            Ok(())
        })
        .unwrap();
}
