//! One error type for the HTTP layer. Clients get a short JSON message that
//! says what to do; internal causes are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::directory::FieldError;

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed; the message says how to fix it.
    #[error("{0}")]
    BadRequest(String),
    /// No API key, or not one of ours.
    #[error("unauthorized")]
    Unauthorized,
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
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, json!({ "error": m })),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                json!({ "error": "send an API key as 'Authorization: Bearer KEY'; make one with 'nightingale api-key create NAME'" }),
            ),
            ApiError::Invalid(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "error": "some fields are not right; see errors", "errors": errors }),
            ),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, json!({ "error": m })),
            ApiError::Internal(cause) => {
                tracing::error!(error = ?cause, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "error": "something went wrong on our side; it has been logged, please try again" }),
                )
            }
            ApiError::Unavailable(cause) => {
                tracing::error!(error = ?cause, "store unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({ "error": "temporarily unavailable; please retry" }),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}
