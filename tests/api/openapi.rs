//! The API's OpenAPI document: served at `/api/v1/openapi.json` to anyone
//! (it holds no secret), and the same, byte for byte, as the copy
//! committed in `docs/openapi.json`, so a change to the API shows in the
//! diff of the change that made it.
//!
//! When the API changes on purpose, refresh the copy with
//! `cargo run -- openapi > docs/openapi.json` (or run this test with
//! `OPENAPI_WRITE=1`) and commit it with the change.

use serde_json::Value;

use crate::support::nightingale::TestApp;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");

#[tokio::test]
async fn an_integrator_reads_the_api_from_the_document_the_server_serves() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    // No key: the document is public, as the README that describes it is.
    let response = app
        .http
        .get(format!("{}/api/v1/openapi.json", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "a generator reads it as JSON"
    );
    let served = response.text().await.unwrap();
    assert_eq!(served, nightingale::http::openapi::json());

    let doc: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let operations: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    for expected in [
        "POST /api/v1/enrolments",
        "DELETE /api/v1/enrolments/{id}",
        "GET /api/v1/concerns",
        "GET /api/v1/concerns/{id}",
        "GET /api/v1/oncall",
        "GET /api/v1/openapi.json",
    ] {
        assert!(
            operations.contains(&expected.to_owned()),
            "{expected} is documented: {operations:?}"
        );
    }
    assert!(
        operations.iter().all(|o| o.contains(" /api/v1/")),
        "Twilio's, Notify's and the EPR's webhooks are not part of the API: {operations:?}"
    );

    // The key and its scopes: enrolling needs `enrol`, reading a concern
    // `read-own` or `read-all`, and a wrong key is a documented `401`.
    let scheme = &doc["components"]["securitySchemes"]["api_key"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    let enrol = &doc["paths"]["/api/v1/enrolments"]["post"];
    assert_eq!(
        enrol["security"],
        serde_json::json!([{ "api_key": ["enrol"] }])
    );
    assert_eq!(
        doc["paths"]["/api/v1/concerns/{id}"]["get"]["security"],
        serde_json::json!([{ "api_key": ["read-own"] }, { "api_key": ["read-all"] }])
    );
    for status in [
        "201", "400", "401", "403", "413", "415", "422", "500", "503",
    ] {
        assert!(
            enrol["responses"][status].is_object(),
            "enrol documents {status}"
        );
    }
    assert!(
        doc["paths"]["/api/v1/openapi.json"]["get"]["security"].is_null(),
        "the document needs no key"
    );
}

#[test]
fn the_committed_document_is_the_one_the_code_makes() {
    let generated = nightingale::http::openapi::json();
    if std::env::var_os("OPENAPI_WRITE").is_some() {
        std::fs::write(COMMITTED, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is not the document the code makes: the API changed. \
         If that was meant, refresh it with `cargo run -- openapi > docs/openapi.json` \
         (or OPENAPI_WRITE=1 on this test), read the diff, and commit it \
         (README.md, \"Versioning\", says what v1 may change)"
    );
}
