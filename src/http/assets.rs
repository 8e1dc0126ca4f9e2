//! `GET /assets/{file}`: the CSS and scripts pages load (see
//! [`crate::assets`]). Each is named by a hash of its contents, so it is
//! sent with a year's cache lifetime and marked immutable.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;

/// A year: the longest lifetime caches honour.
const FOREVER: &str = "public, max-age=31536000, immutable";

pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{file}", get(asset))
}

async fn asset(request: Request) -> Response {
    match crate::assets::at(request.uri().path()) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(FOREVER)),
            ],
            asset.bytes.as_slice(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    }
}
