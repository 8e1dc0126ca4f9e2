//! The EPR feed ([`Feed`]) on Redis: each message with its answer under
//! its sender and MSH-10, listed by when it came; each person in one hash
//! by NHS number.

use super::plan::{json, ms};
use super::scripts;
use super::{RedisStore, args, from_json};
use crate::clock::Instant;
use crate::directory::NhsNumber;
use crate::hl7::{Feed, FeedMessage, Person};
use crate::store_error::StoreResult;

/// A message's place in `feed:m:…`: its sender and MSH-10, which no
/// segment of a message can hold a newline between.
fn sender_and_id(sender: &str, control_id: &str) -> String {
    format!("{sender}\n{control_id}")
}

impl Feed for RedisStore {
    fn feed_message(&self, sender: &str, control_id: &str) -> StoreResult<Option<FeedMessage>> {
        let data: Option<String> =
            self.hget(&["feed", "m", &sender_and_id(sender, control_id)], "data")?;
        data.map(|d| from_json(&d)).transpose()
    }

    fn record_feed_message(&self, message: &FeedMessage) -> StoreResult<()> {
        let _: i64 = self.script(
            &scripts::RECORD_FEED_MESSAGE,
            args([
                &sender_and_id(&message.sender, &message.control_id),
                &ms(message.received_at),
                &json(message)?,
            ]),
        )?;
        Ok(())
    }

    fn feed_messages(
        &self,
        before: Option<Instant>,
        limit: usize,
    ) -> StoreResult<Vec<FeedMessage>> {
        let before = before.map_or_else(|| "+inf".to_owned(), ms);
        let rows: Vec<String> =
            self.script(&scripts::FEED_MESSAGES, args([&before, &limit.to_string()]))?;
        rows.iter().map(|r| from_json(r)).collect()
    }

    fn person(&self, nhs_number: &NhsNumber) -> StoreResult<Option<Person>> {
        let data: Option<String> = self.hget(&["feed", "people"], nhs_number.as_str())?;
        data.map(|d| from_json(&d)).transpose()
    }

    fn keep_person(&self, person: &Person) -> StoreResult<()> {
        let _: i64 = self.command(
            redis::cmd("HSET")
                .arg(self.key(&["feed", "people"]))
                .arg(person.nhs_number.as_str())
                .arg(json(person)?)
                .clone(),
        )?;
        Ok(())
    }

    fn forget_person(&self, nhs_number: &NhsNumber) -> StoreResult<bool> {
        let gone: i64 = self.command(
            redis::cmd("HDEL")
                .arg(self.key(&["feed", "people"]))
                .arg(nhs_number.as_str())
                .clone(),
        )?;
        Ok(gone == 1)
    }
}
