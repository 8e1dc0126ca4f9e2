//! Staff on the web ([`StaffWeb`]): sign-in codes, sessions, calendar
//! tokens and the counts that slow repeated sign-in attempts.

use chrono::TimeDelta;
use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::access::sessions::StaffWeb;
use crate::access::sessions::{CodeAttempt, CodeCheck, Session, SignInCode, SignInMethod};
use crate::clock::Instant;
use crate::directory::Id;
use crate::store::codec;
use crate::store::codec::{SIGN_IN_CODE_KEPT_MS, corrupt, instant, ms};
use crate::store_error::StoreResult;

impl StaffWeb for SqliteStore {
    fn put_sign_in_code(&self, code: &SignInCode) -> StoreResult<()> {
        let code = code.clone();
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM sign_in_codes WHERE expires_at < ?1",
                params![ms(code.expires_at) - SIGN_IN_CODE_KEPT_MS],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO sign_in_codes (challenge, person, code, method, expires_at, attempts)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0)",
                params![
                    &code.challenge[..],
                    code.person.as_str(),
                    &code.code[..],
                    code.method.as_str(),
                    ms(code.expires_at)
                ],
            )?;
            Ok(())
        })
    }

    fn check_sign_in_code(&self, attempt: CodeAttempt, now: Instant) -> StoreResult<CodeCheck> {
        let (challenge, code) = (attempt.challenge, attempt.code);
        let max_attempts = attempt.max_attempts;
        self.write(move |tx| {
            let row: Option<(String, Vec<u8>, String, i64, u32)> = tx
                .query_row(
                    "SELECT person, code, method, expires_at, attempts FROM sign_in_codes WHERE challenge = ?1",
                    params![&challenge[..]],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()?;
            let Some((person, stored, method, expires_at, attempts)) = row else {
                return Ok(CodeCheck::Gone);
            };
            if expires_at <= ms(now) || attempts >= max_attempts {
                tx.execute("DELETE FROM sign_in_codes WHERE challenge = ?1", params![&challenge[..]])?;
                return Ok(CodeCheck::Gone);
            }
            if stored != code {
                let attempts = attempts + 1;
                if attempts >= max_attempts {
                    tx.execute("DELETE FROM sign_in_codes WHERE challenge = ?1", params![&challenge[..]])?;
                } else {
                    tx.execute(
                        "UPDATE sign_in_codes SET attempts = ?2 WHERE challenge = ?1",
                        params![&challenge[..], attempts],
                    )?;
                }
                return Ok(CodeCheck::Wrong {
                    attempts_left: max_attempts - attempts,
                    person: Id::parse(&person).map_err(corrupt)?,
                });
            }
            tx.execute("DELETE FROM sign_in_codes WHERE challenge = ?1", params![&challenge[..]])?;
            Ok(CodeCheck::Accepted(SignInCode {
                challenge,
                person: Id::parse(&person).map_err(corrupt)?,
                code,
                method: SignInMethod::parse(&method)
                    .ok_or_else(|| corrupt(format!("unknown sign-in method {method:?}")))?,
                expires_at: instant(expires_at),
            }))
        })
    }

    fn count_hit(&self, bucket: &str, now: Instant, window: TimeDelta) -> StoreResult<u32> {
        let (start, end) = codec::hit_window(now, window)?;
        let bucket = bucket.to_owned();
        self.write(move |tx| {
            tx.execute("DELETE FROM hit_counts WHERE window_end <= ?1", params![ms(now)])?;
            Ok(tx.query_row(
                "INSERT INTO hit_counts (bucket, window_start, window_end, hits) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (bucket, window_start) DO UPDATE SET hits = hits + 1
                 RETURNING hits",
                params![bucket, start, end],
                |r| r.get(0),
            )?)
        })
    }

    fn hits(&self, bucket: &str, now: Instant, window: TimeDelta) -> StoreResult<u32> {
        let (start, end) = codec::hit_window(now, window)?;
        let bucket = bucket.to_owned();
        let hits: Option<u32> = self.read(move |c| {
            c.query_row(
                "SELECT hits FROM hit_counts WHERE bucket = ?1 AND window_start = ?2 AND window_end = ?3",
                params![bucket, start, end],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(hits.unwrap_or(0))
    }

    fn create_session(&self, session: &Session) -> StoreResult<()> {
        let s = session.clone();
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM sessions WHERE expires_at <= ?1",
                params![ms(s.created_at)],
            )?;
            tx.execute(
                "INSERT INTO sessions (hash, person, method, created_at, last_seen, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    &s.hash[..],
                    s.person.as_str(),
                    s.method.as_str(),
                    ms(s.created_at),
                    ms(s.last_seen),
                    ms(s.expires_at)
                ],
            )?;
            Ok(())
        })
    }

    fn session(&self, hash: [u8; 32]) -> StoreResult<Option<Session>> {
        let row: Option<(String, String, i64, i64, i64)> = self.read(|c| {
            c.query_row(
                "SELECT person, method, created_at, last_seen, expires_at FROM sessions WHERE hash = ?1",
                params![&hash[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
        })?;
        row.map(|(person, method, created_at, last_seen, expires_at)| {
            Ok(Session {
                hash,
                person: Id::parse(&person).map_err(corrupt)?,
                method: SignInMethod::parse(&method)
                    .ok_or_else(|| corrupt(format!("unknown sign-in method {method:?}")))?,
                created_at: instant(created_at),
                last_seen: instant(last_seen),
                expires_at: instant(expires_at),
            })
        })
        .transpose()
    }

    fn touch_session(&self, hash: [u8; 32], at: Instant) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE sessions SET last_seen = MAX(last_seen, ?2) WHERE hash = ?1",
                params![&hash[..], ms(at)],
            )?;
            Ok(())
        })
    }

    fn delete_session(&self, hash: [u8; 32]) -> StoreResult<()> {
        self.write(move |tx| {
            tx.execute("DELETE FROM sessions WHERE hash = ?1", params![&hash[..]])?;
            Ok(())
        })
    }

    fn set_calendar_token(
        &self,
        person: &Id,
        hash: Option<[u8; 32]>,
        at: Instant,
    ) -> StoreResult<()> {
        let person = person.clone();
        self.write(move |tx| {
            tx.execute(
                "DELETE FROM calendar_tokens WHERE person = ?1",
                params![person.as_str()],
            )?;
            if let Some(hash) = hash {
                tx.execute(
                    "INSERT INTO calendar_tokens (person, hash, created_at) VALUES (?1, ?2, ?3)",
                    params![person.as_str(), &hash[..], ms(at)],
                )?;
            }
            Ok(())
        })
    }

    fn calendar_person(&self, hash: [u8; 32]) -> StoreResult<Option<Id>> {
        let person: Option<String> = self.read(|c| {
            c.query_row(
                "SELECT person FROM calendar_tokens WHERE hash = ?1",
                params![&hash[..]],
                |r| r.get(0),
            )
            .optional()
        })?;
        person.map(|p| Id::parse(&p).map_err(corrupt)).transpose()
    }

    fn calendar_token_made(&self, person: &Id) -> StoreResult<Option<Instant>> {
        let person = person.as_str().to_owned();
        let at: Option<i64> = self.read(|c| {
            c.query_row(
                "SELECT created_at FROM calendar_tokens WHERE person = ?1",
                params![person],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(at.map(instant))
    }
}
