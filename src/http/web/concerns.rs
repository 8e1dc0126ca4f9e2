//! "My concerns": the concerns a clinician was paged for, open and recent,
//! with Accept, Pass, Resolve and call-back. Each button stores the same
//! item the page link's buttons (or an `R12` text) store, so the engine
//! applies the same rules to it; this page only checks that the person
//! was paged for the concern.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{Refusal, Staff, StaffForm, StaffPage, message_page};
use crate::access::ConcernAccess;
use crate::calendar::london_short;
use crate::concern::ConcernId;
use crate::escalation::Status;
use crate::escalation::reply::LinkAction;
use crate::http::AppState;
use crate::http::pages::{concern_view, recording_of, service_name};

/// How long a closed concern stays on the list.
pub const RECENT_DAYS: i64 = 7;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/concerns", get(list))
        .route("/staff/concerns/{id}", get(show).post(act))
        .route("/staff/concerns/{id}/recording", get(recording))
}

async fn list(State(state): State<AppState>, staff: Staff) -> Response {
    let since = state.clock.now() - chrono::TimeDelta::days(RECENT_DAYS);
    let found = match state.ops.concerns_of(&staff.id, since).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "my concerns: store unavailable");
            return Refusal::Unavailable.into_response();
        }
    };
    let (mut open, mut closed) = (Vec::new(), Vec::new());
    for (page, concern, enrolment) in &found {
        let status = match &concern.escalation.status {
            Status::Open => "Waiting for someone to accept".to_owned(),
            Status::Accepted { by, .. } if by.id == staff.id => "You have it".to_owned(),
            Status::Accepted { by, .. } => format!("Accepted by {}", by.name),
            Status::Resolved { at, .. } => format!("Resolved {}", london_short(*at)),
        };
        let service = service_name(&state, concern.service.as_ref());
        let item = minijinja::context! {
            id => concern.id.to_string(),
            code => page.code,
            patient => enrolment.as_ref().map_or_else(|| state.templates.fallbacks().unknown_sender.clone(), |e| e.patient.name.clone()),
            service,
            urgent => concern.escalation.urgent,
            opened => london_short(concern.opened_at),
            status,
        };
        if concern.escalation.is_resolved() {
            closed.push(item);
        } else {
            open.push(item);
        }
    }
    StaffPage {
        staff: &staff,
        template: "web/staff/concerns.html",
        nav: "concerns",
        context: minijinja::context! { open, closed, days => RECENT_DAYS },
    }
    .render(&state)
}

/// The concern `id` names, if `staff` was paged for it or is in the
/// in-hours team a stranger's email is kept for; and which.
async fn theirs(
    state: &AppState,
    staff: &Staff,
    id: &str,
) -> Result<(ConcernId, ConcernAccess), Refusal> {
    let concern: ConcernId = id.parse().map_err(|_| Refusal::NotFound)?;
    let access = state
        .ops
        .access_to(concern, &staff.id)
        .await
        .map_err(Refusal::unavailable("staff concern: store unavailable"))?;
    // Not theirs: as if it did not exist.
    access
        .map(|access| (concern, access))
        .ok_or(Refusal::NotFound)
}

async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let (concern, _) = theirs(&state, &staff, &id).await?;
    let view = concern_view(&state, concern, &staff.id)
        .await
        .map_err(Refusal::unavailable("staff concern: store unavailable"))?
        .ok_or(Refusal::NotFound)?;
    let has_recording = view.get_attr("has_recording").is_ok_and(|v| v.is_true());
    Ok(StaffPage {
        staff: &staff,
        template: "web/staff/concern.html",
        nav: "concerns",
        context: minijinja::context! {
            action_url => format!("/staff/concerns/{concern}"),
            recording_url => has_recording.then(|| format!("/staff/concerns/{concern}/recording")),
            ..view
        },
    }
    .render(&state))
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    action: String,
    #[serde(default)]
    note: String,
}

async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: StaffForm<ActionForm>,
) -> Result<Response, Refusal> {
    let StaffForm { staff, form } = form;
    let (concern, access) = theirs(&state, &staff, &id).await?;
    if access == ConcernAccess::InHoursTeam && form.action != "resolve" {
        // Accepting or passing a stranger's email would page someone.
        return Ok(message_page(
            &state,
            axum::http::StatusCode::BAD_REQUEST,
            "Not paged",
            "This email came from someone we could not recognise, so nobody was paged for it. Read it and resolve it when it has been dealt with.",
            Some((&format!("/staff/concerns/{concern}"), "Back to the concern")),
        ));
    }
    let stored = match form.action.as_str() {
        "resolve" => {
            let note = Some(form.note.trim().to_owned()).filter(|n| !n.is_empty());
            state.ops.resolve_from_web(concern, &staff.id, note).await
        }
        "call" => {
            return Ok(match state.ops.call_back(concern, &staff.id).await {
                Ok(outcome) => {
                    let status = crate::http::pages::call_back_status(outcome);
                    let shown = crate::http::pages::Shown::CallBack(outcome);
                    let (title, text) = match shown.words(&state.templates) {
                        Ok(words) => words,
                        Err(e) => {
                            tracing::error!(error = ?e, "call back words not rendered");
                            return Err(Refusal::Unavailable);
                        }
                    };
                    message_page(
                        &state,
                        status,
                        &title,
                        &text,
                        Some((&format!("/staff/concerns/{concern}"), "Back to the concern")),
                    )
                }
                Err(e) => {
                    tracing::error!(error = %e, "call back not stored");
                    return Err(Refusal::Unavailable);
                }
            });
        }
        other => match LinkAction::parse(other) {
            Ok(action) => state.ops.link_action(concern, &staff.id, action).await,
            Err(_) => {
                return Ok(message_page(
                    &state,
                    axum::http::StatusCode::BAD_REQUEST,
                    "Not understood",
                    "Choose Accept, Pass or Resolve.",
                    Some((&format!("/staff/concerns/{concern}"), "Back to the concern")),
                ));
            }
        },
    };
    stored.map_err(Refusal::unavailable("staff concern action not stored"))?;
    Ok(Redirect::to(&format!("/staff/concerns/{concern}")).into_response())
}

async fn recording(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let (concern, _) = theirs(&state, &staff, &id).await?;
    Ok(recording_of(&state, concern).await)
}
