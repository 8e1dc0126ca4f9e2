//! Bearer API keys for the JSON API (`nightingale api-key create NAME`):
//! which key a request presented, and whether it may do what it asks
//! ([`crate::api_keys`] holds the rules).
//!
//! The key is looked up in the store on every request, with no cache, so
//! a key revoked on one node, or past its expiry, is refused at once on
//! every node. Scopes are checked before anything is looked up: a `403`
//! for a missing scope says nothing about what exists, and what a key may
//! not read is answered `404` by the handlers, as if nobody had made it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::{ApiError, AppState};
use crate::api_keys::{ApiKey, Reach, Refused};

/// The API key a request presented: one of ours, neither revoked nor expired.
#[derive(Debug, Clone)]
pub struct ApiClient(pub ApiKey);

impl ApiClient {
    /// What the key may read, or a `403` if it may read nothing.
    pub fn reach(&self) -> Result<Reach, ApiError> {
        self.0.reach().ok_or_else(|| {
            ApiError::Forbidden(format!(
                "this API key may not read concerns or enrolments (its scopes are {}): ask for a key with --scope read-own",
                self.0.scopes
            ))
        })
    }

    /// Nothing, or a `403` if the key may not enrol (nor end enrolments).
    pub fn may_enrol(&self) -> Result<(), ApiError> {
        if self.0.may_enrol() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this API key may not enrol patients or end enrolments (its scopes are {}): ask for a key with --scope enrol",
                self.0.scopes
            )))
        }
    }
}

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
        let Some(key) = state
            .ops
            .api_key(key)
            .await
            .map_err(|e| ApiError::Unavailable(e.into()))?
        else {
            return Err(ApiError::Unauthorized);
        };
        match key.usable_at(state.clock.now()) {
            Ok(()) => Ok(ApiClient(key)),
            Err(refused) => {
                let why = match refused {
                    Refused::Revoked(_) => "revoked",
                    Refused::Expired(_) => "expired",
                };
                tracing::info!(key = %key.name, why, "API key refused");
                Err(ApiError::KeyRefused(refused))
            }
        }
    }
}
