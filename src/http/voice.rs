//! Twilio's voice webhooks: a patient or carer phones our number.
//!
//! - `POST /twilio/voice`: the call arrives. The caller hears first that in
//!   an emergency they should hang up and dial 999, then which service they
//!   have reached; then the first level is rung with call screening.
//! - `POST /twilio/voice/screen` (the callee's leg): "a patient of
//!   Cardiology Ward 7 is calling; press 1 to take the call". Only the key
//!   connects them: a voicemail greeting never does.
//! - `POST /twilio/voice/screen/key`: the callee's key.
//! - `POST /twilio/voice/dial`: a level's ringing ended. Taken, the caller is
//!   done; not, the next level is rung while `live_for` lasts, then the
//!   caller is asked to leave a message.
//! - `POST /twilio/voice/message`, `/no-message`, `/transcription`: the
//!   message, its absence, and Twilio's transcription of it.
//! - `POST /twilio/voice/status`: the call's status callback (set on the
//!   number in Twilio's console; see docs/deploy.md).
//!
//! And a page by phone to a clinician (`Calls.json`, placed by the outbox):
//!
//! - `POST /twilio/voice/page`: the call is answered. A machine (Twilio's
//!   `AnsweredBy`) has not reached a person: the page fails over, like an
//!   undelivered text. A person hears the service, the patient's first
//!   name and the concern (its words, or "a voicemail"): 1 accepts, 2
//!   passes, * repeats.
//! - `POST /twilio/voice/page/key`: their key, stored as a tap on the
//!   page's link would be.
//! - `POST /twilio/voice/page/status`: the call's progress, on the timeline
//!   (busy, no answer and failed fail over).
//!
//! Every request is signed like an SMS webhook ([`super::twilio::Signed`])
//! and each step is stored under `call:SID:STEP` before it is answered
//! ([`crate::voice::CallStep`]), so a retry is recognised and a message is
//! on disk before the caller hears "we have your message". What a step
//! needs of the call so far (the service, who is calling, when it began)
//! travels in the URLs we give Twilio, which it signs with the rest.
//!
//! When our side fails (the store, a template), the caller hears plain
//! words: call NHS 111, or 999 in an emergency; never silence.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use minijinja::Value;
use serde::Serialize;

use super::AppState;
use super::twilio::Signed;
use crate::clock::Instant;
use crate::concern::ConcernId;
use crate::directory::{Id, Language, Party, PhoneNumber};
use crate::inbox::{Inbound, InboundKind};
use crate::voice::{CallStep, CallerKind, Line, MESSAGE_SECONDS, call_ended, step_key};

/// What the caller hears when our side fails and no template can be
/// rendered either: never silence.
const LAST_RESORT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Say voice="Polly.Amy" language="en-GB">Sorry, this line is not working just now. Please call NHS 111. In an emergency, hang up and dial 999.</Say><Hangup/></Response>"#;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/twilio/voice", post(answer))
        .route("/twilio/voice/screen", post(screen))
        .route("/twilio/voice/screen/key", post(screen_key))
        .route("/twilio/voice/dial", post(dialled))
        .route("/twilio/voice/message", post(message))
        .route("/twilio/voice/no-message", post(no_message))
        .route("/twilio/voice/transcription", post(transcription))
        .route("/twilio/voice/status", post(status))
        .route("/twilio/voice/page", post(call_page))
        .route("/twilio/voice/page/key", post(call_page_key))
        .route("/twilio/voice/page/status", post(call_page_status))
        .route("/twilio/voice/page/call-back", post(call_back))
        .route("/twilio/voice/call-back", post(call_back_answered))
        .route("/twilio/voice/pages/key", post(pages_key))
}

/// What every step of a call knows of it, carried in the URLs we give Twilio.
#[derive(Debug, Clone)]
struct CallContext {
    /// The service the caller is enrolled with; `None`: the trust fallback.
    service: Option<Id>,
    /// The care co-ordinator their enrolment names, if any.
    coordinator: Option<Id>,
    /// Who is calling.
    who: CallerKind,
    /// When the call reached us.
    started: Instant,
    /// The caller's number is withheld: nobody can ring them back, so they
    /// are not asked for a message nobody could answer.
    withheld: bool,
    /// The language the caller's enrolment is in: what they hear is said
    /// in it where it is translated (`templates/cy/twiml/`).
    language: Language,
}

impl CallContext {
    fn from_query(query: &HashMap<String, String>, now: Instant) -> Self {
        Self {
            service: query.get("service").and_then(|s| Id::parse(s).ok()),
            coordinator: query.get("coordinator").and_then(|s| Id::parse(s).ok()),
            who: CallerKind::parse(query.get("who").map_or("", String::as_str)),
            started: query
                .get("started")
                .and_then(|s| s.parse::<i64>().ok())
                .and_then(chrono::DateTime::from_timestamp_millis)
                .unwrap_or(now),
            withheld: query.get("withheld").is_some_and(|w| w == "1"),
            language: query
                .get("lang")
                .and_then(|l| Language::parse(l).ok())
                .unwrap_or_default(),
        }
    }

    /// As a query string (ids are lowercase letters, digits and hyphens).
    fn query(&self) -> String {
        let mut q = format!(
            "who={}&started={}",
            self.who.as_str(),
            self.started.timestamp_millis()
        );
        if let Some(s) = &self.service {
            q.push_str("&service=");
            q.push_str(s.as_str());
        }
        if let Some(c) = &self.coordinator {
            q.push_str("&coordinator=");
            q.push_str(c.as_str());
        }
        if self.withheld {
            q.push_str("&withheld=1");
        }
        if self.language != Language::En {
            q.push_str("&lang=");
            q.push_str(self.language.code());
        }
        q
    }
}

/// One number rung in a `<Dial>`.
#[derive(Serialize)]
struct Ring {
    staff: String,
    number: String,
}

/// The `<Dial>` to ring a level, or none: ask for a message.
#[derive(Serialize)]
struct Dial {
    level: usize,
    seconds: i64,
    callees: Vec<Ring>,
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// Render a TwiML template; on failure, the plain 111/999 words.
fn twiml(state: &AppState, name: &str, context: Value) -> Response {
    twiml_in(state, Language::En, name, context)
}

/// As [`twiml`], said in `language` where the template is translated.
fn twiml_in(state: &AppState, language: Language, name: &str, context: Value) -> Response {
    let base = minijinja::context! { base => state.public_url.clone() };
    match state
        .templates
        .render_in(language, name, minijinja::context! { ..context, ..base })
    {
        Ok(body) => xml(body),
        Err(e) => {
            tracing::error!(error = ?e, template = name, "TwiML template failed; caller told to call 111");
            unavailable(state)
        }
    }
}

/// Our side failed: call NHS 111, or 999 in an emergency.
fn unavailable(state: &AppState) -> Response {
    match state
        .templates
        .render("twiml/unavailable.xml", minijinja::context! {})
    {
        Ok(body) => xml(body),
        Err(_) => xml(LAST_RESORT.to_owned()),
    }
}

/// Store one step of a call; `Some(new)` once it is on disk.
async fn record(state: &AppState, call: &str, from: &str, step: CallStep) -> Option<bool> {
    let key = step_key(call, &step.name());
    let item = Inbound {
        key: key.clone(),
        kind: InboundKind::Call {
            call: call.to_owned(),
            from: from.to_owned(),
            step,
        },
        received_at: state.clock.now(),
    };
    match state.ops.record_inbound(item).await {
        Ok(new) => {
            tracing::info!(key = %key, duplicate = !new, "call step stored");
            Some(new)
        }
        Err(e) => {
            tracing::error!(key = %key, error = %e, "call step not stored; caller told to call 111");
            None
        }
    }
}

/// The service's name as the caller hears it, or the trust's.
fn service_words(state: &AppState, service: Option<&Id>) -> String {
    service
        .and_then(|s| state.rota.current().service(s.as_str()))
        .map(|ix| {
            state.rota.current().services()[ix as usize]
                .patient_name
                .clone()
        })
        .unwrap_or_else(|| state.rota.current().trust_name.clone())
}

/// The service's name as staff know it, or the trust's.
fn service_name(state: &AppState, service: Option<&Id>) -> String {
    service
        .and_then(|s| state.rota.current().service(s.as_str()))
        .map(|ix| state.rota.current().services()[ix as usize].name.clone())
        .unwrap_or_else(|| state.rota.current().trust_name.clone())
}

/// What comes next for a caller who has not reached anyone yet: ring the
/// level after `after`, or ask for a message.
fn next(state: &AppState, ctx: &CallContext, call: &str, to: &str, after: usize) -> Value {
    let now = state.clock.now();
    let line = Line::plan(
        &state.rota.current(),
        ctx.service.as_ref(),
        ctx.coordinator.as_ref(),
        now,
    );
    let dial = line
        .next_ring(after, ctx.started, now)
        .map(|(level, ring_for)| Dial {
            level,
            seconds: ring_for.num_seconds().max(1),
            callees: line.levels[level - 1]
                .iter()
                .map(|c| Ring {
                    staff: c.staff.as_str().to_owned(),
                    number: c.number.as_str().to_owned(),
                })
                .collect(),
        });
    minijinja::context! {
        dial,
        again => after > 0,
        call,
        our_number => to,
        query => ctx.query(),
        max_length => MESSAGE_SECONDS,
        withheld => ctx.withheld,
        call_back_minutes => line.call_back_minutes(),
    }
}

fn form<'a>(form: &'a Signed, name: &str) -> &'a str {
    form.get(name).unwrap_or_default()
}

async fn answer(State(state): State<AppState>, form: Signed) -> Response {
    let (call, from, to) = (
        self::form(&form, "CallSid"),
        self::form(&form, "From"),
        self::form(&form, "To"),
    );
    let now = state.clock.now();
    let step = CallStep::Answered { to: to.to_owned() };
    let phone = PhoneNumber::from_provider(from).ok();
    let rota = state.rota.current();
    if let Some(staff) = phone.as_ref().and_then(|p| rota.staff_by_phone(p)) {
        if record(&state, call, from, step).await.is_none() {
            return unavailable(&state);
        }
        return clinician(&state, staff).await;
    }
    // Who is calling is read while the step is written: the caller hears
    // nothing until both are done. A number we cannot text or ring back
    // (withheld) is still put through.
    let lookup = async {
        match &phone {
            Some(p) => state
                .ops
                .enrolment_for_phone(p)
                .await
                .map(|e| e.map(|e| (Party::of(Some(&e), &p.clone().into()), e))),
            None => Ok(None),
        }
    };
    let (stored, enrolment) = tokio::join!(record(&state, call, from, step), lookup);
    if stored.is_none() {
        return unavailable(&state);
    }
    let enrolment = match enrolment {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "caller not looked up; caller told to call 111");
            return unavailable(&state);
        }
    };
    let ctx = CallContext {
        service: enrolment.as_ref().map(|(_, e)| e.service.clone()),
        coordinator: enrolment.as_ref().and_then(|(_, e)| e.coordinator.clone()),
        who: enrolment
            .as_ref()
            .map_or(CallerKind::Unknown, |(p, _)| CallerKind::of(p)),
        started: now,
        withheld: phone.is_none(),
        language: enrolment.as_ref().map_or(Language::En, |(_, e)| e.language),
    };
    let next = next(&state, &ctx, call, to, 0);
    let greeting = minijinja::context! {
        service => service_words(&state, ctx.service.as_ref()),
    };
    twiml_in(
        &state,
        ctx.language,
        "twiml/answer.xml",
        minijinja::context! { ..greeting, ..next },
    )
}

async fn screen(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    _form: Signed,
) -> Response {
    screen_words(&state, &query, false)
}

/// What the clinician a live call rings hears before it is put through:
/// who is calling, then "Press 1"; `again`, after a key that was not 1,
/// asked once more (a slip of the thumb does not lose the call).
fn screen_words(state: &AppState, query: &HashMap<String, String>, again: bool) -> Response {
    let ctx = CallContext::from_query(query, state.clock.now());
    let (Some(call), Some(staff)) = (query.get("call"), query.get("staff")) else {
        return twiml(state, "twiml/hang_up.xml", minijinja::context! {});
    };
    let mut query = format!("{}&call={call}&staff={staff}", ctx.query());
    if again {
        query.push_str("&again=1");
    }
    twiml(
        state,
        "twiml/screen.xml",
        minijinja::context! {
            who => ctx.who.as_str(),
            service => service_name(state, ctx.service.as_ref()),
            query,
            again,
        },
    )
}

async fn screen_key(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    form: Signed,
) -> Response {
    let hang_up = |taken_by_another: bool| {
        twiml(
            &state,
            "twiml/hang_up.xml",
            minijinja::context! { taken_by_another },
        )
    };
    let (Some(call), Some(staff)) = (
        query.get("call"),
        query.get("staff").and_then(|s| Id::parse(s).ok()),
    ) else {
        return hang_up(false);
    };
    if self::form(&form, "Digits") != "1" {
        // Asked once more; a second wrong key lets the call go on to the next person.
        return if query.contains_key("again") {
            hang_up(false)
        } else {
            screen_words(&state, &query, true)
        };
    }
    let step = CallStep::Taken {
        staff: staff.clone(),
    };
    match record(&state, call, "", step).await {
        Some(true) => {}
        Some(false) => {
            // Twilio's retry of this callee's key, or another callee who
            // pressed 1 a moment later: only the first is put through.
            let first = state.ops.inbound(step_key(call, "taken")).await;
            let theirs = matches!(
                first,
                Ok(Some(Inbound { kind: InboundKind::Call { step: CallStep::Taken { staff: s }, .. }, .. })) if s == staff
            );
            if !theirs {
                return hang_up(true);
            }
        }
        None => return hang_up(false),
    }
    twiml(&state, "twiml/connect.xml", minijinja::context! {})
}

async fn dialled(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    form: Signed,
) -> Response {
    let ctx = CallContext::from_query(&query, state.clock.now());
    let (call, from, to) = (
        self::form(&form, "CallSid"),
        self::form(&form, "From"),
        self::form(&form, "To"),
    );
    let level: usize = query.get("level").and_then(|l| l.parse().ok()).unwrap_or(1);
    let step = CallStep::Dialled {
        level: level as u32,
        status: self::form(&form, "DialCallStatus").to_owned(),
    };
    if record(&state, call, from, step).await.is_none() {
        return unavailable(&state);
    }
    match state.ops.inbound(step_key(call, "taken")).await {
        Ok(Some(_)) => twiml_in(
            &state,
            ctx.language,
            "twiml/taken.xml",
            minijinja::context! {},
        ),
        Ok(None) => {
            let next = next(&state, &ctx, call, to, level);
            twiml_in(&state, ctx.language, "twiml/still_trying.xml", next)
        }
        Err(e) => {
            tracing::error!(error = %e, "call step not read; caller told to call 111");
            unavailable(&state)
        }
    }
}

async fn message(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    form: Signed,
) -> Response {
    let seconds: u32 = form
        .get("RecordingDuration")
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    let step = match (form.get("RecordingSid"), form.get("RecordingUrl")) {
        (Some(sid), Some(url)) if seconds > 0 => CallStep::Message {
            recording_sid: sid.to_owned(),
            recording_url: url.to_owned(),
            seconds,
        },
        _ => CallStep::NoMessage,
    };
    left(&state, &query, &form, step).await
}

async fn no_message(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    form: Signed,
) -> Response {
    left(&state, &query, &form, CallStep::NoMessage).await
}

/// Records what the caller left (a message, or none) and tells them so in
/// their language.
async fn left(
    state: &AppState,
    query: &HashMap<String, String>,
    form: &Signed,
    step: CallStep,
) -> Response {
    let ctx = CallContext::from_query(query, state.clock.now());
    let (call, from) = (self::form(form, "CallSid"), self::form(form, "From"));
    let template = match step {
        CallStep::NoMessage => "twiml/no_message.xml",
        _ => "twiml/message_left.xml",
    };
    match record(state, call, from, step).await {
        Some(_) => twiml_in(state, ctx.language, template, minijinja::context! {}),
        None => unavailable(state),
    }
}

/// An empty answer to a callback, or `503` so Twilio tries again.
fn stored(state: &AppState, stored: Option<bool>) -> Response {
    match stored {
        Some(_) => twiml(state, "twiml/empty.xml", minijinja::context! {}),
        None => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "try again").into_response(),
    }
}

async fn transcription(State(state): State<AppState>, form: Signed) -> Response {
    let (call, from) = (self::form(&form, "CallSid"), self::form(&form, "From"));
    let text = (self::form(&form, "TranscriptionStatus") == "completed")
        .then(|| self::form(&form, "TranscriptionText").trim().to_owned())
        .filter(|t| !t.is_empty());
    let step = CallStep::Transcription { text };
    let stored_step = record(&state, call, from, step).await;
    stored(&state, stored_step)
}

async fn status(State(state): State<AppState>, form: Signed) -> Response {
    let (call, from, status) = (
        self::form(&form, "CallSid"),
        self::form(&form, "From"),
        self::form(&form, "CallStatus"),
    );
    if !call_ended(status) {
        return twiml(&state, "twiml/empty.xml", minijinja::context! {});
    }
    let step = CallStep::Ended {
        status: status.to_owned(),
    };
    let stored_step = record(&state, call, from, step).await;
    stored(&state, stored_step)
}

/// The concern, clinician and step a call page is about, from its URL.
fn page_query(query: &HashMap<String, String>) -> Option<(ConcernId, Id, String)> {
    Some((
        query.get("concern")?.parse().ok()?,
        Id::parse(query.get("staff")?).ok()?,
        query.get("step").cloned().unwrap_or_default(),
    ))
}

/// Record a call page's status as a delivery report on its outbox item.
async fn page_status(
    state: &AppState,
    call: &str,
    status: &str,
    error_code: Option<u32>,
) -> Option<bool> {
    let item = Inbound {
        key: format!("status:{call}:{status}"),
        kind: InboundKind::Status {
            message_id: call.to_owned(),
            status: status.to_owned(),
            error_code,
        },
        received_at: state.clock.now(),
    };
    match state.ops.record_inbound(item).await {
        Ok(new) => Some(new),
        Err(e) => {
            tracing::error!(error = %e, "call page status not stored");
            None
        }
    }
}

async fn call_page(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    form: Signed,
) -> Response {
    let hang_up = || twiml(&state, "twiml/hang_up.xml", minijinja::context! {});
    let Some((concern_id, staff, step)) = page_query(&query) else {
        return hang_up();
    };
    let answered_by = self::form(&form, "AnsweredBy");
    if answered_by.starts_with("machine") || answered_by == "fax" {
        // A voicemail greeting is not a person: the page fails over.
        page_status(&state, self::form(&form, "CallSid"), "machine", None).await;
        return hang_up();
    }
    let found = match state.ops.concern(concern_id).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "call page: concern not read");
            return twiml(
                &state,
                "twiml/page.xml",
                minijinja::context! { failed => true },
            );
        }
    };
    let Some((concern, _, enrolment)) = found else {
        return hang_up();
    };
    let service = service_name(&state, concern.service.as_ref());
    let taken_by = match &concern.escalation.status {
        crate::escalation::Status::Accepted { by, .. } => Some(by.name.clone()),
        _ => None,
    };
    twiml(
        &state,
        "twiml/page.xml",
        minijinja::context! {
            open => concern.escalation.is_open(),
            taken_by,
            service,
            who => crate::templates::who(&concern, enrolment.as_ref()),
            call => concern.opened_by_call(),
            text => concern.text,
            query => format!("concern={concern_id}&staff={staff}&step={step}"),
        },
    )
}

async fn call_page_key(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    form: Signed,
) -> Response {
    let Some((concern, staff, step)) = page_query(&query) else {
        return twiml(&state, "twiml/hang_up.xml", minijinja::context! {});
    };
    let action = match self::form(&form, "Digits") {
        "1" => crate::escalation::reply::LinkAction::Accept,
        "2" => crate::escalation::reply::LinkAction::Pass,
        // "*" or anything else: hear the page again.
        _ => {
            let again = format!("concern={concern}&staff={staff}&step={step}");
            return twiml(
                &state,
                "twiml/page_again.xml",
                minijinja::context! { query => again },
            );
        }
    };
    let item = Inbound {
        key: format!(
            "callpage:{}:{}",
            self::form(&form, "CallSid"),
            action.as_str()
        ),
        kind: InboundKind::Action {
            concern,
            staff,
            action: action.as_str().to_owned(),
        },
        received_at: state.clock.now(),
    };
    let stored = match state.ops.record_inbound(item).await {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(error = %e, "call page key not stored");
            false
        }
    };
    twiml(
        &state,
        "twiml/page_done.xml",
        minijinja::context! {
            stored,
            accepted => action == crate::escalation::reply::LinkAction::Accept,
            query => format!("concern={concern}&staff={}&step={step}", query.get("staff").map_or("", String::as_str)),
        },
    )
}

/// A clinician who accepted on a call page pressed 1 to call the sender
/// back: they are on the line already, so the sender is rung now, seeing
/// our number (the one this call came from), never the clinician's.
async fn call_back(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    form: Signed,
) -> Response {
    let Some((concern_id, staff, _)) = page_query(&query) else {
        return twiml(&state, "twiml/hang_up.xml", minijinja::context! {});
    };
    if self::form(&form, "Digits") != "1" {
        return twiml(&state, "twiml/hang_up.xml", minijinja::context! {});
    }
    ring_sender(&state, concern_id, staff, self::form(&form, "From")).await
}

/// A clinician who asked on the page's link to call the sender back
/// answered our call: the sender is rung now (a machine answering for the
/// clinician rings nobody).
async fn call_back_answered(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    form: Signed,
) -> Response {
    let answered_by = self::form(&form, "AnsweredBy");
    let Some((concern_id, staff, _)) = page_query(&query) else {
        return twiml(&state, "twiml/hang_up.xml", minijinja::context! {});
    };
    if answered_by.starts_with("machine") || answered_by == "fax" {
        return twiml(&state, "twiml/hang_up.xml", minijinja::context! {});
    }
    ring_sender(&state, concern_id, staff, self::form(&form, "From")).await
}

/// Ring the sender of `concern_id` for `staff`, who is on the line, from
/// `our_number`.
async fn ring_sender(
    state: &AppState,
    concern_id: ConcernId,
    staff: Id,
    our_number: &str,
) -> Response {
    let state = state.clone();
    let Ok(Some((concern, _, enrolment))) = state.ops.concern(concern_id).await else {
        return unavailable(&state);
    };
    // Theirs to call back: just accepted by them (intake may not have
    // taken the key in yet), not someone else's, not closed.
    let taken_by = match &concern.escalation.status {
        crate::escalation::Status::Accepted { by, .. } if by.id != staff => Some(by.name.clone()),
        _ => None,
    };
    let allowed = taken_by.is_none() && !concern.escalation.is_resolved();
    tracing::info!(concern = %concern_id, staff = %staff, allowed, "call back through Nightingale");
    twiml(
        &state,
        "twiml/call_back.xml",
        minijinja::context! {
            who => crate::templates::who(&concern, enrolment.as_ref()),
            number => concern.sender.phone().filter(|_| allowed).map(|p| p.as_str().to_owned()),
            our_number,
            taken_by,
        },
    )
}

async fn call_page_status(State(state): State<AppState>, form: Signed) -> Response {
    let (call, status) = (
        self::form(&form, "CallSid"),
        self::form(&form, "CallStatus"),
    );
    let error_code = form.get("ErrorCode").and_then(|c| c.parse().ok());
    let stored_step = page_status(&state, call, status, error_code).await;
    stored(&state, stored_step)
}

/// How many open pages a clinician who phones in hears, each with its key.
const PAGES_READ: usize = 9;

/// A clinician phoned the service number: their open pages, oldest first,
/// each with a key (1 to 9) that accepts it.
async fn clinician(state: &AppState, staff: &crate::directory::Staff) -> Response {
    let pages = match state.ops.open_pages(&staff.id).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "open pages not read for a clinician who phoned");
            return unavailable(state);
        }
    };
    #[derive(Serialize)]
    struct Heard {
        key: usize,
        who: String,
        service: String,
        call: Option<&'static str>,
        text: String,
    }
    let heard: Vec<Heard> = pages
        .iter()
        .take(PAGES_READ)
        .enumerate()
        .map(|(i, (_, c, e))| Heard {
            key: i + 1,
            who: crate::templates::who(c, e.as_ref()),
            service: service_name(state, c.service.as_ref()),
            call: c.opened_by_call(),
            text: crate::templates::quote(&c.text),
        })
        .collect();
    let mut query = format!("staff={}", staff.id);
    for (i, (page, _, _)) in pages.iter().take(PAGES_READ).enumerate() {
        query.push_str(&format!("&p{}={}", i + 1, page.concern));
    }
    twiml(
        state,
        "twiml/clinician.xml",
        minijinja::context! { name => staff.name.clone(), pages => heard, more => pages.len().saturating_sub(PAGES_READ), query },
    )
}

/// The key a clinician who phoned in pressed: accept that page.
async fn pages_key(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    form: Signed,
) -> Response {
    let digits = self::form(&form, "Digits");
    let (Some(staff), Some(concern)) = (
        query.get("staff").and_then(|s| Id::parse(s).ok()),
        query
            .get(&format!("p{digits}"))
            .and_then(|c| c.parse::<ConcernId>().ok()),
    ) else {
        // "*" or a key with no page: hear them again.
        let rota = state.rota.current();
        let Some(person) = query.get("staff").and_then(|s| rota.person(s)) else {
            return twiml(&state, "twiml/hang_up.xml", minijinja::context! {});
        };
        return clinician(&state, person).await;
    };
    let item = Inbound {
        key: format!("callpage:{}:{digits}", self::form(&form, "CallSid")),
        kind: InboundKind::Action {
            concern,
            staff: staff.clone(),
            action: crate::escalation::reply::LinkAction::Accept
                .as_str()
                .to_owned(),
        },
        received_at: state.clock.now(),
    };
    let stored = state.ops.record_inbound(item).await.is_ok();
    twiml(
        &state,
        "twiml/page_done.xml",
        minijinja::context! {
            stored,
            accepted => true,
            query => format!("concern={concern}&staff={staff}&step=0"),
        },
    )
}
