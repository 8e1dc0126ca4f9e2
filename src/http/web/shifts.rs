//! "My shifts" and the private calendar feed of them.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::{Refusal, Staff, StaffForm, StaffPage};
use crate::access::ical;
use crate::access::shifts::{Shift, shifts_of};
use crate::calendar::london_short;
use crate::http::AppState;

/// How far ahead "My shifts" and the feed look.
pub const DAYS_AHEAD: i64 = 28;
/// How far back the feed keeps shifts (so one just over is still there).
const FEED_DAYS_BACK: i64 = 7;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/shifts", get(shifts))
        .route("/staff/calendar", get(calendar).post(change_calendar))
        .route("/calendar/{file}", get(feed))
}

fn view(shift: &Shift) -> minijinja::Value {
    minijinja::context! {
        title => shift.title(),
        from => london_short(shift.from),
        until => london_short(shift.until),
        via => shift.via,
        bank_holidays => shift
            .bank_holidays
            .iter()
            .map(|(date, name)| format!("{} ({})", name, date.format("%a %-d %b")))
            .collect::<Vec<_>>(),
    }
}

async fn shifts(State(state): State<AppState>, staff: Staff) -> Response {
    let now = state.clock.now();
    let until = now + chrono::TimeDelta::days(DAYS_AHEAD);
    let shifts: Vec<_> = shifts_of(&state.rota.current(), &staff.id, now, until)
        .iter()
        .map(view)
        .collect();
    StaffPage {
        staff: &staff,
        template: "web/staff/shifts.html",
        nav: "shifts",
        context: minijinja::context! { shifts, days => DAYS_AHEAD, until => london_short(until) },
    }
    .render(&state)
}

/// The calendar page: whether a feed link exists, and, just after one is
/// made, the link itself (it is shown once: only its hash is kept).
async fn calendar_page(
    state: &AppState,
    staff: &Staff,
    url: Option<String>,
    notice: Option<&str>,
) -> Response {
    let made = match state.ops.calendar_token_made(&staff.id).await {
        Ok(made) => made,
        Err(e) => {
            tracing::error!(error = %e, "calendar page: store unavailable");
            return Refusal::Unavailable.into_response();
        }
    };
    let webcal = url.as_ref().map(|u| {
        u.replacen("https://", "webcal://", 1)
            .replacen("http://", "webcal://", 1)
    });
    StaffPage {
        staff,
        template: "web/staff/calendar.html",
        nav: "shifts",
        context: minijinja::context! {
            made => made.map(london_short),
            url,
            webcal,
            notice,
        },
    }
    .render(state)
}

async fn calendar(State(state): State<AppState>, staff: Staff) -> Response {
    calendar_page(&state, &staff, None, None).await
}

#[derive(Debug, Deserialize)]
struct CalendarForm {
    action: String,
}

async fn change_calendar(State(state): State<AppState>, form: StaffForm<CalendarForm>) -> Response {
    let staff = &form.staff;
    match form.form.action.as_str() {
        "create" => match state.ops.new_calendar_token(&staff.id).await {
            Ok(token) => {
                tracing::info!(staff = %staff.id, "calendar feed link made");
                let url = format!("{}/calendar/{token}.ics", state.public_url);
                calendar_page(&state, staff, Some(url), None).await
            }
            Err(e) => {
                tracing::error!(error = %e, "calendar feed link not made");
                Refusal::Unavailable.into_response()
            }
        },
        "revoke" => match state.ops.revoke_calendar_token(&staff.id).await {
            Ok(()) => {
                tracing::info!(staff = %staff.id, "calendar feed link revoked");
                calendar_page(&state, staff, None, Some("Your calendar link no longer works. Calendars that subscribed to it stop updating.")).await
            }
            Err(e) => {
                tracing::error!(error = %e, "calendar feed link not revoked");
                Refusal::Unavailable.into_response()
            }
        },
        _ => (StatusCode::BAD_REQUEST, "Choose to make or stop the link.").into_response(),
    }
}

/// `/calendar/{token}.ics`: no session, the token is the credential.
async fn feed(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let not_found = || {
        (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "No such calendar: the link was stopped or replaced. Make a new one under My shifts.",
        )
            .into_response()
    };
    let Some(token) = file.strip_suffix(".ics") else {
        return not_found();
    };
    let person = match state.ops.calendar_owner(token).await {
        Ok(Some(p)) => p,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "calendar feed: store unavailable");
            return (StatusCode::SERVICE_UNAVAILABLE, "Try again later.").into_response();
        }
    };
    let rota = state.rota.current();
    let Some(staff) = rota.person(person.as_str()) else {
        return not_found();
    };
    let now = state.clock.now();
    let shifts = shifts_of(
        &rota,
        &person,
        now - chrono::TimeDelta::days(FEED_DAYS_BACK),
        now + chrono::TimeDelta::days(DAYS_AHEAD),
    );
    (
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "inline; filename=\"shifts.ics\"",
            ),
        ],
        ical::feed(&person, &staff.name, &shifts, now),
    )
        .into_response()
}
