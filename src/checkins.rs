//! Check-ins: Nightingale texts people to ask how they are (docs/adr/0017).
//!
//! When an enrolment's check-ins fall is part of the enrolment
//! ([`crate::directory::check_ins`]: 24 h and 72 h after discharge, or a
//! croner schedule, and only ever in the day). This module turns that into
//! the scheduled [`Notice`]s the engine fires, and holds the notices and
//! answers as they are stored ([`CheckInAnswer`]).
//!
//! Everything here is a pure calculator of `now`: the first notices of an
//! enrolment, whether an answer means "all is well". Sending, waiting for
//! the answer and telling the team when none comes are scheduled notices
//! the engine fires (`engine/notices.rs`).

use serde::{Deserialize, Serialize};

use crate::clock::Instant;
use crate::concern::ConcernId;
use crate::directory::check_ins::CheckInWindow;
use crate::directory::{Enrolment, EnrolmentId, Id};

/// Whether an answer to a check-in says all is well: "1", nothing more.
/// Anything else is words for a person, and opens a concern.
pub fn is_well(answer: &str) -> bool {
    let answer = answer.trim().trim_end_matches(['.', '!']);
    answer == "1"
}

/// The notice for an enrolment's first check-in, if it has any, placed in
/// its service's `window`.
pub fn first_notice(enrolment: &Enrolment, now: Instant, window: CheckInWindow) -> Option<Notice> {
    let (due_at, number) = enrolment.check_ins.first(enrolment, now, window)?;
    Some(check_in_notice(enrolment.id, due_at, number))
}

/// The notices a new enrolment starts with: its first check-in (placed in
/// its service's `window`), and for an ongoing one the reminder of its
/// review date.
pub fn first_notices(enrolment: &Enrolment, now: Instant, window: CheckInWindow) -> Vec<Notice> {
    let mut notices: Vec<Notice> = first_notice(enrolment, now, window).into_iter().collect();
    if let Some(review_at) = enrolment.review_at {
        notices.push(Notice {
            key: format!("review/{}", enrolment.id),
            due_at: review_at,
            what: NoticeKind::Review {
                enrolment: enrolment.id,
                review_at,
            },
        });
    }
    notices
}

/// The notice that sends check-in `number` of an enrolment at `due_at`.
pub fn check_in_notice(enrolment: EnrolmentId, due_at: Instant, number: u32) -> Notice {
    Notice {
        key: check_in_key(enrolment),
        due_at,
        what: NoticeKind::CheckIn { enrolment, number },
    }
}

/// The key of an enrolment's next check-in notice.
pub fn check_in_key(enrolment: EnrolmentId) -> String {
    format!("check_in/{enrolment}")
}

/// The key of the wait for the answer to an enrolment's last check-in.
pub fn wait_key(enrolment: EnrolmentId) -> String {
    format!("check_in_wait/{enrolment}")
}

// ---- scheduled notices, as stored ------------------------------------------

/// Work that falls due at a time and belongs to no concern: a check-in
/// text, the wait for its answer, a review reminder, a morning handover.
/// Kept in the store by key, claimed with a lease and a fencing token
/// like a timer (the work queue's `claim` of notices); the change that handles it
/// removes it, and may schedule the next in the same write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Its key: at most one notice has it (`check_in/ENROLMENT`, …).
    pub key: String,
    /// When it falls due.
    pub due_at: Instant,
    /// What it is.
    pub what: NoticeKind,
}

/// What a notice does when it falls due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoticeKind {
    /// Text the patient a check-in.
    CheckIn {
        /// Whose.
        enrolment: EnrolmentId,
        /// Which, from 1.
        number: u32,
    },
    /// A check-in went unanswered: tell the patient's team, in working hours.
    CheckInUnanswered {
        /// Whose.
        enrolment: EnrolmentId,
        /// When the check-in was sent.
        sent_at: Instant,
    },
    /// An ongoing enrolment is due for review: remind its co-ordinator (or
    /// its service's in-hours team), in working hours.
    Review {
        /// Whose.
        enrolment: EnrolmentId,
        /// The review date it was set for (a changed date makes it stale).
        review_at: Instant,
    },
    /// Tell a service's in-hours team what its patients raised out of hours.
    Handover {
        /// The service.
        service: Id,
        /// When the out-of-hours period it covers began.
        since: Instant,
    },
}

impl NoticeKind {
    /// As logs and timelines name it: `check_in`, `check_in_unanswered`, `review`, `handover`.
    pub fn as_str(&self) -> &'static str {
        match self {
            NoticeKind::CheckIn { .. } => "check_in",
            NoticeKind::CheckInUnanswered { .. } => "check_in_unanswered",
            NoticeKind::Review { .. } => "review",
            NoticeKind::Handover { .. } => "handover",
        }
    }
}

/// What a patient or carer answered to a check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckInAnswer {
    /// Whose enrolment.
    pub enrolment: EnrolmentId,
    /// When the check-in was sent.
    pub sent_at: Instant,
    /// When they answered.
    pub at: Instant,
    /// What the answer was.
    pub answer: CheckInReply,
}

/// A check-in's answer, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum CheckInReply {
    /// "1": all is well.
    Well,
    /// Anything else: it opened (or joined) this concern.
    Concern {
        /// The concern.
        concern: ConcernId,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::EnrolmentKind;
    use crate::directory::check_ins::*;
    use crate::directory::{Contact, PhoneNumber};
    use chrono::TimeDelta;

    fn t(s: &str) -> Instant {
        s.parse().unwrap()
    }

    fn enrolment(discharged: &str) -> Enrolment {
        let at = t(discharged);
        Enrolment {
            id: EnrolmentId::new(),
            patient: Contact {
                name: "Margaret Evans".into(),
                phone: Some(PhoneNumber::parse("07700 900123").unwrap()),
                email: None,
            },
            carers: Vec::new(),
            service: crate::directory::Id::parse("cardiology-ward-7").unwrap(),
            kind: EnrolmentKind::Discharge,
            discharged_at: Some(at),
            context: None,
            enrolled_at: at,
            ends_at: Some(at + TimeDelta::days(30)),
            ended_at: None,
            review_at: None,
            coordinator: None,
            check_ins: CheckIns::None,
            client: None,
            language: Default::default(),
            patient_takes_texts: true,
            nhs_number: None,
            ended_because: None,
        }
    }

    #[test]
    fn a_discharge_at_two_in_the_afternoon_is_checked_on_at_the_same_time_a_day_and_three_days_later()
     {
        let e = enrolment("2026-11-24T14:00:00Z");
        let plan = CheckIns::after_discharge(&DEFAULT_AFTER_DISCHARGE);
        let first = plan
            .first(&e, e.enrolled_at, CheckInWindow::default())
            .unwrap();
        assert_eq!(first, (t("2026-11-25T14:00:00Z"), 1));
        assert_eq!(
            plan.after(&e, 1, first.0, CheckInWindow::default()),
            Some((t("2026-11-27T14:00:00Z"), 2))
        );
        assert_eq!(
            plan.after(&e, 2, t("2026-11-27T14:00:00Z"), CheckInWindow::default()),
            None
        );
    }

    #[test]
    fn a_check_in_due_at_night_waits_for_its_place_in_the_morning_window() {
        // Discharged at 02:00: 24 hours on is 02:00, so that morning,
        // between 09:00 and 11:00 at a point of this enrolment's own.
        let e = enrolment("2026-11-24T02:00:00Z");
        let plan = CheckIns::after_discharge(&DEFAULT_AFTER_DISCHARGE);
        let (at, number) = plan
            .first(&e, e.enrolled_at, CheckInWindow::default())
            .unwrap();
        assert_eq!(number, 1);
        assert!(
            (t("2026-11-25T09:00:00Z")..t("2026-11-25T11:00:00Z")).contains(&at),
            "{at}"
        );
        // The same point every time, and the next morning's for 21:30.
        let window = CheckInWindow::default();
        assert_eq!(window.place(t("2026-11-25T05:00:00Z"), e.id), at);
        assert_eq!(
            window.place(t("2026-11-24T21:30:00Z"), e.id),
            at,
            "21:30 waits for the next morning"
        );
        for (due, sent) in [
            // 21:30 is after the day ends: 09:00 the next day.
            ("2026-11-25T21:30:00Z", "2026-11-26T09:00:00Z"),
            // In summer, 09:00 UK time is 08:00 UTC.
            ("2026-07-01T05:00:00Z", "2026-07-01T08:00:00Z"),
            ("2026-07-01T12:00:00Z", "2026-07-01T12:00:00Z"),
        ] {
            assert_eq!(daytime(t(due)), t(sent), "due {due}");
        }
    }

    #[test]
    fn check_ins_due_at_one_minute_are_spread_over_the_window() {
        // 2,000 discharges of one night, all due at 09:00: spread over
        // the two hours, a few a minute, none at once in bulk.
        let window = CheckInWindow::default();
        let nine = t("2026-11-25T09:00:00Z");
        let mut per_minute = std::collections::BTreeMap::<i64, usize>::new();
        for _ in 0..2_000 {
            let at = window.place(t("2026-11-25T03:00:00Z"), EnrolmentId::new());
            assert!((nine..nine + TimeDelta::hours(2)).contains(&at), "{at}");
            *per_minute.entry((at - nine).num_minutes()).or_default() += 1;
        }
        assert_eq!(per_minute.len(), 120, "every minute of the window has some");
        let busiest = per_minute.values().max().unwrap();
        assert!(*busiest < 40, "at most {busiest} in one minute");
        // A window of the service's own, read from its file.
        let late = CheckInWindow::parse("10:00-12:30").unwrap();
        let at = late.place(t("2026-11-25T03:00:00Z"), EnrolmentId::new());
        assert!((t("2026-11-25T10:00:00Z")..t("2026-11-25T12:30:00Z")).contains(&at));
        for wrong in [
            "08:00-10:00",
            "11:00-10:00",
            "09:00",
            "nine till eleven",
            "19:00-21:00",
        ] {
            let e = CheckInWindow::parse(wrong).unwrap_err();
            assert!(e.advice().contains("\"09:00-11:00\""), "{wrong}: {e}");
        }
    }

    #[test]
    fn a_weekly_schedule_keeps_its_local_hour_across_the_clock_change() {
        let e = Enrolment {
            kind: EnrolmentKind::Ongoing,
            ends_at: None,
            ..enrolment("2026-10-13T12:00:00Z")
        };
        let plan = CheckIns::parse(&serde_json::json!("0 10 * * 2")).unwrap();
        // Tuesday 20 October, BST: 10:00 local is 09:00 UTC.
        let window = CheckInWindow::default();
        let first = plan.first(&e, e.enrolled_at, window).unwrap();
        assert_eq!(first, (t("2026-10-20T09:00:00Z"), 1));
        // The clocks go back on 25 October: Tuesday 27th at 10:00 GMT.
        assert_eq!(
            plan.after(&e, 1, first.0, window),
            Some((t("2026-10-27T10:00:00Z"), 2))
        );
    }

    #[test]
    fn a_schedule_written_for_the_night_is_moved_to_the_morning() {
        let e = enrolment("2026-11-24T12:00:00Z");
        let plan = CheckIns::parse(&serde_json::json!("30 3 * * *")).unwrap();
        let (at, _) = plan
            .first(&e, e.enrolled_at, CheckInWindow::default())
            .unwrap();
        assert!((t("2026-11-25T09:00:00Z")..t("2026-11-25T11:00:00Z")).contains(&at));
    }

    #[test]
    fn no_check_in_is_planned_after_the_enrolment_ends() {
        let e = Enrolment {
            ends_at: Some(t("2026-11-26T00:00:00Z")),
            ..enrolment("2026-11-24T14:00:00Z")
        };
        let plan = CheckIns::after_discharge(&DEFAULT_AFTER_DISCHARGE);
        let first = plan
            .first(&e, e.enrolled_at, CheckInWindow::default())
            .unwrap();
        assert_eq!(
            plan.after(&e, first.1, first.0, CheckInWindow::default()),
            None
        );
        let ended = Enrolment {
            ended_at: Some(e.enrolled_at),
            ..e
        };
        assert_eq!(
            plan.first(&ended, ended.enrolled_at, CheckInWindow::default()),
            None
        );
    }

    #[test]
    fn what_an_enrolment_sends_is_read_or_refused_with_what_to_write() {
        assert_eq!(
            CheckIns::parse(&serde_json::json!(["72h", "24h"])).unwrap(),
            CheckIns::AfterDischarge {
                seconds: vec![24 * 3600, 72 * 3600]
            }
        );
        assert_eq!(
            CheckIns::parse(&serde_json::json!([])).unwrap(),
            CheckIns::None
        );
        let bad = CheckIns::parse(&serde_json::json!(["tomorrow"])).unwrap_err();
        assert!(bad.to_string().starts_with("\"tomorrow\" is not"), "{bad}");
        assert!(bad.advice().contains("\"24h\""), "{bad}");
        assert!(!bad.advice().contains("tomorrow"), "{bad}");
        let bad = CheckIns::parse(&serde_json::json!("every tuesday")).unwrap_err();
        assert!(bad.to_string().contains("every tuesday"), "{bad}");
        assert!(bad.advice().contains("0 10 * * 2"), "{bad}");
        assert!(!bad.advice().contains("every tuesday"), "{bad}");
        assert!(CheckIns::parse(&serde_json::json!(3)).is_err());
    }

    #[test]
    fn only_a_one_is_all_well() {
        for yes in ["1", " 1 ", "1.", "1!"] {
            assert!(is_well(yes), "{yes:?}");
        }
        for no in [
            "2 my ankles are swollen",
            "11",
            "1 but my chest hurts",
            "",
            "one",
        ] {
            assert!(!is_well(no), "{no:?}");
        }
    }
}
