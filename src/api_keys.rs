//! API keys for the JSON API: whose they are, what they may do, and until
//! when (docs/adr/0005 and 0021).
//!
//! A key belongs to a *client*: the system that holds it, such as a ward's
//! discharge system. Every enrolment a key makes records its client, and
//! what a key may read follows its *scopes*:
//!
//! - [`Scope::Enrol`]: enrol patients, and end the enrolments its client
//!   made (with `read-all` too, also those no client made);
//! - [`Scope::ReadOwn`]: read the concerns and enrolments its client made;
//! - [`Scope::ReadAll`]: read every concern and enrolment (a trust's own
//!   integration engine, say).
//!
//! What a key may not read does not exist for it: the API answers `404`,
//! the same as for an id nobody made, and lists leave it out. Because the
//! client, not the key, owns an enrolment, a key that replaces an expired
//! or revoked one (`nightingale api-key create NEW --client OLD`) reaches
//! what the old one made.
//!
//! A key may expire and may be revoked; either way it stops at once on
//! every node, because each request looks its key up in the store (there
//! is no cache to outlive a revocation). These are the rules alone: the
//! store keeps keys by the hash of their secret (the secret itself is
//! shown once and never stored).

use std::fmt;

use crate::clock::Instant;
use crate::store_error::StoreResult;

/// One thing a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// `enrol`: enrol patients and end its own client's enrolments.
    Enrol,
    /// `read-own`: read what its own client enrolled, and their concerns.
    ReadOwn,
    /// `read-all`: read every enrolment and concern.
    ReadAll,
}

impl Scope {
    /// Every scope, in the order they are written.
    pub const ALL: [Scope; 3] = [Scope::Enrol, Scope::ReadOwn, Scope::ReadAll];

    /// As written on the command line and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Enrol => "enrol",
            Scope::ReadOwn => "read-own",
            Scope::ReadAll => "read-all",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The scopes a key has: at least one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    /// What `nightingale api-key create` gives when `--scope` is not said:
    /// what a discharge system needs, and nothing of other clients.
    pub const DEFAULT: Scopes = Scopes(1 << Scope::Enrol as u8 | 1 << Scope::ReadOwn as u8);

    /// What a key made before keys had scopes has (docs/adr/0021): the
    /// same as [`Scopes::DEFAULT`], so an upgrade closes every key's view
    /// of other clients' patients without anyone acting. Its client is its
    /// own name.
    pub const BEFORE_SCOPES: Scopes = Scopes::DEFAULT;

    /// Read `enrol,read-own` (scopes separated by commas, any order).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut bits = 0;
        for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let scope = Scope::ALL
                .into_iter()
                .find(|s| s.as_str() == word)
                .ok_or_else(|| ParseError::NotAScope(word.to_owned()))?;
            bits |= scope.bit();
        }
        if bits == 0 {
            return Err(ParseError::NoScope);
        }
        Ok(Scopes(bits))
    }

    /// Whether `scope` is one of them.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Them, in [`Scope::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl fmt::Display for Scopes {
    /// `enrol,read-own`: what [`Scopes::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&words.join(","))
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scopes({self})")
    }
}

/// A key as stored: everything but its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Its name, unique in the store (`ward-7-discharge-2027`).
    pub name: String,
    /// The client that holds it, which owns the enrolments it makes (the
    /// key's own name unless it was made `--client` another's).
    pub client: String,
    /// What it may do.
    pub scopes: Scopes,
    /// When it was made.
    pub created_at: Instant,
    /// When it stops working by itself, if ever.
    pub expires_at: Option<Instant>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Instant>,
}

/// Why a known key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// It was revoked at this instant.
    Revoked(Instant),
    /// It expired at this instant.
    Expired(Instant),
}

/// What a key may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Every enrolment and concern (`read-all`).
    All,
    /// What this client enrolled, and the concerns about those patients
    /// (`read-own`).
    Client(String),
}

impl Reach {
    /// Whether it reaches an enrolment made by `client` (`None`: made on
    /// the staff pages, from an EPR, or before enrolments recorded their
    /// client), or a concern about such an enrolment's patient (a concern
    /// with no enrolment, a stranger's, passes `None` too).
    pub fn covers(&self, client: Option<&str>) -> bool {
        match self {
            Reach::All => true,
            Reach::Client(own) => client == Some(own.as_str()),
        }
    }

    /// The client a list must be narrowed to, or `None` for every one.
    pub fn only_client(&self) -> Option<&str> {
        match self {
            Reach::All => None,
            Reach::Client(own) => Some(own),
        }
    }
}

impl ApiKey {
    /// A key named `name` made at `at`, its own client, with `scopes`, no
    /// expiry, not revoked.
    pub fn made(name: &str, scopes: Scopes, at: Instant) -> Self {
        Self {
            name: name.to_owned(),
            client: name.to_owned(),
            scopes,
            created_at: at,
            expires_at: None,
            revoked_at: None,
        }
    }

    /// Whether the key works at `now`: not revoked, and not expired by
    /// then. A revocation holds whatever the clock says (one node's clock
    /// may lag the machine the operator revoked it on).
    pub fn usable_at(&self, now: Instant) -> Result<(), Refused> {
        if let Some(at) = self.revoked_at {
            return Err(Refused::Revoked(at));
        }
        if let Some(at) = self.expires_at.filter(|at| *at <= now) {
            return Err(Refused::Expired(at));
        }
        Ok(())
    }

    /// Whether it may enrol patients and end its client's enrolments.
    pub fn may_enrol(&self) -> bool {
        self.scopes.contains(Scope::Enrol)
    }

    /// What it may read; `None` if it may read nothing (an `enrol`-only key).
    pub fn reach(&self) -> Option<Reach> {
        if self.scopes.contains(Scope::ReadAll) {
            Some(Reach::All)
        } else if self.scopes.contains(Scope::ReadOwn) {
            Some(Reach::Client(self.client.clone()))
        } else {
            None
        }
    }

    /// Whether it may end an enrolment made by `client`, which needs
    /// `enrol`: its own client's; and, with `read-all` too, one that belongs
    /// to no client (made on the staff pages, from an EPR, or before
    /// enrolments recorded their client), which nobody could end otherwise.
    /// Never another client's.
    pub fn may_end(&self, client: Option<&str>) -> bool {
        self.may_enrol()
            && match client {
                Some(client) => client == self.client,
                None => self.scopes.contains(Scope::ReadAll),
            }
    }
}

/// Read a key's or a client's name, as given on the command line: 1 to 64
/// letters, digits, `-`, `_` or `.`, starting with a letter or digit.
/// (Keys stored before names were checked keep whatever name they had.)
pub fn parse_name(text: &str) -> Result<String, ParseError> {
    let name = text.trim();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(ParseError::NotAName(name.to_owned()))
    }
}

/// When a key made at `now` stops working, from `--expires`: a span
/// (`90d`, `12weeks`, `1y`) from now, or an instant in ISO 8601 (a date
/// alone, `2027-03-01`, is the start of that day, UK time). It must be
/// later than `now`.
pub fn parse_expiry(text: &str, now: Instant) -> Result<Instant, ParseError> {
    let text = text.trim();
    let at = match humantime::parse_duration(text) {
        Ok(span) => chrono::TimeDelta::from_std(span)
            .ok()
            .and_then(|span| now.checked_add_signed(span))
            .ok_or_else(|| ParseError::TooFarAhead(text.to_owned()))?,
        Err(_) => crate::calendar::parse_instant(text)
            .map_err(|_| ParseError::NotAnExpiry(text.to_owned()))?,
    };
    if at <= now {
        return Err(ParseError::NotInTheFuture(text.to_owned()));
    }
    Ok(at)
}

/// What is wrong with a key's scopes, name or expiry as given on the
/// command line, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A word in `--scope` that is no scope.
    #[error(
        "{0:?} is not a scope: write enrol, read-own or read-all, several separated by commas (e.g. enrol,read-own)"
    )]
    NotAScope(String),
    /// `--scope` with no scope in it.
    #[error("give at least one scope: enrol, read-own or read-all (e.g. enrol,read-own)")]
    NoScope,
    /// A key's or a client's name that cannot be one.
    #[error(
        "{0:?} cannot be a name: use 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit, e.g. ward-7-discharge"
    )]
    NotAName(String),
    /// An expiry span that reaches past what an instant can hold.
    #[error("{0:?} is too far ahead")]
    TooFarAhead(String),
    /// An expiry that is neither a span nor a date.
    #[error(
        "{0:?} is not a span or a date: write how long the key lasts (90d, 12weeks, 1y) or when it stops (2027-03-01, UK time)"
    )]
    NotAnExpiry(String),
    /// An expiry at or before the moment the key is made.
    #[error("{0:?} is not in the future: a key must outlive the moment it is made")]
    NotInTheFuture(String),
}

/// What the service keeps for itself: API keys (by the hash of their
/// secret), named secrets, and a consistent copy of the whole store.
/// Every method blocks.
pub trait Keys: Send + Sync + 'static {
    /// Store an API key under the hash of its secret. [`StoreError::Invalid`](crate::store_error::StoreError::Invalid)
    /// if a key has this hash or this name already (revoked keys keep theirs).
    fn create_api_key(&self, key: &ApiKey, hash: [u8; 32]) -> StoreResult<()>;
    /// The API key with this hash, revoked or not. A key stored before keys
    /// had scopes reads with [`crate::api_keys::Scopes::BEFORE_SCOPES`] and
    /// its own name as its client.
    fn api_key(&self, hash: [u8; 32]) -> StoreResult<Option<ApiKey>>;
    /// Every API key, revoked or not, oldest first.
    fn api_keys(&self) -> StoreResult<Vec<ApiKey>>;
    /// Revoke the keys named `name` at `at`; `false` if none was left to
    /// revoke (no such name, or revoked already).
    fn revoke_api_key(&self, name: &str, at: Instant) -> StoreResult<bool>;
    /// A named random secret, made on first use and kept (e.g. for signing links).
    fn secret(&self, name: &str) -> StoreResult<Vec<u8>>;
    /// Write a consistent copy of everything to `to` (which must not exist),
    /// while the service keeps running.
    fn backup(&self, to: &std::path::Path) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Instant {
        s.parse().unwrap()
    }

    fn key(scopes: &str) -> ApiKey {
        ApiKey {
            name: "ward-7-discharge".to_owned(),
            client: "ward-7".to_owned(),
            scopes: Scopes::parse(scopes).unwrap(),
            created_at: t("2026-11-27T09:00:00Z"),
            expires_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn scopes_read_back_as_written_in_one_order_whatever_order_they_came_in() {
        let s = Scopes::parse(" read-all , enrol ").unwrap();
        assert_eq!(s.to_string(), "enrol,read-all");
        assert_eq!(Scopes::parse(&s.to_string()).unwrap(), s);
        assert_eq!(Scopes::DEFAULT.to_string(), "enrol,read-own");
        let wrong = Scopes::parse("enrol,admin").unwrap_err().to_string();
        assert!(wrong.contains("\"admin\" is not a scope"), "{wrong}");
        assert!(
            Scopes::parse(" , ")
                .unwrap_err()
                .to_string()
                .contains("at least one")
        );
    }

    #[test]
    fn a_read_own_key_reaches_its_own_clients_enrolments_only() {
        let own = key("enrol,read-own").reach().unwrap();
        assert!(own.covers(Some("ward-7")));
        assert!(!own.covers(Some("ward-9")), "another client's patient");
        assert!(!own.covers(None), "a stranger's concern or a web enrolment");
        assert_eq!(own.only_client(), Some("ward-7"));
        let all = key("read-all").reach().unwrap();
        assert!(all.covers(Some("ward-9")) && all.covers(None));
        assert_eq!(all.only_client(), None);
        assert_eq!(
            key("enrol").reach(),
            None,
            "an enrol-only key reads nothing"
        );
    }

    #[test]
    fn a_key_ends_its_own_clients_enrolments_never_another_clients_and_only_with_enrol() {
        assert!(key("enrol").may_end(Some("ward-7")));
        assert!(!key("enrol,read-all").may_end(Some("ward-9")));
        assert!(!key("read-own").may_end(Some("ward-7")));
        assert!(!key("enrol").may_end(None), "an enrolment of no client's");
        assert!(
            key("enrol,read-all").may_end(None),
            "the trust's own integration ends what no client owns"
        );
        assert!(!key("read-all").may_end(None));
    }

    #[test]
    fn a_key_stops_at_its_expiry_or_once_revoked_whatever_the_clock_says() {
        let mut k = key("enrol");
        let now = t("2026-12-01T12:00:00Z");
        assert_eq!(k.usable_at(now), Ok(()));
        k.expires_at = Some(now);
        assert_eq!(k.usable_at(now), Err(Refused::Expired(now)));
        assert_eq!(k.usable_at(t("2026-12-01T11:59:59Z")), Ok(()));
        // Revoked on a machine whose clock runs ahead: refused all the same.
        k.revoked_at = Some(t("2026-12-02T08:00:00Z"));
        assert_eq!(
            k.usable_at(t("2026-11-30T08:00:00Z")),
            Err(Refused::Revoked(t("2026-12-02T08:00:00Z")))
        );
    }

    #[test]
    fn an_expiry_is_a_span_from_now_or_a_uk_date_and_always_ahead() {
        let now = t("2026-11-27T19:05:00Z");
        assert_eq!(parse_expiry("90d", now).unwrap(), t("2027-02-25T19:05:00Z"));
        // 1 June is in British Summer Time: its start is 23:00 UTC the day before.
        assert_eq!(
            parse_expiry("2027-06-01", now).unwrap(),
            t("2027-05-31T23:00:00Z")
        );
        assert!(
            parse_expiry("2026-01-01", now)
                .unwrap_err()
                .to_string()
                .contains("not in the future")
        );
        assert!(
            parse_expiry("soon", now)
                .unwrap_err()
                .to_string()
                .contains("90d")
        );
    }

    #[test]
    fn names_are_short_words_without_spaces() {
        assert_eq!(
            parse_name(" ward-7_discharge.v2 ").unwrap(),
            "ward-7_discharge.v2"
        );
        assert!(parse_name("ward 7").is_err());
        assert!(parse_name("").is_err());
        assert!(parse_name("-ward").is_err());
        assert!(parse_name(&"a".repeat(65)).is_err());
    }
}
