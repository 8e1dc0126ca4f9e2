//! The EPR feed: messages kept once per sender and MSH-10, listed newest
//! first; people kept, replaced and forgotten; enrolments found by NHS
//! number, renewed, ended with a reason and moved to another number.

use super::*;
use crate::directory::{EndReason, NhsNumber};
use crate::hl7::{AckCode, FeedMessage, Outcome, Person};

fn nhs(n: &str) -> NhsNumber {
    NhsNumber::parse(n).unwrap()
}

fn message(sender: &str, id: &str, at: &str, ack: AckCode) -> FeedMessage {
    FeedMessage {
        sender: sender.into(),
        control_id: id.into(),
        kind: "ADT^A03".into(),
        received_at: t(at),
        ack,
        outcome: if ack == AckCode::AA {
            Outcome::Enrolled
        } else {
            Outcome::Rejected
        },
        reason: None,
        nhs_last_three: Some("919".into()),
        unclaimed_location: None,
        message: format!("MSH|^~\\&|PAS|RVJ|||||ADT^A03|{id}|P|2.4\r"),
        answer: format!(
            "MSH|^~\\&|||PAS|RVJ|||ACK^A03^ACK|X|P|2.4\rMSA|{}|{id}\r",
            ack.as_str()
        ),
    }
}

/// Each message is kept under its sender and MSH-10; the same MSH-10
/// from another sender is another message; keeping one again (a message
/// refused and sent again) replaces it and moves it to when it came last.
pub(super) fn feed_messages_are_kept_once_per_sender_and_control_id_newest_first(
    store: Arc<dyn Store>,
) {
    assert_eq!(store.feed_message("PAS|RVJ", "M1").unwrap(), None);
    let first = message("PAS|RVJ", "M1", "2026-11-27T17:00:00Z", AckCode::AR);
    store.record_feed_message(&first).unwrap();
    let other_sender = message("EPR|RVJ", "M1", "2026-11-27T17:00:01Z", AckCode::AA);
    store.record_feed_message(&other_sender).unwrap();
    let same_ms = message("PAS|RVJ", "M2", "2026-11-27T17:00:01Z", AckCode::AE);
    store.record_feed_message(&same_ms).unwrap();
    assert_eq!(store.feed_message("PAS|RVJ", "M1").unwrap(), Some(first));
    assert_eq!(
        store.feed_message("EPR|RVJ", "M1").unwrap(),
        Some(other_sender.clone())
    );

    let again = message("PAS|RVJ", "M1", "2026-11-27T17:05:00Z", AckCode::AA);
    store.record_feed_message(&again).unwrap();
    assert_eq!(
        store.feed_message("PAS|RVJ", "M1").unwrap(),
        Some(again.clone())
    );
    let ids = |list: Vec<FeedMessage>| -> Vec<(String, String)> {
        list.into_iter().map(|m| (m.sender, m.control_id)).collect()
    };
    assert_eq!(
        ids(store.feed_messages(None, 10).unwrap()),
        [
            ("PAS|RVJ".to_owned(), "M1".to_owned()),
            ("PAS|RVJ".to_owned(), "M2".to_owned()),
            ("EPR|RVJ".to_owned(), "M1".to_owned()),
        ],
        "newest first; of one millisecond, the later first"
    );
    assert_eq!(store.feed_messages(None, 1).unwrap().len(), 1);
    assert_eq!(
        ids(store
            .feed_messages(Some(t("2026-11-27T17:05:00Z")), 10)
            .unwrap()),
        [
            ("PAS|RVJ".to_owned(), "M2".to_owned()),
            ("EPR|RVJ".to_owned(), "M1".to_owned()),
        ],
        "before 17:05: M1 came again at 17:05, so only where it is now"
    );
}

/// A person is kept under their NHS number, replaced whole, and forgotten.
pub(super) fn a_person_is_kept_replaced_and_forgotten_by_nhs_number(store: Arc<dyn Store>) {
    let n = nhs("9434765919");
    assert_eq!(store.person(&n).unwrap(), None);
    let mut margaret = Person {
        nhs_number: n.clone(),
        name: Some("Margaret Evans".into()),
        born: chrono::NaiveDate::from_ymd_opt(1948, 3, 12),
        phones: vec![phone("07700 900123")],
        email: None,
        language: Default::default(),
        next_of_kin: vec![crate::hl7::NextOfKin {
            name: "Sian Evans".into(),
            relationship: Some("daughter".into()),
            phone: phone("07700 900124"),
        }],
        died: false,
        updated_at: t("2026-11-27T17:00:00Z"),
    };
    store.keep_person(&margaret).unwrap();
    assert_eq!(store.person(&n).unwrap(), Some(margaret.clone()));
    margaret.died = true;
    store.keep_person(&margaret).unwrap();
    assert_eq!(store.person(&n).unwrap(), Some(margaret));
    assert!(store.forget_person(&n).unwrap());
    assert!(!store.forget_person(&n).unwrap());
    assert_eq!(store.person(&n).unwrap(), None);
}

/// Enrolments from the feed are found by NHS number, ended or not; a
/// revision renews one, ends one with its reason, or moves it to another
/// number, and is found by phone only while active.
pub(super) fn enrolments_are_found_by_nhs_number_and_revised_in_place(store: Arc<dyn Store>) {
    let now = t("2026-11-27T17:00:00Z");
    let (old, new) = (nhs("9990000042"), nhs("9990000050"));
    let mut david = super::enrolments::margaret_and_sian(now);
    david.nhs_number = Some(old.clone());
    let api_made = super::enrolments::margaret_and_sian(now);
    for e in [&david, &api_made] {
        store
            .apply(Change {
                at: now,
                enrolment: Some(e.clone()),
                ..Change::default()
            })
            .unwrap();
    }
    assert_eq!(
        store.enrolments_for_nhs_number(&old).unwrap(),
        [david.clone()]
    );
    assert!(store.enrolments_for_nhs_number(&new).unwrap().is_empty());

    // Renewed: discharged again a day later.
    let later = now + TimeDelta::days(1);
    david.discharged_at = Some(later);
    david.ends_at = Some(later + TimeDelta::days(30));
    assert!(store.revise_enrolment(&david).unwrap());
    assert_eq!(store.enrolment(david.id).unwrap(), Some(david.clone()));
    let at_day_30 = now + TimeDelta::days(30) + TimeDelta::hours(1);
    assert_eq!(
        store
            .enrolments_for_phone(&phone("07700 900123"), at_day_30)
            .unwrap(),
        [david.clone()],
        "active past the old end"
    );

    // Moved to the surviving number by a merge.
    david.nhs_number = Some(new.clone());
    assert!(store.revise_enrolment(&david).unwrap());
    assert!(store.enrolments_for_nhs_number(&old).unwrap().is_empty());
    assert_eq!(
        store.enrolments_for_nhs_number(&new).unwrap(),
        [david.clone()]
    );

    // Ended: the patient died. Still listed by NHS number, with why.
    david.ended_at = Some(later + TimeDelta::hours(2));
    david.ended_because = Some(EndReason::Died);
    assert!(store.revise_enrolment(&david).unwrap());
    let listed = store.enrolments_for_nhs_number(&new).unwrap();
    assert_eq!(listed, [david.clone()]);
    assert!(!listed[0].is_active(later + TimeDelta::hours(3)));
    assert_eq!(
        store
            .enrolments_for_phone(&phone("07700 900123"), later + TimeDelta::hours(3))
            .unwrap(),
        std::slice::from_ref(&api_made),
        "no longer found by phone"
    );
    assert!(
        !store
            .end_enrolment(david.id, later + TimeDelta::hours(4))
            .unwrap()
    );

    // An enrolment nobody stored is not made by a revision.
    let stranger = super::enrolments::margaret_and_sian(now);
    assert!(!store.revise_enrolment(&stranger).unwrap());
    assert_eq!(store.enrolment(stranger.id).unwrap(), None);
}
