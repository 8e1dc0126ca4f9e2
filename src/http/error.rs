//! One error type for the HTTP layer. Clients get a short JSON message that
//! says what to do; internal causes are logged, never sent.
//!
//! [`api_json_errors`] makes that true of answers no handler wrote too (a
//! method a route does not take, a timeout, a refusal while busy): on
//! `/api/v1` every error is JSON.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::directory::FieldError;

/// The body of every error answer on `/api/v1`: what to do, in plain words.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({ "error": "send an API key as 'Authorization: Bearer KEY'; make one with 'nightingale api-key create NAME'" }))]
pub struct ErrorBody {
    /// What went wrong and what to do about it. Never an internal cause.
    error: String,
}

impl ErrorBody {
    fn new(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
        }
    }
}

/// The body of a `422`: the body parsed, but some fields are not right.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "error": "some fields are not right; see errors",
    "errors": [{ "field": "patient.phone", "message": "is too short: a UK number has 11 digits starting with 0, like 07911 123456" }]
}))]
pub struct InvalidBody {
    /// Always "some fields are not right; see errors".
    error: String,
    /// Each field that is wrong, and what to send instead.
    errors: Vec<FieldError>,
}

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; the message says how to fix it.
    #[error("{0}")]
    BadRequest(String),
    /// No API key, or not one of ours.
    #[error("unauthorized")]
    Unauthorized,
    /// A key of ours that was revoked or has expired.
    #[error("API key refused")]
    KeyRefused(crate::api_keys::Refused),
    /// The key may not do this (a scope it lacks); the message says which.
    /// Never used for what a key may not read: that is [`ApiError::NotFound`].
    #[error("{0}")]
    Forbidden(String),
    /// The body parsed, but fields are wrong.
    #[error("invalid fields")]
    Invalid(Vec<FieldError>),
    /// What was asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Something failed on our side; the cause is logged, not shown.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
    /// The store is unreachable: the caller should retry.
    #[error("unavailable")]
    Unavailable(anyhow::Error),
    /// The body is larger than [`super::MAX_BODY`].
    #[error("body too large")]
    PayloadTooLarge,
    /// The body is not declared as JSON.
    #[error("not JSON")]
    UnsupportedMediaType,
    /// The client stopped sending the body part-way.
    #[error("body timed out")]
    BodyTimeout,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, ErrorBody::new(m)),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorBody::new(
                    "send an API key as 'Authorization: Bearer KEY'; make one with 'nightingale api-key create NAME'",
                ),
            ),
            ApiError::KeyRefused(refused) => (
                StatusCode::UNAUTHORIZED,
                ErrorBody::new(match refused {
                    crate::api_keys::Refused::Revoked(_) => {
                        "this API key has been revoked: ask the trust's Nightingale operator for a new one"
                    }
                    crate::api_keys::Refused::Expired(_) => {
                        "this API key has expired: ask the trust's Nightingale operator for a new one"
                    }
                }),
            ),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, ErrorBody::new(m)),
            ApiError::Invalid(errors) => {
                let body = InvalidBody {
                    error: "some fields are not right; see errors".to_owned(),
                    errors,
                };
                return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
            }
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, ErrorBody::new(m)),
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorBody::new(
                        "something went wrong on our side; it has been logged, please try again",
                    ),
                )
            }
            ApiError::Unavailable(cause) => {
                tracing::error!(error = ?cause, "store unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorBody::new("temporarily unavailable; please retry"),
                )
            }
            ApiError::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, ErrorBody::new(too_large()))
            }
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorBody::new("send the body as JSON, with 'Content-Type: application/json'"),
            ),
            ApiError::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                ErrorBody::new("the body stopped arriving part-way; send it again"),
            ),
        };
        (status, Json(body)).into_response()
    }
}

fn too_large() -> String {
    format!(
        "the body is larger than {} KB; nothing was stored",
        super::MAX_BODY / 1024
    )
}

/// Copy the headers of an answer being replaced onto its replacement,
/// bar those that describe the old body.
pub(super) fn carry_headers(from: &axum::http::HeaderMap, into: &mut axum::http::HeaderMap) {
    for (name, value) in from {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            into.insert(name, value.clone());
        }
    }
}

/// On `/api/v1`, turn any error answer that is not already JSON (axum's
/// plain-text rejections, a `405`, a timeout, a refusal while busy) into
/// `{"error": …}` with words for its status. The original text is dropped,
/// not quoted: it may carry parser detail.
pub async fn api_json_errors(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let message = match status {
        // axum adds the `Allow` header after this layer has run.
        StatusCode::METHOD_NOT_ALLOWED => {
            "this route does not take that method: the Allow header lists those it takes".to_owned()
        }
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            "send the body as JSON, with 'Content-Type: application/json'".to_owned()
        }
        StatusCode::REQUEST_TIMEOUT => {
            "the request took too long to arrive; send it again".to_owned()
        }
        StatusCode::SERVICE_UNAVAILABLE => "temporarily unavailable; please retry".to_owned(),
        StatusCode::NOT_FOUND => "no such route: see README.md for the API".to_owned(),
        StatusCode::BAD_REQUEST => "the request is malformed: see README.md for the API".to_owned(),
        other => other
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_ascii_lowercase(),
    };
    let mut json = (status, Json(ErrorBody::new(message))).into_response();
    carry_headers(response.headers(), json.headers_mut());
    json.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    json
}
