//! The domain rules Redis must run inside a script to be atomic, checked
//! against their Rust reference on many random cases: which lane a message
//! waits in ([`Lane::of`]) and which code a page gets ([`next_code`]).
//! The rules live in Rust; the scripts are copies that must agree.

use std::convert::Infallible;
use std::sync::LazyLock;

use proptest::collection;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use redis::Script;

use super::plan::instant;
use super::test_server::RedisServer;
use super::{RedisStore, args};
use crate::concern::{CodeRequest, ConcernId, Concerns};
use crate::directory::Id;
use crate::escalation::reply::next_code;
use crate::outbox::{Lane, LaneCases};

/// Which lane a message waits in is decided in Rust ([`Lane::of`]); the
/// scripts keep a queue per lane (`lane_of` in common.lua). Two messages
/// share a queue in Redis exactly when the rule gives them one lane.
#[test]
fn the_scripts_queue_messages_in_the_lanes_the_rust_rule_gives() {
    static LANE_OF: LazyLock<Script> = LazyLock::new(|| {
        Script::new(concat!(
            "#!lua flags=no-writes\n",
            include_str!("scripts/common.lua"),
            "return lane_of(ARGV[1], ARGV[2], ARGV[3])\n"
        ))
    });
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url()).unwrap();
    let cases = LaneCases::new();
    TestRunner::default()
        .run(&cases.messages(2..8), |messages| {
            let lanes: Vec<(Lane, String)> = messages
                .iter()
                .map(|&m| {
                    let (to, concern, staff) = cases.message(m);
                    let queue: String = store
                        .script(
                            &LANE_OF,
                            args([
                                &to.key(),
                                &concern.map(|c| c.to_string()).unwrap_or_default(),
                                &staff.map(Id::as_str).unwrap_or_default(),
                            ]),
                        )
                        .unwrap();
                    (Lane::of(to, concern, staff), queue)
                })
                .collect();
            for (a, queue_a) in &lanes {
                for (b, queue_b) in &lanes {
                    prop_assert_eq!(a == b, queue_a == queue_b);
                }
            }
            Ok(())
        })
        .unwrap();
}

/// Who holds a code in a random clinician's state, as the test writes it.
#[derive(Debug, Clone, Copy)]
enum Holder {
    OpenPage,
    /// A page closed since the quarantine began (true) or before.
    ClosedPage(bool),
    Reserved,
    /// A reservation released since the quarantine began (true) or before.
    Released(bool),
}

/// Which free code a page gets is decided in Rust ([`next_code`], which
/// SQLite calls); Redis must decide it inside `reserve_code.lua` to be
/// atomic. On many random states (codes near the last one given, held by
/// open pages, pages and reservations closed before or within the
/// quarantine, held reservations), the script picks what the rule picks.
#[test]
fn the_reserve_code_script_picks_the_code_the_rust_rule_gives() {
    let server = RedisServer::start();
    let store = RedisStore::open(&server.url()).unwrap();
    let since: i64 = 1_700_000_000_000;
    let holder = prop_oneof![
        Just(Holder::OpenPage),
        any::<bool>().prop_map(Holder::ClosedPage),
        Just(Holder::Reserved),
        any::<bool>().prop_map(Holder::Released),
    ];
    let state = (0u16..=9999, collection::vec((0u32..40, holder), 0..30));
    let clinicians = std::sync::atomic::AtomicUsize::new(0);
    // HSET or ZADD at the key made of `key`, with two arguments.
    let put = |command: &str, key: &[&str], a: &str, b: &str| {
        let cmd = redis::cmd(command)
            .arg(store.key(key))
            .arg(a)
            .arg(b)
            .clone();
        store.command::<i64>(cmd).unwrap();
    };
    let hset = |key: &[&str], field: &str, value: &str| put("HSET", key, field, value);
    let zadd =
        |key: &[&str], score: i64, member: &str| put("ZADD", key, &score.to_string(), member);
    TestRunner::default()
        .run(&state, |(last, held)| {
            let n = clinicians.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let staff = format!("staff{n}");
            let mut in_use = std::collections::HashSet::new();
            for (i, (offset, holder)) in held.iter().enumerate() {
                let code = ((u32::from(last) + offset) % 9999 + 1) as u16;
                let concern = format!("c{i}");
                // Closed at the very start of the quarantine is within it.
                let closed = |within: bool| if within { since } else { since - 1 };
                match *holder {
                    Holder::OpenPage => {
                        hset(&["pg", &staff], &concern, &format!("{code}|1|{since}|"));
                        zadd(&["pg", &staff, "open"], since, &concern);
                    }
                    Holder::ClosedPage(within) => {
                        let at = closed(within);
                        hset(&["pg", &staff], &concern, &format!("{code}|0|0|{at}"));
                        zadd(&["pg", &staff, "closed"], at, &concern);
                    }
                    Holder::Reserved => hset(&["rsv", &staff], &concern, &format!("{code}|")),
                    Holder::Released(within) => hset(
                        &["rsv", &staff],
                        &concern,
                        &format!("{code}|{}", closed(within)),
                    ),
                }
                if matches!(
                    holder,
                    Holder::OpenPage
                        | Holder::Reserved
                        | Holder::ClosedPage(true)
                        | Holder::Released(true)
                ) {
                    in_use.insert(code);
                }
            }
            if last > 0 {
                hset(&["last-code"], &staff, &last.to_string());
            }
            let expected = next_code(last, |c| Ok::<_, Infallible>(in_use.contains(&c)))
                .unwrap_or_else(|never| match never {});
            let at = |ms: i64| instant(&ms.to_string()).unwrap();
            let got = store
                .reserve_code(CodeRequest {
                    concern: ConcernId::new(),
                    staff: &Id::parse(&staff).unwrap(),
                    quarantine_since: at(since),
                    at: at(since + 20),
                })
                .unwrap();
            prop_assert_eq!(got, expected);
            Ok(())
        })
        .unwrap();
}
