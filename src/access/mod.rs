//! Staff on the web: who they are and what they may see.
//!
//! - **Signing in** is by a one-time code sent to a phone (or, later, an
//!   email address) the rota files hold for them: no password to forget.
//!   The browser that asks holds a random *challenge* token; the store keeps
//!   only its hash and a hash of the code keyed by it, so a copy of the
//!   store names no code. A code works once, for [`CODE_TTL`], and
//!   [`MAX_ATTEMPTS`] wrong tries delete it. Whether a number is on the
//!   rota is never revealed: the answer is the same either way.
//! - **Limits never lock out the owner** ([`SignInLimits`], counted in the
//!   store so every node keeps the same count). Requests for codes are
//!   counted per client address (see `http::client`) and per (number,
//!   client), never per number whoever asks: someone else asking for a
//!   registrar's number uses up their own allowance, not hers. Past a
//!   limit the asker is answered exactly as usual but no new code is
//!   texted, so a limit tells nothing, and the code already sent to that
//!   browser still works. Wrong codes are counted per person per day (UTC);
//!   at [`SignInLimits::failures_per_day`] the person is texted, once, and
//!   no code signs them in until the day ends. That one is a lockout
//!   anyone can cause, which we accept to bound guessing across many
//!   addresses (docs/adr/0020): it stops
//!   web sign-in only, never pages or the links in them, and the person is
//!   told at once.
//! - **Sessions** live in the store under the hash of a random token (the
//!   cookie holds the token); they end after [`IDLE_EXPIRY`] unused or
//!   [`ABSOLUTE_EXPIRY`] after signing in, whichever comes first, or when
//!   the person signs out. A session records how its person signed in
//!   ([`sessions::SignInMethod`]), so a sign-in through the trust's identity provider
//!   can be added as one more method.
//! - **Roles** come from the rota files ([`Roles::of`]): a service's
//!   `managers`, the trust's `managers`, and everyone else in people.toml a
//!   clinician, who sees their own shifts and the concerns they were paged
//!   for or hold.
//! - **Calendar feeds** are reached by a random token in their URL, kept as
//!   a hash, revocable and made again at will.

pub mod ical;
pub mod sessions;
pub mod shifts;

use std::collections::BTreeSet;
use std::net::IpAddr;

use base64::Engine as _;
use chrono::TimeDelta;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::access::sessions::Session;
use crate::clock::Instant;
use crate::directory::{ContactMethod, Id, Staff};
use crate::rota::Rota;
use crate::store_error::StoreError;

/// How long a sign-in code works.
pub const CODE_TTL: TimeDelta = TimeDelta::minutes(10);
/// Wrong tries that delete a code.
pub const MAX_ATTEMPTS: u32 = 5;
/// The window requests for codes are counted in.
pub const REQUEST_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// The window wrong codes are counted in: a day, midnight to midnight UTC.
pub const FAILURE_WINDOW: TimeDelta = TimeDelta::days(1);

/// A session unused this long has ended.
pub const IDLE_EXPIRY: TimeDelta = TimeDelta::minutes(30);
/// A session ends this long after signing in, however busy.
pub const ABSOLUTE_EXPIRY: TimeDelta = TimeDelta::hours(12);
/// A session's last use is written at most this often (a page view is not a write each time).
pub const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);

/// How many codes may be asked for and got wrong before no more are sent
/// or accepted (`NIGHTINGALE_SIGN_IN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// Codes one client may ask for one number in [`REQUEST_WINDOW`].
    pub codes_per_number: u32,
    /// Codes one client may ask for, whatever the numbers, in [`REQUEST_WINDOW`].
    pub codes_per_client: u32,
    /// Wrong codes for one person in a [`FAILURE_WINDOW`] after which none
    /// signs them in until it ends.
    pub failures_per_day: u32,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            codes_per_number: 3,
            codes_per_client: 10,
            failures_per_day: 10,
        }
    }
}

impl SignInLimits {
    /// The limits a configuration sets (`SIGN_IN_CODES_PER_NUMBER`,
    /// `SIGN_IN_CODES_PER_CLIENT`, `SIGN_IN_FAILURES_PER_DAY`); each must be
    /// at least 1. Given as numbers, so that access does not import the
    /// configuration (which sits above the engine and the store).
    pub fn new(
        codes_per_number: u32,
        codes_per_client: u32,
        failures_per_day: u32,
    ) -> anyhow::Result<Self> {
        let limits = Self {
            codes_per_number,
            codes_per_client,
            failures_per_day,
        };
        let defaults = Self::default();
        for (value, name, default) in [
            (
                limits.codes_per_number,
                "SIGN_IN_CODES_PER_NUMBER",
                defaults.codes_per_number,
            ),
            (
                limits.codes_per_client,
                "SIGN_IN_CODES_PER_CLIENT",
                defaults.codes_per_client,
            ),
            (
                limits.failures_per_day,
                "SIGN_IN_FAILURES_PER_DAY",
                defaults.failures_per_day,
            ),
        ] {
            anyhow::ensure!(
                value > 0,
                "NIGHTINGALE_{name} must be at least 1 (the default is {default})"
            );
        }
        Ok(limits)
    }
}

/// How a client address is counted: an IPv4 address alone, an IPv6 one by
/// its /64, the block one home, office or phone is given whole (counting
/// single IPv6 addresses would give one client billions of allowances).
pub fn client_key(client: IpAddr) -> String {
    match client.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => ipnet::Ipv6Net::new(v6, 64)
            .map_or_else(|_| v6.to_string(), |net| net.trunc().to_string()),
    }
}

/// A random token: 256 bits, URL-safe base64 (for cookies and URLs).
pub fn new_token() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| StoreError::Unavailable(format!("no randomness: {e}").into()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The hash a token is stored under. Tokens are 256 random bits, so a
/// fast hash is enough: nothing can be guessed from it.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The hash a code is stored under: keyed by the challenge token, which
/// only the browser holds, so the six digits cannot be found from the
/// store alone.
pub fn code_hash(challenge: &str, code: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(challenge.as_bytes()).expect("any key length");
    mac.update(code.as_bytes());
    mac.finalize().into_bytes().into()
}

/// A fresh six-digit code, uniformly drawn.
pub fn new_code() -> Result<String, StoreError> {
    loop {
        let mut bytes = [0u8; 4];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| StoreError::Unavailable(format!("no randomness: {e}").into()))?;
        let n = u32::from_le_bytes(bytes);
        // Reject the top sliver so every code is equally likely.
        if n < u32::MAX - u32::MAX % 1_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// What a person typed to be sent a code: a phone number or an email
/// address, as the rota files might hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// A phone number.
    Phone(crate::directory::PhoneNumber),
    /// An email address.
    Email(crate::directory::EmailAddress),
}

impl Contact {
    /// Read what was typed; `None` if it is neither.
    pub fn parse(typed: &str) -> Option<Self> {
        let typed = typed.trim();
        if typed.contains('@') {
            crate::directory::EmailAddress::parse(typed)
                .ok()
                .map(Contact::Email)
        } else {
            crate::directory::PhoneNumber::parse(typed)
                .ok()
                .map(Contact::Phone)
        }
    }

    /// The contact as the store counts requests for it.
    pub fn key(&self) -> String {
        match self {
            Contact::Phone(phone) => phone.as_str().to_owned(),
            Contact::Email(email) => email.as_str().to_ascii_lowercase(),
        }
    }

    /// The person in the rota who has this contact, if any (the first by id
    /// where a number is shared, as replies are recognised).
    pub fn person<'r>(&self, rota: &'r Rota) -> Option<&'r Staff> {
        match self {
            Contact::Phone(phone) => rota.staff_by_phone(phone),
            Contact::Email(email) => rota.people().iter().find(|p| {
                p.contacts
                    .iter()
                    .any(|c| matches!(c, ContactMethod::Email(e) if e == email))
            }),
        }
    }
}

/// What asking for a code came to. The person is told the same whichever
/// it is, so the page reveals neither who is on the rota nor a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRequest {
    /// A code is on its way to a person on the rota.
    Sent,
    /// Nobody on the rota has that contact, or no code can go to it (a
    /// landline; an email address, until email is built): nothing is sent.
    NotSent,
    /// Too many codes were asked for by this client, or by it for this
    /// number: nothing is sent, and the browser keeps the challenge (and so
    /// the code) it already holds.
    TooMany,
}

/// What typing a code came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInOutcome {
    /// Signed in: the session token for the cookie, and who.
    SignedIn {
        /// The session token (the cookie's value).
        token: String,
        /// Who signed in.
        person: Id,
    },
    /// Not the code: this many tries left.
    Wrong {
        /// Tries left.
        attempts_left: u32,
    },
    /// No code waits for this browser: expired, used, tried too often, or
    /// never sent.
    Gone,
}

/// What a person may see, from the rota files.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Roles {
    /// They manage every service (`managers` under `[trust]`).
    pub trust_manager: bool,
    /// The services they manage (all of them for a trust manager).
    pub manages: BTreeSet<Id>,
    /// The services they have a part in: those they manage, and those
    /// whose levels name them or a rotation they are in.
    pub part_of: BTreeSet<Id>,
}

impl Roles {
    /// A person's roles in `rota`.
    pub fn of(rota: &Rota, person: &Id) -> Self {
        let mut roles = Roles {
            trust_manager: rota.trust_managers().contains(person),
            ..Roles::default()
        };
        for (ix, service) in rota.services().iter().enumerate() {
            if rota.manages(person, ix as u32) {
                roles.manages.insert(service.id.clone());
            }
            if rota.part_of(person, ix as u32) {
                roles.part_of.insert(service.id.clone());
            }
        }
        roles
    }

    /// Whether they manage any service.
    pub fn is_manager(&self) -> bool {
        self.trust_manager || !self.manages.is_empty()
    }

    /// Whether they may manage `service`.
    pub fn may_manage(&self, service: &str) -> bool {
        self.manages.iter().any(|s| s.as_str() == service)
    }

    /// Whether they have a part in `service`.
    pub fn part_of(&self, service: &str) -> bool {
        self.part_of.iter().any(|s| s.as_str() == service)
    }
}

/// Whether a stored session still holds at `now`.
pub fn session_live(session: &Session, now: Instant) -> bool {
    now < session.expires_at && now < session.last_seen + IDLE_EXPIRY
}

/// How a member of staff comes to a concern (what `Operations::access_to`
/// answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcernAccess {
    /// They were paged for it.
    Paged,
    /// It is a stranger's email kept for the in-hours team they are in:
    /// they may read it and resolve it, not accept or pass it (which
    /// would page someone).
    InHoursTeam,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::sessions::SignInMethod;

    #[test]
    fn codes_are_six_digits_and_tokens_do_not_repeat() {
        for _ in 0..100 {
            let code = new_code().unwrap();
            assert_eq!(code.len(), 6);
            assert!(code.chars().all(|c| c.is_ascii_digit()));
        }
        assert_ne!(new_token().unwrap(), new_token().unwrap());
        assert_eq!(new_token().unwrap().len(), 43);
    }

    #[test]
    fn a_client_is_counted_by_its_ipv4_address_or_its_ipv6_64() {
        let key = |s: &str| client_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.9"), "203.0.113.9");
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(key("2001:db8:1:2::7"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::1"), key("2001:db8:1:2::7"));
        assert_ne!(key("2001:db8:1:3::7"), key("2001:db8:1:2::7"));
    }

    #[test]
    fn a_code_hash_depends_on_the_browser_that_asked() {
        assert_eq!(code_hash("a", "123456"), code_hash("a", "123456"));
        assert_ne!(code_hash("a", "123456"), code_hash("b", "123456"));
        assert_ne!(code_hash("a", "123456"), code_hash("a", "123457"));
    }

    #[test]
    fn a_session_ends_when_idle_or_at_its_absolute_expiry() {
        let t0: Instant = "2026-11-27T09:00:00Z".parse().unwrap();
        let session = Session {
            hash: [0; 32],
            person: Id::parse("chen-li").unwrap(),
            method: SignInMethod::SmsCode,
            created_at: t0,
            last_seen: t0,
            expires_at: t0 + ABSOLUTE_EXPIRY,
        };
        assert!(session_live(
            &session,
            t0 + IDLE_EXPIRY - TimeDelta::seconds(1)
        ));
        assert!(!session_live(&session, t0 + IDLE_EXPIRY));
        let busy = Session {
            last_seen: t0 + ABSOLUTE_EXPIRY - TimeDelta::minutes(1),
            ..session
        };
        assert!(session_live(
            &busy,
            t0 + ABSOLUTE_EXPIRY - TimeDelta::seconds(1)
        ));
        assert!(!session_live(&busy, t0 + ABSOLUTE_EXPIRY));
    }
}
