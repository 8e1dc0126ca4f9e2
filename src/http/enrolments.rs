//! `POST /api/v1/enrolments`, `DELETE /api/v1/enrolments/{id}` and
//! `GET /api/v1/enrolments?nhs_number=…`.
//!
//! The first two need a key with the `enrol` scope; the list, a key that
//! reads (`read-own` sees its own client's enrolments, `read-all` every
//! one, including those the EPR feed made). An enrolment records the client
//! whose key made it, and a key ends only its own client's enrolments:
//! another client's is answered `404`, as one nobody made.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::ApiClient;
use super::error::{ErrorBody, InvalidBody};
use super::extract::ApiJson;
use super::{ApiError, AppState};
use crate::directory::{
    EndReason, Enrolment, EnrolmentId, EnrolmentKind, EnrolmentRequest, FieldNote, Id, Language,
    NhsNumber,
};
use crate::operations::{EnrolError, local_time};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(enrol, list))
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

/// The query of `GET /api/v1/enrolments`.
#[derive(Debug, serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnrolmentsQuery {
    /// The patient's NHS number: ten digits whose last is the modulus-11
    /// check digit, spaces and hyphens between them allowed (`943 476 5919`).
    #[param(pattern = r"^[ -]*([0-9][ -]*){10}$", example = "9434765919")]
    pub nhs_number: String,
}

/// Whether an enrolment is in force now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum EnrolmentState {
    /// Texts and concerns are taken for it.
    Active,
    /// Ended: `ended_because` says why.
    Ended,
}

/// Why an enrolment is no longer active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum EndedBecause {
    /// Whoever enrolled the patient ended it (`DELETE`).
    Ended,
    /// The EPR cancelled the discharge (HL7 A13).
    DischargeCancelled,
    /// The EPR says the patient died; nobody was texted about it.
    Died,
    /// Its window after discharge ran out.
    WindowOver,
}

impl From<EndReason> for EndedBecause {
    fn from(reason: EndReason) -> Self {
        match reason {
            EndReason::Ended => Self::Ended,
            EndReason::DischargeCancelled => Self::DischargeCancelled,
            EndReason::Died => Self::Died,
        }
    }
}

/// One enrolment as the list shows it: its state, and why it ended.
#[derive(Debug, Serialize, ToSchema)]
struct Listed {
    /// The enrolment's id.
    #[schema(value_type = String, format = Uuid)]
    id: EnrolmentId,
    /// The service that looks after the patient.
    #[schema(value_type = String, example = "cardiology-ward-7")]
    service: Id,
    /// Which kind of enrolment.
    kind: EnrolmentKind,
    /// Whether it is in force now.
    state: EnrolmentState,
    /// Why it ended; `null` while it is active.
    ended_because: Option<EndedBecause>,
    /// When the patient was discharged, RFC 3339 with the London offset.
    #[schema(format = DateTime)]
    discharged_at: Option<String>,
    /// When it was made.
    #[schema(format = DateTime)]
    enrolled_at: String,
    /// When a discharge's enrolment ends by itself; `null` for an ongoing one.
    #[schema(format = DateTime)]
    ends_at: Option<String>,
    /// When it was ended before its time, if it was.
    #[schema(format = DateTime)]
    ended_at: Option<String>,
}

/// The answer of `GET /api/v1/enrolments`.
#[derive(Debug, Serialize, ToSchema)]
struct EnrolmentList {
    /// The person's enrolments this key may see, newest first.
    enrolments: Vec<Listed>,
}

fn listed(e: &Enrolment, now: crate::clock::Instant) -> Listed {
    let active = e.is_active(now);
    let ended_because = match (e.ended_because, e.ended_at) {
        (Some(reason), _) => Some(reason.into()),
        (None, Some(_)) => Some(EndedBecause::Ended),
        (None, None) if !active => Some(EndedBecause::WindowOver),
        (None, None) => None,
    };
    Listed {
        id: e.id,
        service: e.service.clone(),
        kind: e.kind,
        state: if active {
            EnrolmentState::Active
        } else {
            EnrolmentState::Ended
        },
        ended_because,
        discharged_at: e.discharged_at.map(local_time),
        enrolled_at: local_time(e.enrolled_at),
        ends_at: e.ends_at.map(local_time),
        ended_at: e.ended_at.map(local_time),
    }
}

/// A person's enrolments, found by their NHS number, with each one's state.
///
/// For an EPR or integration engine checking what a discharge message did.
/// Needs a key that may read: a `read-own` key sees only its own client's
/// enrolments.
#[utoipa::path(
    get,
    path = "/enrolments",
    operation_id = "list_enrolments",
    tag = "enrolments",
    params(EnrolmentsQuery),
    security(("api_key" = ["read-own"]), ("api_key" = ["read-all"])),
    responses(
        (status = 200, description = "The person's enrolments (none is an empty list)", body = EnrolmentList),
        (status = 400, description = "The NHS number is missing or not a valid one; the message says what to send", body = ErrorBody),
    )
)]
async fn list(
    State(state): State<AppState>,
    key: ApiClient,
    query: Result<Query<EnrolmentsQuery>, QueryRejection>,
) -> Result<Json<EnrolmentList>, ApiError> {
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
    Ok(Json(EnrolmentList {
        enrolments: list.iter().map(|e| listed(e, now)).collect(),
    }))
}
