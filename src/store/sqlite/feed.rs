//! The EPR feed ([`Feed`]) on SQLite: each message with its answer, keyed
//! by sender and MSH-10, and each person as the feed describes them.

use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::clock::Instant;
use crate::directory::NhsNumber;
use crate::hl7::{Feed, FeedMessage, Person};
use crate::store::codec::{from_json, ms, to_json};
use crate::store_error::StoreResult;

impl Feed for SqliteStore {
    fn feed_message(&self, sender: &str, control_id: &str) -> StoreResult<Option<FeedMessage>> {
        let (sender, control_id) = (sender.to_owned(), control_id.to_owned());
        let row: Option<String> = self.read(|c| {
            c.query_row(
                "SELECT data FROM feed_messages WHERE sender = ?1 AND control_id = ?2",
                params![sender, control_id],
                |r| r.get(0),
            )
            .optional()
        })?;
        row.map(|data| from_json(&data)).transpose()
    }

    fn record_feed_message(&self, message: &FeedMessage) -> StoreResult<()> {
        let data = to_json(message)?;
        let (sender, id, at) = (
            message.sender.clone(),
            message.control_id.clone(),
            ms(message.received_at),
        );
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO feed_messages (sender, control_id, received_at, data) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (sender, control_id) DO UPDATE SET received_at = ?3, data = ?4",
                params![sender, id, at, data],
            )?;
            Ok(())
        })
    }

    fn feed_messages(
        &self,
        before: Option<Instant>,
        limit: usize,
    ) -> StoreResult<Vec<FeedMessage>> {
        let before = before.map_or(i64::MAX, ms);
        let rows: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT data FROM feed_messages WHERE received_at < ?1
                 ORDER BY received_at DESC, rowid DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![before, limit as i64], |r| r.get(0))?;
            rows.collect()
        })?;
        rows.iter().map(|r| from_json(r)).collect()
    }

    fn person(&self, nhs_number: &NhsNumber) -> StoreResult<Option<Person>> {
        let nhs = nhs_number.as_str().to_owned();
        let row: Option<String> = self.read(|c| {
            c.query_row(
                "SELECT data FROM feed_people WHERE nhs_number = ?1",
                params![nhs],
                |r| r.get(0),
            )
            .optional()
        })?;
        row.map(|data| from_json(&data)).transpose()
    }

    fn keep_person(&self, person: &Person) -> StoreResult<()> {
        let (nhs, data) = (person.nhs_number.as_str().to_owned(), to_json(person)?);
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO feed_people (nhs_number, data) VALUES (?1, ?2)
                 ON CONFLICT (nhs_number) DO UPDATE SET data = ?2",
                params![nhs, data],
            )?;
            Ok(())
        })
    }

    fn forget_person(&self, nhs_number: &NhsNumber) -> StoreResult<bool> {
        let nhs = nhs_number.as_str().to_owned();
        self.write(move |tx| {
            let gone = tx.execute(
                "DELETE FROM feed_people WHERE nhs_number = ?1",
                params![nhs],
            )?;
            Ok(gone == 1)
        })
    }
}
