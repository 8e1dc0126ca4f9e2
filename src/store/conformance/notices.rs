//! Scheduled notices and check-ins (docs/adr/0017).

use super::*;

// ---- scheduled notices and check-ins (docs/adr/0017) ----

pub(super) fn check_in(key: &str, due_at: Instant, number: u32) -> Notice {
    Notice {
        key: key.into(),
        due_at,
        what: NoticeKind::CheckIn {
            enrolment: EnrolmentId(uuid::Uuid::nil()),
            number,
        },
    }
}

pub(super) fn notices_are_claimed_once_and_a_late_write_after_a_takeover_is_refused(
    store: Arc<dyn Store>,
) {
    let nine = t("2026-11-28T09:00:00Z");
    let ten = t("2026-11-28T10:00:00Z");
    store
        .apply(Change {
            at: nine,
            set_notices: vec![
                check_in("check_in/a", nine, 1),
                check_in("check_in/b", ten, 1),
            ],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.next_due().unwrap(), Some(nine));
    assert_eq!(store.next_due_of(&[WorkKind::Notice]).unwrap(), Some(nine));
    assert_eq!(store.next_due_of(&[WorkKind::Timer]).unwrap(), None);
    assert!(
        store
            .claim_of::<Notice>(&node("a"), nine - TimeDelta::seconds(1), LEASE, 10)
            .unwrap()
            .is_empty(),
        "nothing is claimed before it is due"
    );

    // Two nodes ask at 09:30: one gets the 09:00 notice, the other nothing.
    let half_past = t("2026-11-28T09:30:00Z");
    let a = store
        .claim_of::<Notice>(&node("a"), half_past, LEASE, 10)
        .unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].item, check_in("check_in/a", nine, 1));
    assert_eq!(a[0].claim.kind(), WorkKind::Notice);
    assert!(
        store
            .claim_of::<Notice>(&node("b"), half_past, LEASE, 10)
            .unwrap()
            .is_empty()
    );
    // Held: looked at again when its lease ends.
    assert_eq!(store.next_due().unwrap(), Some(half_past + LEASE));

    // Node a sends it and sets the next in the same write.
    store
        .apply(Change {
            at: half_past,
            claim: Some(a[0].claim.clone()),
            outbox: vec![outbox(None, "+447700900123")],
            set_notices: vec![check_in("check_in/a", nine + TimeDelta::days(2), 2)],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(
        store.notice("check_in/a").unwrap(),
        Some(check_in("check_in/a", nine + TimeDelta::days(2), 2))
    );
    assert_eq!(unsent(&store, half_past).len(), 1);
    // The next one is not claimed with the old one's claim.
    assert!(
        store
            .claim_of::<Notice>(&node("b"), half_past, LEASE, 10)
            .unwrap()
            .is_empty()
    );

    // Node a claims the 10:00 one and stalls past its lease; node b takes it over.
    let slow = store
        .claim_of::<Notice>(&node("a"), ten, LEASE, 10)
        .unwrap();
    assert_eq!(slow.len(), 1);
    let later = ten + LEASE + TimeDelta::seconds(1);
    let fast = store
        .claim_of::<Notice>(&node("b"), later, LEASE, 10)
        .unwrap();
    assert_eq!(fast.len(), 1);
    assert_eq!(fast[0].claim.attempts, 1);
    assert!(fast[0].claim.token > slow[0].claim.token);
    let late = store.apply(Change {
        at: later,
        claim: Some(slow[0].claim.clone()),
        outbox: vec![outbox(None, "+447700900124")],
        ..Change::default()
    });
    assert!(matches!(late, Err(StoreError::Conflict(_))), "{late:?}");
    store
        .apply(Change {
            at: later,
            claim: Some(fast[0].claim.clone()),
            outbox: vec![outbox(None, "+447700900124")],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.notice("check_in/b").unwrap(), None, "done and gone");
    assert_eq!(unsent(&store, later).len(), 2, "sent once, not twice");
    assert_eq!(
        store.next_due_of(&[WorkKind::Notice]).unwrap(),
        Some(nine + TimeDelta::days(2))
    );
}

pub(super) fn a_notice_is_added_once_cancelled_with_its_claim_and_answers_go_with_the_enrolment(
    store: Arc<dyn Store>,
) {
    let now = t("2026-11-28T08:00:00Z");
    let handover = |due_at| Notice {
        key: "handover/cardiology-ward-7".into(),
        due_at,
        what: NoticeKind::Handover {
            service: Id::parse("cardiology-ward-7").unwrap(),
            since: now - TimeDelta::hours(14),
        },
    };
    // Two nodes seed the same notice: the first stands.
    for due in [now, now + TimeDelta::days(1)] {
        apply_at(&store, now, |change| {
            change.add_notices = vec![handover(due)]
        });
    }
    assert_eq!(
        store.notice("handover/cardiology-ward-7").unwrap(),
        Some(handover(now))
    );

    // A check-in's wait, claimed and then answered: cancelling it ends the
    // claim too, so the claimant's write is refused.
    let wait = Notice {
        key: "check_in_wait/e".into(),
        due_at: now,
        what: NoticeKind::CheckInUnanswered {
            enrolment: EnrolmentId(uuid::Uuid::nil()),
            sent_at: now - TimeDelta::hours(4),
        },
    };
    apply_at(&store, now, |change| {
        change.set_notices = vec![wait.clone()]
    });
    let claimed = store
        .claim_of::<Notice>(&node("a"), now, LEASE, 10)
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let e = Enrolment {
        carers: Vec::new(),
        ..margaret_and_sian(now)
    };
    let answer = |at, answer| CheckInAnswer {
        enrolment: e.id,
        sent_at: now - TimeDelta::hours(4),
        at,
        answer,
    };
    let concern = ConcernId::new();
    store
        .apply(Change {
            at: now,
            enrolment: Some(e.clone()),
            cancel_notices: vec![wait.key.clone()],
            check_in_answers: vec![
                answer(now, CheckInReply::Well),
                answer(
                    now + TimeDelta::minutes(1),
                    CheckInReply::Concern { concern },
                ),
            ],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.notice(&wait.key).unwrap(), None);
    let held = claimed.iter().find(|c| c.item.key == wait.key).unwrap();
    assert!(matches!(
        store.apply(Change {
            at: now,
            claim: Some(held.claim.clone()),
            ..Change::default()
        }),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.check_in_answers(e.id).unwrap(),
        vec![
            answer(now, CheckInReply::Well),
            answer(
                now + TimeDelta::minutes(1),
                CheckInReply::Concern { concern }
            ),
        ]
    );
    assert!(
        store
            .check_in_answers(EnrolmentId::new())
            .unwrap()
            .is_empty()
    );

    // Retention removes the enrolment and its answers together.
    while enrolments_purged(&store, now + TimeDelta::days(31)) > 0 {}
    assert_eq!(store.enrolment(e.id).unwrap(), None);
    assert!(store.check_in_answers(e.id).unwrap().is_empty());
}
