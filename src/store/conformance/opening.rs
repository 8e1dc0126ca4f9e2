//! Several nodes on one store, opening concerns: one concern per sender however many first messages race, and page codes reserved at once, never shared.

use super::*;

pub(super) fn a_concern_from_an_address_is_found_by_it_and_opened_once(store: Arc<dyn Store>) {
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

pub(super) fn two_first_messages_from_one_sender_open_exactly_one_concern(store: Arc<dyn Store>) {
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
    write_concern(&store, now, &next);
    assert_eq!(stored(&store, next.id).version, 1);
}

pub(super) fn codes_reserved_at_once_are_never_shared_and_stay_with_their_concern(
    store: Arc<dyn Store>,
) {
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
                        got.push((*c, code_for(&store, *c, &chen, week_ago, now)));
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
    assert_eq!(code_for(&store, c, &chen, week_ago, now), code);
    // Other clinicians count from their own last code.
    let priya = Id::parse("priya").unwrap();
    assert_eq!(code_for(&store, c, &priya, week_ago, now), 1);

    // The page is written with its code, and keeps it.
    let page = Page {
        concern: c,
        staff: chen.clone(),
        code,
        open: true,
        opened_at: now,
    };
    apply_at(&store, now, |change| change.open_pages = vec![page.clone()]);
    assert_eq!(store.pages_for(&chen, week_ago).unwrap(), [page]);
    assert_eq!(code_for(&store, c, &chen, week_ago, now), code);

    // Closing the concerns' pages puts their codes in quarantine: a new
    // concern gets a fresh code, and only once a week has passed an old one.
    apply_at(&store, now, |change| change.close_pages = concerns.clone());
    let newcomer = ConcernId::new();
    assert_eq!(code_for(&store, newcomer, &chen, week_ago, now), 41);
    let next_week = now + TimeDelta::days(7) + TimeDelta::seconds(1);
    assert_eq!(
        code_for(
            &store,
            ConcernId::new(),
            &chen,
            now + TimeDelta::seconds(1),
            next_week
        ),
        42,
        "on from the last, not back to the freed 1"
    );
    // (Closed codes out of quarantine are free again:
    // `codes_wrap_after_9999_and_are_reused_when_all_are_in_use`.)
    assert_eq!(
        code_for(&store, newcomer, &chen, week_ago, next_week),
        41,
        "still its code"
    );
}

pub(super) fn codes_wrap_after_9999_and_are_reused_when_all_are_in_use(store: Arc<dyn Store>) {
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
    apply_at(&store, now, |change| change.open_pages = pages);
    assert_eq!(code_for(&store, ConcernId::new(), &chen, week_ago, now), 1);
    // All 9,999 in use: the next after the last is reused rather than fail to page.
    assert_eq!(code_for(&store, ConcernId::new(), &chen, week_ago, now), 2);
    // A closed page's code stays in use while in quarantine (a reply may
    // still come late), then is free again.
    apply_at(&store, now, |change| change.close_pages = vec![four]);
    assert_eq!(
        code_for(&store, ConcernId::new(), &chen, now, now),
        3,
        "4 is in quarantine: all in use, so the next after the last is reused"
    );
    let second = now + TimeDelta::seconds(1);
    assert_eq!(
        code_for(&store, ConcernId::new(), &chen, second, second),
        4,
        "out of quarantine, free again"
    );
}
