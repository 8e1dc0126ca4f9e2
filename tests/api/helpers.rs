use std::path::PathBuf;
use std::sync::Arc;

use nightingale::app::Application;
use nightingale::calendar::parse_instant;
use nightingale::clock::ManualClock;
use nightingale::config::Config;

/// A running service on a random port.
pub struct TestApp {
    pub address: String,
    pub clock: ManualClock,
    pub client: reqwest::Client,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request sent")
    }
}

/// Start the service with the demo trust, its clock standing at `now` (UK local time).
pub async fn spawn_app(now: &str) -> TestApp {
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        rota_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rota"),
        ..Config::default()
    };
    let clock = ManualClock::new(parse_instant(now).unwrap());
    let app = Application::build(&config, Arc::new(clock.clone()))
        .await
        .expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = rx.await;
    }));
    TestApp {
        address,
        clock,
        client: reqwest::Client::new(),
        _shutdown: tx,
    }
}
