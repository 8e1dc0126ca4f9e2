//! The shared store: Redis, for several Nightingale nodes at once.
//!
//! Every [`Change`] is one Lua script (`scripts/apply.lua`, sent as EVALSHA
//! through [`redis::Script`]), so it lands whole or not at all, and no
//! other client sees half of it. The script checks first (the claim's
//! fencing token, the concern's version, "open unless open") and answers
//! `CONFLICT` or `INVALID` before writing anything, because Redis does not
//! roll a script back. Claiming work, renewing and releasing claims, and
//! reserving a page code are scripts too, as are reads that take more than
//! one command, so each sees one consistent state: one Lua file per
//! operation under `scripts/` (see [`scripts`]).
//!
//! The rest of this folder is one file per port the store implements
//! (`work`, `concerns`, `enrolments`, `staff_web`, `rota_layer`, `keys`,
//! `reports`); `plan` turns a [`Change`] into what `apply.lua` reads, and
//! `link` keeps the connection (one server, Sentinel or Cluster).
//!
//! # Keys
//!
//! Every key starts with the namespace `{ng}:` (`{NAME}:` with
//! `namespace=NAME` in the URL; tests give each case its own). The
//! braces are a hash tag: Redis Cluster places a key by the tag alone, so
//! all of Nightingale's keys sit in one slot, and a script may touch any of
//! them atomically on a Cluster as on one server.
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `in:KEY` | hash | an inbound item: `data` (JSON; once taken in, without the words now on a timeline: ADR 18), `seq`, `done` (ms) |
//! | `in:pending` | zset | unprocessed items by arrival; member `SEQ\|KEY` keeps arrival order within a millisecond |
//! | `in:done`, `in:seq` | zset, counter | processed items by when (for purge); the arrival counter |
//! | `e:ID` | hash | an enrolment: `data`, `ends`, `ended`, `phones` (its addresses: phones and `mailto:` emails, ADR 14), `client` (the API client whose key made it, if one did: what a `read-own` key's list of concerns checks) |
//! | `e:ends` | zset | enrolments by when they end(ed), for purge (an ongoing enrolment not yet ended at the last instant of 9999, `store::codec::never`) |
//! | `nhs:NUMBER` | set | enrolments from the EPR feed with this NHS number (the enrolment's hash holds it as `nhs`) |
//! | `feed:m:SENDER\nMSH10` | hash | a message from the EPR feed: `data` (JSON: what came and what it was answered), `member` (its place in `feed:by-time`) |
//! | `feed:by-time`, `feed:seq` | zset, counter | the feed's messages by when they came, members `SEQ\|SENDER\nMSH10`; the arrival counter |
//! | `feed:people` | hash | NHS number → what the feed has said about the person (JSON) |
//! | `phone:ADDRESS` | set | enrolments with this patient or carer number, or email (`phone:mailto:…`) |
//! | `c:ID` | hash | a concern: `data`, `status`, `sender`, `opened`, `service`, `enrolment`, `closed`, `purged`, `v` (its version: 1 when stored, bumped on every write) |
//! | `c:ID:timeline` | list | its timeline entries (JSON), oldest first |
//! | `c:ID:timers` | hash | its timers: kind → `DUE_MS:SEQ` |
//! | `c:ID:staff`, `c:ID:reserved`, `c:ID:outbox` | set | who has a page for it; who has a code reserved for it; its outbox items |
//! | `c:all`, `c:unresolved`, `c:enrolment:ID` | zset | the concern lists: members `OPENED:ID` at one score, walked newest first by ZREVRANGEBYLEX |
//! | `c:service:SERVICE` | zset | a service's concerns, same members: the weeks reports read by ZRANGEBYLEX (filled for concerns stored before it on the first open; `meta:service-index` marks that done) |
//! | `c:from:NUMBER` | zset | unresolved concerns from a sender, same members |
//! | `c:to-purge` | zset | resolved, not yet purged concerns by when they closed |
//! | `timers` | zset | every timer, member `CONCERN/KIND` (its work key), by due time |
//! | `o:ID` | hash | an outbox item: `to`, `body`, `purpose`, `staff`, `recipient`, `step`, `concern`, `attempts`, `due`, `queued`, `state`, `provider`, `prio` (its lane's most urgent `Priority::rank` when queued, ADR 31) |
//! | `o:id` | counter | the last outbox id |
//! | `o:lane:NUMBER/`, `o:lane:NUMBER/CONCERN` | zset | unsent items in a lane, by id: the queue that keeps texts in order. A patient's or carer's texts share one lane; a clinician's have one per concern |
//! | `o:head`, `o:due:P` | hash, zset | each lane's first unsent item; those heads by due time, one index per priority `P` (0 urgent, 1 prompt, 2 bulk: ADR 31), each head in that of its `prio` (what claiming, most urgent first, and `next_due` read). Before priorities one `o:due` held every head; the first open moves them (`meta:outbox-priority` marks that done) |
//! | `o:unsent`, `o:queued`, `o:retrying` | zset, zset, set | unsent items by due and by queued time; those that failed once (for `backlog`) |
//! | `o:provider` | hash | provider message id → outbox id |
//! | `pg:STAFF` | hash | a clinician's pages: concern → `CODE\|OPEN\|OPENED_MS\|CLOSED_MS` |
//! | `pg:STAFF:open`, `pg:STAFF:closed` | zset | their open pages by when opened, closed ones by when closed |
//! | `rsv:STAFF` | hash | a clinician's code reservations: concern → `CODE\|RELEASED_MS` (empty while held) |
//! | `last-code`, `opt-out` | hash | staff → last code; number → 1 (opted out) or 0 |
//! | `notice`, `notices` | hash, zset | scheduled notices (docs/adr/0017): key → JSON; every key by due time |
//! | `e:ID:check-ins` | list | the answers to an enrolment's check-ins (JSON), oldest first |
//! | `claim:KIND:KEY` | hash | a claim on work (`inbound`, `timer`, `outbox`, `notice`): `token`, `holder`, `until` (empty once released), `attempts`; kept until the work completes |
//! | `held:KIND` | zset | work keys under a claim not released, by the end of the lease |
//! | `claim-token` | counter | the last fencing token |
//! | `api-key`, `api-key:created`, `api-key:grant`, `api-key:revoked` | hash | API key hash (hex) → name, → when made, → its grant (JSON: client, scopes, expiry; none for keys made before grants, ADR 21), → when revoked |
//! | `secret` | hash | secret name → bytes |
//! | `heartbeat` | counter | what `/readyz` writes |
//! | `hits:BUCKET\|START` | hash | `n`: requests counted against a bucket (`sign-in:client:…`, `sign-in:contact:…:client:…`, `sign-in:failed:STAFF`) in the window starting at `START` (ms) |
//! | `hits:ends` | zset | those windows by their end, for expiry |
//!
//! # What one slot costs
//!
//! A change touches global indexes (`timers`, `o:due`, the concern lists)
//! as well as its concern's keys, and a page code or a head-of-line queue
//! spans concerns. Giving each concern its own tag would spread the keys
//! over a Cluster, but then nearly every change would cross slots and need
//! a protocol of its own (sharded indexes, two-step writes) that Redis
//! does not make atomic. So the namespace is one slot: on a Cluster it
//! lives on one primary and its replicas, and a Cluster adds failover, not
//! write throughput. One Redis core applies changes far faster than a
//! trust makes them (figures in `docs/deploy.md`); a second trust gets a
//! namespace, and so a slot, of its own.
//!
//! # Durability
//!
//! A `200` to the provider promises the message is stored. Redis keeps
//! that promise only with `appendonly yes`; with `appendfsync everysec` a
//! power cut can lose the last second of acknowledged writes (a crash of
//! the Redis process alone loses nothing), with `appendfsync always` it
//! cannot. See `docs/deploy.md`.

mod concerns;
mod enrolments;
mod feed;
mod keys;
mod link;
mod plan;
mod reports;
mod rota_layer;
#[cfg(test)]
mod rules_agree;
mod scripts;
mod staff_web;
#[cfg(test)]
mod tests;
mod work;

#[cfg(test)]
#[path = "../../../tests/support/redis_server.rs"]
pub(crate) mod test_server;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::{FromRedisValue, RedisError, Script};

use self::link::{Link, Target};
use crate::store::codec::{concern_from, from_json, invalid, unavailable};

use crate::store_error::{StoreError, StoreResult};

/// The namespace production uses.
const NAMESPACE: &str = "ng";

/// Concerns purged per [`Concerns::purge`] call (as the SQLite store), and
/// inbound items and enrolments deleted per script while purging.
const PURGE_BATCH: usize = 1000;
/// Concerns written back per purge script, to keep each script short.
const PURGE_WRITE_BATCH: usize = 100;

/// Entries of a concern list one script looks at before it hands the walk
/// back (about a millisecond of Redis's time).
const LIST_BUDGET: usize = 1000;

/// No store call waits longer than this, whatever the connection does.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The Redis store.
pub struct RedisStore {
    /// The store's own runtime; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    link: Arc<Link>,
    /// `{namespace}:`, the start of every key.
    prefix: String,
    target: String,
}

/// Arguments to a script, each a Redis bulk string.
type Args = Vec<Vec<u8>>;

fn args<const N: usize>(values: [&dyn AsRef<[u8]>; N]) -> Args {
    values.iter().map(|v| v.as_ref().to_vec()).collect()
}

impl RedisStore {
    /// Connect to the Redis a `NIGHTINGALE_STORE` URL names (`redis://`,
    /// `rediss://`, `redis+unix://`, `redis+sentinel://`, `redis+cluster://`:
    /// README.md and `docs/deploy.md` give the forms), failing now if it
    /// cannot be reached.
    ///
    /// Every key is under `{ng}:`, or `{NAME}:` when the URL ends with
    /// `namespace=NAME` in its query (one Redis for several trusts: each
    /// namespace is a store of its own, in a hash slot of its own).
    pub fn open(url: &str) -> StoreResult<Self> {
        let (url, namespace) = link::take_namespace(url).map_err(invalid)?;
        Self::open_in(&url, namespace.as_deref().unwrap_or(NAMESPACE))
    }

    /// As [`RedisStore::open`], with every key under `{namespace}:` (tests
    /// give each case its own).
    pub fn open_in(url: &str, namespace: &str) -> StoreResult<Self> {
        let target = Target::parse(url).map_err(unavailable)?;
        // The trait is synchronous: callers run it on tokio's blocking pool
        // (`store::blocking`), or on a plain thread (the CLI, tests). The
        // redis crate is async and its connection manager keeps a task
        // running to drive the connection. So the store owns a small
        // runtime of its own for that task and for every call: it lives
        // exactly as long as the connection, works the same from any
        // thread, and is not slowed by (nor slows) the HTTP server's
        // runtime. Calls are handed to it and waited for (see `run`).
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("store-redis")
            .enable_all()
            .build()
            .map_err(|e| unavailable(format!("cannot start the Redis store's runtime: {e}")))?;
        let described = target.describe();
        let connect = {
            let target = target.clone();
            async move { Link::connect(&target).await }
        };
        let link = wait(&runtime, connect).and_then(|r| {
            r.map_err(|e| unavailable(format!("cannot reach Redis at {described}: {e}")))
        })?;
        let store = Self {
            runtime: Some(runtime),
            link,
            prefix: format!("{{{namespace}}}:"),
            target: described,
        };
        store.index_services()?;
        store.order_outbox()?;
        Ok(store)
    }

    /// Unsent outbox items stored before priorities (ADR 31) get theirs,
    /// as [`crate::outbox::Priority::of`] gives it for their purpose, and
    /// wait in the index of it: once, then a marker makes this one check
    /// on every open.
    fn order_outbox(&self) -> StoreResult<()> {
        let ranks: Args = crate::timeline::Purpose::ALL
            .into_iter()
            .flat_map(|p| {
                [
                    p.as_str().as_bytes().to_vec(),
                    crate::outbox::Priority::of(p)
                        .rank()
                        .to_string()
                        .into_bytes(),
                ]
            })
            .collect();
        let ordered: i64 = self.script(&scripts::ORDER_OUTBOX, ranks)?;
        if ordered > 0 {
            tracing::info!(
                ordered,
                "unsent texts stored before outbox priorities were given theirs"
            );
        }
        Ok(())
    }

    /// Concerns stored before the per-service index that reports read
    /// (`c:service:SERVICE`) join it: once, in batches, then a marker
    /// makes this one check on every open.
    fn index_services(&self) -> StoreResult<()> {
        let mut after = "-".to_owned();
        loop {
            let next: String = self.script(&scripts::INDEX_SERVICES, args([&after, &"500"]))?;
            if next.is_empty() {
                return Ok(());
            }
            after = next;
        }
    }

    /// Run `call` against Redis on the store's runtime and wait for it.
    fn run<T, F>(&self, call: impl FnOnce(link::Conn) -> F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, RedisError>> + Send + 'static,
    {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| unavailable("the Redis store is closed"))?;
        let link = Arc::clone(&self.link);
        let call = call(link.conn());
        let outcome = wait(runtime, async move {
            match tokio::time::timeout(CALL_TIMEOUT, call).await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => {
                    link.failed(&e).await;
                    Err(Some(e))
                }
                Err(_) => Err(None),
            }
        })?;
        outcome.map_err(|e| match e {
            // The scripts refuse a write with these codes, before writing anything.
            Some(e) if e.code() == Some("CONFLICT") => {
                StoreError::Conflict(e.detail().unwrap_or_default().to_owned().into())
            }
            Some(e) if e.code() == Some("INVALID") => invalid(e.detail().unwrap_or_default()),
            Some(e) => unavailable(format!("Redis at {}: {e}", self.target)),
            None => unavailable(format!(
                "Redis at {} did not answer within {CALL_TIMEOUT:?}",
                self.target
            )),
        })
    }

    fn script<T>(&self, script: &'static Script, args: Args) -> StoreResult<T>
    where
        T: FromRedisValue + Send + 'static,
    {
        let prefix = self.prefix.clone();
        self.run(move |mut conn| async move {
            script.key(prefix).arg(args).invoke_async(&mut conn).await
        })
    }

    /// One plain command.
    fn command<T: FromRedisValue + Send + 'static>(&self, cmd: redis::Cmd) -> StoreResult<T> {
        self.run(move |mut conn| async move { cmd.query_async(&mut conn).await })
    }

    fn key(&self, parts: &[&str]) -> String {
        format!("{}{}", self.prefix, parts.join(":"))
    }

    fn hget<T: FromRedisValue + Send + 'static>(
        &self,
        parts: &[&str],
        field: &str,
    ) -> StoreResult<Option<T>> {
        self.command(redis::cmd("HGET").arg(self.key(parts)).arg(field).clone())
    }

    /// Every entry of the list at the key made of `parts`, each one JSON.
    fn json_list<T: serde::de::DeserializeOwned>(&self, parts: &[&str]) -> StoreResult<Vec<T>> {
        let rows: Vec<String> = self.command(
            redis::cmd("LRANGE")
                .arg(self.key(parts))
                .arg(0)
                .arg(-1)
                .clone(),
        )?;
        rows.iter().map(|r| from_json(r)).collect()
    }
}

/// Hand `future` to `runtime` and block this thread until it is done.
///
/// Not `Runtime::block_on`: that panics on a thread that is itself running
/// async code, and `app::build` opens the store on one. A spawned task and
/// a channel work from any thread.
fn wait<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    future: impl Future<Output = T> + Send + 'static,
) -> StoreResult<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv()
        .map_err(|_| unavailable("the Redis store's runtime stopped"))
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        // Without blocking: the store may be dropped on an async thread.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
