//! Staff on the web, on Redis: sign-in codes, request counts, sessions and
//! calendar feed tokens.

use super::plan::{corrupt, instant, ms};
use chrono::TimeDelta;

use super::scripts;
use super::{RedisStore, args, hex};
use crate::access::sessions::StaffWeb;
use crate::access::sessions::{CodeAttempt, CodeCheck, Session, SignInCode, SignInMethod};
use crate::clock::Instant;
use crate::directory::Id;
use crate::store::codec::SIGN_IN_CODE_KEPT_MS;
use crate::store_error::StoreResult;

impl StaffWeb for RedisStore {
    fn put_sign_in_code(&self, code: &SignInCode) -> StoreResult<()> {
        self.script::<String>(
            &scripts::PUT_SIGN_IN_CODE,
            args([
                &hex(&code.challenge),
                &code.person.as_str(),
                &hex(&code.code),
                &code.method.as_str(),
                &ms(code.expires_at),
                &SIGN_IN_CODE_KEPT_MS.to_string(),
            ]),
        )
        .map(|_| ())
    }

    fn check_sign_in_code(&self, attempt: CodeAttempt, now: Instant) -> StoreResult<CodeCheck> {
        let (challenge, code) = (attempt.challenge, attempt.code);
        let max_attempts = attempt.max_attempts;
        let row: Vec<String> = self.script(
            &scripts::CHECK_SIGN_IN_CODE,
            args([
                &hex(&challenge),
                &hex(&code),
                &ms(now),
                &max_attempts.to_string(),
            ]),
        )?;
        match row.as_slice() {
            [gone] if gone == "gone" => Ok(CodeCheck::Gone),
            [wrong, left, person] if wrong == "wrong" => Ok(CodeCheck::Wrong {
                attempts_left: left.parse().map_err(corrupt)?,
                person: Id::parse(person).map_err(corrupt)?,
            }),
            [ok, person, method, expires] if ok == "ok" => Ok(CodeCheck::Accepted(SignInCode {
                challenge,
                person: Id::parse(person).map_err(corrupt)?,
                code,
                method: SignInMethod::parse(method)
                    .ok_or_else(|| corrupt(format!("unknown sign-in method {method:?}")))?,
                expires_at: instant(expires)?,
            })),
            _ => Err(corrupt("a sign-in code check of the wrong shape")),
        }
    }

    fn count_hit(&self, bucket: &str, now: Instant, window: TimeDelta) -> StoreResult<u32> {
        let (start, end) = crate::store::codec::hit_window(now, window)?;
        self.script(
            &scripts::COUNT_HIT,
            args([&bucket, &start.to_string(), &end.to_string(), &ms(now)]),
        )
    }

    fn hits(&self, bucket: &str, now: Instant, window: TimeDelta) -> StoreResult<u32> {
        let (start, _) = crate::store::codec::hit_window(now, window)?;
        let hits: Option<u32> = self.command(
            redis::cmd("HGET")
                .arg(self.key(&["hits", &format!("{bucket}|{start}")]))
                .arg("n")
                .clone(),
        )?;
        Ok(hits.unwrap_or(0))
    }

    fn create_session(&self, session: &Session) -> StoreResult<()> {
        self.script::<String>(
            &scripts::CREATE_SESSION,
            args([
                &hex(&session.hash),
                &session.person.as_str(),
                &session.method.as_str(),
                &ms(session.created_at),
                &ms(session.last_seen),
                &ms(session.expires_at),
            ]),
        )
        .map(|_| ())
    }

    fn session(&self, hash: [u8; 32]) -> StoreResult<Option<Session>> {
        let f: Vec<Option<String>> = self.command(
            redis::cmd("HMGET")
                .arg(self.key(&["session", &hex(&hash)]))
                .arg(&["person", "method", "created", "seen", "expires"])
                .clone(),
        )?;
        let [
            Some(person),
            Some(method),
            Some(created),
            Some(seen),
            Some(expires),
        ] = f.as_slice()
        else {
            return Ok(None);
        };
        Ok(Some(Session {
            hash,
            person: Id::parse(person).map_err(corrupt)?,
            method: SignInMethod::parse(method)
                .ok_or_else(|| corrupt(format!("unknown sign-in method {method:?}")))?,
            created_at: instant(created)?,
            last_seen: instant(seen)?,
            expires_at: instant(expires)?,
        }))
    }

    fn touch_session(&self, hash: [u8; 32], at: Instant) -> StoreResult<()> {
        self.script::<String>(&scripts::TOUCH_SESSION, args([&hex(&hash), &ms(at)]))
            .map(|_| ())
    }

    fn delete_session(&self, hash: [u8; 32]) -> StoreResult<()> {
        self.script::<String>(&scripts::DELETE_SESSION, args([&hex(&hash)]))
            .map(|_| ())
    }

    fn set_calendar_token(
        &self,
        person: &Id,
        hash: Option<[u8; 32]>,
        at: Instant,
    ) -> StoreResult<()> {
        let hash = hash.map(|h| hex(&h)).unwrap_or_default();
        self.script::<String>(
            &scripts::SET_CALENDAR_TOKEN,
            args([&person.as_str(), &hash, &ms(at)]),
        )
        .map(|_| ())
    }

    fn calendar_person(&self, hash: [u8; 32]) -> StoreResult<Option<Id>> {
        let person: Option<String> = self.hget(&["cal", "by-hash"], &hex(&hash))?;
        person.map(|p| Id::parse(&p).map_err(corrupt)).transpose()
    }

    fn calendar_token_made(&self, person: &Id) -> StoreResult<Option<Instant>> {
        let at: Option<String> = self.hget(&["cal", "made"], person.as_str())?;
        at.map(|t| instant(&t)).transpose()
    }
}
