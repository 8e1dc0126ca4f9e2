//! How both backends write values down and read them back: instants as
//! milliseconds since the epoch, stored values as JSON, the store's errors
//! for what cannot be written or read, and the few rules for stored rows
//! that must read the same from SQLite and Redis (an API key stored before
//! scopes, when an enrolment stops being active, the window a hit counts
//! in, how long a spent sign-in code is kept). One copy here, so the two
//! backends cannot drift apart.

use chrono::{DateTime, TimeDelta, Utc};

use crate::api_keys::{ApiKey, Scopes};
use crate::clock::Instant;
use crate::concern::Concern;
use crate::directory::Enrolment;
use crate::store_error::{StoreError, StoreResult};

/// How long after its expiry a sign-in code's row may stay (it no longer works).
pub(crate) const SIGN_IN_CODE_KEPT_MS: i64 = 24 * 3600 * 1000;

/// The store cannot be reached or did not answer: the call may pass later.
pub(crate) fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string().into())
}

/// What is stored does not read back as what was written.
pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string().into())
}

/// A write refused because what it was judged against has changed.
pub(crate) fn conflict(why: impl std::fmt::Display) -> StoreError {
    StoreError::Conflict(why.to_string().into())
}

/// A write that will never succeed as it is.
pub(crate) fn invalid(why: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(why.to_string().into())
}

/// An instant as milliseconds since the epoch, as the stores keep times.
pub(crate) fn ms(t: Instant) -> i64 {
    t.timestamp_millis()
}

/// The instant of a stored millisecond count (one out of range reads as the epoch).
pub(crate) fn instant(ms: i64) -> Instant {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// A value as the JSON it is stored as.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(Box::new(e)))
}

/// A stored value from its JSON; JSON that does not read is corrupt.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(corrupt)
}

/// A concern from its stored JSON and the version its row or hash holds
/// (the copy in its JSON is not kept up to date).
pub(crate) fn concern_from((data, version): (String, u64)) -> StoreResult<Concern> {
    let mut c: Concern = from_json(&data)?;
    c.version = version;
    Ok(c)
}

/// An API key as a backend reads it back: a key stored before keys had
/// clients and scopes (its `client` and `scopes` missing) is its own
/// name's client with [`Scopes::BEFORE_SCOPES`]. One rule for both
/// backends (docs/adr/0021).
pub(crate) fn api_key_as_stored(
    name: String,
    client: Option<String>,
    scopes: Option<&str>,
    created_at: Instant,
    expires_at: Option<Instant>,
    revoked_at: Option<Instant>,
) -> StoreResult<ApiKey> {
    let scopes = match scopes {
        Some(text) => Scopes::parse(text)
            .map_err(|e| StoreError::Corrupt(format!("API key {name:?}: {e}").into()))?,
        None => Scopes::BEFORE_SCOPES,
    };
    Ok(ApiKey {
        client: client.unwrap_or_else(|| name.clone()),
        name,
        scopes,
        created_at,
        expires_at,
        revoked_at,
    })
}

/// An enrolment as stored: its JSON, and when it was ended, which both
/// backends keep beside the JSON (ending one writes no JSON).
pub(crate) fn enrolment_from(data: &str, ended_at: Option<Instant>) -> StoreResult<Enrolment> {
    let mut e: Enrolment = from_json(data)?;
    e.ended_at = ended_at;
    Ok(e)
}

/// Enrolments found by an address, from their stored JSON, newest first
/// (by when they began): the order both backends answer in.
pub(crate) fn enrolments_newest_first(rows: &[String]) -> StoreResult<Vec<Enrolment>> {
    let mut list: Vec<Enrolment> = rows
        .iter()
        .map(|r| from_json(r))
        .collect::<StoreResult<_>>()?;
    list.sort_by_key(|e| std::cmp::Reverse(e.began_at()));
    Ok(list)
}

/// When an enrolment stops being active, as both backends index it: when
/// it was ended, or ends by itself, or, for an ongoing enrolment that has
/// not been ended, the last instant of the year 9999. Active-enrolment
/// look-ups compare with it and purging counts retention from it, so an
/// ongoing enrolment is found until it is ended and is never purged before.
pub(crate) fn ends_at_or_never(e: &Enrolment) -> Instant {
    e.ended_or_ends_at().unwrap_or_else(never)
}

/// The fixed window of length `window` that `now` falls in, as both
/// backends count hits in it: its start and end in ms since the epoch
/// (windows start at multiples of their length).
pub(crate) fn hit_window(now: Instant, window: TimeDelta) -> StoreResult<(i64, i64)> {
    let len = window.num_milliseconds();
    if len <= 0 {
        return Err(StoreError::Invalid(
            format!("a window of {window} cannot count requests").into(),
        ));
    }
    let start = now.timestamp_millis().div_euclid(len) * len;
    Ok((start, start + len))
}

/// The last instant of the year 9999: "not until it is ended", for indexes
/// that need a time (see [`ends_at_or_never`]).
pub(crate) fn never() -> Instant {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 999))
        .map(|t| t.and_utc())
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}
