//! The morning handover's full list (docs/adr/0017): what a service's
//! patients raised in the last out-of-hours period, for anyone with a part
//! in the service. The handover text links here; the summary is
//! [`crate::handover::Summary`], the same data the text is made from.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{Refusal, Staff, StaffPage};
use crate::http::AppState;

/// The handover routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/staff/handover/{service}", get(handover))
}

/// `?mine=1`: only the patients whose named co-ordinator is the signed-in person.
#[derive(Debug, Deserialize)]
struct Which {
    mine: Option<String>,
}

async fn handover(
    State(state): State<AppState>,
    staff: Staff,
    Path(service): Path<String>,
    Query(which): Query<Which>,
) -> Result<Response, Refusal> {
    let rota = state.rota.current();
    let ix = rota.service(&service).ok_or(Refusal::NotFound)?;
    let mine = which.mine.is_some();
    // A co-ordinator sees their own patients of any service; the whole
    // list is for those with a part in the service.
    if !mine && !rota.part_of(&staff.id, ix) {
        tracing::info!(staff = %staff.id, service, "refused: no part in the service");
        return Err(Refusal::Forbidden);
    }
    let now = state.clock.now();
    let read = Arc::clone(&rota);
    let summary = crate::store::blocking(&state.ops.store, move |s| {
        crate::handover::latest(s, &read, &read.services()[ix as usize], now)
    })
    .await
    .map_err(Refusal::unavailable("cannot read the handover"))?
    .map(|s| {
        if mine {
            s.for_coordinator(staff.id.as_str())
        } else {
            s
        }
    });
    let service = &rota.services()[ix as usize];
    Ok(StaffPage {
        staff: &staff,
        template: "web/staff/handover.html",
        nav: "handover",
        context: minijinja::context! { summary, name => service.name, mine },
    }
    .render(&state))
}
