//! Health and metrics: `GET /healthz` (process up), `GET /readyz` (a
//! webhook can be accepted now: the store takes a write), `GET /metrics`
//! (Prometheus text).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
}

async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.ops.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::error!(error = %e, "not ready: the store cannot take a write");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the store cannot take a write\n",
            )
        }
    }
}

async fn metrics(
    State(state): State<AppState>,
) -> (
    StatusCode,
    [(axum::http::HeaderName, &'static str); 1],
    String,
) {
    let content_type = [(
        axum::http::header::CONTENT_TYPE,
        crate::metrics::CONTENT_TYPE,
    )];
    match state.ops.metrics().await {
        Ok(text) => (StatusCode::OK, content_type, text),
        Err(e) => {
            tracing::error!(error = %e, "metrics unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, content_type, String::new())
        }
    }
}
