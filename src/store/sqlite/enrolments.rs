//! Enrolments ([`Enrolments`]): reading and ending them, finding the active
//! ones by phone or email address, and whether a number has opted out.

use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::clock::Instant;
use crate::directory::Enrolments;
use crate::directory::{EmailAddress, Enrolment, EnrolmentId, NhsNumber, PhoneNumber};
use crate::store::codec::{
    ends_at_or_never, enrolment_from, enrolments_newest_first, from_json, instant, ms, to_json,
};
use crate::store_error::StoreResult;

impl SqliteStore {
    /// Active enrolments with this address (a phone or an email's index
    /// key, ADR 14), newest first.
    fn enrolments_at(&self, address: String, now: Instant) -> StoreResult<Vec<Enrolment>> {
        let rows: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT e.data FROM enrolment_phones p JOIN enrolments e ON e.id = p.enrolment_id
                 WHERE p.phone = ?1 AND e.ended_at IS NULL AND e.ends_at > ?2",
            )?;
            let rows = stmt.query_map(params![address, ms(now)], |r| r.get(0))?;
            rows.collect()
        })?;
        enrolments_newest_first(&rows)
    }
}

impl Enrolments for SqliteStore {
    fn enrolment(&self, id: EnrolmentId) -> StoreResult<Option<Enrolment>> {
        let row: Option<(String, Option<i64>)> = self.read(|c| {
            c.query_row(
                "SELECT data, ended_at FROM enrolments WHERE id = ?1",
                params![id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })?;
        row.map(|(data, ended_at)| enrolment_from(&data, ended_at.map(instant)))
            .transpose()
    }

    fn end_enrolment(&self, id: EnrolmentId, at: Instant) -> StoreResult<bool> {
        let at = ms(at);
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE enrolments SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL AND ends_at > ?2",
                params![id.to_string(), at],
            )?;
            Ok(changed == 1)
        })
    }

    fn enrolments_for_phone(
        &self,
        phone: &PhoneNumber,
        now: Instant,
    ) -> StoreResult<Vec<Enrolment>> {
        self.enrolments_at(phone.as_str().to_owned(), now)
    }

    fn enrolments_for_email(
        &self,
        email: &EmailAddress,
        now: Instant,
    ) -> StoreResult<Vec<Enrolment>> {
        self.enrolments_at(email.index_key(), now)
    }

    fn is_opted_out(&self, phone: &PhoneNumber) -> StoreResult<bool> {
        let v: Option<bool> = self.read(|c| {
            c.query_row(
                "SELECT opted_out FROM opt_outs WHERE phone = ?1",
                params![phone.as_str()],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(v.unwrap_or(false))
    }

    fn enrolments_for_nhs_number(&self, nhs: &NhsNumber) -> StoreResult<Vec<Enrolment>> {
        let rows: Vec<(String, Option<i64>)> = self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT data, ended_at FROM enrolments WHERE nhs_number = ?1")?;
            let rows = stmt.query_map(params![nhs.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })?;
        let mut list: Vec<Enrolment> = rows
            .iter()
            .map(|(data, ended_at)| {
                let mut e: Enrolment = from_json(data)?;
                e.ended_at = ended_at.map(instant);
                Ok(e)
            })
            .collect::<StoreResult<_>>()?;
        list.sort_by_key(|e| std::cmp::Reverse(e.began_at()));
        Ok(list)
    }

    fn revise_enrolment(&self, e: &Enrolment) -> StoreResult<bool> {
        let (id, data) = (e.id.to_string(), to_json(e)?);
        let ends = ms(ends_at_or_never(e));
        let ended = e.ended_at.map(ms);
        let nhs = e.nhs_number.as_ref().map(|n| n.as_str().to_owned());
        self.write(move |tx| {
            let changed = tx.execute(
                "UPDATE enrolments SET data = ?2, ends_at = ?3, ended_at = ?4, nhs_number = ?5 WHERE id = ?1",
                params![id, data, ends, ended, nhs],
            )?;
            Ok(changed == 1)
        })
    }
}
