//! Wiring: configuration → rota, templates, store → engine and HTTP server,
//! with graceful shutdown of both.
//!
//! The only module that wires the others. What a deployment may swap is
//! taken at seams: the clock, the store, the SMS, call and email
//! providers, the webhook tokens, and extra routes. The demo (`serve
//! --demo`) builds the application through these from outside; nothing
//! here knows it.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use chrono::TimeDelta;
use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::channels::twilio::TwilioClient;
use crate::channels::{CallPlacer, RecordingCaller, RecordingSender, SmsSender};
use crate::clock::Clock;
use crate::config::Config;
use crate::directory::Language;
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
    /// The inbound SMTP listener and what it takes, when configured.
    smtp: Option<SmtpListener>,
    /// The HL7 MLLP listener, when configured.
    mllp: Option<MllpListener>,
    state: AppState,
    engine: Arc<Engine>,
    limits: http::serve::Limits,
    /// This process's hold on a SQLite store, kept until serving stops.
    serve_lock: Option<store::sqlite::ServeLock>,
    /// Sends gap alerts to rota managers on the trust's schedule.
    gap_alerter: crate::manage::GapAlerter,
    /// Routes plugged in from outside ([`Application::with_routes`]).
    routes: Router<AppState>,
}

impl Application {
    /// Load the rota and templates, open the store, bind the listener: fails
    /// fast, before serving, on any problem.
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        // One serve per SQLite file: a second one would race this one. On
        // SQLite the claims a stopped process held are taken back at once.
        let (store, serve_lock) = store::open_for_serving(&config.store)?;
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
        Self::build_on(None, config, clock, store, sender, None, None).await
    }

    /// As [`Application::build_with`], with the call placer, and the email
    /// sender with who its emails come from, given too: the seams a
    /// simulation (the demo) plugs its own into. On `listener` when given,
    /// already bound (a caller that puts its address in its links binds
    /// first); else `config.listen` is bound once everything else is ready
    /// (so a port already taken is reported after what start-up says about
    /// the configuration).
    pub async fn build_on(
        listener: Option<TcpListener>,
        config: &Config,
        clock: Arc<dyn Clock>,
        store: Arc<dyn Store>,
        sender: Option<Arc<dyn SmsSender>>,
        calls: Option<Arc<dyn CallPlacer>>,
        email: Option<EmailOut>,
    ) -> anyhow::Result<Self> {
        let live = load_live_rota(config, &store).await?;
        let rota = live.current();
        let today = crate::calendar::wall_clock(clock.now()).date();
        for (division, covered_days) in rota.calendar().short_coverage(today) {
            tracing::warn!(
                %division,
                covered_days,
                "the published bank holidays do not cover the next 12 months: after them only the rules apply, which miss one-off holidays; run `nightingale calendar update`"
            );
        }
        let templates = Arc::new(Templates::load(&config.templates_dir)?);
        // English phrases must be there; each other language's
        // (`cy/red_flags.txt`) are added when its directory has them.
        let mut red_flags = RedFlags::default();
        for language in Language::ALL {
            let path = match language {
                Language::En => config.templates_dir.join("red_flags.txt"),
                other => config
                    .templates_dir
                    .join(other.code())
                    .join("red_flags.txt"),
            };
            if language != Language::En && !path.exists() {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            red_flags = red_flags.and(RedFlags::parse(&text));
        }
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
        let sign_in = crate::access::SignInLimits::new(
            config.sign_in_codes_per_number,
            config.sign_in_codes_per_client,
            config.sign_in_failures_per_day,
        )?;
        anyhow::ensure!(
            config.sends_at_once > 0,
            "NIGHTINGALE_SENDS_AT_ONCE must be at least 1 (the default is {})",
            crate::engine::SENDS_AT_ONCE
        );
        anyhow::ensure!(
            config.twilio_mps > 0,
            "NIGHTINGALE_TWILIO_MPS must be at least 1 segment a second (the default, {}, is what Twilio gives a UK long code)",
            crate::channels::budget::UK_LONG_CODE_MPS
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
        let calls = match calls {
            Some(c) => c,
            None => call_placer(config, &public_url)?,
        };
        let mut tokens = Vec::new();
        tokens.extend(config.twilio_auth_token.clone());
        tokens.extend(config.twilio_auth_token_previous.clone());
        let engine = Engine::new(
            Arc::clone(&store),
            live.clone(),
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
        .with_send_budget(crate::channels::SendBudget::per_second(config.twilio_mps))
        .with_caller(Arc::clone(&calls))
        .with_email_senders(crate::engine::EmailSenders {
            trust: sender_trust(config)?,
            strangers_service: config.email_strangers_service.clone(),
            our_number: config.twilio_from.clone(),
        });
        let email = match email {
            Some(email) => Some(email),
            None => email_out(config)?,
        };
        let email_identity = email.as_ref().map(|(identity, _)| identity.clone());
        let engine = Arc::new(match email {
            Some((identity, sender)) => engine.with_email(identity, sender),
            None => engine,
        });
        let ops = Operations {
            store,
            rota: live.clone(),
            clock: Arc::clone(&clock),
            engine: engine.handle(),
            templates: Arc::clone(&templates),
            enrolment_window: TimeDelta::days(i64::from(config.enrolment_days)),
            email: email_identity,
            sign_in,
            metrics: Arc::new(crate::metrics::Metrics::new()),
        };
        let listener = match listener {
            Some(listener) => listener,
            None => TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?,
        };
        let smtp = smtp_listener(config).await?;
        let mllp = mllp_listener(config).await?;
        tracing::info!(
            listen = %listener.local_addr()?,
            trust = %rota.trust_name,
            services = rota.services().len(),
            people = rota.people().len(),
            "nightingale ready"
        );
        let gap_alerter = crate::manage::GapAlerter::new(ops.clone(), &public_url);
        let state = AppState {
            rota: live,
            clock,
            ops,
            templates,
            links,
            public_url,
            twilio_tokens: Arc::new(tokens),
            calls,
            demo: false,
            web,
        };
        Ok(Self {
            listener,
            smtp,
            mllp,
            state,
            engine,
            limits,
            serve_lock: None,
            gap_alerter,
            routes: Router::new(),
        })
    }

    /// Serve `routes` too, behind the same layers as every other route
    /// (the demo's page and forms). Without them, no such route exists.
    pub fn with_routes(mut self, routes: Router<AppState>) -> Self {
        self.routes = self.routes.merge(routes);
        self
    }

    /// Take these tokens, and only these, on the webhooks' signatures, in
    /// place of the configured Twilio ones: a call provider that signs as
    /// Twilio does with a token of its own (the demo's) reaches them so.
    pub fn with_webhook_tokens(mut self, tokens: Vec<SecretString>) -> Self {
        self.state.twilio_tokens = Arc::new(tokens);
        self
    }

    /// Mark this as a demo, whose clock a viewer moves on: the staff
    /// sign-in page says that this can end a session.
    pub fn as_demo(mut self) -> Self {
        self.state.demo = true;
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

    /// The port the SMTP listener actually bound, if it is configured.
    pub fn smtp_port(&self) -> Option<u16> {
        let smtp = self.smtp.as_ref()?;
        smtp.listener.local_addr().ok().map(|a| a.port())
    }

    /// The port the MLLP listener actually bound, if it is configured.
    pub fn mllp_port(&self) -> Option<u16> {
        let mllp = self.mllp.as_ref()?;
        mllp.listener.local_addr().ok().map(|a| a.port())
    }

    /// The engine, for tests that drive time themselves.
    pub fn engine(&self) -> Arc<Engine> {
        Arc::clone(&self.engine)
    }

    /// The gap alerter, for tests that drive time themselves (call
    /// [`crate::manage::GapAlerter::tick`] after moving the clock).
    pub fn gap_alerter(&self) -> crate::manage::GapAlerter {
        self.gap_alerter.clone()
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
        let alert_task = engine_loop.then(|| {
            let mut rx = stop_rx.clone();
            let alerter = self.gap_alerter.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = alerter.run() => {}
                    _ = rx.wait_for(|stop| *stop) => {}
                }
            })
        });
        let layer_task = {
            let mut rx = stop_rx.clone();
            let (live, store) = (self.state.rota.clone(), Arc::clone(&self.state.ops.store));
            tokio::spawn(async move {
                tokio::select! {
                    () = follow_rota_layer(live, store) => {}
                    _ = rx.wait_for(|stop| *stop) => {}
                }
            })
        };
        let smtp_task = self.smtp.map(|smtp| {
            let mut rx = stop_rx.clone();
            tokio::spawn(crate::email::smtp::serve(
                smtp.listener,
                smtp.policy,
                smtp.tls,
                self.state.ops.clone(),
                async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                },
            ))
        });
        let mllp_task = self.mllp.map(|mllp| {
            let mut rx = stop_rx.clone();
            tokio::spawn(crate::mllp::serve(
                mllp.listener,
                mllp.policy,
                mllp.tls,
                self.state.ops.clone(),
                async move {
                    let _ = rx.wait_for(|stop| *stop).await;
                },
            ))
        });
        let mut rx = stop_rx;
        let server = http::serve::serve(
            self.listener,
            http::router(self.state, &self.limits, self.routes),
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
        layer_task.abort();
        if let Some(task) = alert_task {
            task.abort();
        }
        if let Some(task) = smtp_task {
            let _ = task.await;
        }
        if let Some(task) = mllp_task {
            let _ = task.await;
        }
        if let Some(task) = engine_task {
            let _ = task.await;
        }
        // Only now may another serve take the store.
        drop(serve_lock);
        Ok(())
    }
}

/// Who emails come from, and what sends them.
pub type EmailOut = (
    crate::channels::email::EmailIdentity,
    Arc<dyn crate::channels::email::EmailSender>,
);

/// How long the mail server has to answer each step of sending one email.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Email out, when `NIGHTINGALE_SMTP_URL` and `NIGHTINGALE_EMAIL_FROM` are
/// set: who emails come from (and where replies and bounces come back to,
/// the first of `NIGHTINGALE_EMAIL_DOMAIN`), and lettre's SMTP sender.
fn email_out(config: &Config) -> anyhow::Result<Option<EmailOut>> {
    use secrecy::ExposeSecret;
    let (url, from) = match (&config.smtp_url, &config.email_from) {
        (None, None) => return Ok(None),
        (Some(url), Some(from)) => (url, from),
        _ => anyhow::bail!(
            "set both NIGHTINGALE_SMTP_URL and NIGHTINGALE_EMAIL_FROM to send email, or neither"
        ),
    };
    anyhow::ensure!(
        from.parse::<lettre::message::Mailbox>().is_ok(),
        "NIGHTINGALE_EMAIL_FROM is not an address: write one like \"Nightingale <nightingale@trust.nhs.uk>\""
    );
    let domain = crate::email::smtp::domains(config.email_domain.as_deref().unwrap_or_default())
        .into_iter()
        .next();
    let identity = crate::channels::email::EmailIdentity {
        from: from.clone(),
        domain,
    };
    let hello = identity.id_domain().to_owned();
    let sender =
        crate::channels::email::SmtpSender::new(url.expose_secret(), &hello, SMTP_TIMEOUT)?;
    tracing::info!(replies = identity.domain.is_some(), "sending email");
    Ok(Some((identity, Arc::new(sender))))
}

/// The inbound SMTP listener, bound, with what it takes and its TLS.
struct SmtpListener {
    listener: TcpListener,
    policy: Arc<crate::email::smtp::Policy>,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Bind the inbound SMTP listener when `NIGHTINGALE_SMTP_LISTEN` is set;
/// it needs the domains it takes mail for.
async fn smtp_listener(config: &Config) -> anyhow::Result<Option<SmtpListener>> {
    let Some(address) = config.smtp_listen else {
        return Ok(None);
    };
    let domains = crate::email::smtp::domains(config.email_domain.as_deref().unwrap_or_default());
    anyhow::ensure!(
        !domains.is_empty(),
        "NIGHTINGALE_SMTP_LISTEN is set but NIGHTINGALE_EMAIL_DOMAIN is not: say which domains mail is taken for, e.g. nightingale.trust.nhs.uk"
    );
    let tls = match (&config.smtp_tls_cert, &config.smtp_tls_key) {
        (Some(cert), Some(key)) => Some(crate::email::smtp::tls_acceptor(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!(
            "set both NIGHTINGALE_SMTP_TLS_CERT and NIGHTINGALE_SMTP_TLS_KEY to offer STARTTLS, or neither"
        ),
    };
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen for SMTP on {address}"))?;
    tracing::info!(listen = %listener.local_addr()?, domains = %domains.join(","), starttls = tls.is_some(), "taking email");
    let hostname = domains[0].clone();
    anyhow::ensure!(
        config.smtp_buffer_bytes >= config.email_max_bytes,
        "NIGHTINGALE_SMTP_BUFFER_BYTES ({}) is smaller than NIGHTINGALE_EMAIL_MAX_BYTES ({}): no message that size could ever be taken; make it at least as large (64 MiB by default)",
        config.smtp_buffer_bytes,
        config.email_max_bytes
    );
    let policy = crate::email::smtp::Policy {
        domains,
        max_bytes: config.email_max_bytes,
        hostname,
        max_per_host: config.smtp_max_per_host,
        session_limit: config.smtp_session_limit,
        buffer_bytes: config.smtp_buffer_bytes,
        trust: sender_trust(config)?,
    };
    Ok(Some(SmtpListener {
        listener,
        policy: Arc::new(policy),
        tls,
    }))
}

struct MllpListener {
    listener: TcpListener,
    policy: crate::mllp::Policy,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Bind the HL7 MLLP listener when `NIGHTINGALE_MLLP_LISTEN` is set.
async fn mllp_listener(config: &Config) -> anyhow::Result<Option<MllpListener>> {
    let Some(address) = config.mllp_listen else {
        return Ok(None);
    };
    let tls = match (&config.mllp_tls_cert, &config.mllp_tls_key) {
        (Some(cert), Some(key)) => Some(crate::email::smtp::tls_acceptor(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!(
            "set both NIGHTINGALE_MLLP_TLS_CERT and NIGHTINGALE_MLLP_TLS_KEY to take HL7 over TLS, or neither"
        ),
    };
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen for HL7 (MLLP) on {address}"))?;
    let allow = config.mllp_allow.clone();
    if allow.is_empty() {
        tracing::warn!(
            "NIGHTINGALE_MLLP_ALLOW is not set: only this machine may send HL7; name the integration engine's address"
        );
    }
    tracing::info!(listen = %listener.local_addr()?, tls = tls.is_some(), "taking HL7 v2 over MLLP");
    let policy = crate::mllp::Policy {
        allows: Arc::new(move |ip| ip.is_loopback() || allow.contains(ip)),
        max_bytes: config.mllp_max_bytes,
        idle: config.mllp_idle_timeout,
    };
    Ok(Some(MllpListener {
        listener,
        policy,
        tls,
    }))
}

/// The relays whose word on an email's sender is taken (docs/adr/0022).
fn sender_trust(config: &Config) -> anyhow::Result<crate::email::auth::SenderTrust> {
    crate::email::auth::SenderTrust::parse(
        config.smtp_trusted_relays.as_deref(),
        config.smtp_authserv_id.as_deref(),
    )
    .map_err(|why| anyhow::anyhow!("NIGHTINGALE_SMTP_TRUSTED_RELAYS: {why}"))
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

/// How often a node asks the store whether the rota edits layer changed
/// (docs/adr/0013): one read of one number.
pub const LAYER_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The rota files with the store's edits layer over them.
pub async fn load_live_rota(
    config: &Config,
    store: &Arc<dyn Store>,
) -> anyhow::Result<rota::LiveRota> {
    let live = load_live_rota_files(config)?;
    let follow = live.clone();
    store::blocking(store, move |s| follow.refresh(s)).await?;
    Ok(live)
}

/// Rebuild the rota whenever the edits layer's version moves on, checking
/// every [`LAYER_POLL`], until dropped.
pub async fn follow_rota_layer(live: rota::LiveRota, store: Arc<dyn Store>) {
    let mut tick = tokio::time::interval(LAYER_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let follow = live.clone();
        match store::blocking(&store, move |s| follow.refresh(s)).await {
            Ok(true) => tracing::info!(
                version = live.version(),
                "the rota edits layer changed: rota rebuilt"
            ),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the rota edits layer; keeping the rota as it was")
            }
        }
    }
}

/// The rota files alone, ready to take the edits layer.
pub fn load_live_rota_files(config: &Config) -> anyhow::Result<rota::LiveRota> {
    rota::LiveRota::load_dir(&config.rota_dir).map_err(|problems| {
        anyhow::anyhow!(
            "the rota files in {} have problems:\n{problems}",
            config.rota_dir.display()
        )
    })
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
