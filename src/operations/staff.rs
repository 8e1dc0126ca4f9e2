//! Staff on the web, as operations: sending and checking sign-in codes,
//! sessions, the concerns a person may see, and calendar feed tokens.
//!
//! The rules (codes, limits, expiries, roles) are the `access` module's;
//! here they meet the store and the outbox. This lives with the
//! operations, not in `access`, so that `access` stays below them.

use std::net::IpAddr;

use crate::access::sessions::{CodeAttempt, CodeCheck, Session, SignInCode, SignInMethod};
use crate::access::{
    ABSOLUTE_EXPIRY, CODE_TTL, CodeRequest, ConcernAccess, Contact, FAILURE_WINDOW, MAX_ATTEMPTS,
    REQUEST_WINDOW, SignInOutcome, TOUCH_EVERY, client_key, code_hash, new_code, new_token,
    session_live, token_hash,
};
use crate::clock::Instant;
use crate::directory::{Id, Staff};
use crate::outbox::NewOutbox;
use crate::store;
use crate::store_error::StoreError;
use crate::timeline::Purpose;
use crate::work::Change;

use super::Operations;

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
            .map_err(|e| StoreError::Unavailable(crate::logs::Report(&e).to_string().into()))?;
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
            let attempt = CodeAttempt {
                challenge: hash,
                code,
                max_attempts: MAX_ATTEMPTS,
            };
            s.check_sign_in_code(attempt, now)
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
        let (_, ends) = store::codec::hit_window(now, FAILURE_WINDOW)?;
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
            .map_err(|e| StoreError::Unavailable(crate::logs::Report(&e).to_string().into()))?;
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
