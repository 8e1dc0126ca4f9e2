//! The work queue on Redis: claims with fencing tokens, renewal and
//! release, one atomic `apply` per change, and `next_due`.
//!
//! Claiming is the `claim` script (scripts/claim.lua), one for every kind of
//! work; each kind says here how its rows read back.

use super::plan::{self, Plan, corrupt, instant, ms};

use super::scripts;
use super::{RedisStore, args, from_json};
use crate::checkins::{CheckInAnswer, Notice};
use crate::clock::Instant;
use crate::directory::EnrolmentId;
use crate::inbox::Inbound;
use crate::outbox::OutboxItem;
use crate::store_error::StoreResult;
use crate::work::WorkQueue;
use crate::work::{Change, Claim, ClaimRequest, Claimed, ClaimedWork, Timer, WorkKind};
use crate::work::{ClaimKind, Work, WorkKey, claim_by_kind};

impl<T: Claimable> ClaimKind<T> for RedisStore {
    /// Claim work of one kind with the `claim` script (scripts/claim.lua),
    /// turning each row's key and tail into the work.
    fn claim_kind(&self, request: &ClaimRequest<'_>) -> StoreResult<Vec<Claimed<T>>> {
        let (node, now, until) = (request.node, request.now, request.until()?);
        let rows: Vec<Vec<String>> = self.script(
            &scripts::CLAIM,
            args([
                &T::KIND.as_str(),
                &node.as_str(),
                &ms(now),
                &ms(until),
                &request.limit.to_string(),
            ]),
        )?;
        rows.into_iter()
            .map(|row| {
                let mut row = row.into_iter();
                let (Some(key), Some(token), Some(attempts), Some(before)) =
                    (row.next(), row.next(), row.next(), row.next())
                else {
                    return Err(corrupt("a claim of the wrong shape"));
                };
                let key = WorkKey::parse(T::KIND, &key).map_err(corrupt)?;
                Ok(Claimed {
                    item: T::from_claimed(&key, row.collect(), before == "1")?,
                    claim: Claim {
                        key,
                        token: token.parse().map_err(corrupt)?,
                        holder: node.clone(),
                        until,
                        attempts: attempts.parse().map_err(corrupt)?,
                    },
                })
            })
            .collect()
    }
}

/// Work this store claims: how it reads from a row of scripts/claim.lua.
trait Claimable: Work + Sized {
    /// The work named `key`, from what its row carries after the claim
    /// (`claimed_before`: it was claimed before and not completed).
    fn from_claimed(key: &WorkKey, tail: Vec<String>, claimed_before: bool) -> StoreResult<Self>;
}

impl Claimable for Inbound {
    fn from_claimed(_: &WorkKey, tail: Vec<String>, _: bool) -> StoreResult<Self> {
        match tail.as_slice() {
            [data] => from_json(data),
            _ => Err(corrupt("a claimed inbound item without its data")),
        }
    }
}

impl Claimable for Timer {
    fn from_claimed(key: &WorkKey, tail: Vec<String>, _: bool) -> StoreResult<Self> {
        let (WorkKey::Timer { concern, kind }, [stamp]) = (key, tail.as_slice()) else {
            return Err(corrupt("a claimed timer without its due time"));
        };
        plan::timer(&[concern.to_string(), kind.as_str().to_owned(), stamp.clone()])
    }
}

impl Claimable for OutboxItem {
    fn from_claimed(key: &WorkKey, fields: Vec<String>, claimed_before: bool) -> StoreResult<Self> {
        let mut pairs = vec!["id".to_owned(), key.to_string()];
        pairs.extend(fields);
        let mut item = plan::outbox_item(pairs)?;
        // Claimed before and not completed: it may have reached the provider.
        item.in_flight |= claimed_before;
        Ok(item)
    }
}

impl Claimable for Notice {
    fn from_claimed(_: &WorkKey, tail: Vec<String>, _: bool) -> StoreResult<Self> {
        match tail.as_slice() {
            [data] => from_json(data),
            _ => Err(corrupt("a claimed notice without its data")),
        }
    }
}

/// Claims as scripts/renew.lua and scripts/release.lua read them.
fn claims_json(claims: &[Claim]) -> StoreResult<String> {
    let rows: Vec<[String; 3]> = claims
        .iter()
        .map(|c| {
            [
                c.kind().as_str().to_owned(),
                c.key.to_string(),
                c.token.to_string(),
            ]
        })
        .collect();
    serde_json::to_string(&rows).map_err(corrupt)
}

impl WorkQueue for RedisStore {
    fn ping(&self) -> StoreResult<()> {
        // Through a script, as every write goes: a Redis that is down, out
        // of memory (maxmemory with noeviction), unable to write its
        // append-only file, or a replica, refuses this as it would a webhook.
        self.script::<i64>(&scripts::PING, args([])).map(|_| ())
    }

    fn record_inbound(&self, item: &Inbound) -> StoreResult<bool> {
        let data = serde_json::to_string(item).map_err(corrupt)?;
        let new: i64 = self.script(
            &scripts::RECORD_INBOUND,
            args([&item.key, &data, &ms(item.received_at)]),
        )?;
        Ok(new == 1)
    }

    fn inbound(&self, key: &str) -> StoreResult<Option<Inbound>> {
        let data: Option<String> = self.command(
            redis::cmd("HGET")
                .arg(self.key(&["in", key]))
                .arg("data")
                .clone(),
        )?;
        data.map(|d| from_json(&d)).transpose()
    }

    fn claim(&self, kind: WorkKind, request: &ClaimRequest<'_>) -> StoreResult<ClaimedWork> {
        claim_by_kind(self, kind, request)
    }

    fn notice(&self, key: &str) -> StoreResult<Option<Notice>> {
        let data: Option<String> = self.hget(&["notice"], key)?;
        data.as_deref().map(from_json).transpose()
    }

    fn renew(&self, claims: &[Claim], until: Instant) -> StoreResult<Vec<Claim>> {
        if claims.is_empty() {
            return Ok(Vec::new());
        }
        let renewed: Vec<usize> =
            self.script(&scripts::RENEW, args([&claims_json(claims)?, &ms(until)]))?;
        renewed
            .into_iter()
            .map(|i| {
                let claim = claims
                    .get(i.wrapping_sub(1))
                    .ok_or_else(|| corrupt("renew named a claim it was not given"))?;
                Ok(Claim {
                    until,
                    ..claim.clone()
                })
            })
            .collect()
    }

    fn release(&self, claims: &[Claim]) -> StoreResult<()> {
        if claims.is_empty() {
            return Ok(());
        }
        self.script::<String>(&scripts::RELEASE, args([&claims_json(claims)?]))
            .map(|_| ())
    }

    fn apply(&self, change: Change) -> StoreResult<()> {
        let plan = Plan::of(&change)?.to_json()?;
        self.script::<String>(&scripts::APPLY, args([&plan]))
            .map(|_| ())
    }

    fn next_due_of(&self, kinds: &[WorkKind]) -> StoreResult<Option<Instant>> {
        let call = kinds
            .iter()
            .map(|k| k.as_str().as_bytes().to_vec())
            .collect();
        let next: Option<String> = self.script(&scripts::NEXT_DUE, call)?;
        next.as_deref().map(instant).transpose()
    }

    fn outbox_by_provider_id(&self, provider_id: &str) -> StoreResult<Option<OutboxItem>> {
        let row: Option<Vec<String>> =
            self.script(&scripts::OUTBOX_BY_PROVIDER_ID, args([&provider_id]))?;
        row.map(plan::outbox_item).transpose()
    }

    fn check_in_answers(&self, enrolment: EnrolmentId) -> StoreResult<Vec<CheckInAnswer>> {
        self.json_list(&["e", &enrolment.to_string(), "check-ins"])
    }
}
