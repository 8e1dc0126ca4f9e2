//! Extractors for the JSON API whose refusals are [`ApiError`]s: a client
//! always gets `{"error": …}` in plain words, never axum's plain-text
//! rejections with parser positions or Rust type names.
//!
//! Every message here is written from the parser's *kind* of problem and the
//! field's path, not from what the client sent, so no value a client posted
//! (a patient's name, a phone number) is echoed into an error body.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::ApiError;

/// A JSON body, parsed into `T`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| ApiError::BadRequest(json_problem(&e)))?;
        deserializer
            .end()
            .map_err(|_| ApiError::BadRequest(NOT_JSON.to_owned()))?;
        Ok(Self(value))
    }
}

/// A query string, parsed into `T`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(Self)
            .map_err(|e: serde_urlencoded::de::Error| {
                ApiError::BadRequest(format!(
                    "the query string is not understood: {}",
                    plain(&e.to_string())
                ))
            })
    }
}

const NOT_JSON: &str = "the body is not valid JSON";

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"))
}

/// Why a body could not be read: too large, too slow, or broken off.
pub fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else if timed_out(&rejection) {
        ApiError::BodyTimeout
    } else {
        ApiError::BadRequest("the body could not be read".to_owned())
    }
}

/// Whether reading the body stopped because the body timeout fired.
pub fn timed_out(rejection: &BytesRejection) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(rejection);
    while let Some(e) = cause {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

/// What is wrong with a JSON body, in words a client can act on: the field's
/// path and the kind of problem, without positions, type names or values.
fn json_problem(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    if e.inner().classify() != serde_json::error::Category::Data {
        return NOT_JSON.to_owned();
    }
    let message = e.inner().to_string();
    // serde_json appends " at line L column C"; the position helps nobody
    // who did not see the bytes on the wire.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m);
    let what = plain(message);
    match e.path().to_string().as_str() {
        "." => what,
        path => format!("{path}: {what}"),
    }
}

/// A serde message without the value the client sent or our type names:
/// `invalid type: string "Margaret", expected struct PersonRequest` becomes
/// `expected an object`.
fn plain(message: &str) -> String {
    // `unknown variant `x`, expected one of `a`, `b``: the list is ours, `x` theirs.
    if let Some((_, expected)) = message
        .strip_prefix("unknown variant ")
        .and_then(|m| m.split_once(", expected "))
    {
        return format!("not one of the values this takes: expected {expected}");
    }
    let message = match message.split_once(", expected ") {
        Some((problem, expected))
            if ["invalid type", "invalid value", "invalid length"]
                .iter()
                .any(|p| problem.starts_with(p)) =>
        {
            return format!("expected {}", plain_expected(expected));
        }
        _ => message,
    };
    message.to_owned()
}

fn plain_expected(expected: &str) -> &str {
    if expected.starts_with("struct ") || expected.starts_with("a map") {
        "an object"
    } else if expected.starts_with("enum ") || expected.starts_with("variant ") {
        "one of the documented values"
    } else if expected.starts_with("a sequence") || expected.starts_with("a tuple") {
        "a list"
    } else if [
        "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
        "f32", "f64",
    ]
    .contains(&expected)
    {
        "a number"
    } else if expected.chars().any(|c| c == ':' || c.is_ascii_uppercase()) {
        "another kind of value"
    } else {
        expected
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        patient: Option<Inner>,
        count: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    fn problem(body: &str) -> String {
        let mut d = serde_json::Deserializer::from_slice(body.as_bytes());
        json_problem(&serde_path_to_error::deserialize::<_, Outer>(&mut d).unwrap_err())
    }

    #[test]
    fn a_broken_body_is_not_valid_json_without_a_position() {
        assert_eq!(problem(r#"{"patient": "#), NOT_JSON);
        assert_eq!(problem("not json"), NOT_JSON);
    }

    #[test]
    fn a_wrong_shape_names_the_field_but_not_our_types_or_the_value() {
        let text = problem(r#"{"patient": "Margaret Evans"}"#);
        assert_eq!(text, "patient: expected an object");
        assert_eq!(problem("[]"), "expected an object");
        assert_eq!(problem(r#"{"count": "many"}"#), "count: expected a number");
        assert_eq!(
            problem(r#"{"patient": {}}"#),
            "patient: missing field `name`"
        );
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "lowercase")]
        #[allow(dead_code)]
        enum Kind {
            Discharge,
            Ongoing,
        }
        let mut d = serde_json::Deserializer::from_slice(br#""07700 900123""#);
        let variant =
            json_problem(&serde_path_to_error::deserialize::<_, Kind>(&mut d).unwrap_err());
        assert_eq!(
            variant,
            "not one of the values this takes: expected `discharge` or `ongoing`"
        );
        let unknown = problem(r#"{"pateint": {}}"#);
        assert!(unknown.contains("unknown field `pateint`"), "{unknown}");
        for text in [text, unknown] {
            assert!(!text.contains("line") && !text.contains("column"), "{text}");
            assert!(!text.contains("Outer") && !text.contains("Inner"), "{text}");
        }
    }
}
