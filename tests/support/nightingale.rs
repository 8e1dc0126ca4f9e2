//! A running Nightingale for black-box tests: the demo trust, a fresh store
//! in a temporary directory, a manual clock, a random port, and the fake
//! Twilio on both sides (the REST API it sends through, and the webhooks it
//! receives). The background engine loop is off: tests move the clock and
//! then `settle()` the engine, so nothing depends on wall-clock sleeps.
//! [`TestApp::spawn_running`] runs the production loop instead, on the same
//! manual clock: tests move the clock and wait for what reaches the fake
//! Twilio.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Duration;
use nightingale::api_keys::Keys as _;
use nightingale::app::Application;
use nightingale::calendar::parse_instant;
use nightingale::channels::SmsSender;
use nightingale::channels::twilio::TwilioClient;
use nightingale::clock::ManualClock;
use nightingale::config::Config;
use nightingale::engine::Engine;
use nightingale::store::sqlite::SqliteStore;
use secrecy::SecretString;
use serde_json::Value;

use super::fake_twilio::{FakeTwilio, SentSms};

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "current-auth-token";
pub const PREVIOUS_AUTH_TOKEN: &str = "previous-auth-token";
/// What Twilio is configured to call: the public URL, as behind a proxy.
pub const PUBLIC_URL: &str = "https://nightingale.test";
/// Nightingale's own number.
pub const OUR_NUMBER: &str = "+447700900000";

/// Patients and carers in the stories (Ofcom drama numbers).
pub const MARGARET: &str = "+447700900801";
pub const SIAN: &str = "+447700900802";
pub const STRANGER: &str = "+447700900999";

/// The domain Nightingale takes email for in tests.
pub const EMAIL_DOMAIN: &str = "nightingale.test";

pub struct TestApp {
    pub address: String,
    /// The SMTP listener's `host:port`, when the test configured one
    /// ([`TestApp::spawn_with_email`]).
    pub smtp: Option<String>,
    /// The MLLP listener's `host:port`, when the test configured one
    /// (`mllp_listen`).
    pub mllp: Option<String>,
    pub clock: ManualClock,
    pub twilio: FakeTwilio,
    pub engine: Arc<Engine>,
    pub api_key: String,
    pub http: reqwest::Client,
    /// The domain operations, as the web pages call them.
    pub ops: nightingale::operations::Operations,
    /// Sends gap alerts; tests call `tick` after moving the clock.
    pub gap_alerter: nightingale::manage::GapAlerter,
    dir: Arc<tempfile::TempDir>,
    tweak: Tweak,
    mode: EngineMode,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// The serve lock on a SQLite store, as `serve` holds it.
    serve_lock: Option<nightingale::store::sqlite::ServeLock>,
}

/// A change to the test configuration, kept for restarts.
type Tweak = Arc<dyn Fn(&mut Config) + Send + Sync>;

/// How the engine runs in a test.
#[derive(Debug, Clone, Copy)]
enum EngineMode {
    /// Off: the test moves the clock and calls [`TestApp::settle`].
    Settled,
    /// The production loop runs on the test's clock, sending through a
    /// Twilio client that waits this long (real time) for each answer.
    Running { twilio_timeout: std::time::Duration },
}

fn config(dir: &std::path::Path, twilio: &FakeTwilio) -> Config {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        public_url: PUBLIC_URL.to_owned(),
        store: format!("sqlite://{}", dir.join("nightingale.db").display()),
        rota_dir: root.join("rota"),
        templates_dir: root.join("templates"),
        twilio_account_sid: Some(ACCOUNT_SID.to_owned()),
        twilio_auth_token: Some(SecretString::from(AUTH_TOKEN)),
        twilio_auth_token_previous: Some(SecretString::from(PREVIOUS_AUTH_TOKEN)),
        twilio_from: Some(OUR_NUMBER.to_owned()),
        twilio_api_base: twilio.base_url().to_owned(),
        // The fake takes any number of texts at once unless a story models
        // Twilio's queue (`FakeTwilio::model_queues`) and sets the rate.
        twilio_mps: 1_000_000,
        ..Config::default()
    }
}

impl TestApp {
    /// Start with the clock at `now` (UK local time, e.g. "2026-11-27T19:05").
    pub async fn spawn(now: &str) -> Self {
        Self::spawn_with(now, |_| {}).await
    }

    /// As [`TestApp::spawn`], with some settings changed (small limits, short timeouts).
    pub async fn spawn_with(
        now: &str,
        tweak: impl Fn(&mut Config) + Send + Sync + 'static,
    ) -> Self {
        let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let clock = ManualClock::new(parse_instant(now).unwrap());
        Self::start(
            dir,
            clock,
            twilio,
            None,
            Arc::new(tweak),
            EngineMode::Settled,
        )
        .await
    }

    /// As [`TestApp::spawn`], with the SMTP listener on a random port,
    /// taking mail for [`EMAIL_DOMAIN`], with `tweak` applied on top.
    pub async fn spawn_with_email(
        now: &str,
        tweak: impl Fn(&mut Config) + Send + Sync + 'static,
    ) -> Self {
        Self::spawn_with(now, move |c| {
            c.smtp_listen = Some("127.0.0.1:0".parse().unwrap());
            c.email_domain = Some(EMAIL_DOMAIN.to_owned());
            tweak(c);
        })
        .await
    }

    /// As [`TestApp::spawn_with_email`], sending email through `mail`
    /// (`NIGHTINGALE_SMTP_URL`), from `nightingale@` [`EMAIL_DOMAIN`], on
    /// the demo rota with `line` added to each `(person, line)`'s entry
    /// (e.g. `notify = ["email", "sms"]`).
    pub async fn spawn_with_email_out(
        now: &str,
        mail: &super::smtp::MailServer,
        people: &[(&str, &str)],
    ) -> Self {
        let rota = tempfile::tempdir().unwrap().keep();
        rota_with(&rota, people);
        let url = mail.url();
        Self::spawn_with_email(now, move |c| {
            c.smtp_url = Some(SecretString::from(url.clone()));
            c.email_from = Some(format!("Nightingale <nightingale@{EMAIL_DOMAIN}>"));
            c.rota_dir = rota.clone();
        })
        .await
    }

    /// Start with the clock at `now` and the production engine loop running
    /// on it (not [`TestApp::settle`]), sending through a Twilio client that
    /// waits `twilio_timeout` for each answer.
    pub async fn spawn_running(now: &str, twilio_timeout: std::time::Duration) -> Self {
        Self::spawn_running_with(now, twilio_timeout, |_| {}).await
    }

    /// As [`TestApp::spawn_running`], with its config tweaked.
    pub async fn spawn_running_with(
        now: &str,
        twilio_timeout: std::time::Duration,
        tweak: impl Fn(&mut Config) + Send + Sync + 'static,
    ) -> Self {
        let twilio = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let clock = ManualClock::new(parse_instant(now).unwrap());
        let mode = EngineMode::Running { twilio_timeout };
        Self::start(dir, clock, twilio, None, Arc::new(tweak), mode).await
    }

    /// As [`TestApp::spawn_running_with`], sending through `twilio` (a
    /// fake started elsewhere: on the test's own runtime when this node is
    /// built on one of its own, to be killed).
    pub async fn spawn_running_with_twilio(
        now: &str,
        twilio: FakeTwilio,
        twilio_timeout: std::time::Duration,
        tweak: impl Fn(&mut Config) + Send + Sync + 'static,
    ) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let clock = ManualClock::new(parse_instant(now).unwrap());
        let mode = EngineMode::Running { twilio_timeout };
        Self::start(dir, clock, twilio, None, Arc::new(tweak), mode).await
    }

    /// Another node like this one (same settings, so the same store when it
    /// is a Redis; same clock and API key), sending through `twilio`, with
    /// a directory of its own.
    pub async fn peer(&self, twilio: &FakeTwilio) -> Self {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let (clock, key, tweak) = (
            self.clock.clone(),
            self.api_key.clone(),
            Arc::clone(&self.tweak),
        );
        Self::start(dir, clock, twilio.clone(), Some(key), tweak, self.mode).await
    }

    /// Start a new process on the same store, clock and Twilio after this
    /// one was killed: the runtime it ran on was shut down, so nothing of
    /// it ran on, it said no goodbye, and it let go of nothing but its
    /// serve lock (which the operating system frees when a process dies).
    pub async fn restart_after_kill(mut self) -> Self {
        // Its server task died with its runtime; nothing is left to stop.
        self.server.take();
        self.shutdown.take();
        self.start_again().await
    }

    async fn start(
        dir: Arc<tempfile::TempDir>,
        clock: ManualClock,
        twilio: FakeTwilio,
        api_key: Option<String>,
        tweak: Tweak,
        mode: EngineMode,
    ) -> Self {
        let mut config = config(dir.path(), &twilio);
        tweak(&mut config);
        // The store the configuration names: the SQLite file in `dir`
        // unless a test points `store` elsewhere (a Redis of its own),
        // opened as `serve` opens it (on SQLite: locked, and the claims a
        // stopped process held taken back).
        let (store, serve_lock) = nightingale::store::open_for_serving(&config.store).unwrap();
        let api_key = match api_key {
            Some(k) => k,
            None => {
                let (key, hash) = nightingale::operations::new_api_key().unwrap();
                store
                    // Every scope: the stories read strangers' concerns
                    // too. A name of its own, as several test apps may
                    // share one Redis and a name is one key's.
                    .create_api_key(
                        &nightingale::api_keys::ApiKey::made(
                            &format!("test-discharge-system-{}", &key[3..11]),
                            nightingale::api_keys::Scopes::parse("enrol,read-all").unwrap(),
                            clock.now_instant(),
                        ),
                        hash,
                    )
                    .unwrap();
                key
            }
        };
        let sender: Option<Arc<dyn SmsSender>> = match mode {
            EngineMode::Settled => None,
            EngineMode::Running { twilio_timeout } => Some(Arc::new(
                TwilioClient::new(
                    twilio.base_url(),
                    ACCOUNT_SID,
                    SecretString::from(AUTH_TOKEN),
                    OUR_NUMBER,
                    Some(format!("{PUBLIC_URL}/twilio/sms/status")),
                    twilio_timeout,
                )
                .unwrap(),
            )),
        };
        let app = Application::build_with(&config, Arc::new(clock.clone()), store, sender)
            .await
            .expect("app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let smtp = app.smtp_port().map(|p| format!("127.0.0.1:{p}"));
        let mllp = app.mllp_port().map(|p| format!("127.0.0.1:{p}"));
        let engine = app.engine();
        let ops = app.operations().clone();
        let gap_alerter = app.gap_alerter();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let stop = async move {
            let _ = rx.await;
        };
        let server = match mode {
            EngineMode::Settled => tokio::spawn(app.run_without_engine_loop(stop)),
            EngineMode::Running { .. } => tokio::spawn(app.run_until_stopped(stop)),
        };
        Self {
            address,
            smtp,
            mllp,
            clock,
            twilio,
            engine,
            api_key,
            http: reqwest::Client::new(),
            ops,
            gap_alerter,
            dir,
            tweak,
            mode,
            shutdown: Some(tx),
            server: Some(server),
            serve_lock,
        }
    }

    /// Stop the process (gracefully) and start a new one on the same store, clock and Twilio.
    pub async fn restart(mut self) -> Self {
        self.stop().await;
        self.start_again().await
    }

    /// A new process on this one's store, clock, Twilio and settings.
    async fn start_again(self) -> Self {
        let (dir, clock, twilio, key, tweak, mode) = (
            Arc::clone(&self.dir),
            self.clock.clone(),
            self.twilio.clone(),
            self.api_key.clone(),
            Arc::clone(&self.tweak),
            self.mode,
        );
        drop(self);
        Self::start(dir, clock, twilio, Some(key), tweak, mode).await
    }

    /// Tell the server to stop, as SIGTERM does, without waiting for it.
    pub fn begin_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Wait until the server has stopped (after [`TestApp::begin_stop`]).
    pub async fn stopped(&mut self) {
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    async fn stop(&mut self) {
        self.begin_stop();
        self.stopped().await;
    }

    /// Run the engine until it has nothing left to do at the current time.
    pub async fn settle(&self) {
        self.engine.settle().await.unwrap();
    }

    /// Move the clock on and let the engine catch up.
    pub async fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.settle().await;
    }

    /// A text from `from` arrives through Twilio's webhook.
    pub async fn text(&self, from: &str, body: &str) -> reqwest::Response {
        let sid = self.twilio.new_sid();
        self.text_with_sid(&sid, from, body).await
    }

    /// A text with a given MessageSid (to replay Twilio's retries).
    pub async fn text_with_sid(&self, sid: &str, from: &str, body: &str) -> reqwest::Response {
        let params = self.twilio.inbound_sms_params(sid, from, OUR_NUMBER, body);
        self.post_sms_webhook(&params).await
    }

    /// A text from `from` with `media` pictures attached (Twilio's `NumMedia`).
    pub async fn text_with_media(&self, from: &str, body: &str, media: u32) -> reqwest::Response {
        let sid = self.twilio.new_sid();
        let mut params = self.twilio.inbound_sms_params(&sid, from, OUR_NUMBER, body);
        if let Some(p) = params.iter_mut().find(|(k, _)| k == "NumMedia") {
            p.1 = media.to_string();
        }
        self.post_sms_webhook(&params).await
    }

    /// `from` phones our number: Twilio answers and posts the voice
    /// webhook; the call is then played with the returned driver.
    pub async fn phone(&self, from: &str) -> super::phone::Call {
        let sid = format!("CA{}", &self.twilio.new_sid()[2..]);
        super::phone::Call::place(
            &self.twilio,
            &self.address,
            PUBLIC_URL,
            &sid,
            from,
            OUR_NUMBER,
        )
        .await
    }

    /// A call page placed to a clinician is answered by `answered_by`
    /// (`human`, `machine_start`, …).
    pub async fn answer_page(
        &self,
        placed: &super::fake_twilio::PlacedCall,
        answered_by: &str,
    ) -> super::phone::Call {
        super::phone::Call::answer_page(
            &self.twilio,
            &self.address,
            PUBLIC_URL,
            placed,
            answered_by,
        )
        .await
    }

    /// Post an inbound-SMS webhook, signed as Twilio signs it.
    pub async fn post_sms_webhook(&self, params: &[(String, String)]) -> reqwest::Response {
        self.twilio
            .post_signed(
                &format!("{}/twilio/sms", self.address),
                &format!("{PUBLIC_URL}/twilio/sms"),
                params,
            )
            .await
    }

    /// Twilio reports a message's status to the callback URL it was given.
    pub async fn status(
        &self,
        message: &SentSms,
        status: &str,
        error_code: Option<u32>,
    ) -> reqwest::Response {
        let callback = message
            .status_callback
            .clone()
            .expect("the message asked for status callbacks");
        assert_eq!(callback, format!("{PUBLIC_URL}/twilio/sms/status"));
        let params = self.twilio.status_params(message, status, error_code);
        self.twilio
            .post_signed(
                &format!("{}/twilio/sms/status", self.address),
                &callback,
                &params,
            )
            .await
    }

    /// Twilio reports a call page's progress (`CallStatus`) to the callback it was given.
    pub async fn call_status(
        &self,
        call: &super::fake_twilio::PlacedCall,
        status: &str,
    ) -> reqwest::Response {
        let callback = call
            .status_callback
            .clone()
            .expect("the call asked for status callbacks");
        assert_eq!(callback, format!("{PUBLIC_URL}/twilio/voice/page/status"));
        let params: Vec<(String, String)> = [
            ("CallSid", call.sid.as_str()),
            ("AccountSid", ACCOUNT_SID),
            ("From", call.from.as_str()),
            ("To", call.to.as_str()),
            ("CallStatus", status),
            ("Direction", "outbound-api"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        self.twilio
            .post_signed(
                &format!("{}/twilio/voice/page/status", self.address),
                &callback,
                &params,
            )
            .await
    }

    /// POST a JSON enrolment with the API key.
    pub async fn enrol(&self, body: &Value) -> reqwest::Response {
        self.enrol_as(&self.api_key, body).await
    }

    /// POST a JSON enrolment with another API key.
    pub async fn enrol_as(&self, key: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/enrolments", self.address))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A new API key in the app's store, made now (by the app's clock) for
    /// client `name` with `scopes` (`enrol,read-own`) and, if given, an
    /// expiry: the key itself.
    pub fn api_key_for(
        &self,
        name: &str,
        scopes: &str,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> String {
        let (key, hash) = nightingale::operations::new_api_key().unwrap();
        let made = nightingale::api_keys::ApiKey {
            expires_at,
            ..nightingale::api_keys::ApiKey::made(
                name,
                nightingale::api_keys::Scopes::parse(scopes).unwrap(),
                self.clock.now_instant(),
            )
        };
        self.ops.store.create_api_key(&made, hash).unwrap();
        key
    }

    /// GET a path with another API key.
    pub async fn get_as(&self, key: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    /// DELETE a path with an API key.
    pub async fn delete_as(&self, key: &str, path: &str) -> reqwest::Response {
        self.http
            .delete(format!("{}{path}", self.address))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
    }

    /// Enrol Margaret Evans (and her daughter Siân as carer) with a service, discharged an hour ago.
    pub async fn enrol_margaret(&self, service: &str) -> String {
        let discharged = (self.clock.now_instant() - Duration::hours(1)).to_rfc3339();
        let response = self
            .enrol(&serde_json::json!({
                "patient": {"name": "Margaret Evans", "phone": "07700 900801"},
                "carers": [{"name": "Sian Evans", "phone": "07700 900802", "relationship": "daughter"}],
                "service": service,
                "discharged_at": discharged,
                "context": "Ward 7; admitted with cellulitis of the left leg; dressings daily",
            }))
            .await;
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    /// Enrol a patient with no carer with a service, discharged three hours ago.
    pub async fn enrol_patient(&self, name: &str, phone: &str, service: &str) {
        let discharged = (self.clock.now_instant() - Duration::hours(3)).to_rfc3339();
        let response = self
            .enrol(&serde_json::json!({
                "patient": {"name": name, "phone": phone},
                "service": service,
                "discharged_at": discharged,
            }))
            .await;
        assert_eq!(response.status(), 201, "enrolling {name}");
    }

    /// GET a path with the API key.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .unwrap()
    }

    /// The concern's JSON view.
    pub async fn concern(&self, id: &str) -> Value {
        let response = self.get(&format!("/api/v1/concerns/{id}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// The `host:port` the server listens on, for raw sockets.
    pub fn socket_address(&self) -> String {
        self.address.trim_start_matches("http://").to_owned()
    }

    /// Write `head` and then `body_part` on a fresh connection, without
    /// finishing whatever body the head declares, and return what the server
    /// answered within `wait` (empty if nothing came).
    pub async fn send_partial(
        &self,
        head: &str,
        body_part: &[u8],
        wait: std::time::Duration,
    ) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(self.socket_address())
            .await
            .unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        // The server may answer and stop reading before all of this is written.
        let _ = stream.write_all(body_part).await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(wait, async {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        })
        .await;
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// The store's database file.
    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("nightingale.db")
    }

    /// Run `nightingale ARGS` on this app's store and the demo rota files,
    /// as an operator on the same machine would.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_nightingale"))
            .args(args)
            .env(
                "NIGHTINGALE_STORE",
                format!("sqlite://{}", self.store_path().display()),
            )
            .env(
                "NIGHTINGALE_ROTA_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/rota"),
            )
            .env("NIGHTINGALE_LOG", "warn")
            .output()
            .unwrap()
    }

    /// Inbound items stored but not yet taken in by the engine, claimed or
    /// not, oldest first. Read from the file: the store itself hands work
    /// out only by claiming it, which a look from a test must not do.
    pub fn pending_inbound(&self) -> Vec<nightingale::inbox::Inbound> {
        let db = rusqlite::Connection::open(self.store_path()).unwrap();
        let mut rows = db
            .prepare(
                "SELECT data FROM inbound WHERE processed_at IS NULL ORDER BY received_at, rowid LIMIT 100",
            )
            .unwrap();
        rows.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|data| serde_json::from_str(&data.unwrap()).unwrap())
            .collect()
    }

    /// The token of `staff`'s page for `concern`, as a page's email gives
    /// it (`page+TOKEN@…`), made with the store's own link secret.
    pub fn page_token(&self, concern: &str, staff: &str) -> String {
        let store = SqliteStore::open(&self.store_path()).unwrap();
        let secret = store.secret("page-links").unwrap();
        nightingale::links::LinkSigner::new(secret, PUBLIC_URL).page_token(
            concern.parse().unwrap(),
            &nightingale::directory::Id::parse(staff).unwrap(),
        )
    }

    /// The id of the concern a page SMS links to: in a long link's path,
    /// or the first 16 bytes of a short link's token.
    pub fn concern_id_in(page: &SentSms) -> String {
        use base64::Engine as _;
        if let Some(after) = page.body.split("/c/").nth(1) {
            return after.split('?').next().unwrap().to_owned();
        }
        let link = page
            .body
            .split_whitespace()
            .find(|w| w.contains("/l/"))
            .expect("a page carries a link");
        let token = link.rsplit('/').next().unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .unwrap();
        uuid::Uuid::from_slice(&bytes[..16]).unwrap().to_string()
    }

    /// The link a page carries, on this server's own address (as the
    /// clinician's phone would reach it through the public URL).
    pub fn local_link(&self, page: &SentSms) -> String {
        page.body
            .split_whitespace()
            .find(|w| {
                w.starts_with(&format!("{PUBLIC_URL}/c/"))
                    || w.starts_with(&format!("{PUBLIC_URL}/l/"))
            })
            .expect("a page carries a link")
            .replace(PUBLIC_URL, &self.address)
    }

    /// Where a page's short link leads (the long link, with its
    /// signature in the query, on this server's own address): what the
    /// clinician's browser lands on and posts Accept to.
    pub async fn opened(&self, link: &str) -> String {
        let response = self.http.get(link).send().await.unwrap();
        assert_eq!(response.status(), 200, "{link}");
        response.url().to_string()
    }

    /// GET a URL without the API key and read the body as text.
    pub async fn get_text(&self, url: &str) -> String {
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The reply code in a page ("Reply A12 to accept").
    pub fn code_in(page: &SentSms) -> String {
        let after = page
            .body
            .split("Reply A")
            .nth(1)
            .expect("a page says how to accept");
        after.chars().take_while(char::is_ascii_digit).collect()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A text from `from` posted to the SMS webhook of the node at `node`
/// (`http://…`), signed as Twilio signs it; it must be answered `200`.
pub async fn text_to(twilio: &FakeTwilio, node: &str, from: &str, body: &str) {
    let params = twilio.inbound_sms_params(&twilio.new_sid(), from, OUR_NUMBER, body);
    let answer = twilio
        .post_signed(
            &format!("{node}/twilio/sms"),
            &format!("{PUBLIC_URL}/twilio/sms"),
            &params,
        )
        .await;
    assert_eq!(answer.status(), 200, "the text from {from} is promised");
}

/// `ManualClock::now` without importing the trait everywhere.
pub trait NowInstant {
    fn now_instant(&self) -> nightingale::clock::Instant;
}

impl NowInstant for ManualClock {
    fn now_instant(&self) -> nightingale::clock::Instant {
        nightingale::clock::Clock::now(self)
    }
}

/// Copy the demo rota into `dir`, adding each `(person, line)`'s line to
/// that person's entry in `people.toml`.
pub fn rota_with(dir: &std::path::Path, people: &[(&str, &str)]) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rota");
    for entry in std::fs::read_dir(&root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    let mut toml = std::fs::read_to_string(dir.join("people.toml")).unwrap();
    for (person, line) in people {
        let header = format!("[people.{person}]\n");
        let at = toml.find(&header).expect("the person is in the demo rota") + header.len();
        toml.insert_str(at, &format!("{line}\n"));
    }
    std::fs::write(dir.join("people.toml"), toml).unwrap();
}
