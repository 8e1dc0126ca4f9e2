//! What the benchmarks share: the fake Twilio's account, a node of
//! Nightingale in the benchmark's own process, and how figures are printed.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use nightingale::app::Application;
use nightingale::clock::SystemClock;
use nightingale::config::Config;
use secrecy::SecretString;

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "bench-auth-token";
pub const PUBLIC_URL: &str = "https://nightingale.bench";
pub const OUR_NUMBER: &str = "+447700900000";

/// A new API key named `name` in `store`, with every scope a benchmark's
/// discharge system uses (it enrols, and reads strangers' concerns too):
/// the key itself.
pub fn api_key(store: &dyn nightingale::store::Store, name: &str) -> String {
    use nightingale::clock::Clock;
    let (key, hash) = nightingale::operations::new_api_key().unwrap();
    let made = nightingale::api_keys::ApiKey::made(
        name,
        nightingale::api_keys::Scopes::parse("enrol,read-all").unwrap(),
        SystemClock.now(),
    );
    // A node on the same SQLite file may hold the write lock a moment
    // longer than the store waits (seen once in CI): try again, briefly.
    let mut tries = 0;
    while let Err(e) = store.create_api_key(&made, hash) {
        tries += 1;
        assert!(tries < 20, "the API key could not be stored: {e}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    key
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A node on `store` (a store URL) with the rota in `rota_dir`, sending to
/// the fake Twilio at `twilio_api_base`, listening on a free local port.
pub fn config(store: &str, rota_dir: &Path, twilio_api_base: &str) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: PUBLIC_URL.to_owned(),
        store: store.to_owned(),
        rota_dir: rota_dir.to_owned(),
        templates_dir: root().join("templates"),
        twilio_account_sid: Some(ACCOUNT_SID.to_owned()),
        twilio_auth_token: Some(SecretString::from(AUTH_TOKEN)),
        twilio_from: Some(OUR_NUMBER.to_owned()),
        twilio_api_base: twilio_api_base.to_owned(),
        ..Config::default()
    }
}

/// A node in this process: its own server, engine and store connection.
pub struct Server {
    pub address: String,
    /// The SMTP listener's `host:port`, when the configuration has one.
    pub smtp: Option<String>,
    /// The MLLP listener's `host:port`, when the configuration has one.
    pub mllp: Option<String>,
    pub engine: nightingale::engine::EngineHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Build and start a node; `engine_loop` false: it answers webhooks
    /// but takes nothing in.
    pub async fn start(config: &Config, engine_loop: bool) -> Self {
        let app = Application::build(config, Arc::new(SystemClock))
            .await
            .expect("server builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let smtp = app.smtp_port().map(|p| format!("127.0.0.1:{p}"));
        let mllp = app.mllp_port().map(|p| format!("127.0.0.1:{p}"));
        let engine = app.engine_handle();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = rx.await;
        };
        Self {
            address,
            smtp,
            mllp,
            engine,
            stop: Some(tx),
            task: if engine_loop {
                tokio::spawn(app.run_until_stopped(shutdown))
            } else {
                tokio::spawn(app.run_without_engine_loop(shutdown))
            },
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = self.task.await;
    }
}

/// The `p` quantile (0 to 1) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// "p50 | p99 | max" of sorted latencies, as table cells.
pub fn spread(sorted: &[Duration]) -> String {
    format!(
        "{} | {} | {}",
        ms(percentile(sorted, 0.5)),
        ms(percentile(sorted, 0.99)),
        ms(*sorted.last().unwrap_or(&Duration::ZERO))
    )
}
