//! The behaviour every store backend must have. Each backend runs this suite
//! (see the bottom of the file) against a fresh store.

use std::sync::Arc;

use chrono::TimeDelta;

use super::*;
use crate::access::sessions::SignInMethod;
use crate::access::sessions::{CodeCheck, Session, SignInCode};
use crate::api_keys::ApiKey;
use crate::checkins::{CheckInAnswer, Notice};
use crate::checkins::{CheckInReply, NoticeKind};
use crate::clock::Instant;
use crate::concern::Purged;
use crate::concern::{Concern, ConcernId, Party};
use crate::concern::{ConcernFilter, Page};
use crate::concern::{ConcernKey, ConcernStatus};
use crate::directory::{Address, Id, PhoneNumber};
use crate::directory::{Contact, Enrolment, EnrolmentId};
use crate::escalation::{Escalation, Status};
use crate::inbox::Inbound;
use crate::inbox::InboundKind;
use crate::outbox::OutboxItem;
use crate::outbox::{NewOutbox, OutboxOutcome};
use crate::reports::Backlog;
use crate::rota::layer::{AuditRecord, NewRotaEdit, Undone};
use crate::timeline::Purpose;
use crate::timeline::{TimelineEntry, TimelineEvent};
use crate::work::TimerKind;
use crate::work::{Change, Claim, Claimed, NodeId, Timer, Work, WorkKind};

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
        sender: Address::from_key(sender).unwrap(),
        party: Party::Patient,
        opened_at: t("2026-11-27T19:05:00Z"),
        text: "My dressing is leaking".into(),
        escalation: Escalation::new(false),
        pictures_explained: false,
        recognised: None,
        calls: Vec::new(),
        version: 0,
    }
}

/// A concern as the store holds it now (with its version).
fn stored(store: &Arc<dyn Store>, id: ConcernId) -> Concern {
    store.concern(id).unwrap().expect("the concern is stored")
}

fn outbox(concern: Option<ConcernId>, to: &str) -> NewOutbox {
    NewOutbox {
        concern,
        to: Address::from_key(to).unwrap(),
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
    assert_eq!(
        store.inbound("SM2").unwrap(),
        Some(sms("SM2", "+447700900124"))
    );
    assert_eq!(store.inbound("SM3").unwrap(), None);
    let now = t("2026-11-27T19:05:01Z");
    let pending = store.claim_inbound(&node("a"), now, LEASE, 10).unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|c| c.item.key.as_str())
            .collect::<Vec<_>>(),
        ["SM1", "SM2"]
    );
    store
        .apply(Change {
            at: now,
            claim: Some(pending[0].claim.clone()),
            ..Change::default()
        })
        .unwrap();
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

pub fn an_emails_words_are_kept_once_on_the_timeline_and_the_item_keeps_who_sent_it(
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
        .claim_inbound(&node("a"), now, LEASE, 10)
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
    let pending = store.claim_inbound(&node("b"), later, LEASE, 10).unwrap();
    assert_eq!(
        pending.iter().map(|c| c.item.clone()).collect::<Vec<_>>(),
        [sms("SM1", "+447700900123")],
        "the email is done"
    );
    // A change that keeps nothing of an item leaves it as it was.
    store
        .apply(Change {
            at: later,
            claim: Some(pending[0].claim.clone()),
            ..Change::default()
        })
        .unwrap();
    assert_eq!(
        store.inbound("SM1").unwrap(),
        Some(sms("SM1", "+447700900123"))
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
    let due = store.claim_outbox(&node("a"), now, LEASE, 10).unwrap();
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
    let fired = store.claim_timers(&node("a"), now, LEASE, 10).unwrap();
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
    let fired = store.claim_timers(&node("a"), hour, LEASE, 10).unwrap();
    assert_eq!(
        fired.iter().map(|c| c.item.clone()).collect::<Vec<_>>(),
        std::slice::from_ref(&next)
    );
    store
        .apply(Change {
            at: now,
            claim: Some(fired[0].claim.clone()),
            ..Change::default()
        })
        .unwrap();
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
    let c = concern("+447700900123");
    let now = t("2026-11-27T19:05:00Z");
    store
        .apply(Change {
            at: now,
            concern: Some(c.clone()),
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.unresolved_concerns().unwrap(), 1);
    let mut c = stored(&store, c.id);
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

/// Margaret, discharged from cardiology ward 7 at `now` for 30 days, with
/// her daughter Sian as carer: the enrolment most cases start from.
fn margaret_and_sian(now: Instant) -> Enrolment {
    Enrolment {
        id: EnrolmentId::new(),
        patient: Contact {
            name: "Margaret Evans".into(),
            phone: Some(phone("07700 900123")),
            email: None,
        },
        carers: vec![crate::directory::Carer {
            contact: Contact {
                name: "Sian Evans".into(),
                phone: Some(phone("07700 900124")),
                email: None,
            },
            relationship: Some("daughter".into()),
        }],
        service: Id::parse("cardiology-ward-7").unwrap(),
        kind: crate::directory::EnrolmentKind::Discharge,
        discharged_at: Some(now),
        context: None,
        enrolled_at: now,
        ends_at: Some(now + TimeDelta::days(30)),
        ended_at: None,
        review_at: None,
        coordinator: None,
        check_ins: Default::default(),
        client: None,
        language: Default::default(),
        patient_takes_texts: true,
    }
}

/// Leo, 9, does not take texts: his mother is his contact. That is kept,
/// and found again by either number, as the engine reads it to decide who
/// is welcomed and checked on; an enrolment stored before the field
/// existed reads as one whose patient takes texts.
pub fn a_child_enrolled_with_his_mother_as_contact_is_kept_not_texted(store: Arc<dyn Store>) {
    let now = t("2026-11-24T11:00:00Z");
    let leo = Enrolment {
        patient: Contact {
            name: "Leo Morgan".into(),
            phone: Some(phone("07700 900151")),
            email: None,
        },
        carers: vec![crate::directory::Carer {
            contact: Contact {
                name: "Jess Morgan".into(),
                phone: Some(phone("07700 900152")),
                email: None,
            },
            relationship: Some("mother".into()),
        }],
        service: Id::parse("childrens-assessment-unit").unwrap(),
        patient_takes_texts: false,
        ..margaret_and_sian(now)
    };
    let margaret = margaret_and_sian(now);
    store
        .apply(Change {
            at: now,
            enrolment: Some(leo.clone()),
            ..Change::default()
        })
        .unwrap();
    store
        .apply(Change {
            at: now,
            enrolment: Some(margaret.clone()),
            ..Change::default()
        })
        .unwrap();
    let kept = store.enrolment(leo.id).unwrap().unwrap();
    assert_eq!(kept, leo);
    assert!(!kept.patient_takes_texts);
    let (contact, label) = kept.patients_contact().unwrap();
    assert_eq!(
        (contact.name.as_str(), label.as_str()),
        ("Jess Morgan", "carer (mother)")
    );
    for number in ["07700 900151", "07700 900152"] {
        let found = store.enrolments_for_phone(&phone(number), now).unwrap();
        assert_eq!(found, std::slice::from_ref(&leo), "{number}");
    }
    assert!(
        store
            .enrolment(margaret.id)
            .unwrap()
            .unwrap()
            .patient_takes_texts
    );
}

pub fn enrolments_are_found_by_patient_or_carer_number_while_active(store: Arc<dyn Store>) {
    let now = t("2026-11-27T18:00:00Z");
    let e = margaret_and_sian(now);
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

/// A Welsh-speaking patient's enrolment keeps its language, whichever of
/// its numbers finds it, and one stored before there were languages reads
/// as English.
pub fn an_enrolment_keeps_the_language_its_people_are_texted_in(store: Arc<dyn Store>) {
    let now = t("2026-11-27T18:00:00Z");
    let e = Enrolment {
        language: crate::directory::Language::Cy,
        ..margaret_and_sian(now)
    };
    store
        .apply(Change {
            at: now,
            enrolment: Some(e.clone()),
            ..Change::default()
        })
        .unwrap();
    let found = store.enrolment(e.id).unwrap().unwrap();
    assert_eq!(found.language, crate::directory::Language::Cy);
    let by_carer = store
        .enrolments_for_phone(&phone("07700 900124"), now)
        .unwrap();
    assert_eq!(by_carer[0].language, crate::directory::Language::Cy);
    let mut older = serde_json::to_value(&e).unwrap();
    older.as_object_mut().unwrap().remove("language");
    let older: Enrolment = serde_json::from_value(older).unwrap();
    assert_eq!(older.language, crate::directory::Language::En);
}

pub fn enrolments_are_found_by_patient_or_carer_email_in_any_case(store: Arc<dyn Store>) {
    let now = t("2026-11-28T18:00:00Z");
    let email = |a: &str| crate::directory::EmailAddress::parse(a).unwrap();
    let mut e = margaret_and_sian(now);
    e.carers[0].contact.email = Some(email("sian.evans@example.org"));
    store
        .apply(Change {
            at: now,
            enrolment: Some(e.clone()),
            ..Change::default()
        })
        .unwrap();
    // Mail clients change the case of an address; the mailbox is the same.
    assert_eq!(
        store
            .enrolments_for_email(&email("Sian.Evans@Example.org"), now)
            .unwrap(),
        std::slice::from_ref(&e)
    );
    assert!(
        store
            .enrolments_for_email(&email("margaret@example.org"), now)
            .unwrap()
            .is_empty()
    );
    // Her phone still finds it, and an ended enrolment is found by neither.
    assert_eq!(
        store
            .enrolments_for_phone(&phone("07700 900124"), now)
            .unwrap()
            .len(),
        1
    );
    assert!(store.end_enrolment(e.id, now + TimeDelta::days(1)).unwrap());
    assert!(
        store
            .enrolments_for_email(&email("sian.evans@example.org"), now + TimeDelta::days(2))
            .unwrap()
            .is_empty()
    );
    // Purged with the enrolment, so a later enrolment is not shadowed.
    assert_eq!(
        store
            .purge(now + TimeDelta::days(2), "[removed]")
            .unwrap()
            .enrolments,
        1
    );
    assert!(
        store
            .enrolments_for_email(&email("sian.evans@example.org"), now)
            .unwrap()
            .is_empty()
    );
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
    assert_eq!(store.page(c.id, &chen).unwrap(), Some(page.clone()));
    assert_eq!(
        store
            .reserve_code(ConcernId::new(), &chen, now, now)
            .unwrap(),
        13,
        "the next code is on from the page's, which is taken; 13 is free"
    );
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
    // A closed code stays reserved for a while (late replies), then is
    // free again: see `codes_wrap_after_9999_and_are_reused_when_all_are_in_use`.
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
    let key = ApiKey::made("discharge-system", crate::api_keys::Scopes::DEFAULT, now);
    store.create_api_key(&key, [7; 32]).unwrap();
    assert_eq!(store.api_key([7; 32]).unwrap(), Some(key));
    assert_eq!(store.api_key([8; 32]).unwrap(), None);
    let again = store.create_api_key(
        &ApiKey::made("again", crate::api_keys::Scopes::DEFAULT, now),
        [7; 32],
    );
    assert!(
        matches!(again, Err(StoreError::Invalid(_))),
        "a hash is stored once, and trying again will not change that: {again:?}"
    );
    let secret = store.secret("links").unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(store.secret("links").unwrap(), secret);
    assert_ne!(store.secret("other").unwrap(), secret);
}

pub fn concurrent_writes_all_land_and_one_failure_does_not_sink_the_rest(store: Arc<dyn Store>) {
    let key = |name: &str| {
        ApiKey::made(
            name,
            crate::api_keys::Scopes::DEFAULT,
            t("2026-11-27T19:05:00Z"),
        )
    };
    store.create_api_key(&key("taken"), [1; 32]).unwrap();
    let handles: Vec<_> = (0..32)
        .map(|i| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                if i == 5 {
                    assert!(store.create_api_key(&key("duplicate"), [1; 32]).is_err());
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
    assert_eq!(
        store
            .backlog(t("2026-11-27T19:05:00Z"))
            .unwrap()
            .inbound_pending,
        31
    );
}

pub fn an_outbox_item_in_flight_stays_due_until_its_outcome_is_written(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    queue_text(&store, now, "+447700900123");
    let id = store.claim_outbox(&node("a"), now, LEASE, 10).unwrap()[0]
        .item
        .id;
    // As after a crash mid-send: due again once the lease ends, and marked
    // so the sender checks first.
    let lapsed = now + LEASE + TimeDelta::seconds(1);
    let due = store.claim_outbox(&node("b"), lapsed, LEASE, 10).unwrap();
    assert_eq!((due.len(), due[0].item.in_flight), (1, true));
    let later = lapsed + TimeDelta::seconds(2);
    store
        .apply(Change {
            at: lapsed,
            claim: Some(due[0].claim.clone()),
            outbox_outcomes: vec![OutboxOutcome::Retry { id, at: later }],
            ..Change::default()
        })
        .unwrap();
    assert!(due_outbox(&store, lapsed).is_empty());
    assert_eq!(store.next_due().unwrap(), Some(later));
    let due = due_outbox(&store, later);
    assert_eq!((due[0].in_flight, due[0].attempts), (false, 1));
}

/// A text to `to`, queued at `now`.
fn queue_text(store: &Arc<dyn Store>, now: Instant, to: &str) {
    store
        .apply(Change {
            at: now,
            outbox: vec![outbox(None, to)],
            ..Change::default()
        })
        .unwrap();
}

/// "first" then "second" to 0123, and "Hello" to 0456, queued at `now`.
fn queue_two_texts_to_one_number_and_one_to_another(store: &Arc<dyn Store>, now: Instant) {
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
}

pub fn an_email_keeps_its_address_has_a_lane_of_its_own_and_is_found_by_its_message_id(
    store: Arc<dyn Store>,
) {
    let now = t("2026-11-27T19:05:00Z");
    let node = NodeId::new("a");
    let mut first = outbox(None, "mailto:Isla.Morgan@nhs.example");
    first.body = "first email".into();
    let mut second = first.clone();
    second.body = "second email".into();
    store
        .apply(Change {
            at: now,
            outbox: vec![first, second, outbox(None, "+447700900211")],
            ..Change::default()
        })
        .unwrap();
    // The email and the text to the same person's number go side by side;
    // the second email waits behind the first, as texts to one number do.
    let claimed = store
        .claim_outbox(&node, now, TimeDelta::seconds(30), 10)
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
        .claim_outbox(&node, now, TimeDelta::seconds(30), 10)
        .unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].item.message.body, "second email");
}

pub fn texts_to_one_number_go_out_in_order_and_a_retry_holds_back_the_next(store: Arc<dyn Store>) {
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
    store
        .apply(Change {
            at: later,
            outbox_outcomes: vec![OutboxOutcome::Cancelled { id: due[0].id }],
            ..Change::default()
        })
        .unwrap();
    assert!(due_outbox(&store, later).is_empty());
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
    let taken = store.claim_inbound(&node("a"), opened, LEASE, 10).unwrap();
    store
        .apply(Change {
            at: opened,
            claim: Some(taken[0].claim.clone()),
            ..Change::default()
        })
        .unwrap();
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

// ---- several nodes on one store -------------------------------------------------

const LEASE: TimeDelta = TimeDelta::seconds(30);

fn node(name: &str) -> NodeId {
    NodeId::new(name)
}

fn timer(concern: ConcernId, kind: TimerKind, due_at: Instant) -> Timer {
    Timer {
        concern,
        kind,
        due_at,
        seq: 1,
    }
}

/// A new concern from `sender` with a due acknowledgement deadline, its
/// first message on the timeline and the reply to the sender queued.
fn open_with_deadline(store: &Arc<dyn Store>, sender: &str, now: Instant) -> Concern {
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

fn received(at: Instant, text: &str) -> TimelineEntry {
    TimelineEntry {
        at,
        event: TimelineEvent::Received {
            from: "patient".into(),
            text: text.into(),
            voicemail: false,
        },
    }
}

fn note(at: Instant, text: &str) -> TimelineEntry {
    TimelineEntry {
        at,
        event: TimelineEvent::note(text),
    }
}

/// Write what became of a claimed text (`outcome` of its id), as the node holding it does.
fn record_outcome(
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
fn resolve(store: &Arc<dyn Store>, id: ConcernId, at: Instant) {
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
fn due_outbox(store: &Arc<dyn Store>, now: Instant) -> Vec<OutboxItem> {
    store
        .claim_outbox(&node("sender"), now, LEASE, 100)
        .unwrap()
        .into_iter()
        .map(|c| c.item)
        .collect()
}

/// The bodies of [`due_outbox`].
fn unsent(store: &Arc<dyn Store>, now: Instant) -> Vec<String> {
    due_outbox(store, now)
        .iter()
        .map(|o| o.message.body.clone())
        .collect()
}

/// What `node` claims of each kind, at most `limit` of each, as claims.
fn claim_every_kind(
    store: &Arc<dyn Store>,
    node: &NodeId,
    now: Instant,
    limit: usize,
) -> Vec<Claim> {
    fn claims<T>(claimed: StoreResult<Vec<Claimed<T>>>) -> Vec<Claim> {
        claimed.unwrap().into_iter().map(|c| c.claim).collect()
    }
    let mut all = claims(store.claim_inbound(node, now, LEASE, limit));
    all.extend(claims(store.claim_timers(node, now, LEASE, limit)));
    all.extend(claims(store.claim_outbox(node, now, LEASE, limit)));
    all
}

pub fn two_nodes_claiming_at_once_each_get_different_work(store: Arc<dyn Store>) {
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
        store
            .apply(Change {
                at: now,
                set_timers: vec![timer(c, TimerKind::AckDeadline, now)],
                ..Change::default()
            })
            .unwrap();
        // Thirty different numbers: every text is first in its line.
        queued.push(outbox(None, &format!("+4477009002{i:02}")));
    }
    store
        .apply(Change {
            at: now,
            outbox: queued,
            ..Change::default()
        })
        .unwrap();

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

pub fn a_dead_nodes_work_is_taken_over_after_its_lease_and_its_late_write_is_refused(
    store: Arc<dyn Store>,
) {
    // 19:05: Margaret's concern is waiting for someone to accept; its
    // deadline falls due, and node A claims it.
    let now = t("2026-11-27T19:05:00Z");
    let c = open_with_deadline(&store, "+447700900123", now);
    let (a, b) = (node("a"), node("b"));
    let held = store.claim_timers(&a, now, LEASE, 10).unwrap();
    assert_eq!(held.len(), 1);
    let a_claim = held[0].claim.clone();
    assert_eq!(
        (a_claim.kind(), &a_claim.key, a_claim.attempts),
        (WorkKind::Timer, &held[0].item.work_key(), 0)
    );
    // Work A holds is not B's to take, nor to be woken for before A's lease ends.
    let mid = now + TimeDelta::seconds(10);
    assert!(store.claim_timers(&b, mid, LEASE, 10).unwrap().is_empty());
    assert_eq!(store.next_due().unwrap(), Some(a_claim.until));

    // A dies. Its lease ends; B takes the deadline over with a higher token.
    let after = a_claim.until + TimeDelta::seconds(1);
    let taken = store.claim_timers(&b, after, LEASE, 10).unwrap();
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
    let a_in = store.claim_inbound(&a, after, LEASE, 10).unwrap();
    assert_eq!(a_in.len(), 1);
    let later = after + LEASE + TimeDelta::seconds(1);
    let b_in = store.claim_inbound(&b, later, LEASE, 10).unwrap();
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
            .claim_inbound(&a, much_later, LEASE, 10)
            .unwrap()
            .is_empty()
    );
}

pub fn a_lease_that_ran_out_still_completes_if_nobody_took_the_work_over(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let c = open_with_deadline(&store, "+447700900123", now);
    let a = node("a");
    let no_lease = store.claim_timers(&a, now, TimeDelta::zero(), 10);
    assert!(
        matches!(no_lease, Err(StoreError::Invalid(_))),
        "{no_lease:?}"
    );
    let held = store.claim_timers(&a, now, LEASE, 10).unwrap();
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

pub fn renewing_keeps_work_and_releasing_gives_it_back_at_once(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    queue_text(&store, now, "+447700900123");
    let (a, b) = (node("a"), node("b"));
    let held = store.claim_outbox(&a, now, LEASE, 10).unwrap();
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
    assert!(store.claim_outbox(&b, at_40, LEASE, 10).unwrap().is_empty());
    assert_eq!(store.next_due().unwrap(), Some(until));

    // A shuts down before sending and gives it back: B has it at once,
    // marked as possibly sent (A's outcome was never written).
    store.release(std::slice::from_ref(&claim)).unwrap();
    assert_eq!(store.next_due().unwrap(), Some(now), "claimable again");
    let taken = store.claim_outbox(&b, at_40, LEASE, 10).unwrap();
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
    assert!(store.claim_outbox(&a, until, LEASE, 10).unwrap().is_empty());
}

pub fn attempts_count_the_claims_that_did_not_finish(store: Arc<dyn Store>) {
    let mut now = t("2026-11-27T19:05:00Z");
    // A text that crashes whichever node takes it in: each lease runs out.
    assert!(store.record_inbound(&sms("SM1", "+447700900123")).unwrap());
    for (expected, name) in [(0, "a"), (1, "b"), (2, "a")] {
        let got = store.claim_inbound(&node(name), now, LEASE, 10).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].claim.attempts, expected);
        now += LEASE;
    }
    // The fourth taker sees it failed three times and sets it aside.
    let got = store.claim_inbound(&node("b"), now, LEASE, 10).unwrap();
    assert_eq!(got[0].claim.attempts, 3);
    store
        .apply(Change {
            at: now,
            claim: Some(got[0].claim.clone()),
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.backlog(now).unwrap().inbound_pending, 0);

    // A timer's count starts again when it is re-armed: that is new work.
    let c = open_with_deadline(&store, "+447700900124", now);
    let first = store.claim_timers(&node("a"), now, LEASE, 10).unwrap();
    now += LEASE;
    let second = store.claim_timers(&node("b"), now, LEASE, 10).unwrap();
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
            .claim_timers(&node("a"), now, LEASE, 10)
            .unwrap()
            .is_empty()
    );
    let rearmed = store
        .claim_timers(&node("a"), now + LEASE, LEASE, 10)
        .unwrap();
    assert_eq!(rearmed[0].item.due_at, now + LEASE, "the re-armed deadline");
    assert_eq!(rearmed[0].claim.attempts, 0);

    // A text that fails and is retried: the retry is a fresh claim; its
    // send attempts are counted by the outbox item.
    queue_text(&store, now, "+447700900125");
    let tried = store.claim_outbox(&node("a"), now, LEASE, 10).unwrap();
    let retry_at = now + TimeDelta::seconds(5);
    record_outcome(&store, &tried[0], now, |id| OutboxOutcome::Retry {
        id,
        at: retry_at,
    })
    .unwrap();
    let again = store.claim_outbox(&node("b"), retry_at, LEASE, 10).unwrap();
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
pub fn texts_to_one_number_keep_their_order_across_nodes(store: Arc<dyn Store>) {
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
    let a_has = store.claim_outbox(&a, now, LEASE, 10).unwrap();
    assert_eq!(bodies(&a_has), ["first", "Hello"]);
    assert!(store.claim_outbox(&b, now, LEASE, 10).unwrap().is_empty());
    // A dies: after its lease B gets the first again, never the second.
    let later = now + LEASE;
    let b_has = store.claim_outbox(&b, later, LEASE, 10).unwrap();
    assert_eq!(bodies(&b_has), ["first", "Hello"]);
    assert!(b_has.iter().all(|c| c.item.in_flight));
    // The first fails and waits a minute: the second still waits behind it.
    let retry_at = later + TimeDelta::seconds(60);
    record_outcome(&store, &b_has[0], later, |id| OutboxOutcome::Retry {
        id,
        at: retry_at,
    })
    .unwrap();
    assert!(store.claim_outbox(&a, later, LEASE, 10).unwrap().is_empty());
    assert_eq!(
        store.next_due().unwrap(),
        Some(b_has[1].claim.until),
        "the one to 0456, still held by B"
    );
    // Oldest due first: the text to 0456 (due since 19:05), then the retry.
    let a_has = store.claim_outbox(&a, retry_at, LEASE, 10).unwrap();
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
        bodies(&store.claim_outbox(&b, retry_at, LEASE, 10).unwrap()),
        ["second"]
    );
}

pub fn a_hanging_page_holds_up_no_other_patients_page_to_the_same_clinician(store: Arc<dyn Store>) {
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
    let a_has = store.claim_outbox(&a, now, LEASE, 10).unwrap();
    assert_eq!(bodies(&a_has), ["page about Margaret", "page about Arthur"]);
    assert!(store.claim_outbox(&b, now, LEASE, 10).unwrap().is_empty());
    record_outcome(&store, &a_has[1], now, |id| OutboxOutcome::Sent {
        id,
        provider_id: "SM1".into(),
    })
    .unwrap();
    assert!(
        store.claim_outbox(&b, now, LEASE, 10).unwrap().is_empty(),
        "Margaret's second text still waits for her page"
    );
    record_outcome(&store, &a_has[0], now, |id| OutboxOutcome::Sent {
        id,
        provider_id: "SM2".into(),
    })
    .unwrap();
    assert_eq!(
        bodies(&store.claim_outbox(&b, now, LEASE, 10).unwrap()),
        ["Margaret wrote again"]
    );
}

pub fn a_write_from_a_stale_copy_of_a_concern_is_refused_whole(store: Arc<dyn Store>) {
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

pub fn a_concern_from_an_address_is_found_by_it_and_opened_once(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let sian = "mailto:sian.evans@example.org";
    let first = concern(sian);
    store
        .apply(Change {
            at: now,
            concern: Some(first.clone()),
            outbox: vec![outbox(Some(first.id), sian)],
            ..Change::default()
        })
        .unwrap();
    let found = store
        .open_concern_from(&Address::from_key(sian).unwrap())
        .unwrap()
        .expect("her open concern is found by her address");
    assert_eq!((found.id, &found.sender), (first.id, &first.sender));
    assert_eq!(
        store
            .open_concern_from(&phone("07700 900802").into())
            .unwrap(),
        None,
        "an address and a number are never one sender"
    );
    // A second first message from her address opens nothing.
    let second = concern(sian);
    let again = store.apply(Change {
        at: now,
        concern: Some(second.clone()),
        ..Change::default()
    });
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.concern(second.id).unwrap(), None);
}

pub fn two_first_messages_from_one_sender_open_exactly_one_concern(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    // Eight nodes each take one of Margaret's first texts at once; each
    // finds no open concern and opens one, with its timeline and reply.
    let start = Arc::new(std::sync::Barrier::new(8));
    let nodes: Vec<_> = (0..8)
        .map(|i| {
            let (store, start) = (Arc::clone(&store), Arc::clone(&start));
            std::thread::spawn(move || {
                let c = concern("+447700900123");
                let change = Change {
                    at: now,
                    concern: Some(c.clone()),
                    timeline: vec![(c.id, received(now, &format!("text {i}")))],
                    outbox: vec![outbox(Some(c.id), "+447700900123")],
                    set_timers: vec![timer(c.id, TimerKind::AckDeadline, now)],
                    ..Change::default()
                };
                start.wait();
                (c.id, store.apply(change))
            })
        })
        .collect();
    let results: Vec<_> = nodes.into_iter().map(|n| n.join().unwrap()).collect();
    let opened: Vec<ConcernId> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(opened.len(), 1, "{results:?}");
    for (id, result) in &results {
        if *id != opened[0] {
            assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
            assert_eq!(store.concern(*id).unwrap(), None);
            assert!(store.timeline(*id).unwrap().is_empty());
        }
    }
    assert_eq!(store.unresolved_concerns().unwrap(), 1);
    assert_eq!(
        store
            .open_concern_from(&phone("+447700900123").into())
            .unwrap()
            .map(|c| c.id),
        Some(opened[0])
    );
    assert_eq!(unsent(&store, now).len(), 1);
    assert_eq!(store.backlog(now).unwrap().timers_overdue, 1);

    // The same concern cannot be opened twice, even by its own node.
    let again = store.apply(Change {
        at: now,
        concern: Some(Concern {
            version: 0,
            ..stored(&store, opened[0])
        }),
        ..Change::default()
    });
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    // Once it is resolved, Margaret's next text opens a new one.
    resolve(&store, opened[0], now);
    let next = concern("+447700900123");
    store
        .apply(Change {
            at: now,
            concern: Some(next.clone()),
            ..Change::default()
        })
        .unwrap();
    assert_eq!(stored(&store, next.id).version, 1);
}

pub fn codes_reserved_at_once_are_never_shared_and_stay_with_their_concern(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let week_ago = now - TimeDelta::days(7);
    let chen = Id::parse("chen").unwrap();
    let concerns: Vec<ConcernId> = (0..40).map(|_| ConcernId::new()).collect();
    // Eight nodes page Chen for the same forty concerns at once, each in
    // its own order, and each asks twice.
    let start = Arc::new(std::sync::Barrier::new(8));
    let nodes: Vec<_> = (0..8)
        .map(|n| {
            let (store, start, chen) = (Arc::clone(&store), Arc::clone(&start), chen.clone());
            let mut order = concerns.clone();
            order.rotate_left(n * 5);
            if n % 2 == 1 {
                order.reverse();
            }
            std::thread::spawn(move || {
                start.wait();
                let mut got = Vec::new();
                for _ in 0..2 {
                    for c in &order {
                        got.push((*c, store.reserve_code(*c, &chen, week_ago, now).unwrap()));
                    }
                }
                got
            })
        })
        .collect();
    let mut codes = std::collections::HashMap::new();
    for node in nodes {
        for (concern, code) in node.join().unwrap() {
            assert!((1..=9999).contains(&code));
            let first = *codes.entry(concern).or_insert(code);
            assert_eq!(first, code, "a concern keeps its code for Chen");
        }
    }
    let mut distinct: Vec<u16> = codes.values().copied().collect();
    distinct.sort_unstable();
    assert_eq!(
        distinct,
        (1..=40).collect::<Vec<u16>>(),
        "one code each, none shared"
    );
    // (So a new concern's code is 41: below.)

    // A reservation is not a page: a reply "A12" cannot reach a concern
    // Chen was not paged for. The code is taken all the same.
    let c = concerns[0];
    let code = codes[&c];
    assert!(store.pages_for(&chen, week_ago).unwrap().is_empty());
    assert_eq!(store.page(c, &chen).unwrap(), None);
    assert_eq!(store.reserve_code(c, &chen, week_ago, now).unwrap(), code);
    // Other clinicians count from their own last code.
    let priya = Id::parse("priya").unwrap();
    assert_eq!(store.reserve_code(c, &priya, week_ago, now).unwrap(), 1);

    // The page is written with its code, and keeps it.
    let page = Page {
        concern: c,
        staff: chen.clone(),
        code,
        open: true,
        opened_at: now,
    };
    store
        .apply(Change {
            at: now,
            open_pages: vec![page.clone()],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(store.pages_for(&chen, week_ago).unwrap(), [page]);
    assert_eq!(store.reserve_code(c, &chen, week_ago, now).unwrap(), code);

    // Closing the concerns' pages puts their codes in quarantine: a new
    // concern gets a fresh code, and only once a week has passed an old one.
    store
        .apply(Change {
            at: now,
            close_pages: concerns.clone(),
            ..Change::default()
        })
        .unwrap();
    let newcomer = ConcernId::new();
    assert_eq!(
        store.reserve_code(newcomer, &chen, week_ago, now).unwrap(),
        41
    );
    let next_week = now + TimeDelta::days(7) + TimeDelta::seconds(1);
    assert_eq!(
        store
            .reserve_code(
                ConcernId::new(),
                &chen,
                now + TimeDelta::seconds(1),
                next_week
            )
            .unwrap(),
        42,
        "on from the last, not back to the freed 1"
    );
    // (Closed codes out of quarantine are free again:
    // `codes_wrap_after_9999_and_are_reused_when_all_are_in_use`.)
    assert_eq!(
        store
            .reserve_code(newcomer, &chen, week_ago, next_week)
            .unwrap(),
        41,
        "still its code"
    );
}

pub fn codes_wrap_after_9999_and_are_reused_when_all_are_in_use(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let week_ago = now - TimeDelta::days(7);
    let chen = Id::parse("chen").unwrap();
    // 9,998 open pages: codes 2 to 9999. The next code wraps to the free 1.
    let pages: Vec<Page> = (2..=9999)
        .map(|code| Page {
            concern: ConcernId::new(),
            staff: chen.clone(),
            code,
            open: true,
            opened_at: now,
        })
        .collect();
    let four = pages[2].concern;
    store
        .apply(Change {
            at: now,
            open_pages: pages,
            ..Change::default()
        })
        .unwrap();
    assert_eq!(
        store
            .reserve_code(ConcernId::new(), &chen, week_ago, now)
            .unwrap(),
        1
    );
    // All 9,999 in use: the next after the last is reused rather than fail to page.
    assert_eq!(
        store
            .reserve_code(ConcernId::new(), &chen, week_ago, now)
            .unwrap(),
        2
    );
    // A closed page's code stays in use while in quarantine (a reply may
    // still come late), then is free again.
    store
        .apply(Change {
            at: now,
            close_pages: vec![four],
            ..Change::default()
        })
        .unwrap();
    assert_eq!(
        store
            .reserve_code(ConcernId::new(), &chen, now, now)
            .unwrap(),
        3,
        "4 is in quarantine: all in use, so the next after the last is reused"
    );
    let second = now + TimeDelta::seconds(1);
    assert_eq!(
        store
            .reserve_code(ConcernId::new(), &chen, second, second)
            .unwrap(),
        4,
        "out of quarantine, free again"
    );
}

/// Pages waiting at a provider that takes 10 s to answer stay claimed all
/// that time. They must not stand in front of the next text due: the next
/// claim takes the new text, and `next_due` names its due time, then the
/// first lease's end, however many are waiting.
pub fn texts_waiting_at_a_slow_provider_stand_in_front_of_nothing(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let waiting = 300;
    for i in 0..waiting {
        queue_text(&store, now, &format!("+4477009{i:05}"));
    }
    let a = node("a");
    let held = store.claim_outbox(&a, now, LEASE, waiting).unwrap();
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
    let next = store.claim_outbox(&node("b"), later, LEASE, 1).unwrap();
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
    let retried = store.claim_outbox(&node("b"), retry_at, LEASE, 10).unwrap();
    assert_eq!(
        retried.iter().map(|c| c.item.id).collect::<Vec<_>>(),
        [held[1].item.id],
        "only the retried text is claimable at its retry time"
    );

    // When the leases run out (node A died), every text not done is
    // claimable again, in the order they came due.
    let lapsed = now + LEASE;
    let taken = store
        .claim_outbox(&node("c"), lapsed, LEASE, waiting)
        .unwrap();
    assert_eq!(
        taken.len(),
        waiting - 2,
        "all but the renewed and the retried"
    );
    assert!(taken.iter().all(|c| c.item.in_flight));
    // At 55 s: the renewed one, and B's two whose leases ran out meanwhile.
    let last: Vec<i64> = store
        .claim_outbox(&node("c"), renewed_until, LEASE, 10)
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

// ---- the rota edits layer and the audit trail ------------------------------

fn cover_edit(by: &str, at: &str) -> NewRotaEdit {
    NewRotaEdit {
        service: Id::parse("cardiology-ward-7").unwrap(),
        body: crate::rota::layer::EditBody::Override {
            covering: Some("amara-okafor".into()),
            replacing: Some("chen-li".into()),
            rotation: None,
            from: "2026-12-05T17:00:00".parse().unwrap(),
            until: "2026-12-06T09:00:00".parse().unwrap(),
        },
        reason: "Chen's daughter is ill".into(),
        made_by: Id::parse(by).unwrap(),
        made_at: t(at),
    }
}

fn audit_line(who: &str, at: &str, action: &str, before: &str, after: &str) -> AuditRecord {
    AuditRecord {
        at: t(at),
        who: Id::parse(who).unwrap(),
        service: Some(Id::parse("cardiology-ward-7").unwrap()),
        also: Vec::new(),
        action: action.into(),
        before: before.into(),
        after: after.into(),
    }
}

pub fn rota_edits_are_kept_in_order_and_an_undone_one_stays_as_history(store: Arc<dyn Store>) {
    assert_eq!(store.rota_layer_version().unwrap(), 0, "no edits yet");
    assert!(store.rota_edits().unwrap().is_empty());
    let first = cover_edit("grace-hall", "2026-12-04T16:55:00Z");
    let a = store
        .add_rota_edit(
            &first,
            &audit_line(
                "grace-hall",
                "2026-12-04T16:55:00Z",
                "override added",
                "",
                "[[overrides]]",
            ),
            0,
        )
        .unwrap();
    let v1 = store.rota_layer_version().unwrap();
    assert!(v1 > 0, "an edit moves the layer's version on");
    let mut second = cover_edit("grace-hall", "2026-12-04T17:01:00Z");
    second.reason = "and the next night".into();
    let line = audit_line(
        "grace-hall",
        "2026-12-04T17:01:00Z",
        "override added",
        "",
        "[[overrides]]",
    );
    // Judged against the layer before the first edit: refused whole.
    assert!(matches!(
        store.add_rota_edit(&second, &line, 0),
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.rota_layer_version().unwrap(), v1, "nothing written");
    assert_eq!(store.rota_edits().unwrap().len(), 1);
    assert_eq!(store.audit_trail(0, 100).unwrap().len(), 1);
    let b = store.add_rota_edit(&second, &line, v1).unwrap();
    assert!(b > a, "edits are numbered in the order they are made");
    let v2 = store.rota_layer_version().unwrap();
    assert_ne!(v2, v1);

    let undone = Undone {
        by: Id::parse("omar-farouk").unwrap(),
        at: t("2026-12-04T18:00:00Z"),
    };
    let undo_line = audit_line(
        "omar-farouk",
        "2026-12-04T18:00:00Z",
        "edit undone",
        "[[overrides]]",
        "",
    );
    // An undo judged before the second edit was made is judged again.
    let stale = store.undo_rota_edit(a, &undone, &undo_line, v1);
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(store.rota_layer_version().unwrap(), v2, "nothing written");
    assert!(store.undo_rota_edit(a, &undone, &undo_line, v2).unwrap());
    let v3 = store.rota_layer_version().unwrap();
    assert_ne!(v3, v2, "an undo moves the version on too");
    assert!(
        !store.undo_rota_edit(a, &undone, &undo_line, v3).unwrap(),
        "an edit is undone once"
    );
    assert!(
        !store
            .undo_rota_edit(b + 100, &undone, &undo_line, v3)
            .unwrap(),
        "no such edit"
    );
    assert_eq!(
        store.rota_layer_version().unwrap(),
        v3,
        "a refused undo changes nothing"
    );

    let edits = store.rota_edits().unwrap();
    assert_eq!(edits.len(), 2, "the undone edit stays, as history");
    assert_eq!((edits[0].id, &edits[0].edit), (a, &first));
    assert_eq!(edits[0].undone.as_ref(), Some(&undone));
    assert_eq!(
        (edits[1].id, &edits[1].edit, &edits[1].undone),
        (b, &second, &None)
    );

    let trail = store.audit_trail(0, 100).unwrap();
    let edits_of: Vec<Option<u64>> = trail.iter().map(|e| e.edit).collect();
    assert_eq!(
        edits_of,
        vec![Some(a), Some(b), Some(a)],
        "each edit and undo is audited with it"
    );
    assert_eq!(trail[2].record, undo_line);
}

pub fn the_audit_trail_only_grows_and_reads_in_pages(store: Arc<dyn Store>) {
    let mut seqs = Vec::new();
    for i in 0..5 {
        let line = audit_line(
            "grace-hall",
            "2026-12-04T16:55:00Z",
            &format!("step {i}"),
            "before, \"quoted\"",
            "after\nline",
        );
        seqs.push(store.append_audit(&line).unwrap());
    }
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "places follow on: {seqs:?}"
    );
    let page = store.audit_trail(seqs[1], 2).unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].seq, seqs[2]);
    assert_eq!(page[0].record.action, "step 2");
    assert_eq!(page[0].record.before, "before, \"quoted\"");
    assert_eq!(page[1].record.after, "after\nline");
    assert_eq!(page[1].edit, None);
    assert!(store.audit_trail(seqs[4], 10).unwrap().is_empty());
    assert_eq!(store.audit_trail(0, 100).unwrap().len(), 5);
}

/// A trust manager's cover on the senior clinician rotation changes three
/// services' chains: its audit line names them all, on the edit and on its
/// undo, and an older line without them still reads.
pub fn an_edit_of_a_shared_rotation_is_audited_under_every_service_it_changes(
    store: Arc<dyn Store>,
) {
    let services =
        |ids: &[&str]| -> Vec<Id> { ids.iter().map(|s| Id::parse(s).unwrap()).collect() };
    let mut line = audit_line(
        "tara-singh",
        "2026-12-04T16:55:00Z",
        "override added",
        "",
        "[[overrides]]",
    );
    line.also = services(&["childrens-assessment-unit", "community-nursing-north"]);
    let edit = cover_edit("tara-singh", "2026-12-04T16:55:00Z");
    let id = store.add_rota_edit(&edit, &line, 0).unwrap();
    let mut undo = audit_line(
        "tara-singh",
        "2026-12-04T17:30:00Z",
        "override undone",
        "[[overrides]]",
        "",
    );
    undo.also = services(&["childrens-assessment-unit"]);
    let version = store.rota_layer_version().unwrap();
    let undone = Undone {
        by: Id::parse("tara-singh").unwrap(),
        at: t("2026-12-04T17:30:00Z"),
    };
    assert!(store.undo_rota_edit(id, &undone, &undo, version).unwrap());
    let plain = audit_line("tara-singh", "2026-12-04T18:00:00Z", "signed in", "", "");
    store.append_audit(&plain).unwrap();

    let trail = store.audit_trail(0, 10).unwrap();
    let records: Vec<&AuditRecord> = trail.iter().map(|e| &e.record).collect();
    assert_eq!(records, [&line, &undo, &plain]);
    assert_eq!(trail[0].edit, Some(id));
    assert!(trail[2].record.also.is_empty());
}

pub fn a_gap_is_alerted_once_however_many_nodes_ask(store: Arc<dyn Store>) {
    let key = "cardiology-ward-7|2026-12-05T17:00:00Z|only-fallback";
    let at = t("2026-12-01T17:00:00Z");
    let winners: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| store.mark_gap_alerted(key, at).unwrap()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap() as usize)
            .sum()
    });
    assert_eq!(winners, 1, "exactly one caller sends the alert");
    assert!(
        !store
            .mark_gap_alerted(key, t("2026-12-02T17:00:00Z"))
            .unwrap()
    );
    assert!(store.mark_gap_alerted("another-gap", at).unwrap());
}

/// Run every check against stores made by `fresh`.
pub fn a_services_concerns_of_a_week_come_oldest_first_with_their_timelines_and_survive_retention(
    store: Arc<dyn Store>,
) {
    use crate::reports::{Report, Week};
    let ward = Id::parse("cardiology-ward-7").unwrap();
    // 2026-W48 runs from Monday 23 November 00:00 to Monday 30 November 00:00 (GMT).
    let week: Week = "2026-W48".parse().unwrap();
    let first = opened_at(
        "+447700900801",
        "2026-11-23T00:00:00Z",
        Some("cardiology-ward-7"),
        None,
    );
    let last = opened_at(
        "+447700900802",
        "2026-11-29T23:59:59.999Z",
        Some("cardiology-ward-7"),
        None,
    );
    let middle = opened_at(
        "+447700900803",
        "2026-11-27T19:05:00Z",
        Some("cardiology-ward-7"),
        None,
    );
    let before = opened_at(
        "+447700900804",
        "2026-11-22T23:59:59.999Z",
        Some("cardiology-ward-7"),
        None,
    );
    let after = opened_at(
        "+447700900805",
        "2026-11-30T00:00:00Z",
        Some("cardiology-ward-7"),
        None,
    );
    let other = opened_at(
        "+447700900806",
        "2026-11-25T10:00:00Z",
        Some("community-nursing"),
        None,
    );
    let unknown = opened_at("+447700900807", "2026-11-25T11:00:00Z", None, None);
    save(
        &store,
        &[&last, &after, &middle, &other, &before, &unknown, &first],
    );
    let accepted_at = t("2026-11-27T19:09:00Z");
    let entries = vec![
        (
            middle.id,
            TimelineEntry {
                at: middle.opened_at,
                event: TimelineEvent::Received {
                    from: "patient".into(),
                    text: middle.text.clone(),
                    voicemail: false,
                },
            },
        ),
        (
            middle.id,
            TimelineEntry {
                at: middle.opened_at,
                event: TimelineEvent::Paged {
                    staff: Id::parse("chen").unwrap(),
                    name: "Chen Li".into(),
                    level: "level 1".into(),
                    code: 1234,
                },
            },
        ),
        (
            middle.id,
            TimelineEntry {
                at: accepted_at,
                event: TimelineEvent::Accepted {
                    staff: Id::parse("chen").unwrap(),
                    name: "Chen Li".into(),
                },
            },
        ),
    ];
    let mut resolved = stored(&store, middle.id);
    resolved.escalation.status = Status::Resolved {
        by: None,
        at: t("2026-11-27T20:00:00Z"),
        note: Some("Dressing changed at home".into()),
    };
    store
        .apply(Change {
            at: t("2026-11-27T20:00:00Z"),
            concern: Some(resolved),
            timeline: entries,
            ..Change::default()
        })
        .unwrap();

    let found = store
        .concerns_opened(&ward, week.start(), week.end())
        .unwrap();
    let ids: Vec<ConcernId> = found.iter().map(|(c, _)| c.id).collect();
    assert_eq!(
        ids,
        vec![first.id, middle.id, last.id],
        "from Monday 00:00 up to, not including, the next Monday; this service only; oldest first"
    );
    assert_eq!(found[1].1.len(), 3, "each with its timeline");
    assert!(found[0].1.is_empty());
    assert_eq!(found[1].0.version, 2, "as stored, with its version");
    let report = Report::compute(ward.clone(), week, &found);
    assert_eq!(
        (report.raised, report.accepted, report.never_accepted),
        (3, 1, 2)
    );
    assert_eq!(report.median_to_accept, Some(TimeDelta::minutes(4)));

    // Retention removes the words; the figures stay as they were.
    assert_eq!(
        store
            .purge(t("2027-06-01T00:00:00Z"), "[removed]")
            .unwrap()
            .concerns,
        1
    );
    let purged = store
        .concerns_opened(&ward, week.start(), week.end())
        .unwrap();
    assert!(
        matches!(&purged[1].1[0].event, TimelineEvent::Received { text, .. } if text == "[removed]")
    );
    assert_eq!(Report::compute(ward.clone(), week, &purged), report);
    assert!(
        store
            .concerns_opened(&ward, week.end(), week.next().end())
            .unwrap()
            .iter()
            .map(|(c, _)| c.id)
            .eq([after.id]),
        "the next week starts with the concern opened at its first instant"
    );
}

pub fn an_ongoing_enrolment_is_found_until_it_is_ended_and_only_then_purged(store: Arc<dyn Store>) {
    let now = t("2026-11-27T18:00:00Z");
    let e = Enrolment {
        id: EnrolmentId::new(),
        patient: Contact {
            name: "Arthur Price".into(),
            phone: Some(phone("07700 900141")),
            email: None,
        },
        carers: vec![crate::directory::Carer {
            contact: Contact {
                name: "Joan Price".into(),
                phone: Some(phone("07700 900142")),
                email: None,
            },
            relationship: Some("wife".into()),
        }],
        service: Id::parse("community-nursing-north").unwrap(),
        kind: crate::directory::EnrolmentKind::Ongoing,
        discharged_at: None,
        context: Some("Heart failure, NYHA class III".into()),
        enrolled_at: now,
        ends_at: None,
        ended_at: None,
        review_at: Some(now + TimeDelta::days(365)),
        coordinator: Some(Id::parse("grace-adeyemi").unwrap()),
        check_ins: Default::default(),
        client: None,
        language: Default::default(),
        patient_takes_texts: true,
    };
    // An older discharge enrolment of the same carer's number, to show the
    // newest care comes first.
    let mut discharge = e.clone();
    discharge.id = EnrolmentId::new();
    discharge.kind = crate::directory::EnrolmentKind::Discharge;
    discharge.discharged_at = Some(now - TimeDelta::days(3));
    discharge.ends_at = Some(now + TimeDelta::days(27));
    discharge.review_at = None;
    discharge.coordinator = None;
    for enrolment in [&discharge, &e] {
        store
            .apply(Change {
                at: now,
                enrolment: Some(enrolment.clone()),
                ..Change::default()
            })
            .unwrap();
    }
    assert_eq!(store.enrolment(e.id).unwrap(), Some(e.clone()));
    assert_eq!(
        store
            .enrolments_for_phone(&phone("07700 900142"), now)
            .unwrap(),
        [e.clone(), discharge.clone()]
    );
    // Years on, long after any discharge window, it is still found, and
    // retention does not touch it while it runs.
    let later = now + TimeDelta::days(3 * 365);
    assert_eq!(
        store
            .enrolments_for_phone(&phone("07700 900141"), later)
            .unwrap(),
        std::slice::from_ref(&e)
    );
    assert_eq!(store.purge(later, "[removed]").unwrap().enrolments, 1);
    assert_eq!(store.enrolment(e.id).unwrap(), Some(e.clone()));
    assert_eq!(store.enrolment(discharge.id).unwrap(), None);
    // Ended, it is no longer found, and retention counts from the end.
    assert!(store.end_enrolment(e.id, later).unwrap());
    assert!(!store.end_enrolment(e.id, later).unwrap());
    assert!(
        store
            .enrolments_for_phone(&phone("07700 900141"), later + TimeDelta::seconds(1))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.enrolment(e.id).unwrap().unwrap().ended_at,
        Some(later)
    );
    assert_eq!(store.purge(later, "[removed]").unwrap().enrolments, 0);
    assert_eq!(
        store
            .purge(later + TimeDelta::seconds(1), "[removed]")
            .unwrap()
            .enrolments,
        1
    );
    assert_eq!(store.enrolment(e.id).unwrap(), None);
}

// ---- API keys and their clients (docs/adr/0021) ----

pub fn api_keys_keep_their_client_scopes_and_expiry_and_are_revoked_by_name(store: Arc<dyn Store>) {
    use crate::api_keys::Scopes;
    let made = t("2026-11-27T09:00:00Z");
    // Ward 7's discharge system, and the trust's integration engine with a
    // key that expires; then ward 7's replacement key for the same client.
    let ward_7 = ApiKey::made("ward-7-discharge", Scopes::DEFAULT, made);
    let engine = ApiKey {
        expires_at: Some(t("2027-02-25T09:00:00Z")),
        ..ApiKey::made("trust-engine", Scopes::parse("read-all").unwrap(), made)
    };
    let ward_7_next = ApiKey {
        client: "ward-7-discharge".into(),
        ..ApiKey::made(
            "ward-7-discharge-2027",
            Scopes::DEFAULT,
            made + TimeDelta::hours(1),
        )
    };
    store.create_api_key(&ward_7, [1; 32]).unwrap();
    store.create_api_key(&engine, [2; 32]).unwrap();
    store.create_api_key(&ward_7_next, [3; 32]).unwrap();
    assert_eq!(store.api_key([2; 32]).unwrap(), Some(engine.clone()));
    assert_eq!(store.api_key([3; 32]).unwrap(), Some(ward_7_next.clone()));

    // A name is one key's: a second key cannot take it.
    let twin = store.create_api_key(
        &ApiKey::made("trust-engine", Scopes::DEFAULT, made),
        [4; 32],
    );
    assert!(matches!(twin, Err(StoreError::Invalid(_))), "{twin:?}");
    assert_eq!(store.api_key([4; 32]).unwrap(), None);

    // Listed oldest first, the same on every backend.
    let names: Vec<String> = store
        .api_keys()
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(
        names,
        ["trust-engine", "ward-7-discharge", "ward-7-discharge-2027"],
        "by when made, then by name"
    );

    // Revoked by name, once; the record says when, and the key stays listed.
    let at = t("2026-12-01T10:00:00Z");
    assert!(store.revoke_api_key("ward-7-discharge", at).unwrap());
    assert!(
        !store
            .revoke_api_key("ward-7-discharge", at + TimeDelta::hours(1))
            .unwrap()
    );
    assert!(!store.revoke_api_key("nobody", at).unwrap());
    let revoked = store.api_key([1; 32]).unwrap().unwrap();
    assert_eq!(
        revoked.revoked_at,
        Some(at),
        "the first revocation's time stays"
    );
    assert_eq!(
        store.api_key([3; 32]).unwrap().unwrap().revoked_at,
        None,
        "its successor is untouched"
    );
    assert_eq!(store.api_keys().unwrap().len(), 3);
    // And its name stays taken.
    let reused = store.create_api_key(
        &ApiKey::made("ward-7-discharge", Scopes::DEFAULT, at),
        [5; 32],
    );
    assert!(matches!(reused, Err(StoreError::Invalid(_))), "{reused:?}");
}

pub fn a_clients_concerns_are_listed_for_it_and_nobody_elses(store: Arc<dyn Store>) {
    let now = t("2026-11-27T18:00:00Z");
    // Margaret enrolled by ward 7's system, Mr Patel by community
    // nursing's, Mrs Shah on the staff pages (no client).
    let enrolled = |client: Option<&str>| {
        let e = Enrolment {
            client: client.map(str::to_owned),
            ..margaret_and_sian(now)
        };
        store
            .apply(Change {
                at: now,
                enrolment: Some(e.clone()),
                ..Change::default()
            })
            .unwrap();
        e
    };
    let (ward, nursing, web) = (
        enrolled(Some("ward-7-discharge")),
        enrolled(Some("nursing-north")),
        enrolled(None),
    );
    assert_eq!(
        store.enrolment(ward.id).unwrap().unwrap().client.as_deref(),
        Some("ward-7-discharge"),
        "an enrolment keeps the client that made it"
    );
    let margaret = opened_at(
        "+447700900801",
        "2026-11-27T19:05:00Z",
        Some("cardiology-ward-7"),
        Some(ward.id),
    );
    let stranger = opened_at("+447700900999", "2026-11-27T19:10:00Z", None, None);
    let patel = opened_at(
        "+447700900811",
        "2026-11-27T19:15:00Z",
        Some("community-nursing-north"),
        Some(nursing.id),
    );
    let shah = opened_at(
        "+447700900821",
        "2026-11-27T19:20:00Z",
        Some("cardiology-ward-7"),
        Some(web.id),
    );
    let sian = opened_at(
        "+447700900802",
        "2026-11-27T19:25:00Z",
        Some("cardiology-ward-7"),
        Some(ward.id),
    );
    save(&store, &[&margaret, &stranger, &patel, &shah, &sian]);

    let client = |c: &str| ConcernFilter {
        client: Some(c.to_owned()),
        ..ConcernFilter::default()
    };
    #[rustfmt::skip]
    let cases = [
        ("ward 7's system", client("ward-7-discharge"), vec![sian.id, margaret.id]),
        ("community nursing's system", client("nursing-north"), vec![patel.id]),
        ("a client that enrolled nobody", client("nobody"), vec![]),
        ("ward 7's, on ward 7, open", ConcernFilter { service: Some(Id::parse("cardiology-ward-7").unwrap()), statuses: vec![ConcernStatus::Open], ..client("ward-7-discharge") }, vec![sian.id, margaret.id]),
        ("ward 7's, about Mr Patel", ConcernFilter { enrolment: Some(nursing.id), ..client("ward-7-discharge") }, vec![]),
        ("ward 7's, the newest one", ConcernFilter { limit: 1, ..client("ward-7-discharge") }, vec![sian.id]),
        ("every client (read-all)", ConcernFilter::default(), vec![sian.id, shah.id, patel.id, stranger.id, margaret.id]),
    ];
    for (what, filter, expected) in cases {
        assert_eq!(listed(&store, filter), expected, "{what}");
    }
}

/// What the SMTP listener recorded of how an email came, and how a
/// concern's sender was recognised, read back as written (docs/adr/0022);
/// an item stored before they were recorded still reads, without them.
pub fn how_an_email_came_and_how_its_sender_was_recognised_are_kept(store: Arc<dyn Store>) {
    let email = |key: &str, envelope: Option<&str>| Inbound {
        key: key.into(),
        kind: InboundKind::Email {
            from: "sian.evans@example.org".into(),
            to: vec!["community@nightingale.test".into()],
            subject: "Mum".into(),
            text: "Mum is more breathless tonight".into(),
            attachments: Vec::new(),
            delivery: None,
            envelope_from: envelope.map(str::to_owned),
            peer: envelope.map(|_| "2001:db8::25".parse().unwrap()),
            authentication_results: envelope
                .map(|_| "mx1.trust.example; dmarc=pass header.from=example.org".into()),
        },
        received_at: t("2026-11-28T19:40:00Z"),
    };
    let proved = email("email:a@example.org", Some("mallory@evil.example"));
    let unrecorded = email("email:b@example.org", None);
    assert!(store.record_inbound(&proved).unwrap());
    assert!(store.record_inbound(&unrecorded).unwrap());
    assert_eq!(store.inbound(&proved.key).unwrap(), Some(proved.clone()));
    assert_eq!(store.inbound(&unrecorded.key).unwrap(), Some(unrecorded));
    let claimed = store
        .claim_inbound(
            &node("a"),
            t("2026-11-28T19:40:01Z"),
            TimeDelta::seconds(30),
            10,
        )
        .unwrap();
    assert_eq!(claimed[0].item, proved);

    let mut stranger = concern("mailto:mallory@evil.example");
    stranger.party = Party::Unknown;
    stranger.recognised = Some(crate::concern::Recognised::UnknownEmail);
    let id = stranger.id;
    store
        .apply(Change {
            at: t("2026-11-28T19:40:01Z"),
            concern: Some(stranger),
            ..Change::default()
        })
        .unwrap();
    assert_eq!(
        stored(&store, id).recognised,
        Some(crate::concern::Recognised::UnknownEmail)
    );
    assert_eq!(
        stored(
            &store,
            open_with_deadline(&store, "+447700900123", t("2026-11-28T19:41:00Z")).id
        )
        .recognised,
        None
    );
}

// ---- scheduled notices and check-ins (docs/adr/0017) ----

fn check_in(key: &str, due_at: Instant, number: u32) -> Notice {
    Notice {
        key: key.into(),
        due_at,
        what: NoticeKind::CheckIn {
            enrolment: EnrolmentId(uuid::Uuid::nil()),
            number,
        },
    }
}

pub fn notices_are_claimed_once_and_a_late_write_after_a_takeover_is_refused(
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
            .claim_notices(&node("a"), nine - TimeDelta::seconds(1), LEASE, 10)
            .unwrap()
            .is_empty(),
        "nothing is claimed before it is due"
    );

    // Two nodes ask at 09:30: one gets the 09:00 notice, the other nothing.
    let half_past = t("2026-11-28T09:30:00Z");
    let a = store
        .claim_notices(&node("a"), half_past, LEASE, 10)
        .unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].item, check_in("check_in/a", nine, 1));
    assert_eq!(a[0].claim.kind(), WorkKind::Notice);
    assert!(
        store
            .claim_notices(&node("b"), half_past, LEASE, 10)
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
            .claim_notices(&node("b"), half_past, LEASE, 10)
            .unwrap()
            .is_empty()
    );

    // Node a claims the 10:00 one and stalls past its lease; node b takes it over.
    let slow = store.claim_notices(&node("a"), ten, LEASE, 10).unwrap();
    assert_eq!(slow.len(), 1);
    let later = ten + LEASE + TimeDelta::seconds(1);
    let fast = store.claim_notices(&node("b"), later, LEASE, 10).unwrap();
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

pub fn a_notice_is_added_once_cancelled_with_its_claim_and_answers_go_with_the_enrolment(
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
        store
            .apply(Change {
                at: now,
                add_notices: vec![handover(due)],
                ..Change::default()
            })
            .unwrap();
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
    store
        .apply(Change {
            at: now,
            set_notices: vec![wait.clone()],
            ..Change::default()
        })
        .unwrap();
    let claimed = store.claim_notices(&node("a"), now, LEASE, 10).unwrap();
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
    while store
        .purge(now + TimeDelta::days(31), "[removed]")
        .unwrap()
        .enrolments
        > 0
    {}
    assert_eq!(store.enrolment(e.id).unwrap(), None);
    assert!(store.check_in_answers(e.id).unwrap().is_empty());
}

// ---- Staff on the web: sign-in codes, request counts, sessions, calendar links ----

fn sign_in_code(challenge: u8, person: &str, code: u8, expires_at: Instant) -> SignInCode {
    SignInCode {
        challenge: [challenge; 32],
        person: Id::parse(person).unwrap(),
        code: [code; 32],
        method: SignInMethod::SmsCode,
        expires_at,
    }
}

pub fn a_sign_in_code_works_once_in_time_and_dies_after_too_many_wrong_tries(
    store: Arc<dyn Store>,
) {
    let now = t("2026-11-27T19:05:00Z");
    let expires = now + TimeDelta::minutes(10);
    store
        .put_sign_in_code(&sign_in_code(1, "amara-okafor", 7, expires))
        .unwrap();
    // Right once, then gone.
    let CodeCheck::Accepted(found) = store.check_sign_in_code([1; 32], [7; 32], now, 5).unwrap()
    else {
        panic!("the right code is accepted");
    };
    assert_eq!(found, sign_in_code(1, "amara-okafor", 7, expires));
    assert_eq!(
        store.check_sign_in_code([1; 32], [7; 32], now, 5).unwrap(),
        CodeCheck::Gone
    );
    // Wrong tries count down; the fifth deletes it, and the right one then fails.
    store
        .put_sign_in_code(&sign_in_code(2, "amara-okafor", 7, expires))
        .unwrap();
    for left in (0..5).rev() {
        assert_eq!(
            store.check_sign_in_code([2; 32], [9; 32], now, 5).unwrap(),
            CodeCheck::Wrong {
                attempts_left: left,
                person: Id::parse("amara-okafor").unwrap(),
            }
        );
    }
    assert_eq!(
        store.check_sign_in_code([2; 32], [7; 32], now, 5).unwrap(),
        CodeCheck::Gone
    );
    // Expired: gone, even when right.
    store
        .put_sign_in_code(&sign_in_code(3, "ben-hughes", 7, expires))
        .unwrap();
    assert_eq!(
        store
            .check_sign_in_code([3; 32], [7; 32], expires, 5)
            .unwrap(),
        CodeCheck::Gone
    );
    // Another browser's challenge does not see this one's code.
    store
        .put_sign_in_code(&sign_in_code(4, "ben-hughes", 7, expires))
        .unwrap();
    assert_eq!(
        store.check_sign_in_code([5; 32], [7; 32], now, 5).unwrap(),
        CodeCheck::Gone
    );
    assert!(matches!(
        store.check_sign_in_code([4; 32], [7; 32], now, 5).unwrap(),
        CodeCheck::Accepted(_)
    ));
}

pub fn hits_are_counted_per_bucket_and_window(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let window = TimeDelta::minutes(15);
    assert_eq!(store.count_hit("person:amara", now, window).unwrap(), 1);
    assert_eq!(
        store
            .count_hit("person:amara", now + TimeDelta::minutes(4), window)
            .unwrap(),
        2
    );
    assert_eq!(store.count_hit("client:10.0.0.1", now, window).unwrap(), 1);
    // 19:15 starts the next window (windows start on the quarter hour).
    assert_eq!(
        store
            .count_hit("person:amara", t("2026-11-27T19:15:00Z"), window)
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .count_hit("person:amara", t("2026-11-27T19:16:00Z"), window)
            .unwrap(),
        2
    );
    assert!(
        store
            .count_hit("person:amara", now, TimeDelta::zero())
            .is_err()
    );
}

pub fn hits_are_read_without_counting_one(store: Arc<dyn Store>) {
    // Wrong sign-in codes typed for Amara, counted per day.
    let day = TimeDelta::days(1);
    let evening = t("2026-11-27T19:05:00Z");
    assert_eq!(store.hits("sign-in:failed:amara", evening, day).unwrap(), 0);
    for _ in 0..3 {
        store
            .count_hit("sign-in:failed:amara", evening, day)
            .unwrap();
    }
    let later = t("2026-11-27T23:59:00Z");
    assert_eq!(store.hits("sign-in:failed:amara", later, day).unwrap(), 3);
    assert_eq!(store.hits("sign-in:failed:amara", later, day).unwrap(), 3);
    assert_eq!(store.hits("sign-in:failed:ben", later, day).unwrap(), 0);
    // The next day starts again.
    let tomorrow = t("2026-11-28T00:00:00Z");
    assert_eq!(
        store.hits("sign-in:failed:amara", tomorrow, day).unwrap(),
        0
    );
    assert_eq!(
        store
            .count_hit("sign-in:failed:amara", tomorrow, day)
            .unwrap(),
        1
    );
    assert!(
        store
            .hits("sign-in:failed:amara", later, TimeDelta::zero())
            .is_err()
    );
}

pub fn sessions_are_found_touched_and_deleted_by_hash(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let session = Session {
        hash: [1; 32],
        person: Id::parse("amara-okafor").unwrap(),
        method: SignInMethod::SmsCode,
        created_at: now,
        last_seen: now,
        expires_at: now + TimeDelta::hours(12),
    };
    store.create_session(&session).unwrap();
    assert_eq!(store.session([1; 32]).unwrap(), Some(session.clone()));
    assert_eq!(store.session([2; 32]).unwrap(), None);
    store
        .touch_session([1; 32], now + TimeDelta::minutes(5))
        .unwrap();
    // Never moved back.
    store
        .touch_session([1; 32], now + TimeDelta::minutes(1))
        .unwrap();
    assert_eq!(
        store.session([1; 32]).unwrap().unwrap().last_seen,
        now + TimeDelta::minutes(5)
    );
    // A second session of the same person is its own.
    let other = Session {
        hash: [2; 32],
        ..session.clone()
    };
    store.create_session(&other).unwrap();
    store.delete_session([1; 32]).unwrap();
    assert_eq!(store.session([1; 32]).unwrap(), None);
    assert_eq!(store.session([2; 32]).unwrap(), Some(other));
    // A session long past its end is cleared away when another is made.
    let later = Session {
        hash: [3; 32],
        created_at: now + TimeDelta::hours(13),
        last_seen: now + TimeDelta::hours(13),
        expires_at: now + TimeDelta::hours(25),
        ..session
    };
    store.create_session(&later).unwrap();
    assert_eq!(store.session([2; 32]).unwrap(), None);
    assert!(store.session([3; 32]).unwrap().is_some());
}

pub fn a_calendar_token_opens_one_persons_feed_until_replaced_or_revoked(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let amara = Id::parse("amara-okafor").unwrap();
    let ben = Id::parse("ben-hughes").unwrap();
    assert_eq!(store.calendar_token_made(&amara).unwrap(), None);
    store
        .set_calendar_token(&amara, Some([1; 32]), now)
        .unwrap();
    store.set_calendar_token(&ben, Some([2; 32]), now).unwrap();
    assert_eq!(store.calendar_person([1; 32]).unwrap(), Some(amara.clone()));
    assert_eq!(store.calendar_token_made(&amara).unwrap(), Some(now));
    // A new token replaces the old.
    let later = now + TimeDelta::days(1);
    store
        .set_calendar_token(&amara, Some([3; 32]), later)
        .unwrap();
    assert_eq!(store.calendar_person([1; 32]).unwrap(), None);
    assert_eq!(store.calendar_person([3; 32]).unwrap(), Some(amara.clone()));
    assert_eq!(store.calendar_token_made(&amara).unwrap(), Some(later));
    // Revoked: no token opens it.
    store.set_calendar_token(&amara, None, later).unwrap();
    assert_eq!(store.calendar_person([3; 32]).unwrap(), None);
    assert_eq!(store.calendar_token_made(&amara).unwrap(), None);
    assert_eq!(store.calendar_person([2; 32]).unwrap(), Some(ben));
}

// ---- running the suite: one test per case per backend ----

use std::sync::{Mutex, Weak};

/// One server (or cluster) shared by the cases that run at the same time in
/// this process, each in a namespace of its own; it stops when the last of
/// them ends. (A `static` that held it for good would never be dropped, so
/// its `redis-server`s would outlive the tests.) Under nextest, which runs
/// each test in a process of its own, every case gets its own.
fn shared<T>(slot: &Mutex<Weak<T>>, start: impl FnOnce() -> T) -> Arc<T> {
    let mut slot = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(running) = slot.upgrade() {
        return running;
    }
    let started = Arc::new(start());
    *slot = Arc::downgrade(&started);
    started
}

/// A fresh store: the namespace `namespace` (a case's name) on the Redis at `url`.
fn redis_store(url: &str, namespace: &str) -> Arc<dyn Store> {
    Arc::new(redis::RedisStore::open_in(url, namespace).unwrap())
}

static REDIS: Mutex<Weak<redis::test_server::RedisServer>> = Mutex::new(Weak::new());
static REDIS_CLUSTER: Mutex<Weak<redis::test_server::RedisCluster>> = Mutex::new(Weak::new());

/// Each case as a test of its own on each backend, against a fresh store:
/// `on_sqlite::CASE`, `on_redis::CASE` and `on_redis_cluster::CASE`, so
/// that one failure hides none of the others.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            use super::*;
            $(
                #[test]
                fn $case() {
                    let dir = tempfile::tempdir().unwrap();
                    let path = dir.path().join("store.db");
                    super::$case(Arc::new(sqlite::SqliteStore::open(&path).unwrap()));
                }
            )*
        }

        mod on_redis {
            use super::*;
            $(
                #[test]
                fn $case() {
                    let server = shared(&REDIS, redis::test_server::RedisServer::start);
                    super::$case(redis_store(&server.url(), stringify!($case)));
                }
            )*
        }

        // Each case's namespace hashes to its own slot, so the cases spread
        // over the three primaries; a script that touched a key outside its
        // slot would be refused here, where one server would let it through.
        mod on_redis_cluster {
            use super::*;
            $(
                #[test]
                fn $case() {
                    let cluster = shared(&REDIS_CLUSTER, redis::test_server::RedisCluster::start);
                    super::$case(redis_store(&cluster.url(), stringify!($case)));
                }
            )*
        }
    };
}

conformance! {
    api_keys_keep_their_client_scopes_and_expiry_and_are_revoked_by_name,
    a_clients_concerns_are_listed_for_it_and_nobody_elses,
    rota_edits_are_kept_in_order_and_an_undone_one_stays_as_history,
    the_audit_trail_only_grows_and_reads_in_pages,
    an_edit_of_a_shared_rotation_is_audited_under_every_service_it_changes,
    a_gap_is_alerted_once_however_many_nodes_ask,
    notices_are_claimed_once_and_a_late_write_after_a_takeover_is_refused,
    a_notice_is_added_once_cancelled_with_its_claim_and_answers_go_with_the_enrolment,
    inbound_is_recorded_once_and_stays_pending_until_processed,
    an_emails_words_are_kept_once_on_the_timeline_and_the_item_keeps_who_sent_it,
    a_change_writes_state_timeline_outbox_and_timers_together,
    a_fired_timer_is_removed_unless_it_was_re_armed,
    a_resolved_concern_no_longer_collects_messages,
    enrolments_are_found_by_patient_or_carer_number_while_active,
    a_child_enrolled_with_his_mother_as_contact_is_kept_not_texted,
    enrolments_are_found_by_patient_or_carer_email_in_any_case,
    an_enrolment_keeps_the_language_its_people_are_texted_in,
    an_ongoing_enrolment_is_found_until_it_is_ended_and_only_then_purged,
    pages_keep_their_codes_and_close_with_the_concern,
    opt_outs_api_keys_and_secrets_persist,
    concurrent_writes_all_land_and_one_failure_does_not_sink_the_rest,
    an_outbox_item_in_flight_stays_due_until_its_outcome_is_written,
    texts_to_one_number_go_out_in_order_and_a_retry_holds_back_the_next,
    an_email_keeps_its_address_has_a_lane_of_its_own_and_is_found_by_its_message_id,
    purging_removes_what_people_wrote_and_keeps_who_did_what,
    concerns_are_listed_newest_first_by_status_service_enrolment_and_time,
    pages_follow_on_from_a_key_and_ignore_concerns_that_arrive_between_pages,
    two_nodes_claiming_at_once_each_get_different_work,
    a_dead_nodes_work_is_taken_over_after_its_lease_and_its_late_write_is_refused,
    a_lease_that_ran_out_still_completes_if_nobody_took_the_work_over,
    renewing_keeps_work_and_releasing_gives_it_back_at_once,
    texts_waiting_at_a_slow_provider_stand_in_front_of_nothing,
    attempts_count_the_claims_that_did_not_finish,
    texts_to_one_number_keep_their_order_across_nodes,
    a_hanging_page_holds_up_no_other_patients_page_to_the_same_clinician,
    a_write_from_a_stale_copy_of_a_concern_is_refused_whole,
    two_first_messages_from_one_sender_open_exactly_one_concern,
    a_concern_from_an_address_is_found_by_it_and_opened_once,
    codes_reserved_at_once_are_never_shared_and_stay_with_their_concern,
    codes_wrap_after_9999_and_are_reused_when_all_are_in_use,
    a_sign_in_code_works_once_in_time_and_dies_after_too_many_wrong_tries,
    hits_are_counted_per_bucket_and_window,
    hits_are_read_without_counting_one,
    sessions_are_found_touched_and_deleted_by_hash,
    a_calendar_token_opens_one_persons_feed_until_replaced_or_revoked,
    a_services_concerns_of_a_week_come_oldest_first_with_their_timelines_and_survive_retention,
    how_an_email_came_and_how_its_sender_was_recognised_are_kept,
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
    assert_eq!(
        store
            .backlog(t("2026-11-27T19:05:00Z"))
            .unwrap()
            .inbound_pending,
        1
    );
    assert!(!store.record_inbound(&sms("SM1", "+447700900123")).unwrap());
}
