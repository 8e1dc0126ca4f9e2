//! `GET /api/v1/oncall?service=ID&at=ISO-8601`: who is on call for a service.
//!
//! Like the rest of the JSON API it needs a bearer API key. Staff contact
//! details (their own mobile numbers) are not shown, only the kinds of
//! contact each person has.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::auth::ApiClient;
use super::extract::ApiQuery;
use super::{ApiError, AppState};
use crate::calendar::{LONDON, parse_instant};
use crate::directory::ContactMethod;
use crate::rota::{Chain, ResolvedLevel};

pub fn router() -> Router<AppState> {
    Router::new().route("/oncall", get(oncall))
}

#[derive(Debug, Deserialize)]
struct OnCallQuery {
    service: Option<String>,
    at: Option<String>,
}

/// The chain, as the API shows it.
#[derive(Debug, Serialize)]
pub struct ChainView {
    service: ServiceView,
    at: String,
    local_time: String,
    in_hours: bool,
    why: String,
    valid_until: Option<String>,
    levels: Vec<LevelView>,
    fallback: LevelView,
}

#[derive(Debug, Serialize)]
struct ServiceView {
    id: String,
    name: String,
    division: String,
}

#[derive(Debug, Serialize)]
struct LevelView {
    level: usize,
    ack_within: String,
    repeat: u32,
    filled_by_fallback: bool,
    on_call: Vec<PersonView>,
}

#[derive(Debug, Serialize)]
struct PersonView {
    id: String,
    name: String,
    role: String,
    via: String,
    contact_methods: Vec<&'static str>,
}

async fn oncall(
    State(state): State<AppState>,
    _client: ApiClient,
    ApiQuery(q): ApiQuery<OnCallQuery>,
) -> Result<Json<ChainView>, ApiError> {
    let Some(service_id) = q.service else {
        return Err(ApiError::BadRequest(
            "add ?service=ID, for example ?service=cardiology-ward-7".to_owned(),
        ));
    };
    let rota = state.rota.current();
    let service = rota.service(&service_id).ok_or_else(|| {
        let known: Vec<&str> = rota.services().iter().map(|s| s.id.as_str()).collect();
        ApiError::NotFound(format!(
            "no service {service_id:?}; the services are {}",
            known.join(", ")
        ))
    })?;
    let at = match q.at {
        Some(text) => parse_instant(&text).map_err(|e| ApiError::BadRequest(format!("at: {e}")))?,
        None => state.clock.now(),
    };
    Ok(Json(view(&rota.resolve(service, at), at)))
}

/// The API's view of a chain resolved at `at`.
pub fn view(chain: &Chain<'_>, at: crate::clock::Instant) -> ChainView {
    ChainView {
        service: ServiceView {
            id: chain.service.id.to_string(),
            name: chain.service.name.clone(),
            division: chain.service.division.to_string(),
        },
        at: at.to_rfc3339(),
        local_time: at
            .with_timezone(&LONDON)
            .format("%a %d %b %Y %H:%M %Z")
            .to_string(),
        in_hours: chain.period.in_hours,
        why: chain.period.to_string(),
        valid_until: chain.valid_until.map(|t| t.to_rfc3339()),
        levels: chain.levels.iter().map(level_view).collect(),
        fallback: level_view(&chain.fallback),
    }
}

fn level_view(level: &ResolvedLevel<'_>) -> LevelView {
    LevelView {
        level: level.number,
        ack_within: humantime::format_duration(level.level.ack_within).to_string(),
        repeat: level.level.repeat,
        filled_by_fallback: level.filled_by_fallback,
        on_call: level
            .on_call
            .iter()
            .map(|o| PersonView {
                id: o.person.id.to_string(),
                name: o.person.name.clone(),
                role: o.person.role.clone(),
                via: o.via.to_string(),
                contact_methods: o
                    .person
                    .contacts
                    .iter()
                    .map(|c| match c {
                        ContactMethod::Sms(_) => "sms",
                        ContactMethod::Voice(_) => "voice",
                        ContactMethod::Email(_) => "email",
                    })
                    .collect(),
            })
            .collect(),
    }
}
