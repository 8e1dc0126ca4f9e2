//! `GET /api/v1/oncall?service=ID&at=ISO-8601`: who is on call for a service.
//! `GET /api/v1/oncall?enrolment=ID&at=…`: who answers one enrolled patient
//! (their service's chain, led by their care co-ordinator in the
//! co-ordinator's hours: [`crate::rota::Rota::resolve_for`]).
//!
//! Like the rest of the JSON API it needs a bearer API key; any key may ask
//! about a service, and `?enrolment=` needs one that may read that
//! enrolment (another client's is `404`, as one nobody made). Staff contact
//! details (their own mobile numbers) are not shown, only the kinds of
//! contact each person has.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::auth::ApiClient;
use super::extract::ApiQuery;
use super::{ApiError, AppState};
use crate::calendar::{BadInstant, LONDON, parse_instant};
use crate::directory::ContactMethod;
use crate::rota::{Chain, ResolvedLevel};

pub fn router() -> Router<AppState> {
    Router::new().route("/oncall", get(oncall))
}

#[derive(Debug, Deserialize)]
struct OnCallQuery {
    service: Option<String>,
    enrolment: Option<String>,
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
    /// The enrolment asked about (`?enrolment=`), if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    enrolment: Option<String>,
    /// The care co-ordinator that enrolment names, if it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    coordinator: Option<CoordinatorView>,
    levels: Vec<LevelView>,
    fallback: LevelView,
}

#[derive(Debug, Serialize)]
struct CoordinatorView {
    id: String,
    name: Option<String>,
    role: Option<String>,
    first_contact: bool,
    why: String,
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
    key: ApiClient,
    ApiQuery(q): ApiQuery<OnCallQuery>,
) -> Result<Json<ChainView>, ApiError> {
    let (service_id, enrolment) = match (q.service, q.enrolment) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give ?service=ID or ?enrolment=ID, not both: an enrolment names its service"
                    .to_owned(),
            ));
        }
        (Some(service), None) => (service, None),
        (None, Some(id)) => {
            let enrolment = find_enrolment(&state, &key, &id).await?;
            (enrolment.service.to_string(), Some(enrolment))
        }
        (None, None) => {
            return Err(ApiError::BadRequest(
                "add ?service=ID, for example ?service=cardiology-ward-7, or ?enrolment=ID for one patient".to_owned(),
            ));
        }
    };
    let rota = state.rota.current();
    let service = rota.service(&service_id).ok_or_else(|| {
        let known: Vec<&str> = rota.services().iter().map(|s| s.id.as_str()).collect();
        ApiError::NotFound(format!(
            "no such service; the services are {}",
            known.join(", ")
        ))
    })?;
    let at = match q.at {
        Some(text) => parse_instant(&text)
            .map_err(|_| ApiError::BadRequest(format!("at: {}", BadInstant::ADVICE)))?,
        None => state.clock.now(),
    };
    let coordinator = enrolment.as_ref().and_then(|e| e.coordinator.as_ref());
    let mut view = view(&rota.resolve_for(service, coordinator, at), at);
    view.enrolment = enrolment.map(|e| e.id.to_string());
    Ok(Json(view))
}

/// The enrolment `?enrolment=` names, or a `404` saying there is none
/// (also for one the key may not read).
async fn find_enrolment(
    state: &AppState,
    key: &ApiClient,
    id: &str,
) -> Result<crate::directory::Enrolment, ApiError> {
    let reach = key.reach()?;
    let not_found = || ApiError::NotFound("no such enrolment".to_owned());
    let parsed: crate::directory::EnrolmentId = id.parse().map_err(|_| not_found())?;
    state
        .ops
        .enrolment_seen_by(&reach, parsed)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?
        .ok_or_else(not_found)
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
        enrolment: None,
        coordinator: chain.coordinator.as_ref().map(|c| CoordinatorView {
            id: c.id.to_string(),
            name: c.person.map(|p| p.name.clone()),
            role: c.person.map(|p| p.role.clone()),
            first_contact: c.first_contact(),
            why: c.to_string(),
        }),
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
