//! The page a signed link in a page SMS opens: the concern's context and
//! timeline, with one-tap Accept and Pass. No login: the signature is the
//! credential, and it expires.
//!
//! Accept and Pass must come from our own page. A POST whose `Origin` is
//! not the origin of `NIGHTINGALE_PUBLIC_URL` is refused with `403`. Every
//! browser in use sends `Origin` on a POST; a POST without one is taken as
//! coming from something that is not a browser (a script holding the link,
//! which could post it anyway), and allowed, unless `Sec-Fetch-Site` says a
//! browser sent it from another site. Our pages are sent with
//! `Referrer-Policy: no-referrer`, under which a browser posts a form with
//! `Origin: null`: that is judged by `Sec-Fetch-Site` alone, as if absent.
//!
//! Its words are templates: what a link shows when it cannot show the
//! concern, or after a tap ([`Shown`], `pages/message_words.txt`), and
//! where the concern stands (`pages/status.txt`).

use anyhow::Context;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::AppState;
use crate::calendar::london_short;
use crate::concern::ConcernId;
use crate::directory::Id;
use crate::escalation::Status;
use crate::escalation::reply::LinkAction;
use crate::links::LinkError;
use crate::operations::CallBack;
use crate::templates::Templates;
use crate::timeline::TimelineEvent;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/c/{id}", get(show).post(act))
        .route("/l/{staff}/{token}", get(short))
        .route("/c/{id}/recording", get(recording))
}

#[derive(Debug, Deserialize)]
struct LinkQuery {
    s: String,
    e: i64,
    sig: String,
}

/// A link's query (`?s=…&e=…&sig=…`); when it is missing or cut short (a
/// phone that broke the link across lines), a page that says so, never a
/// parser's words.
struct SignedQuery(LinkQuery);

impl FromRequestParts<AppState> for SignedQuery {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match Query::<LinkQuery>::from_request_parts(parts, state).await {
            Ok(Query(q)) => Ok(Self(q)),
            Err(_) => Err(message(state, StatusCode::BAD_REQUEST, Shown::Incomplete)),
        }
    }
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    action: String,
    /// What was done, with Resolve (optional).
    #[serde(default)]
    note: String,
}

/// What a link shows instead of the concern, or after a tap: each has
/// its title and words in `pages/message_words.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shown {
    /// The link's query is missing or cut short.
    Incomplete,
    /// The concern or staff id in the link does not parse.
    NotValid,
    /// The link was refused: altered, or past its expiry.
    Refused(LinkError),
    /// The concern no longer exists.
    Gone,
    /// The store could not be read.
    Unavailable,
    /// The page's template failed.
    PageFailed,
    /// A tap posted from another site.
    OtherSite,
    /// A tap whose form could not be read.
    NoForm,
    /// A tap that is not Accept, Pass or Resolve.
    UnknownAction,
    /// A call back that could not be stored.
    CallBackNotStored,
    /// A tap that could not be stored.
    NotStored,
    /// The store could not be read for a recording.
    RecordingUnavailable,
    /// No recording is held.
    NoRecording,
    /// The provider did not give the recording.
    RecordingNotFetched,
    /// What "Call them back" did.
    CallBack(CallBack),
}

impl Shown {
    /// Its name in `pages/message_words.txt`.
    fn what(&self) -> &'static str {
        match self {
            Shown::Incomplete => "incomplete",
            Shown::NotValid => "not_valid",
            Shown::Refused(LinkError::Expired) => "expired",
            Shown::Refused(LinkError::BadSignature) => "bad_signature",
            Shown::Gone => "gone",
            Shown::Unavailable => "unavailable",
            Shown::PageFailed => "not_shown",
            Shown::OtherSite => "other_site",
            Shown::NoForm => "no_form",
            Shown::UnknownAction => "unknown_action",
            Shown::CallBackNotStored => "call_back_not_stored",
            Shown::NotStored => "not_stored",
            Shown::RecordingUnavailable => "recording_unavailable",
            Shown::NoRecording => "no_recording",
            Shown::RecordingNotFetched => "recording_not_fetched",
            Shown::CallBack(CallBack::Ringing) => "ringing",
            Shown::CallBack(CallBack::AlreadyRinging) => "already_ringing",
            Shown::CallBack(CallBack::TooMany) => "too_many_call_backs",
        }
    }

    /// Its title and words, as `pages/message_words.txt` gives them.
    pub(crate) fn words(&self, templates: &Templates) -> anyhow::Result<(String, String)> {
        let words = templates.render(
            "pages/message_words.txt",
            minijinja::context! { what => self.what() },
        )?;
        let (title, text) = words
            .trim()
            .split_once('\n')
            .with_context(|| format!("pages/message_words.txt has no words for {self:?}"))?;
        Ok((title.trim().to_owned(), text.trim().to_owned()))
    }
}

fn message(state: &AppState, status: StatusCode, shown: Shown) -> Response {
    let page = shown.words(&state.templates).and_then(|(title, text)| {
        Ok(state.templates.render(
            "pages/message.html",
            minijinja::context! { title, message => text },
        )?)
    });
    match page {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "message page template failed");
            status.into_response()
        }
    }
}

#[allow(clippy::result_large_err)] // the error is the finished response page
fn check(state: &AppState, id: &str, q: &LinkQuery) -> Result<(ConcernId, Id), Response> {
    let refused = |shown| message(state, StatusCode::FORBIDDEN, shown);
    let concern: ConcernId = id.parse().map_err(|_| refused(Shown::NotValid))?;
    let staff = Id::parse(&q.s).map_err(|_| refused(Shown::NotValid))?;
    state
        .links
        .verify(concern, &staff, q.e, &q.sig, state.clock.now())
        .map_err(|e| refused(Shown::Refused(e)))?;
    Ok((concern, staff))
}

/// A page SMS's short link: checked, then on to the long link it stands
/// for, where the page and its buttons are (see `crate::links`).
async fn short(
    State(state): State<AppState>,
    Path((staff, token)): Path<(String, String)>,
) -> Response {
    let refused = |shown| message(&state, StatusCode::FORBIDDEN, shown);
    let Ok(staff) = Id::parse(&staff) else {
        return refused(Shown::NotValid);
    };
    match state.links.verify_short(&staff, &token, state.clock.now()) {
        Ok((concern, expires)) => Redirect::to(&format!(
            "/c/{concern}{}",
            state.links.long_query(concern, &staff, expires)
        ))
        .into_response(),
        Err(e) => refused(Shown::Refused(e)),
    }
}

/// `scheme://host[:port]`, lower case and without a default port, as a
/// browser writes it in `Origin`.
fn origin_of(url: &str) -> Option<String> {
    let uri: Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    };
    Some(match uri.port_u16() {
        Some(port) if Some(port) != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Whether a POST came from our own page (see the module's notes).
pub(super) fn from_our_page(headers: &HeaderMap, public_url: &str) -> bool {
    match headers
        .get(header::ORIGIN)
        .filter(|o| o.as_bytes() != b"null")
    {
        Some(origin) => {
            let ours = origin_of(public_url);
            ours.is_some() && origin.to_str().ok().and_then(origin_of) == ours
        }
        None => fetched_from_same_site(headers),
    }
}

/// Whether `Sec-Fetch-Site` (set by browsers, never by a page) is absent
/// (not a browser) or says the request came from our own origin or from
/// the person (a typed address, a bookmark).
pub(crate) fn fetched_from_same_site(headers: &HeaderMap) -> bool {
    matches!(
        headers.get("sec-fetch-site").map(|v| v.as_bytes()),
        None | Some(b"same-origin" | b"none")
    )
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedQuery(q): SignedQuery,
) -> Response {
    let (concern_id, staff) = match check(&state, &id, &q) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let view = match concern_view(&state, concern_id, &staff).await {
        Ok(Some(view)) => view,
        Ok(None) => return message(&state, StatusCode::NOT_FOUND, Shown::Gone),
        Err(e) => {
            tracing::error!(error = %e, "concern page: store unavailable");
            return message(&state, StatusCode::SERVICE_UNAVAILABLE, Shown::Unavailable);
        }
    };
    let has_recording = view.get_attr("has_recording").is_ok_and(|v| v.is_true());
    let html = state.templates.render(
        "pages/concern.html",
        minijinja::context! {
            action_url => format!("/c/{concern_id}?s={}&e={}&sig={}", staff, q.e, q.sig),
            sig => q.sig,
            recording_url => has_recording
                .then(|| format!("/c/{concern_id}/recording?s={}&e={}&sig={}", staff, q.e, q.sig)),
            expires => london_short(chrono::DateTime::from_timestamp(q.e, 0).unwrap_or_default()),
            ..view
        },
    );
    match html {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "concern page template failed");
            message(&state, StatusCode::INTERNAL_SERVER_ERROR, Shown::PageFailed)
        }
    }
}

/// The staff name of a concern's service ("Out-of-hours service" for a
/// concern from a stranger, which has none).
pub(crate) fn service_name(state: &AppState, service: Option<&Id>) -> String {
    let rota = state.rota.current();
    service
        .and_then(|s| rota.service(s.as_str()))
        .map(|ix| rota.services()[ix as usize].name.clone())
        .unwrap_or_else(|| state.templates.fallbacks().service.clone())
}

/// Why a concern's view could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ViewError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] crate::store_error::StoreError),
    /// Its words could not be rendered (`pages/status.txt`,
    /// `timeline/event.txt`).
    #[error("rendering the concern's words: {0:#}")]
    Words(anyhow::Error),
}

/// What a clinician paged for a concern may see of it, as the page its
/// link opens shows it, and as their staff page does
/// (`pages/concern_details.html`): `None` if it no longer exists.
pub(crate) async fn concern_view(
    state: &AppState,
    concern_id: ConcernId,
    staff: &Id,
) -> Result<Option<minijinja::Value>, ViewError> {
    let Some((concern, timeline, enrolment)) = state.ops.concern(concern_id).await? else {
        return Ok(None);
    };
    // A stranger's email pages nobody: nobody accepts or passes it.
    let not_paged = concern
        .recognised
        .is_some_and(crate::concern::Recognised::pages_nobody);
    // Worded for the clinician reading it: what they did shows as theirs.
    let passed = timeline
        .iter()
        .any(|e| matches!(&e.event, TimelineEvent::Passed { staff: by, .. } if by == staff));
    let (state_now, by, at) = match &concern.escalation.status {
        Status::Open if not_paged => ("not_paged", None, None),
        Status::Accepted { by, at } if &by.id == staff => ("accepted_by_you", None, Some(*at)),
        Status::Open if passed => ("passed_by_you", None, None),
        Status::Open => ("open", None, None),
        Status::Accepted { by, at } => ("accepted", Some(by.name.as_str()), Some(*at)),
        Status::Resolved { at, .. } => ("resolved", None, Some(*at)),
    };
    let status = state
        .templates
        .render(
            "pages/status.txt",
            minijinja::context! { state => state_now, by, at => at.map(london_short) },
        )
        .map_err(|e| ViewError::Words(e.into()))?
        .trim()
        .to_owned();
    let service = service_name(state, concern.service.as_ref());
    let code = state
        .ops
        .code_for(concern_id, staff)
        .await?
        .map(|c| c.to_string())
        .unwrap_or_default();
    let entries = timeline
        .iter()
        .map(|e| {
            let text = state.templates.timeline_line(&e.event)?;
            Ok(minijinja::context! { at => london_short(e.at), text })
        })
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(ViewError::Words)?;
    // The enrolment's context and the patient's earlier concerns.
    let history = super::history::history(state, &concern, enrolment.as_ref()).await?;
    Ok(Some(minijinja::context! {
        id => concern_id.to_string(),
        code,
        service,
        urgent => concern.escalation.urgent,
        patient => enrolment.as_ref().map_or_else(|| state.templates.fallbacks().unknown_sender.clone(), |e| e.patient.name.clone()),
        status,
        not_paged,
        recognised => concern.recognised,
        text => concern.text,
        party => concern.party.label(),
        discharged => enrolment.as_ref().and_then(|e| e.discharged_at).map(london_short),
        context => enrolment.as_ref().and_then(|e| e.context.clone()),
        phone => concern.sender.phone().map(|p| p.as_str().to_owned()),
        email => concern.sender.email().map(|e| e.as_str().to_owned()),
        opened => london_short(concern.opened_at),
        can_act => concern.escalation.is_open() && !not_paged,
        // Someone enrolled with no phone cannot be rung back.
        can_call => concern.sender.phone().is_some() && match &concern.escalation.status {
            Status::Open => true,
            Status::Accepted { by, .. } => &by.id == staff,
            Status::Resolved { .. } => false,
        },
        can_resolve => !concern.escalation.is_resolved(),
        has_recording => !concern.recordings_held().is_empty(),
        timeline => entries,
        ..history
    }))
}

async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedQuery(q): SignedQuery,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, FormRejection>,
) -> Response {
    let (concern, staff) = match check(&state, &id, &q) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !from_our_page(&headers, &state.public_url) {
        tracing::warn!(concern = %concern, "link action refused: posted from another site");
        return message(&state, StatusCode::FORBIDDEN, Shown::OtherSite);
    }
    let Ok(Form(form)) = form else {
        return message(&state, StatusCode::BAD_REQUEST, Shown::NoForm);
    };
    if form.action == "call" {
        return match state.ops.call_back(concern, &staff).await {
            Ok(outcome) => message(&state, call_back_status(outcome), Shown::CallBack(outcome)),
            Err(e) => {
                tracing::error!(error = %e, "call back not stored");
                message(
                    &state,
                    StatusCode::SERVICE_UNAVAILABLE,
                    Shown::CallBackNotStored,
                )
            }
        };
    }
    let stored = if form.action == "resolve" {
        let note = Some(form.note.trim().to_owned()).filter(|n| !n.is_empty());
        state.ops.resolve_from_web(concern, &staff, note).await
    } else {
        let Ok(action) = LinkAction::parse(&form.action) else {
            return message(&state, StatusCode::BAD_REQUEST, Shown::UnknownAction);
        };
        state.ops.link_action(concern, &staff, action).await
    };
    match stored {
        Ok(_) => {
            Redirect::to(&format!("/c/{concern}?s={staff}&e={}&sig={}", q.e, q.sig)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "link action not stored");
            message(&state, StatusCode::SERVICE_UNAVAILABLE, Shown::NotStored)
        }
    }
}

/// The status of the page a clinician who pressed "Call them back" sees
/// (its words are [`Shown::CallBack`]'s).
pub(crate) fn call_back_status(outcome: CallBack) -> StatusCode {
    match outcome {
        CallBack::Ringing => StatusCode::OK,
        CallBack::AlreadyRinging | CallBack::TooMany => StatusCode::TOO_MANY_REQUESTS,
    }
}

/// The caller's voicemail, for the clinician the link was signed for:
/// fetched from Twilio with the account's credentials and passed on (it is
/// never stored here). Gone once retention has deleted it.
async fn recording(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedQuery(q): SignedQuery,
) -> Response {
    let (concern_id, _) = match check(&state, &id, &q) {
        Ok(v) => v,
        Err(r) => return r,
    };
    recording_of(&state, concern_id).await
}

/// A concern's voicemail, fetched from the provider and passed on (for a
/// clinician the caller has checked may hear it).
pub(crate) async fn recording_of(state: &AppState, concern_id: ConcernId) -> Response {
    let state = state.clone();
    let sid = match state.ops.concern(concern_id).await {
        Ok(Some((concern, _, _))) => concern.recordings_held().first().map(|s| s.to_string()),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "recording: store unavailable");
            return message(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                Shown::RecordingUnavailable,
            );
        }
    };
    let Some(sid) = sid else {
        return message(&state, StatusCode::NOT_FOUND, Shown::NoRecording);
    };
    match state.calls.fetch_recording(&sid).await {
        Ok(audio) => ([(header::CONTENT_TYPE, "audio/mpeg")], audio).into_response(),
        Err(reason) => {
            tracing::warn!(concern = %concern_id, %reason, "recording not fetched from the provider");
            message(&state, StatusCode::BAD_GATEWAY, Shown::RecordingNotFetched)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_scheme_host_and_any_port_that_is_not_the_default() {
        assert_eq!(
            origin_of("https://Nightingale.Trust.nhs.uk/app/").as_deref(),
            Some("https://nightingale.trust.nhs.uk")
        );
        assert_eq!(
            origin_of("https://n.test:443").as_deref(),
            Some("https://n.test")
        );
        assert_eq!(
            origin_of("http://localhost:8080").as_deref(),
            Some("http://localhost:8080")
        );
        assert_eq!(origin_of("null"), None);
    }
}
