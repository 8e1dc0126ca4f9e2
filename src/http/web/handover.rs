//! The morning handover's full list (docs/adr/0017): what a service's
//! patients raised in the last out-of-hours period, for anyone with a part
//! in the service. The handover text links here; the summary is
//! [`crate::handover::Summary`], the same data the text is made from.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use super::{Refusal, Staff, StaffPage};
use crate::http::AppState;

/// The handover routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/staff/handover/{service}", get(handover))
}

async fn handover(
    State(state): State<AppState>,
    staff: Staff,
    Path(service): Path<String>,
) -> Result<Response, Refusal> {
    let rota = state.rota.current();
    let ix = rota.service(&service).ok_or(Refusal::NotFound)?;
    if !rota.part_of(&staff.id, ix) {
        tracing::info!(staff = %staff.id, service, "refused: no part in the service");
        return Err(Refusal::Forbidden);
    }
    let service = &rota.services()[ix as usize];
    let summary = crate::handover::latest(&state.ops.store, &rota, service, state.clock.now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot read the handover");
            Refusal::Unavailable
        })?;
    Ok(StaffPage {
        staff: &staff,
        template: "web/staff/handover.html",
        nav: "handover",
        context: minijinja::context! { summary, name => service.name },
    }
    .render(&state))
}
