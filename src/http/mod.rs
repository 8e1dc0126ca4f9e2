//! The HTTP interface: health checks and the JSON API.
//!
//! Handlers only translate: extract, parse into domain types, call the
//! domain, map the result. Each area exposes its own `router()`.

mod error;
mod health;
mod oncall;

use std::sync::Arc;

use axum::Router;

pub use error::ApiError;

use crate::clock::Clock;
use crate::rota::Rota;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    /// The compiled rota.
    pub rota: Arc<Rota>,
    /// The injected clock: "now" when a request does not say.
    pub clock: Arc<dyn Clock>,
}

/// Every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .nest("/api/v1", oncall::router())
        .fallback(|| async {
            ApiError::NotFound("no such page: see README.md for the API".to_owned())
        })
        .with_state(state)
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
