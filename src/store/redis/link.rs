//! Where the Redis store connects, and the connection it keeps.
//!
//! The URL forms `NIGHTINGALE_STORE` accepts for Redis:
//!
//! | form | what |
//! | --- | --- |
//! | `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` | one server, plain TCP (port 6379) |
//! | `rediss://…` | the same over TLS (rustls, the system's roots; `SSL_CERT_FILE` names another CA bundle) |
//! | `redis+unix:///PATH/redis.sock[?db=N&user=U&pass=P]` | one server on a Unix socket |
//! | `redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]…]/MASTER[/DB][?sentinel_username=U&sentinel_password=P]` | Sentinel: ask the sentinels (port 26379) which server is the master named `MASTER`; the credentials are the master's, `sentinel_…` the sentinels' |
//! | `rediss+sentinel://…` | Sentinel, with TLS to the sentinels and the master |
//!
//! The first three the redis crate parses itself; it has a Sentinel client
//! but no URL for it, so that form is parsed here.
//!
//! The connection is the crate's `ConnectionManager`: one multiplexed
//! connection that reconnects by itself. Behind Sentinel, a failover moves
//! the master, which a manager pointed at the old address never learns; so
//! when a command fails as a moved master does (the connection drops, or
//! the old master, now a replica, answers `READONLY`) the link asks the
//! sentinels again and swaps in a manager for the new master. The failed
//! command is not retried here: it reaches the caller as unavailable, and
//! the caller's own retry (the engine's next pass, the provider's webhook
//! retry) lands on the new master.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{
    ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo, RedisError, TlsMode,
};

/// The port sentinels listen on unless told otherwise.
const SENTINEL_PORT: u16 = 26379;

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one command may wait for its answer. A store call that has not
/// been answered by then fails as unavailable (the write may still land:
/// every write Nightingale makes is safe to repeat or is checked).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(3);

/// What a `NIGHTINGALE_STORE` Redis URL names.
#[derive(Clone)]
pub enum Target {
    /// One server (`redis://`, `rediss://`, `redis+unix://`).
    Server(ConnectionInfo),
    /// A master found through Sentinel.
    Sentinel {
        /// The sentinels to ask.
        sentinels: Vec<ConnectionInfo>,
        /// The master's name in the sentinels' configuration.
        master: String,
        /// How to connect to the master once found (TLS, credentials, db).
        node: SentinelNodeConnectionInfo,
        /// The master's database, to describe the target.
        db: i64,
    },
}

impl Target {
    /// Parse a store URL; the error says what to write instead, and never
    /// repeats a password.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            return parse_sentinel(rest, false);
        }
        if let Some(rest) = url.strip_prefix("rediss+sentinel://") {
            return parse_sentinel(rest, true);
        }
        let info = url.into_connection_info().map_err(|e| {
            format!(
                "{} is not a Redis URL the store understands ({}): write redis://HOST:PORT, rediss://HOST:PORT, redis+unix:///PATH or redis+sentinel://HOST:26379/MASTER",
                redacted(url),
                e
            )
        })?;
        Ok(Target::Server(info))
    }

    /// The target without credentials, for logs and errors.
    pub fn describe(&self) -> String {
        match self {
            Target::Server(info) => describe_addr(info.addr(), info.redis_settings().db()),
            Target::Sentinel {
                sentinels,
                master,
                db,
                ..
            } => format!(
                "master {master:?} (db {db}) via sentinels {}",
                sentinels
                    .iter()
                    .map(|s| describe_addr(s.addr(), 0))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

fn describe_addr(addr: &ConnectionAddr, db: i64) -> String {
    let db = if db == 0 {
        String::new()
    } else {
        format!("/{db}")
    };
    match addr {
        ConnectionAddr::Tcp(host, port) => format!("redis://{host}:{port}{db}"),
        ConnectionAddr::TcpTls { host, port, .. } => format!("rediss://{host}:{port}{db}"),
        ConnectionAddr::Unix(path) => format!("redis+unix://{}{db}", path.display()),
        _ => "a Redis server".to_owned(),
    }
}

/// The URL with any password replaced, for error messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

fn parse_sentinel(rest: &str, tls: bool) -> Result<Target, String> {
    let form = "write redis+sentinel://[USER:PASSWORD@]HOST[:PORT][,HOST[:PORT]]/MASTER[/DB]";
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest
        .split_once('/')
        .ok_or_else(|| format!("the Sentinel URL names no master: {form}"))?;
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    let mut path = path.trim_end_matches('/').split('/');
    let master = decode(path.next().unwrap_or_default())?;
    if master.is_empty() {
        return Err(format!("the Sentinel URL names no master: {form}"));
    }
    let db: i64 = match path.next() {
        Some(db) => db
            .parse()
            .map_err(|_| format!("the database in the Sentinel URL is not a number: {form}"))?,
        None => 0,
    };
    if path.next().is_some() {
        return Err(format!(
            "the Sentinel URL has more after the database: {form}"
        ));
    }

    let mut master_settings = RedisConnectionInfo::default().set_db(db);
    if let Some(userinfo) = userinfo {
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        if !user.is_empty() {
            master_settings = master_settings.set_username(decode(user)?);
        }
        if !password.is_empty() {
            master_settings = master_settings.set_password(decode(password)?);
        }
    }
    let mut sentinel_settings = RedisConnectionInfo::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "sentinel_username" => {
                sentinel_settings = sentinel_settings.set_username(decode(value)?)
            }
            "sentinel_password" => {
                sentinel_settings = sentinel_settings.set_password(decode(value)?)
            }
            other => {
                return Err(format!(
                    "the Sentinel URL has an option {other:?} the store does not know: only sentinel_username and sentinel_password"
                ));
            }
        }
    }

    let mut sentinels = Vec::new();
    for host in hosts.split(',') {
        let (name, port) = split_host_port(host).ok_or_else(|| {
            format!("{host:?} in the Sentinel URL is not HOST or HOST:PORT: {form}")
        })?;
        let addr = if tls {
            ConnectionAddr::TcpTls {
                host: name,
                port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(name, port)
        };
        let info = addr
            .into_connection_info()
            .map_err(|e| format!("{host:?} in the Sentinel URL: {e}"))?
            .set_redis_settings(sentinel_settings.clone());
        sentinels.push(info);
    }
    let mut node = SentinelNodeConnectionInfo::default().set_redis_connection_info(master_settings);
    if tls {
        node = node.set_tls_mode(TlsMode::Secure);
    }
    Ok(Target::Sentinel {
        sentinels,
        master,
        node,
        db,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return None,
        }
    } else {
        match s.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => SENTINEL_PORT,
    };
    Some((host.to_owned(), port))
}

/// Undo %XX escapes (a password may hold any character).
fn decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("a % in the Sentinel URL is not followed by two hex digits")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the Sentinel URL does not decode to UTF-8".to_owned())
}

fn manager_config() -> ConnectionManagerConfig {
    // Few, quick reconnection attempts: while Redis is down, a store call
    // (and so a webhook, and `/readyz`) fails within seconds, not minutes.
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(2)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
}

/// The connection the store uses: a manager, and for Sentinel the means to
/// find the master again.
pub struct Link {
    current: Mutex<Current>,
    sentinel: Option<SentinelLookup>,
}

/// The manager in use, and the server it talks to.
struct Current {
    manager: ConnectionManager,
    server: ConnectionInfo,
}

struct SentinelLookup {
    sentinel: tokio::sync::Mutex<Sentinel>,
    master: String,
    node: SentinelNodeConnectionInfo,
}

impl Link {
    /// Connect (must run on the store's runtime: the manager's tasks live there).
    pub async fn connect(target: &Target) -> Result<Arc<Self>, RedisError> {
        match target {
            Target::Server(info) => {
                let client = redis::Client::open(info.clone())?;
                Ok(Arc::new(Link {
                    current: Mutex::new(Current::connect(client).await?),
                    sentinel: None,
                }))
            }
            Target::Sentinel {
                sentinels,
                master,
                node,
                ..
            } => {
                let mut sentinel = Sentinel::build(sentinels.clone())?;
                let client = sentinel.async_master_for(master, Some(node)).await?;
                Ok(Arc::new(Link {
                    current: Mutex::new(Current::connect(client).await?),
                    sentinel: Some(SentinelLookup {
                        sentinel: tokio::sync::Mutex::new(sentinel),
                        master: master.clone(),
                        node: node.clone(),
                    }),
                }))
            }
        }
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The manager to send a command on (a cheap clone).
    pub fn manager(&self) -> ConnectionManager {
        self.current().manager.clone()
    }

    /// The server commands go to now (behind Sentinel, the master last found).
    pub fn server(&self) -> ConnectionInfo {
        self.current().server.clone()
    }

    /// A command failed with `error`: behind Sentinel, if the master may
    /// have moved, ask where it is now and reconnect there.
    pub async fn failed(&self, error: &RedisError) {
        let Some(lookup) = &self.sentinel else {
            return;
        };
        let moved = error.is_io_error()
            || error.is_connection_dropped()
            || error.is_connection_refusal()
            || error.is_timeout()
            || error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly);
        if !moved {
            return;
        }
        // One lookup at a time; callers that fail meanwhile need not queue.
        let Ok(mut sentinel) = lookup.sentinel.try_lock() else {
            return;
        };
        let Ok(client) = sentinel
            .async_master_for(&lookup.master, Some(&lookup.node))
            .await
        else {
            return;
        };
        if *client.get_connection_info().addr() == *self.server().addr() {
            return;
        }
        if let Ok(next) = Current::connect(client).await {
            tracing::warn!(
                master = %lookup.master,
                now_at = %describe_addr(next.server.addr(), 0),
                "the Redis master moved: reconnected to the one Sentinel names now"
            );
            *self.current() = next;
        }
    }
}

impl Current {
    async fn connect(client: redis::Client) -> Result<Self, RedisError> {
        let server = client.get_connection_info().clone();
        let manager = ConnectionManager::new_with_config(client, manager_config()).await?;
        Ok(Current { manager, server })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentinel(url: &str) -> (Vec<String>, String, i64) {
        match Target::parse(url).unwrap() {
            Target::Sentinel {
                sentinels,
                master,
                db,
                ..
            } => (
                sentinels
                    .iter()
                    .map(|s| describe_addr(s.addr(), 0))
                    .collect(),
                master,
                db,
            ),
            Target::Server(_) => panic!("{url} is not a Sentinel URL"),
        }
    }

    #[test]
    fn sentinel_urls_name_their_sentinels_master_and_database() {
        assert_eq!(
            sentinel("redis+sentinel://10.0.0.1:26379,10.0.0.2,[::1]:26380/nightingale/2"),
            (
                vec![
                    "redis://10.0.0.1:26379".to_owned(),
                    "redis://10.0.0.2:26379".to_owned(),
                    "redis://::1:26380".to_owned()
                ],
                "nightingale".to_owned(),
                2
            )
        );
        assert_eq!(
            sentinel("rediss+sentinel://:p%40ss@sentinel.trust.nhs.uk/main?sentinel_password=s").0,
            ["rediss://sentinel.trust.nhs.uk:26379"]
        );
    }

    #[test]
    fn a_bad_url_says_what_to_write_and_never_repeats_the_password() {
        for url in [
            "redis+sentinel://host:26379",
            "redis+sentinel://host:26379/",
            "redis+sentinel://host:port/main",
            "redis+sentinel://host/main/db0",
            "redis+sentinel://host/main?password=x",
            "redis://:hunter2@:bad:port",
        ] {
            let Err(message) = Target::parse(url) else {
                panic!("{url} was accepted");
            };
            assert!(!message.contains("hunter2"), "{message}");
            assert!(
                message.contains("write") || message.contains("only"),
                "{url}: {message}"
            );
        }
    }

    #[test]
    fn a_server_url_is_described_without_its_credentials() {
        let target = Target::parse("redis://default:hunter2@redis.trust.nhs.uk:6380/3").unwrap();
        assert_eq!(target.describe(), "redis://redis.trust.nhs.uk:6380/3");
        let target = Target::parse("rediss://:hunter2@redis.trust.nhs.uk").unwrap();
        assert_eq!(target.describe(), "rediss://redis.trust.nhs.uk:6379");
    }
}
