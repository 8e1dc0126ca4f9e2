//! The store: everything Nightingale must not lose, at the edge of the domain.
//!
//! The domain owns its vocabulary and its ports, one by noun, as GoAlert
//! splits its storage (docs/adr/0028): [`WorkQueue`] in `work`,
//! [`Concerns`] in `concern`, [`Enrolments`] in `directory`, [`StaffWeb`]
//! in `access::sessions`, [`RotaLayer`] in `rota::layer`, [`Keys`] in
//! `api_keys` and [`Reports`] in `reports`. This module imports the domain;
//! nothing in the domain imports it. Each backend implements every port
//! ([`sqlite::SqliteStore`], the default, and [`redis::RedisStore`]);
//! [`Store`] is all of them at once, for the layers above the domain
//! (engine, operations, the HTTP layer, the application and the demo).
//! What both backends write and read alike (instants as ms, JSON, the
//! rules for stored rows that must read the same) is in `codec`, once.
//!
//! Methods block (they do disk I/O); async callers run them on the blocking
//! pool (see [`blocking`]).
//!
//! The contract holds for several nodes sharing one store (docs/adr/0007):
//! work (inbound items, due timers, outbox items) is *claimed* for a lease
//! and carries a fencing token; [`WorkQueue::apply`] writes a change only
//! while its claim is still the work's current one and the concern it
//! carries is still the version that was read, and answers
//! [`StoreError::Conflict`] otherwise; a page code is reserved in one atomic
//! step ([`Concerns::reserve_code`]). `conformance` holds the cases every
//! backend must pass.

pub(crate) mod codec;
pub mod redis;
pub mod sqlite;

use std::sync::Arc;

use crate::access::sessions::StaffWeb;
use crate::api_keys::Keys;
use crate::concern::Concerns;
use crate::directory::Enrolments;
use crate::hl7::Feed;
use crate::reports::Reports;
use crate::rota::layer::RotaLayer;
use crate::store_error::{StoreError, StoreResult};
use crate::work::WorkQueue;

/// The whole store: every port by noun, as the layers above the domain
/// (engine, operations, the HTTP layer, the application and the demo) hold
/// it. Each backend implements the ports; this follows. Call a port's
/// method through it with that port in scope (`use crate::concern::Concerns as _;`).
pub trait Store:
    WorkQueue + Concerns + Enrolments + StaffWeb + RotaLayer + Keys + Reports + Feed
{
}

impl<T> Store for T where
    T: WorkQueue + Concerns + Enrolments + StaffWeb + RotaLayer + Keys + Reports + Feed + ?Sized
{
}

/// Run a store call on the blocking pool, off the async runtime.
pub async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}").into()))?
}

/// Open the store a `NIGHTINGALE_STORE` URL names.
pub fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(sqlite::SqliteStore::open(std::path::Path::new(
            path,
        ))?))
    } else if [
        "redis://",
        "rediss://",
        "redis+unix://",
        "redis+sentinel://",
        "rediss+sentinel://",
        "redis+cluster://",
        "rediss+cluster://",
    ]
    .iter()
    .any(|scheme| url.starts_with(scheme))
    {
        Ok(Arc::new(redis::RedisStore::open(url)?))
    } else {
        anyhow::bail!(
            "NIGHTINGALE_STORE is not understood: write sqlite://PATH (e.g. sqlite://data/nightingale.db), or redis://HOST:PORT (also rediss://, redis+unix://, redis+sentinel://HOST:26379/MASTER, redis+cluster://HOST:PORT,HOST:PORT)"
        )
    }
}

/// Hold the store a `NIGHTINGALE_STORE` URL names for one `serve`: a SQLite
/// file takes one serve at a time ([`sqlite::ServeLock`]); a shared store
/// for several nodes needs no lock (`None`). Keep it until serving stops.
pub fn lock_for_serving(url: &str) -> anyhow::Result<Option<sqlite::ServeLock>> {
    match url.strip_prefix("sqlite://") {
        Some(path) => Ok(Some(sqlite::ServeLock::acquire(std::path::Path::new(
            path,
        ))?)),
        None => Ok(None),
    }
}

#[cfg(test)]
pub(crate) mod conformance;

/// Open the store a `NIGHTINGALE_STORE` URL names to serve from it, with
/// its lock ([`lock_for_serving`]; keep it until serving stops). A SQLite
/// file is locked first, and then every claim in it is taken back at once
/// ([`sqlite::SqliteStore::take_back_claims`], docs/adr/0030): whoever held
/// them was a process that has stopped, as no other can hold the lock, so
/// its work is done again now rather than when its leases would have ended.
pub fn open_for_serving(url: &str) -> anyhow::Result<(Arc<dyn Store>, Option<sqlite::ServeLock>)> {
    let Some(lock) = lock_for_serving(url)? else {
        return Ok((open(url)?, None));
    };
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    let store = sqlite::SqliteStore::open(std::path::Path::new(path))?;
    let taken = store.take_back_claims(&lock)?;
    if taken > 0 {
        tracing::info!(
            taken,
            "took back the claims a stopped process held; their work is done again now"
        );
    }
    Ok((Arc::new(store), Some(lock)))
}
