//! The outbox's lanes (texts to one number in order, an email's own lane), purging, and listing concerns.

use super::*;

/// A text to `to`, queued at `now`.
pub(super) fn queue_text(store: &Arc<dyn Store>, now: Instant, to: &str) {
    apply_at(store, now, |change| change.outbox = vec![outbox(None, to)]);
}

/// "first" then "second" to 0123, and "Hello" to 0456, queued at `now`.
pub(super) fn queue_two_texts_to_one_number_and_one_to_another(
    store: &Arc<dyn Store>,
    now: Instant,
) {
    let mut first = outbox(None, "+447700900123");
    first.body = "first".into();
    let mut second = outbox(None, "+447700900123");
    second.body = "second".into();
    apply_at(store, now, |change| {
        change.outbox = vec![first, second, outbox(None, "+447700900456")]
    });
}

pub(super) fn an_email_keeps_its_address_has_a_lane_of_its_own_and_is_found_by_its_message_id(
    store: Arc<dyn Store>,
) {
    let now = t("2026-11-27T19:05:00Z");
    let node = NodeId::new("a");
    let mut first = outbox(None, "mailto:Isla.Morgan@nhs.example");
    first.body = "first email".into();
    let mut second = first.clone();
    second.body = "second email".into();
    apply_at(&store, now, |change| {
        change.outbox = vec![first, second, outbox(None, "+447700900211")]
    });
    // The email and the text to the same person's number go side by side;
    // the second email waits behind the first, as texts to one number do.
    let claimed = store
        .claim_of::<OutboxItem>(&node, now, TimeDelta::seconds(30), 10)
        .unwrap();
    let to: Vec<(String, &str)> = claimed
        .iter()
        .map(|c| (c.item.message.to.key(), c.item.message.body.as_str()))
        .collect();
    assert_eq!(
        to,
        [
            ("mailto:Isla.Morgan@nhs.example".to_owned(), "first email"),
            ("+447700900211".to_owned(), "Hello")
        ]
    );
    assert!(matches!(
        &claimed[0].item.message.to,
        crate::directory::Address::Email(e) if e.as_str() == "Isla.Morgan@nhs.example"
    ));
    let email = &claimed[0];
    store
        .apply(Change {
            at: now,
            claim: Some(email.claim.clone()),
            outbox_outcomes: vec![OutboxOutcome::Sent {
                id: email.item.id,
                provider_id: "1.00ff@nightingale.test".into(),
            }],
            ..Change::default()
        })
        .unwrap();
    let found = store
        .outbox_by_provider_id("1.00ff@nightingale.test")
        .unwrap()
        .expect("a bounce finds the email by its Message-ID");
    assert_eq!(found.id, email.item.id);
    assert_eq!(found.message.to, email.item.message.to);
    let next = store
        .claim_of::<OutboxItem>(&node, now, TimeDelta::seconds(30), 10)
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].item.message.body, "second email");
}

pub(super) fn texts_to_one_number_go_out_in_order_and_a_retry_holds_back_the_next(
    store: Arc<dyn Store>,
) {
    let now = t("2026-11-27T19:05:00Z");
    queue_two_texts_to_one_number_and_one_to_another(&store, now);
    // One per number: the first to 0123, and the one to 0456.
    let due = due_outbox(&store, now);
    let bodies: Vec<(String, &str)> = due
        .iter()
        .map(|i| (i.message.to.key(), i.message.body.as_str()))
        .collect();
    assert_eq!(
        bodies,
        [
            ("+447700900123".to_owned(), "first"),
            ("+447700900456".to_owned(), "Hello")
        ]
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
    assert!(due_outbox(&store, now).is_empty());
    assert_eq!(store.next_due().unwrap(), Some(later));
    // Only the sending loop is woken for it.
    assert_eq!(store.next_due_of(&[WorkKind::Outbox]).unwrap(), Some(later));
    assert_eq!(
        store
            .next_due_of(&[WorkKind::Timer, WorkKind::Inbound])
            .unwrap(),
        None
    );
    let backlog = store.backlog(now).unwrap();
    assert_eq!(
        (backlog.outbox_retrying, backlog.outbox_oldest_queued),
        (1, Some(now))
    );
    let due = due_outbox(&store, later);
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
    let due = due_outbox(&store, later);
    assert_eq!(due[0].message.body, "second");
    // A cancelled item is no longer due, and no longer holds anything back.
    apply_at(&store, later, |change| {
        change.outbox_outcomes = vec![OutboxOutcome::Cancelled { id: due[0].id }]
    });
    assert!(due_outbox(&store, later).is_empty());
    assert_eq!(store.next_due().unwrap(), None);
    assert_eq!(store.backlog(later).unwrap().outbox_oldest_queued, None);
}

pub(super) fn purging_removes_what_people_wrote_and_keeps_who_did_what(store: Arc<dyn Store>) {
    let mut c = concern("+447700900123");
    let opened = t("2026-11-27T19:05:00Z");
    let received = TimelineEntry {
        at: opened,
        event: TimelineEvent::Received {
            from: "patient".into(),
            text: c.text.clone(),
            voicemail: false,
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
    let taken = store
        .claim_of::<Inbound>(&node("a"), opened, LEASE, 10)
        .unwrap();
    complete(&store, opened, &taken[0].claim);
    // Still open: its text stays, however old; the raw inbound copy goes (the timeline has the words).
    assert_eq!(
        store.purge(t("2027-06-01T00:00:00Z"), "[removed]").unwrap(),
        Purged {
            concerns: 0,
            inbound: 1,
            enrolments: 0,
            set_aside: 0,
        }
    );

    let resolved = t("2026-11-28T09:00:00Z");
    c = stored(&store, c.id);
    c.escalation.status = Status::Resolved {
        by: None,
        at: resolved,
        note: Some("Dressing changed at home".into()),
    };
    write_concern(&store, resolved, &c);
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

pub(super) fn opened_at(
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

pub(super) fn save(store: &Arc<dyn Store>, concerns: &[&Concern]) {
    for c in concerns {
        write_concern(store, c.opened_at, c);
    }
}

pub(super) fn listed(store: &Arc<dyn Store>, filter: ConcernFilter) -> Vec<ConcernId> {
    let limit = if filter.limit == 0 { 100 } else { filter.limit };
    store
        .concerns(&ConcernFilter { limit, ..filter })
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect()
}

pub(super) fn concerns_are_listed_newest_first_by_status_service_enrolment_and_time(
    store: Arc<dyn Store>,
) {
    let (ward, nursing) = (EnrolmentId::new(), EnrolmentId::new());
    // Friday evening: Margaret (ward 7) texts, a stranger texts, Mr Patel
    // (community nursing) texts, then Margaret's daughter Siân texts.
    let margaret = opened_at(
        "+447700900801",
        "2026-11-27T19:05:00Z",
        Some("cardiology-ward-7"),
        Some(ward),
    );
    let stranger = opened_at("+447700900999", "2026-11-27T19:10:00Z", None, None);
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
    let (mut stranger, mut margaret) = (stored(&store, stranger.id), stored(&store, margaret.id));
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
        [Concern { version: 1, ..sian }],
        "the concern as stored"
    );
}

pub(super) fn pages_follow_on_from_a_key_and_ignore_concerns_that_arrive_between_pages(
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

/// A text about `concern` to `to` for `purpose`, for member of staff
/// `staff` if any, reading `body`.
fn text_for(
    concern: Option<ConcernId>,
    to: &str,
    purpose: Purpose,
    staff: Option<&str>,
    body: &str,
) -> NewOutbox {
    NewOutbox {
        purpose,
        staff: staff.map(|s| Id::parse(s).unwrap()),
        body: body.into(),
        ..outbox(concern, to)
    }
}

pub(super) fn the_most_urgent_lane_goes_first_and_each_person_keeps_their_order(
    store: Arc<dyn Store>,
) {
    let morning = t("2026-11-28T09:00:00Z");
    let node = NodeId::new("a");
    let chest_pain = ConcernId::new();
    let queue = |at: Instant, text: NewOutbox| {
        store
            .apply(Change {
                at,
                outbox: vec![text],
                ..Change::default()
            })
            .unwrap();
    };
    // 09:00: welcomes to Margaret and Sian, a handover to Dr Chen.
    queue(
        morning,
        text_for(
            None,
            "+447700900801",
            Purpose::Welcome,
            None,
            "welcome Margaret",
        ),
    );
    queue(
        morning,
        text_for(
            None,
            "+447700900802",
            Purpose::Welcome,
            None,
            "welcome Sian",
        ),
    );
    queue(
        morning,
        text_for(
            None,
            "+447700900301",
            Purpose::Handover,
            Some("chen"),
            "handover",
        ),
    );
    // 09:01: Dr Chen is paged about Margaret's chest pain, a sign-in code
    // goes to Dr Okafor, and Margaret is told we have her message.
    let soon = morning + TimeDelta::minutes(1);
    queue(
        soon,
        text_for(
            Some(chest_pain),
            "+447700900301",
            Purpose::Page,
            Some("chen"),
            "page",
        ),
    );
    queue(
        soon,
        text_for(
            None,
            "+447700900302",
            Purpose::SignInCode,
            Some("okafor"),
            "code",
        ),
    );
    queue(
        soon,
        text_for(
            Some(chest_pain),
            "+447700900801",
            Purpose::Notice,
            None,
            "we have it",
        ),
    );
    // A text to Dr Chen's number about no concern shares the lane of
    // the handover (`Lane::of`): it waits behind it.
    queue(
        soon,
        text_for(
            None,
            "+447700900301",
            Purpose::StaffNotice,
            Some("chen"),
            "help",
        ),
    );
    // Urgent lanes first: Margaret's (her welcome, made as urgent as the
    // answer behind it) and the page; then prompt ones, oldest first: Dr
    // Chen's (the handover, made as prompt as the help text behind it) and
    // the code; then bulk.
    let claimed = store
        .claim_of::<OutboxItem>(&node, soon, TimeDelta::seconds(30), 10)
        .unwrap();
    let bodies: Vec<&str> = claimed
        .iter()
        .map(|c| c.item.message.body.as_str())
        .collect();
    assert_eq!(
        bodies,
        [
            "welcome Margaret",
            "page",
            "handover",
            "code",
            "welcome Sian"
        ]
    );
    // Sent: Margaret's answer is next in her lane, urgent, ahead of the
    // help text behind the handover; a claim of one takes it.
    store
        .apply(Change {
            at: soon,
            outbox_outcomes: claimed
                .iter()
                .map(|c| OutboxOutcome::Sent {
                    id: c.item.id,
                    provider_id: format!("SM{}", c.item.id),
                })
                .collect(),
            ..Change::default()
        })
        .unwrap();
    queue(
        soon,
        text_for(
            None,
            "+447700900802",
            Purpose::CheckIn,
            None,
            "check-in Sian",
        ),
    );
    let next = store
        .claim_of::<OutboxItem>(&node, soon, TimeDelta::seconds(30), 1)
        .unwrap();
    assert_eq!(next[0].item.message.body, "we have it");
    let rest: Vec<String> = store
        .claim_of::<OutboxItem>(&node, soon, TimeDelta::seconds(30), 10)
        .unwrap()
        .into_iter()
        .map(|c| c.item.message.body)
        .collect();
    assert_eq!(rest, ["help", "check-in Sian"]);
}

/// Claim every text due at `at` and write that each was sent.
fn send_due(store: &Arc<dyn Store>, at: Instant) {
    let claimed = store
        .claim_of::<OutboxItem>(&NodeId::new("a"), at, TimeDelta::seconds(30), 10)
        .unwrap();
    let outbox_outcomes = claimed
        .iter()
        .map(|c| OutboxOutcome::Sent {
            id: c.item.id,
            provider_id: format!("SM{}", c.item.id),
        })
        .collect();
    store
        .apply(Change {
            at,
            outbox_outcomes,
            ..Change::default()
        })
        .unwrap();
}

pub(super) fn the_backlog_counts_due_texts_by_priority_and_the_one_due_longest(
    store: Arc<dyn Store>,
) {
    let morning = t("2026-11-28T09:00:00Z");
    let soon = morning + TimeDelta::minutes(1);
    let later = morning + TimeDelta::minutes(5);
    let chest_pain = ConcernId::new();
    let queue = |at: Instant, outbox: Vec<NewOutbox>| {
        store
            .apply(Change {
                at,
                outbox,
                ..Change::default()
            })
            .unwrap();
    };
    let by_priority = |at: Instant| {
        store
            .backlog(at)
            .unwrap()
            .outbox_due_by_priority
            .map(|p| (p.due, p.oldest_due))
    };
    // Welcomes to Margaret and Sian at 09:00; at 09:01 a page to Dr Chen
    // and a sign-in code to Dr Okafor.
    let welcome = |to: &str| text_for(None, to, Purpose::Welcome, None, "welcome");
    queue(
        morning,
        vec![welcome("+447700900801"), welcome("+447700900802")],
    );
    let page = text_for(
        Some(chest_pain),
        "+447700900301",
        Purpose::Page,
        Some("chen"),
        "page",
    );
    let code = text_for(
        None,
        "+447700900302",
        Purpose::SignInCode,
        Some("okafor"),
        "code",
    );
    queue(soon, vec![page, code]);
    // Half a minute in, only the welcomes are due.
    assert_eq!(
        by_priority(morning + TimeDelta::seconds(30)),
        [(0, None), (0, None), (2, Some(morning))]
    );
    assert_eq!(
        by_priority(later),
        [(1, Some(soon)), (1, Some(soon)), (2, Some(morning))]
    );
    // Margaret is told we have her message: her welcome, before it in her
    // lane, is made as urgent, and counts there.
    let answer = text_for(
        Some(chest_pain),
        "+447700900801",
        Purpose::Notice,
        None,
        "we have it",
    );
    queue(soon, vec![answer]);
    let waiting = [(3, Some(morning)), (1, Some(soon)), (1, Some(morning))];
    assert_eq!(by_priority(later), waiting);
    // A text claimed but not yet sent is still due; once sent, none is.
    store
        .claim_of::<OutboxItem>(&NodeId::new("b"), later, TimeDelta::seconds(30), 10)
        .unwrap();
    assert_eq!(by_priority(later), waiting);
    let after_the_lease = later + TimeDelta::minutes(1);
    send_due(&store, after_the_lease);
    send_due(&store, after_the_lease);
    assert_eq!(by_priority(after_the_lease), [(0, None); 3]);
}
