//! The one writer: a thread that owns the only writing connection and
//! group-commits. It takes every write waiting in its queue, applies each
//! inside its own savepoint (so one failing write does not sink the
//! others), and commits them with one fsync; a write returns only after
//! its commit.
//!
//! It also remembers whether the last writes that stored something failed
//! for want of disk space ([`Space`]): `/readyz` must not say ready while
//! webhooks are refused because the disk is full.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use rusqlite::{Connection, Transaction};

use super::SqliteStore;
use crate::store::codec::{corrupt, unavailable};
use crate::store_error::StoreResult;

/// The most writes committed together.
const MAX_BATCH: usize = 512;

type Job = Box<dyn FnOnce(&Transaction<'_>) -> StoreResult<Box<dyn Any + Send>> + Send>;

pub(super) struct WriteRequest {
    job: Job,
    reply: mpsc::SyncSender<StoreResult<Box<dyn Any + Send>>>,
    /// The readiness probe's write: it says nothing of whether stored
    /// writes have room, so it neither sets nor clears [`Space`].
    probe: bool,
}

/// Whether the last writes that stored something failed for want of disk
/// space (SQLite's `SQLITE_FULL`, which is also what a full file system
/// gives), and when the last did. Set by such a failure; cleared once a
/// write stores something again, or by the readiness probe (a write of a
/// webhook's size) succeeding [`Space::RECHECK`] after the last failure, so
/// that an idle node whose disk was freed becomes ready again.
#[derive(Debug, Default)]
pub(super) struct Space {
    short: AtomicBool,
    last_failed: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Space {
    /// How long after a write failed for want of space the readiness probe
    /// alone may say there is room again.
    pub(super) const RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

    /// Whether the last writes failed for want of space, and not long ago
    /// enough for the probe alone to say otherwise.
    pub(super) fn short(&self) -> bool {
        self.short.load(Ordering::Acquire)
    }

    /// Whether the last failure for want of space is older than [`Space::RECHECK`].
    pub(super) fn may_recheck(&self) -> bool {
        self.last_failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none_or(|at| at.elapsed() >= Self::RECHECK)
    }

    /// The readiness probe wrote as much as a webhook does, long enough
    /// after the last failure: there is room.
    pub(super) fn cleared_by_probe(&self) {
        self.set_short(false);
    }

    fn set_short(&self, short: bool) {
        if short {
            *self.last_failed.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(std::time::Instant::now());
        }
        if self.short.swap(short, Ordering::AcqRel) != short {
            if short {
                tracing::error!(
                    "DISK FULL: a write to the store failed for want of space; not ready until one succeeds"
                );
            } else {
                tracing::warn!("the store has room for writes again");
            }
        }
    }
}

/// Whether `e` (or what caused it) is SQLite finding no room to write.
fn out_of_space(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(e) = cause {
        if let Some(e) = e.downcast_ref::<rusqlite::Error>() {
            return e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull);
        }
        cause = e.source();
    }
    false
}

impl SqliteStore {
    pub(super) fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        self.send_write(f, false)
    }

    /// The readiness probe's write (see [`WriteRequest::probe`]).
    pub(super) fn write_probe<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> StoreResult<R> + Send + 'static,
    ) -> StoreResult<R> {
        self.send_write(f, true)
    }

    fn send_write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> StoreResult<R> + Send + 'static,
        probe: bool,
    ) -> StoreResult<R> {
        let (reply, done) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |tx| f(tx).map(|r| Box::new(r) as Box<dyn Any + Send>));
        {
            let writer = self
                .writer
                .lock()
                .map_err(|_| unavailable("writer lock poisoned"))?;
            let sender = writer
                .as_ref()
                .ok_or_else(|| unavailable("store is closed"))?;
            sender
                .send(WriteRequest { job, reply, probe })
                .map_err(|_| unavailable("store writer stopped"))?;
        }
        let result = done
            .recv()
            .map_err(|_| unavailable("store writer stopped"))??;
        result
            .downcast::<R>()
            .map(|b| *b)
            .map_err(|_| corrupt("writer returned the wrong type"))
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the queue lets the writer finish what it holds and stop.
        if let Ok(mut w) = self.writer.lock() {
            w.take();
        }
        if let Some(handle) = self.writer_thread.lock().ok().and_then(|mut h| h.take()) {
            let _ = handle.join();
        }
    }
}

pub(super) fn writer_loop(
    mut conn: Connection,
    rx: mpsc::Receiver<WriteRequest>,
    space: Arc<Space>,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(more) => batch.push(more),
                Err(_) => break,
            }
        }
        let tx = match conn.transaction() {
            Ok(tx) => tx,
            Err(e) => {
                for req in batch {
                    let _ = req.reply.send(Err(unavailable(&e)));
                }
                continue;
            }
        };
        let mut results = Vec::with_capacity(batch.len());
        // Whether a write of the batch stored something, and whether one
        // failed for want of space.
        let (mut stored, mut full) = (false, false);
        for req in batch {
            let before = changes(&tx);
            let outcome = run_in_savepoint(&tx, req.job);
            if !req.probe {
                match &outcome {
                    Ok(_) => stored |= changes(&tx) > before,
                    Err(e) => full |= out_of_space(e),
                }
            }
            results.push((req.reply, outcome));
        }
        let committed = tx.commit();
        // (SQLite rolls the whole transaction back on `SQLITE_FULL`: the
        // commit then fails for want of a transaction, not of space.)
        match &committed {
            Err(e) if full || out_of_space(e) => space.set_short(true),
            Err(_) => {}
            Ok(()) if full => space.set_short(true),
            Ok(()) if stored => space.set_short(false),
            Ok(()) => {}
        }
        for (reply, outcome) in results {
            let message = match (&committed, outcome) {
                (Ok(()), outcome) => outcome,
                (Err(e), _) => Err(unavailable(format!("commit failed: {e}"))),
            };
            let _ = reply.send(message);
        }
    }
}

/// How many rows the writer's connection has changed since it opened.
fn changes(tx: &Transaction<'_>) -> i64 {
    tx.query_row("SELECT total_changes()", [], |r| r.get(0))
        .unwrap_or(0)
}

fn run_in_savepoint(tx: &Transaction<'_>, job: Job) -> StoreResult<Box<dyn Any + Send>> {
    tx.execute_batch("SAVEPOINT job")?;
    match job(tx) {
        Ok(value) => {
            tx.execute_batch("RELEASE job")?;
            Ok(value)
        }
        Err(e) => {
            let _ = tx.execute_batch("ROLLBACK TO job; RELEASE job");
            Err(e)
        }
    }
}
