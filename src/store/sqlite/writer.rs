//! The one writer: a thread that owns the only writing connection and
//! group-commits. It takes every write waiting in its queue, applies each
//! inside its own savepoint (so one failing write does not sink the
//! others), and commits them with one fsync; a write returns only after
//! its commit.

use std::any::Any;
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
}

impl SqliteStore {
    pub(super) fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> StoreResult<R> + Send + 'static,
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
                .send(WriteRequest { job, reply })
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

pub(super) fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<WriteRequest>) {
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
        for req in batch {
            let outcome = run_in_savepoint(&tx, req.job);
            results.push((req.reply, outcome));
        }
        let committed = tx.commit();
        for (reply, outcome) in results {
            let message = match (&committed, outcome) {
                (Ok(()), outcome) => outcome,
                (Err(e), _) => Err(unavailable(format!("commit failed: {e}"))),
            };
            let _ = reply.send(message);
        }
    }
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
