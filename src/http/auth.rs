//! Bearer API keys for the JSON API (`nightingale api-key create NAME`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::{ApiError, AppState};

/// The name of the API key a request presented.
#[derive(Debug, Clone)]
pub struct ApiClient(pub String);

impl FromRequestParts<AppState> for ApiClient {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let Some(key) = header
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
        else {
            return Err(ApiError::Unauthorized);
        };
        match state
            .ops
            .api_key(key)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
        {
            Some(name) => Ok(ApiClient(name)),
            None => Err(ApiError::Unauthorized),
        }
    }
}
