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

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::ApiClient;
use super::extract::ApiQuery;
use super::{ApiError, AppState};
use crate::calendar::{BadInstant, LONDON, parse_instant};
use crate::directory::ContactMethod;
use crate::rota::{Chain, ResolvedLevel};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(oncall))
}

/// What to ask about: a service or one enrolled patient (one of the two),
/// and when.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct OnCallQuery {
    /// A service's id in the rota files.
    #[param(value_type = Option<crate::directory::Id>)]
    service: Option<String>,
    /// An enrolment's id: who answers that patient (their service's chain,
    /// led by their care co-ordinator in the co-ordinator's hours).
    #[param(format = Uuid)]
    enrolment: Option<String>,
    /// When (RFC 3339); now if absent.
    #[param(format = DateTime, example = "2026-11-27T19:05:00Z")]
    at: Option<String>,
}

/// The chain, as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainView {
    service: ServiceView,
    /// The instant asked about, RFC 3339 in UTC.
    #[schema(format = DateTime)]
    at: String,
    /// The same instant in London, as people read it.
    #[schema(example = "Fri 27 Nov 2026 19:05 GMT")]
    local_time: String,
    /// Whether the service is in its working hours then.
    in_hours: bool,
    /// Why this chain holds then, in words.
    why: String,
    /// Until when this chain holds, RFC 3339 in UTC; `null` if for good.
    #[schema(format = DateTime)]
    valid_until: Option<String>,
    /// The enrolment asked about (`?enrolment=`), if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    enrolment: Option<String>,
    /// The care co-ordinator that enrolment names, if it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    coordinator: Option<CoordinatorView>,
    /// The levels paged in turn.
    levels: Vec<LevelView>,
    /// Who is paged when every level has been tried.
    fallback: LevelView,
}

/// A patient's named care co-ordinator, and whether they come first.
#[derive(Debug, Serialize, ToSchema)]
struct CoordinatorView {
    /// Their id in the rota files.
    id: String,
    /// Their name, if they are in the rota files.
    name: Option<String>,
    /// Their role, if they are in the rota files.
    role: Option<String>,
    /// Whether they are contacted first at this instant (in their hours).
    first_contact: bool,
    /// Why, in words.
    why: String,
}

/// A service.
#[derive(Debug, Serialize, ToSchema)]
struct ServiceView {
    /// Its id in the rota files.
    #[schema(example = "cardiology-ward-7")]
    id: String,
    /// Its name.
    #[schema(example = "Cardiology Ward 7")]
    name: String,
    /// Whose bank holidays it keeps.
    #[schema(example = "england-and-wales")]
    division: String,
}

/// One level of the chain: who is paged, and how long they have to accept.
#[derive(Debug, Serialize, ToSchema)]
struct LevelView {
    /// 1 for the first level.
    #[schema(minimum = 1)]
    level: usize,
    /// How long before the next level is paged (`10m`).
    #[schema(example = "10m")]
    ack_within: String,
    /// How many times the level is paged again before moving on.
    repeat: u32,
    /// Whether nobody is on call at this level, so the fallback is paged.
    filled_by_fallback: bool,
    /// Who is on call at this level.
    on_call: Vec<PersonView>,
}

/// A person on call (their own numbers are not shown).
#[derive(Debug, Serialize, ToSchema)]
struct PersonView {
    /// Their id in the rota files.
    #[schema(example = "dr-patel")]
    id: String,
    /// Their name.
    name: String,
    /// Their role.
    role: String,
    /// Why they are on call: their rotation, a cover, an override.
    via: String,
    /// How they can be reached.
    #[schema(schema_with = contact_methods_schema)]
    contact_methods: Vec<&'static str>,
}

/// `contact_methods`: a list of `sms`, `voice`, `email`.
fn contact_methods_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(CONTACT_METHODS)),
        )
        .build()
}

/// The words `contact_methods` uses.
const CONTACT_METHODS: [&str; 3] = ["sms", "voice", "email"];

/// Who is on call for a service, or for one enrolled patient, at an instant.
///
/// Any key may ask about a service; `?enrolment=` needs a key that may
/// read that enrolment (another client's is `404`, as one nobody made).
/// Staff contact details are not shown, only the kinds of contact each
/// person has.
#[utoipa::path(
    get,
    path = "/oncall",
    operation_id = "on_call",
    tag = "on call",
    params(OnCallQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The chain at that instant", body = ChainView),
        (status = 400, description = "Neither or both of service and enrolment, or an `at` that is not an instant; the message says what to write", body = super::error::ErrorBody),
        (status = 404, description = "No such service (the message lists them), or no such enrolment this key may read", body = super::error::ErrorBody),
    )
)]
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
                        ContactMethod::Sms(_) => CONTACT_METHODS[0],
                        ContactMethod::Voice(_) => CONTACT_METHODS[1],
                        ContactMethod::Email(_) => CONTACT_METHODS[2],
                    })
                    .collect(),
            })
            .collect(),
    }
}
