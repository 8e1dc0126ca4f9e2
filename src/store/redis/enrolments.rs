//! Enrolments on Redis: one by id, the active ones at an address, ending
//! one, and opt-outs.

use super::plan::{instant, json, ms};

use super::scripts;
use super::{RedisStore, args};
use crate::clock::Instant;
use crate::directory::Enrolments;
use crate::directory::{EmailAddress, Enrolment, EnrolmentId, NhsNumber, PhoneNumber};
use crate::store::codec::{ends_at_or_never, enrolment_from, enrolments_newest_first, never};
use crate::store_error::StoreResult;

impl RedisStore {
    /// Active enrolments with this address (a phone or an email's index
    /// key, ADR 14), newest first.
    fn enrolments_at(&self, address: &str, now: Instant) -> StoreResult<Vec<Enrolment>> {
        let rows: Vec<String> =
            self.script(&scripts::ENROLMENTS_FOR_PHONE, args([&address, &ms(now)]))?;
        enrolments_newest_first(&rows)
    }
}

impl Enrolments for RedisStore {
    fn enrolment(&self, id: EnrolmentId) -> StoreResult<Option<Enrolment>> {
        let (data, ended): (Option<String>, Option<String>) = self.command(
            redis::cmd("HMGET")
                .arg(self.key(&["e", &id.to_string()]))
                .arg("data")
                .arg("ended")
                .clone(),
        )?;
        data.map(|data| enrolment_from(&data, ended.as_deref().map(instant).transpose()?))
            .transpose()
    }

    fn end_enrolment(&self, id: EnrolmentId, at: Instant) -> StoreResult<bool> {
        let ended: i64 = self.script(&scripts::END_ENROLMENT, args([&id.to_string(), &ms(at)]))?;
        Ok(ended == 1)
    }

    fn enrolments_for_phone(
        &self,
        phone: &PhoneNumber,
        now: Instant,
    ) -> StoreResult<Vec<Enrolment>> {
        self.enrolments_at(phone.as_str(), now)
    }

    fn enrolments_for_email(
        &self,
        email: &EmailAddress,
        now: Instant,
    ) -> StoreResult<Vec<Enrolment>> {
        self.enrolments_at(&email.index_key(), now)
    }

    fn is_opted_out(&self, phone: &PhoneNumber) -> StoreResult<bool> {
        let flag: Option<String> = self.hget(&["opt-out"], phone.as_str())?;
        Ok(flag.as_deref() == Some("1"))
    }

    fn enrolments_for_nhs_number(&self, nhs: &NhsNumber) -> StoreResult<Vec<Enrolment>> {
        let rows: Vec<String> =
            self.script(&scripts::ENROLMENTS_FOR_NHS_NUMBER, args([&nhs.as_str()]))?;
        let mut list: Vec<Enrolment> = rows
            .chunks(2)
            .map(|pair| {
                let ended = pair.get(1).filter(|t| !t.is_empty());
                enrolment_from(&pair[0], ended.map(|t| instant(t)).transpose()?)
            })
            .collect::<StoreResult<_>>()?;
        list.sort_by_key(|e| std::cmp::Reverse(e.began_at()));
        Ok(list)
    }

    fn revise_enrolment(&self, e: &Enrolment) -> StoreResult<bool> {
        let ends = ms(e.ends_at.unwrap_or_else(never));
        let score = ms(ends_at_or_never(e));
        let ended = e.ended_at.map(ms).unwrap_or_default();
        let nhs = e.nhs_number.as_ref().map_or("", |n| n.as_str());
        let revised: i64 = self.script(
            &scripts::REVISE_ENROLMENT,
            args([&e.id.to_string(), &json(e)?, &ends, &score, &ended, &nhs]),
        )?;
        Ok(revised == 1)
    }
}
