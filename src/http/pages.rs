//! The page a signed link in a page SMS opens: the concern's context and
//! timeline, with one-tap Accept and Pass. No login: the signature is the
//! credential, and it expires.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::AppState;
use crate::calendar::LONDON;
use crate::concern::ConcernId;
use crate::directory::Id;
use crate::escalation::Status;
use crate::store::{Inbound, InboundKind};

pub fn router() -> Router<AppState> {
    Router::new().route("/c/{id}", get(show).post(act))
}

#[derive(Debug, Deserialize)]
struct LinkQuery {
    s: String,
    e: i64,
    sig: String,
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    action: String,
}

fn message(state: &AppState, status: StatusCode, title: &str, text: &str) -> Response {
    match state.templates.render(
        "pages/message.html",
        minijinja::context! { title, message => text },
    ) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, text.to_owned()).into_response(),
    }
}

#[allow(clippy::result_large_err)] // the error is the finished response page
fn check(state: &AppState, id: &str, q: &LinkQuery) -> Result<(ConcernId, Id), Response> {
    let refused = |text: &str| message(state, StatusCode::FORBIDDEN, "Link not valid", text);
    let concern: ConcernId = id
        .parse()
        .map_err(|_| refused("This link is not valid. Reply to the page by text instead."))?;
    let staff = Id::parse(&q.s)
        .map_err(|_| refused("This link is not valid. Reply to the page by text instead."))?;
    state
        .links
        .verify(concern, &staff, q.e, &q.sig, state.clock.now())
        .map_err(|e| {
            refused(&format!(
                "{}. Reply to the page by text instead (A and the number to accept).",
                capitalise(&e.to_string())
            ))
        })?;
    Ok((concern, staff))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LinkQuery>,
) -> Response {
    let (concern_id, staff) = match check(&state, &id, &q) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let found = match state.ops.concern(concern_id).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "concern page: store unavailable");
            return message(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "The page cannot be shown just now. Try again in a minute, or reply to the page by text.",
            );
        }
    };
    let Some((concern, timeline, enrolment)) = found else {
        return message(
            &state,
            StatusCode::NOT_FOUND,
            "Not found",
            "This concern no longer exists.",
        );
    };
    let local = |t: crate::clock::Instant| {
        t.with_timezone(&LONDON)
            .format("%a %-d %b %H:%M")
            .to_string()
    };
    let status = match &concern.escalation.status {
        Status::Open => "Waiting for someone to accept".to_owned(),
        Status::Accepted { by, at } => format!("Accepted by {} at {}", by.name, local(*at)),
        Status::Resolved { at, .. } => format!("Resolved at {}", local(*at)),
    };
    let service = concern
        .service
        .as_ref()
        .and_then(|s| state.rota.service(s.as_str()))
        .map(|ix| state.rota.services()[ix as usize].name.clone())
        .unwrap_or_else(|| "Out-of-hours service".to_owned());
    let code = state
        .ops
        .code_for(concern_id, &staff)
        .await
        .ok()
        .flatten()
        .map(|c| c.to_string())
        .unwrap_or_default();
    let entries: Vec<_> = timeline
        .iter()
        .map(|e| minijinja::context! { at => local(e.at), text => e.event.to_string() })
        .collect();
    let html = state.templates.render(
        "pages/concern.html",
        minijinja::context! {
            code,
            service,
            urgent => concern.escalation.urgent,
            patient => enrolment.as_ref().map_or_else(|| "Unknown sender".to_owned(), |e| e.patient.name.clone()),
            status,
            text => concern.text,
            party => concern.party.label(),
            discharged => enrolment.as_ref().map(|e| local(e.discharged_at)),
            context => enrolment.as_ref().and_then(|e| e.context.clone()),
            phone => concern.sender.as_str(),
            opened => local(concern.opened_at),
            can_act => concern.escalation.is_open(),
            action_url => format!("/c/{concern_id}?s={}&e={}&sig={}", staff, q.e, q.sig),
            sig => q.sig,
            timeline => entries,
            expires => local(chrono::DateTime::from_timestamp(q.e, 0).unwrap_or_default()),
        },
    );
    match html {
        Ok(html) => ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "concern page template failed");
            message(
                &state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Try again",
                "The page cannot be shown just now. Reply to the page by text instead.",
            )
        }
    }
}

async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LinkQuery>,
    Form(form): Form<ActionForm>,
) -> Response {
    let (concern, staff) = match check(&state, &id, &q) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let action = match form.action.as_str() {
        "accept" | "pass" => form.action.clone(),
        _ => {
            return message(
                &state,
                StatusCode::BAD_REQUEST,
                "Not understood",
                "Choose Accept or Pass.",
            );
        }
    };
    let item = Inbound {
        key: format!("link:{concern}:{staff}:{action}"),
        kind: InboundKind::Action {
            concern,
            staff: staff.clone(),
            action,
        },
        received_at: state.clock.now(),
    };
    match state.ops.record_inbound(item).await {
        Ok(_) => {
            Redirect::to(&format!("/c/{concern}?s={staff}&e={}&sig={}", q.e, q.sig)).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "link action not stored");
            message(
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "That did not go through. Try again, or reply to the page by text.",
            )
        }
    }
}
