//! Wiring: configuration → rota, templates, store → engine and HTTP server,
//! with graceful shutdown of both.
//!
//! The only module that knows about all the others.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use chrono::TimeDelta;
use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::channels::twilio::TwilioClient;
use crate::channels::{CallPlacer, RecordingCaller, RecordingSender, SmsSender};
use crate::clock::Clock;
use crate::config::Config;
use crate::engine::{Engine, EngineHandle};
use crate::escalation::Policy;
use crate::escalation::redflag::RedFlags;
use crate::http::{self, AppState};
use crate::links::LinkSigner;
use crate::operations::Operations;
use crate::rota::{self, Rota};
use crate::store::{self, Store};
use crate::templates::Templates;

/// A built, bound, not yet running service.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    engine: Arc<Engine>,
    limits: http::serve::Limits,
    /// This process's hold on a SQLite store, kept until serving stops.
    serve_lock: Option<store::sqlite::ServeLock>,
}

impl Application {
    /// Load the rota and templates, open the store, bind the listener: fails
    /// fast, before serving, on any problem.
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        // One serve per SQLite file: a second one would race this one.
        let serve_lock = store::lock_for_serving(&config.store)?;
        let store = store::open(&config.store)?;
        let mut app = Self::build_with(config, clock, store, None).await?;
        app.serve_lock = serve_lock;
        Ok(app)
    }

    /// As [`Application::build`], with the store (and optionally the SMS sender) given: the seam tests use.
    pub async fn build_with(
        config: &Config,
        clock: Arc<dyn Clock>,
        store: Arc<dyn Store>,
        sender: Option<Arc<dyn SmsSender>>,
    ) -> anyhow::Result<Self> {
        Self::build_listening(None, config, clock, store, sender).await
    }

    /// As [`Application::build_with`], on a listener already bound (the
    /// demo binds first, to put its address in its links).
    pub async fn build_on(
        listener: TcpListener,
        config: &Config,
        clock: Arc<dyn Clock>,
        store: Arc<dyn Store>,
        sender: Option<Arc<dyn SmsSender>>,
    ) -> anyhow::Result<Self> {
        Self::build_listening(Some(listener), config, clock, store, sender).await
    }

    /// Build on `listener`, or bind `config.listen` once everything else
    /// is ready (so a port already taken is reported after what start-up
    /// says about the configuration).
    async fn build_listening(
        listener: Option<TcpListener>,
        config: &Config,
        clock: Arc<dyn Clock>,
        store: Arc<dyn Store>,
        sender: Option<Arc<dyn SmsSender>>,
    ) -> anyhow::Result<Self> {
        let rota = Arc::new(load_rota(config)?);
        let today = crate::calendar::wall_clock(clock.now()).date();
        for (division, covered_days) in rota.calendar().short_coverage(today) {
            tracing::warn!(
                %division,
                covered_days,
                "the published bank holidays do not cover the next 12 months: after them only the rules apply, which miss one-off holidays; run `nightingale calendar update`"
            );
        }
        let templates = Arc::new(Templates::load(&config.templates_dir)?);
        let red_flags_path = config.templates_dir.join("red_flags.txt");
        let red_flags = RedFlags::parse(
            &std::fs::read_to_string(&red_flags_path)
                .with_context(|| format!("cannot read {}", red_flags_path.display()))?,
        );
        let remind_after = humantime::parse_duration(&config.remind_after)
            .ok()
            .and_then(|d| TimeDelta::from_std(d).ok())
            .with_context(|| {
                format!(
                    "NIGHTINGALE_REMIND_AFTER={:?} is not a duration: write one like \"2h\"",
                    config.remind_after
                )
            })?;
        let limits = http::serve::Limits::from_config(config)?;
        anyhow::ensure!(
            config.sends_at_once > 0,
            "NIGHTINGALE_SENDS_AT_ONCE must be at least 1 (the default is {})",
            crate::engine::SENDS_AT_ONCE
        );
        anyhow::ensure!(
            !config.twilio_timeout.is_zero(),
            "NIGHTINGALE_TWILIO_TIMEOUT must be longer than nothing (the default is 10s)"
        );
        let public_url = config.public_url.trim_end_matches('/').to_owned();
        let secret = store::blocking(&store, |s| s.secret("page-links")).await?;
        let links = LinkSigner::new(secret, &public_url);
        let csrf_key = store::blocking(&store, |s| s.secret("staff-csrf")).await?;
        let web = http::web::WebConfig::new(csrf_key, &public_url);
        let sender = match sender {
            Some(s) => s,
            None => sms_sender(config, &public_url)?,
        };
        let calls = call_placer(config, &public_url)?;
        let mut tokens = Vec::new();
        tokens.extend(config.twilio_auth_token.clone());
        tokens.extend(config.twilio_auth_token_previous.clone());
        let engine = Arc::new(
            Engine::new(
                Arc::clone(&store),
                Arc::clone(&rota),
                Arc::clone(&clock),
                sender,
                Arc::clone(&templates),
                red_flags,
                Policy {
                    remind_after,
                    ..Policy::default()
                },
                links.clone(),
            )
            .with_retention(TimeDelta::days(i64::from(config.retention_days)))
            .with_sends_at_once(config.sends_at_once)
            .with_caller(Arc::clone(&calls)),
        );
        let ops = Operations {
            store,
            rota: Arc::clone(&rota),
            clock: Arc::clone(&clock),
            engine: engine.handle(),
            templates: Arc::clone(&templates),
            enrolment_window: TimeDelta::days(i64::from(config.enrolment_days)),
        };
        let listener = match listener {
            Some(listener) => listener,
            None => TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?,
        };
        tracing::info!(
            listen = %listener.local_addr()?,
            trust = %rota.trust_name,
            services = rota.services().len(),
            people = rota.people().len(),
            "nightingale ready"
        );
        let state = AppState {
            rota,
            clock,
            ops,
            templates,
            links,
            public_url,
            twilio_tokens: Arc::new(tokens),
            calls,
            demo: None,
            web,
        };
        Ok(Self {
            listener,
            state,
            engine,
            limits,
            serve_lock: None,
        })
    }

    /// Serve the demo page and its routes too (`serve --demo` only).
    pub fn with_demo(mut self, demo: Arc<crate::demo::Demo>) -> Self {
        self.state.demo = Some(demo);
        self
    }

    /// The domain operations, as the HTTP layer calls them.
    pub fn operations(&self) -> &Operations {
        &self.state.ops
    }

    /// The port actually bound (useful with `listen = "127.0.0.1:0"`).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The engine, for tests that drive time themselves.
    pub fn engine(&self) -> Arc<Engine> {
        Arc::clone(&self.engine)
    }

    /// A handle on the engine: wake it, read its counters.
    pub fn engine_handle(&self) -> EngineHandle {
        self.engine.handle()
    }

    /// Serve and run the engine until `shutdown` completes; then finish
    /// in-flight requests, the engine's current step, and (briefly) its sends.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.run(shutdown, true).await
    }

    /// Serve without the background engine loop: tests call
    /// [`Engine::settle`] after moving their clock instead.
    pub async fn run_without_engine_loop(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        self.run(shutdown, false).await
    }

    async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
        engine_loop: bool,
    ) -> anyhow::Result<()> {
        let serve_lock = self.serve_lock;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let engine_task = engine_loop.then(|| {
            let mut rx = stop_rx.clone();
            tokio::spawn(Arc::clone(&self.engine).run(async move {
                let _ = rx.wait_for(|stop| *stop).await;
            }))
        });
        let mut rx = stop_rx;
        let server = http::serve::serve(
            self.listener,
            http::router(self.state, &self.limits),
            self.limits,
            async move {
                let _ = rx.wait_for(|stop| *stop).await;
            },
        );
        let signal = tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        server.await;
        signal.abort();
        if let Some(task) = engine_task {
            let _ = task.await;
        }
        // Only now may another serve take the store.
        drop(serve_lock);
        Ok(())
    }
}

fn sms_sender(config: &Config, public_url: &str) -> anyhow::Result<Arc<dyn SmsSender>> {
    match (
        &config.twilio_account_sid,
        &config.twilio_auth_token,
        &config.twilio_from,
    ) {
        (Some(sid), Some(token), Some(from)) => {
            let client = TwilioClient::new(
                &config.twilio_api_base,
                sid,
                SecretString::from(secrecy::ExposeSecret::expose_secret(token).to_owned()),
                from,
                Some(format!("{public_url}/twilio/sms/status")),
                config.twilio_timeout,
            )?;
            tracing::info!(api = %config.twilio_api_base, "sending SMS through Twilio");
            Ok(Arc::new(client))
        }
        (None, None, None) => {
            tracing::warn!(
                "NO SMS PROVIDER CONFIGURED: nothing will be sent to any phone. Outgoing texts are only recorded on each concern's timeline. \
                 Set NIGHTINGALE_TWILIO_ACCOUNT_SID, NIGHTINGALE_TWILIO_AUTH_TOKEN and NIGHTINGALE_TWILIO_FROM to send."
            );
            Ok(Arc::new(RecordingSender::default()))
        }
        _ => anyhow::bail!(
            "Twilio is partly configured: set all of NIGHTINGALE_TWILIO_ACCOUNT_SID, NIGHTINGALE_TWILIO_AUTH_TOKEN and NIGHTINGALE_TWILIO_FROM, or none"
        ),
    }
}

/// What places call pages: Twilio when it is configured (as for SMS),
/// else a placer that only records them.
fn call_placer(config: &Config, public_url: &str) -> anyhow::Result<Arc<dyn CallPlacer>> {
    match (
        &config.twilio_account_sid,
        &config.twilio_auth_token,
        &config.twilio_from,
    ) {
        (Some(sid), Some(token), Some(from)) => Ok(Arc::new(
            TwilioClient::new(
                &config.twilio_api_base,
                sid,
                SecretString::from(secrecy::ExposeSecret::expose_secret(token).to_owned()),
                from,
                None,
                config.twilio_timeout,
            )?
            .with_call_status_callback(format!("{public_url}/twilio/voice/page/status")),
        )),
        _ => Ok(Arc::new(RecordingCaller::default())),
    }
}

/// Raise this process's soft limit on open files to its hard limit, and
/// log the result. Every connection is a file descriptor; the soft limit is
/// often 1,024, below `max_connections` plus the reserve plus the store's
/// own files, while the hard limit is usually far higher. Warns when the
/// limit is still too low for the connections configured.
pub fn raise_open_files_limit(config: &Config) {
    #[cfg(unix)]
    {
        let wanted =
            (config.max_connections + crate::config::HEALTH_RESERVE + config.sends_at_once + 64)
                as u64;
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) if limit < wanted => tracing::warn!(
                open_files = limit,
                wanted,
                "the open-file limit is below NIGHTINGALE_MAX_CONNECTIONS plus the reserve plus NIGHTINGALE_SENDS_AT_ONCE: raise LimitNOFILE (see docs/operations.md) or lower them"
            ),
            Ok(limit) => tracing::info!(open_files = limit, "open-file limit"),
            Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
        }
    }
    #[cfg(not(unix))]
    let _ = config;
}

/// Load and compile the rota named by the configuration.
pub fn load_rota(config: &Config) -> anyhow::Result<Rota> {
    rota::load_dir(&config.rota_dir).map_err(|problems| {
        anyhow::anyhow!(
            "the rota files in {} have problems:\n{problems}",
            config.rota_dir.display()
        )
    })
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM (what `docker stop` and systemd send).
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
