//! Wiring: configuration → rota → HTTP server, with graceful shutdown.
//!
//! The only module that knows about all the others.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::Config;
use crate::http::{self, AppState};
use crate::rota::{self, Rota};

/// A built, bound, not yet running service.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Load the rota and bind the listener; fails fast, before serving, on any problem.
    pub async fn build(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let rota = load_rota(config)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        tracing::info!(
            listen = %listener.local_addr()?,
            trust = %rota.trust_name,
            services = rota.services().len(),
            people = rota.people().len(),
            "nightingale ready"
        );
        Ok(Self {
            listener,
            state: AppState {
                rota: Arc::new(rota),
                clock,
            },
        })
    }

    /// The port actually bound (useful with `listen = "127.0.0.1:0"`).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Serve until `shutdown` completes, then finish in-flight requests.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        axum::serve(self.listener, http::router(self.state))
            .with_graceful_shutdown(shutdown)
            .await
            .context("HTTP server failed")
    }
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
