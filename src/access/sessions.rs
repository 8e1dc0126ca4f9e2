//! Staff on the web, as stored: a sign-in code waiting to be typed in, a
//! session, and how someone signed in. Hashes only: the codes and tokens
//! themselves are never stored.

use serde::{Deserialize, Serialize};

use crate::clock::Instant;
use crate::directory::Id;

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
