//! Rota managers' pages: a service's week hour by hour, the forms that make
//! and undo overrides and swaps, the layer as TOML, upcoming gaps and the
//! audit trail (view and CSV).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use serde::{Deserialize, Serialize};

use super::{Refusal, Staff, StaffForm, StaffPage, asked_week};
use crate::calendar::{LONDON, Week, YEARS, instant_of, london_long, wall_clock};
use crate::clock::Instant;
use crate::directory::Id;
use crate::http::AppState;
use crate::manage::{EditError, NotFit, OtherServices, edit_words, gap_words};
use crate::rota::check::shortfall;
use crate::rota::layer::{AuditEntry, AuditRecord, NewRotaEdit};
use crate::rota::layer::{EditBody, GAP_HORIZON_DAYS, Refusal as EditRefusal, layer_toml};
use crate::rota::{PersonIx, Rota, ServiceIx, Who, check};
use crate::spreadsheet::{self, Quoting};
use crate::store;

/// The rota pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/services/{service}", get(week))
        .route("/staff/services/{service}/edits", post(make_edit))
        .route("/staff/services/{service}/edits/{id}/undo", post(undo_edit))
        .route("/staff/services/{service}/layer.toml", get(layer))
        .route("/staff/gaps", get(gaps))
        .route("/staff/audit", get(audit))
        .route("/staff/audit.csv", get(audit_csv))
}

/// The Monday of an ISO week written `2026-W49`.
#[cfg(test)]
fn monday_of(week: &str) -> Option<NaiveDate> {
    week.parse::<Week>().ok().map(Week::monday)
}

fn week_name(monday: NaiveDate) -> String {
    Week::of(monday).to_string()
}

/// One level's cell in the week view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Cell {
    number: usize,
    names: String,
    gap: bool,
}

/// A run of hours with the same answer.
#[derive(Debug, Clone, Serialize)]
struct Row {
    from: String,
    until: String,
    in_hours: bool,
    /// The row runs from midnight to midnight.
    all_day: bool,
    levels: Vec<Cell>,
    gap: Option<String>,
}

fn cells(rota: &Rota, service: ServiceIx, at: Instant) -> (bool, Vec<Cell>, Option<String>) {
    let chain = rota.resolve(service, at);
    let levels = chain
        .levels
        .iter()
        .map(|l| {
            let names: Vec<&str> = l.on_call.iter().map(|o| o.person.name.as_str()).collect();
            let names = if l.on_call.is_empty() {
                "Nobody".to_owned()
            } else if l.filled_by_fallback {
                format!("Gap: the fallback ({})", names.join(", "))
            } else {
                names.join(", ")
            };
            Cell {
                number: l.number,
                names,
                gap: l.filled_by_fallback || l.on_call.is_empty(),
            }
        })
        .collect();
    let gap = shortfall(&chain).map(|k| k.to_string());
    (chain.period.in_hours, levels, gap)
}

/// The week from `monday`, day by day, hours with the same answer together.
fn days(rota: &Rota, service: ServiceIx, monday: NaiveDate) -> Vec<minijinja::Value> {
    let division = rota.services()[service as usize].division;
    (0..7)
        .map(|d| {
            let date = monday + Days::new(d);
            let mut rows: Vec<Row> = Vec::new();
            for hour in 0..24 {
                let start = date.and_time(NaiveTime::from_hms_opt(hour, 0, 0).expect("an hour"));
                let (in_hours, levels, gap) = cells(rota, service, instant_of(start));
                let until = format!("{:02}:00", (hour + 1) % 24);
                match rows.last_mut() {
                    Some(r) if r.in_hours == in_hours && r.levels == levels && r.gap == gap => {
                        r.until = until
                    }
                    _ => rows.push(Row {
                        from: format!("{hour:02}:00"),
                        until,
                        in_hours,
                        all_day: false,
                        levels,
                        gap,
                    }),
                }
            }
            if let [only] = &mut rows[..] {
                only.all_day = true;
            }
            minijinja::context! {
                label => date.format("%A %-d %B").to_string(),
                holiday => rota.calendar().holidays().on(division, date),
                rows,
            }
        })
        .collect()
}

/// The people a service's levels name or rotate, and its rotations.
fn on_service(rota: &Rota, service: ServiceIx) -> (Vec<minijinja::Value>, Vec<minijinja::Value>) {
    let s = &rota.services()[service as usize];
    let mut people: Vec<u32> = Vec::new();
    let mut rotations: Vec<u32> = Vec::new();
    for level in s.in_hours.iter().chain(&s.out_of_hours) {
        match &level.who {
            Who::Rotation(r) => {
                if !rotations.contains(r) {
                    rotations.push(*r);
                    people.extend(&rota.rotations()[*r as usize].members);
                }
            }
            Who::People(ps) => people.extend(ps),
        }
    }
    people.sort_unstable();
    people.dedup();
    let people = people
        .into_iter()
        .map(|p| {
            let p = &rota.people()[p as usize];
            minijinja::context! { id => p.id.as_str(), name => p.name }
        })
        .collect();
    let rotations = rotations
        .into_iter()
        .map(|r| {
            let r = &rota.rotations()[r as usize];
            minijinja::context! { id => r.id.as_str(), name => r.name }
        })
        .collect();
    (people, rotations)
}

/// `?week=2026-W49` picks the week; `?made=12` is the edit just made, whose
/// warnings (a long stretch on call) the page shows.
#[derive(Debug, Deserialize)]
struct WeekQuery {
    week: Option<String>,
    made: Option<u64>,
}

async fn week(
    State(state): State<AppState>,
    staff: Staff,
    Path(service): Path<String>,
    Query(q): Query<WeekQuery>,
) -> Result<Response, Refusal> {
    let ix = staff.manage(&state, &service)?;
    let week = match asked_week(
        &state,
        q.week.as_deref(),
        &format!("/staff/services/{service}"),
    ) {
        Ok(week) => week,
        Err(page) => return Ok(*page),
    };
    week_page(&state, &staff, ix, week.map(Week::monday), q.made, None).await
}

/// The names of `people`, with their ids, for a select.
fn choices(rota: &Rota, people: Vec<PersonIx>) -> Vec<minijinja::Value> {
    people
        .into_iter()
        .map(|p| &rota.people()[p as usize])
        .map(|p| minijinja::context! { id => p.id.as_str(), name => p.name })
        .collect()
}

/// A service's week from `monday` (this week when none), its edits and
/// forms; with `failed`, the form as it was typed and why it was not saved.
async fn week_page(
    state: &AppState,
    staff: &Staff,
    ix: ServiceIx,
    monday: Option<NaiveDate>,
    made: Option<u64>,
    failed: Option<Failed>,
) -> Result<Response, Refusal> {
    let rota = state.rota.current();
    let now = state.clock.now();
    let today = wall_clock(now).date();
    let this_monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    let monday = monday.unwrap_or(this_monday);
    let s = &rota.services()[ix as usize];
    let managers: Vec<_> = s
        .managers
        .iter()
        .filter_map(|id| rota.person(id.as_str()))
        .map(|p| minijinja::context! { name => p.name, role => p.role })
        .collect();
    let all_edits = state
        .ops
        .rota_edits()
        .await
        .map_err(|_| Refusal::Unavailable)?;
    let edits: Vec<_> = all_edits
        .iter()
        .rev()
        // Those made here, and those made on another service's page that
        // change this one's chain (a shared rotation, a person everywhere).
        .filter(|e| e.edit.service == s.id || rota.changes(&e.edit.body, ix))
        .map(|e| {
            let made_on = (e.edit.service != s.id).then(|| {
                rota.service(e.edit.service.as_str())
                    .map_or(e.edit.service.as_str(), |o| rota.services()[o as usize].name.as_str())
            });
            minijinja::context! {
                id => e.id,
                made_on,
                words => edit_words(&rota, &e.edit.body),
                reason => e.edit.reason,
                made_by => rota.person(e.edit.made_by.as_str()).map_or(e.edit.made_by.as_str(), |p| p.name.as_str()),
                made_at => london_long(e.edit.made_at),
                undone => e.undone.as_ref().map(|u| format!("undone by {} on {}", rota.person(u.by.as_str()).map_or(u.by.as_str(), |p| p.name.as_str()), london_long(u.at))),
            }
        })
        .collect();
    let stretches = match made {
        Some(id) => state
            .ops
            .long_stretches(&all_edits, id)
            .await
            .map_err(|_| Refusal::Unavailable)?,
        None => Vec::new(),
    };
    let (people, rotations) = on_service(&rota, ix);
    let (own, others) = rota.cover_choices(ix);
    let sunday = monday + Days::new(6);
    let status = failed.as_ref().map(Failed::status);
    let mut response = StaffPage {
        staff,
        template: "web/staff/service.html",
        nav: "services",
        context: minijinja::context! {
            service => minijinja::context! {
                id => s.id.as_str(),
                name => s.name,
                handover => s.hours.has_in_hours_team(),
                all_hours => !s.hours.has_in_hours_team(),
            },
            managers,
            week => minijinja::context! {
                name => week_name(monday),
                label => format!("{} to {}", monday.format("%a %-d %b"), sunday.format("%a %-d %b %Y")),
                previous => week_name(monday - Days::new(7)),
                next => week_name(monday + Days::new(7)),
            },
            days => days(&rota, ix, monday),
            edits,
            stretches,
            people,
            cover_own => choices(&rota, own),
            cover_others => choices(&rota, others),
            rotations,
            failed,
        },
    }
    .render(state);
    if let Some(status) = status {
        *response.status_mut() = status;
    }
    Ok(response)
}

/// The fields of the edit forms, as posted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
struct EditForm {
    /// `override` or `swap`.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    covering: String,
    #[serde(default, rename = "for")]
    replacing: String,
    #[serde(default)]
    rotation: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    shift_a: String,
    #[serde(default)]
    shift_b: String,
    #[serde(default)]
    reason: String,
    /// Set when the manager confirmed an edit that opens a gap.
    #[serde(default)]
    confirm: String,
}

/// What is wrong with one field of an edit form, and what to write; `what`
/// names the field as the page does ("start of the cover").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum FieldProblem {
    /// Nothing was written.
    #[error("Enter the {0}")]
    Missing(&'static str),
    /// Not a date and a time.
    #[error("Enter the {0} as a date and a time, like 5 December 2026 at 20:00")]
    NotADateTime(&'static str),
    /// Not a date.
    #[error("Enter the {0} as a date, like 5 December 2026")]
    NotADate(&'static str),
    /// A swap that names no rotation.
    #[error("Choose the rotation whose shifts swap")]
    NoRotation,
}

fn datetime(what: &'static str, text: &str) -> Result<NaiveDateTime, FieldProblem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldProblem::Missing(what));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .filter(|t| YEARS.contains(&t.year()))
        .ok_or(FieldProblem::NotADateTime(what))
}

fn date(what: &'static str, text: &str) -> Result<NaiveDate, FieldProblem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldProblem::Missing(what));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|d| YEARS.contains(&d.year()))
        .ok_or(FieldProblem::NotADate(what))
}

fn some(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Each field's problem: its form name and what to write.
type FormProblems = Vec<(&'static str, String)>;

impl EditForm {
    /// The edit the form asks for, or every field's problem at once.
    fn body(&self) -> Result<EditBody, FormProblems> {
        fn take<T>(
            problems: &mut FormProblems,
            name: &'static str,
            r: Result<T, FieldProblem>,
        ) -> Option<T> {
            r.map_err(|e| problems.push((name, e.to_string()))).ok()
        }
        let mut problems = Vec::new();
        if self.kind == "swap" {
            let rotation = take(
                &mut problems,
                "rotation",
                some(&self.rotation).ok_or(FieldProblem::NoRotation),
            );
            let a = take(
                &mut problems,
                "shift_a",
                date("day the first shift starts", &self.shift_a),
            );
            let b = take(
                &mut problems,
                "shift_b",
                date("day the other shift starts", &self.shift_b),
            );
            match (rotation, a, b) {
                (Some(rotation), Some(a), Some(b)) => Ok(EditBody::Swap {
                    rotation,
                    shifts: [a, b],
                }),
                _ => Err(problems),
            }
        } else {
            let from = take(
                &mut problems,
                "from",
                datetime("start of the cover", &self.from),
            );
            let until = take(
                &mut problems,
                "until",
                datetime("end of the cover", &self.until),
            );
            match (from, until) {
                (Some(from), Some(until)) => Ok(EditBody::Override {
                    covering: some(&self.covering),
                    replacing: some(&self.replacing),
                    rotation: some(&self.rotation),
                    from,
                    until,
                }),
                _ => Err(problems),
            }
        }
    }

    /// The Monday of the week the form is about, if a day can be read from it.
    fn week(&self) -> Option<NaiveDate> {
        let text = if self.kind == "swap" {
            &self.shift_a
        } else {
            &self.from
        };
        let day = text.trim().get(..10)?;
        NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .ok()
            .map(monday_of_date)
    }
}

/// A problem with one field of a form, or (no field) with the edit as a whole.
#[derive(Debug, Clone, Serialize)]
struct FieldError {
    /// The field's id on the page, which the error summary links to.
    id: String,
    /// What is wrong and what to do.
    message: String,
}

/// An edit (or undo) that was not made: the form as it was typed, and why,
/// for the week page to show in the NHS.UK error summary pattern.
#[derive(Debug, Default, Serialize)]
struct Failed {
    /// `override`, `swap` or `undo`: which form's fields keep what was typed.
    kind: String,
    /// What was typed.
    form: EditForm,
    /// The problems, each linked to its field.
    errors: Vec<FieldError>,
    /// The gaps it would open, in words: it can be saved anyway.
    gaps: Vec<String>,
    /// The services it changes that the editor does not manage.
    others: Option<OtherServices>,
    /// The cover it names, not fit for the slot.
    not_fit: Option<NotFit>,
    /// Where "save it anyway" posts.
    action: String,
}

impl Failed {
    /// `403` when it reaches services the editor does not manage, else `422`.
    fn status(&self) -> StatusCode {
        if self.others.is_some() {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    }

    /// The id on the page of the form field `name` of this form.
    fn id_of(&self, name: &str) -> String {
        match (self.kind.as_str(), name) {
            ("swap", "rotation" | "reason") => format!("swap-{name}"),
            ("swap", "") => "swap".to_owned(),
            ("undo", _) => "edits".to_owned(),
            (_, "") => "override".to_owned(),
            _ => name.to_owned(),
        }
    }

    fn error(&mut self, field: &str, message: String) {
        let id = self.id_of(field);
        self.errors.push(FieldError { id, message });
    }

    /// Why `e` refused the edit, on the form; `Err` for what is not the
    /// form's (no such edit, the store down).
    fn explain(mut self, e: EditError) -> Result<Self, Refusal> {
        match e {
            EditError::Refused(EditRefusal::Invalid(problems)) => {
                for p in problems.0 {
                    self.error("", p.message);
                }
            }
            EditError::Refused(EditRefusal::OpensGaps(gaps)) => {
                self.gaps = gaps.iter().map(gap_words).collect();
            }
            EditError::Field { field, message } => self.error(field, message),
            EditError::NotYourServices(others) => {
                let names: Vec<&str> = others.services.iter().map(|o| o.name.as_str()).collect();
                let field = if self.form.rotation.trim().is_empty() {
                    "for"
                } else {
                    "rotation"
                };
                self.error(
                    field,
                    format!(
                        "This also changes who is on call for {}, which you do not manage",
                        names.join(" and ")
                    ),
                );
                self.others = Some(*others);
            }
            EditError::NotFit(not_fit) => {
                self.error(
                    "covering",
                    format!(
                        "{} ({}) cannot cover this: choose someone fit for it",
                        not_fit.name, not_fit.role
                    ),
                );
                self.not_fit = Some(*not_fit);
            }
            EditError::NoSuchEdit => return Err(Refusal::NotFound),
            EditError::Store(e) => {
                tracing::error!(error = %e, "rota edit: store unavailable");
                return Err(Refusal::Unavailable);
            }
        }
        Ok(self)
    }
}

/// The Monday of the week holding `date`.
fn monday_of_date(date: NaiveDate) -> NaiveDate {
    date - Days::new(u64::from(date.weekday().num_days_from_monday()))
}

async fn make_edit(
    State(state): State<AppState>,
    Path(service): Path<String>,
    StaffForm { staff, form }: StaffForm<EditForm>,
) -> Result<Response, Refusal> {
    let ix = staff.manage(&state, &service)?;
    let mut failed = Failed {
        kind: if form.kind == "swap" {
            "swap"
        } else {
            "override"
        }
        .to_owned(),
        form: form.clone(),
        action: format!("/staff/services/{service}/edits"),
        ..Failed::default()
    };
    let body = match form.body() {
        Ok(b) => b,
        Err(problems) => {
            for (field, message) in problems {
                failed.error(field, message);
            }
            let week = form.week();
            return week_page(&state, &staff, ix, week, None, Some(failed)).await;
        }
    };
    let week = match &body {
        EditBody::Override { from, .. } => from.date(),
        EditBody::Swap { shifts, .. } => shifts[0],
    };
    let edit = NewRotaEdit {
        service: Id::parse(&service).map_err(|_| Refusal::NotFound)?,
        body,
        reason: form.reason.trim().to_owned(),
        made_by: staff.id.clone(),
        made_at: state.clock.now(),
    };
    match state
        .ops
        .make_rota_edit(edit, !form.confirm.is_empty())
        .await
    {
        Ok(id) => Ok(Redirect::to(&format!(
            "/staff/services/{service}?week={}&made={id}#edits",
            week_name(week)
        ))
        .into_response()),
        Err(e) => {
            let failed = failed.explain(e)?;
            let monday = Some(monday_of_date(week));
            week_page(&state, &staff, ix, monday, None, Some(failed)).await
        }
    }
}

async fn undo_edit(
    State(state): State<AppState>,
    Path((service, id)): Path<(String, u64)>,
    StaffForm { staff, form }: StaffForm<EditForm>,
) -> Result<Response, Refusal> {
    let ix = staff.manage(&state, &service)?;
    let service_id = Id::parse(&service).map_err(|_| Refusal::NotFound)?;
    match state
        .ops
        .undo_rota_edit(&service_id, id, &staff.id, !form.confirm.is_empty())
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/staff/services/{service}#edits")).into_response()),
        Err(e) => {
            let failed = Failed {
                kind: "undo".to_owned(),
                form,
                action: format!("/staff/services/{service}/edits/{id}/undo"),
                ..Failed::default()
            }
            .explain(e)?;
            week_page(&state, &staff, ix, None, None, Some(failed)).await
        }
    }
}

async fn layer(
    State(state): State<AppState>,
    staff: Staff,
    Path(service): Path<String>,
) -> Result<Response, Refusal> {
    let service = service.trim_end_matches(".toml").to_owned();
    staff.manage(&state, &service)?;
    let edits = state
        .ops
        .rota_edits()
        .await
        .map_err(|_| Refusal::Unavailable)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/toml; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{service}-web-edits.toml\""),
            ),
        ],
        layer_toml(&edits, Some(&service)),
    )
        .into_response())
}

async fn gaps(State(state): State<AppState>, staff: Staff) -> Result<Response, Refusal> {
    if !staff.roles.is_manager() {
        return Err(Refusal::Forbidden);
    }
    let rota = state.rota.current();
    let now = state.clock.now();
    let gaps: Vec<_> = check(&rota, now, now + TimeDelta::days(GAP_HORIZON_DAYS))
        .into_iter()
        .filter(|g| staff.may_manage(g.service.as_str()))
        .map(|g| {
            let name = rota
                .service(g.service.as_str())
                .map(|ix| rota.services()[ix as usize].name.clone())
                .unwrap_or_default();
            minijinja::context! {
                service => g.service.as_str(),
                name,
                from => london_long(g.from),
                until => london_long(g.until),
                what => g.kind.to_string(),
                week => week_name(wall_clock(g.from).date()),
            }
        })
        .collect();
    Ok(StaffPage {
        staff: &staff,
        template: "web/staff/gaps.html",
        nav: "gaps",
        context: minijinja::context! { gaps, days => GAP_HORIZON_DAYS },
    }
    .render(&state))
}

/// The audit lines this manager may see: their services', or all for a
/// trust manager.
async fn trail(state: &AppState, staff: &Staff) -> Result<Vec<AuditEntry>, Refusal> {
    if !staff.roles.is_manager() {
        return Err(Refusal::Forbidden);
    }
    let all = store::blocking(&state.ops.store, |s| s.audit_trail(0, 100_000))
        .await
        .map_err(Refusal::unavailable("audit trail: store unavailable"))?;
    Ok(all
        .into_iter()
        .filter(|e| match &e.record.service {
            // Shown under every service the line names.
            Some(s) => std::iter::once(s)
                .chain(&e.record.also)
                .any(|s| staff.may_manage(s.as_str())),
            None => staff.roles.trust_manager,
        })
        .collect())
}

/// The names of the services an audit line is about, its own first.
fn services_of(rota: &Rota, record: &AuditRecord) -> Vec<String> {
    record
        .service
        .iter()
        .chain(&record.also)
        .map(|id| {
            rota.service(id.as_str()).map_or_else(
                || id.to_string(),
                |ix| rota.services()[ix as usize].name.clone(),
            )
        })
        .collect()
}

async fn audit(State(state): State<AppState>, staff: Staff) -> Result<Response, Refusal> {
    let rota = state.rota.current();
    let edits = state
        .ops
        .rota_edits()
        .await
        .map_err(|_| Refusal::Unavailable)?;
    let lines: Vec<_> = trail(&state, &staff)
        .await?
        .iter()
        .rev()
        .map(|e| {
            // An edit's line is worded from the edit, with names; the
            // stored action and TOML stay for the CSV.
            let edit = e
                .edit
                .and_then(|id| edits.iter().find(|x| x.id == id))
                .map(|x| edit_words(&rota, &x.edit.body));
            minijinja::context! {
                seq => e.seq,
                at => london_long(e.record.at),
                who => rota.person(e.record.who.as_str()).map_or(e.record.who.as_str(), |p| p.name.as_str()),
                services => services_of(&rota, &e.record),
                edit_id => e.edit,
                edit,
                undone => e.record.after.is_empty(),
                action => e.record.action,
            }
        })
        .collect();
    Ok(StaffPage {
        staff: &staff,
        template: "web/staff/audit.html",
        nav: "audit",
        context: minijinja::context! { lines },
    }
    .render(&state))
}

async fn audit_csv(State(state): State<AppState>, staff: Staff) -> Result<Response, Refusal> {
    let rows = trail(&state, &staff).await?.into_iter().map(|e| {
        [
            e.seq.to_string(),
            e.record
                .at
                .with_timezone(&LONDON)
                .format("%Y-%m-%d %H:%M:%S %Z")
                .to_string(),
            e.record.who.as_str().to_owned(),
            e.record
                .service
                .iter()
                .chain(&e.record.also)
                .map(Id::as_str)
                .collect::<Vec<_>>()
                .join(" "),
            e.edit.map(|n| n.to_string()).unwrap_or_default(),
            e.record.action,
            e.record.before,
            e.record.after,
        ]
    });
    let out = spreadsheet::write(
        &[
            "seq", "at", "who", "service", "edit", "action", "before", "after",
        ],
        rows,
        Quoting::Always,
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"nightingale-audit.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One cell as the audit trail writes it.
    fn csv_cell(text: &str) -> String {
        spreadsheet::write(&[], [[text]], Quoting::Always)
            .trim_end_matches("\r\n")
            .to_owned()
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(csv_cell("plain"), "\"plain\"");
        assert_eq!(csv_cell("say \"hi\", then"), "\"say \"\"hi\"\", then\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for lead in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(lead).starts_with("\"'"), "{lead:?}");
        }
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn weeks_are_iso_weeks() {
        let monday = monday_of("2026-W49").unwrap();
        assert_eq!(monday, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(week_name(monday), "2026-W49");
        assert_eq!(monday_of("2026-49"), None);
    }
}
