//! Staff on the web, as stored: a sign-in code waiting to be typed in, a
//! session, and how someone signed in. Hashes only: the codes and tokens
//! themselves are never stored.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::clock::Instant;
use crate::directory::Id;
use crate::store_error::StoreResult;

/// How someone proved who they are when they signed in. A sign-in through
/// the trust's identity provider (OpenID Connect) would be one more kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// A one-time code texted to a phone the rota files hold.
    SmsCode,
    /// A one-time code emailed to an address the rota files hold.
    EmailCode,
}

impl SignInMethod {
    /// Its name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::SmsCode => "sms_code",
            SignInMethod::EmailCode => "email_code",
        }
    }

    /// The method a stored name stands for.
    pub fn parse(s: &str) -> Option<Self> {
        [SignInMethod::SmsCode, SignInMethod::EmailCode]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// A one-time sign-in code waiting to be typed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInCode {
    /// The hash of the challenge token the browser that asked holds.
    pub challenge: [u8; 32],
    /// Whom it signs in.
    pub person: Id,
    /// The hash of the code (keyed by the challenge token).
    pub code: [u8; 32],
    /// How it was sent.
    pub method: SignInMethod,
    /// When it stops working.
    pub expires_at: Instant,
}

/// A typed sign-in code, as [`StaffWeb::check_sign_in_code`] tries it.
/// Named fields, because the challenge and the code are both hashes and
/// must not be swapped.
#[derive(Debug, Clone, Copy)]
pub struct CodeAttempt {
    /// The hash of the challenge the code was sent for.
    pub challenge: [u8; 32],
    /// The hash of the code as typed ([`SignInCode::code`]'s form).
    pub code: [u8; 32],
    /// How many wrong codes end the challenge.
    pub max_attempts: u32,
}

/// What trying a sign-in code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    /// The right code, in time: it is used up.
    Accepted(SignInCode),
    /// Not the code; this many more tries are left (0: it is gone).
    Wrong {
        /// Tries left before the code is deleted.
        attempts_left: u32,
        /// Whom the code was for (wrong codes are counted per person too).
        person: Id,
    },
    /// No such code waits: expired, used, tried too often, or never made.
    Gone,
}

/// A signed-in person's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The hash of the session token in the browser's cookie.
    pub hash: [u8; 32],
    /// Who signed in.
    pub person: Id,
    /// How they proved it.
    pub method: SignInMethod,
    /// When they signed in.
    pub created_at: Instant,
    /// When it was last used.
    pub last_seen: Instant,
    /// When it ends however busy it is (the store may delete it then).
    pub expires_at: Instant,
}

/// Staff on the web (hashes only: the codes and tokens themselves are
/// never stored): sign-in codes, request counts for rate limits, sessions,
/// and calendar feed tokens. Every method blocks.
pub trait StaffWeb: Send + Sync + 'static {
    /// Store a sign-in code waiting to be typed in (replacing one with the
    /// same challenge). Codes past their expiry may be deleted on the way.
    fn put_sign_in_code(&self, code: &SignInCode) -> StoreResult<()>;
    /// Try the code whose hash is `attempt.code` against the challenge
    /// `attempt.challenge`, at `now`, in one atomic step: the right code, in
    /// time, is deleted and returned (it works once); a wrong one counts an
    /// attempt, and the code is deleted at `attempt.max_attempts` wrong
    /// ones; an expired or unknown challenge is [`CodeCheck::Gone`].
    fn check_sign_in_code(&self, attempt: CodeAttempt, now: Instant) -> StoreResult<CodeCheck>;
    /// Count one request against `bucket` in the fixed window of length
    /// `window` that `now` falls in, and answer how many that window now
    /// holds (this one included). Every node shares the counts.
    fn count_hit(&self, bucket: &str, now: Instant, window: TimeDelta) -> StoreResult<u32>;
    /// How many requests `bucket` holds in the fixed window of length
    /// `window` that `now` falls in, counting none (0 if none were).
    fn hits(&self, bucket: &str, now: Instant, window: TimeDelta) -> StoreResult<u32>;
    /// Store a new session.
    fn create_session(&self, session: &Session) -> StoreResult<()>;
    /// The session whose token hashes to `hash`, if stored (expired or not:
    /// the caller judges expiry).
    fn session(&self, hash: [u8; 32]) -> StoreResult<Option<Session>>;
    /// Note that a session was used at `at` (its idle expiry counts from there).
    fn touch_session(&self, hash: [u8; 32], at: Instant) -> StoreResult<()>;
    /// Delete a session (signing out, or found expired).
    fn delete_session(&self, hash: [u8; 32]) -> StoreResult<()>;
    /// Give `person` a calendar feed token (its hash), replacing any they
    /// had, or with `None` revoke theirs.
    fn set_calendar_token(
        &self,
        person: &Id,
        hash: Option<[u8; 32]>,
        at: Instant,
    ) -> StoreResult<()>;
    /// Whose calendar feed token hashes to `hash`.
    fn calendar_person(&self, hash: [u8; 32]) -> StoreResult<Option<Id>>;
    /// When `person`'s current calendar feed token was made, if they have one.
    fn calendar_token_made(&self, person: &Id) -> StoreResult<Option<Instant>>;
}
