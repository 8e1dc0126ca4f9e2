//! `GET /api/v1/concerns/{id}`: a concern and its whole timeline.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

use super::auth::ApiClient;
use super::{ApiError, AppState};
use crate::concern::ConcernId;
use crate::operations::ConcernView;

pub fn router() -> Router<AppState> {
    Router::new().route("/concerns/{id}", get(concern))
}

async fn concern(
    State(state): State<AppState>,
    ApiClient(_): ApiClient,
    Path(id): Path<String>,
) -> Result<Json<ConcernView>, ApiError> {
    let id: ConcernId = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no concern {id:?}")))?;
    let found = state
        .ops
        .concern(id)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    let (concern, timeline, _) =
        found.ok_or_else(|| ApiError::NotFound(format!("no concern {id}")))?;
    Ok(Json(ConcernView::new(&concern, &timeline)))
}
