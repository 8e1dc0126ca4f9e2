//! The shared store: Redis, for several Nightingale nodes at once.
//!
//! Every [`Change`] is one Lua script (`redis/apply.lua`, sent as EVALSHA
//! through [`redis::Script`]), so it lands whole or not at all, and no
//! other client sees half of it. The script checks first (the claim's
//! fencing token, the concern's version, "open unless open") and answers
//! `CONFLICT` or `INVALID` before writing anything, because Redis does not
//! roll a script back. Claiming work, renewing and releasing claims, and
//! reserving a page code are scripts too (`redis/write.lua`), as are reads
//! that take more than one command (`redis/read.lua`), so each sees one
//! consistent state.
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
//! | `o:ID` | hash | an outbox item: `to`, `body`, `purpose`, `staff`, `recipient`, `step`, `concern`, `attempts`, `due`, `queued`, `state`, `provider` |
//! | `o:id` | counter | the last outbox id |
//! | `o:lane:NUMBER/`, `o:lane:NUMBER/CONCERN` | zset | unsent items in a lane, by id: the queue that keeps texts in order. A patient's or carer's texts share one lane; a clinician's have one per concern |
//! | `o:head`, `o:due` | hash, zset | each lane's first unsent item; those heads by due time (what claiming and `next_due` read) |
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

mod link;
mod plan;

#[cfg(test)]
#[path = "../../tests/support/redis_server.rs"]
pub(crate) mod test_server;

use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::{FromRedisValue, IntoConnectionInfo, RedisError, Script};

use self::link::{Link, Target};
use self::plan::{Plan, corrupt, instant, json as to_json, lex_time, ms};
use chrono::TimeDelta;

use crate::access::sessions::StaffWeb;
use crate::access::sessions::{CodeCheck, Session, SignInCode, SignInMethod};
use crate::api_keys::ApiKey;
use crate::api_keys::Keys;
use crate::checkins::{CheckInAnswer, Notice};
use crate::clock::Instant;
use crate::concern::Concerns;
use crate::concern::{Concern, ConcernId};
use crate::concern::{ConcernFilter, ConcernStatus, Page, Purged};
use crate::directory::Enrolments;
use crate::directory::{Address, EmailAddress, Enrolment, EnrolmentId, Id, PhoneNumber};
use crate::inbox::Inbound;
use crate::outbox::OutboxItem;
use crate::reports::Backlog;
use crate::reports::Reports;
use crate::rota::layer::RotaLayer;
use crate::rota::layer::{AuditEntry, AuditRecord, NewRotaEdit, RotaEdit, Undone};
use crate::store_error::{StoreError, StoreResult};
use crate::timeline::{TimelineEntry, TimelineEvent};
use crate::work::WorkQueue;
use crate::work::{Change, Claim, Claimed, NodeId, Timer, WorkKind};
use crate::work::{Work, WorkKey};

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

// Each script's first line declares its flags (Redis 7.0 and later). One
// that may write is checked before it starts (memory, replica, disk), so it
// is refused whole rather than half way; the reads say they do not write,
// so they still answer when Redis is full and refuses writes.
static APPLY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "#!lua\n",
        include_str!("redis/common.lua"),
        include_str!("redis/apply.lua")
    ))
});
static READ: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "#!lua flags=no-writes\n",
        include_str!("redis/common.lua"),
        include_str!("redis/read.lua")
    ))
});
static WRITE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "#!lua\n",
        include_str!("redis/common.lua"),
        include_str!("redis/write.lua")
    ))
});

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

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string().into())
}

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string().into())
}

impl RedisStore {
    /// Active enrolments with this address (a phone or an email's index
    /// key, ADR 14), newest first.
    fn enrolments_at(&self, address: &str, now: Instant) -> StoreResult<Vec<Enrolment>> {
        let rows: Vec<String> = self.read(args([&"enrolments_for_phone", &address, &ms(now)]))?;
        let mut list: Vec<Enrolment> = rows
            .iter()
            .map(|r| from_json(r))
            .collect::<StoreResult<_>>()?;
        list.sort_by_key(|e| std::cmp::Reverse(e.began_at()));
        Ok(list)
    }

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
        Ok(store)
    }

    /// Concerns stored before the per-service index that reports read
    /// (`c:service:SERVICE`) join it: once, in batches, then a marker
    /// makes this one check on every open.
    fn index_services(&self) -> StoreResult<()> {
        let mut after = "-".to_owned();
        loop {
            let next: String = self.write(args([&"index_services", &after, &"500"]))?;
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

    /// Claim work of one kind with the write `claim` (in write.lua),
    /// turning each row's key and tail into the work.
    fn claim<T: Claimable>(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<T>>> {
        let until = now
            .checked_add_signed(lease)
            .filter(|_| lease > TimeDelta::zero())
            .ok_or_else(|| invalid(format!("a lease of {lease} cannot be held")))?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<Vec<String>> = self.write(args([
            &"claim",
            &T::KIND.as_str(),
            &node.as_str(),
            &ms(now),
            &ms(until),
            &limit.to_string(),
        ]))?;
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

    /// Run one of the scripts with `args` after its name.
    fn script<T>(&self, script: &'static Script, args: Args) -> StoreResult<T>
    where
        T: FromRedisValue + Send + 'static,
    {
        let prefix = self.prefix.clone();
        self.run(move |mut conn| async move {
            script.key(prefix).arg(args).invoke_async(&mut conn).await
        })
    }

    fn read<T: FromRedisValue + Send + 'static>(&self, args: Args) -> StoreResult<T> {
        self.script(&READ, args)
    }

    fn write<T: FromRedisValue + Send + 'static>(&self, args: Args) -> StoreResult<T> {
        self.script(&WRITE, args)
    }

    /// One plain command.
    fn command<T: FromRedisValue + Send + 'static>(&self, cmd: redis::Cmd) -> StoreResult<T> {
        self.run(move |mut conn| async move { cmd.query_async(&mut conn).await })
    }

    fn key(&self, parts: &[&str]) -> String {
        format!("{}{}", self.prefix, parts.join(":"))
    }

    /// On a Cluster: the primary that holds the namespace's slot (the one
    /// a backup must come from), with the credentials of the nodes named.
    fn slot_primary(&self) -> StoreResult<redis::ConnectionInfo> {
        let slot: i64 = self.command(
            redis::cmd("CLUSTER")
                .arg("KEYSLOT")
                .arg(&self.prefix)
                .clone(),
        )?;
        let slots: redis::Value = self.command(redis::cmd("CLUSTER").arg("SLOTS").clone())?;
        let int = |v: &redis::Value| match v {
            redis::Value::Int(i) => Some(*i),
            _ => None,
        };
        let text = |v: &redis::Value| match v {
            redis::Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
            redis::Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        };
        let redis::Value::Array(ranges) = slots else {
            return Err(corrupt(
                "CLUSTER SLOTS answered with something else than a list",
            ));
        };
        for range in ranges {
            let redis::Value::Array(parts) = range else {
                continue;
            };
            let (Some(start), Some(end), Some(redis::Value::Array(primary))) = (
                parts.first().and_then(int),
                parts.get(1).and_then(int),
                parts.get(2),
            ) else {
                continue;
            };
            if (start..=end).contains(&slot) {
                let (Some(host), Some(port)) = (
                    primary.first().and_then(text),
                    primary
                        .get(1)
                        .and_then(int)
                        .and_then(|p| u16::try_from(p).ok()),
                ) else {
                    break;
                };
                let first = self.link.server();
                let addr = match first.addr() {
                    redis::ConnectionAddr::TcpTls { .. } => redis::ConnectionAddr::TcpTls {
                        host,
                        port,
                        insecure: false,
                        tls_params: None,
                    },
                    _ => redis::ConnectionAddr::Tcp(host, port),
                };
                return addr
                    .into_connection_info()
                    .map(|info| info.set_redis_settings(first.redis_settings().clone()))
                    .map_err(unavailable);
            }
        }
        Err(unavailable(format!(
            "no node of the cluster serves slot {slot}"
        )))
    }

    /// One field of the hash at the key made of `parts`.
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

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(corrupt)
}

/// A concern with the version its hash holds (the copy in its JSON is not
/// kept up to date).
/// What `api-key:grant` holds for a key (ADR 21).
#[derive(serde::Serialize, serde::Deserialize)]
struct Grant {
    client: String,
    scopes: String,
    expires_at: Option<i64>,
}

/// A row of the `api_keys` read: {hash, name, created, grant or "", revoked or ""}.
fn api_key_from(row: Vec<String>) -> StoreResult<ApiKey> {
    let [_, name, created, grant, revoked] =
        <[String; 5]>::try_from(row).map_err(|_| corrupt("an API key row of the wrong shape"))?;
    let at = |text: &str| instant(text);
    let grant: Option<Grant> = (!grant.is_empty()).then(|| from_json(&grant)).transpose()?;
    let (client, scopes, expires_at) = match grant {
        Some(g) => (Some(g.client), Some(g.scopes), g.expires_at),
        None => (None, None, None),
    };
    super::codec::api_key_as_stored(
        name,
        client,
        scopes.as_deref(),
        at(&created)?,
        expires_at.map(|ms| at(&ms.to_string())).transpose()?,
        (!revoked.is_empty()).then(|| at(&revoked)).transpose()?,
    )
}

fn concern_from((data, version): (String, u64)) -> StoreResult<Concern> {
    let mut c: Concern = from_json(&data)?;
    c.version = version;
    Ok(c)
}

/// Work this store claims: how it reads from a row of `claim` in write.lua.
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

/// Claims as `renew` and `release` in write.lua read them.
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
        self.write::<i64>(args([&"ping"])).map(|_| ())
    }

    fn record_inbound(&self, item: &Inbound) -> StoreResult<bool> {
        let data = serde_json::to_string(item).map_err(corrupt)?;
        let new: i64 = self.write(args([
            &"record_inbound",
            &item.key,
            &data,
            &ms(item.received_at),
        ]))?;
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

    fn claim_inbound(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<Inbound>>> {
        self.claim(node, now, lease, limit)
    }

    fn claim_timers(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<Timer>>> {
        self.claim(node, now, lease, limit)
    }

    fn claim_outbox(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<OutboxItem>>> {
        self.claim(node, now, lease, limit)
    }

    fn claim_notices(
        &self,
        node: &NodeId,
        now: Instant,
        lease: TimeDelta,
        limit: usize,
    ) -> StoreResult<Vec<Claimed<Notice>>> {
        self.claim(node, now, lease, limit)
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
            self.write(args([&"renew", &claims_json(claims)?, &ms(until)]))?;
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
        self.write::<String>(args([&"release", &claims_json(claims)?]))
            .map(|_| ())
    }

    fn apply(&self, change: Change) -> StoreResult<()> {
        let plan = Plan::of(&change)?.to_json()?;
        self.script::<String>(&APPLY, args([&plan])).map(|_| ())
    }

    fn next_due_of(&self, kinds: &[WorkKind]) -> StoreResult<Option<Instant>> {
        let mut call = args([&"next_due"]);
        call.extend(kinds.iter().map(|k| k.as_str().as_bytes().to_vec()));
        let next: Option<String> = self.read(call)?;
        next.as_deref().map(instant).transpose()
    }

    fn outbox_by_provider_id(&self, provider_id: &str) -> StoreResult<Option<OutboxItem>> {
        let row: Option<Vec<String>> = self.read(args([&"outbox_by_provider_id", &provider_id]))?;
        row.map(plan::outbox_item).transpose()
    }

    fn check_in_answers(&self, enrolment: EnrolmentId) -> StoreResult<Vec<CheckInAnswer>> {
        self.json_list(&["e", &enrolment.to_string(), "check-ins"])
    }
}

impl Concerns for RedisStore {
    fn concern(&self, id: ConcernId) -> StoreResult<Option<Concern>> {
        let row: Option<(String, u64)> = self.read(args([&"concern", &id.to_string()]))?;
        row.map(concern_from).transpose()
    }

    fn timeline(&self, id: ConcernId) -> StoreResult<Vec<TimelineEntry>> {
        self.json_list(&["c", &id.to_string(), "timeline"])
    }

    fn open_concern_from(&self, sender: &Address) -> StoreResult<Option<Concern>> {
        let row: Option<(String, u64)> = self.read(args([&"open_concern_from", &sender.key()]))?;
        row.map(concern_from).transpose()
    }

    fn concerns(&self, filter: &ConcernFilter) -> StoreResult<Vec<Concern>> {
        if filter.limit == 0 {
            return Ok(Vec::new());
        }
        let wanted: Vec<ConcernStatus> = ConcernStatus::ALL
            .into_iter()
            .filter(|s| filter.statuses.is_empty() || filter.statuses.contains(s))
            .collect();
        // The smallest index that holds every match, as SQLite picks one.
        let index = match filter.enrolment {
            Some(e) => format!("c:enrolment:{e}"),
            None if !wanted.contains(&ConcernStatus::Resolved) => "c:unresolved".to_owned(),
            None => "c:all".to_owned(),
        };
        let statuses = if wanted.len() == ConcernStatus::ALL.len() {
            String::new()
        } else {
            wanted
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let max = filter.after.map_or_else(
            || "+".to_owned(),
            |k| format!("({}:{}", lex_time(k.opened_at), k.id),
        );
        let min = filter
            .opened_since
            .map_or_else(|| "-".to_owned(), |t| format!("[{}", lex_time(t)));
        let service = filter.service.as_ref().map(Id::as_str).unwrap_or_default();
        // A walk of a long list comes back in parts (see `concerns` in
        // read.lua); each part is consistent, and a concern written between
        // two parts is above the place the walk has reached, as it would be
        // between two pages of the list.
        let (mut max, mut found) = (max, Vec::new());
        loop {
            let (rows, next): (Vec<(String, u64)>, String) = self.read(args([
                &"concerns",
                &index,
                &max,
                &min,
                &(filter.limit - found.len()).to_string(),
                &statuses,
                &service,
                &filter.client.as_deref().unwrap_or_default(),
                &LIST_BUDGET.to_string(),
            ]))?;
            for row in rows {
                found.push(concern_from(row)?);
            }
            if next.is_empty() || found.len() >= filter.limit {
                return Ok(found);
            }
            max = next;
        }
    }

    fn unresolved_concerns(&self) -> StoreResult<u64> {
        self.command(
            redis::cmd("ZCARD")
                .arg(self.key(&["c", "unresolved"]))
                .clone(),
        )
    }

    fn purge(&self, closed_before: Instant, placeholder: &str) -> StoreResult<Purged> {
        // What counts as personal data is the domain's to say, so the
        // redaction happens here, between a script that reads the
        // candidates and one that writes each back only if it has not
        // changed since (its version and timeline length are checked): a
        // concern written in between waits for the next call.
        let cutoff = ms(closed_before);
        let candidates: Vec<Vec<String>> = self.read(args([
            &"purge_candidates",
            &cutoff,
            &PURGE_BATCH.to_string(),
        ]))?;
        let mut purged = Purged::default();
        for batch in candidates.chunks(PURGE_WRITE_BATCH) {
            let mut rows = Vec::with_capacity(batch.len());
            for row in batch {
                let [id, version, data, timeline @ ..] = row.as_slice() else {
                    return Err(corrupt("a purge candidate of the wrong shape"));
                };
                // Unreadable, so nothing can say what in it is personal: set
                // aside for an operator (an empty document), not picked up
                // by every batch after this one.
                let redacted = match serde_json::from_str::<Concern>(data) {
                    Ok(concern) => plan::json(&concern.redacted(placeholder))?,
                    Err(_) => String::new(),
                };
                let entries = timeline
                    .iter()
                    .map(|entry| plan::json(&redact_entry(entry, placeholder, closed_before)))
                    .collect::<StoreResult<Vec<_>>>()?;
                rows.push((id, version, timeline.len().to_string(), redacted, entries));
            }
            let rows = serde_json::to_string(&rows).map_err(corrupt)?;
            let (concerns, set_aside): (u64, u64) =
                self.write(args([&"purge_concerns", &placeholder, &rows]))?;
            purged.concerns += concerns;
            purged.set_aside += set_aside;
        }
        let drain = |what: &str| -> StoreResult<u64> {
            let mut total = 0;
            loop {
                let n: u64 = self.write(args([&what, &cutoff, &PURGE_BATCH.to_string()]))?;
                total += n;
                if n < PURGE_BATCH as u64 {
                    return Ok(total);
                }
            }
        };
        purged.inbound = drain("purge_inbound")?;
        purged.enrolments = drain("purge_enrolments")?;
        Ok(purged)
    }

    fn pages_for(&self, staff: &Id, closed_since: Instant) -> StoreResult<Vec<Page>> {
        let rows: Vec<(String, String)> =
            self.read(args([&"pages_for", &staff.as_str(), &ms(closed_since)]))?;
        let mut pages = rows
            .iter()
            .map(|(concern, record)| plan::page(concern.parse().map_err(corrupt)?, staff, record))
            .collect::<StoreResult<Vec<_>>>()?;
        pages.sort_by_key(|p| std::cmp::Reverse(p.opened_at));
        Ok(pages)
    }

    fn page(&self, concern: ConcernId, staff: &Id) -> StoreResult<Option<Page>> {
        let record: Option<String> = self.hget(&["pg", staff.as_str()], &concern.to_string())?;
        record.map(|r| plan::page(concern, staff, &r)).transpose()
    }

    fn reserve_code(
        &self,
        concern: ConcernId,
        staff: &Id,
        quarantine_since: Instant,
        at: Instant,
    ) -> StoreResult<u16> {
        // `at` is not stored: a reservation's age is never asked, only
        // whether it is held or when it was released.
        let _ = at;
        self.write(args([
            &"reserve_code",
            &concern.to_string(),
            &staff.as_str(),
            &ms(quarantine_since),
        ]))
    }
}

impl Enrolments for RedisStore {
    fn enrolment(&self, id: EnrolmentId) -> StoreResult<Option<Enrolment>> {
        let (data, ended): (Option<String>, Option<String>) = self.command(
            redis::cmd("HMGET")
                .arg(self.key(&["e", &id.to_string()]))
                .arg("data")
                .arg("ended")
                .clone(),
        )?;
        data.map(|data| {
            let mut e: Enrolment = from_json(&data)?;
            e.ended_at = ended.as_deref().map(instant).transpose()?;
            Ok(e)
        })
        .transpose()
    }

    fn end_enrolment(&self, id: EnrolmentId, at: Instant) -> StoreResult<bool> {
        let ended: i64 = self.write(args([&"end_enrolment", &id.to_string(), &ms(at)]))?;
        Ok(ended == 1)
    }

    fn enrolments_for_phone(
        &self,
        phone: &PhoneNumber,
        now: Instant,
    ) -> StoreResult<Vec<Enrolment>> {
        self.enrolments_at(phone.as_str(), now)
    }

    fn enrolments_for_email(
        &self,
        email: &EmailAddress,
        now: Instant,
    ) -> StoreResult<Vec<Enrolment>> {
        self.enrolments_at(&email.index_key(), now)
    }

    fn is_opted_out(&self, phone: &PhoneNumber) -> StoreResult<bool> {
        let flag: Option<String> = self.hget(&["opt-out"], phone.as_str())?;
        Ok(flag.as_deref() == Some("1"))
    }
}

impl StaffWeb for RedisStore {
    fn put_sign_in_code(&self, code: &SignInCode) -> StoreResult<()> {
        self.write::<String>(args([
            &"put_sign_in_code",
            &hex(&code.challenge),
            &code.person.as_str(),
            &hex(&code.code),
            &code.method.as_str(),
            &ms(code.expires_at),
            &SIGN_IN_CODE_KEPT_MS.to_string(),
        ]))
        .map(|_| ())
    }

    fn check_sign_in_code(
        &self,
        challenge: [u8; 32],
        code: [u8; 32],
        now: Instant,
        max_attempts: u32,
    ) -> StoreResult<CodeCheck> {
        let row: Vec<String> = self.write(args([
            &"check_sign_in_code",
            &hex(&challenge),
            &hex(&code),
            &ms(now),
            &max_attempts.to_string(),
        ]))?;
        match row.as_slice() {
            [gone] if gone == "gone" => Ok(CodeCheck::Gone),
            [wrong, left, person] if wrong == "wrong" => Ok(CodeCheck::Wrong {
                attempts_left: left.parse().map_err(corrupt)?,
                person: Id::parse(person).map_err(corrupt)?,
            }),
            [ok, person, method, expires] if ok == "ok" => Ok(CodeCheck::Accepted(SignInCode {
                challenge,
                person: Id::parse(person).map_err(corrupt)?,
                code,
                method: SignInMethod::parse(method)
                    .ok_or_else(|| corrupt(format!("unknown sign-in method {method:?}")))?,
                expires_at: instant(expires)?,
            })),
            _ => Err(corrupt("a sign-in code check of the wrong shape")),
        }
    }

    fn count_hit(&self, bucket: &str, now: Instant, window: TimeDelta) -> StoreResult<u32> {
        let (start, end) = super::codec::hit_window(now, window)?;
        self.write(args([
            &"count_hit",
            &bucket,
            &start.to_string(),
            &end.to_string(),
            &ms(now),
        ]))
    }

    fn hits(&self, bucket: &str, now: Instant, window: TimeDelta) -> StoreResult<u32> {
        let (start, _) = super::codec::hit_window(now, window)?;
        let hits: Option<u32> = self.command(
            redis::cmd("HGET")
                .arg(self.key(&["hits", &format!("{bucket}|{start}")]))
                .arg("n")
                .clone(),
        )?;
        Ok(hits.unwrap_or(0))
    }

    fn create_session(&self, session: &Session) -> StoreResult<()> {
        self.write::<String>(args([
            &"create_session",
            &hex(&session.hash),
            &session.person.as_str(),
            &session.method.as_str(),
            &ms(session.created_at),
            &ms(session.last_seen),
            &ms(session.expires_at),
        ]))
        .map(|_| ())
    }

    fn session(&self, hash: [u8; 32]) -> StoreResult<Option<Session>> {
        let f: Vec<Option<String>> = self.command(
            redis::cmd("HMGET")
                .arg(self.key(&["session", &hex(&hash)]))
                .arg(&["person", "method", "created", "seen", "expires"])
                .clone(),
        )?;
        let [
            Some(person),
            Some(method),
            Some(created),
            Some(seen),
            Some(expires),
        ] = f.as_slice()
        else {
            return Ok(None);
        };
        Ok(Some(Session {
            hash,
            person: Id::parse(person).map_err(corrupt)?,
            method: SignInMethod::parse(method)
                .ok_or_else(|| corrupt(format!("unknown sign-in method {method:?}")))?,
            created_at: instant(created)?,
            last_seen: instant(seen)?,
            expires_at: instant(expires)?,
        }))
    }

    fn touch_session(&self, hash: [u8; 32], at: Instant) -> StoreResult<()> {
        self.write::<String>(args([&"touch_session", &hex(&hash), &ms(at)]))
            .map(|_| ())
    }

    fn delete_session(&self, hash: [u8; 32]) -> StoreResult<()> {
        self.write::<String>(args([&"delete_session", &hex(&hash)]))
            .map(|_| ())
    }

    fn set_calendar_token(
        &self,
        person: &Id,
        hash: Option<[u8; 32]>,
        at: Instant,
    ) -> StoreResult<()> {
        let hash = hash.map(|h| hex(&h)).unwrap_or_default();
        self.write::<String>(args([
            &"set_calendar_token",
            &person.as_str(),
            &hash,
            &ms(at),
        ]))
        .map(|_| ())
    }

    fn calendar_person(&self, hash: [u8; 32]) -> StoreResult<Option<Id>> {
        let person: Option<String> = self.hget(&["cal", "by-hash"], &hex(&hash))?;
        person.map(|p| Id::parse(&p).map_err(corrupt)).transpose()
    }

    fn calendar_token_made(&self, person: &Id) -> StoreResult<Option<Instant>> {
        let at: Option<String> = self.hget(&["cal", "made"], person.as_str())?;
        at.map(|t| instant(&t)).transpose()
    }
}

impl RotaLayer for RedisStore {
    fn add_rota_edit(
        &self,
        edit: &NewRotaEdit,
        audit: &AuditRecord,
        judged_at: u64,
    ) -> StoreResult<u64> {
        let (edit, audit) = (to_json(edit)?, to_json(audit)?);
        self.write(args([
            &"add_rota_edit",
            &edit,
            &audit,
            &judged_at.to_string(),
        ]))
    }

    fn undo_rota_edit(
        &self,
        id: u64,
        undone: &Undone,
        audit: &AuditRecord,
        judged_at: u64,
    ) -> StoreResult<bool> {
        let (undone, audit) = (to_json(undone)?, to_json(audit)?);
        let done: i64 = self.write(args([
            &"undo_rota_edit",
            &id.to_string(),
            &undone,
            &audit,
            &judged_at.to_string(),
        ]))?;
        Ok(done == 1)
    }

    fn rota_edits(&self) -> StoreResult<Vec<RotaEdit>> {
        let rows: Vec<(u64, String, String)> = self.read(args([&"rota_edits"]))?;
        rows.into_iter()
            .map(|(id, data, undone)| {
                Ok(RotaEdit {
                    id,
                    edit: serde_json::from_str(&data).map_err(corrupt)?,
                    undone: if undone.is_empty() {
                        None
                    } else {
                        Some(serde_json::from_str(&undone).map_err(corrupt)?)
                    },
                })
            })
            .collect()
    }

    fn rota_layer_version(&self) -> StoreResult<u64> {
        let v: Option<u64> =
            self.command(redis::cmd("GET").arg(self.key(&["rota-layer"])).clone())?;
        Ok(v.unwrap_or(0))
    }

    fn append_audit(&self, record: &AuditRecord) -> StoreResult<u64> {
        let record = to_json(record)?;
        self.write(args([&"append_audit", &record]))
    }

    fn audit_trail(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEntry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let lines: Vec<String> = self.command(
            redis::cmd("LRANGE")
                .arg(self.key(&["audit"]))
                .arg(after)
                .arg(after + limit as u64 - 1)
                .clone(),
        )?;
        lines
            .into_iter()
            .enumerate()
            .map(|(i, line)| {
                let (edit, data) = line
                    .split_once('|')
                    .ok_or_else(|| corrupt("an audit line without its edit field"))?;
                Ok(AuditEntry {
                    seq: after + i as u64 + 1,
                    edit: if edit.is_empty() {
                        None
                    } else {
                        Some(edit.parse().map_err(corrupt)?)
                    },
                    record: serde_json::from_str(data).map_err(corrupt)?,
                })
            })
            .collect()
    }

    fn mark_gap_alerted(&self, key: &str, at: Instant) -> StoreResult<bool> {
        let marked: i64 = self.write(args([&"mark_gap_alerted", &key, &ms(at)]))?;
        Ok(marked == 1)
    }
}

impl Keys for RedisStore {
    fn create_api_key(&self, key: &ApiKey, hash: [u8; 32]) -> StoreResult<()> {
        let grant = to_json(&Grant {
            client: key.client.clone(),
            scopes: key.scopes.to_string(),
            expires_at: key.expires_at.map(|t| t.timestamp_millis()),
        })?;
        self.write::<String>(args([
            &"create_api_key",
            &hex(&hash),
            &key.name,
            &ms(key.created_at),
            &grant,
            &key.revoked_at.map(ms).unwrap_or_default(),
        ]))?;
        Ok(())
    }

    fn api_key(&self, hash: [u8; 32]) -> StoreResult<Option<ApiKey>> {
        let rows: Vec<Vec<String>> = self.read(args([&"api_keys", &hex(&hash)]))?;
        rows.into_iter().next().map(api_key_from).transpose()
    }

    fn api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        let rows: Vec<Vec<String>> = self.read(args([&"api_keys", &""]))?;
        let mut keys = rows
            .into_iter()
            .map(api_key_from)
            .collect::<StoreResult<Vec<_>>>()?;
        keys.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
        Ok(keys)
    }

    fn revoke_api_key(&self, name: &str, at: Instant) -> StoreResult<bool> {
        let revoked: u64 = self.write(args([&"revoke_api_key", &name, &ms(at)]))?;
        Ok(revoked > 0)
    }

    fn secret(&self, name: &str) -> StoreResult<Vec<u8>> {
        let mut fresh = [0u8; 32];
        getrandom::getrandom(&mut fresh).map_err(unavailable)?;
        self.write(args([&"secret", &name, &fresh]))
    }

    fn backup(&self, to: &std::path::Path) -> StoreResult<()> {
        if to.exists() {
            return Err(unavailable(format!(
                "{} already exists: give a new file name",
                to.display()
            )));
        }
        // A client cannot read a consistent copy of a live Redis: keys change
        // between one command and the next, and one script that read them
        // all would stall every webhook while it ran. Redis makes one
        // itself, for a replica: `redis-cli --rdb` asks for it as a replica
        // would (the server forks and streams a snapshot) and writes it
        // out, an RDB file that any redis-server loads.
        let server = if self.link.is_cluster() {
            self.slot_primary()?
        } else {
            self.link.server()
        };
        let settings = server.redis_settings();
        let mut cli = std::process::Command::new("redis-cli");
        match server.addr() {
            redis::ConnectionAddr::Tcp(host, port) => {
                cli.arg("-h").arg(host).arg("-p").arg(port.to_string());
            }
            redis::ConnectionAddr::TcpTls { host, port, .. } => {
                cli.arg("-h").arg(host).arg("-p").arg(port.to_string());
                cli.arg("--tls").arg("--sni").arg(host);
            }
            redis::ConnectionAddr::Unix(path) => {
                cli.arg("-s").arg(path);
            }
            _ => {
                return Err(unavailable(
                    "backup cannot reach this kind of Redis address",
                ));
            }
        }
        if let Some(user) = settings.username() {
            cli.arg("--user").arg(user);
        }
        if let Some(password) = settings.password() {
            // Not on the command line, where `ps` would show it.
            cli.env("REDISCLI_AUTH", password);
        }
        let output = cli
            .arg("--rdb")
            .arg(to)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => unavailable(
                    "backing up Redis needs redis-cli: install it (apt-get install -y redis-tools), or copy the server's own RDB or AOF files",
                ),
                _ => unavailable(format!("cannot run redis-cli: {e}")),
            })?;
        if !output.status.success() || !to.exists() {
            return Err(unavailable(format!(
                "redis-cli --rdb from {} failed: {}",
                self.target,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(())
    }
}

impl Reports for RedisStore {
    fn concerns_opened(
        &self,
        service: &Id,
        from: Instant,
        until: Instant,
    ) -> StoreResult<Vec<(Concern, Vec<TimelineEntry>)>> {
        let rows: Vec<(String, u64, Vec<String>)> = self.read(args([
            &"concerns_opened",
            &service.as_str(),
            &format!("[{}", lex_time(from)),
            &format!("({}", lex_time(until)),
        ]))?;
        rows.into_iter()
            .map(|(data, version, timeline)| {
                let entries = timeline
                    .iter()
                    .map(|e| from_json(e))
                    .collect::<StoreResult<Vec<_>>>()?;
                Ok((concern_from((data, version))?, entries))
            })
            .collect()
    }

    fn backlog(&self, now: Instant) -> StoreResult<Backlog> {
        let row: Vec<String> = self.read(args([&"backlog", &ms(now)]))?;
        let [inbound, due, overdue, retrying, oldest] = row.as_slice() else {
            return Err(corrupt("a backlog of the wrong shape"));
        };
        let count = |s: &str| s.parse::<u64>().map_err(corrupt);
        Ok(Backlog {
            inbound_pending: count(inbound)?,
            outbox_due: count(due)?,
            outbox_retrying: count(retrying)?,
            outbox_oldest_queued: (!oldest.is_empty()).then(|| instant(oldest)).transpose()?,
            timers_overdue: count(overdue)?,
        })
    }
}

/// A timeline entry as [`TimelineEntry::redacted`] says. It is written back
/// from its typed form, so fields the code no longer knows go too; one that
/// cannot be read at all becomes a note saying only `placeholder`, at the
/// time it records if that can be read, else at the cutoff.
fn redact_entry(entry: &str, placeholder: &str, cutoff: Instant) -> TimelineEntry {
    match serde_json::from_str::<TimelineEntry>(entry) {
        Ok(entry) => entry.redacted(placeholder),
        Err(_) => TimelineEntry {
            at: serde_json::from_str::<serde_json::Value>(entry)
                .ok()
                .and_then(|v| v.get("at")?.as_str()?.parse().ok())
                .unwrap_or(cutoff),
            event: TimelineEvent::note(placeholder.to_owned()),
        },
    }
}

/// How long after its expiry a sign-in code may stay stored (it no longer works).
const SIGN_IN_CODE_KEPT_MS: i64 = 24 * 3600 * 1000;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant as Wall};

    use super::test_server::RedisServer;
    use super::*;
    use crate::inbox::InboundKind;

    fn sms(key: &str) -> Inbound {
        Inbound {
            key: key.into(),
            kind: InboundKind::Sms {
                from: "+447700900123".into(),
                to: "+447700900000".into(),
                body: "My dressing is leaking".into(),
                media: 0,
            },
            received_at: "2026-11-27T19:05:00Z".parse().unwrap(),
        }
    }

    /// The inbound items not yet taken in, oldest first, as a node finds
    /// them: by claiming them (a test's store is not used by a node after).
    fn pending(store: &RedisStore, limit: usize) -> Vec<Inbound> {
        let now = "2026-11-27T19:05:00Z".parse().unwrap();
        store
            .claim_inbound(&NodeId::new("test"), now, TimeDelta::seconds(30), limit)
            .unwrap()
            .into_iter()
            .map(|c| c.item)
            .collect()
    }

    #[test]
    fn a_key_stored_before_keys_had_grants_reads_as_its_own_client_with_the_old_keys_scopes() {
        let server = RedisServer::start();
        let store = RedisStore::open(&server.url()).unwrap();
        // What `create_api_key` wrote before ADR 21: a name and a time.
        let made: Instant = "2026-11-25T10:00:00Z".parse().unwrap();
        for (field, value) in [
            (&["api-key"][..], "ward-7-discharge".to_owned()),
            (&["api-key", "created"][..], ms(made)),
        ] {
            store
                .command::<i64>(
                    redis::cmd("HSET")
                        .arg(store.key(field))
                        .arg(hex(&[9; 32]))
                        .arg(value)
                        .clone(),
                )
                .unwrap();
        }
        let key = store.api_key([9; 32]).unwrap().unwrap();
        assert_eq!(
            key,
            ApiKey::made(
                "ward-7-discharge",
                crate::api_keys::Scopes::BEFORE_SCOPES,
                made
            )
        );
        let at = made + TimeDelta::days(3);
        assert!(store.revoke_api_key("ward-7-discharge", at).unwrap());
        assert_eq!(
            store.api_key([9; 32]).unwrap().unwrap().revoked_at,
            Some(at)
        );
    }

    #[test]
    fn readiness_fails_while_redis_is_down_and_returns_when_it_is_back() {
        let mut server = RedisServer::start();
        let store = RedisStore::open(&server.url()).unwrap();
        store.ping().unwrap();

        server.kill();
        for _ in 0..3 {
            let asked = Wall::now();
            let error = store.ping().expect_err("Redis is down");
            assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
            assert!(
                asked.elapsed() < Duration::from_secs(5),
                "/readyz must answer promptly, took {:?}",
                asked.elapsed()
            );
        }
        assert!(
            store.record_inbound(&sms("SM1")).is_err(),
            "nor is a webhook stored"
        );

        server.restart();
        let deadline = Wall::now() + Duration::from_secs(10);
        while store.ping().is_err() {
            assert!(Wall::now() < deadline, "the store did not reconnect");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(store.record_inbound(&sms("SM1")).unwrap());
    }

    #[test]
    fn readiness_fails_when_redis_refuses_writes() {
        let server = RedisServer::start();
        let store = RedisStore::open(&server.url()).unwrap();
        store.ping().unwrap();
        // As when it cannot write its append-only file, or is out of memory.
        assert!(server.command("CONFIG SET maxmemory 1").starts_with("+OK"));
        let error = store.ping().expect_err("Redis refuses writes");
        assert!(error.to_string().contains("OOM"), "{error}");
        // What is stored can still be read (the read scripts say they do not write).
        let now = "2026-11-27T19:05:00Z".parse().unwrap();
        assert_eq!(store.backlog(now).unwrap(), Backlog::default());
        let all = ConcernFilter {
            limit: 10,
            ..ConcernFilter::default()
        };
        assert!(store.concerns(&all).unwrap().is_empty());
        assert!(server.command("CONFIG SET maxmemory 0").starts_with("+OK"));
        store.ping().unwrap();
    }

    #[test]
    fn what_was_acknowledged_survives_redis_being_killed() {
        let mut server = RedisServer::start();
        let store = RedisStore::open(&server.url()).unwrap();
        for i in 0..200 {
            assert!(store.record_inbound(&sms(&format!("SM{i}"))).unwrap());
        }
        // SIGKILL, as a crash: the append-only file has every acknowledged
        // write, since Redis writes it before it answers.
        server.restart();
        let store = RedisStore::open(&server.url()).unwrap();
        assert_eq!(pending(&store, 1000).len(), 200);
        assert!(!store.record_inbound(&sms("SM7")).unwrap(), "still a retry");
    }

    #[test]
    fn a_backup_is_a_consistent_copy_another_redis_loads() {
        // Redis waits five seconds by default before streaming a snapshot,
        // in case more replicas ask; a test need not.
        let server = RedisServer::start_with(&["--repl-diskless-sync-delay", "0"]);
        let store = RedisStore::open(&server.url()).unwrap();
        assert!(store.record_inbound(&sms("SM1")).unwrap());
        let secret = store.secret("page-links").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nightingale.rdb");
        store.backup(&file).unwrap();
        assert!(
            store.backup(&file).is_err(),
            "an existing file is not overwritten"
        );

        let restored = RedisServer::start_from_rdb(&file);
        let copy = RedisStore::open(&restored.url()).unwrap();
        assert_eq!(pending(&copy, 10), [sms("SM1")]);
        assert_eq!(copy.secret("page-links").unwrap(), secret);
    }

    /// Cases beyond the conformance suite, run on both backends so that
    /// Redis keeps to what SQLite does.
    fn on_both(case: impl Fn(Arc<dyn crate::store::Store>)) {
        let dir = tempfile::tempdir().unwrap();
        case(Arc::new(
            crate::store::sqlite::SqliteStore::open(&dir.path().join("n.db")).unwrap(),
        ));
        let server = RedisServer::start();
        case(Arc::new(RedisStore::open(&server.url()).unwrap()));
    }

    fn concern(sender: &str) -> Concern {
        Concern {
            id: ConcernId::new(),
            enrolment: None,
            service: None,
            sender: PhoneNumber::parse(sender).unwrap().into(),
            party: crate::concern::Party::Patient,
            opened_at: "2026-11-27T19:05:00Z".parse().unwrap(),
            text: "My dressing is leaking".into(),
            escalation: crate::escalation::Escalation::new(false),
            pictures_explained: false,
            recognised: None,
            calls: Vec::new(),
            version: 0,
        }
    }

    #[test]
    fn a_resolved_concern_cannot_be_stored_again_as_new() {
        on_both(|store| {
            let now = "2026-11-27T19:05:00Z".parse().unwrap();
            let mut c = concern("+447700900123");
            c.escalation.status = crate::escalation::Status::Resolved {
                by: None,
                at: now,
                note: None,
            };
            let new = |c: &Concern| Change {
                at: now,
                concern: Some(c.clone()),
                ..Change::default()
            };
            store.apply(new(&c)).unwrap();
            let again = store.apply(new(&c));
            assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        });
    }

    #[test]
    fn a_text_stored_by_a_node_whose_clock_runs_ahead_is_claimed_at_once() {
        on_both(|store| {
            let mut item = sms("SM1");
            let now = item.received_at;
            item.received_at = now + TimeDelta::minutes(1);
            assert!(store.record_inbound(&item).unwrap());
            let claimed = store
                .claim_inbound(&NodeId::new("a"), now, TimeDelta::seconds(30), 10)
                .unwrap();
            assert_eq!(claimed.len(), 1);
        });
    }

    #[test]
    fn a_released_claim_cannot_be_renewed_and_an_outcome_ends_any_claim_on_its_text() {
        on_both(|store| {
            let now: Instant = "2026-11-27T19:05:00Z".parse().unwrap();
            let lease = TimeDelta::seconds(30);
            let a = NodeId::new("a");
            let text = |to: &str| crate::outbox::NewOutbox {
                concern: None,
                to: PhoneNumber::parse(to).unwrap().into(),
                body: "Hello".into(),
                purpose: crate::timeline::Purpose::Notice,
                staff: None,
                recipient: "patient".into(),
                step: None,
            };
            store
                .apply(Change {
                    at: now,
                    outbox: vec![text("+447700900123"), text("+447700900124")],
                    ..Change::default()
                })
                .unwrap();
            let held = store.claim_outbox(&a, now, lease, 1).unwrap();
            store.release(&[held[0].claim.clone()]).unwrap();
            assert!(
                store
                    .renew(&[held[0].claim.clone()], now + lease)
                    .unwrap()
                    .is_empty(),
                "released is released"
            );
            // A holds both; B's change cancels the second (as a concern
            // that moved on does): A's claim on it ends with it.
            let held = store.claim_outbox(&a, now, lease, 2).unwrap();
            let claims: Vec<Claim> = held.iter().map(|h| h.claim.clone()).collect();
            store
                .apply(Change {
                    at: now,
                    outbox_outcomes: vec![crate::outbox::OutboxOutcome::Cancelled {
                        id: held[1].item.id,
                    }],
                    ..Change::default()
                })
                .unwrap();
            let renewed = store.renew(&claims, now + lease).unwrap();
            assert_eq!(renewed.len(), 1);
            assert_eq!(renewed[0].key, held[0].claim.key);
        });
    }

    #[test]
    fn purging_clears_words_the_code_no_longer_knows_and_sets_aside_what_it_cannot_read() {
        let server = RedisServer::start();
        let store = RedisStore::open(&server.url()).unwrap();
        // Two concerns stored already resolved (as one opened and closed in
        // one step would be).
        let resolved_at: Instant = "2026-11-28T09:00:00Z".parse().unwrap();
        let [readable, unreadable] = ["+447700900801", "+447700900802"].map(|sender| {
            let mut c = concern(sender);
            c.escalation.status = crate::escalation::Status::Resolved {
                by: None,
                at: resolved_at,
                note: Some("Dressing changed".into()),
            };
            c
        });
        store
            .apply(Change {
                at: resolved_at,
                concern: Some(readable.clone()),
                ..Change::default()
            })
            .unwrap();
        store
            .apply(Change {
                at: resolved_at,
                concern: Some(unreadable.clone()),
                ..Change::default()
            })
            .unwrap();
        // A forward as early versions stored it, quoting the sender; an
        // entry that does not read; a message on a concern whose record no
        // longer reads.
        let push = |id: ConcernId, entry: &str| {
            store
                .command::<i64>(
                    redis::cmd("RPUSH")
                        .arg(store.key(&["c", &id.to_string(), "timeline"]))
                        .arg(entry)
                        .clone(),
                )
                .unwrap();
        };
        push(
            readable.id,
            r#"{"at":"2026-11-27T19:20:00Z","event":"forwarded","staff":"chen","name":"Chen Li","text":"SECRET leg"}"#,
        );
        push(
            readable.id,
            r#"{"event":"no such event","text":"SECRET shin"}"#,
        );
        push(
            unreadable.id,
            r#"{"at":"2026-11-27T19:05:00Z","event":"received","from":"patient","text":"SECRET knee"}"#,
        );
        store
            .command::<i64>(
                redis::cmd("HSET")
                    .arg(store.key(&["c", &unreadable.id.to_string()]))
                    .arg("data")
                    .arg(r#"{"broken": true}"#)
                    .clone(),
            )
            .unwrap();

        let purged = store
            .purge(resolved_at + TimeDelta::seconds(1), "[removed]")
            .unwrap();
        assert_eq!((purged.concerns, purged.set_aside), (1, 1));
        for id in [readable.id, unreadable.id] {
            let raw: Vec<String> = store
                .command(
                    redis::cmd("LRANGE")
                        .arg(store.key(&["c", &id.to_string(), "timeline"]))
                        .arg(0)
                        .arg(-1)
                        .clone(),
                )
                .unwrap();
            assert!(raw.iter().all(|r| !r.contains("SECRET")), "{raw:?}");
        }
        assert_eq!(
            store.timeline(readable.id).unwrap().len(),
            2,
            "every entry reads now"
        );
        assert_eq!(
            store.concern(readable.id).unwrap().unwrap().text,
            "[removed]"
        );
        assert_eq!(
            store
                .purge(resolved_at + TimeDelta::days(1), "[removed]")
                .unwrap(),
            Purged::default(),
            "the unreadable one is not tried again"
        );
    }

    #[test]
    fn a_list_walks_past_many_that_do_not_match_in_parts() {
        let server = RedisServer::start();
        let store = RedisStore::open(&server.url()).unwrap();
        let (ward, nursing) = (
            Id::parse("cardiology-ward-7").unwrap(),
            Id::parse("community-nursing-north").unwrap(),
        );
        let opened: Instant = "2026-11-27T19:05:00Z".parse().unwrap();
        // The one community nursing concern is the oldest, behind more ward
        // concerns than one script looks at.
        for i in 0..=LIST_BUDGET + 200 {
            let mut c = concern(&format!("+4479111{i:05}"));
            c.service = Some(if i == 0 {
                nursing.clone()
            } else {
                ward.clone()
            });
            c.opened_at = opened + TimeDelta::seconds(i as i64);
            store
                .apply(Change {
                    at: c.opened_at,
                    concern: Some(c),
                    ..Change::default()
                })
                .unwrap();
        }
        let found = store
            .concerns(&ConcernFilter {
                service: Some(nursing),
                limit: 5,
                ..ConcernFilter::default()
            })
            .unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].opened_at, opened);
        let newest = store
            .concerns(&ConcernFilter {
                service: Some(ward),
                limit: LIST_BUDGET + 50,
                ..ConcernFilter::default()
            })
            .unwrap();
        assert_eq!(newest.len(), LIST_BUDGET + 50);
        assert!(newest.windows(2).all(|w| w[0].opened_at > w[1].opened_at));
    }

    #[test]
    fn on_a_cluster_the_backup_comes_from_the_primary_holding_the_namespace() {
        let cluster = test_server::RedisCluster::start();
        for node in cluster.nodes() {
            node.command("CONFIG SET repl-diskless-sync-delay 0");
        }
        // Three trusts, so at least two primaries hold one each.
        let dir = tempfile::tempdir().unwrap();
        for trust in ["north", "south", "west"] {
            let url = format!("{}?namespace={trust}", cluster.url());
            let store = RedisStore::open(&url).unwrap();
            assert!(store.record_inbound(&sms(&format!("SM-{trust}"))).unwrap());
            let file = dir.path().join(format!("{trust}.rdb"));
            store.backup(&file).unwrap();
            let restored = RedisServer::start_from_rdb(&file);
            let copy = RedisStore::open(&format!("{}?namespace={trust}", restored.url())).unwrap();
            assert_eq!(pending(&copy, 10), [sms(&format!("SM-{trust}"))]);
        }
    }

    #[test]
    fn concerns_stored_before_the_service_index_join_it_when_the_store_opens() {
        let server = RedisServer::start();
        let ward = Id::parse("cardiology-ward-7").unwrap();
        let (from, until) = (
            "2026-11-23T00:00:00Z".parse().unwrap(),
            "2026-11-30T00:00:00Z".parse().unwrap(),
        );
        let store = RedisStore::open_in(&server.url(), "before").unwrap();
        // More than one batch of them.
        let mut ids = Vec::new();
        for i in 0..501 {
            let c = Concern {
                service: Some(ward.clone()),
                opened_at: from + chrono::TimeDelta::seconds(i),
                ..concern(&format!("+4477009{i:05}"))
            };
            ids.push(c.id);
            store
                .apply(Change {
                    at: c.opened_at,
                    concern: Some(c),
                    ..Change::default()
                })
                .unwrap();
        }
        // As a store written before reports would have it: no index, no marker.
        let _: () = store
            .command(
                redis::cmd("DEL")
                    .arg(store.key(&["c", "service", ward.as_str()]))
                    .arg(store.key(&["meta", "service-index"]))
                    .clone(),
            )
            .unwrap();
        assert!(
            store
                .concerns_opened(&ward, from, until)
                .unwrap()
                .is_empty()
        );
        let reopened = RedisStore::open_in(&server.url(), "before").unwrap();
        let found: Vec<ConcernId> = reopened
            .concerns_opened(&ward, from, until)
            .unwrap()
            .into_iter()
            .map(|(c, _)| c.id)
            .collect();
        assert_eq!(found, ids);
    }

    #[test]
    fn nodes_on_one_redis_see_one_store() {
        let server = RedisServer::start();
        let one = RedisStore::open(&server.url()).unwrap();
        let two = RedisStore::open(&server.url()).unwrap();
        assert!(one.record_inbound(&sms("SM1")).unwrap());
        assert!(!two.record_inbound(&sms("SM1")).unwrap());
        assert_eq!(one.secret("links").unwrap(), two.secret("links").unwrap());
        // Another namespace on the same server is another store.
        let other = RedisStore::open(&format!("{}?namespace=other-trust", server.url())).unwrap();
        assert!(pending(&other, 10).is_empty());
        assert!(other.record_inbound(&sms("SM1")).unwrap());
    }

    #[test]
    fn opening_an_unreachable_redis_fails_saying_where_without_the_password() {
        let server = RedisServer::start();
        let url = format!("redis://:hunter2@127.0.0.1:{}", server.port());
        drop(server);
        let Err(error) = RedisStore::open(&url) else {
            panic!("opened a Redis that is not running");
        };
        let message = error.to_string();
        assert!(
            message.contains("cannot reach Redis at redis://127.0.0.1:"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
    }

    fn until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Wall::now() + Duration::from_secs(30);
        while !done() {
            assert!(Wall::now() < deadline, "gave up waiting: {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    #[test]
    fn behind_sentinel_the_store_follows_the_master_when_it_dies() {
        // Redis waits five seconds by default before a replica's first sync,
        // in case more replicas ask; a test need not.
        let mut first = RedisServer::start_with(&["--repl-diskless-sync-delay", "0"]);
        let second = RedisServer::start();
        assert!(
            second
                .command(&format!("REPLICAOF 127.0.0.1 {}", first.port()))
                .starts_with("+OK")
        );
        // A sentinel learns of replicas from the master's INFO, so start it
        // once the replica is there (else it waits ten seconds to look again).
        until("the replica to connect", || {
            first
                .command("INFO replication")
                .contains("connected_slaves:1")
        });
        let sentinel = RedisServer::start_sentinel("nightingale", first.port());
        let url = format!("redis+sentinel://127.0.0.1:{}/nightingale", sentinel.port());
        let store = RedisStore::open(&url).unwrap();
        assert!(store.record_inbound(&sms("SM1")).unwrap());
        // Replication is asynchronous: until the replica has it, SM1 would
        // be lost with the master (docs/deploy.md says so; a run of this
        // test once showed it).
        until("the replica to have SM1", || {
            second.command("EXISTS {ng}:in:SM1").starts_with(":1")
        });
        until("the sentinel to know the replica", || {
            sentinel
                .command("SENTINEL REPLICAS nightingale")
                .contains(&second.port().to_string())
        });

        first.kill();
        // Writes fail (unavailable: the webhook answers 503 and the provider
        // retries) until Sentinel has promoted the replica; then the store
        // finds the new master by itself.
        let died = Wall::now();
        until("a write to land on the new master", || {
            store.record_inbound(&sms("SM2")).is_ok()
        });
        eprintln!(
            "writes failed for {:?} after the master died",
            died.elapsed()
        );
        assert!(second.command("ROLE").contains("master"));
        let direct = RedisStore::open(&second.url()).unwrap();
        let keys: Vec<String> = pending(&direct, 10).into_iter().map(|i| i.key).collect();
        assert_eq!(keys, ["SM1", "SM2"]);
        store.ping().unwrap();
    }
}
