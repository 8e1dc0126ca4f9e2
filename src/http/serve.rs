//! The accept loop: HTTP/1 connections served by hyper, with the limits a
//! public service needs and `axum::serve` lacks.
//!
//! - **A cap on connections.** At most `max_connections` ordinary
//!   connections are served at once, plus a reserve of
//!   [`HEALTH_RESERVE`](crate::config::HEALTH_RESERVE) whose requests may
//!   only be `/healthz`, `/readyz` or `/metrics` (anything else gets a quick
//!   `503`), so a load balancer and monitoring still get an answer when
//!   every ordinary connection is taken. Past both, the loop stops accepting
//!   and new connections wait in the kernel's queue instead of using up
//!   file descriptors.
//! - **A header read timeout.** A client that does not finish its headers
//!   in `header_timeout` (a slow-loris attack, or an idle keep-alive
//!   connection) is cut off, which frees its slot. Body and whole-request
//!   timeouts are layers in [`super::router`].
//! - **Accept errors** (out of file descriptors: `EMFILE`) are logged at
//!   most once a second, with a short pause before the next try rather than
//!   a hot loop.
//! - **Graceful shutdown.** When told to stop, it stops accepting, lets each
//!   request in flight finish (for at most `request_timeout`), and closes
//!   idle connections.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::client::Clients;
use crate::config::{Config, HEALTH_RESERVE};

/// How long to pause after an accept error such as `EMFILE`.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The paths a reserve connection may ask for.
const HEALTH_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

pub use super::client::ClientAddr;

/// Limits on connections and requests.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Ordinary connections served at once.
    pub max_connections: usize,
    /// Connections beyond those, for health checks and metrics only.
    pub reserve: usize,
    /// How long a client may take over a request's headers (or sit idle between requests).
    pub header_timeout: Duration,
    /// How long a request body may go without a byte arriving.
    pub body_timeout: Duration,
    /// How long a whole request may take.
    pub request_timeout: Duration,
    /// Who each request's client is (the trusted proxies).
    pub clients: Arc<Clients>,
}

impl Limits {
    /// The limits a configuration sets.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        anyhow::ensure!(
            config.max_connections > 0,
            "NIGHTINGALE_MAX_CONNECTIONS must be at least 1 (the default is 512)"
        );
        Ok(Self {
            max_connections: config.max_connections,
            reserve: HEALTH_RESERVE,
            header_timeout: config.header_timeout,
            body_timeout: config.body_timeout,
            request_timeout: config.request_timeout,
            clients: Arc::new(Clients::new(config.trusted_proxies.clone())),
        })
    }
}

/// Which pool a connection's slot came from; put on each of its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// An ordinary connection: every route.
    Ordinary,
    /// A reserve connection: health and metrics only.
    Reserve,
}

/// Serve `app` on `listener` until `shutdown` completes, then finish the
/// requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let ordinary = Arc::new(Semaphore::new(limits.max_connections));
    let reserve = Arc::new(Semaphore::new(limits.reserve));
    let ordinary_app = app.clone().layer(axum::Extension(Slot::Ordinary));
    let reserve_app = app.layer(axum::Extension(Slot::Reserve));
    let graceful = GracefulShutdown::new();
    let mut errors = AcceptErrors::default();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = take_slot(&ordinary, &reserve) => slot,
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    if let Some(suppressed) = errors.should_log(Instant::now()) {
                        tracing::error!(
                            error = %e,
                            suppressed,
                            "cannot accept connections (out of file descriptors? see LimitNOFILE in docs/operations.md); pausing"
                        );
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        // A reserve slot taken while waiting may no longer be needed.
        let (kind, permit) = match slot {
            (Slot::Reserve, reserved) => match Arc::clone(&ordinary).try_acquire_owned() {
                Ok(p) => (Slot::Ordinary, p),
                Err(_) => (Slot::Reserve, reserved),
            },
            ordinary_slot => ordinary_slot,
        };
        let app = TowerToHyperService::new(match kind {
            Slot::Ordinary => ordinary_app.clone(),
            Slot::Reserve => reserve_app.clone(),
        });
        // Each request knows the client it came from (sign-in counts per
        // client): the peer, or whom a trusted proxy forwarded it for.
        let clients = Arc::clone(&limits.clients);
        let service =
            hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                let client = clients.client_of(peer.ip(), request.headers());
                request.extensions_mut().insert(ClientAddr(client));
                hyper::service::Service::call(&app, request)
            });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            // A reserve connection answers one request and closes, so it is free for the next check.
            .keep_alive(kind == Slot::Ordinary)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.request_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the request timeout; stopping anyway");
    }
}

/// A free ordinary slot, else a reserve one, else the first to come free.
async fn take_slot(
    ordinary: &Arc<Semaphore>,
    reserve: &Arc<Semaphore>,
) -> (Slot, OwnedSemaphorePermit) {
    if let Ok(p) = Arc::clone(ordinary).try_acquire_owned() {
        return (Slot::Ordinary, p);
    }
    if let Ok(p) = Arc::clone(reserve).try_acquire_owned() {
        return (Slot::Reserve, p);
    }
    // The semaphores are never closed, so neither acquire fails.
    tokio::select! {
        biased;
        Ok(p) = Arc::clone(ordinary).acquire_owned() => (Slot::Ordinary, p),
        Ok(p) = Arc::clone(reserve).acquire_owned() => (Slot::Reserve, p),
    }
}

/// Errors from one connection that came and went before it was accepted:
/// nothing to wait for.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Logs accept errors at most once a second, counting those it left out.
#[derive(Debug, Default)]
struct AcceptErrors {
    last_logged: Option<Instant>,
    suppressed: u64,
}

impl AcceptErrors {
    /// `Some(errors left out since the last line)` if this one should be logged.
    fn should_log(&mut self, now: Instant) -> Option<u64> {
        match self.last_logged {
            Some(last) if now.duration_since(last) < Duration::from_secs(1) => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last_logged = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

/// On a reserve connection, answer only health and metrics; anything else
/// gets a quick `503` so the reserve stays free for checks.
pub async fn reserve_gate(request: Request, next: Next) -> Response {
    let reserved = request.extensions().get::<Slot>() == Some(&Slot::Reserve);
    if reserved && !HEALTH_PATHS.contains(&request.uri().path()) {
        let mut busy =
            (StatusCode::SERVICE_UNAVAILABLE, "busy: try again shortly\n").into_response();
        busy.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return busy;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_errors_are_logged_at_most_once_a_second_with_a_count_of_the_rest() {
        let mut errors = AcceptErrors::default();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        assert_eq!(errors.should_log(at(0)), Some(0));
        // A burst of EMFILE every 100 ms: one line a second.
        let logged: Vec<_> = (1..=20)
            .filter_map(|i| errors.should_log(at(i * 100)))
            .collect();
        assert_eq!(logged, [9, 9]);
    }
}
