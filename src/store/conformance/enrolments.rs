//! Enrolments and who they reach, pages and their codes, opt-outs, concurrent writes, and a text in flight.

use super::*;

/// Margaret, discharged from cardiology ward 7 at `now` for 30 days, with
/// her daughter Sian as carer: the enrolment most cases start from.
pub(super) fn margaret_and_sian(now: Instant) -> Enrolment {
    Enrolment {
        id: EnrolmentId::new(),
        patient: texted("Margaret Evans", "07700 900123"),
        carers: vec![carer("Sian Evans", "07700 900124", "daughter")],
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
        nhs_number: None,
        ended_because: None,
    }
}

/// Leo, 9, does not take texts: his mother is his contact. That is kept,
/// and found again by either number, as the engine reads it to decide who
/// is welcomed and checked on; an enrolment stored before the field
/// existed reads as one whose patient takes texts.
pub(super) fn a_child_enrolled_with_his_mother_as_contact_is_kept_not_texted(
    store: Arc<dyn Store>,
) {
    let now = t("2026-11-24T11:00:00Z");
    let leo = Enrolment {
        patient: texted("Leo Morgan", "07700 900151"),
        carers: vec![carer("Jess Morgan", "07700 900152", "mother")],
        service: Id::parse("childrens-assessment-unit").unwrap(),
        patient_takes_texts: false,
        ..margaret_and_sian(now)
    };
    let margaret = margaret_and_sian(now);
    enrol(&store, now, &leo);
    enrol(&store, now, &margaret);
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

pub(super) fn enrolments_are_found_by_patient_or_carer_number_while_active(store: Arc<dyn Store>) {
    let now = t("2026-11-27T18:00:00Z");
    let e = margaret_and_sian(now);
    enrol(&store, now, &e);
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
    assert_eq!(enrolments_purged(&store, now + TimeDelta::days(1)), 0);
    assert_eq!(enrolments_purged(&store, now + TimeDelta::days(2)), 1);
    assert_eq!(store.enrolment(e.id).unwrap(), None);
}

/// A Welsh-speaking patient's enrolment keeps its language, whichever of
/// its numbers finds it, and one stored before there were languages reads
/// as English.
pub(super) fn an_enrolment_keeps_the_language_its_people_are_texted_in(store: Arc<dyn Store>) {
    let now = t("2026-11-27T18:00:00Z");
    let e = Enrolment {
        language: crate::directory::Language::Cy,
        ..margaret_and_sian(now)
    };
    enrol(&store, now, &e);
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

pub(super) fn enrolments_are_found_by_patient_or_carer_email_in_any_case(store: Arc<dyn Store>) {
    let now = t("2026-11-28T18:00:00Z");
    let email = |a: &str| crate::directory::EmailAddress::parse(a).unwrap();
    let mut e = margaret_and_sian(now);
    e.carers[0].contact.email = Some(email("sian.evans@example.org"));
    enrol(&store, now, &e);
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
    assert_eq!(enrolments_purged(&store, now + TimeDelta::days(2)), 1);
    assert!(
        store
            .enrolments_for_email(&email("sian.evans@example.org"), now)
            .unwrap()
            .is_empty()
    );
}

pub(super) fn pages_keep_their_codes_and_close_with_the_concern(store: Arc<dyn Store>) {
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
        code_for(&store, ConcernId::new(), &chen, now, now),
        13,
        "the next code is on from the page's, which is taken; 13 is free"
    );
    apply_at(&store, now, |change| change.close_pages = vec![c.id]);
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

pub(super) fn opt_outs_api_keys_and_secrets_persist(store: Arc<dyn Store>) {
    let now = t("2026-11-27T19:05:00Z");
    let p = phone("07700 900123");
    assert!(!store.is_opted_out(&p).unwrap());
    apply_at(&store, now, |change| {
        change.opt_out = Some((p.clone(), true))
    });
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

pub(super) fn concurrent_writes_all_land_and_one_failure_does_not_sink_the_rest(
    store: Arc<dyn Store>,
) {
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

pub(super) fn an_outbox_item_in_flight_stays_due_until_its_outcome_is_written(
    store: Arc<dyn Store>,
) {
    let now = t("2026-11-27T19:05:00Z");
    queue_text(&store, now, "+447700900123");
    let id = store
        .claim_of::<OutboxItem>(&node("a"), now, LEASE, 10)
        .unwrap()[0]
        .item
        .id;
    // As after a crash mid-send: due again once the lease ends, and marked
    // so the sender checks first.
    let lapsed = now + LEASE + TimeDelta::seconds(1);
    let due = store
        .claim_of::<OutboxItem>(&node("b"), lapsed, LEASE, 10)
        .unwrap();
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
