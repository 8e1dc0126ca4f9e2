//! The HTTP interface: Twilio webhooks, the JSON API, the page behind a
//! page's link, health and metrics.
//!
//! Handlers only translate: extract, parse into domain types, call
//! [`crate::operations`], map the result. Each area exposes its own `router()`.

mod assets;
mod auth;
pub mod client;
mod concerns;
mod enrolments;
mod error;
mod extract;
mod health;
mod history;
mod oncall;
pub mod openapi;
pub(crate) mod pages;
mod security;
pub mod serve;
mod twilio;
mod voice;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use secrecy::SecretString;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

pub use error::ApiError;

use crate::clock::Clock;
use crate::links::LinkSigner;
use crate::operations::Operations;
use crate::rota::LiveRota;
use crate::templates::Templates;

/// The largest request body accepted, on every route. Bodies are cut off
/// while being read: a larger one is answered `413` without being buffered.
pub const MAX_BODY: usize = 64 * 1024;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    /// The compiled rota.
    pub rota: LiveRota,
    /// The injected clock: "now" when a request does not say.
    pub clock: Arc<dyn Clock>,
    /// Domain operations.
    pub ops: Operations,
    /// Page and message templates.
    pub templates: Arc<Templates>,
    /// Signs and checks page links.
    pub links: LinkSigner,
    /// `NIGHTINGALE_PUBLIC_URL`, without a trailing slash: what Twilio signs.
    pub public_url: String,
    /// Twilio auth tokens accepted for webhook signatures (current, then
    /// previous), unless whoever builds the application gives its own
    /// (the demo gives the token its simulated calls sign with).
    pub twilio_tokens: Arc<Vec<SecretString>>,
    /// Fetches the recordings of callers' messages for the page's link.
    pub calls: Arc<dyn crate::channels::CallPlacer>,
    /// Whether this serves a demo (`serve --demo`), whose clock a viewer
    /// moves: the sign-in page says so.
    pub demo: bool,
    /// What the staff pages need: cookie settings, the anti-forgery key.
    pub web: web::WebConfig,
}

/// Every route, with the layers every request passes through (outermost
/// last): the body limit, body and request timeouts, the health-only gate
/// of reserve connections, JSON errors on the API, security headers (HSTS
/// when the public URL is https), and the trace.
///
/// `extra` routes, plugged in by whoever builds the application (the
/// demo's page and forms), are served as these are, behind the same layers.
pub fn router(state: AppState, limits: &serve::Limits, extra: Router<AppState>) -> Router {
    let security = security::Security::for_public_url(&state.public_url);
    let (api, _) = openapi::api();
    let document = openapi::Document(Arc::new(openapi::json()));
    Router::new()
        .merge(extra)
        .merge(assets::router())
        .merge(health::router())
        .merge(twilio::router())
        .merge(voice::router())
        .merge(pages::router())
        .merge(web::router())
        .merge(api.layer(axum::Extension(document)))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), web::same_origin_posts))
        .layer(axum::middleware::from_fn_with_state(state.clone(), web::html_refusals))
        .with_state(state)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .layer(axum::middleware::from_fn(serve::reserve_gate))
        .layer(axum::middleware::from_fn(error::api_json_errors))
        .layer(axum::middleware::from_fn_with_state(security, security::security_headers))
        // Log the path only: query strings can carry a page link's
        // signature, and a calendar feed's path is its token, so not even that.
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            tracing::info_span!("http", method = %req.method(), path = %crate::logs::loggable_path(req.uri().path()))
        }))
}

/// An address no route takes. A person who types the service's address
/// in a browser (`GET /`, asking for HTML) lands on the staff sign-in; a
/// mistyped address asked for by a browser gets a "page not found" page
/// with a way home; an API client (or anything not asking for HTML, and
/// anything under `/api/`) gets JSON.
async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let path = uri.path();
    if !wants_html || path.starts_with("/api/") {
        return ApiError::NotFound("no such page: see README.md for the API".to_owned())
            .into_response();
    }
    if path == "/" && (method == axum::http::Method::GET || method == axum::http::Method::HEAD) {
        return axum::response::Redirect::to("/staff").into_response();
    }
    web::message_page(
        &state,
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address. If you typed it, check it. If you followed a link in a text, open it again from the text.",
        Some(("/staff", "Go to the staff home page")),
    )
}
