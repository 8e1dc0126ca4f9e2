//! Several nodes on one store: leases, takeovers, fencing, stale writes, and lanes at a slow provider (opening concerns and codes at once are in `opening.rs`).

use super::*;

// ---- several nodes on one store -------------------------------------------------

pub(super) const LEASE: TimeDelta = TimeDelta::seconds(30);

pub(super) fn node(name: &str) -> NodeId {
    NodeId::new(name)
}

pub(super) fn timer(concern: ConcernId, kind: TimerKind, due_at: Instant) -> Timer {
    Timer {
        concern,
        kind,
        due_at,
        seq: 1,
    }
}

/// A new concern from `sender` with a due acknowledgement deadline, its
/// first message on the timeline and the reply to the sender queued.
pub(super) fn open_with_deadline(store: &Arc<dyn Store>, sender: &str, now: Instant) -> Concern {
    let c = concern(sender);
    store
        .apply(Change {
            at: now,
            concern: Some(c.clone()),
            timeline: vec![(c.id, received(now, &c.text))],
            set_timers: vec![timer(c.id, TimerKind::AckDeadline, now)],
            ..Change::default()
        })
        .unwrap();
    stored(store, c.id)
}

pub(super) fn received(at: Instant, text: &str) -> TimelineEntry {
    TimelineEntry {
        at,
        event: TimelineEvent::Received {
            from: "patient".into(),
            text: text.into(),
            voicemail: false,
        },
    }
}

pub(super) fn note(at: Instant, text: &str) -> TimelineEntry {
    TimelineEntry {
        at,
        event: TimelineEvent::note(text),
    }
}

/// Write what became of a claimed text (`outcome` of its id), as the node holding it does.
pub(super) fn record_outcome(
    store: &Arc<dyn Store>,
    text: &Claimed<OutboxItem>,
    at: Instant,
    outcome: impl FnOnce(i64) -> OutboxOutcome,
) -> StoreResult<()> {
    store.apply(Change {
        at,
        claim: Some(text.claim.clone()),
        outbox_outcomes: vec![outcome(text.item.id)],
        ..Change::default()
    })
}

/// Read a concern and resolve it, as a node does.
pub(super) fn resolve(store: &Arc<dyn Store>, id: ConcernId, at: Instant) {
    let mut c = stored(store, id);
    c.escalation.status = Status::Resolved {
        by: None,
        at,
        note: None,
    };
    store
        .apply(Change {
            at,
            concern: Some(c),
            ..Change::default()
        })
        .unwrap();
}

/// The texts due at `now`, oldest first and one per lane, as a node finds
/// them: by claiming them (for a node of their own, so each stays held for
/// a lease, until its outcome is written).
pub(super) fn due_outbox(store: &Arc<dyn Store>, now: Instant) -> Vec<OutboxItem> {
    store
        .claim_of::<OutboxItem>(&node("sender"), now, LEASE, 100)
        .unwrap()
        .into_iter()
        .map(|c| c.item)
        .collect()
}

/// The bodies of [`due_outbox`].
pub(super) fn unsent(store: &Arc<dyn Store>, now: Instant) -> Vec<String> {
    due_outbox(store, now)
        .iter()
        .map(|o| o.message.body.clone())
        .collect()
}

/// What `node` claims of each kind, at most `limit` of each, as claims.
pub(super) fn claim_every_kind(
    store: &Arc<dyn Store>,
    node: &NodeId,
    now: Instant,
    limit: usize,
) -> Vec<Claim> {
    [WorkKind::Inbound, WorkKind::Timer, WorkKind::Outbox]
        .into_iter()
        .flat_map(|kind| {
            let request = ClaimRequest {
                node,
                now,
                lease: LEASE,
                limit,
            };
            store.claim(kind, &request).unwrap().claims()
        })
        .collect()
}

pub(super) fn two_nodes_claiming_at_once_each_get_different_work(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    for i in 0..40 {
        assert!(
            store
                .record_inbound(&sms(&format!("SM{i}"), "+447700900123"))
                .unwrap()
        );
    }
    let mut queued = Vec::new();
    for i in 0..30 {
        let c = ConcernId::new();
        apply_at(&store, now, |change| {
            change.set_timers = vec![timer(c, TimerKind::AckDeadline, now)]
        });
        // Thirty different numbers: every text is first in its line.
        queued.push(outbox(None, &format!("+4477009002{i:02}")));
    }
    apply_at(&store, now, |change| change.outbox = queued);

    // Two nodes, two workers each, all asking at the same instant, a few at a time.
    let start = Arc::new(std::sync::Barrier::new(4));
    let workers: Vec<_> = ["a", "a", "b", "b"]
        .into_iter()
        .map(|name| {
            let (store, start) = (Arc::clone(&store), Arc::clone(&start));
            std::thread::spawn(move || {
                let me = node(name);
                start.wait();
                let mut got = Vec::new();
                loop {
                    let claims = claim_every_kind(&store, &me, now, 3);
                    if claims.is_empty() {
                        return got;
                    }
                    assert!(claims.iter().all(|c| c.holder == me && c.attempts == 0));
                    got.extend(claims);
                }
            })
        })
        .collect();
    let mut all: Vec<Claim> = Vec::new();
    for worker in workers {
        let got = worker.join().unwrap();
        assert!(
            got.windows(2).all(|w| w[0].token < w[1].token),
            "one worker's tokens only go up"
        );
        all.extend(got);
    }
    let mut work: Vec<(WorkKind, String)> =
        all.iter().map(|c| (c.kind(), c.key.to_string())).collect();
    work.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    work.dedup();
    assert_eq!(
        work.len(),
        all.len(),
        "no piece of work went to two workers"
    );
    assert_eq!(all.len(), 40 + 30 + 30, "every piece of work went to one");
    let mut tokens: Vec<u64> = all.iter().map(|c| c.token).collect();
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), all.len(), "every claim has its own token");
    // Everything is held: a third node finds nothing.
    assert!(claim_every_kind(&store, &node("c"), now, 100).is_empty());
}

pub(super) fn a_dead_nodes_work_is_taken_over_after_its_lease_and_its_late_write_is_refused(
    store: Arc<dyn Store>,
) {
    // 19:05: Margaret's concern is waiting for someone to accept; its
    // deadline falls due, and node A claims it.
    let now = t("2026-11-27T19:05:00Z");
    let c = open_with_deadline(&store, "+447700900123", now);
    let (a, b) = (node("a"), node("b"));
    let held = store.claim_of::<Timer>(&a, now, LEASE, 10).unwrap();
    assert_eq!(held.len(), 1);
    let a_claim = held[0].claim.clone();
    assert_eq!(
        (a_claim.kind(), &a_claim.key, a_claim.attempts),
        (WorkKind::Timer, &held[0].item.work_key(), 0)
    );
    // Work A holds is not B's to take, nor to be woken for before A's lease ends.
    let mid = now + TimeDelta::seconds(10);
    assert!(
        store
            .claim_of::<Timer>(&b, mid, LEASE, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_due().unwrap(), Some(a_claim.until));

    // A dies. Its lease ends; B takes the deadline over with a higher token.
    let after = a_claim.until + TimeDelta::seconds(1);
    let taken = store.claim_of::<Timer>(&b, after, LEASE, 10).unwrap();
    assert_eq!(taken.len(), 1);
    let b_claim = taken[0].claim.clone();
    assert!(b_claim.token > a_claim.token);
    assert_eq!((b_claim.holder.clone(), b_claim.attempts), (b.clone(), 1));

    // A was only paused, and now writes what it had worked out: refused, and
    // none of it lands.
    let mut escalated = c.clone();
    escalated.escalation.seq = 2;
    let late = store.apply(Change {
        at: after,
        claim: Some(a_claim.clone()),
        concern: Some(escalated),
        timeline: vec![(c.id, note(after, "escalated by A"))],
        outbox: vec![outbox(Some(c.id), "+447700900456")],
        set_timers: vec![timer(c.id, TimerKind::AckDeadline, after + LEASE)],
        ..Change::default()
    });
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    assert_eq!(stored(&store, c.id), c, "the concern is as A found it");
    assert_eq!(store.timeline(c.id).unwrap().len(), 1);
    assert!(unsent(&store, after).is_empty());
    assert_eq!(
        store.backlog(after).unwrap().timers_overdue,
        1,
        "the deadline as it was, not re-armed by A"
    );
    assert!(
        store
            .renew(std::slice::from_ref(&a_claim), after + LEASE)
            .unwrap()
            .is_empty(),
        "A no longer holds it"
    );

    // B's write lands, and ends the claim with the work.
    let mut escalated = c.clone();
    escalated.escalation.seq = 2;
    store
        .apply(Change {
            at: after,
            claim: Some(b_claim.clone()),
            concern: Some(escalated),
            timeline: vec![(c.id, note(after, "escalated by B"))],
            outbox: vec![outbox(Some(c.id), "+447700900456")],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(stored(&store, c.id).escalation.seq, 2);
    assert_eq!(
        store.timeline(c.id).unwrap()[1],
        note(after, "escalated by B")
    );
    assert_eq!(unsent(&store, after), ["Hello"]);
    assert_eq!(store.backlog(after).unwrap().timers_overdue, 0, "fired");
    assert!(
        store
            .renew(std::slice::from_ref(&b_claim), after + LEASE)
            .unwrap()
            .is_empty()
    );
    let again = store.apply(Change {
        at: after,
        claim: Some(b_claim),
        ..Change::default()
    });
    assert!(
        matches!(again, Err(StoreError::Conflict(_))),
        "completed work cannot be completed twice: {again:?}"
    );

    // The same for a text that came in: A claims it and dies; B takes it in.
    assert!(store.record_inbound(&sms("SM9", "+447700900123")).unwrap());
    let a_in = store.claim_of::<Inbound>(&a, after, LEASE, 10).unwrap();
    assert_eq!(a_in.len(), 1);
    let later = after + LEASE + TimeDelta::seconds(1);
    let b_in = store.claim_of::<Inbound>(&b, later, LEASE, 10).unwrap();
    assert_eq!(b_in.len(), 1);
    assert_eq!(b_in[0].item, a_in[0].item);
    let late = store.apply(Change {
        at: later,
        claim: Some(a_in[0].claim.clone()),
        timeline: vec![(c.id, note(later, "taken in by A"))],
        ..Change::default()
    });
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    assert_eq!(
        store.backlog(later).unwrap().inbound_pending,
        1,
        "still to do"
    );
    store
        .apply(Change {
            at: later,
            claim: Some(b_in[0].claim.clone()),
            timeline: vec![(c.id, note(later, "taken in by B"))],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(
        store.backlog(later).unwrap().inbound_pending,
        0,
        "processed"
    );
    assert_eq!(
        store.timeline(c.id).unwrap()[2],
        note(later, "taken in by B")
    );
    let much_later = later + TimeDelta::hours(1);
    assert!(
        store
            .claim_of::<Inbound>(&a, much_later, LEASE, 10)
            .unwrap()
            .is_empty()
    );
}

pub(super) fn a_lease_that_ran_out_still_completes_if_nobody_took_the_work_over(
    store: Arc<dyn Store>,
) {
    let now = t("2026-11-27T19:05:00Z");
    let c = open_with_deadline(&store, "+447700900123", now);
    let a = node("a");
    let no_lease = store.claim_of::<Timer>(&a, now, TimeDelta::zero(), 10);
    assert!(
        matches!(no_lease, Err(StoreError::Invalid(_))),
        "{no_lease:?}"
    );
    let held = store.claim_of::<Timer>(&a, now, LEASE, 10).unwrap();
    // A is slow: its lease ran out at 30 s, but nobody claimed the deadline
    // since, so A still holds it, renews it, and its write lands.
    let slow = now + TimeDelta::seconds(45);
    let renewed = store
        .renew(std::slice::from_ref(&held[0].claim), slow + LEASE)
        .unwrap();
    assert_eq!(renewed.len(), 1);
    assert_eq!(renewed[0].token, held[0].claim.token);
    let slower = slow + LEASE + TimeDelta::seconds(1);
    store
        .apply(Change {
            at: slower,
            claim: Some(renewed[0].clone()),
            concern: Some(c.clone()),
            timeline: vec![(c.id, note(slower, "escalated late"))],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.backlog(slower).unwrap().timers_overdue, 0);
    assert_eq!(stored(&store, c.id).version, 2);
}

pub(super) fn renewing_keeps_work_and_releasing_gives_it_back_at_once(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    queue_text(&store, now, "+447700900123");
    let (a, b) = (node("a"), node("b"));
    let held = store.claim_of::<OutboxItem>(&a, now, LEASE, 10).unwrap();
    assert_eq!(held.len(), 1);
    assert!(!held[0].item.in_flight, "never claimed before");
    let claim = held[0].claim.clone();

    // A is still sending at 25 s and renews; at 40 s (past the first lease)
    // the text is still A's.
    let until = now + TimeDelta::seconds(55);
    let renewed = store.renew(std::slice::from_ref(&claim), until).unwrap();
    assert_eq!(
        renewed,
        [Claim {
            until,
            ..claim.clone()
        }]
    );
    let at_40 = now + TimeDelta::seconds(40);
    assert!(
        store
            .claim_of::<OutboxItem>(&b, at_40, LEASE, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_due().unwrap(), Some(until));

    // A shuts down before sending and gives it back: B has it at once,
    // marked as possibly sent (A's outcome was never written).
    store.release(std::slice::from_ref(&claim)).unwrap();
    assert_eq!(store.next_due().unwrap(), Some(now), "claimable again");
    let taken = store.claim_of::<OutboxItem>(&b, at_40, LEASE, 10).unwrap();
    assert_eq!(taken.len(), 1);
    assert!(
        taken[0].item.in_flight,
        "ask the provider before sending again"
    );
    assert_eq!(taken[0].claim.attempts, 1);
    assert!(taken[0].claim.token > claim.token);
    assert!(
        store
            .renew(std::slice::from_ref(&claim), until)
            .unwrap()
            .is_empty()
    );
    let sent = |claim: Claim| Change {
        at: at_40,
        claim: Some(claim),
        outbox_outcomes: vec![OutboxOutcome::Sent {
            id: held[0].item.id,
            provider_id: "SM1".into(),
        }],
        ..Change::default()
    };
    let late = store.apply(sent(claim));
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");

    // A change that completes a claimed text must say what became of it.
    let silent = store.apply(Change {
        at: at_40,
        claim: Some(taken[0].claim.clone()),
        ..Change::default()
    });
    assert!(matches!(silent, Err(StoreError::Invalid(_))), "{silent:?}");
    store.apply(sent(taken[0].claim.clone())).unwrap();
    assert_eq!(
        store.outbox_by_provider_id("SM1").unwrap().map(|o| o.id),
        Some(held[0].item.id)
    );
    assert_eq!(store.next_due().unwrap(), None);
    // Renewing or releasing what is done does nothing.
    assert!(
        store
            .renew(&[taken[0].claim.clone()], until)
            .unwrap()
            .is_empty()
    );
    store.release(&[taken[0].claim.clone()]).unwrap();
    assert!(
        store
            .claim_of::<OutboxItem>(&a, until, LEASE, 10)
            .unwrap()
            .is_empty()
    );
}

pub(super) fn attempts_count_the_claims_that_did_not_finish(store: Arc<dyn Store>) {
    let mut now = t("2026-11-27T19:05:00Z");
    // A text that crashes whichever node takes it in: each lease runs out.
    assert!(store.record_inbound(&sms("SM1", "+447700900123")).unwrap());
    for (expected, name) in [(0, "a"), (1, "b"), (2, "a")] {
        let got = store
            .claim_of::<Inbound>(&node(name), now, LEASE, 10)
            .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].claim.attempts, expected);
        now += LEASE;
    }
    // The fourth taker sees it failed three times and sets it aside.
    let got = store
        .claim_of::<Inbound>(&node("b"), now, LEASE, 10)
        .unwrap();
    assert_eq!(got[0].claim.attempts, 3);
    complete(&store, now, &got[0].claim);
    assert_eq!(store.backlog(now).unwrap().inbound_pending, 0);

    // A timer's count starts again when it is re-armed: that is new work.
    let c = open_with_deadline(&store, "+447700900124", now);
    let first = store.claim_of::<Timer>(&node("a"), now, LEASE, 10).unwrap();
    now += LEASE;
    let second = store.claim_of::<Timer>(&node("b"), now, LEASE, 10).unwrap();
    assert_eq!((first[0].claim.attempts, second[0].claim.attempts), (0, 1));
    store
        .apply(Change {
            at: now,
            claim: Some(second[0].claim.clone()),
            concern: Some(c.clone()),
            set_timers: vec![timer(c.id, TimerKind::AckDeadline, now + LEASE)],
            ..Change::default()
        })
        .unwrap();
    assert!(
        store
            .claim_of::<Timer>(&node("a"), now, LEASE, 10)
            .unwrap()
            .is_empty()
    );
    let rearmed = store
        .claim_of::<Timer>(&node("a"), now + LEASE, LEASE, 10)
        .unwrap();
    assert_eq!(rearmed[0].item.due_at, now + LEASE, "the re-armed deadline");
    assert_eq!(rearmed[0].claim.attempts, 0);

    // A text that fails and is retried: the retry is a fresh claim; its
    // send attempts are counted by the outbox item.
    queue_text(&store, now, "+447700900125");
    let tried = store
        .claim_of::<OutboxItem>(&node("a"), now, LEASE, 10)
        .unwrap();
    let retry_at = now + TimeDelta::seconds(5);
    record_outcome(&store, &tried[0], now, |id| OutboxOutcome::Retry {
        id,
        at: retry_at,
    })
    .unwrap();
    let again = store
        .claim_of::<OutboxItem>(&node("b"), retry_at, LEASE, 10)
        .unwrap();
    assert_eq!(
        (
            again[0].claim.attempts,
            again[0].item.attempts,
            again[0].item.in_flight
        ),
        (0, 1, false)
    );
}

/// Texts to one number about no concern (or one) keep their order across nodes.
pub(super) fn texts_to_one_number_keep_their_order_across_nodes(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    queue_two_texts_to_one_number_and_one_to_another(&store, now);
    let (a, b) = (node("a"), node("b"));
    let bodies = |claimed: &[Claimed<OutboxItem>]| -> Vec<String> {
        claimed
            .iter()
            .map(|c| c.item.message.body.clone())
            .collect()
    };
    // A takes the first to 0123 and the one to 0456; while A holds the
    // first, B may not send the second.
    let a_has = store.claim_of::<OutboxItem>(&a, now, LEASE, 10).unwrap();
    assert_eq!(bodies(&a_has), ["first", "Hello"]);
    assert!(
        store
            .claim_of::<OutboxItem>(&b, now, LEASE, 10)
            .unwrap()
            .is_empty()
    );
    // A dies: after its lease B gets the first again, never the second.
    let later = now + LEASE;
    let b_has = store.claim_of::<OutboxItem>(&b, later, LEASE, 10).unwrap();
    assert_eq!(bodies(&b_has), ["first", "Hello"]);
    assert!(b_has.iter().all(|c| c.item.in_flight));
    // The first fails and waits a minute: the second still waits behind it.
    let retry_at = later + TimeDelta::seconds(60);
    record_outcome(&store, &b_has[0], later, |id| OutboxOutcome::Retry {
        id,
        at: retry_at,
    })
    .unwrap();
    assert!(
        store
            .claim_of::<OutboxItem>(&a, later, LEASE, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.next_due().unwrap(),
        Some(b_has[1].claim.until),
        "the one to 0456, still held by B"
    );
    // Oldest due first: the text to 0456 (due since 19:05), then the retry.
    let a_has = store
        .claim_of::<OutboxItem>(&a, retry_at, LEASE, 10)
        .unwrap();
    assert_eq!(
        bodies(&a_has),
        ["Hello", "first"],
        "B's lease on 0456 ended too"
    );
    record_outcome(&store, &a_has[1], retry_at, |id| OutboxOutcome::Sent {
        id,
        provider_id: "SM1".into(),
    })
    .unwrap();
    assert_eq!(
        bodies(
            &store
                .claim_of::<OutboxItem>(&b, retry_at, LEASE, 10)
                .unwrap()
        ),
        ["second"]
    );
}

pub(super) fn a_hanging_page_holds_up_no_other_patients_page_to_the_same_clinician(
    store: Arc<dyn Store>,
) {
    let now = t("2026-11-27T19:05:00Z");
    let (margaret, arthur) = (
        open_with_deadline(&store, "+447700900123", now),
        open_with_deadline(&store, "+447700900456", now),
    );
    let chen = "+447700900789";
    let text = |concern: ConcernId, body: &str| NewOutbox {
        body: body.into(),
        purpose: Purpose::Page,
        staff: Some(Id::parse("chen").unwrap()),
        recipient: "Chen Li".into(),
        ..outbox(Some(concern), chen)
    };
    store
        .apply(Change {
            at: now,
            outbox: vec![
                text(margaret.id, "page about Margaret"),
                text(margaret.id, "Margaret wrote again"),
                text(arthur.id, "page about Arthur"),
            ],
            ..Change::default()
        })
        .unwrap();
    let bodies = |claimed: &[Claimed<OutboxItem>]| -> Vec<String> {
        claimed
            .iter()
            .map(|c| c.item.message.body.clone())
            .collect()
    };
    // Chen gets both patients' pages at once; Margaret's second text waits
    // behind her page, which hangs at the provider on node A.
    let (a, b) = (node("a"), node("b"));
    let a_has = store.claim_of::<OutboxItem>(&a, now, LEASE, 10).unwrap();
    assert_eq!(bodies(&a_has), ["page about Margaret", "page about Arthur"]);
    assert!(
        store
            .claim_of::<OutboxItem>(&b, now, LEASE, 10)
            .unwrap()
            .is_empty()
    );
    record_outcome(&store, &a_has[1], now, |id| OutboxOutcome::Sent {
        id,
        provider_id: "SM1".into(),
    })
    .unwrap();
    assert!(
        store
            .claim_of::<OutboxItem>(&b, now, LEASE, 10)
            .unwrap()
            .is_empty(),
        "Margaret's second text still waits for her page"
    );
    record_outcome(&store, &a_has[0], now, |id| OutboxOutcome::Sent {
        id,
        provider_id: "SM2".into(),
    })
    .unwrap();
    assert_eq!(
        bodies(&store.claim_of::<OutboxItem>(&b, now, LEASE, 10).unwrap()),
        ["Margaret wrote again"]
    );
}

pub(super) fn a_write_from_a_stale_copy_of_a_concern_is_refused_whole(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let c = open_with_deadline(&store, "+447700900123", now);
    assert_eq!(c.version, 1);
    // Two nodes read the concern: Chen's accept reaches A, Priya's resolve reaches B.
    let (mut on_a, mut on_b) = (stored(&store, c.id), stored(&store, c.id));
    let chen = crate::escalation::StaffRef {
        id: Id::parse("chen").unwrap(),
        name: "Chen Li".into(),
        role: "Registrar".into(),
    };
    on_a.escalation.status = Status::Accepted { by: chen, at: now };
    store
        .apply(Change {
            at: now,
            concern: Some(on_a.clone()),
            timeline: vec![(c.id, note(now, "accepted on A"))],
            outbox: vec![outbox(Some(c.id), "+447700900123")],
            cancel_timers: vec![c.id],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(stored(&store, c.id).version, 2);

    on_b.escalation.status = Status::Resolved {
        by: None,
        at: now,
        note: Some("Sorted by phone".into()),
    };
    let stale = store.apply(Change {
        at: now,
        concern: Some(on_b),
        timeline: vec![(c.id, note(now, "resolved on B"))],
        outbox: vec![outbox(Some(c.id), "+447700900999")],
        set_timers: vec![timer(c.id, TimerKind::Reminder, now)],
        opt_out: Some((phone("+447700900123"), true)),
        ..Change::default()
    });
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(
        stored(&store, c.id),
        Concern { version: 2, ..on_a },
        "A's write stands"
    );
    assert_eq!(
        store.timeline(c.id).unwrap().last(),
        Some(&note(now, "accepted on A"))
    );
    assert_eq!(unsent(&store, now).len(), 1);
    assert_eq!(store.backlog(now).unwrap().timers_overdue, 0);
    assert!(!store.is_opted_out(&phone("+447700900123")).unwrap());

    // B reads again and decides again: now it lands.
    resolve(&store, c.id, now);
    assert_eq!(stored(&store, c.id).version, 3);
    assert_eq!(store.unresolved_concerns().unwrap(), 0);
}

/// Pages waiting at a provider that takes 10 s to answer stay claimed all
/// that time. They must not stand in front of the next text due: the next
/// claim takes the new text, and `next_due` names its due time, then the
/// first lease's end, however many are waiting.
pub(super) fn texts_waiting_at_a_slow_provider_stand_in_front_of_nothing(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let waiting = 300;
    for i in 0..waiting {
        queue_text(&store, now, &format!("+4477009{i:05}"));
    }
    let a = node("a");
    let held = store
        .claim_of::<OutboxItem>(&a, now, LEASE, waiting)
        .unwrap();
    assert_eq!(held.len(), waiting);
    assert_eq!(
        store.next_due_of(&[WorkKind::Outbox]).unwrap(),
        Some(now + LEASE),
        "nothing to send until the first lease ends"
    );

    // A second later a patient's acknowledgement is queued: it is next.
    let later = now + TimeDelta::seconds(1);
    queue_text(&store, later, "+447700900999");
    assert_eq!(store.next_due_of(&[WorkKind::Outbox]).unwrap(), Some(later));
    let next = store
        .claim_of::<OutboxItem>(&node("b"), later, LEASE, 1)
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].item.message.to.key(), "+447700900999");

    // A renewed lease moves the text further back; a retry makes it due
    // when the retry is, not when its lease would have ended.
    let renewed_until = now + TimeDelta::seconds(55);
    store
        .renew(std::slice::from_ref(&held[0].claim), renewed_until)
        .unwrap();
    let retry_at = now + TimeDelta::seconds(5);
    record_outcome(&store, &held[1], later, |id| OutboxOutcome::Retry {
        id,
        at: retry_at,
    })
    .unwrap();
    assert_eq!(
        store.next_due_of(&[WorkKind::Outbox]).unwrap(),
        Some(retry_at)
    );
    let retried = store
        .claim_of::<OutboxItem>(&node("b"), retry_at, LEASE, 10)
        .unwrap();
    assert_eq!(
        retried.iter().map(|c| c.item.id).collect::<Vec<_>>(),
        [held[1].item.id],
        "only the retried text is claimable at its retry time"
    );

    // When the leases run out (node A died), every text not done is
    // claimable again, in the order they came due.
    let lapsed = now + LEASE;
    let taken = store
        .claim_of::<OutboxItem>(&node("c"), lapsed, LEASE, waiting)
        .unwrap();
    assert_eq!(
        taken.len(),
        waiting - 2,
        "all but the renewed and the retried"
    );
    assert!(taken.iter().all(|c| c.item.in_flight));
    // At 55 s: the renewed one, and B's two whose leases ran out meanwhile.
    let last: Vec<i64> = store
        .claim_of::<OutboxItem>(&node("c"), renewed_until, LEASE, 10)
        .unwrap()
        .iter()
        .map(|c| c.item.id)
        .collect();
    assert_eq!(last.len(), 3, "{last:?}");
    assert!(
        last.contains(&held[0].item.id),
        "the renewed one, once its renewed lease ends"
    );
}
