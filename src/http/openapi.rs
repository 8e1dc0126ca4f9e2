//! The JSON API's contract: an OpenAPI 3.1 document built from the code,
//! served at `GET /api/v1/openapi.json` and committed as
//! `docs/openapi.json` (ADR 33).
//!
//! Each `/api/v1` handler carries a `#[utoipa::path]` annotation, and the
//! types it reads and writes derive their schemas (`ToSchema`), so the
//! document is made from the same code that answers: a route is
//! registered with `utoipa_axum::routes!` in its area's `router()`, which
//! both serves it and adds it to the document, so neither can have a
//! route the other lacks. This module adds what no handler owns: the
//! document's description, the bearer-key scheme, and the error answers
//! every operation can give (`401`, `403`, `500`, `503`), written once.

use std::sync::Arc;

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder};
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use super::error::ErrorBody;

/// Where the document is served.
pub const PATH: &str = "/api/v1/openapi.json";

/// The name of the bearer-key scheme the operations' `security` names.
const SCHEME: &str = "api_key";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nightingale API",
        version = "1",
        description = "Enrol patients at discharge, read their concerns, and ask who is on call: the JSON API of Nightingale, a 24/7 out-of-hours contact and escalation service.\n\nEvery operation but this document needs an API key, sent as `Authorization: Bearer KEY` (an operator makes one with `nightingale api-key create NAME`). A key has scopes: `enrol` (enrol patients and end its own client's enrolments), `read-own` (read what its own client enrolled, and those patients' concerns) and `read-all` (read every enrolment and concern). Each operation's `security` names the scopes it needs; a key without them is answered `403`. What a key may not read is answered `404`, as if nobody had made it.\n\nEvery error is JSON, `{\"error\": \"what to do\"}`; a `422` adds `errors`, one per field. Times are RFC 3339. Lists come a page at a time: pass a page's `next` as `cursor` for the page after it.\n\nWithin `v1`, fields and operations may be added, and a client must ignore fields it does not know; nothing is removed, renamed or made to mean something else without a `v2` (README.md, \"Versioning\"). Twilio's, GOV.UK Notify's and the EPR's webhooks are not part of this API.",
        license(name = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "enrolments", description = "Patients enrolled at discharge or for ongoing care, with their carers"),
        (name = "concerns", description = "What patients and carers raised, and what became of it"),
        (name = "on call", description = "Who answers a service, or a patient, at an instant"),
        (name = "contract", description = "This document"),
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// Every `/api/v1` route, each with its part of the document.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(
        "/api/v1",
        super::oncall::router()
            .merge(super::enrolments::router())
            .merge(super::concerns::router())
            .routes(utoipa_axum::routes!(document)),
    )
}

/// The `/api/v1` routes to serve, and the finished document they make.
pub fn api() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = routes().split_for_parts();
    finish(&mut doc);
    (router, doc)
}

/// The document alone, as `nightingale openapi` prints it and
/// `docs/openapi.json` holds it: pretty JSON ending in a newline.
pub fn json() -> String {
    let (_, doc) = api();
    let mut text = doc
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"the document cannot be written: {e}\"}}"));
    text.push('\n');
    text
}

/// The document, as served.
#[derive(Clone)]
pub struct Document(pub Arc<String>);

/// The API's OpenAPI 3.1 document: every operation, its parameters,
/// bodies, answers and errors, and the bearer-key scheme.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "contract",
    responses(
        (status = 200, description = "This document", content_type = "application/json", body = Object),
    )
)]
async fn document(
    axum::extract::Extension(doc): axum::extract::Extension<Document>,
) -> axum::response::Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        doc.0.as_str().to_owned(),
    )
        .into_response()
}

/// Add what no handler owns: the bearer-key scheme, and the errors every
/// operation can give.
fn finish(doc: &mut utoipa::openapi::OpenApi) {
    let scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("ng_ followed by 64 hex digits")
        .description(Some(
            "An API key from `nightingale api-key create NAME [--scope enrol,read-own,read-all]`, shown once when made. The scopes an operation lists are those a key needs (any one of the alternatives listed).",
        ))
        .build();
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(SCHEME, SecurityScheme::Http(scheme));
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let responses = &mut operation.responses.responses;
            if secured {
                responses.insert("401".to_owned(), error(
                    "No API key, one that is not ours, or one revoked or expired: the message says which",
                ));
                responses.insert("403".to_owned(), error(
                    "The key lacks the scope this needs: the message names the key's scopes and the one to ask for",
                ));
                responses.insert(
                    "500".to_owned(),
                    error("Something failed on our side; it has been logged. Try again"),
                );
            }
            responses.insert(
                "503".to_owned(),
                error("The store cannot be reached, or the service is too busy now. Retry"),
            );
        }
    }
}

/// An error answer with the usual body.
fn error(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}
