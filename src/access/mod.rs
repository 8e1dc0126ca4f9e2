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
//!   ([`SignInMethod`]), so a sign-in through the trust's identity provider
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

use crate::access::sessions::{CodeCheck, Session, SignInCode, SignInMethod};
use crate::clock::Instant;
use crate::directory::{ContactMethod, Id, Staff};
use crate::operations::Operations;
use crate::outbox::NewOutbox;
use crate::rota::Rota;
use crate::store;
use crate::store_error::StoreError;
use crate::timeline::Purpose;
use crate::work::Change;

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
const TOUCH_EVERY: TimeDelta = TimeDelta::minutes(1);

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
    /// The limits a configuration sets; each must be at least 1.
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        let limits = Self {
            codes_per_number: config.sign_in_codes_per_number,
            codes_per_client: config.sign_in_codes_per_client,
            failures_per_day: config.sign_in_failures_per_day,
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
fn client_key(client: IpAddr) -> String {
    match client.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => ipnet::Ipv6Net::new(v6, 64)
            .map_or_else(|_| v6.to_string(), |net| net.trunc().to_string()),
    }
}

/// A change that texts `body` to `staff` at `phone`, through the outbox.
fn text_to_staff(
    staff: &Staff,
    phone: crate::directory::PhoneNumber,
    body: String,
    purpose: Purpose,
    now: Instant,
) -> Change {
    Change {
        at: now,
        outbox: vec![NewOutbox {
            concern: None,
            to: phone.into(),
            body,
            purpose,
            staff: Some(staff.id.clone()),
            recipient: staff.name.clone(),
            step: None,
        }],
        ..Change::default()
    }
}

/// The bucket a person's wrong codes are counted in.
fn failures_bucket(person: &Id) -> String {
    format!("sign-in:failed:{person}")
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
fn code_hash(challenge: &str, code: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(challenge.as_bytes()).expect("any key length");
    mac.update(code.as_bytes());
    mac.finalize().into_bytes().into()
}

/// A fresh six-digit code, uniformly drawn.
fn new_code() -> Result<String, StoreError> {
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

/// How a member of staff comes to a concern ([`Operations::access_to`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcernAccess {
    /// They were paged for it.
    Paged,
    /// It is a stranger's email kept for the in-hours team they are in:
    /// they may read it and resolve it, not accept or pass it (which
    /// would page someone).
    InHoursTeam,
}

impl Operations {
    /// Send a sign-in code to `contact` if it is a person's on the rota,
    /// for the browser holding `challenge`, unless `client` asked for too
    /// many, or for too many to that contact, or the person typed too many
    /// wrong codes today. The code goes out through the outbox, as every
    /// text does (retries and failover apply).
    pub async fn request_sign_in_code(
        &self,
        contact: Option<&Contact>,
        challenge: &str,
        client: IpAddr,
    ) -> Result<CodeRequest, StoreError> {
        let now = self.clock.now();
        let client = client_key(client);
        let client_bucket = format!("sign-in:client:{client}");
        // Counted by what was typed, before looking it up: a number not on
        // the rota is limited exactly as one that is. And counted with the
        // client: another client asking for her number does not use up the
        // owner's allowance.
        let contact_bucket =
            contact.map(|c| format!("sign-in:contact:{}:client:{client}", c.key()));
        let (client_hits, contact_hits) = store::blocking(&self.store, move |s| {
            let client_hits = s.count_hit(&client_bucket, now, REQUEST_WINDOW)?;
            let contact_hits = contact_bucket
                .map(|b| s.count_hit(&b, now, REQUEST_WINDOW))
                .transpose()?;
            Ok((client_hits, contact_hits))
        })
        .await?;
        if client_hits > self.sign_in.codes_per_client
            || contact_hits.is_some_and(|hits| hits > self.sign_in.codes_per_number)
        {
            tracing::info!("sign-in code withheld: too many asked for by one client");
            return Ok(CodeRequest::TooMany);
        }
        let Some((person, contact)) = contact.and_then(|c| {
            c.person(&self.rota.current())
                .map(|p| (p.clone(), c.clone()))
        }) else {
            return Ok(CodeRequest::NotSent);
        };
        if self.sign_in_paused(&person.id, now).await? {
            tracing::info!(staff = %person.id, "sign-in code withheld: too many wrong codes today");
            return Ok(CodeRequest::NotSent);
        }
        let phone = match contact {
            Contact::Phone(phone) if phone.can_text() => phone,
            // Email codes come with email (the outbox sends texts only);
            // a landline cannot take a text.
            Contact::Phone(_) | Contact::Email(_) => return Ok(CodeRequest::NotSent),
        };
        let code = new_code()?;
        let body = self
            .templates
            .render(
                "sms/sign_in_code.txt",
                minijinja::context! { code, minutes => CODE_TTL.num_minutes() },
            )
            .map_err(|e| StoreError::Unavailable(format!("{e:#}").into()))?;
        let stored = SignInCode {
            challenge: token_hash(challenge),
            person: person.id.clone(),
            code: code_hash(challenge, &code),
            method: SignInMethod::SmsCode,
            expires_at: now + CODE_TTL,
        };
        let change = text_to_staff(&person, phone, body, Purpose::SignInCode, now);
        store::blocking(&self.store, move |s| {
            s.put_sign_in_code(&stored)?;
            s.apply(change)
        })
        .await?;
        self.engine.wake();
        tracing::info!(staff = %person.id, "sign-in code sent");
        Ok(CodeRequest::Sent)
    }

    /// Try the code typed in the browser holding `challenge`; right, it
    /// makes a session.
    pub async fn sign_in_with_code(
        &self,
        challenge: &str,
        typed: &str,
    ) -> Result<SignInOutcome, StoreError> {
        let now = self.clock.now();
        let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        let (hash, code) = (token_hash(challenge), code_hash(challenge, &digits));
        let found = store::blocking(&self.store, move |s| {
            s.check_sign_in_code(hash, code, now, MAX_ATTEMPTS)
        })
        .await?;
        let code = match found {
            CodeCheck::Accepted(code) => code,
            CodeCheck::Wrong {
                attempts_left,
                person,
            } => return self.wrong_code(&person, attempts_left, now).await,
            CodeCheck::Gone => return Ok(SignInOutcome::Gone),
        };
        if self.sign_in_paused(&code.person, now).await? {
            tracing::info!(staff = %code.person, "sign-in refused: too many wrong codes today");
            return Ok(SignInOutcome::Gone);
        }
        // Someone removed from the rota since the code went is not let in.
        if self.rota.current().person(code.person.as_str()).is_none() {
            return Ok(SignInOutcome::Gone);
        }
        let token = self.start_session(&code.person, code.method).await?;
        tracing::info!(staff = %code.person, method = code.method.as_str(), "signed in");
        Ok(SignInOutcome::SignedIn {
            token,
            person: code.person,
        })
    }

    /// Whether `person` typed so many wrong codes today that none signs them in.
    async fn sign_in_paused(&self, person: &Id, now: Instant) -> Result<bool, StoreError> {
        let bucket = failures_bucket(person);
        let failures =
            store::blocking(&self.store, move |s| s.hits(&bucket, now, FAILURE_WINDOW)).await?;
        Ok(failures >= self.sign_in.failures_per_day)
    }

    /// Count a wrong code typed for `person`. The one that reaches the
    /// day's cap texts them (once: the count is atomic, so only one
    /// request sees it reached); from then on, the code is as good as gone.
    async fn wrong_code(
        &self,
        person: &Id,
        attempts_left: u32,
        now: Instant,
    ) -> Result<SignInOutcome, StoreError> {
        let bucket = failures_bucket(person);
        let failures = store::blocking(&self.store, move |s| {
            s.count_hit(&bucket, now, FAILURE_WINDOW)
        })
        .await?;
        let cap = self.sign_in.failures_per_day;
        if failures == cap {
            tracing::warn!(staff = %person, failures, "sign-in paused for the day: too many wrong codes");
            self.tell_sign_in_paused(person, now).await?;
        }
        if failures >= cap {
            return Ok(SignInOutcome::Gone);
        }
        Ok(SignInOutcome::Wrong { attempts_left })
    }

    /// Text `person` that their sign-in is paused until the day ends, and
    /// what to do, through the outbox to the first of their numbers that
    /// takes texts.
    async fn tell_sign_in_paused(&self, person: &Id, now: Instant) -> Result<(), StoreError> {
        let rota = self.rota.current();
        let Some(staff) = rota.person(person.as_str()) else {
            return Ok(());
        };
        let Some(phone) = staff
            .sms_numbers()
            .into_iter()
            .find(|n| n.can_text())
            .cloned()
        else {
            tracing::warn!(staff = %person, "sign-in paused, but they have no number that takes texts to tell them");
            return Ok(());
        };
        let (_, ends) = store::hit_window(now, FAILURE_WINDOW)?;
        let ends = Instant::from_timestamp_millis(ends).unwrap_or(now);
        let body = self
            .templates
            .render(
                "sms/sign_in_paused.txt",
                minijinja::context! {
                    failures => self.sign_in.failures_per_day,
                    until => ends
                        .with_timezone(&crate::calendar::LONDON)
                        .format("%H:%M on %A %-d %B")
                        .to_string(),
                },
            )
            .map_err(|e| StoreError::Unavailable(format!("{e:#}").into()))?;
        let change = text_to_staff(staff, phone, body, Purpose::StaffNotice, now);
        store::blocking(&self.store, move |s| s.apply(change)).await?;
        self.engine.wake();
        Ok(())
    }

    /// Make a session for `person`, who proved who they are by `method`:
    /// the token for their cookie.
    pub async fn start_session(
        &self,
        person: &Id,
        method: SignInMethod,
    ) -> Result<String, StoreError> {
        let now = self.clock.now();
        let token = new_token()?;
        let session = Session {
            hash: token_hash(&token),
            person: person.clone(),
            method,
            created_at: now,
            last_seen: now,
            expires_at: now + ABSOLUTE_EXPIRY,
        };
        store::blocking(&self.store, move |s| s.create_session(&session)).await?;
        Ok(token)
    }

    /// The live session a cookie's token names, noting its use; an expired
    /// one is deleted and `None`. A person no longer on the rota has no
    /// session.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, StoreError> {
        let now = self.clock.now();
        let hash = token_hash(token);
        let Some(session) = store::blocking(&self.store, move |s| s.session(hash)).await? else {
            return Ok(None);
        };
        if !session_live(&session, now)
            || self
                .rota
                .current()
                .person(session.person.as_str())
                .is_none()
        {
            store::blocking(&self.store, move |s| s.delete_session(hash)).await?;
            return Ok(None);
        }
        if now - session.last_seen >= TOUCH_EVERY {
            store::blocking(&self.store, move |s| s.touch_session(hash, now)).await?;
        }
        Ok(Some(session))
    }

    /// End the session a cookie's token names.
    pub async fn sign_out(&self, token: &str) -> Result<(), StoreError> {
        let hash = token_hash(token);
        store::blocking(&self.store, move |s| s.delete_session(hash)).await
    }

    /// The concerns `person` was paged for (and so may hold), open or
    /// closed since `closed_since`, newest first, each with its page and
    /// the enrolment it is about.
    pub async fn concerns_of(
        &self,
        person: &Id,
        closed_since: Instant,
    ) -> Result<
        Vec<(
            crate::concern::Page,
            crate::concern::Concern,
            Option<crate::directory::Enrolment>,
        )>,
        StoreError,
    > {
        let person = person.clone();
        store::blocking(&self.store, move |s| {
            let mut out = Vec::new();
            for page in s.pages_for(&person, closed_since)? {
                let Some(concern) = s.concern(page.concern)? else {
                    continue;
                };
                let enrolment = match concern.enrolment {
                    Some(e) => s.enrolment(e)?,
                    None => None,
                };
                out.push((page, concern, enrolment));
            }
            out.sort_by_key(|c| std::cmp::Reverse(c.1.opened_at));
            Ok(out)
        })
        .await
    }

    /// Whether `person` was paged for `concern` (and so may see and act on it).
    pub async fn was_paged(
        &self,
        concern: crate::concern::ConcernId,
        person: &Id,
    ) -> Result<bool, StoreError> {
        Ok(self.code_for(concern, person).await?.is_some())
    }

    /// How `person` may come to a concern on their staff pages, if at
    /// all: paged for it (to act on it as a page lets them), or, for a
    /// stranger's email, which pages nobody (docs/adr/0022), as one of the
    /// in-hours team of the service it is kept for (to read and resolve it).
    pub async fn access_to(
        &self,
        concern: crate::concern::ConcernId,
        person: &Id,
    ) -> Result<Option<ConcernAccess>, StoreError> {
        if self.was_paged(concern, person).await? {
            return Ok(Some(ConcernAccess::Paged));
        }
        let Some(c) = store::blocking(&self.store, move |s| s.concern(concern)).await? else {
            return Ok(None);
        };
        let rota = self.rota.current();
        let in_team = c
            .recognised
            .is_some_and(crate::concern::Recognised::pages_nobody)
            && c.service
                .as_ref()
                .and_then(|s| rota.service(s.as_str()))
                .is_some_and(|ix| rota.part_of(person, ix));
        Ok(in_team.then_some(ConcernAccess::InHoursTeam))
    }

    /// Make `person` a new calendar feed token (revoking any earlier one):
    /// the token, to put in the feed's URL.
    pub async fn new_calendar_token(&self, person: &Id) -> Result<String, StoreError> {
        let (person, now) = (person.clone(), self.clock.now());
        let token = new_token()?;
        let hash = token_hash(&token);
        store::blocking(&self.store, move |s| {
            s.set_calendar_token(&person, Some(hash), now)
        })
        .await?;
        Ok(token)
    }

    /// Revoke `person`'s calendar feed token: its URL stops working.
    pub async fn revoke_calendar_token(&self, person: &Id) -> Result<(), StoreError> {
        let (person, now) = (person.clone(), self.clock.now());
        store::blocking(&self.store, move |s| {
            s.set_calendar_token(&person, None, now)
        })
        .await
    }

    /// When `person`'s calendar feed token was made, if they have one.
    pub async fn calendar_token_made(&self, person: &Id) -> Result<Option<Instant>, StoreError> {
        let person = person.clone();
        store::blocking(&self.store, move |s| s.calendar_token_made(&person)).await
    }

    /// Whose calendar feed a token opens, if it is a live one of a person
    /// still on the rota.
    pub async fn calendar_owner(&self, token: &str) -> Result<Option<Id>, StoreError> {
        let hash = token_hash(token);
        let person = store::blocking(&self.store, move |s| s.calendar_person(hash)).await?;
        Ok(person.filter(|p| self.rota.current().person(p.as_str()).is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
