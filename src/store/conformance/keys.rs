//! API keys and their clients (docs/adr/0021), and how an email's sender was recognised.

use super::*;

// ---- API keys and their clients (docs/adr/0021) ----

pub(super) fn api_keys_keep_their_client_scopes_and_expiry_and_are_revoked_by_name(
    store: Arc<dyn Store>,
) {
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

pub(super) fn a_clients_concerns_are_listed_for_it_and_nobody_elses(store: Arc<dyn Store>) {
    let now = t("2026-11-27T18:00:00Z");
    // Margaret enrolled by ward 7's system, Mr Patel by community
    // nursing's, Mrs Shah on the staff pages (no client).
    let enrolled = |client: Option<&str>| {
        let e = Enrolment {
            client: client.map(str::to_owned),
            ..margaret_and_sian(now)
        };
        enrol(&store, now, &e);
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
pub(super) fn how_an_email_came_and_how_its_sender_was_recognised_are_kept(store: Arc<dyn Store>) {
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
        .claim_of::<Inbound>(
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
    write_concern(&store, t("2026-11-28T19:40:01Z"), &stranger);
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
