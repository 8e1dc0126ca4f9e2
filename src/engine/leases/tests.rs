//! Renewal against the real store: what is renewed, when, and what is
//! given up once another node has the work.

use std::path::Path;

use super::*;
use crate::directory::PhoneNumber;
use crate::outbox::NewOutbox;
use crate::outbox::OutboxItem;
use crate::store::sqlite::SqliteStore;
use crate::timeline::Purpose;
use crate::work::{Change, ClaimOf, NodeId, WorkQueue};

fn at(seconds: f64) -> Instant {
    let start: Instant = "2026-11-27T19:05:00Z".parse().unwrap();
    start + TimeDelta::milliseconds((seconds * 1000.0) as i64)
}

/// A fresh store with one text waiting to be sent at 19:05.
fn store(dir: &Path) -> Arc<dyn Store> {
    let store = SqliteStore::open(&dir.join("n.db")).unwrap();
    store
        .apply(Change {
            at: at(0.0),
            outbox: vec![NewOutbox {
                concern: None,
                to: PhoneNumber::parse("+447700900801").unwrap().into(),
                body: "Your nurse will call".to_owned(),
                purpose: Purpose::StaffNotice,
                staff: None,
                recipient: "someone".to_owned(),
                step: None,
            }],
            ..Change::default()
        })
        .unwrap();
    Arc::new(store)
}

fn claim(store: &Arc<dyn Store>, node: &str, now: Instant) -> Vec<Claim> {
    store
        .claim_of::<OutboxItem>(&NodeId::new(node), now, LEASE, 10)
        .unwrap()
        .into_iter()
        .map(|c| c.claim)
        .collect()
}

#[tokio::test]
async fn a_held_claim_is_renewed_every_third_of_a_lease_and_let_go_when_done() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let leases = Arc::new(Leases::default());
    let claims = claim(&store, "node-a", at(0.0));
    let holding = leases.hold(&claims);
    assert_eq!(leases.renew_at(), Some(at(1.0)), "a third of the way in");

    assert_eq!(
        leases.renew_due(&store, at(0.5)).await.unwrap(),
        0,
        "not yet"
    );
    assert_eq!(leases.renew_due(&store, at(1.2)).await.unwrap(), 1);
    let key = claims[0].key.clone();
    assert_eq!(leases.current(&key).unwrap().until, at(4.2));
    assert_eq!(leases.renew_at(), Some(at(2.2)));
    // Renewed, it holds past the first lease's end: nobody else gets it.
    assert!(claim(&store, "node-b", at(3.5)).is_empty());

    drop(holding);
    assert_eq!(leases.renew_at(), None, "nothing held, nothing to renew");
    assert_eq!(leases.renew_due(&store, at(4.0)).await.unwrap(), 0);
}

#[tokio::test]
async fn a_claim_another_node_took_over_is_marked_lost_and_not_renewed_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let leases = Arc::new(Leases::default());
    let claims = claim(&store, "node-a", at(0.0));
    let _holding = leases.hold(&claims);
    // Node A stalls past its lease; node B takes the text over.
    let taken = claim(&store, "node-b", at(3.5));
    assert_eq!(taken.len(), 1);

    assert_eq!(leases.renew_due(&store, at(3.6)).await.unwrap(), 0);
    assert_eq!(leases.renew_at(), None, "a lost claim is not renewed again");
    let key = &claims[0].key;
    assert_eq!(
        leases.current(key).unwrap().token,
        claims[0].token,
        "the old claim is kept, so its write is refused by fencing"
    );
    assert_eq!(
        store.renew(&taken, at(4.0)).unwrap().len(),
        1,
        "node B's claim is untouched"
    );
}
