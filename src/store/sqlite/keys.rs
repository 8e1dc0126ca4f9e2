//! Keys ([`Keys`]): API keys stored by hash, with their client, scopes,
//! expiry and revocation; the store's own secrets; and the online backup
//! of the database file.

use std::path::Path;

use rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::api_keys::ApiKey;
use crate::api_keys::Keys;
use crate::clock::Instant;
use crate::store::codec;
use crate::store::codec::{instant, invalid, ms, unavailable};
use crate::store_error::StoreResult;

/// Every API key's columns, as [`api_key_row`] reads them.
const API_KEYS: &str =
    "SELECT name, client, scopes, created_at, expires_at, revoked_at FROM api_keys";

/// One row of [`API_KEYS`].
type ApiKeyRow = (
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
);

fn api_key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKeyRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn api_key_from(row: ApiKeyRow) -> StoreResult<ApiKey> {
    let (name, client, scopes, created_at, expires_at, revoked_at) = row;
    codec::api_key_as_stored(
        name,
        client,
        scopes.as_deref(),
        instant(created_at),
        expires_at.map(instant),
        revoked_at.map(instant),
    )
}

impl Keys for SqliteStore {
    fn create_api_key(&self, key: &ApiKey, hash: [u8; 32]) -> StoreResult<()> {
        let key = key.clone();
        self.write(move |tx| {
            // The one writer makes this check and the insert one step.
            let taken: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM api_keys WHERE name = ?1)",
                params![key.name],
                |r| r.get(0),
            )?;
            if taken {
                return Err(invalid(format!(
                    "an API key named {:?} exists already",
                    key.name
                )));
            }
            tx.execute(
                "INSERT INTO api_keys (hash, name, created_at, client, scopes, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    &hash[..],
                    key.name,
                    ms(key.created_at),
                    key.client,
                    key.scopes.to_string(),
                    key.expires_at.map(ms),
                    key.revoked_at.map(ms),
                ],
            )?;
            Ok(())
        })
    }

    fn api_key(&self, hash: [u8; 32]) -> StoreResult<Option<ApiKey>> {
        let row = self.read(|c| {
            c.query_row(
                &format!("{API_KEYS} WHERE hash = ?1"),
                params![&hash[..]],
                api_key_row,
            )
            .optional()
        })?;
        row.map(api_key_from).transpose()
    }

    fn api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        let rows = self.read(|c| {
            let mut stmt = c.prepare(&format!("{API_KEYS} ORDER BY created_at, name"))?;
            let rows = stmt.query_map([], api_key_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter().map(api_key_from).collect()
    }

    fn revoke_api_key(&self, name: &str, at: Instant) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write(move |tx| {
            let revoked = tx.execute(
                "UPDATE api_keys SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
                params![name, ms(at)],
            )?;
            Ok(revoked > 0)
        })
    }

    fn backup(&self, to: &Path) -> StoreResult<()> {
        if to.exists() {
            return Err(unavailable(format!(
                "{} already exists: give a new file name",
                to.display()
            )));
        }
        let target = to
            .to_str()
            .ok_or_else(|| unavailable("the backup path is not valid UTF-8"))?
            .to_owned();
        // A read transaction sees one consistent snapshot, however busy the writer.
        self.read(|c| c.execute("VACUUM INTO ?1", params![target]).map(|_| ()))
    }

    fn secret(&self, name: &str) -> StoreResult<Vec<u8>> {
        let name = name.to_owned();
        let mut fresh = [0u8; 32];
        getrandom::getrandom(&mut fresh).map_err(unavailable)?;
        self.write(move |tx| {
            tx.execute(
                "INSERT OR IGNORE INTO secrets (name, value) VALUES (?1, ?2)",
                params![name, &fresh[..]],
            )?;
            Ok(tx.query_row(
                "SELECT value FROM secrets WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )?)
        })
    }
}
