use super::*;
use crate::timeline::TimelineEvent;

fn staff(id: &str, name: &str) -> StaffRef {
    StaffRef {
        id: Id::parse(id).unwrap(),
        name: name.into(),
        role: "Registrar".into(),
    }
}

/// The registrar at level one of the usual chain.
fn chen() -> StaffRef {
    staff("chen", "Chen Li")
}

/// The consultant at level two of the usual chain.
fn eleanor() -> StaffRef {
    staff("eleanor", "Dr Eleanor Shaw")
}

/// `by` accepts the concern.
fn accept(by: StaffRef) -> Event {
    Event::Accept { by }
}

fn level(people: &[StaffRef], minutes: i64, repeat: u32) -> LevelSnapshot {
    LevelSnapshot {
        people: people.to_vec(),
        ack_within: TimeDelta::minutes(minutes),
        repeat,
    }
}

fn chain() -> ChainSnapshot {
    ChainSnapshot {
        levels: vec![level(&[chen()], 10, 0), level(&[eleanor()], 15, 0)],
        fallback: level(&[staff("quentin", "Quentin Adams")], 10, 0),
        chain_repeats: 0,
        valid_until: Some(t("2026-11-28T08:00:00Z")),
    }
}

/// A concern opened at `when` on the usual chain.
fn open(when: &str) -> (Escalation, Vec<Effect>) {
    at(&Escalation::new(false), Event::Open, when)
}

/// `event` at `when` on the usual chain and policy.
fn at(state: &Escalation, event: Event, when: &str) -> (Escalation, Vec<Effect>) {
    step(state, event, t(when), &chain(), &Policy::default())
}

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

fn pages(effects: &[Effect]) -> Vec<(String, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Page { staff, step, .. } => Some((staff.id.to_string(), step.clone())),
            _ => None,
        })
        .collect()
}

fn deadline(effects: &[Effect]) -> Option<(Instant, u64)> {
    effects.iter().find_map(|e| match e {
        Effect::ArmAckDeadline { at, seq } => Some((*at, *seq)),
        _ => None,
    })
}

#[test]
fn friday_evening_text_is_accepted_after_one_escalation() {
    let policy = Policy::default();
    let now = t("2026-11-27T19:05:00Z");
    let (s, fx) = step(&Escalation::new(false), Event::Open, now, &chain(), &policy);
    assert_eq!(pages(&fx), [("chen".into(), "level 1".into())]);
    assert_eq!(deadline(&fx), Some((t("2026-11-27T19:15:00Z"), 1)));
    assert!(fx.contains(&Effect::ArmHandover {
        at: t("2026-11-28T08:00:00Z")
    }));

    // Ten minutes, no answer: the consultant is paged.
    let (s, fx) = at(&s, Event::AckDeadline { seq: 1 }, "2026-11-27T19:15:00Z");
    assert_eq!(pages(&fx), [("eleanor".into(), "level 2".into())]);
    assert_eq!(deadline(&fx), Some((t("2026-11-27T19:30:00Z"), 2)));

    // The consultant accepts; the patient is told; the registrar is told it is taken.
    let (s, fx) = at(&s, accept(eleanor()), "2026-11-27T19:20:00Z");
    assert!(matches!(s.status, Status::Accepted { ref by, .. } if by.id.as_str() == "eleanor"));
    assert!(fx.contains(&Effect::TellSender(SenderNotice::AcceptedBy {
        staff: Id::parse("eleanor").unwrap(),
        name: "Dr Eleanor Shaw".into(),
        role: "Registrar".into()
    })));
    assert!(fx.contains(&Effect::TellStaff {
        staff: chen(),
        notice: StaffNotice::TakenBy {
            name: "Dr Eleanor Shaw".into()
        }
    }));
    assert!(fx.contains(&Effect::CancelTimers));
    assert!(fx.contains(&Effect::ArmReminder {
        at: t("2026-11-27T21:20:00Z")
    }));

    // The old deadline, if it still fires, changes nothing.
    let (after, fx) = at(&s, Event::AckDeadline { seq: 2 }, "2026-11-27T19:30:00Z");
    assert_eq!((after, fx), (s, vec![]));
}

#[test]
fn a_red_flag_pages_levels_one_and_two_at_once() {
    let (s, fx) = step(
        &Escalation::new(true),
        Event::Open,
        t("2026-11-27T19:05:00Z"),
        &chain(),
        &Policy::default(),
    );
    assert_eq!(
        pages(&fx),
        [
            ("chen".into(), "level 1".into()),
            ("eleanor".into(), "level 2".into())
        ]
    );
    assert_eq!(s.paged.len(), 2);
}

#[test]
fn after_the_last_level_the_fallback_is_paged_and_the_sender_told_to_call_111() {
    let (s, _) = open("2026-11-27T19:05:00Z");
    let (s, _) = at(&s, Event::AckDeadline { seq: 1 }, "2026-11-27T19:15:00Z");
    let (s, fx) = at(&s, Event::AckDeadline { seq: 2 }, "2026-11-27T19:30:00Z");
    assert_eq!(pages(&fx), [("quentin".into(), "fallback".into())]);
    assert!(fx.contains(&Effect::TellSender(SenderNotice::Call111)));
    assert!(fx.contains(&Effect::Record(TimelineEvent::Advised111)));
    // Still nobody: the fallback is paged again, the sender is not told twice.
    let (s, fx) = at(&s, Event::AckDeadline { seq: 3 }, "2026-11-27T19:40:00Z");
    assert_eq!(pages(&fx), [("quentin".into(), "fallback (again)".into())]);
    assert!(!fx.iter().any(|e| matches!(e, Effect::TellSender(_))));
    assert!(s.is_open());
}

#[test]
fn levels_and_chains_repeat_as_configured() {
    let mut c = chain();
    c.levels[0].repeat = 1;
    c.chain_repeats = 1;
    let policy = Policy::default();
    let mut s = step(
        &Escalation::new(false),
        Event::Open,
        t("2026-11-27T19:05:00Z"),
        &c,
        &policy,
    )
    .0;
    let mut steps = vec![];
    for _ in 0..5 {
        let (next, fx) = step(
            &s,
            Event::AckDeadline { seq: s.seq },
            t("2026-11-27T20:00:00Z"),
            &c,
            &policy,
        );
        steps.extend(pages(&fx).into_iter().map(|(_, step)| step));
        s = next;
    }
    assert_eq!(
        steps,
        [
            "level 1 (again)",
            "level 2",
            "level 1 (again)",
            "level 1 (again)",
            "level 2 (again)"
        ]
    );
}

#[test]
fn a_pass_escalates_at_once() {
    let (s, _) = open("2026-11-27T19:05:00Z");
    let (s, fx) = at(&s, Event::Pass { by: chen() }, "2026-11-27T19:07:00Z");
    assert_eq!(pages(&fx), [("eleanor".into(), "level 2".into())]);
    assert_eq!(deadline(&fx), Some((t("2026-11-27T19:22:00Z"), 2)));
    assert!(s.is_open());
}

#[test]
fn when_no_one_at_a_level_can_be_reached_it_escalates_at_once() {
    let mut c = chain();
    c.levels[0].people.push(staff("amara", "Amara Okafor"));
    let policy = Policy::default();
    let (s, _) = step(
        &Escalation::new(false),
        Event::Open,
        t("2026-11-27T19:05:00Z"),
        &c,
        &policy,
    );
    let (s, fx) = step(
        &s,
        Event::PageUndeliverable {
            staff: Id::parse("chen").unwrap(),
        },
        t("2026-11-27T19:06:00Z"),
        &c,
        &policy,
    );
    assert!(pages(&fx).is_empty(), "Amara may still answer");
    let (_, fx) = step(
        &s,
        Event::PageUndeliverable {
            staff: Id::parse("amara").unwrap(),
        },
        t("2026-11-27T19:07:00Z"),
        &c,
        &policy,
    );
    assert_eq!(pages(&fx), [("eleanor".into(), "level 2".into())]);
}

#[test]
fn a_handover_while_unaccepted_pages_the_new_on_call_person() {
    let policy = Policy::default();
    let (s, _) = open("2026-11-28T07:55:00Z");
    let mut after = chain();
    after.levels[0].people = vec![staff("dafydd", "Dafydd Evans")];
    after.valid_until = Some(t("2026-11-29T08:00:00Z"));
    let (s, fx) = step(
        &s,
        Event::Handover,
        t("2026-11-28T08:00:00Z"),
        &after,
        &policy,
    );
    assert_eq!(pages(&fx), [("dafydd".into(), "level 1".into())]);
    assert!(fx.contains(&Effect::ArmHandover {
        at: t("2026-11-29T08:00:00Z")
    }));
    // Both may accept: Chen's page is still valid.
    assert_eq!(s.paged.len(), 2);
}

#[test]
fn replies_to_a_concern_someone_has_say_who_has_it() {
    let (s, _) = open("2026-11-27T19:05:00Z");
    let (s, _) = at(&s, accept(chen()), "2026-11-27T19:06:00Z");
    let (_, fx) = at(&s, accept(eleanor()), "2026-11-27T19:07:00Z");
    assert_eq!(
        fx,
        [Effect::TellStaff {
            staff: eleanor(),
            notice: StaffNotice::AlreadyAccepted {
                name: "Chen Li".into()
            }
        }]
    );
}

#[test]
fn an_accepted_concern_left_unresolved_reminds_its_holder_until_resolved() {
    let (s, _) = open("2026-11-27T19:05:00Z");
    let (s, _) = at(&s, accept(chen()), "2026-11-27T19:06:00Z");
    let (s, fx) = at(&s, Event::ReminderDue, "2026-11-27T21:06:00Z");
    assert!(fx.contains(&Effect::TellStaff {
        staff: chen(),
        notice: StaffNotice::Reminder
    }));
    assert!(fx.contains(&Effect::ArmReminder {
        at: t("2026-11-27T23:06:00Z")
    }));
    let (s, fx) = at(
        &s,
        Event::Resolve {
            by: chen(),
            note: Some("Advised".into()),
        },
        "2026-11-27T21:30:00Z",
    );
    assert!(s.is_resolved());
    assert!(fx.contains(&Effect::CancelTimers));
    let (_, fx) = at(&s, Event::ReminderDue, "2026-11-27T23:06:00Z");
    assert!(fx.is_empty());
}

#[test]
fn later_messages_go_to_whoever_is_paged_or_has_it() {
    let (s, _) = open("2026-11-27T19:05:00Z");
    let (_, fx) = at(
        &s,
        Event::Message {
            text: "It is worse now".into(),
        },
        "2026-11-27T19:08:00Z",
    );
    assert_eq!(
        fx,
        [Effect::Forward {
            staff: chen(),
            skip: 1,
        }]
    );
    assert!(pages(&fx).is_empty(), "no new page storm");
}

fn message(state: &Escalation, when: &str) -> (Escalation, Vec<Effect>) {
    at(
        state,
        Event::Message {
            text: "another text".into(),
        },
        when,
    )
}

fn forwards(effects: &[Effect]) -> Vec<(String, u32)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Forward { staff, skip } => Some((staff.id.to_string(), *skip)),
            _ => None,
        })
        .collect()
}

#[test]
fn thirty_texts_in_a_burst_reach_the_registrar_as_one_forward_a_minute_later() {
    // 19:05:00 the first text opens the concern and pages Chen.
    let (mut s, _) = open("2026-11-27T19:05:00Z");
    // 29 more in the next 29 seconds: nothing goes out, one forward is armed.
    let mut armed = Vec::new();
    for i in 1..30 {
        let (next, fx) = message(&s, &format!("2026-11-27T19:05:{i:02}Z"));
        assert!(forwards(&fx).is_empty(), "text {i} forwarded at once");
        armed.extend(fx.iter().filter_map(|e| match e {
            Effect::ArmForward { at } => Some(*at),
            _ => None,
        }));
        s = next;
    }
    assert_eq!(
        armed,
        [t("2026-11-27T19:06:00Z")],
        "one forward, a minute after the page"
    );
    // At 19:06 every held message goes to Chen together: all after the first.
    let (s, fx) = at(&s, Event::ForwardDue, "2026-11-27T19:06:00Z");
    assert_eq!(forwards(&fx), [("chen".into(), 1)]);
    assert!(!s.holds_messages());
    // A text two minutes later goes straight on, alone.
    let (_, fx) = message(&s, "2026-11-27T19:08:00Z");
    assert_eq!(forwards(&fx), [("chen".into(), 30)]);
}

#[test]
fn held_messages_go_to_whoever_accepts_even_though_accepting_cancels_timers() {
    let (s, _) = open("2026-11-27T19:05:00Z");
    let (s, _) = message(&s, "2026-11-27T19:05:20Z");
    let (s, fx) = at(&s, accept(chen()), "2026-11-27T19:05:40Z");
    let cancel = fx.iter().position(|e| *e == Effect::CancelTimers).unwrap();
    let rearm = fx
        .iter()
        .position(|e| {
            *e == Effect::ArmForward {
                at: t("2026-11-27T19:06:00Z"),
            }
        })
        .expect("the forward is armed again");
    assert!(rearm > cancel);
    let (_, fx) = at(&s, Event::ForwardDue, "2026-11-27T19:06:00Z");
    assert_eq!(forwards(&fx), [("chen".into(), 1)]);
}

#[test]
fn the_clinician_who_accepts_is_told_they_have_it() {
    let (s, _) = open("2026-11-27T19:05:00Z");
    let (s, fx) = at(&s, accept(chen()), "2026-11-27T19:07:00Z");
    assert!(fx.contains(&Effect::TellStaff {
        staff: chen(),
        notice: StaffNotice::YouAccepted
    }));
    assert_eq!(s.accepted.as_ref().map(|a| a.by.id.as_str()), Some("chen"));
}

#[test]
fn resolving_tells_the_sender_the_resolver_and_everyone_told_it_was_taken() {
    // Chen is paged, nobody answers, Eleanor is paged and accepts: Chen is told "taken".
    let (s, _) = open("2026-11-27T19:05:00Z");
    let (s, _) = at(&s, Event::AckDeadline { seq: 1 }, "2026-11-27T19:15:00Z");
    let (s, _) = at(&s, accept(eleanor()), "2026-11-27T19:20:00Z");
    let (s, fx) = at(
        &s,
        Event::Resolve {
            by: eleanor(),
            note: Some("Called back, dressing changed".into()),
        },
        "2026-11-27T20:10:00Z",
    );
    assert!(fx.contains(&Effect::TellSender(SenderNotice::Resolved {
        staff: Id::parse("eleanor").unwrap(),
        name: "Dr Eleanor Shaw".into(),
        role: "Registrar".into()
    })));
    assert!(fx.contains(&Effect::TellStaff {
        staff: eleanor(),
        notice: StaffNotice::YouResolved
    }));
    assert!(fx.contains(&Effect::TellStaff {
        staff: chen(),
        notice: StaffNotice::ResolvedBy {
            name: "Dr Eleanor Shaw".into()
        }
    }));
    // Who accepted it is still known once it is closed.
    assert!(s.is_resolved());
    assert_eq!(
        s.accepted.as_ref().map(|a| (a.by.id.as_str(), a.at)),
        Some(("eleanor", t("2026-11-27T19:20:00Z")))
    );
}

#[test]
fn a_page_is_wanted_only_until_the_concern_moves_on() {
    let (s, _) = open("2026-11-27T19:05:00Z");
    assert!(page_still_wanted(&s, s.seq));
    let page_seq = s.seq;
    let (s, _) = at(&s, Event::AckDeadline { seq: 1 }, "2026-11-27T19:15:00Z");
    assert!(!page_still_wanted(&s, page_seq), "escalated past Chen");
    assert!(page_still_wanted(&s, s.seq), "Eleanor's page is wanted");
    let (s, _) = at(&s, accept(eleanor()), "2026-11-27T19:20:00Z");
    assert!(!page_still_wanted(&s, s.seq), "accepted: no page is wanted");
}

#[test]
fn a_caller_put_through_to_the_registrar_is_told_who_they_spoke_to_not_that_someone_will_be_in_touch()
 {
    // Sian rings at 19:05 and Chen Li takes the call: the concern opens already his.
    let (s, fx) = at(
        &Escalation::new(false),
        Event::TakeCall { by: chen() },
        "2026-11-27T19:05:00Z",
    );
    assert!(matches!(s.status, Status::Accepted { ref by, .. } if by.id.as_str() == "chen"));
    assert!(fx.contains(&Effect::TellSender(SenderNotice::SpokeTo {
        staff: Id::parse("chen").unwrap(),
        name: "Chen Li".into(),
        role: "Registrar".into()
    })));
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::TellSender(SenderNotice::AcceptedBy { .. }))),
        "nobody promises a caller who has just spoken to him that he will be in touch: {fx:?}"
    );
    assert!(fx.contains(&Effect::TellStaff {
        staff: chen(),
        notice: StaffNotice::YouTookCall
    }));
    assert!(fx.contains(&Effect::ArmReminder {
        at: t("2026-11-27T21:05:00Z")
    }));
}
