//! `POST /api/v1/enrolments`, `DELETE /api/v1/enrolments/{id}` and
//! `GET /api/v1/enrolments?nhs_number=…`.
//!
//! The first two need a key with the `enrol` scope; the list, a key that
//! reads (`read-own` sees its own client's enrolments, `read-all` every
//! one, including those the EPR feed made). An enrolment records the client
//! whose key made it, and a key ends only its own client's enrolments:
//! another client's is answered `404`, as one nobody made.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde_json::json;

use super::auth::ApiClient;
use super::extract::ApiJson;
use super::{ApiError, AppState};
use crate::directory::{Enrolment, EnrolmentId, EnrolmentRequest, NhsNumber};
use crate::operations::{EnrolError, local_time};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/enrolments", post(enrol).get(list))
        .route("/enrolments/{id}", delete(end))
}

async fn enrol(
    State(state): State<AppState>,
    key: ApiClient,
    ApiJson(request): ApiJson<EnrolmentRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    key.may_enrol()?;
    let ApiClient(key) = key;
    match state.ops.enrol(request, Some(key.client.clone())).await {
        Ok(e) => {
            tracing::info!(enrolment = %e.id, client = %key.client, key = %key.name, service = %e.service, "enrolled");
            Ok((
                StatusCode::CREATED,
                Json(json!({
                    "id": e.id,
                    "service": e.service,
                    "kind": e.kind,
                    "ends_at": e.ends_at.map(local_time),
                    "review_at": e.review_at.map(local_time),
                    "coordinator": e.coordinator,
                    "language": e.language,
                    "notes": e.notes(),
                })),
            ))
        }
        Err(EnrolError::Invalid(errors)) => Err(ApiError::Invalid(errors)),
        Err(EnrolError::Store(e)) => Err(ApiError::Unavailable(e.into())),
        Err(EnrolError::Template(e)) => Err(ApiError::Internal(e.into())),
        Err(EnrolError::Request(e)) => Err(ApiError::Internal(e.into())),
    }
}

async fn end(
    State(state): State<AppState>,
    key: ApiClient,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    key.may_enrol()?;
    let ApiClient(key) = key;
    let id: EnrolmentId = id
        .parse()
        .map_err(|_| ApiError::NotFound("no such enrolment".to_owned()))?;
    if state
        .ops
        .end_enrolment_for(&key, id)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?
    {
        tracing::info!(enrolment = %id, client = %key.client, key = %key.name, "enrolment ended");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no such active enrolment".to_owned()))
    }
}

/// The query of `GET /api/v1/enrolments`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentsQuery {
    /// The patient's NHS number, ten digits.
    pub nhs_number: String,
}

/// One enrolment as the list shows it: its state, and why it ended.
fn listed(e: &Enrolment, now: crate::clock::Instant) -> serde_json::Value {
    let state = if e.is_active(now) { "active" } else { "ended" };
    let why = match (e.ended_because, e.ended_at) {
        (Some(reason), _) => Some(reason.as_str()),
        (None, Some(_)) => Some(crate::directory::EndReason::Ended.as_str()),
        // Past its window: ended by itself.
        (None, None) if state == "ended" => Some("window_over"),
        (None, None) => None,
    };
    json!({
        "id": e.id,
        "service": e.service,
        "kind": e.kind,
        "state": state,
        "ended_because": why,
        "discharged_at": e.discharged_at.map(local_time),
        "enrolled_at": local_time(e.enrolled_at),
        "ends_at": e.ends_at.map(local_time),
        "ended_at": e.ended_at.map(local_time),
    })
}

async fn list(
    State(state): State<AppState>,
    key: ApiClient,
    query: Result<Query<EnrolmentsQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let reach = key.reach()?;
    let Query(query) = query.map_err(|_| {
        ApiError::BadRequest(
            "give the patient's NHS number, and nothing else: ?nhs_number=9434765919".to_owned(),
        )
    })?;
    let nhs = NhsNumber::parse(&query.nhs_number)
        .map_err(|e| ApiError::BadRequest(format!("nhs_number: {e}")))?;
    let list = state
        .ops
        .enrolments_for_nhs_number_seen_by(&reach, nhs)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    let now = state.clock.now();
    Ok(Json(json!({
        "enrolments": list.iter().map(|e| listed(e, now)).collect::<Vec<_>>(),
    })))
}
