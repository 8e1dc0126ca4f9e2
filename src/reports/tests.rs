use super::*;
use crate::concern::{CallOutcome, CallRecord, ConcernId, Party};
use crate::directory::PhoneNumber;
use crate::escalation::Escalation;
use crate::timeline::FAILED_OVER;

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

/// One cell as the report's CSV writes it.
fn csv_cell(text: &str) -> String {
    spreadsheet::write(&[], [[text]], Quoting::Needed)
        .trim_end_matches("\r\n")
        .to_owned()
}

fn ward() -> Id {
    Id::parse("cardiology-ward-7").unwrap()
}

fn w48() -> Week {
    "2026-W48".parse().unwrap()
}

/// A concern opened at `at` by text, and the timeline a test builds on.
fn opened(at: &str) -> (Concern, Vec<TimelineEntry>) {
    let concern = Concern {
        id: ConcernId::new(),
        enrolment: None,
        service: Some(ward()),
        sender: PhoneNumber::parse("+447700900123").unwrap().into(),
        party: Party::Patient,
        opened_at: t(at),
        text: "My dressing is leaking".into(),
        escalation: Escalation::new(false),
        pictures_explained: false,
        recognised: None,
        calls: Vec::new(),
        version: 1,
    };
    let received = entry(
        t(at),
        TimelineEvent::Received {
            from: "patient".into(),
            text: concern.text.clone(),
            voicemail: false,
        },
    );
    (concern, vec![received])
}

fn entry(at: Instant, event: TimelineEvent) -> TimelineEntry {
    TimelineEntry { at, event }
}

/// Escalated to `to` because no one accepted.
fn escalated(to: &str) -> TimelineEvent {
    TimelineEvent::Escalated {
        to: to.into(),
        reason: "no one accepted".into(),
    }
}

fn paged(level: &str) -> TimelineEvent {
    TimelineEvent::Paged {
        staff: Id::parse("chen").unwrap(),
        name: "Chen Li".into(),
        level: level.into(),
        code: 1234,
    }
}

fn accepted() -> TimelineEvent {
    TimelineEvent::Accepted {
        staff: Id::parse("chen").unwrap(),
        name: "Chen Li".into(),
    }
}

/// A concern opened at `at` and accepted `minutes` later.
fn accepted_after(at: &str, minutes: i64) -> (Concern, Vec<TimelineEntry>) {
    let (c, mut timeline) = opened(at);
    timeline.push(entry(c.opened_at, paged("level 1")));
    timeline.push(entry(c.opened_at + TimeDelta::minutes(minutes), accepted()));
    (c, timeline)
}

#[test]
fn a_week_runs_monday_to_monday_in_london_and_a_clock_change_makes_it_167_or_169_hours() {
    let week = w48();
    assert_eq!(week.to_string(), "2026-W48");
    assert_eq!(week.start(), t("2026-11-23T00:00:00Z"));
    assert_eq!(week.length(), TimeDelta::hours(168));
    // Summer time: Monday 00:00 BST is Sunday 23:00 UTC.
    let summer: Week = "2026-W27".parse().unwrap();
    assert_eq!(summer.start(), t("2026-06-28T23:00:00Z"));
    // Clocks go forward on Sunday 29 March 2026 (week 13): one hour short.
    let spring: Week = "2026-W13".parse().unwrap();
    assert_eq!(spring.start(), t("2026-03-23T00:00:00Z"));
    assert_eq!(spring.end(), t("2026-03-29T23:00:00Z"));
    assert_eq!(spring.length(), TimeDelta::hours(167));
    // Clocks go back on Sunday 25 October 2026 (week 43): one hour long.
    let autumn: Week = "2026-W43".parse().unwrap();
    assert_eq!(autumn.length(), TimeDelta::hours(169));
    assert_eq!(autumn.end(), t("2026-10-26T00:00:00Z"));
    // Sunday 23:30 UTC in summer is already Monday in London: the next week.
    assert_eq!(Week::containing(t("2026-06-28T23:30:00Z")), summer);
    assert_eq!(
        Week::containing(t("2026-06-28T22:30:00Z")),
        summer.previous()
    );
    // ISO years: 31 December 2026 is in 2026-W53, 1 January 2024 in 2024-W01.
    assert_eq!(
        Week::containing(t("2026-12-31T12:00:00Z")).to_string(),
        "2026-W53"
    );
    assert_eq!(
        Week::containing(t("2024-01-01T12:00:00Z")).to_string(),
        "2024-W01"
    );
    assert_eq!(
        "2025-W53".parse::<Week>(),
        Err(BadWeek),
        "2025 has 52 weeks"
    );
    for bad in [
        "2026",
        "2026-48",
        "W48",
        "2026-W0",
        "2026-Wx",
        "",
        "262143-W52",
        "-5-W01",
    ] {
        assert_eq!(bad.parse::<Week>(), Err(BadWeek), "{bad}");
    }
    assert_eq!(
        w48()
            .back(3)
            .iter()
            .map(Week::to_string)
            .collect::<Vec<_>>(),
        ["2026-W48", "2026-W47", "2026-W46"]
    );
}

#[test]
fn a_concern_counts_in_the_week_it_was_opened_in_london_time_across_a_clock_change() {
    let spring: Week = "2026-W13".parse().unwrap();
    let concerns = [
        // Monday 00:00 GMT: the first instant of the week.
        opened("2026-03-23T00:00:00Z"),
        // Sunday 22:59:59 UTC is 23:59:59 BST: the last second of the week.
        opened("2026-03-29T22:59:59Z"),
        // Sunday 23:00 UTC is Monday 00:00 BST: the next week.
        opened("2026-03-29T23:00:00Z"),
        // Sunday 23:59 GMT the week before.
        opened("2026-03-22T23:59:00Z"),
    ];
    let report = Report::compute(ward(), spring, &concerns);
    assert_eq!(report.raised, 2);
    let next = Report::compute(ward(), spring.next(), &concerns);
    assert_eq!(next.raised, 1);
}

#[test]
fn median_and_90th_percentile_are_nearest_rank_of_the_accepted_concerns_only() {
    // Ten concerns accepted after 1..=10 minutes, and two nobody accepted.
    let mut concerns: Vec<_> = (1..=10)
        .map(|m| accepted_after("2026-11-27T19:00:00Z", m))
        .collect();
    concerns.push(opened("2026-11-27T20:00:00Z"));
    let (mut resolved, timeline) = opened("2026-11-27T21:00:00Z");
    resolved.escalation.status = crate::escalation::Status::Resolved {
        by: None,
        at: t("2026-11-27T22:00:00Z"),
        note: None,
    };
    concerns.push((resolved, timeline));
    let report = Report::compute(ward(), w48(), &concerns);
    assert_eq!(report.raised, 12);
    assert_eq!(report.accepted, 10);
    assert_eq!(
        report.never_accepted, 2,
        "counted apart, not as zero minutes"
    );
    assert_eq!(report.median_to_accept, Some(TimeDelta::minutes(5)));
    assert_eq!(report.p90_to_accept, Some(TimeDelta::minutes(9)));

    // Three: the median is the second, the 90th percentile the third.
    let three = [
        accepted_after("2026-11-24T02:00:00Z", 12),
        accepted_after("2026-11-24T01:00:00Z", 2),
        accepted_after("2026-11-24T03:00:00Z", 4),
    ];
    let report = Report::compute(ward(), w48(), &three);
    assert_eq!(report.median_to_accept, Some(TimeDelta::minutes(4)));
    assert_eq!(report.p90_to_accept, Some(TimeDelta::minutes(12)));

    // None accepted: no times at all, rather than zero.
    let report = Report::compute(ward(), w48(), &[opened("2026-11-24T01:00:00Z")]);
    assert_eq!(
        (report.median_to_accept, report.p90_to_accept),
        (None, None)
    );
    assert_eq!(report.never_accepted, 1);
}

#[test]
fn a_strangers_email_which_paged_nobody_is_no_escalation_and_not_counted() {
    let (mut stranger, timeline) = opened("2026-11-24T23:00:00Z");
    stranger.recognised = Some(crate::concern::Recognised::UnknownEmail);
    let (mut unknown_number, numbers) = opened("2026-11-24T23:05:00Z");
    unknown_number.recognised = Some(crate::concern::Recognised::UnknownNumber);
    let report = Report::compute(
        ward(),
        w48(),
        &[(stranger, timeline), (unknown_number, numbers)],
    );
    assert_eq!((report.raised, report.never_accepted), (1, 1));
}

#[test]
fn the_first_accept_counts_when_a_concern_is_passed_on_and_accepted_again() {
    let (c, mut timeline) = accepted_after("2026-11-24T01:00:00Z", 3);
    timeline.push(entry(
        c.opened_at + TimeDelta::minutes(5),
        TimelineEvent::Passed {
            staff: Id::parse("chen").unwrap(),
            name: "Chen Li".into(),
        },
    ));
    timeline.push(entry(c.opened_at + TimeDelta::minutes(30), accepted()));
    let report = Report::compute(ward(), w48(), &[(c, timeline)]);
    assert_eq!(report.median_to_accept, Some(TimeDelta::minutes(3)));
    assert_eq!(report.accepted, 1);
}

#[test]
fn escalations_count_each_concern_once_per_level_reached_and_the_fallback_apart() {
    let (a, mut one) = opened("2026-11-24T01:00:00Z");
    one.push(entry(a.opened_at, paged("level 1")));
    one.push(entry(a.opened_at, paged("level 1 (again)")));
    let (b, mut two) = opened("2026-11-24T02:00:00Z");
    two.push(entry(b.opened_at, paged("level 1")));
    two.push(entry(
        b.opened_at + TimeDelta::minutes(10),
        escalated("level 2"),
    ));
    two.push(entry(
        b.opened_at + TimeDelta::minutes(10),
        paged("level 2"),
    ));
    let (c, mut fallback) = opened("2026-11-24T03:00:00Z");
    fallback.push(entry(c.opened_at, paged("level 1")));
    fallback.push(entry(c.opened_at, paged("level 2")));
    fallback.push(entry(c.opened_at, paged("level 3")));
    // Nobody on the fallback rota: it was still reached.
    fallback.push(entry(
        c.opened_at + TimeDelta::hours(1),
        escalated("fallback"),
    ));
    fallback.push(entry(
        c.opened_at + TimeDelta::hours(2),
        paged("fallback (again)"),
    ));
    let report = Report::compute(ward(), w48(), &[(a, one), (b, two), (c, fallback)]);
    assert_eq!(report.reached_level, vec![3, 2, 1]);
    assert_eq!(report.fallback, 1);
}

fn failed_send(purpose: &str, will_retry: bool) -> TimelineEvent {
    TimelineEvent::SendFailed {
        to: "Chen Li".into(),
        purpose: Purpose::parse(purpose).unwrap(),
        reason: "unreachable".into(),
        will_retry,
        medium: crate::timeline::Medium::Text,
    }
}

fn delivery(purpose: &str, status: &str) -> TimelineEvent {
    TimelineEvent::Delivery {
        to: "Chen Li".into(),
        purpose: Purpose::parse(purpose).unwrap(),
        status: status.into(),
        error_code: None,
        medium: crate::timeline::Medium::Text,
    }
}

#[test]
fn a_page_fails_when_refused_for_good_or_reported_undelivered_and_not_while_it_is_retried() {
    let (c, mut timeline) = opened("2026-11-24T01:00:00Z");
    let at = c.opened_at;
    for event in [
        failed_send("page", true),          // retried: not (yet) failed
        failed_send("page", false),         // refused for good
        delivery("page", "delivered"),      // reached the phone
        delivery("page", "undelivered"),    // did not
        delivery("call_page", "no-answer"), // a call page nobody answered
        delivery("call_page", "completed"),
        failed_send("notice", false), // a text to the patient, not a page
        delivery("welcome", "failed"),
    ] {
        timeline.push(entry(at, event));
    }
    let report = Report::compute(ward(), w48(), &[(c, timeline)]);
    assert_eq!(report.pages_failed, 3);
}

fn failed_over() -> TimelineEvent {
    TimelineEvent::Note {
        text: format!("page to Chen Li did not reach them; calling {FAILED_OVER}"),
        failed_over: None,
    }
}

#[test]
fn a_page_that_fails_over_to_the_next_contact_fails_only_if_that_fails_too() {
    // The text is refused; the call to the next contact goes unanswered: one page failed.
    let (c, mut both) = opened("2026-11-24T01:00:00Z");
    for event in [
        failed_send("page", false),
        failed_over(),
        delivery("call_page", "no-answer"),
    ] {
        both.push(entry(c.opened_at, event));
    }
    // The text is undelivered; the call is answered: none failed.
    let (d, mut reached) = opened("2026-11-24T02:00:00Z");
    for event in [
        delivery("page", "undelivered"),
        failed_over(),
        delivery("call_page", "completed"),
    ] {
        reached.push(entry(d.opened_at, event));
    }
    let report = Report::compute(ward(), w48(), &[(c, both), (d, reached)]);
    assert_eq!(report.pages_failed, 1);
}

#[test]
fn a_concern_opened_by_a_call_counts_as_voice() {
    let (mut c, _) = opened("2026-11-24T01:00:00Z");
    c.calls.push(CallRecord {
        sid: "CA1".into(),
        at: c.opened_at,
        outcome: CallOutcome::CallBack,
    });
    let timeline = vec![
        entry(
            c.opened_at,
            TimelineEvent::Call {
                call: "CA1".into(),
                outcome: "call_back".into(),
                name: None,
                came_in: None,
                level: None,
            },
        ),
        entry(
            c.opened_at,
            TimelineEvent::Received {
                from: "patient".into(),
                text: "Please call me back".into(),
                voicemail: false,
            },
        ),
    ];
    // A texter who later rang stays a text.
    let (texted, mut later_call) = opened("2026-11-24T02:00:00Z");
    later_call.push(entry(
        texted.opened_at + TimeDelta::minutes(5),
        TimelineEvent::Call {
            call: "CA2".into(),
            outcome: "live".into(),
            name: Some("Chen Li".into()),
            came_in: None,
            level: None,
        },
    ));
    let report = Report::compute(ward(), w48(), &[(c, timeline), (texted, later_call)]);
    assert_eq!(
        report.by_channel,
        vec![(Channel::Sms, 1), (Channel::Voice, 1)]
    );
}

#[test]
fn the_figures_are_the_same_after_retention_removes_the_words() {
    let (c, mut timeline) = accepted_after("2026-11-24T01:00:00Z", 7);
    timeline.push(entry(c.opened_at, failed_send("page", false)));
    timeline.push(entry(
        c.opened_at + TimeDelta::hours(1),
        TimelineEvent::Resolved {
            staff: None,
            name: None,
            note: Some("Seen at home".into()),
        },
    ));
    let before = Report::compute(ward(), w48(), &[(c.clone(), timeline.clone())]);
    let removed = "[removed after the retention period]";
    let redacted = (
        c.redacted(removed),
        timeline
            .iter()
            .map(|e| e.redacted(removed))
            .collect::<Vec<_>>(),
    );
    assert_eq!(Report::compute(ward(), w48(), &[redacted]), before);
}

#[test]
fn the_csv_has_every_figure_and_no_cell_a_spreadsheet_would_run() {
    let report = Report::compute(
        ward(),
        w48(),
        &[
            accepted_after("2026-11-24T01:00:00Z", 4),
            opened("2026-11-25T01:00:00Z"),
        ],
    );
    let csv = report.csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "figure,value");
    assert!(lines.contains(&"concerns raised,2"));
    assert!(lines.contains(&"raised by text message,2"));
    assert!(lines.contains(&"raised by phone call,0"));
    assert!(lines.contains(&"never accepted,1"));
    assert!(lines.contains(&"median seconds to accept,240"));
    assert!(lines.contains(&"reached level 1,1"));
    assert!(lines.contains(&"pages failed,0"));
    assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    assert_eq!(csv_cell("+44"), "'+44");
    assert_eq!(csv_cell("-1"), "'-1");
    assert_eq!(csv_cell("@SUM"), "'@SUM");
    assert_eq!(csv_cell("a,b"), "\"a,b\"");
}

#[test]
fn durations_read_as_people_say_them() {
    assert_eq!(human(TimeDelta::seconds(45)), "45 s");
    assert_eq!(human(TimeDelta::minutes(4)), "4 min");
    assert_eq!(human(TimeDelta::seconds(250)), "4 min 10 s");
    assert_eq!(human(TimeDelta::minutes(65)), "1 h 5 min");
    assert_eq!(human(TimeDelta::hours(2)), "2 h");
}

#[test]
fn a_call_taken_live_by_the_consultant_after_ringing_the_registrar_counts_from_when_it_came_in() {
    // Jess rings at 01:00:00; the registrar's phone rings 20 s unanswered;
    // the consultant, level 2, presses 1 at 01:00:35. The concern is
    // opened (and accepted) when the call is taken.
    let (mut c, _) = opened("2026-11-24T01:00:35Z");
    c.calls.push(CallRecord {
        sid: "CA9".into(),
        at: c.opened_at,
        outcome: CallOutcome::Live {
            staff: Id::parse("eleanor-shaw").unwrap(),
        },
    });
    let timeline = vec![
        entry(
            c.opened_at,
            TimelineEvent::Call {
                call: "CA9".into(),
                outcome: "live".into(),
                name: Some("Eleanor Shaw".into()),
                came_in: Some(t("2026-11-24T01:00:00Z")),
                level: Some(2),
            },
        ),
        entry(c.opened_at, accepted()),
    ];
    let report = Report::compute(ward(), w48(), &[(c, timeline)]);
    assert_eq!(
        report.by_channel,
        vec![(Channel::Sms, 0), (Channel::Voice, 1)]
    );
    assert_eq!(report.accepted, 1);
    assert_eq!(report.median_to_accept, Some(TimeDelta::seconds(35)));
    assert_eq!(report.reached_level, vec![1, 1], "it rang levels 1 and 2");
    let csv = report.csv();
    assert!(csv.contains("raised by phone call,1"), "{csv}");
    assert!(csv.contains("median seconds to accept,35"), "{csv}");
    assert!(csv.contains("reached level 2,1"), "{csv}");
}

#[test]
fn a_failover_counts_by_its_typed_event_and_in_old_timelines_by_its_note() {
    // Today's timelines mark the failover on the note; older ones say so
    // only in its words. Both count the same.
    let typed = TimelineEvent::Note {
        text: "page to Chen Li did not reach them; calling someone".into(),
        failed_over: Some(crate::timeline::FailedOver {
            staff: Id::parse("chen").unwrap(),
            next: crate::timeline::Medium::Call,
        }),
    };
    for marker in [typed, failed_over()] {
        let (c, mut timeline) = opened("2026-11-24T01:00:00Z");
        for event in [
            failed_send("page", false),
            marker,
            delivery("call_page", "completed"),
        ] {
            timeline.push(entry(c.opened_at, event));
        }
        let report = Report::compute(ward(), w48(), &[(c, timeline)]);
        assert_eq!(report.pages_failed, 0);
    }
}
