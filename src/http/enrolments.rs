//! `POST /api/v1/enrolments` and `DELETE /api/v1/enrolments/{id}`.
//!
//! Both need a key with the `enrol` scope. An enrolment records the client
//! whose key made it, and a key ends only its own client's enrolments:
//! another client's is answered `404`, as one nobody made.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde_json::json;

use super::auth::ApiClient;
use super::extract::ApiJson;
use super::{ApiError, AppState};
use crate::directory::{EnrolmentId, EnrolmentRequest};
use crate::operations::{EnrolError, local_time};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/enrolments", post(enrol))
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
