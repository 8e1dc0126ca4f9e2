//! `GET /api/v1/concerns`: concerns newest first, filtered and a page at a
//! time; `GET /api/v1/concerns/{id}`: one concern and its whole timeline.
//!
//! The list's `next` is an opaque cursor: where the page ended, as the
//! opening time and id of its last concern. Asking for the page after it
//! gives the same concerns however many arrive meanwhile (new ones come
//! before the first page, not in the middle).
//!
//! Both need a key that may read: a `read-own` key lists and reads only
//! concerns about patients its client enrolled, and any other concern is
//! answered `404`, as one that does not exist; a `read-all` key reads all.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::ApiClient;
use super::{ApiError, AppState};
use crate::calendar::{BadInstant, parse_instant};
use crate::concern::ConcernId;
use crate::concern::{ConcernFilter, ConcernKey, ConcernStatus};
use crate::operations::{ConcernSummary, ConcernView};
use crate::rota::Rota;

/// Concerns on a page when the caller does not say.
const DEFAULT_LIMIT: usize = 50;
/// The most concerns on a page.
const MAX_LIMIT: usize = 200;
/// The query parameters the list reads.
const PARAMETERS: [&str; 6] = ["status", "service", "since", "enrolment", "limit", "cursor"];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(concern))
}

/// A page of the list, newest first.
#[derive(Debug, Serialize, ToSchema)]
struct Page {
    /// The concerns on this page.
    concerns: Vec<ConcernSummary>,
    /// Give this as `cursor` for the page after this one; `null` on the
    /// last page. Opaque: pass it back as it is.
    #[schema(example = "MTc5NjQxNTUwMDAwMC4zZjJh")]
    next: Option<String>,
}

/// The list's query parameters, as [`filter`] reads them (their names are
/// [`PARAMETERS`], which a test holds to these).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ListQuery {
    /// Only concerns in these states: `open`, `accepted`, `resolved`, or
    /// `unresolved` (open and accepted); several separated by commas, or
    /// the parameter given again. All states when absent.
    #[param(
        pattern = r"^\s*(open|accepted|resolved|unresolved)\s*(,\s*(open|accepted|resolved|unresolved)\s*)*,?\s*$",
        example = "unresolved"
    )]
    status: Option<String>,
    /// Only concerns routed to this service (its id in the rota files).
    #[param(value_type = Option<crate::directory::Id>)]
    service: Option<String>,
    /// Only concerns opened at or after this instant (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-11-27T18:30:00Z")]
    since: Option<String>,
    /// Only concerns about this enrolment's patient (the id
    /// `POST /api/v1/enrolments` answered with).
    #[param(value_type = Option<String>, format = Uuid)]
    enrolment: Option<String>,
    /// Concerns on a page: 1 to 200, 50 when absent.
    #[param(minimum = 1, maximum = 200, example = 50)]
    limit: Option<u32>,
    /// Where to carry on: the previous page's `next`, as it was given.
    #[param(min_length = 1, pattern = r"^\s*[A-Za-z0-9_-]+\s*$")]
    cursor: Option<String>,
}

/// Concerns, newest first, a page at a time.
///
/// A `read-own` key lists only concerns about patients its client
/// enrolled; a `read-all` key lists every concern. Follow `next` (as
/// `cursor`) for the page after: it gives the same concerns however many
/// arrive meanwhile.
#[utoipa::path(
    get,
    path = "/concerns",
    operation_id = "list_concerns",
    tag = "concerns",
    params(ListQuery),
    security(("api_key" = ["read-own"]), ("api_key" = ["read-all"])),
    responses(
        (status = 200, description = "A page of concerns", body = Page),
        (status = 400, description = "A query parameter is wrong; the message says what to write instead", body = super::error::ErrorBody),
    )
)]
async fn list(
    State(state): State<AppState>,
    key: ApiClient,
    RawQuery(query): RawQuery,
) -> Result<Json<Page>, ApiError> {
    let reach = key.reach()?;
    let params: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::BadRequest(format!("the query string cannot be read: {e}")))?;
    let filter =
        filter(&params, &state.rota.current()).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let page = state
        .ops
        .concerns_seen_by(&reach, filter)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    Ok(Json(Page {
        concerns: page.concerns,
        next: page.next.map(cursor),
    }))
}

/// What is wrong with the list's query parameters, and what to write
/// instead. A name that is not like ours is not repeated (see [`shown_key`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum FilterError {
    /// A parameter other than `status` given twice (its name as shown).
    #[error("give {0} once")]
    GivenTwice(String),
    /// `status=` with no status in it.
    #[error(
        "status: write open, accepted, resolved or unresolved (several as status=open,accepted)"
    )]
    NoStatus,
    /// A word in `status` that is no status.
    #[error("status: not a status: write open, accepted, resolved or unresolved")]
    NotAStatus,
    /// A service the rota does not have; the ones it has.
    #[error("service: no such service; the services are {}", .0.join(", "))]
    NoSuchService(Vec<String>),
    /// A `since` that is not an instant.
    #[error("since: {}", BadInstant::ADVICE)]
    Since,
    /// An `enrolment` that is not an enrolment id.
    #[error(
        "enrolment: not an enrolment id: give the id that POST /api/v1/enrolments answered with"
    )]
    Enrolment,
    /// A `limit` that is not a whole number in range.
    #[error("limit: out of range: give a whole number from 1 to {MAX_LIMIT}")]
    Limit,
    /// A `cursor` this API did not give.
    #[error("cursor: not a cursor this API gave: pass the previous page's \"next\" as it is")]
    Cursor,
    /// A parameter the list does not read (its name as shown).
    #[error("unknown parameter {0}; the parameters are {known}", known = PARAMETERS.join(", "))]
    Unknown(String),
}

/// Read the list's query parameters; an error says what to write instead.
fn filter(params: &[(String, String)], rota: &Rota) -> Result<ConcernFilter, FilterError> {
    let mut filter = ConcernFilter {
        limit: DEFAULT_LIMIT,
        ..ConcernFilter::default()
    };
    let mut seen = Vec::new();
    for (name, value) in params {
        if name != "status" && seen.contains(&name) {
            return Err(FilterError::GivenTwice(shown_key(name)));
        }
        seen.push(name);
        match name.as_str() {
            "status" => filter.statuses.extend(statuses(value)?),
            "service" => {
                let ix = rota.service(value).ok_or_else(|| {
                    let known = rota
                        .services()
                        .iter()
                        .map(|s| s.id.as_str().to_owned())
                        .collect();
                    FilterError::NoSuchService(known)
                })?;
                filter.service = Some(rota.services()[ix as usize].id.clone());
            }
            "since" => {
                filter.opened_since = Some(parse_instant(value).map_err(|_| FilterError::Since)?);
            }
            "enrolment" => {
                filter.enrolment = Some(value.trim().parse().map_err(|_| FilterError::Enrolment)?);
            }
            "limit" => {
                filter.limit = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or(FilterError::Limit)?;
            }
            "cursor" => {
                filter.after = Some(parse_cursor(value).ok_or(FilterError::Cursor)?);
            }
            other => {
                return Err(FilterError::Unknown(shown_key(other)));
            }
        }
    }
    Ok(filter)
}

/// A query parameter's name as an error may give it: a name like ours
/// (`status`, `opened_since`) is shown; anything else could be a value
/// put where a name goes, and is not repeated.
fn shown_key(name: &str) -> String {
    let like_ours =
        (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if like_ours {
        name.to_owned()
    } else {
        "(a name this API does not use)".to_owned()
    }
}

/// `open`, `accepted`, `resolved` or `unresolved`, several separated by commas.
fn statuses(value: &str) -> Result<Vec<ConcernStatus>, FilterError> {
    let words: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return Err(FilterError::NoStatus);
    }
    let mut statuses = Vec::new();
    for word in words {
        match word {
            "unresolved" => statuses.extend([ConcernStatus::Open, ConcernStatus::Accepted]),
            _ => statuses.push(
                ConcernStatus::ALL
                    .into_iter()
                    .find(|s| s.as_str() == word)
                    .ok_or(FilterError::NotAStatus)?,
            ),
        }
    }
    Ok(statuses)
}

/// The cursor for the page after `key`: opaque to clients.
fn cursor(key: ConcernKey) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{}", key.opened_at.timestamp_millis(), key.id))
}

/// The key a [`cursor`] stands for.
fn parse_cursor(text: &str) -> Option<ConcernKey> {
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (millis, id) = text.split_once('.')?;
    Some(ConcernKey {
        opened_at: chrono::DateTime::from_timestamp_millis(millis.parse().ok()?)?,
        id: id.parse().ok()?,
    })
}

/// One concern, with its whole timeline.
///
/// A concern the key may not read (about a patient another client
/// enrolled, for a `read-own` key) is answered `404`, as one that does
/// not exist.
#[utoipa::path(
    get,
    path = "/concerns/{id}",
    operation_id = "get_concern",
    tag = "concerns",
    params(("id" = String, Path, format = Uuid, description = "The concern's id")),
    security(("api_key" = ["read-own"]), ("api_key" = ["read-all"])),
    responses(
        (status = 200, description = "The concern and its timeline", body = ConcernView),
        (status = 404, description = "No such concern (or none this key may read)", body = super::error::ErrorBody),
    )
)]
async fn concern(
    State(state): State<AppState>,
    key: ApiClient,
    Path(id): Path<String>,
) -> Result<Json<ConcernView>, ApiError> {
    let reach = key.reach()?;
    let id: ConcernId = id
        .parse()
        .map_err(|_| ApiError::NotFound("no such concern".to_owned()))?;
    let found = state
        .ops
        .concern_seen_by(&reach, id)
        .await
        .map_err(|e| ApiError::Unavailable(e.into()))?;
    let (concern, timeline) =
        found.ok_or_else(|| ApiError::NotFound("no such concern".to_owned()))?;
    Ok(Json(ConcernView::new(&concern, &timeline)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_the_key_it_was_made_from() {
        let key = ConcernKey {
            opened_at: "2026-11-27T19:05:00.123Z".parse().unwrap(),
            id: ConcernId::new(),
        };
        assert_eq!(parse_cursor(&cursor(key)), Some(key));
        assert_eq!(parse_cursor("not-a-cursor"), None);
        assert_eq!(parse_cursor(&URL_SAFE_NO_PAD.encode("12.x")), None);
    }

    #[test]
    fn the_documented_parameters_are_those_the_list_reads() {
        use utoipa::IntoParams as _;
        let documented: Vec<String> = ListQuery::into_params(|| None)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(documented, PARAMETERS);
    }

    #[test]
    fn statuses_are_words_separated_by_commas_and_unresolved_is_two() {
        use ConcernStatus::{Accepted, Open, Resolved};
        assert_eq!(statuses("open").unwrap(), [Open]);
        assert_eq!(statuses("unresolved").unwrap(), [Open, Accepted]);
        assert_eq!(
            statuses(" accepted, resolved ").unwrap(),
            [Accepted, Resolved]
        );
        let wrong = statuses("closed").unwrap_err().to_string();
        assert!(
            !wrong.contains("closed"),
            "what was sent is not repeated: {wrong}"
        );
        assert!(wrong.contains("write open, accepted"), "{wrong}");
        assert!(statuses(",").is_err());
    }
}
