//! The reports a trust's clinical safety officer reviews, for a service's
//! managers (and the trust's): the services they manage with weeks to
//! choose, a week's figures as a table and a chart, and the same figures
//! as CSV. The figures are [`crate::reports::Report`]'s.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::{Refusal, Staff, StaffPage, asked_week};
use crate::http::AppState;
use crate::reports::{Report, Week};

/// How many weeks, this one included, the pages offer to choose from.
const WEEKS_OFFERED: usize = 12;

/// The report routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/reports", get(index))
        .route("/staff/reports/{service}", get(report))
}

/// A week as the pages offer it.
#[derive(Debug, Serialize)]
struct WeekChoice {
    /// `2026-W48`.
    id: String,
    /// "23 Nov to 29 Nov 2026".
    dates: String,
}

impl WeekChoice {
    fn of(week: Week) -> Self {
        let (monday, sunday) = (week.monday(), week.monday() + chrono::TimeDelta::days(6));
        Self {
            id: week.to_string(),
            dates: format!(
                "{} to {}",
                monday.format("%-d %b"),
                sunday.format("%-d %b %Y")
            ),
        }
    }
}

async fn index(State(state): State<AppState>, staff: Staff) -> Response {
    if !staff.roles.is_manager() {
        return Refusal::Forbidden.into_response();
    }
    let weeks: Vec<_> = Week::containing(state.clock.now())
        .back(4)
        .into_iter()
        .map(WeekChoice::of)
        .collect();
    let services = super::managed_services(&state, &staff);
    StaffPage {
        staff: &staff,
        template: "web/staff/reports.html",
        nav: "reports",
        context: minijinja::context! { services, weeks },
    }
    .render(&state)
}

#[derive(Debug, Deserialize)]
struct WeekQuery {
    week: Option<String>,
}

async fn report(
    State(state): State<AppState>,
    staff: Staff,
    Path(service): Path<String>,
    Query(query): Query<WeekQuery>,
) -> Result<Response, Refusal> {
    let (service, csv) = match service.strip_suffix(".csv") {
        Some(service) => (service.to_owned(), true),
        None => (service, false),
    };
    let ix = staff.manage(&state, &service)?;
    let rota = state.rota.current();
    let service = &rota.services()[ix as usize];
    let this_week = Week::containing(state.clock.now());
    let back = format!("/staff/reports/{}", service.id);
    let week = match asked_week(&state, query.week.as_deref(), &back) {
        Ok(week) => week.unwrap_or(this_week),
        Err(page) => return Ok(*page),
    };
    let report = state
        .ops
        .report(service.id.clone(), week)
        .await
        .map_err(Refusal::unavailable("report: store unavailable"))?;
    if csv {
        return Ok(csv_response(&report));
    }
    let rows = rows(&report);
    let chart = Chart::of(&report);
    let weeks: Vec<_> = this_week
        .back(WEEKS_OFFERED)
        .into_iter()
        .map(WeekChoice::of)
        .collect();
    let hours = report.week.length().num_hours();
    Ok(StaffPage {
        staff: &staff,
        template: "web/staff/report.html",
        nav: "reports",
        context: minijinja::context! {
            service => minijinja::context! { id => service.id.as_str(), name => service.name },
            week => WeekChoice::of(week),
            hours,
            previous => week.previous().to_string(),
            next => (week < this_week).then(|| week.next().to_string()),
            weeks,
            rows,
            chart,
        },
    }
    .render(&state))
}

/// The figures as a download.
fn csv_response(report: &Report) -> Response {
    let mut response = report.csv().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::try_from(format!(
        "attachment; filename=\"{}-{}.csv\"",
        report.service, report.week
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// One row of the table.
#[derive(Debug, Serialize)]
struct Row {
    figure: String,
    value: String,
}

fn rows(report: &Report) -> Vec<Row> {
    report
        .rows()
        .into_iter()
        .map(|(figure, value)| Row { figure, value })
        .collect()
}

/// A bar chart of the counts, drawn as inline SVG by the template.
#[derive(Debug, Serialize)]
struct Chart {
    /// Its height in the SVG's units (it is 320 wide).
    height: u32,
    bars: Vec<Bar>,
    /// What it shows, in words, for its `<desc>`.
    description: String,
}

#[derive(Debug, Serialize)]
struct Bar {
    label: String,
    value: u32,
    /// Where its label's baseline is.
    y: u32,
    /// How wide its bar is (0 to 260).
    width: u32,
}

/// The width the longest bar takes, leaving room for its value.
const BAR_SPACE: u32 = 260;
/// The height of one bar with its label.
const BAR_STEP: u32 = 40;

impl Chart {
    fn of(report: &Report) -> Self {
        let counts = report.counts();
        let most = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
        let description = counts
            .iter()
            .map(|(label, n)| format!("{label}: {n}"))
            .collect::<Vec<_>>()
            .join("; ");
        let bars: Vec<Bar> = counts
            .into_iter()
            .enumerate()
            .map(|(i, (label, value))| Bar {
                label,
                value,
                y: i as u32 * BAR_STEP + 14,
                width: if value == 0 {
                    0
                } else {
                    (value * BAR_SPACE / most).max(2)
                },
            })
            .collect();
        Self {
            height: bars.len() as u32 * BAR_STEP + 4,
            bars,
            description,
        }
    }
}
