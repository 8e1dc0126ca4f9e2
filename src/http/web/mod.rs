//! The staff pages under `/staff`: signing in by a texted code, the
//! signed-in person's home, and the seams every staff page is built on.
//!
//! - [`Staff`]: the extractor for a signed-in person (their id, name and
//!   [`Roles`]). A request without a live session is sent to sign in and
//!   brought back afterwards.
//! - [`Staff::manage`]: the check a manager's page makes for its service:
//!   a clear 404 or 403 page otherwise.
//! - [`StaffForm`]: the extractor every staff POST takes: the signed-in
//!   person and the form, once its anti-forgery token (`csrf`, which
//!   `templates/web/staff/csrf.html` puts in every form) matches their
//!   session. Every POST under `/staff` is also refused unless it comes
//!   from our own origin (`Origin` / `Sec-Fetch-Site`).
//! - [`StaffPage`]: renders a page extending `web/staff/layout.html` with
//!   what the layout needs.
//! - [`Refusal`]: a refusal as an HTML page, never JSON or a stack trace.
//!
//! Other areas add their routes with one `.merge(...)` in [`router`].

mod concerns;
mod handover;
mod reports;
pub mod rota;
mod shifts;
mod sign_in;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::AppState;
use crate::access::Roles;
use crate::access::sessions::SignInMethod;
use crate::directory::Id;
use crate::rota::ServiceIx;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ng_staff";

/// What the staff pages need besides [`AppState`]'s other parts.
#[derive(Clone)]
pub struct WebConfig {
    /// The key anti-forgery tokens are made with (from the store, so every node agrees).
    csrf_key: Vec<u8>,
    /// Whether cookies are marked `Secure` (the public URL is https).
    secure: bool,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl WebConfig {
    /// Staff pages served under `public_url`, with anti-forgery tokens made
    /// with `csrf_key`.
    pub fn new(csrf_key: Vec<u8>, public_url: &str) -> Self {
        Self {
            csrf_key,
            secure: public_url.to_ascii_lowercase().starts_with("https://"),
        }
    }

    /// A `Set-Cookie` value for `name` = `value` on every path, for
    /// `max_age` seconds (0 deletes it).
    pub fn cookie(&self, name: &str, value: &str, max_age: i64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::try_from(format!(
            "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("ng_invalid=; Max-Age=0"))
    }

    /// The anti-forgery token of the session whose cookie holds `token`.
    fn csrf(&self, token: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.csrf_key).expect("any key length");
        mac.update(b"csrf|");
        mac.update(token.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

/// Every staff route, and the feed.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(sign_in::router())
        .merge(shifts::router())
        .merge(concerns::router())
        .merge(reports::router())
        .merge(handover::router())
        .route("/staff", get(home))
        .route("/staff/services", get(services))
        .merge(rota::router())
}

/// A signed-in member of staff.
#[derive(Debug, Clone, Serialize)]
pub struct Staff {
    /// Their id in the rota files.
    pub id: Id,
    /// Their name.
    pub name: String,
    /// Their role, as people.toml says.
    pub role: String,
    /// What they may see.
    pub roles: Roles,
    /// How they signed in.
    #[serde(skip)]
    pub method: SignInMethod,
    /// Their session's anti-forgery token, for forms.
    pub csrf: String,
    #[serde(skip)]
    token: String,
}

impl Staff {
    /// Whether they may manage `service` (a service's or the trust's manager).
    pub fn may_manage(&self, service: &str) -> bool {
        self.roles.may_manage(service)
    }

    /// The service a manager's page is for, if they may manage it: else a
    /// 404 page (no such service) or a 403 page (not theirs).
    pub fn manage(&self, state: &AppState, service: &str) -> Result<ServiceIx, Refusal> {
        let ix = state
            .rota
            .current()
            .service(service)
            .ok_or(Refusal::NotFound)?;
        if self.may_manage(service) {
            Ok(ix)
        } else {
            tracing::info!(staff = %self.id, service, "refused: not a manager of the service");
            Err(Refusal::NotYourService)
        }
    }
}

/// A refusal on a staff page, as an HTML page.
#[derive(Debug)]
pub enum Refusal {
    /// Not signed in (or the session ended): sign in, then come back to `next`.
    SignIn {
        /// Where to return to.
        next: String,
        /// Whether a session was presented that has ended (timed out,
        /// or, in the demo, its clock moved past its end): the sign-in
        /// page says so, rather than leave them wondering why.
        ended: bool,
    },
    /// A service they have no part in, or do not manage.
    NotYourService,
    /// Something that is not theirs to see (another person's concern).
    Forbidden,
    /// No such page or thing.
    NotFound,
    /// A form posted without a matching anti-forgery token, or from another site.
    Forged,
    /// The store could not answer; the cause is logged.
    Unavailable,
}

impl Refusal {
    /// For `map_err`, where the store (or what `what` names) could not
    /// answer: the cause is logged under `what`, and the person is shown
    /// [`Refusal::Unavailable`].
    pub fn unavailable<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> Refusal {
        move |e| {
            tracing::error!(error = %e, "{what}");
            Refusal::Unavailable
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            Refusal::SignIn { next, ended } => {
                let ended = if ended { "&ended=1" } else { "" };
                return Redirect::to(&format!("/staff/sign-in?next={}{ended}", encode(&next)))
                    .into_response();
            }
            Refusal::NotYourService => (
                StatusCode::FORBIDDEN,
                "You do not have access to this service",
                "Only the service's managers and the trust's managers can see this page. If you should be one, ask your rota manager to add you to the service's managers in the rota files.",
            ),
            Refusal::Forbidden => (
                StatusCode::FORBIDDEN,
                "You do not have access to this page",
                "It belongs to someone else, or to a service you have no part in.",
            ),
            Refusal::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing here. Check the address, or start again from your home page.",
            ),
            Refusal::Forged => (
                StatusCode::FORBIDDEN,
                "That did not go through",
                "The form was out of date or did not come from this site. Go back, reload the page and try again.",
            ),
            Refusal::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "The page cannot be shown just now. Try again in a minute.",
            ),
        };
        // Rendered by `html_refusals`, which holds the templates; the
        // marker carries the words.
        let mut response = (status, message).into_response();
        response.extensions_mut().insert(RefusalPage { title });
        response
    }
}

/// Marks a response as a refusal to be shown as a page (see [`html_refusals`]).
#[derive(Debug, Clone, Copy)]
struct RefusalPage {
    title: &'static str,
}

/// `%`-encode a path for a query string.
fn encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Where a request was for, to come back to after signing in.
fn here(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map_or("/staff".to_owned(), |p| p.as_str().to_owned())
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let sign_in = |ended| Refusal::SignIn {
            next: here(parts),
            ended,
        };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned) else {
            return Err(sign_in(false));
        };
        let session = match state.ops.session(&token).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(sign_in(true)),
            Err(e) => {
                tracing::error!(error = %e, "staff session: store unavailable");
                return Err(Refusal::Unavailable);
            }
        };
        let rota = state.rota.current();
        let Some(person) = rota.person(session.person.as_str()) else {
            return Err(sign_in(false));
        };
        Ok(Staff {
            id: person.id.clone(),
            name: person.name.clone(),
            role: person.role.clone(),
            roles: Roles::of(&rota, &person.id),
            method: session.method,
            csrf: state.web.csrf(&token),
            token,
        })
    }
}

/// A form posted by a signed-in person, its anti-forgery token checked.
#[derive(Debug)]
pub struct StaffForm<T> {
    /// Who posted it.
    pub staff: Staff,
    /// The form's fields (bar `csrf`).
    pub form: T,
}

#[derive(serde::Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for StaffForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state)
            .await
            .map_err(|r| match r {
                // A POST cannot be replayed after signing in: back to the page.
                Refusal::SignIn { ended, .. } => Refusal::SignIn {
                    next: "/staff".to_owned(),
                    ended,
                }
                .into_response(),
                other => other.into_response(),
            })?;
        let request = Request::from_parts(parts, body);
        let axum::Form(WithCsrf::<T> { csrf, form }) = axum::Form::from_request(request, state)
            .await
            .map_err(|e| {
                tracing::info!(error = %e, "staff form not understood");
                (StatusCode::BAD_REQUEST, "The form was not understood.").into_response()
            })?;
        if !bool::from(csrf.as_bytes().ct_eq(staff.csrf.as_bytes())) {
            tracing::warn!(staff = %staff.id, "staff form refused: anti-forgery token does not match");
            return Err(Refusal::Forged.into_response());
        }
        Ok(StaffForm { staff, form })
    }
}

/// Refuse any POST under `/staff` that a browser sent from another site.
pub async fn same_origin_posts(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() == Method::POST
        && request.uri().path().starts_with("/staff")
        && !super::pages::from_our_page(request.headers(), &state.public_url)
    {
        tracing::warn!(path = %request.uri().path(), "staff form refused: posted from another site");
        return Refusal::Forged.into_response();
    }
    next.run(request).await
}

/// Turn a [`Refusal`] (and any bare error answer on `/staff`: a method a
/// route does not take, a body too large) into an HTML page.
pub async fn html_refusals(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !request.uri().path().starts_with("/staff") {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if is_html || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let title = response.extensions().get::<RefusalPage>().map(|r| r.title);
    let (parts, body) = response.into_parts();
    let message = match title {
        Some(_) => axum::body::to_bytes(body, 4096)
            .await
            .ok()
            .and_then(|b| String::from_utf8(b.to_vec()).ok())
            .unwrap_or_default(),
        None => match status {
            StatusCode::NOT_FOUND => {
                "There is nothing here. Check the address, or start again from your home page."
                    .to_owned()
            }
            StatusCode::METHOD_NOT_ALLOWED => {
                "That page cannot be used that way. Start again from your home page.".to_owned()
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                "That was more than a form can hold. Go back and try again.".to_owned()
            }
            s if s.is_server_error() => {
                "The page cannot be shown just now. Try again in a minute.".to_owned()
            }
            _ => "That did not work. Go back and try again.".to_owned(),
        },
    };
    let title = title.unwrap_or(match status {
        StatusCode::NOT_FOUND => "Page not found",
        s if s.is_server_error() => "Try again",
        _ => "That did not work",
    });
    let mut page = message_page(
        &state,
        status,
        title,
        &message,
        Some(("/staff", "Go to your home page")),
    );
    super::error::carry_headers(&parts.headers, page.headers_mut());
    page
}

/// A staff message page (`web/staff/message.html`).
/// The week a page's `?week=` asks for (`None` when it asks for none: this
/// week), or a 400 page saying how a week is written, with a link to
/// `this_week` (the page without one). Years are bounded
/// ([`crate::calendar::YEARS`]), so no week typed into an address takes a
/// page's dates off the end of the calendar.
pub(super) fn asked_week(
    state: &AppState,
    asked: Option<&str>,
    this_week: &str,
) -> Result<Option<crate::calendar::Week>, Box<Response>> {
    match asked.filter(|w| !w.is_empty()).map(str::parse) {
        None => Ok(None),
        Some(Ok(week)) => Ok(Some(week)),
        Some(Err(e)) => Err(Box::new(message_page(
            state,
            StatusCode::BAD_REQUEST,
            "That is not a week",
            &format!("{e}."),
            Some((this_week, "Show this week")),
        ))),
    }
}

pub fn message_page(
    state: &AppState,
    status: StatusCode,
    title: &str,
    message: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let (link, link_text) = link.unzip();
    match state.templates.render(
        "web/staff/message.html",
        minijinja::context! { title, message, link, link_text },
    ) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "staff message template failed");
            (
                status,
                Html(format!(
                    "<!doctype html><title>{status}</title><p>{}</p>",
                    status.canonical_reason().unwrap_or("Error")
                )),
            )
                .into_response()
        }
    }
}

/// A page for a signed-in person: `template` (extending
/// `web/staff/layout.html`) with `staff`, `nav` and `context`.
pub struct StaffPage<'a, C> {
    /// Who is signed in.
    pub staff: &'a Staff,
    /// The template.
    pub template: &'static str,
    /// Which nav entry is current: "home", "shifts", "concerns", "services"…
    pub nav: &'static str,
    /// The page's own context.
    pub context: C,
}

impl<C: Serialize> StaffPage<'_, C> {
    /// Render it.
    pub fn render(self, state: &AppState) -> Response {
        let html = state.templates.render(
            self.template,
            minijinja::context! {
                staff => self.staff,
                nav => self.nav,
                ..minijinja::Value::from_serialize(&self.context)
            },
        );
        match html {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(error = ?e, template = self.template, "staff page template failed");
                Refusal::Unavailable.into_response()
            }
        }
    }
}

async fn home(State(state): State<AppState>, staff: Staff) -> Response {
    let rota = state.rota.current();
    let services: Vec<_> = rota
        .services()
        .iter()
        .filter(|s| staff.roles.part_of(s.id.as_str()))
        .map(|s| {
            minijinja::context! {
                id => s.id.as_str(),
                name => s.name,
                manage => staff.may_manage(s.id.as_str()),
                handover => s.hours.has_in_hours_team(),
            }
        })
        .collect();
    StaffPage {
        staff: &staff,
        template: "web/staff/home.html",
        nav: "home",
        context: minijinja::context! { services },
    }
    .render(&state)
}

/// The services `staff` manages, for a page's list: id and name each.
pub(crate) fn managed_services(state: &AppState, staff: &Staff) -> Vec<minijinja::Value> {
    state
        .rota
        .current()
        .services()
        .iter()
        .filter(|s| staff.may_manage(s.id.as_str()))
        .map(|s| minijinja::context! { id => s.id.as_str(), name => s.name })
        .collect()
}

async fn services(State(state): State<AppState>, staff: Staff) -> Response {
    if !staff.roles.is_manager() {
        return Refusal::Forbidden.into_response();
    }
    let services = managed_services(&state, &staff);
    StaffPage {
        staff: &staff,
        template: "web/staff/services.html",
        nav: "services",
        context: minijinja::context! { services },
    }
    .render(&state)
}
