//! `POST /api/v1/enrolments` and `DELETE /api/v1/enrolments/{id}`.
//!
//! Both need a key with the `enrol` scope. An enrolment records the client
//! whose key made it, and a key ends only its own client's enrolments:
//! another client's is answered `404`, as one nobody made.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::ApiClient;
use super::error::{ErrorBody, InvalidBody};
use super::extract::ApiJson;
use super::{ApiError, AppState};
use crate::directory::{EnrolmentId, EnrolmentKind, EnrolmentRequest, FieldNote, Id, Language};
use crate::operations::{EnrolError, local_time};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enrol))
        .routes(routes!(end))
}

/// A `201`'s body: the enrolment as it was made.
#[derive(Debug, Serialize, ToSchema)]
struct Enrolled {
    /// The enrolment's id: keep it to end the enrolment or read its
    /// patient's concerns (`GET /api/v1/concerns?enrolment=ID`).
    #[schema(value_type = String, format = Uuid)]
    id: EnrolmentId,
    /// The service that looks after the patient.
    #[schema(value_type = String, example = "cardiology-ward-7")]
    service: Id,
    /// Which kind of enrolment.
    kind: EnrolmentKind,
    /// When a discharge's enrolment ends by itself, RFC 3339 with the
    /// London offset; `null` for an ongoing one.
    #[schema(format = DateTime)]
    ends_at: Option<String>,
    /// An ongoing enrolment's next review, RFC 3339 with the London
    /// offset; `null` for a discharge.
    #[schema(format = DateTime)]
    review_at: Option<String>,
    /// The named care co-ordinator's id, if one was named.
    #[schema(value_type = Option<String>)]
    coordinator: Option<Id>,
    /// The language texts are written in.
    language: Language,
    /// What to know about fields that were accepted: a landline that will
    /// not be texted, a person reached by email alone.
    notes: Vec<FieldNote>,
}

/// Enrol a patient at discharge (or for ongoing care), with their carers.
///
/// The patient and each carer with a mobile number get a welcome text
/// with the service's number. Needs a key with the `enrol` scope; the
/// enrolment belongs to the key's client.
#[utoipa::path(
    post,
    path = "/enrolments",
    operation_id = "enrol",
    tag = "enrolments",
    request_body = EnrolmentRequest,
    security(("api_key" = ["enrol"])),
    responses(
        (status = 201, description = "Enrolled; the welcome texts are on their way", body = Enrolled),
        (status = 400, description = "The body is not JSON of this shape (a field of the wrong type, or one this API does not take)", body = ErrorBody),
        (status = 408, description = "The body stopped arriving part-way", body = ErrorBody),
        (status = 413, description = "The body is larger than 64 KB", body = ErrorBody),
        (status = 415, description = "The body is not declared as JSON", body = ErrorBody),
        (status = 422, description = "Some fields are not right; each is listed with what to send instead. Nothing was stored", body = InvalidBody),
    )
)]
async fn enrol(
    State(state): State<AppState>,
    key: ApiClient,
    ApiJson(request): ApiJson<EnrolmentRequest>,
) -> Result<(StatusCode, Json<Enrolled>), ApiError> {
    key.may_enrol()?;
    let ApiClient(key) = key;
    match state.ops.enrol(request, Some(key.client.clone())).await {
        Ok(e) => {
            tracing::info!(enrolment = %e.id, client = %key.client, key = %key.name, service = %e.service, "enrolled");
            Ok((
                StatusCode::CREATED,
                Json(Enrolled {
                    id: e.id,
                    service: e.service.clone(),
                    kind: e.kind,
                    ends_at: e.ends_at.map(local_time),
                    review_at: e.review_at.map(local_time),
                    coordinator: e.coordinator.clone(),
                    language: e.language,
                    notes: e.notes(),
                }),
            ))
        }
        Err(EnrolError::Invalid(errors)) => Err(ApiError::Invalid(errors)),
        Err(EnrolError::Store(e)) => Err(ApiError::Unavailable(e.into())),
        Err(EnrolError::Template(e)) => Err(ApiError::Internal(e.into())),
        Err(EnrolError::Request(e)) => Err(ApiError::Internal(e.into())),
    }
}

/// End an enrolment now.
///
/// Needs a key with the `enrol` scope. A key ends only its own client's
/// enrolments (with `read-all` too, also one that belongs to no client);
/// any other is answered `404`, as one nobody made.
#[utoipa::path(
    delete,
    path = "/enrolments/{id}",
    operation_id = "end_enrolment",
    tag = "enrolments",
    params(("id" = String, Path, format = Uuid, description = "The enrolment's id, as `POST /api/v1/enrolments` answered")),
    security(("api_key" = ["enrol"])),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, description = "No such active enrolment (or none this key may end)", body = ErrorBody),
    )
)]
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
