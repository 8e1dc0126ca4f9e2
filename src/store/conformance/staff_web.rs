//! Staff on the web: sign-in codes, request counts, sessions, calendar links.

use super::*;

// ---- Staff on the web: sign-in codes, request counts, sessions, calendar links ----

pub(super) fn sign_in_code(
    challenge: u8,
    person: &str,
    code: u8,
    expires_at: Instant,
) -> SignInCode {
    SignInCode {
        challenge: [challenge; 32],
        person: Id::parse(person).unwrap(),
        code: [code; 32],
        method: SignInMethod::SmsCode,
        expires_at,
    }
}

/// Code `code` typed against challenge `challenge` (as [`sign_in_code`]
/// writes them), where five wrong codes end the challenge.
pub(super) fn attempt(challenge: u8, code: u8) -> CodeAttempt {
    CodeAttempt {
        challenge: [challenge; 32],
        code: [code; 32],
        max_attempts: 5,
    }
}

pub(super) fn a_sign_in_code_works_once_in_time_and_dies_after_too_many_wrong_tries(
    store: Arc<dyn Store>,
) {
    let now = t("2026-11-27T19:05:00Z");
    let expires = now + TimeDelta::minutes(10);
    store
        .put_sign_in_code(&sign_in_code(1, "amara-okafor", 7, expires))
        .unwrap();
    // Right once, then gone.
    let CodeCheck::Accepted(found) = store.check_sign_in_code(attempt(1, 7), now).unwrap() else {
        panic!("the right code is accepted");
    };
    assert_eq!(found, sign_in_code(1, "amara-okafor", 7, expires));
    assert_eq!(
        store.check_sign_in_code(attempt(1, 7), now).unwrap(),
        CodeCheck::Gone
    );
    // Wrong tries count down; the fifth deletes it, and the right one then fails.
    store
        .put_sign_in_code(&sign_in_code(2, "amara-okafor", 7, expires))
        .unwrap();
    for left in (0..5).rev() {
        assert_eq!(
            store.check_sign_in_code(attempt(2, 9), now).unwrap(),
            CodeCheck::Wrong {
                attempts_left: left,
                person: Id::parse("amara-okafor").unwrap(),
            }
        );
    }
    assert_eq!(
        store.check_sign_in_code(attempt(2, 7), now).unwrap(),
        CodeCheck::Gone
    );
    // Expired: gone, even when right.
    store
        .put_sign_in_code(&sign_in_code(3, "ben-hughes", 7, expires))
        .unwrap();
    assert_eq!(
        store.check_sign_in_code(attempt(3, 7), expires).unwrap(),
        CodeCheck::Gone
    );
    // Another browser's challenge does not see this one's code.
    store
        .put_sign_in_code(&sign_in_code(4, "ben-hughes", 7, expires))
        .unwrap();
    assert_eq!(
        store.check_sign_in_code(attempt(5, 7), now).unwrap(),
        CodeCheck::Gone
    );
    assert!(matches!(
        store.check_sign_in_code(attempt(4, 7), now).unwrap(),
        CodeCheck::Accepted(_)
    ));
}

pub(super) fn hits_are_counted_per_bucket_and_window(store: Arc<dyn Store>) {
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

pub(super) fn hits_are_read_without_counting_one(store: Arc<dyn Store>) {
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

pub(super) fn sessions_are_found_touched_and_deleted_by_hash(store: Arc<dyn Store>) {
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

pub(super) fn a_calendar_token_opens_one_persons_feed_until_replaced_or_revoked(
    store: Arc<dyn Store>,
) {
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
