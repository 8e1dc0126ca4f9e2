//! The first cases: inbound items, one atomic change, timers, and a resolved concern.

use super::*;

pub(super) fn inbound_is_recorded_once_and_stays_pending_until_processed(store: Arc<dyn Store>) {
    assert!(store.record_inbound(&sms("SM1", "+447700900123")).unwrap());
    assert!(
        !store.record_inbound(&sms("SM1", "+447700900123")).unwrap(),
        "a retry is not a new message"
    );
    assert!(store.record_inbound(&sms("SM2", "+447700900124")).unwrap());
    assert_eq!(
        store.inbound("SM2").unwrap(),
        Some(sms("SM2", "+447700900124"))
    );
    assert_eq!(store.inbound("SM3").unwrap(), None);
    let now = t("2026-11-27T19:05:01Z");
    let pending = store
        .claim_of::<Inbound>(&node("a"), now, LEASE, 10)
        .unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|c| c.item.key.as_str())
            .collect::<Vec<_>>(),
        ["SM1", "SM2"]
    );
    complete(&store, now, &pending[0].claim);
    assert_eq!(store.backlog(now).unwrap().inbound_pending, 1);
    assert_eq!(
        store.inbound("SM1").unwrap(),
        Some(sms("SM1", "+447700900123")),
        "a processed item can still be read: a later step of a call reads an earlier one"
    );
    assert_eq!(
        store.backlog(t("2026-11-27T19:06:00Z")).unwrap(),
        Backlog {
            inbound_pending: 1,
            outbox_due: 0,
            timers_overdue: 0,
            ..Backlog::default()
        }
    );
}

pub(super) fn an_emails_words_are_kept_once_on_the_timeline_and_the_item_keeps_who_sent_it(
    store: Arc<dyn Store>,
) {
    let email = Inbound {
        key: "email:big@example.org".into(),
        kind: InboundKind::Email {
            from: "sian@example.org".into(),
            to: vec!["help@nightingale.test".into()],
            subject: "Mum".into(),
            text: "Mum is more breathless tonight.\n".repeat(400),
            attachments: Vec::new(),
            delivery: None,
            envelope_from: Some("sian@example.org".into()),
            peer: Some("192.0.2.25".parse().unwrap()),
            authentication_results: None,
        },
        received_at: t("2026-11-27T19:05:00Z"),
    };
    assert!(store.record_inbound(&email).unwrap());
    assert!(store.record_inbound(&sms("SM1", "+447700900123")).unwrap());
    let now = t("2026-11-27T19:05:01Z");
    let claimed = store
        .claim_of::<Inbound>(&node("a"), now, LEASE, 10)
        .unwrap()
        .into_iter()
        .find(|c| c.item.key == email.key)
        .unwrap();
    let c = concern("mailto:sian@example.org");
    let InboundKind::Email { text, .. } = &claimed.item.kind else {
        panic!("an email")
    };
    let kept = email.without_words().unwrap();
    store
        .apply(Change {
            at: now,
            claim: Some(claimed.claim),
            concern: Some(c.clone()),
            timeline: vec![(c.id, received(now, text))],
            inbound_kept: Some(kept.clone()),
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.inbound(&email.key).unwrap(), Some(kept.clone()));
    let InboundKind::Email {
        from,
        text,
        subject,
        ..
    } = kept.kind
    else {
        panic!("an email")
    };
    assert_eq!(from, "sian@example.org", "who sent it is kept");
    assert!(text.is_empty() && subject.is_empty(), "its words are not");
    assert_eq!(
        store.timeline(c.id).unwrap()[0],
        received(now, &"Mum is more breathless tonight.\n".repeat(400)),
        "the words are on the timeline, once"
    );
    let later = now + LEASE + TimeDelta::seconds(1);
    let pending = store
        .claim_of::<Inbound>(&node("b"), later, LEASE, 10)
        .unwrap();
    assert_eq!(
        pending.iter().map(|c| c.item.clone()).collect::<Vec<_>>(),
        [sms("SM1", "+447700900123")],
        "the email is done"
    );
    // A change that keeps nothing of an item leaves it as it was.
    complete(&store, later, &pending[0].claim);
    assert_eq!(
        store.inbound("SM1").unwrap(),
        Some(sms("SM1", "+447700900123"))
    );
}

pub(super) fn a_change_writes_state_timeline_outbox_and_timers_together(store: Arc<dyn Store>) {
    let c = concern("+447700900123");
    let now = t("2026-11-27T19:05:00Z");
    store
        .apply(Change {
            at: now,
            concern: Some(c.clone()),
            timeline: vec![(
                c.id,
                TimelineEntry {
                    at: now,
                    event: TimelineEvent::Received {
                        from: "patient".into(),
                        text: c.text.clone(),
                        voicemail: false,
                    },
                },
            )],
            outbox: vec![outbox(Some(c.id), "+447700900123")],
            set_timers: vec![Timer {
                concern: c.id,
                kind: TimerKind::AckDeadline,
                due_at: now + TimeDelta::minutes(10),
                seq: 1,
            }],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(
        store.concern(c.id).unwrap(),
        Some(Concern {
            version: 1,
            ..c.clone()
        }),
        "as written, at version 1"
    );
    assert_eq!(store.timeline(c.id).unwrap().len(), 1);
    assert_eq!(
        store.open_concern_from(&c.sender).unwrap().map(|x| x.id),
        Some(c.id)
    );
    assert_eq!(store.next_due().unwrap(), Some(now));
    // Each loop looks only at its own work: the text is due now, the
    // deadline in ten minutes.
    assert_eq!(store.next_due_of(&[WorkKind::Outbox]).unwrap(), Some(now));
    assert_eq!(
        store.next_due_of(&[WorkKind::Timer]).unwrap(),
        Some(now + TimeDelta::minutes(10))
    );
    let due = store
        .claim_of::<OutboxItem>(&node("a"), now, LEASE, 10)
        .unwrap();
    assert_eq!(due.len(), 1);
    store
        .apply(Change {
            at: now,
            claim: Some(due[0].claim.clone()),
            outbox_outcomes: vec![OutboxOutcome::Sent {
                id: due[0].item.id,
                provider_id: "SMabc".into(),
            }],
            ..Change::default()
        })
        .unwrap();
    assert!(due_outbox(&store, now).is_empty());
    assert_eq!(
        store
            .outbox_by_provider_id("SMabc")
            .unwrap()
            .map(|o| o.message.concern),
        Some(Some(c.id))
    );
    assert_eq!(
        store.next_due().unwrap(),
        Some(now + TimeDelta::minutes(10))
    );
    assert_eq!(store.backlog(now).unwrap().timers_overdue, 0);
    assert_eq!(
        store
            .backlog(now + TimeDelta::minutes(10))
            .unwrap()
            .timers_overdue,
        1
    );
}

pub(super) fn a_fired_timer_is_removed_unless_it_was_re_armed(store: Arc<dyn Store>) {
    let c = concern("+447700900123");
    let now = t("2026-11-27T19:05:00Z");
    let first = Timer {
        concern: c.id,
        kind: TimerKind::AckDeadline,
        due_at: now,
        seq: 1,
    };
    store
        .apply(Change {
            at: now,
            concern: Some(c.clone()),
            set_timers: vec![first.clone()],
            ..Change::default()
        })
        .unwrap();
    // Firing it re-arms the next deadline in the same change: the new one stays.
    let next = Timer {
        concern: c.id,
        kind: TimerKind::AckDeadline,
        due_at: now + TimeDelta::minutes(15),
        seq: 2,
    };
    let fired = store.claim_of::<Timer>(&node("a"), now, LEASE, 10).unwrap();
    assert_eq!(fired[0].item, first);
    store
        .apply(Change {
            at: now,
            claim: Some(fired[0].claim.clone()),
            set_timers: vec![next.clone()],
            ..Change::default()
        })
        .unwrap();
    let hour = now + TimeDelta::hours(1);
    let fired = store
        .claim_of::<Timer>(&node("a"), hour, LEASE, 10)
        .unwrap();
    assert_eq!(
        fired.iter().map(|c| c.item.clone()).collect::<Vec<_>>(),
        std::slice::from_ref(&next)
    );
    complete(&store, now, &fired[0].claim);
    assert_eq!(store.backlog(hour).unwrap().timers_overdue, 0);
    // Cancelling clears every timer of the concern.
    store
        .apply(Change {
            at: now,
            set_timers: vec![
                first,
                Timer {
                    concern: c.id,
                    kind: TimerKind::Handover,
                    due_at: now,
                    seq: 0,
                },
            ],
            ..Change::default()
        })
        .unwrap();
    apply_at(&store, now, |change| change.cancel_timers = vec![c.id]);
    assert_eq!(store.next_due().unwrap(), None);
}

pub(super) fn a_resolved_concern_no_longer_collects_messages(store: Arc<dyn Store>) {
    let c = concern("+447700900123");
    let now = t("2026-11-27T19:05:00Z");
    write_concern(&store, now, &c);
    assert_eq!(store.unresolved_concerns().unwrap(), 1);
    let mut c = stored(&store, c.id);
    c.escalation.status = Status::Resolved {
        by: None,
        at: now,
        note: None,
    };
    write_concern(&store, now, &c);
    assert_eq!(store.open_concern_from(&c.sender).unwrap(), None);
    assert_eq!(store.unresolved_concerns().unwrap(), 0);
}
