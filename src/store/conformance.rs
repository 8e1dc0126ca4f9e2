//! The behaviour every store backend must have. Each backend runs this suite
//! (see the bottom of the file) against a fresh store.

use std::sync::Arc;

use chrono::TimeDelta;

use super::*;
use crate::concern::{Concern, ConcernId, Party, TimelineEntry, TimelineEvent};
use crate::directory::{Contact, Enrolment, EnrolmentId};
use crate::escalation::{Escalation, Status};

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

fn sms(key: &str, from: &str) -> Inbound {
    Inbound {
        key: key.into(),
        kind: InboundKind::Sms {
            from: from.into(),
            to: "+447700900000".into(),
            body: "My dressing is leaking".into(),
            media: 0,
        },
        received_at: t("2026-11-27T19:05:00Z"),
    }
}

fn concern(sender: &str) -> Concern {
    Concern {
        id: ConcernId::new(),
        enrolment: None,
        service: Some(Id::parse("cardiology-ward-7").unwrap()),
        sender: phone(sender),
        party: Party::Patient,
        opened_at: t("2026-11-27T19:05:00Z"),
        text: "My dressing is leaking".into(),
        escalation: Escalation::new(false),
        pictures_explained: false,
    }
}

fn outbox(concern: Option<ConcernId>, to: &str) -> NewOutbox {
    NewOutbox {
        concern,
        to: phone(to),
        body: "Hello".into(),
        purpose: Purpose::Notice,
        staff: None,
        recipient: "patient".into(),
        step: None,
    }
}

pub fn inbound_is_recorded_once_and_stays_pending_until_processed(store: Arc<dyn Store>) {
    assert!(store.record_inbound(&sms("SM1", "+447700900123")).unwrap());
    assert!(
        !store.record_inbound(&sms("SM1", "+447700900123")).unwrap(),
        "a retry is not a new message"
    );
    assert!(store.record_inbound(&sms("SM2", "+447700900124")).unwrap());
    let pending = store.pending_inbound(10).unwrap();
    assert_eq!(
        pending.iter().map(|i| i.key.as_str()).collect::<Vec<_>>(),
        ["SM1", "SM2"]
    );
    store
        .apply(Change {
            at: t("2026-11-27T19:05:01Z"),
            inbound_done: Some("SM1".into()),
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.pending_inbound(10).unwrap().len(), 1);
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

pub fn a_change_writes_state_timeline_outbox_and_timers_together(store: Arc<dyn Store>) {
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
    assert_eq!(store.concern(c.id).unwrap(), Some(c.clone()));
    assert_eq!(store.timeline(c.id).unwrap().len(), 1);
    assert_eq!(
        store.open_concern_from(&c.sender).unwrap().map(|x| x.id),
        Some(c.id)
    );
    assert_eq!(store.next_due().unwrap(), Some(now));
    let due = store.due_outbox(now, 10).unwrap();
    assert_eq!(due.len(), 1);
    store
        .apply(Change {
            at: now,
            outbox_outcomes: vec![OutboxOutcome::Sent {
                id: due[0].id,
                provider_id: "SMabc".into(),
            }],
            ..Change::default()
        })
        .unwrap();
    assert!(store.due_outbox(now, 10).unwrap().is_empty());
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
    assert!(store.due_timers(now, 10).unwrap().is_empty());
    assert_eq!(
        store
            .due_timers(now + TimeDelta::minutes(10), 10)
            .unwrap()
            .len(),
        1
    );
}

pub fn a_fired_timer_is_removed_unless_it_was_re_armed(store: Arc<dyn Store>) {
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
    store
        .apply(Change {
            at: now,
            fired_timer: Some(first.clone()),
            set_timers: vec![next.clone()],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(
        store.due_timers(now + TimeDelta::hours(1), 10).unwrap(),
        std::slice::from_ref(&next)
    );
    store
        .apply(Change {
            at: now,
            fired_timer: Some(next),
            ..Change::default()
        })
        .unwrap();
    assert!(
        store
            .due_timers(now + TimeDelta::hours(1), 10)
            .unwrap()
            .is_empty()
    );
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
    store
        .apply(Change {
            at: now,
            cancel_timers: vec![c.id],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.next_due().unwrap(), None);
}

pub fn a_resolved_concern_no_longer_collects_messages(store: Arc<dyn Store>) {
    let mut c = concern("+447700900123");
    let now = t("2026-11-27T19:05:00Z");
    store
        .apply(Change {
            at: now,
            concern: Some(c.clone()),
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.unresolved_concerns().unwrap(), 1);
    c.escalation.status = Status::Resolved {
        by: None,
        at: now,
        note: None,
    };
    store
        .apply(Change {
            at: now,
            concern: Some(c.clone()),
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.open_concern_from(&c.sender).unwrap(), None);
    assert_eq!(store.unresolved_concerns().unwrap(), 0);
}

pub fn enrolments_are_found_by_patient_or_carer_number_while_active(store: Arc<dyn Store>) {
    let now = t("2026-11-27T18:00:00Z");
    let e = Enrolment {
        id: EnrolmentId::new(),
        patient: Contact {
            name: "Margaret Evans".into(),
            phone: phone("07700 900123"),
            email: None,
        },
        carers: vec![crate::directory::Carer {
            contact: Contact {
                name: "Sian Evans".into(),
                phone: phone("07700 900124"),
                email: None,
            },
            relationship: Some("daughter".into()),
        }],
        service: Id::parse("cardiology-ward-7").unwrap(),
        discharged_at: now,
        context: None,
        enrolled_at: now,
        ends_at: now + TimeDelta::days(30),
        ended_at: None,
    };
    store
        .apply(Change {
            at: now,
            enrolment: Some(e.clone()),
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.enrolment(e.id).unwrap(), Some(e.clone()));
    assert_eq!(
        store
            .enrolments_for_phone(&phone("07700 900124"), now)
            .unwrap(),
        std::slice::from_ref(&e)
    );
    assert!(
        store
            .enrolments_for_phone(&phone("07700 900124"), now + TimeDelta::days(31))
            .unwrap()
            .is_empty()
    );
    assert!(store.end_enrolment(e.id, now + TimeDelta::days(1)).unwrap());
    assert!(!store.end_enrolment(e.id, now + TimeDelta::days(1)).unwrap());
    assert!(
        store
            .enrolments_for_phone(&phone("07700 900123"), now + TimeDelta::days(2))
            .unwrap()
            .is_empty()
    );
    assert!(store.enrolment(e.id).unwrap().unwrap().ended_at.is_some());
    // Once past the retention cutoff, the enrolment and its numbers are gone.
    assert_eq!(
        store
            .purge(now + TimeDelta::days(1), "[removed]")
            .unwrap()
            .enrolments,
        0
    );
    assert_eq!(
        store
            .purge(now + TimeDelta::days(2), "[removed]")
            .unwrap()
            .enrolments,
        1
    );
    assert_eq!(store.enrolment(e.id).unwrap(), None);
}

pub fn pages_keep_their_codes_and_close_with_the_concern(store: Arc<dyn Store>) {
    let c = concern("+447700900123");
    let chen = Id::parse("chen").unwrap();
    let now = t("2026-11-27T19:05:00Z");
    let page = Page {
        concern: c.id,
        staff: chen.clone(),
        code: 12,
        open: true,
        opened_at: now,
    };
    store
        .apply(Change {
            at: now,
            concern: Some(c.clone()),
            open_pages: vec![page.clone()],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(
        store.pages_for(&chen, now).unwrap(),
        std::slice::from_ref(&page)
    );
    assert_eq!(store.last_code(&chen).unwrap(), 12);
    assert_eq!(store.page(c.id, &chen).unwrap(), Some(page.clone()));
    assert!(store.code_taken(&chen, 12, now).unwrap());
    assert!(!store.code_taken(&chen, 13, now).unwrap());
    store
        .apply(Change {
            at: now,
            close_pages: vec![c.id],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(
        store.pages_for(&chen, now).unwrap(),
        [Page {
            open: false,
            ..page
        }]
    );
    // A closed code stays reserved for a while (late replies), then is free again.
    assert!(store.code_taken(&chen, 12, now).unwrap());
    assert!(
        !store
            .code_taken(&chen, 12, now + TimeDelta::seconds(1))
            .unwrap()
    );
    assert!(
        store
            .pages_for(&chen, now + TimeDelta::seconds(1))
            .unwrap()
            .is_empty()
    );
}

pub fn opt_outs_api_keys_and_secrets_persist(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let p = phone("07700 900123");
    assert!(!store.is_opted_out(&p).unwrap());
    store
        .apply(Change {
            at: now,
            opt_out: Some((p.clone(), true)),
            ..Change::default()
        })
        .unwrap();
    assert!(store.is_opted_out(&p).unwrap());
    store
        .create_api_key("discharge-system", [7; 32], now)
        .unwrap();
    assert_eq!(
        store.api_key([7; 32]).unwrap().as_deref(),
        Some("discharge-system")
    );
    assert_eq!(store.api_key([8; 32]).unwrap(), None);
    assert!(
        store.create_api_key("again", [7; 32], now).is_err(),
        "a hash is stored once"
    );
    let secret = store.secret("links").unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(store.secret("links").unwrap(), secret);
    assert_ne!(store.secret("other").unwrap(), secret);
}

pub fn concurrent_writes_all_land_and_one_failure_does_not_sink_the_rest(store: Arc<dyn Store>) {
    store
        .create_api_key("taken", [1; 32], t("2026-11-27T19:05:00Z"))
        .unwrap();
    let handles: Vec<_> = (0..32)
        .map(|i| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                if i == 5 {
                    assert!(
                        store
                            .create_api_key("duplicate", [1; 32], t("2026-11-27T19:05:00Z"))
                            .is_err()
                    );
                } else {
                    assert!(
                        store
                            .record_inbound(&sms(&format!("SM{i}"), "+447700900123"))
                            .unwrap()
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.pending_inbound(100).unwrap().len(), 31);
}

pub fn an_outbox_item_in_flight_stays_due_until_its_outcome_is_written(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    store
        .apply(Change {
            at: now,
            outbox: vec![outbox(None, "+447700900123")],
            ..Change::default()
        })
        .unwrap();
    let id = store.due_outbox(now, 10).unwrap()[0].id;
    store
        .apply(Change {
            at: now,
            outbox_in_flight: vec![id],
            ..Change::default()
        })
        .unwrap();
    // As after a crash mid-send: still due, and marked so the sender checks first.
    let due = store.due_outbox(now, 10).unwrap();
    assert_eq!((due.len(), due[0].in_flight), (1, true));
    let later = now + TimeDelta::seconds(2);
    store
        .apply(Change {
            at: now,
            outbox_outcomes: vec![OutboxOutcome::Retry { id, at: later }],
            ..Change::default()
        })
        .unwrap();
    assert!(store.due_outbox(now, 10).unwrap().is_empty());
    let due = store.due_outbox(later, 10).unwrap();
    assert_eq!((due[0].in_flight, due[0].attempts), (false, 1));
    assert_eq!(store.next_due().unwrap(), Some(later));
}

pub fn texts_to_one_number_go_out_in_order_and_a_retry_holds_back_the_next(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let mut first = outbox(None, "+447700900123");
    first.body = "first".into();
    let mut second = outbox(None, "+447700900123");
    second.body = "second".into();
    store
        .apply(Change {
            at: now,
            outbox: vec![first, second, outbox(None, "+447700900456")],
            ..Change::default()
        })
        .unwrap();
    // One per number: the first to 0123, and the one to 0456.
    let due = store.due_outbox(now, 10).unwrap();
    let bodies: Vec<(&str, &str)> = due
        .iter()
        .map(|i| (i.message.to.as_str(), i.message.body.as_str()))
        .collect();
    assert_eq!(
        bodies,
        [("+447700900123", "first"), ("+447700900456", "Hello")]
    );
    assert_eq!(due[0].queued_at, now);
    // The first fails and waits a minute: the second does not overtake it,
    // and the engine is not woken for an item it may not send.
    let later = now + TimeDelta::seconds(60);
    store
        .apply(Change {
            at: now,
            outbox_outcomes: vec![
                OutboxOutcome::Retry {
                    id: due[0].id,
                    at: later,
                },
                OutboxOutcome::Sent {
                    id: due[1].id,
                    provider_id: "SM1".into(),
                },
            ],
            ..Change::default()
        })
        .unwrap();
    assert!(store.due_outbox(now, 10).unwrap().is_empty());
    assert_eq!(store.next_due().unwrap(), Some(later));
    let backlog = store.backlog(now).unwrap();
    assert_eq!(
        (backlog.outbox_retrying, backlog.outbox_oldest_queued),
        (1, Some(now))
    );
    let due = store.due_outbox(later, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].message.body, "first");
    store
        .apply(Change {
            at: later,
            outbox_outcomes: vec![OutboxOutcome::Sent {
                id: due[0].id,
                provider_id: "SM2".into(),
            }],
            ..Change::default()
        })
        .unwrap();
    let due = store.due_outbox(later, 10).unwrap();
    assert_eq!(due[0].message.body, "second");
    // A cancelled item is no longer due, and no longer holds anything back.
    store
        .apply(Change {
            at: later,
            outbox_outcomes: vec![OutboxOutcome::Cancelled { id: due[0].id }],
            ..Change::default()
        })
        .unwrap();
    assert!(store.due_outbox(later, 10).unwrap().is_empty());
    assert_eq!(store.next_due().unwrap(), None);
    assert_eq!(store.backlog(later).unwrap().outbox_oldest_queued, None);
}

pub fn purging_removes_what_people_wrote_and_keeps_who_did_what(store: Arc<dyn Store>) {
    let mut c = concern("+447700900123");
    let opened = t("2026-11-27T19:05:00Z");
    let received = TimelineEntry {
        at: opened,
        event: TimelineEvent::Received {
            from: "patient".into(),
            text: c.text.clone(),
        },
    };
    let accepted = TimelineEntry {
        at: opened,
        event: TimelineEvent::Accepted {
            staff: Id::parse("chen").unwrap(),
            name: "Chen Li".into(),
        },
    };
    store
        .apply(Change {
            at: opened,
            concern: Some(c.clone()),
            timeline: vec![(c.id, received), (c.id, accepted.clone())],
            outbox: vec![outbox(Some(c.id), "+447700900456")],
            ..Change::default()
        })
        .unwrap();
    assert!(store.record_inbound(&sms("SM1", "+447700900123")).unwrap());
    store
        .apply(Change {
            at: opened,
            inbound_done: Some("SM1".into()),
            ..Change::default()
        })
        .unwrap();
    // Still open: its text stays, however old; the raw inbound copy goes (the timeline has the words).
    assert_eq!(
        store.purge(t("2027-06-01T00:00:00Z"), "[removed]").unwrap(),
        Purged {
            concerns: 0,
            inbound: 1,
            enrolments: 0
        }
    );

    let resolved = t("2026-11-28T09:00:00Z");
    c.escalation.status = Status::Resolved {
        by: None,
        at: resolved,
        note: Some("Dressing changed at home".into()),
    };
    store
        .apply(Change {
            at: resolved,
            concern: Some(c.clone()),
            ..Change::default()
        })
        .unwrap();
    assert_eq!(
        store.purge(resolved, "[removed]").unwrap(),
        Purged::default(),
        "not yet: resolved at, not before, the cutoff"
    );
    let purged = store
        .purge(resolved + TimeDelta::seconds(1), "[removed]")
        .unwrap();
    assert_eq!(purged.concerns, 1);
    let after = store.concern(c.id).unwrap().unwrap();
    assert_eq!(after.text, "[removed]");
    assert!(
        matches!(after.escalation.status, Status::Resolved { note: Some(ref n), .. } if n == "[removed]")
    );
    let timeline = store.timeline(c.id).unwrap();
    assert!(
        matches!(&timeline[0].event, TimelineEvent::Received { text, .. } if text == "[removed]")
    );
    assert_eq!(timeline[1], accepted, "who accepted stays");
    assert_eq!(
        store
            .purge(resolved + TimeDelta::days(1), "[removed]")
            .unwrap(),
        Purged::default(),
        "done once"
    );
}

fn opened_at(
    sender: &str,
    at: &str,
    service: Option<&str>,
    enrolment: Option<EnrolmentId>,
) -> Concern {
    Concern {
        opened_at: t(at),
        service: service.map(|s| Id::parse(s).unwrap()),
        enrolment,
        ..concern(sender)
    }
}

fn save(store: &Arc<dyn Store>, concerns: &[&Concern]) {
    for c in concerns {
        store
            .apply(Change {
                at: c.opened_at,
                concern: Some((*c).clone()),
                ..Change::default()
            })
            .unwrap();
    }
}

fn listed(store: &Arc<dyn Store>, filter: ConcernFilter) -> Vec<ConcernId> {
    let limit = if filter.limit == 0 { 100 } else { filter.limit };
    store
        .concerns(&ConcernFilter { limit, ..filter })
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect()
}

pub fn concerns_are_listed_newest_first_by_status_service_enrolment_and_time(
    store: Arc<dyn Store>,
) {
    let (ward, nursing) = (EnrolmentId::new(), EnrolmentId::new());
    // Friday evening: Margaret (ward 7) texts, a stranger texts, Mr Patel
    // (community nursing) texts, then Margaret's daughter Siân texts.
    let mut margaret = opened_at(
        "+447700900801",
        "2026-11-27T19:05:00Z",
        Some("cardiology-ward-7"),
        Some(ward),
    );
    let mut stranger = opened_at("+447700900999", "2026-11-27T19:10:00Z", None, None);
    let patel = opened_at(
        "+447700900811",
        "2026-11-27T19:15:00Z",
        Some("community-nursing-north"),
        Some(nursing),
    );
    let sian = opened_at(
        "+447700900802",
        "2026-11-27T19:20:00Z",
        Some("cardiology-ward-7"),
        Some(ward),
    );
    save(&store, &[&margaret, &stranger, &patel, &sian]);
    // The duty manager accepts the stranger's; Margaret's is resolved.
    let duty = crate::escalation::StaffRef {
        id: Id::parse("sam").unwrap(),
        name: "Sam Okoro".into(),
        role: "Site duty manager".into(),
    };
    stranger.escalation.status = Status::Accepted {
        by: duty,
        at: t("2026-11-27T19:12:00Z"),
    };
    margaret.escalation.status = Status::Resolved {
        by: None,
        at: t("2026-11-27T19:30:00Z"),
        note: None,
    };
    save(&store, &[&stranger, &margaret]);

    use ConcernStatus::{Accepted, Open, Resolved};
    let ward_7 = Some(Id::parse("cardiology-ward-7").unwrap());
    let all = ConcernFilter::default;
    let statuses = |statuses: &[ConcernStatus]| ConcernFilter {
        statuses: statuses.to_vec(),
        ..all()
    };
    let newest_first = vec![sian.id, patel.id, stranger.id, margaret.id];
    #[rustfmt::skip]
    let cases = [
        ("everything", all(), newest_first.clone()),
        ("open", statuses(&[Open]), vec![sian.id, patel.id]),
        ("accepted", statuses(&[Accepted]), vec![stranger.id]),
        ("resolved", statuses(&[Resolved]), vec![margaret.id]),
        ("unresolved", statuses(&[Open, Accepted]), vec![sian.id, patel.id, stranger.id]),
        ("accepted or resolved", statuses(&[Resolved, Accepted]), vec![stranger.id, margaret.id]),
        ("any status", statuses(&[Open, Accepted, Resolved]), newest_first),
        ("ward 7", ConcernFilter { service: ward_7.clone(), ..all() }, vec![sian.id, margaret.id]),
        ("open on ward 7", ConcernFilter { service: ward_7, ..statuses(&[Open]) }, vec![sian.id]),
        ("Margaret's enrolment", ConcernFilter { enrolment: Some(ward), ..all() }, vec![sian.id, margaret.id]),
        ("Mr Patel's enrolment", ConcernFilter { enrolment: Some(nursing), ..all() }, vec![patel.id]),
        ("an enrolment with none", ConcernFilter { enrolment: Some(EnrolmentId::new()), ..all() }, vec![]),
        ("since 19:10, inclusive", ConcernFilter { opened_since: Some(t("2026-11-27T19:10:00Z")), ..all() }, vec![sian.id, patel.id, stranger.id]),
        ("the newest two", ConcernFilter { limit: 2, ..all() }, vec![sian.id, patel.id]),
    ];
    for (what, filter, expected) in cases {
        assert_eq!(listed(&store, filter), expected, "{what}");
    }
    assert_eq!(
        store
            .concerns(&ConcernFilter { limit: 1, ..all() })
            .unwrap(),
        [sian],
        "the concern as stored"
    );
}

pub fn pages_follow_on_from_a_key_and_ignore_concerns_that_arrive_between_pages(
    store: Arc<dyn Store>,
) {
    // Five concerns; three opened in the same millisecond, which the page
    // boundary falls among.
    let mut first: Vec<Concern> = [
        "2026-11-27T19:01:00Z",
        "2026-11-27T19:02:00Z",
        "2026-11-27T19:02:00Z",
        "2026-11-27T19:02:00Z",
        "2026-11-27T19:03:00Z",
    ]
    .iter()
    .enumerate()
    .map(|(i, at)| {
        opened_at(
            &format!("+44770090082{i}"),
            at,
            Some("cardiology-ward-7"),
            None,
        )
    })
    .collect();
    save(&store, &first.iter().collect::<Vec<_>>());
    first.sort_by_key(|c| std::cmp::Reverse((c.opened_at, c.id.0)));
    let expected: Vec<ConcernId> = first.iter().map(|c| c.id).collect();

    let page = |after: Option<ConcernKey>| {
        store
            .concerns(&ConcernFilter {
                after,
                limit: 2,
                ..ConcernFilter::default()
            })
            .unwrap()
    };
    let one = page(None);
    assert_eq!(one.iter().map(|c| c.id).collect::<Vec<_>>(), expected[..2]);

    // A new concern arrives, and one on the first page is accepted, before
    // the second page is asked for: neither moves the pages that follow.
    let newcomer = opened_at(
        "+447700900899",
        "2026-11-27T19:04:00Z",
        Some("cardiology-ward-7"),
        None,
    );
    save(&store, &[&newcomer]);
    let mut taken = one[1].clone();
    taken.escalation.status = Status::Accepted {
        by: crate::escalation::StaffRef {
            id: Id::parse("chen").unwrap(),
            name: "Chen Li".into(),
            role: "Registrar".into(),
        },
        at: t("2026-11-27T19:05:00Z"),
    };
    save(&store, &[&taken]);

    let two = page(Some(ConcernKey::of(one.last().unwrap())));
    assert_eq!(two.iter().map(|c| c.id).collect::<Vec<_>>(), expected[2..4]);
    let three = page(Some(ConcernKey::of(two.last().unwrap())));
    assert_eq!(
        three.iter().map(|c| c.id).collect::<Vec<_>>(),
        expected[4..]
    );
    assert!(
        page(Some(ConcernKey::of(three.last().unwrap()))).is_empty(),
        "the end"
    );
    // A fresh first page starts with the newcomer.
    assert_eq!(page(None)[0].id, newcomer.id);
}

/// Run every check against stores made by `fresh`.
pub fn run_all(fresh: impl Fn() -> Arc<dyn Store>) {
    inbound_is_recorded_once_and_stays_pending_until_processed(fresh());
    a_change_writes_state_timeline_outbox_and_timers_together(fresh());
    a_fired_timer_is_removed_unless_it_was_re_armed(fresh());
    a_resolved_concern_no_longer_collects_messages(fresh());
    enrolments_are_found_by_patient_or_carer_number_while_active(fresh());
    pages_keep_their_codes_and_close_with_the_concern(fresh());
    opt_outs_api_keys_and_secrets_persist(fresh());
    concurrent_writes_all_land_and_one_failure_does_not_sink_the_rest(fresh());
    an_outbox_item_in_flight_stays_due_until_its_outcome_is_written(fresh());
    texts_to_one_number_go_out_in_order_and_a_retry_holds_back_the_next(fresh());
    purging_removes_what_people_wrote_and_keeps_who_did_what(fresh());
    concerns_are_listed_newest_first_by_status_service_enrolment_and_time(fresh());
    pages_follow_on_from_a_key_and_ignore_concerns_that_arrive_between_pages(fresh());
}

#[test]
fn sqlite_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    run_all(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Arc::new(sqlite::SqliteStore::open(&dir.path().join(format!("store-{n}.db"))).unwrap())
    });
}

#[test]
fn redis_store_conforms() {
    let server = redis::test_server::RedisServer::start();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    run_all(|| {
        // A namespace per case: each starts empty, on one server.
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Arc::new(redis::RedisStore::open_in(&server.url(), &format!("case-{n}")).unwrap())
    });
}

#[test]
fn sqlite_store_keeps_everything_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nightingale.db");
    {
        let store = sqlite::SqliteStore::open(&path).unwrap();
        assert!(store.record_inbound(&sms("SM1", "+447700900123")).unwrap());
    }
    let store = sqlite::SqliteStore::open(&path).unwrap();
    assert_eq!(store.pending_inbound(10).unwrap().len(), 1);
    assert!(!store.record_inbound(&sms("SM1", "+447700900123")).unwrap());
}
