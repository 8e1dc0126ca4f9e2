//! API keys, secrets and backups on Redis.

use redis::IntoConnectionInfo;

use super::plan::{corrupt, instant, json as to_json, ms};

use super::scripts;
use super::{RedisStore, args, from_json, hex, unavailable};
use crate::api_keys::ApiKey;
use crate::api_keys::Keys;
use crate::clock::Instant;
use crate::store_error::StoreResult;

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
    crate::store::codec::api_key_as_stored(
        name,
        client,
        scopes.as_deref(),
        at(&created)?,
        expires_at.map(|ms| at(&ms.to_string())).transpose()?,
        (!revoked.is_empty()).then(|| at(&revoked)).transpose()?,
    )
}

impl RedisStore {
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
}

impl Keys for RedisStore {
    fn create_api_key(&self, key: &ApiKey, hash: [u8; 32]) -> StoreResult<()> {
        let grant = to_json(&Grant {
            client: key.client.clone(),
            scopes: key.scopes.to_string(),
            expires_at: key.expires_at.map(|t| t.timestamp_millis()),
        })?;
        self.script::<String>(
            &scripts::CREATE_API_KEY,
            args([
                &hex(&hash),
                &key.name,
                &ms(key.created_at),
                &grant,
                &key.revoked_at.map(ms).unwrap_or_default(),
            ]),
        )?;
        Ok(())
    }

    fn api_key(&self, hash: [u8; 32]) -> StoreResult<Option<ApiKey>> {
        let rows: Vec<Vec<String>> = self.script(&scripts::API_KEYS, args([&hex(&hash)]))?;
        rows.into_iter().next().map(api_key_from).transpose()
    }

    fn api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        let rows: Vec<Vec<String>> = self.script(&scripts::API_KEYS, args([&""]))?;
        let mut keys = rows
            .into_iter()
            .map(api_key_from)
            .collect::<StoreResult<Vec<_>>>()?;
        keys.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
        Ok(keys)
    }

    fn revoke_api_key(&self, name: &str, at: Instant) -> StoreResult<bool> {
        let revoked: u64 = self.script(&scripts::REVOKE_API_KEY, args([&name, &ms(at)]))?;
        Ok(revoked > 0)
    }

    fn secret(&self, name: &str) -> StoreResult<Vec<u8>> {
        let mut fresh = [0u8; 32];
        getrandom::getrandom(&mut fresh).map_err(unavailable)?;
        self.script(&scripts::SECRET, args([&name, &fresh]))
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
