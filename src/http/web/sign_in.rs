//! Signing in by a texted code, and signing out.
//!
//! `POST /staff/sign-in` takes a phone number, gives the browser a random
//! challenge in a cookie, and (if the number is someone's on the rota)
//! texts them a code bound to that challenge; the page that follows says
//! the same whether or not it is, and whether or not a limit held the code
//! back (`crate::access`: limits never lock out the owner). `POST
//! /staff/sign-in/code` takes the code from the browser holding the
//! challenge and starts a session.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use std::net::{IpAddr, Ipv6Addr};

use super::{SESSION_COOKIE, StaffForm, cookie, message_page};
use crate::access::{
    ABSOLUTE_EXPIRY, CODE_TTL, CodeRequest, Contact, REQUEST_WINDOW, SignInOutcome,
};
use crate::http::AppState;
use crate::http::client::ClientAddr;

/// The cookie that holds a sign-in's challenge while its code is on its way.
const CHALLENGE_COOKIE: &str = "ng_sign_in";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/sign-in", get(ask).post(send_code))
        .route("/staff/sign-in/code", get(enter_code).post(check_code))
        .route("/staff/sign-out", post(sign_out))
}

#[derive(Debug, Default, Deserialize)]
struct Next {
    #[serde(default)]
    next: String,
    /// Set when a page sent them here because their session had ended.
    #[serde(default)]
    ended: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ContactForm {
    #[serde(default)]
    contact: String,
    #[serde(default)]
    next: String,
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

#[derive(Debug, Deserialize)]
struct Empty {}

/// Where to go after signing in: a staff page of ours, nothing else (an
/// address elsewhere would make this an open redirect).
fn safe_next(next: &str) -> String {
    let ours = next.starts_with("/staff") && !next.contains("//") && !next.contains('\\');
    if ours {
        next.to_owned()
    } else {
        "/staff".to_owned()
    }
}

fn render(state: &AppState, status: StatusCode, template: &str, ctx: minijinja::Value) -> Response {
    match state.templates.render(template, ctx) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, template, "sign-in template failed");
            super::Refusal::Unavailable.into_response()
        }
    }
}

fn sign_in_page(
    state: &AppState,
    status: StatusCode,
    next: &str,
    contact: &str,
    error: Option<&str>,
) -> Response {
    signed_out_page(state, status, next, contact, error, false)
}

/// The sign-in page, saying (when `ended`) that their session ended; in
/// the demo, that moving its clock on ends a session as time passing would.
fn signed_out_page(
    state: &AppState,
    status: StatusCode,
    next: &str,
    contact: &str,
    error: Option<&str>,
    ended: bool,
) -> Response {
    render(
        state,
        status,
        "web/staff/sign_in.html",
        minijinja::context! {
            next => safe_next(next), contact, error, ended,
            demo => state.demo,
        },
    )
}

async fn ask(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<Next>) -> Response {
    // Already signed in: straight there.
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = state.ops.session(token).await
    {
        return Redirect::to(&safe_next(&q.next)).into_response();
    }
    signed_out_page(&state, StatusCode::OK, &q.next, "", None, q.ended.is_some())
}

async fn send_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Option<axum::Extension<ClientAddr>>,
    Form(form): Form<ContactForm>,
) -> Response {
    let typed = form.contact.trim();
    if typed.is_empty() {
        return sign_in_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.next,
            "",
            Some("Enter your mobile phone number"),
        );
    }
    let Some(contact) = Contact::parse(typed) else {
        return sign_in_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.next,
            typed,
            Some("Enter a UK mobile phone number, like 07700 900123"),
        );
    };
    let challenge = match crate::access::new_token() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "sign-in: no challenge");
            return super::Refusal::Unavailable.into_response();
        }
    };
    // Every request comes through the accept loop, which names its client;
    // one that somehow did not is counted with the others that did not.
    let client = client.map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |c| c.0.0);
    match state
        .ops
        .request_sign_in_code(Some(&contact), &challenge, client)
        .await
    {
        // The same answer whether or not the number is on the rota, and
        // whether or not a limit held the code back. Held back, the browser
        // keeps the challenge it holds, so the code already texted to it
        // still works.
        Ok(outcome) => {
            let challenge = match (outcome, cookie(&headers, CHALLENGE_COOKIE)) {
                (CodeRequest::TooMany, Some(held)) => held.to_owned(),
                _ => challenge,
            };
            let next = safe_next(&form.next);
            let mut response = Redirect::to(&format!(
                "/staff/sign-in/code?next={}",
                super::encode(&next)
            ))
            .into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                state
                    .web
                    .cookie(CHALLENGE_COOKIE, &challenge, CODE_TTL.num_seconds()),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in code not stored");
            super::Refusal::Unavailable.into_response()
        }
    }
}

fn code_page(state: &AppState, status: StatusCode, next: &str, error: Option<&str>) -> Response {
    render(
        state,
        status,
        "web/staff/sign_in_code.html",
        minijinja::context! {
            next => safe_next(next),
            again_url => format!("/staff/sign-in?next={}", super::encode(&safe_next(next))),
            error,
            minutes => CODE_TTL.num_minutes(),
            codes => state.ops.sign_in.codes_per_number,
            window => REQUEST_WINDOW.num_minutes(),
        },
    )
}

async fn enter_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    if cookie(&headers, CHALLENGE_COOKIE).is_none() {
        return Redirect::to(&format!(
            "/staff/sign-in?next={}",
            super::encode(&safe_next(&q.next))
        ))
        .into_response();
    }
    code_page(&state, StatusCode::OK, &q.next, None)
}

async fn check_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let gone = |state: &AppState| {
        sign_in_page(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.next,
            "",
            Some("That code has expired, been used, or been tried too often. Ask for a new code"),
        )
    };
    let Some(challenge) = cookie(&headers, CHALLENGE_COOKIE) else {
        return gone(&state);
    };
    if form.code.trim().is_empty() {
        return code_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.next,
            Some("Enter the code from the text"),
        );
    }
    match state.ops.sign_in_with_code(challenge, &form.code).await {
        Ok(SignInOutcome::SignedIn { token, .. }) => {
            let mut response = Redirect::to(&safe_next(&form.next)).into_response();
            let cookies = response.headers_mut();
            cookies.append(
                header::SET_COOKIE,
                state
                    .web
                    .cookie(SESSION_COOKIE, &token, ABSOLUTE_EXPIRY.num_seconds()),
            );
            cookies.append(
                header::SET_COOKIE,
                state.web.cookie(CHALLENGE_COOKIE, "", 0),
            );
            response
        }
        Ok(SignInOutcome::Wrong { attempts_left }) if attempts_left > 0 => code_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form.next,
            Some(&format!(
                "That is not the code. Check the text and try again ({attempts_left} {} left)",
                if attempts_left == 1 { "try" } else { "tries" }
            )),
        ),
        Ok(SignInOutcome::Wrong { .. } | SignInOutcome::Gone) => gone(&state),
        Err(e) => {
            tracing::error!(error = %e, "sign-in code not checked");
            super::Refusal::Unavailable.into_response()
        }
    }
}

async fn sign_out(State(state): State<AppState>, form: StaffForm<Empty>) -> Response {
    if let Err(e) = state.ops.sign_out(&form.staff.token).await {
        tracing::error!(error = %e, "sign-out: store unavailable");
        return super::Refusal::Unavailable.into_response();
    }
    tracing::info!(staff = %form.staff.id, "signed out");
    let mut response = message_page(
        &state,
        StatusCode::OK,
        "You have signed out",
        "Your session has ended on this device.",
        Some(("/staff/sign-in", "Sign in again")),
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, state.web.cookie(SESSION_COOKIE, "", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_signing_in_only_a_staff_page_of_ours_is_gone_to() {
        assert_eq!(safe_next("/staff/shifts"), "/staff/shifts");
        assert_eq!(
            safe_next("/staff/services/cardiology-ward-7?week=2026-W49"),
            "/staff/services/cardiology-ward-7?week=2026-W49"
        );
        for elsewhere in [
            "https://evil.example/staff",
            "//evil.example/staff",
            "/staff//evil.example",
            "/\\evil.example",
            "/c/123",
            "",
        ] {
            assert_eq!(safe_next(elsewhere), "/staff", "{elsewhere:?}");
        }
    }
}
