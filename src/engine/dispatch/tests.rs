//! The dispatcher against the real store and a provider that answers
//! only when told: what is claimed, and what waits.

use std::path::Path;
use std::time::Duration;

use tokio::sync::Notify;

use super::*;
use crate::channels::{LookupFuture, SendFuture};
use crate::clock::ManualClock;
use crate::directory::PhoneNumber;
use crate::escalation::{Policy, redflag::RedFlags};
use crate::links::LinkSigner;
use crate::outbox::NewOutbox;
use crate::store::sqlite::SqliteStore;
use crate::templates::Templates;

const A: &str = "+447700900801";
const B: &str = "+447700900802";
const C: &str = "+447700900803";

/// A provider that takes each text at once and answers it only when
/// [`Held::answer`] says so.
struct Held {
    taken: Mutex<Vec<(String, String)>>,
    took: Notify,
    answers: Semaphore,
    /// Texts with it unanswered now, and at the most.
    with_it: Mutex<(usize, usize)>,
    /// Numbers it was asked about (whether it already has a text).
    asked: Mutex<Vec<String>>,
}

impl Held {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            taken: Mutex::default(),
            took: Notify::new(),
            answers: Semaphore::new(0),
            with_it: Mutex::default(),
            asked: Mutex::default(),
        })
    }

    fn answer(&self, n: usize) {
        self.answers.add_permits(n);
    }

    fn taken(&self) -> Vec<(String, String)> {
        self.taken.lock().unwrap().clone()
    }

    /// How many texts it held unanswered at the most.
    fn most_at_once(&self) -> usize {
        self.with_it.lock().unwrap().1
    }

    async fn wait_until_taken(&self, n: usize) {
        let all_there = async {
            loop {
                let took = self.took.notified();
                if self.taken().len() >= n {
                    return;
                }
                took.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), all_there)
            .await
            .unwrap_or_else(|_| panic!("{n} texts never reached the provider"));
    }
}

impl SmsSender for Held {
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let id = {
                let mut taken = self.taken.lock().unwrap();
                taken.push((to.to_owned(), body.to_owned()));
                format!("SM{}", taken.len())
            };
            {
                let mut with_it = self.with_it.lock().unwrap();
                with_it.0 += 1;
                with_it.1 = with_it.1.max(with_it.0);
            }
            self.took.notify_waiters();
            self.answers.acquire().await.unwrap().forget();
            self.with_it.lock().unwrap().0 -= 1;
            SendOutcome::Accepted { provider_id: id }
        })
    }

    fn find<'a>(&'a self, to: &'a str, _: &'a str, _: Instant) -> LookupFuture<'a> {
        self.asked.lock().unwrap().push(to.to_owned());
        Box::pin(async { Lookup::NotSent })
    }

    fn name(&self) -> &'static str {
        "held"
    }
}

fn now() -> Instant {
    "2026-11-27T19:05:00Z".parse().unwrap()
}

/// The demo trust on a fresh store, with these texts in its outbox.
fn parts(dir: &Path, texts: &[(&str, &str)]) -> Arc<Parts> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let store = SqliteStore::open(&dir.join("n.db")).unwrap();
    let outbox = texts
        .iter()
        .map(|(to, body)| NewOutbox {
            concern: None,
            to: PhoneNumber::parse(to).unwrap().into(),
            body: (*body).to_owned(),
            purpose: Purpose::StaffNotice,
            staff: None,
            recipient: "someone".to_owned(),
            step: None,
        })
        .collect();
    crate::work::WorkQueue::apply(
        &store,
        Change {
            at: now(),
            outbox,
            ..Change::default()
        },
    )
    .unwrap();
    Arc::new(Parts {
        node: crate::work::NodeId::new("test-node"),
        store: Arc::new(store),
        rota: Arc::new(crate::rota::load_dir(&root.join("rota")).unwrap()).into(),
        clock: Arc::new(ManualClock::new(now())),
        templates: Arc::new(Templates::load(&root.join("templates")).unwrap()),
        links: LinkSigner::new(vec![7; 32], "https://n.test"),
        red_flags: RedFlags::parse(""),
        policy: Policy::default(),
        keep_recordings: None,
        email: None,
        email_senders: Default::default(),
        steps: tokio::sync::Mutex::new(()),
        leases: Arc::default(),
    })
}

/// A dispatcher allowed `at_once` sends, on a fresh store holding
/// `texts`, sending to a [`Held`] provider.
struct Rig {
    _dir: tempfile::TempDir,
    parts: Arc<Parts>,
    held: Arc<Held>,
    dispatch: Dispatcher,
    wake: Arc<Wake>,
    sends: JoinSet<EngineResult<()>>,
}

impl Rig {
    fn new(at_once: usize, texts: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let parts = parts(dir.path(), texts);
        let held = Held::new();
        Self {
            _dir: dir,
            parts,
            dispatch: Dispatcher::new(held.clone(), RetryPolicy::default(), at_once),
            held,
            wake: Arc::default(),
            sends: JoinSet::new(),
        }
    }

    /// One claiming round at 19:05: how many sends it started.
    async fn claim(&mut self) -> usize {
        self.claim_at(now()).await
    }

    /// One claiming round at `at`.
    async fn claim_at(&mut self, at: Instant) -> usize {
        let (parts, wake) = (&self.parts, &self.wake);
        let round = self.dispatch.claim_due(parts, wake, at, &mut self.sends);
        round.await.unwrap()
    }

    /// Wait for every send started to finish (answer them first).
    async fn finish(&mut self) {
        while let Some(done) = self.sends.join_next().await {
            done.unwrap().unwrap();
        }
    }

    /// What the provider was given for `to`, in order.
    fn bodies_to(&self, to: &str) -> Vec<String> {
        let taken = self.held.taken().into_iter();
        taken.filter(|(t, _)| t == to).map(|(_, b)| b).collect()
    }
}

#[tokio::test]
async fn a_text_waiting_for_the_provider_is_not_taken_up_again_nor_passed_by_the_next_to_its_number()
 {
    let mut rig = Rig::new(3, &[(A, "first"), (A, "second"), (B, "other")]);
    assert_eq!(
        rig.claim().await,
        2,
        "the second text to A waits for the first"
    );
    rig.held.wait_until_taken(2).await;
    // A permit is free, but both texts due are with the provider already.
    assert_eq!(rig.claim().await, 0);
    let next = rig.dispatch.next_due(&rig.parts, now()).await.unwrap();
    assert_eq!(next, None, "nothing else to wait for");

    rig.held.answer(2);
    rig.finish().await;
    assert_eq!(rig.claim().await, 1, "now the second text to A");
    rig.held.answer(1);
    rig.finish().await;
    assert_eq!(rig.claim().await, 0);
    assert_eq!(rig.bodies_to(A), ["first", "second"], "in order, each once");
    assert_eq!(rig.bodies_to(B), ["other"]);
}

#[tokio::test]
async fn no_more_texts_are_with_the_provider_at_once_than_there_are_permits() {
    let mut rig = Rig::new(2, &[(A, "one"), (B, "two"), (C, "three")]);
    assert_eq!(rig.claim().await, 2);
    rig.held.wait_until_taken(2).await;
    assert_eq!(rig.claim().await, 0, "the third waits for a permit");

    rig.held.answer(1);
    rig.sends.join_next().await.unwrap().unwrap().unwrap();
    assert_eq!(rig.claim().await, 1, "a send finished: its permit is free");
    rig.held.answer(2);
    rig.finish().await;
    assert_eq!(rig.held.taken().len(), 3);
    assert_eq!(rig.held.most_at_once(), 2);
}

#[tokio::test]
async fn a_send_aborted_mid_way_is_claimed_again_and_asked_about_first() {
    let mut rig = Rig::new(2, &[(A, "one")]);
    assert_eq!(rig.claim().await, 1);
    rig.held.wait_until_taken(1).await;
    // The task is stopped before the provider answers (as a process dies).
    rig.sends.abort_all();
    while rig.sends.join_next().await.is_some() {}

    assert!(rig.parts.leases.len() == 0, "the claim went with the task");
    // Its claim in the store holds until the lease ends, as a dead node's would.
    assert_eq!(
        rig.claim().await,
        0,
        "nobody sends it while the claim holds"
    );
    assert!(rig.held.asked.lock().unwrap().is_empty());
    let later = now() + super::LEASE + chrono::TimeDelta::seconds(1);
    assert_eq!(
        rig.claim_at(later).await,
        1,
        "taken up again after the lease"
    );
    rig.held.answer(1);
    rig.finish().await;
    let asked = rig.held.asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        [A],
        "the provider was asked before it was sent again"
    );
}
