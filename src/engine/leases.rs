//! Leases: the claims this node holds, and their renewal on a task of its
//! own (ADR 7, ADR 30).
//!
//! Every claim the engine takes (an inbound item, a timer, a notice, a
//! text being sent) is held here from the moment it is claimed until its
//! work is finished, and renewed while it is held. So the lease can be
//! short, a few seconds, whatever the work under it takes: a node that dies
//! stops renewing, and its work can be taken over within one [`LEASE`] of
//! the death instead of within the longest step's bound.
//!
//! The renewal runs on a task of its own ([`Leases::run`]), never inside a
//! step or a claiming round, so a long pass of timers or a burst of sends
//! cannot starve it: it wakes a third of a lease after each claim was last
//! written and renews every claim due in one store call. A claim that the
//! store no longer holds (another node took the work over after a stall)
//! is marked lost and not renewed again; its work's write will be refused
//! by fencing, as it must be.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::TimeDelta;
use tokio::sync::{Notify, watch};

use crate::clock::{Clock, Instant};
use crate::logs::Report;
use crate::store::{self, Store};
use crate::store_error::StoreResult;
use crate::work::{Claim, WorkKey};

/// How long a claim on a piece of work lasts unless renewed: what a dead
/// node's work waits before another node may take it over. Renewed every
/// [`RENEW_EVERY`], so a renewal may be late by two thirds of it (2 s) before
/// the claim lapses.
pub(super) const LEASE: TimeDelta = TimeDelta::seconds(3);

/// How often a held claim is renewed: a third of the lease.
pub(super) const RENEW_EVERY: TimeDelta = TimeDelta::milliseconds(LEASE.num_milliseconds() / 3);

/// A claim is renewed once less than this is left of its lease.
const RENEW_WITHIN: TimeDelta =
    TimeDelta::milliseconds(LEASE.num_milliseconds() - RENEW_EVERY.num_milliseconds());

/// How soon the renewal task tries again after the store failed it: well
/// inside what is left of the lease.
const RETRY_AFTER_FAILURE: TimeDelta = TimeDelta::milliseconds(250);

/// The claims this node holds, by the work they are on.
#[derive(Debug, Default)]
pub(super) struct Leases {
    held: Mutex<HashMap<WorkKey, Held>>,
    /// A claim was added: the renewal task looks at its wake-up time again.
    added: Notify,
}

/// One claim this node holds.
#[derive(Debug)]
struct Held {
    claim: Claim,
    /// The store refused to renew it: someone else has the work now.
    lost: bool,
}

/// Claims held for as long as this lives (the work under them is being
/// done); dropped, they are no longer renewed.
#[must_use = "the claims are let go of when this is dropped"]
pub(super) struct Holding {
    leases: Arc<Leases>,
    keys: Vec<WorkKey>,
}

impl Drop for Holding {
    fn drop(&mut self) {
        let mut held = self.leases.lock();
        for key in &self.keys {
            held.remove(key);
        }
    }
}

impl Leases {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<WorkKey, Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hold `claims` (just claimed) until the returned guard is dropped.
    pub(super) fn hold<'a>(
        self: &Arc<Self>,
        claims: impl IntoIterator<Item = &'a Claim>,
    ) -> Holding {
        let keys = claims.into_iter().map(|c| self.keep(c.clone())).collect();
        Holding {
            leases: Arc::clone(self),
            keys,
        }
    }

    /// Hold `claim`, in place of any claim held on the same work (a newer
    /// one, claimed again after a renewal came too late); returns its key.
    pub(super) fn keep(&self, claim: Claim) -> WorkKey {
        let key = claim.key.clone();
        self.lock().insert(key.clone(), Held { claim, lost: false });
        self.added.notify_one();
        key
    }

    /// Whether a claim on this work is held (being worked on here).
    pub(super) fn holds(&self, key: &WorkKey) -> bool {
        self.lock().contains_key(key)
    }

    /// The claim held on this work as it stands now (renewed since it was
    /// taken, perhaps), to write the work's outcome with.
    pub(super) fn current(&self, key: &WorkKey) -> Option<Claim> {
        self.lock().get(key).map(|h| h.claim.clone())
    }

    /// No longer hold the claim on this work (its outcome is written, or
    /// its task ended without one).
    pub(super) fn let_go(&self, key: &WorkKey) {
        self.lock().remove(key);
    }

    /// How many claims are held.
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    /// When the first held claim is due to be renewed, if any is.
    pub(super) fn renew_at(&self) -> Option<Instant> {
        self.lock()
            .values()
            .filter(|h| !h.lost)
            .map(|h| h.claim.until - RENEW_WITHIN)
            .min()
    }

    /// Renew, in one store call, every held claim with less than two thirds
    /// of its lease left at `now`; mark those the store no longer holds as
    /// lost. Returns how many were renewed.
    pub(super) async fn renew_due(
        &self,
        store: &Arc<dyn Store>,
        now: Instant,
    ) -> StoreResult<usize> {
        let due: Vec<Claim> = self
            .lock()
            .values()
            .filter(|h| !h.lost && h.claim.until - now < RENEW_WITHIN)
            .map(|h| h.claim.clone())
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        let until = now + LEASE;
        let asked = due.clone();
        let renewed = store::blocking(store, move |s| s.renew(&asked, until)).await?;
        let count = renewed.len();
        let mut held = self.lock();
        let renewed: HashMap<WorkKey, Claim> =
            renewed.into_iter().map(|c| (c.key.clone(), c)).collect();
        for claim in due {
            let Some(h) = held.get_mut(&claim.key) else {
                continue; // finished while the renewal was on its way
            };
            if h.claim.token != claim.token {
                continue; // replaced by a newer claim meanwhile
            }
            match renewed.get(&claim.key) {
                Some(new) => h.claim = new.clone(),
                None => {
                    tracing::warn!(
                        work = %claim.key,
                        kind = claim.kind().as_str(),
                        "a claim could not be renewed: another node has taken the work over"
                    );
                    h.lost = true;
                }
            }
        }
        Ok(count)
    }

    /// Renew held claims as they fall due until `stopping`: on its own
    /// task, so that no amount of work starves it.
    pub(super) async fn run(
        self: Arc<Self>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        mut stopping: watch::Receiver<bool>,
    ) {
        while !*stopping.borrow() {
            let now = clock.now();
            let next = match self.renew_due(&store, now).await {
                Ok(_) => self.renew_at(),
                Err(e) => {
                    tracing::error!(error = %Report(&e), held = self.len(), "cannot renew claims; trying again");
                    Some(now + RETRY_AFTER_FAILURE)
                }
            };
            let added = self.added.notified();
            tokio::select! {
                _ = stopping.wait_for(|stop| *stop) => break,
                () = added => {},
                () = async {
                    match next {
                        Some(at) => clock.sleep_until(at.max(now + RETRY_AFTER_FAILURE)).await,
                        None => std::future::pending().await,
                    }
                } => {},
            }
        }
    }
}

#[cfg(test)]
mod tests;
