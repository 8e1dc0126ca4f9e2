//! `GET /healthz`: the process is up and serving.

use axum::Router;
use axum::routing::get;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(|| async { "ok\n" }))
}
