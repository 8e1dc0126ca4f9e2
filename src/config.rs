//! Configuration: `NIGHTINGALE_*` environment variables, optionally on top of
//! a TOML file (`--config PATH` or `NIGHTINGALE_CONFIG`). The environment
//! wins, so a container can override one setting of a shared file.
//!
//! Secrets are held as [`SecretString`], whose `Debug` prints nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

/// Every setting, with its default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the HTTP server listens (`NIGHTINGALE_LISTEN`).
    pub listen: SocketAddr,
    /// The URL Twilio and clinicians' phones reach this service at
    /// (`NIGHTINGALE_PUBLIC_URL`); used for webhook signatures and links.
    pub public_url: String,
    /// The store: `sqlite://PATH` or `redis://…` (`NIGHTINGALE_STORE`).
    pub store: String,
    /// The directory of rota files (`NIGHTINGALE_ROTA_DIR`).
    pub rota_dir: PathBuf,
    /// Twilio account SID (`NIGHTINGALE_TWILIO_ACCOUNT_SID`).
    pub twilio_account_sid: Option<String>,
    /// Twilio auth token (`NIGHTINGALE_TWILIO_AUTH_TOKEN`).
    pub twilio_auth_token: Option<SecretString>,
    /// The previous auth token, still accepted on webhooks while a rotation
    /// settles (`NIGHTINGALE_TWILIO_AUTH_TOKEN_PREVIOUS`).
    pub twilio_auth_token_previous: Option<SecretString>,
    /// The number Nightingale texts and calls from (`NIGHTINGALE_TWILIO_FROM`).
    pub twilio_from: Option<String>,
    /// Twilio's REST API base (`NIGHTINGALE_TWILIO_API_BASE`); tests point it at a local fake.
    pub twilio_api_base: String,
    /// How long one Twilio API call may take before it counts as failed and
    /// is tried again (`NIGHTINGALE_TWILIO_TIMEOUT`, e.g. "10s"). A text
    /// that timed out may have been sent: it is looked up at Twilio first.
    #[serde(deserialize_with = "duration")]
    pub twilio_timeout: Duration,
    /// Outgoing mail server (`NIGHTINGALE_SMTP_URL`), e.g. `smtps://user:pass@host`.
    pub smtp_url: Option<SecretString>,
    /// The From address of emails (`NIGHTINGALE_EMAIL_FROM`).
    pub email_from: Option<String>,
    /// Where the inbound SMTP listener binds (`NIGHTINGALE_SMTP_LISTEN`).
    pub smtp_listen: Option<SocketAddr>,
    /// The domains the SMTP listener takes mail for, separated by commas
    /// (`NIGHTINGALE_EMAIL_DOMAIN`); mail for any other is refused (`550`).
    pub email_domain: Option<String>,
    /// The certificate chain (PEM) `STARTTLS` offers on the SMTP listener
    /// (`NIGHTINGALE_SMTP_TLS_CERT`); with the key, it turns `STARTTLS` on.
    pub smtp_tls_cert: Option<PathBuf>,
    /// Its private key (PEM) (`NIGHTINGALE_SMTP_TLS_KEY`).
    pub smtp_tls_key: Option<PathBuf>,
    /// The largest email taken, in bytes (`NIGHTINGALE_EMAIL_MAX_BYTES`); larger is refused (`552`).
    pub email_max_bytes: usize,
    /// How many SMTP conversations one address (one IPv6 /64) may hold at
    /// once (`NIGHTINGALE_SMTP_MAX_PER_HOST`); past them `421`. The
    /// trusted relays are not counted.
    pub smtp_max_per_host: usize,
    /// How long one SMTP connection may last from connect
    /// (`NIGHTINGALE_SMTP_SESSION_LIMIT`, e.g. "5m"); then `421` and close.
    #[serde(deserialize_with = "duration")]
    pub smtp_session_limit: Duration,
    /// How many bytes of unfinished DATA all SMTP conversations together
    /// may hold (`NIGHTINGALE_SMTP_BUFFER_BYTES`); past it `452`. At least
    /// `email_max_bytes`.
    pub smtp_buffer_bytes: usize,
    /// The trust's mail relays, addresses or CIDRs separated by commas
    /// (`NIGHTINGALE_SMTP_TRUSTED_RELAYS`): their `Authentication-Results`
    /// header is believed, and mail from anyone else proves nothing.
    pub smtp_trusted_relays: Option<String>,
    /// The authserv-id the trusted relays write in `Authentication-Results`
    /// (`NIGHTINGALE_SMTP_AUTHSERV_ID`); when set, a header with another is
    /// not theirs.
    pub smtp_authserv_id: Option<String>,
    /// Where the HL7 v2 MLLP listener binds (`NIGHTINGALE_MLLP_LISTEN`,
    /// e.g. `0.0.0.0:2575`); unset, there is none.
    pub mllp_listen: Option<SocketAddr>,
    /// Who may connect to it (`NIGHTINGALE_MLLP_ALLOW`): the integration
    /// engine's addresses or CIDR ranges, separated by commas. Unset, only
    /// this machine (loopback) may.
    #[serde(deserialize_with = "trusted_proxies")]
    pub mllp_allow: TrustedProxies,
    /// The certificate chain (PEM) that turns the MLLP listener to TLS
    /// (`NIGHTINGALE_MLLP_TLS_CERT`), with the key.
    pub mllp_tls_cert: Option<PathBuf>,
    /// Its private key (PEM) (`NIGHTINGALE_MLLP_TLS_KEY`).
    pub mllp_tls_key: Option<PathBuf>,
    /// The largest HL7 message taken, in bytes (`NIGHTINGALE_MLLP_MAX_BYTES`);
    /// a larger one is answered `AR`. Default 1 MiB: an ADT is a few KiB.
    pub mllp_max_bytes: usize,
    /// How long an MLLP connection may stay silent before it is closed
    /// (`NIGHTINGALE_MLLP_IDLE_TIMEOUT`, e.g. "10m").
    #[serde(deserialize_with = "duration")]
    pub mllp_idle_timeout: Duration,
    /// The service whose in-hours team takes the emails of strangers,
    /// which page nobody (`NIGHTINGALE_EMAIL_STRANGERS_SERVICE`, a rota
    /// service id); default: the first service in the rota with an
    /// in-hours team.
    pub email_strangers_service: Option<String>,
    /// Log filter in `tracing` syntax (`NIGHTINGALE_LOG`), e.g. `info,nightingale=debug`.
    pub log: String,
    /// The directory of message templates and the red-flag list (`NIGHTINGALE_TEMPLATES_DIR`).
    pub templates_dir: PathBuf,
    /// How many days after discharge an enrolment lasts (`NIGHTINGALE_ENROLMENT_DAYS`).
    pub enrolment_days: u32,
    /// How many days after a concern is resolved what people wrote in it is
    /// removed (`NIGHTINGALE_RETENTION_DAYS`); who was paged and who accepted stays.
    pub retention_days: u32,
    /// How long after accepting an unresolved concern its holder is reminded
    /// (`NIGHTINGALE_REMIND_AFTER`, e.g. "2h").
    pub remind_after: String,
    /// Where `nightingale calendar update` fetches gov.uk's bank holidays
    /// (`NIGHTINGALE_BANK_HOLIDAYS_URL`).
    pub bank_holidays_url: String,
    /// How many HTTP connections are served at once (`NIGHTINGALE_MAX_CONNECTIONS`).
    /// A reserve of [`HEALTH_RESERVE`] more is kept for health checks and metrics.
    pub max_connections: usize,
    /// How many texts are being handed to the provider at once
    /// (`NIGHTINGALE_SENDS_AT_ONCE`). Each waits on its own task and
    /// connection, so a provider that answers slowly holds this many before
    /// due pages start to queue: at 10 s an answer, 256 keep up with 25 pages
    /// a second. Past that, texts wait in the outbox and each send that
    /// ends frees its place for the most urgent text due (ADR 31): a page
    /// waits for a place, never behind the bulk texts queued before it.
    /// Keep it within the provider account's limit on concurrent requests.
    pub sends_at_once: usize,
    /// The sending number's rate, in SMS segments a second
    /// (`NIGHTINGALE_TWILIO_MPS`; at least 1). Nightingale hands Twilio no
    /// more than the number sends in about the next second, so Twilio's
    /// queue stays that short and a page never waits behind bulk there
    /// (ADR 31). The default, 10, is what Twilio gives a UK long code
    /// (Twilio's support article "Understanding Twilio Rate Limits and
    /// Message Queues": 10 segments a second from any number sending
    /// outside the US and Canada). Set it to what your number, short code
    /// or Messaging Service is given; nodes sharing one number share it,
    /// so give each node its share.
    pub twilio_mps: u32,
    /// How long a client may take to send a request's headers, and how long
    /// an idle keep-alive connection is kept (`NIGHTINGALE_HEADER_TIMEOUT`).
    #[serde(deserialize_with = "duration")]
    pub header_timeout: Duration,
    /// How long a request body may go without a byte arriving (`NIGHTINGALE_BODY_TIMEOUT`).
    #[serde(deserialize_with = "duration")]
    pub body_timeout: Duration,
    /// How long a whole request may take, body and answer included
    /// (`NIGHTINGALE_REQUEST_TIMEOUT`); past it the answer is `503`.
    #[serde(deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// How log lines are written (`NIGHTINGALE_LOG_FORMAT`): `text` or `json`.
    pub log_format: LogFormat,
    /// The proxies whose `X-Forwarded-For` is believed
    /// (`NIGHTINGALE_TRUSTED_PROXIES`): addresses or CIDR ranges, v4 or v6,
    /// separated by commas. From anyone else the header is ignored and the
    /// client is the connection's peer.
    #[serde(deserialize_with = "trusted_proxies")]
    pub trusted_proxies: TrustedProxies,
    /// Codes one client may ask for one number in 15 minutes
    /// (`NIGHTINGALE_SIGN_IN_CODES_PER_NUMBER`); past it the client is
    /// answered as usual but no new code is texted.
    pub sign_in_codes_per_number: u32,
    /// Codes one client may ask for, whatever the numbers, in 15 minutes
    /// (`NIGHTINGALE_SIGN_IN_CODES_PER_CLIENT`); past it, as above.
    pub sign_in_codes_per_client: u32,
    /// Wrong codes typed for one person in a day (UTC) after which no code
    /// signs them in until the day ends (`NIGHTINGALE_SIGN_IN_FAILURES_PER_DAY`);
    /// they are texted when it is reached.
    pub sign_in_failures_per_day: u32,
}

/// The proxies whose `X-Forwarded-For` header is believed: addresses and
/// CIDR ranges, parsed once at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    /// Read a list like `"10.0.0.5, 10.1.0.0/16, fd00::/8"` (commas or
    /// spaces between); an error names the entry that is neither an
    /// address nor a range.
    pub fn parse(text: &str) -> Result<Self, NotAProxy> {
        text.split([',', ' ', '\t', '\n'])
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<ipnet::IpNet>()
                    .map(|net| net.trunc())
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| NotAProxy(entry.to_owned()))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `ip` is one of the proxies (an IPv4 address a dual-stack
    /// socket reports as `::ffff:a.b.c.d` counts as that IPv4 address).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Whether no proxy is named.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A trusted proxy, as written, that is neither an address nor a range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an IP address or a CIDR range: write one like \"10.0.0.5\", \"10.1.0.0/16\" or \"fd00::/8\""
)]
pub struct NotAProxy(pub String);

/// A list of trusted proxies: one string (as the environment gives it) or,
/// in the file, a list of strings.
fn trusted_proxies<'de, D: Deserializer<'de>>(deserializer: D) -> Result<TrustedProxies, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        One(String),
        Many(Vec<String>),
    }
    let text = match Written::deserialize(deserializer)? {
        Written::One(text) => text,
        Written::Many(entries) => entries.join(","),
    };
    TrustedProxies::parse(&text).map_err(serde::de::Error::custom)
}

/// Connections kept, beyond `max_connections`, for `/healthz`, `/readyz` and
/// `/metrics` only, so a load balancer and monitoring still get an answer
/// when every ordinary connection is taken.
pub const HEALTH_RESERVE: usize = 32;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (coloured only on a terminal).
    #[default]
    Text,
    /// One JSON object a line, for log shippers.
    Json,
}

/// A duration written for people (`"10s"`, `"2m"`), more than zero.
fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    match humantime::parse_duration(text.trim()) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(serde::de::Error::custom(format!(
            "{text:?} is not a duration above zero: write one like \"10s\""
        ))),
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "http://localhost:8080".to_owned(),
            store: "sqlite://data/nightingale.db".to_owned(),
            rota_dir: PathBuf::from("rota"),
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_auth_token_previous: None,
            twilio_from: None,
            twilio_api_base: "https://api.twilio.com".to_owned(),
            twilio_timeout: Duration::from_secs(10),
            smtp_url: None,
            email_from: None,
            smtp_listen: None,
            email_domain: None,
            smtp_tls_cert: None,
            smtp_tls_key: None,
            email_max_bytes: 10 * 1024 * 1024,
            smtp_max_per_host: 16,
            smtp_session_limit: Duration::from_secs(5 * 60),
            smtp_buffer_bytes: 64 * 1024 * 1024,
            smtp_trusted_relays: None,
            smtp_authserv_id: None,
            mllp_listen: None,
            mllp_allow: TrustedProxies::default(),
            mllp_tls_cert: None,
            mllp_tls_key: None,
            mllp_max_bytes: 1024 * 1024,
            mllp_idle_timeout: Duration::from_secs(10 * 60),
            email_strangers_service: None,
            log: "info".to_owned(),
            templates_dir: PathBuf::from("templates"),
            enrolment_days: 30,
            retention_days: 90,
            remind_after: "2h".to_owned(),
            bank_holidays_url: crate::calendar::update::GOV_UK_URL.to_owned(),
            max_connections: 512,
            sends_at_once: crate::engine::SENDS_AT_ONCE,
            twilio_mps: crate::channels::budget::UK_LONG_CODE_MPS,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(15),
            log_format: LogFormat::Text,
            trusted_proxies: TrustedProxies::default(),
            sign_in_codes_per_number: 3,
            sign_in_codes_per_client: 10,
            sign_in_failures_per_day: 10,
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// The file or a variable did not parse.
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// The prefix of every environment variable Nightingale reads.
pub const ENV_PREFIX: &str = "NIGHTINGALE_";

impl Config {
    /// Read the file (if any) then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_sources(file, std::env::vars())
    }

    /// Read the file (if any) then the given variables; the seam tests use.
    pub fn from_sources(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Invalid {
                        origin: path.display().to_string(),
                        message: e.message().to_owned(),
                    })?
            }
            None => toml::Table::new(),
        };
        let known = Self::keys();
        for (name, value) in vars {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let key = key.to_ascii_lowercase();
            if key == "config" {
                continue;
            }
            if !known.contains(&key.as_str()) {
                return Err(ConfigError::Invalid {
                    origin: name.clone(),
                    message: format!(
                        "not a Nightingale setting; the settings are {}",
                        known
                            .iter()
                            .map(|k| format!("{ENV_PREFIX}{}", k.to_ascii_uppercase()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            let value = match (key.as_str(), value.trim().parse::<i64>()) {
                (
                    "enrolment_days"
                    | "retention_days"
                    | "max_connections"
                    | "sends_at_once"
                    | "twilio_mps"
                    | "sign_in_codes_per_number"
                    | "sign_in_codes_per_client"
                    | "sign_in_failures_per_day"
                    | "email_max_bytes"
                    | "mllp_max_bytes"
                    | "smtp_max_per_host"
                    | "smtp_buffer_bytes",
                    Ok(n),
                ) => toml::Value::Integer(n),
                _ => toml::Value::String(value),
            };
            table.insert(key, value);
        }
        let origin = file.map_or_else(
            || "environment".to_owned(),
            |p| format!("{} and environment", p.display()),
        );
        Config::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Invalid {
            origin,
            message: e.message().to_owned(),
        })
    }

    fn keys() -> [&'static str; 46] {
        [
            "listen",
            "public_url",
            "store",
            "rota_dir",
            "twilio_account_sid",
            "twilio_auth_token",
            "twilio_auth_token_previous",
            "twilio_from",
            "twilio_api_base",
            "twilio_timeout",
            "smtp_url",
            "email_from",
            "smtp_listen",
            "email_domain",
            "smtp_tls_cert",
            "smtp_tls_key",
            "email_max_bytes",
            "smtp_max_per_host",
            "smtp_session_limit",
            "smtp_buffer_bytes",
            "smtp_trusted_relays",
            "smtp_authserv_id",
            "mllp_listen",
            "mllp_allow",
            "mllp_tls_cert",
            "mllp_tls_key",
            "mllp_max_bytes",
            "mllp_idle_timeout",
            "email_strangers_service",
            "log",
            "templates_dir",
            "enrolment_days",
            "retention_days",
            "remind_after",
            "bank_holidays_url",
            "max_connections",
            "sends_at_once",
            "twilio_mps",
            "header_timeout",
            "body_timeout",
            "request_timeout",
            "log_format",
            "trusted_proxies",
            "sign_in_codes_per_number",
            "sign_in_codes_per_client",
            "sign_in_failures_per_day",
        ]
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Why the configuration is refused with the one variable `(name, value)` set.
    fn refused(var: (&str, &str)) -> String {
        Config::from_sources(None, vars(&[var]))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_run_the_demo_trust_locally() {
        let config = Config::from_sources(None, vars(&[])).unwrap();
        assert_eq!(config.listen.port(), 8080);
        assert_eq!(config.rota_dir, PathBuf::from("rota"));
        assert_eq!(config.store, "sqlite://data/nightingale.db");
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nightingale.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\nrota_dir = \"/etc/nightingale/rota\"\n",
        )
        .unwrap();
        let config = Config::from_sources(
            Some(&file),
            vars(&[
                ("NIGHTINGALE_LISTEN", "127.0.0.1:7000"),
                ("NIGHTINGALE_TWILIO_AUTH_TOKEN", "s3cret"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(config.listen.port(), 7000);
        assert_eq!(config.rota_dir, PathBuf::from("/etc/nightingale/rota"));
        assert_eq!(
            config.twilio_auth_token.as_ref().unwrap().expose_secret(),
            "s3cret"
        );
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn a_misspelt_setting_is_an_error_that_lists_the_real_ones() {
        let err = refused(("NIGHTINGALE_LISTN", "x"));
        assert!(err.contains("NIGHTINGALE_LISTEN"), "{err}");
        let err = refused(("NIGHTINGALE_LISTEN", "everywhere"));
        assert!(err.contains("environment"), "{err}");
    }

    #[test]
    fn limits_and_log_format_are_read_and_a_wrong_value_says_what_to_write() {
        let config = Config::from_sources(
            None,
            vars(&[
                ("NIGHTINGALE_MAX_CONNECTIONS", "64"),
                ("NIGHTINGALE_SENDS_AT_ONCE", "4096"),
                ("NIGHTINGALE_TWILIO_TIMEOUT", "15s"),
                ("NIGHTINGALE_HEADER_TIMEOUT", "5s"),
                ("NIGHTINGALE_LOG_FORMAT", "json"),
                ("NIGHTINGALE_EMAIL_MAX_BYTES", "2000000"),
                ("NIGHTINGALE_SMTP_MAX_PER_HOST", "4"),
                ("NIGHTINGALE_SMTP_SESSION_LIMIT", "90s"),
                ("NIGHTINGALE_SMTP_BUFFER_BYTES", "8000000"),
                ("NIGHTINGALE_SMTP_TRUSTED_RELAYS", "10.0.4.0/24"),
            ]),
        )
        .unwrap();
        assert_eq!(config.email_max_bytes, 2_000_000);
        assert_eq!(config.smtp_max_per_host, 4);
        assert_eq!(config.smtp_session_limit, Duration::from_secs(90));
        assert_eq!(config.smtp_buffer_bytes, 8_000_000);
        assert_eq!(config.smtp_trusted_relays.as_deref(), Some("10.0.4.0/24"));
        assert_eq!(config.max_connections, 64);
        assert_eq!(config.sends_at_once, 4096);
        assert_eq!(config.twilio_timeout, Duration::from_secs(15));
        assert_eq!(config.header_timeout, Duration::from_secs(5));
        assert_eq!(config.request_timeout, Duration::from_secs(15));
        assert_eq!(config.log_format, LogFormat::Json);
        let err = refused(("NIGHTINGALE_LOG_FORMAT", "xml"));
        assert!(err.contains("`text`") && err.contains("`json`"), "{err}");
        let err = refused(("NIGHTINGALE_BODY_TIMEOUT", "soon"));
        assert!(err.contains("like \"10s\""), "{err}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges_of_either_kind() {
        let config = Config::from_sources(
            None,
            vars(&[
                (
                    "NIGHTINGALE_TRUSTED_PROXIES",
                    "10.0.0.5, 10.1.0.0/16 fd00::/8",
                ),
                ("NIGHTINGALE_SIGN_IN_FAILURES_PER_DAY", "20"),
            ]),
        )
        .unwrap();
        let proxies = config.trusted_proxies;
        assert!(proxies.contains("10.0.0.5".parse().unwrap()));
        assert!(!proxies.contains("10.0.0.6".parse().unwrap()));
        assert!(proxies.contains("10.1.200.3".parse().unwrap()));
        assert!(proxies.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(proxies.contains("fd00::1".parse().unwrap()));
        assert!(!proxies.contains("2001:db8::1".parse().unwrap()));
        assert_eq!(config.sign_in_failures_per_day, 20);
        assert!(Config::default().trusted_proxies.is_empty());

        let err = refused(("NIGHTINGALE_TRUSTED_PROXIES", "10.0.0.5, the-proxy"));
        assert!(
            err.contains("\"the-proxy\"") && err.contains("10.1.0.0/16"),
            "{err}"
        );

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nightingale.toml");
        std::fs::write(
            &file,
            "trusted_proxies = [\"192.0.2.1\", \"2001:db8::/32\"]\n",
        )
        .unwrap();
        let proxies = Config::from_sources(Some(&file), vars(&[]))
            .unwrap()
            .trusted_proxies;
        assert!(proxies.contains("2001:db8::7".parse().unwrap()));
        assert!(proxies.contains("192.0.2.1".parse().unwrap()));
    }
}
