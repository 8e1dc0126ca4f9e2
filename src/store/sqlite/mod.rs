//! The embedded store: SQLite in WAL mode with `synchronous=FULL`.
//!
//! One writer thread owns the only writing connection and group-commits:
//! it takes every write waiting in its queue, applies each inside its own
//! savepoint (so one failing write does not sink the others), and commits
//! them with one fsync. Readers use their own connections, which WAL lets
//! run alongside the writer. A write returns only after its commit, so a
//! `200` to the provider means the message is on disk.
//!
//! Claims, fencing tokens, concern versions and code reservations (the
//! contract for several nodes, docs/adr/0007) are checked and written by
//! the same writer, inside each change's savepoint: one writer makes every
//! check-then-write atomic. Several nodes on one file are still not
//! supported: `serve` holds [`ServeLock`] on it.
//!
//! The files follow the ports: `work` (claims, leases, next due) and
//! `apply` (one change, atomically) for the work queue, then `concerns`,
//! `enrolments`, `staff_web`, `rota_layer`, `keys` and `reports`, one per
//! port; `writer` is the group-commit thread, `schema` the migrations and
//! `lock` the serve lock. This file opens the store and holds what they share.

mod apply;
mod concerns;
mod enrolments;
mod feed;
mod keys;
mod lock;
mod reports;
mod rota_layer;
mod schema;
mod staff_web;
#[cfg(test)]
mod tests;
mod work;
mod writer;

pub use self::lock::ServeLock;

use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread;

use rusqlite::Connection;

use self::schema::migrate;
use self::writer::{Space, WriteRequest, writer_loop};
use crate::store::codec::unavailable;
use crate::store_error::{StoreError, StoreResult};

/// The SQLite store.
pub struct SqliteStore {
    writer: Mutex<Option<mpsc::Sender<WriteRequest>>>,
    writer_thread: Mutex<Option<thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    path: std::path::PathBuf,
    /// Whether the last writes failed for want of disk space.
    space: std::sync::Arc<Space>,
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL, not NORMAL: NORMAL can lose the last commits on power loss, and a
    // 200 to Twilio promises the message is on disk.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// What an SQLite error means for the caller: a broken constraint is a
/// write that will never succeed; damage is corruption; a value that does
/// not read back as its type is corrupt data; the rest (busy, locked, disk
/// full, I/O) may pass.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let kind = match &e {
            rusqlite::Error::SqliteFailure(f, _) => match f.code {
                ErrorCode::ConstraintViolation | ErrorCode::TooBig => StoreError::Invalid,
                ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt,
                _ => StoreError::Unavailable,
            },
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::Utf8Error(..) => StoreError::Corrupt,
            rusqlite::Error::ToSqlConversionFailure(..) => StoreError::Invalid,
            _ => StoreError::Unavailable,
        };
        kind(Box::new(e))
    }
}

/// A concern row (`data, version`), as read.
fn concern_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, u64)> {
    Ok((row.get(0)?, row.get::<_, i64>(1)? as u64))
}

impl SqliteStore {
    /// Open (creating if need be) the database at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut conn = open_connection(path)
            .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
        migrate(&mut conn)
            .map_err(|e| unavailable(format!("cannot migrate {}: {e}", path.display())))?;
        let (tx, rx) = mpsc::channel::<WriteRequest>();
        let space = std::sync::Arc::new(Space::default());
        let writer_space = std::sync::Arc::clone(&space);
        let handle = thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(conn, rx, writer_space))
            .map_err(unavailable)?;
        Ok(Self {
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(handle)),
            readers: Mutex::new(Vec::new()),
            path: path.to_owned(),
            space,
        })
    }

    fn read<R>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<R>) -> StoreResult<R> {
        let conn = self
            .readers
            .lock()
            .map_err(|_| unavailable("reader lock poisoned"))?
            .pop();
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.path).map_err(unavailable)?,
        };
        let result = f(&conn).map_err(StoreError::from);
        if let Ok(mut readers) = self.readers.lock() {
            readers.push(conn);
        }
        result
    }
}
