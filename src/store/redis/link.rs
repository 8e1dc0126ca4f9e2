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
//! | `redis+cluster://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]…]` | Redis Cluster, found from any of these nodes (port 6379) |
//! | `rediss+sentinel://…`, `rediss+cluster://…` | the same with TLS to every node |
//!
//! The first three the redis crate parses itself; it has Sentinel and
//! Cluster clients but no URL for them, so those forms are parsed here.
//! Any form may end its query with `namespace=NAME` (the store's own
//! option, taken off before the rest is parsed): see
//! [`RedisStore::open`].
//!
//! [`RedisStore::open`]: super::RedisStore::open
//!
//! One server, or a master behind Sentinel, is reached through the crate's
//! `ConnectionManager`: one multiplexed connection that reconnects by
//! itself. Behind Sentinel, a failover moves the master, which a manager
//! pointed at the old address never learns; so when a command fails as a
//! moved master does (the connection drops, or the old master, now a
//! replica, answers `READONLY`) the link asks the sentinels again and swaps
//! in a manager for the new master. The failed command is not retried
//! here: it reaches the caller as unavailable, and the caller's own retry
//! (the engine's next pass, the provider's webhook retry) lands on the new
//! master. A Cluster is reached through the crate's cluster connection,
//! which follows the slot map (and `MOVED` answers) itself.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{
    Cmd, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, Pipeline, RedisConnectionInfo,
    RedisError, RedisFuture, TlsMode, Value,
};

/// The port sentinels listen on unless told otherwise.
const SENTINEL_PORT: u16 = 26379;
/// The port Redis servers listen on unless told otherwise.
const REDIS_PORT: u16 = 6379;

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
    /// A Redis Cluster.
    Cluster {
        /// Nodes to learn the cluster from (each with the credentials).
        nodes: Vec<ConnectionInfo>,
        /// Whether to speak TLS to every node.
        tls: bool,
    },
}

impl Target {
    /// Parse a store URL; the error says what to write instead, and never
    /// repeats a password.
    pub fn parse(url: &str) -> Result<Self, String> {
        for (scheme, tls) in [("redis+sentinel://", false), ("rediss+sentinel://", true)] {
            if let Some(rest) = url.strip_prefix(scheme) {
                return parse_sentinel(rest, tls);
            }
        }
        for (scheme, tls) in [("redis+cluster://", false), ("rediss+cluster://", true)] {
            if let Some(rest) = url.strip_prefix(scheme) {
                return parse_cluster(rest, tls);
            }
        }
        let info = url.into_connection_info().map_err(|e| {
            format!(
                "{} is not a Redis URL the store understands ({e}): write redis://HOST:PORT, rediss://HOST:PORT, redis+unix:///PATH, redis+sentinel://HOST:26379/MASTER or redis+cluster://HOST:PORT,HOST:PORT",
                redacted(url),
            )
        })?;
        Ok(Target::Server(info))
    }

    /// The target without credentials, for logs and errors.
    pub fn describe(&self) -> String {
        let list = |nodes: &[ConnectionInfo]| {
            nodes
                .iter()
                .map(|s| describe_addr(s.addr(), 0))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Target::Server(info) => describe_addr(info.addr(), info.redis_settings().db()),
            Target::Sentinel {
                sentinels,
                master,
                db,
                ..
            } => format!(
                "master {master:?} (db {db}) via sentinels {}",
                list(sentinels)
            ),
            Target::Cluster { nodes, .. } => format!("the cluster of {}", list(nodes)),
        }
    }
}

/// Split the store's own `namespace=NAME` option off a URL's query: the
/// URL without it, and the name. A name is 1–32 lowercase letters, digits
/// and hyphens (it becomes the hash tag of every key).
pub fn take_namespace(url: &str) -> Result<(String, Option<String>), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut namespace = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("namespace=") {
            Some(name) => namespace = Some(name.to_owned()),
            None => rest.push(pair),
        }
    }
    if let Some(name) = &namespace {
        let fine = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !fine {
            return Err(format!(
                "namespace={name:?} in NIGHTINGALE_STORE: write 1 to 32 lowercase letters, digits and hyphens, like namespace=north-trust"
            ));
        }
    }
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, namespace))
}

/// A node's address as a URL without credentials.
pub fn describe_addr(addr: &ConnectionAddr, db: i64) -> String {
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

/// The parts of a URL naming several hosts: `[USER:PASSWORD@]HOSTS[/PATH][?QUERY]`.
struct Hosts<'a> {
    credentials: RedisConnectionInfo,
    hosts: Vec<(String, u16)>,
    path: &'a str,
    query: &'a str,
}

fn parse_hosts<'a>(rest: &'a str, default_port: u16, form: &str) -> Result<Hosts<'a>, String> {
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    let mut credentials = RedisConnectionInfo::default();
    if let Some(userinfo) = userinfo {
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        if !user.is_empty() {
            credentials = credentials.set_username(decode(user)?);
        }
        if !password.is_empty() {
            credentials = credentials.set_password(decode(password)?);
        }
    }
    let hosts = hosts
        .split(',')
        .map(|host| {
            split_host_port(host, default_port)
                .ok_or_else(|| format!("{host:?} in the URL is not HOST or HOST:PORT: {form}"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Hosts {
        credentials,
        hosts,
        path,
        query,
    })
}

/// The connection details of one node.
fn node_info(
    (host, port): (String, u16),
    tls: bool,
    settings: &RedisConnectionInfo,
) -> Result<ConnectionInfo, String> {
    let addr = if tls {
        ConnectionAddr::TcpTls {
            host,
            port,
            insecure: false,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(host, port)
    };
    Ok(addr
        .into_connection_info()
        .map_err(|e| e.to_string())?
        .set_redis_settings(settings.clone()))
}

fn parse_sentinel(rest: &str, tls: bool) -> Result<Target, String> {
    let form = "write redis+sentinel://[USER:PASSWORD@]HOST[:PORT][,HOST[:PORT]]/MASTER[/DB]";
    let parsed = parse_hosts(rest, SENTINEL_PORT, form)?;
    let mut path = parsed.path.trim_end_matches('/').split('/');
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
    let mut sentinel_settings = RedisConnectionInfo::default();
    for pair in parsed.query.split('&').filter(|p| !p.is_empty()) {
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
    let sentinels = parsed
        .hosts
        .into_iter()
        .map(|host| node_info(host, tls, &sentinel_settings))
        .collect::<Result<_, _>>()?;
    let mut node = SentinelNodeConnectionInfo::default()
        .set_redis_connection_info(parsed.credentials.set_db(db));
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

fn parse_cluster(rest: &str, tls: bool) -> Result<Target, String> {
    let form = "write redis+cluster://[USER:PASSWORD@]HOST[:PORT][,HOST[:PORT]]";
    let parsed = parse_hosts(rest, REDIS_PORT, form)?;
    if !parsed.path.is_empty() || !parsed.query.is_empty() {
        return Err(format!(
            "a Cluster URL has no database or options (a Cluster has database 0 only): {form}"
        ));
    }
    let nodes = parsed
        .hosts
        .into_iter()
        .map(|host| node_info(host, tls, &parsed.credentials))
        .collect::<Result<_, _>>()?;
    Ok(Target::Cluster { nodes, tls })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_host_port(s: &str, default_port: u16) -> Option<(String, u16)> {
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
        None => default_port,
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
                .ok_or("a % in the URL is not followed by two hex digits")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the URL does not decode to UTF-8".to_owned())
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

/// A connection to send commands on: to one server, or to a Cluster.
#[derive(Clone)]
pub enum Conn {
    /// One server (or the master Sentinel named).
    Server(ConnectionManager),
    /// A Cluster: commands go to the node that holds their key's slot.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Server(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Server(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Server(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// The connection the store uses, and for Sentinel the means to find the
/// master again.
pub struct Link {
    current: Mutex<Current>,
    sentinel: Option<SentinelLookup>,
}

/// The connection in use, and the server (or, for a Cluster, the first
/// node) it talks to.
struct Current {
    conn: Conn,
    server: ConnectionInfo,
}

struct SentinelLookup {
    sentinel: tokio::sync::Mutex<Sentinel>,
    master: String,
    node: SentinelNodeConnectionInfo,
}

impl Link {
    /// Connect (must run on the store's runtime: the connection's tasks live there).
    pub async fn connect(target: &Target) -> Result<Arc<Self>, RedisError> {
        let (current, sentinel) = match target {
            Target::Server(info) => (
                Current::connect(redis::Client::open(info.clone())?).await?,
                None,
            ),
            Target::Sentinel {
                sentinels,
                master,
                node,
                ..
            } => {
                let mut sentinel = Sentinel::build(sentinels.clone())?;
                let client = sentinel.async_master_for(master, Some(node)).await?;
                let lookup = SentinelLookup {
                    sentinel: tokio::sync::Mutex::new(sentinel),
                    master: master.clone(),
                    node: node.clone(),
                };
                (Current::connect(client).await?, Some(lookup))
            }
            Target::Cluster { nodes, tls } => {
                let mut builder = ClusterClient::builder(nodes.clone())
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(RESPONSE_TIMEOUT)
                    .retries(2);
                if *tls {
                    builder = builder.tls(TlsMode::Secure);
                }
                let conn = builder.build()?.get_async_connection().await?;
                let server = nodes.first().cloned().ok_or_else(|| {
                    RedisError::from((redis::ErrorKind::InvalidClientConfig, "no cluster nodes"))
                })?;
                (
                    Current {
                        conn: Conn::Cluster(conn),
                        server,
                    },
                    None,
                )
            }
        };
        Ok(Arc::new(Link {
            current: Mutex::new(current),
            sentinel,
        }))
    }

    fn current(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The connection to send a command on (a cheap clone).
    pub fn conn(&self) -> Conn {
        self.current().conn.clone()
    }

    /// Whether this is a Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.current().conn, Conn::Cluster(_))
    }

    /// The server commands go to now (behind Sentinel, the master last
    /// found; for a Cluster, the first node named).
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
        Ok(Current {
            conn: Conn::Server(manager),
            server,
        })
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
            _ => panic!("{url} is not a Sentinel URL"),
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
    fn cluster_urls_name_their_nodes_and_nothing_else() {
        let Target::Cluster { nodes, tls } =
            Target::parse("rediss+cluster://:p%40ss@10.0.0.1,10.0.0.2:7001").unwrap()
        else {
            panic!("not a Cluster URL");
        };
        assert!(tls);
        let described: Vec<String> = nodes.iter().map(|n| describe_addr(n.addr(), 0)).collect();
        assert_eq!(
            described,
            ["rediss://10.0.0.1:6379", "rediss://10.0.0.2:7001"]
        );
        assert_eq!(nodes[1].redis_settings().password(), Some("p@ss"));
        assert!(
            Target::parse("redis+cluster://10.0.0.1/2").is_err(),
            "no databases"
        );
    }

    #[test]
    fn a_namespace_is_taken_off_the_url_and_checked() {
        assert_eq!(
            take_namespace("redis://h:6379/2?protocol=resp3&namespace=north-trust").unwrap(),
            (
                "redis://h:6379/2?protocol=resp3".to_owned(),
                Some("north-trust".to_owned())
            )
        );
        assert_eq!(
            take_namespace("redis+sentinel://h/main?namespace=a").unwrap(),
            ("redis+sentinel://h/main".to_owned(), Some("a".to_owned()))
        );
        assert_eq!(
            take_namespace("redis://h").unwrap(),
            ("redis://h".to_owned(), None)
        );
        for bad in ["", "North", "a}b", &"x".repeat(33)] {
            assert!(take_namespace(&format!("redis://h?namespace={bad}")).is_err());
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
