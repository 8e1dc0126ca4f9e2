//! `POST /api/v1/enrolments` and `DELETE /api/v1/enrolments/{id}`.

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
    ApiClient(client): ApiClient,
    ApiJson(request): ApiJson<EnrolmentRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    match state.ops.enrol(request).await {
        Ok(e) => {
            tracing::info!(enrolment = %e.id, client = %client, service = %e.service, "enrolled");
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
        Err(EnrolError::Template(e)) => Err(ApiError::Internal(e)),
    }
}

async fn end(
    State(state): State<AppState>,
    ApiClient(client): ApiClient,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: EnrolmentId = id
        .parse()
        .map_err(|_| ApiError::NotFound("no such enrolment".to_owned()))?;
    if state
        .ops
        .end_enrolment(id)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?
    {
        tracing::info!(enrolment = %id, client = %client, "enrolment ended");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no active enrolment {id}")))
    }
}
