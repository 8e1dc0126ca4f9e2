//! Twilio's webhooks: `POST /twilio/sms` (a text arrives) and
//! `POST /twilio/sms/status` (a delivery report).
//!
//! Each request's `X-Twilio-Signature` is checked against
//! `NIGHTINGALE_PUBLIC_URL` + path, with the current auth token or the
//! previous one (during a rotation); a bad or missing signature gets `403`
//! and nothing is stored. The message is stored, idempotently on its
//! `MessageSid`, before the `200`; a store failure answers `503` so Twilio
//! tries again. Texts and delivery reports have keys of their own kinds
//! (`sms:SID`, `status:SID:STATUS`), so neither can pass for the other.
//!
//! Bodies over [`super::MAX_BODY`] are refused with `413` as they are read:
//! nothing larger is buffered.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::AppState;
use crate::channels::twilio::signature;
use crate::inbox::{Inbound, InboundKind};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/twilio/sms", post(sms))
        .route("/twilio/sms/status", post(status))
}

/// The form parameters of a webhook whose signature checked out.
pub struct Signed(Vec<(String, String)>);

impl Signed {
    /// A form parameter, if the request carried it.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl FromRequest<AppState> for Signed {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let path_and_query = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let header = req
            .headers()
            .get("X-Twilio-Signature")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response()
            } else if super::extract::timed_out(&e) {
                (StatusCode::REQUEST_TIMEOUT, "body timed out").into_response()
            } else {
                (StatusCode::BAD_REQUEST, "body could not be read").into_response()
            }
        })?;
        let params: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| (StatusCode::BAD_REQUEST, "not a form body").into_response())?;
        let url = format!("{}{}", state.public_url, path_and_query);
        let tokens: Vec<&secrecy::SecretString> = state.twilio_tokens.iter().collect();
        if tokens.is_empty() || !signature::verify(&tokens, &url, &params, header.as_deref()) {
            tracing::warn!(path = %path_and_query, signed = header.is_some(), "webhook refused: signature does not match");
            return Err((StatusCode::FORBIDDEN, "signature does not match").into_response());
        }
        Ok(Signed(params))
    }
}

fn twiml(state: &AppState) -> Response {
    match state
        .templates
        .render("twiml/empty.xml", minijinja::context! {})
    {
        Ok(xml) => ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "TwiML template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn record(state: &AppState, item: Inbound) -> Response {
    let key = item.key.clone();
    match state.ops.record_inbound(item).await {
        Ok(new) => {
            tracing::info!(key = %key, duplicate = !new, "webhook stored");
            twiml(state)
        }
        Err(e) => {
            tracing::error!(key = %key, error = %e, "webhook not stored; asking Twilio to retry");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}

async fn sms(State(state): State<AppState>, form: Signed) -> Response {
    let (Some(sid), Some(from)) = (
        form.get("MessageSid").or(form.get("SmsSid")),
        form.get("From"),
    ) else {
        return (StatusCode::BAD_REQUEST, "MessageSid and From are required").into_response();
    };
    let item = Inbound {
        key: format!("sms:{sid}"),
        kind: InboundKind::Sms {
            from: from.to_owned(),
            to: form.get("To").unwrap_or_default().to_owned(),
            body: form.get("Body").unwrap_or_default().to_owned(),
            media: form
                .get("NumMedia")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        },
        received_at: state.clock.now(),
    };
    record(&state, item).await
}

async fn status(State(state): State<AppState>, form: Signed) -> Response {
    let (Some(sid), Some(status)) = (
        form.get("MessageSid").or(form.get("SmsSid")),
        form.get("MessageStatus").or(form.get("SmsStatus")),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "MessageSid and MessageStatus are required",
        )
            .into_response();
    };
    let item = Inbound {
        key: format!("status:{sid}:{status}"),
        kind: InboundKind::Status {
            message_id: sid.to_owned(),
            status: status.to_owned(),
            error_code: form.get("ErrorCode").and_then(|c| c.parse().ok()),
        },
        received_at: state.clock.now(),
    };
    record(&state, item).await
}
