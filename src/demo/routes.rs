//! The demo page (`serve --demo` only): a phone for each demo patient and
//! carer and each person on call, the chain for each service, the latest
//! concerns' timelines, and the clock.
//!
//! - `GET /`: the page.
//! - `POST /demo/text`: a text typed on a phone. It goes through the same
//!   intake a signed Twilio webhook reaches: stored as an inbound SMS, the
//!   engine woken.
//! - `POST /demo/email`: an email written in a patient's or carer's
//!   inbox. It goes through the same intake the SMTP listener reaches:
//!   stored as an inbound email, keyed by its `Message-ID`, to our
//!   address. What Nightingale emails lands in the recipient's inbox
//!   ([`DemoMailbox`](super::DemoMailbox)).
//! - `POST /demo/call`: a phone calls Nightingale's number; `POST
//!   /demo/call/{id}`: answer, decline, a key, a message (typed), hang up.
//!   The demo's call provider plays Twilio's part: each goes to the real
//!   voice webhooks, signed, and the TwiML they answer shows in the phone
//!   ([`DemoCalls`](super::DemoCalls)). Each is answered once Nightingale has.
//! - `POST /demo/clock`: move the demo clock on (`next`, `10m`, `friday`).
//! - `POST /demo/enrol`: enrol a new demo patient.
//! - `POST /demo/reset`: start the demo afresh (see [`serve_on`](super::serve_on)).
//! - `GET /demo/events`: server-sent events, one `change` each time a text
//!   lands in or leaves a phone or the clock moves; the page's script then
//!   fetches the page again. Without JavaScript the forms work the same,
//!   each answered by a redirect back to the page.
//!
//! POSTs must come from the page itself: a browser's `Origin` must be the
//! host it asked (the demo may be reached as `localhost` or `127.0.0.1`).
//!
//! These routes are the demo's own: it hands them to the application
//! ([`Application::with_routes`](crate::app::Application::with_routes)),
//! which serves them behind the same layers as every other route, each
//! handler finding the demo in a request extension. The HTTP layer knows
//! nothing of them.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use futures_util::Stream;
use serde::Deserialize;

use super::{Demo, Direction, Skip};
use crate::calendar::{london_format, london_short};
use crate::directory::PhoneNumber;
use crate::http::AppState;
use crate::inbox::{Inbound, InboundKind};

/// How many of the latest concerns the page shows.
const CONCERNS_SHOWN: usize = 5;
/// The longest text a phone may send (Twilio's limit for one message).
const MAX_TEXT: usize = 1600;
/// The longest email an inbox may send.
const MAX_EMAIL: usize = 20_000;

/// The demo page and its forms, for `demo`.
pub fn router(demo: Arc<Demo>) -> Router<AppState> {
    let forms = Router::new()
        .route("/demo/text", post(text))
        .route("/demo/email", post(email))
        .route("/demo/call", post(call))
        .route("/demo/call/{id}", post(call_act))
        .route("/demo/clock", post(clock))
        .route("/demo/enrol", post(enrol))
        .route("/demo/reset", post(reset))
        .route_layer(axum::middleware::from_fn(only_from_the_page));
    Router::new()
        .route("/", get(page))
        .route("/demo/events", get(events))
        .merge(forms)
        .layer(Extension(demo))
}

/// Refuse a form posted from anywhere but the demo page.
async fn only_from_the_page(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if same_origin(request.headers()) {
        next.run(request).await
    } else {
        (
            StatusCode::FORBIDDEN,
            "Forms on the demo page only work from the page itself.",
        )
            .into_response()
    }
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    /// A code for what the last form did.
    #[serde(default)]
    done: String,
    /// Show only this service's phones.
    #[serde(default)]
    service: Option<String>,
}

/// What the last form did, by the code its redirect carried: one the
/// page has words for (`web/demo.html`), and whether it is an error.
fn notice(done: &str) -> Option<minijinja::Value> {
    let error = match done {
        "no-deadline" => false,
        "empty" | "long" | "unknown-phone" | "empty-email" | "long-email" | "unknown-inbox"
        | "name" | "full" | "busy" | "call-over" => true,
        _ => return None,
    };
    Some(minijinja::context! { code => done, error })
}

fn back(done: &str) -> Response {
    if done.is_empty() {
        Redirect::to("/").into_response()
    } else {
        Redirect::to(&format!("/?done={done}")).into_response()
    }
}

/// A text's words, with any link in it made a link.
fn parts(body: &str) -> Vec<minijinja::Value> {
    let mut parts = Vec::new();
    let mut words = String::new();
    for token in body.split(' ') {
        if token.starts_with("http://") || token.starts_with("https://") {
            if !words.is_empty() {
                parts.push(minijinja::context! { text => std::mem::take(&mut words) + " " });
            }
            let (url, rest) = match token.strip_suffix(['.', ',', ')']) {
                Some(url) => (url, &token[url.len()..]),
                None => (token, ""),
            };
            parts.push(minijinja::context! { text => url, link => url });
            words.push_str(rest);
        } else {
            if !words.is_empty() || !parts.is_empty() {
                words.push(' ');
            }
            words.push_str(token);
        }
    }
    if !words.is_empty() {
        parts.push(minijinja::context! { text => words });
    }
    parts
}

/// A call as its phone shows it.
fn call_view(call: &super::Call) -> minijinja::Value {
    use super::{CallState, Heard};
    let heard: Vec<_> = call
        .heard
        .iter()
        .map(|h| {
            let (kind, text) = match h {
                Heard::Said(t) => ("said", t),
                Heard::Pressed(t) => ("pressed", t),
                Heard::Typed(t) => ("typed", t),
                Heard::Line(t) => ("line", t),
            };
            minijinja::context! { kind, text }
        })
        .collect();
    let state = match call.state {
        CallState::Ringing => "ringing",
        CallState::Waiting => "waiting",
        CallState::Keypad { .. } => "keypad",
        CallState::Recording { .. } => "recording",
        CallState::Dialling { .. } => "dialling",
        CallState::Connected { .. } => "connected",
        CallState::Ended => "ended",
    };
    minijinja::context! {
        id => call.id.clone(),
        incoming => call.incoming(),
        heard,
        state,
    }
}

/// A form the page refused, shown again as the NHS.UK error pattern has
/// it: an error summary at the top, the message beside the box, and what
/// was typed still in it.
#[derive(Debug)]
struct Refused {
    /// The id of the box it is about (`text-447700900811`, `email-…`).
    field: String,
    /// What was typed in it.
    typed: String,
    /// What was typed in the subject, for an email.
    subject: String,
    /// Why (a notice code `web/demo.html` has words for).
    code: &'static str,
}

async fn page(
    State(state): State<AppState>,
    Extension(demo): Extension<Arc<Demo>>,
    Query(q): Query<PageQuery>,
) -> Response {
    render(&state, &demo, &q, None).await
}

/// The page answering a refused form: what was typed is kept.
async fn refuse(state: &AppState, demo: &Demo, refused: Refused) -> Response {
    let mut response = render(state, demo, &PageQuery::default(), Some(refused)).await;
    if response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

async fn render(
    state: &AppState,
    demo: &Demo,
    q: &PageQuery,
    refused: Option<Refused>,
) -> Response {
    // Read first: a change while the page is put together makes the page's
    // script fetch it again.
    let version = *demo.phones.changes().borrow();
    let now = state.clock.now();
    let rota = &state.rota.current();
    let only = q.service.as_deref().filter(|id| rota.service(id).is_some());
    let shown = demo.phones(rota, now, only);
    let numbers = shown
        .iter()
        .map(|p| p.number.clone())
        .collect::<Vec<_>>()
        .join(" ");
    let phones: Vec<_> = shown
        .into_iter()
        .map(|p| {
            let texts: Vec<_> = demo
                .phones
                .texts_of(&p.number)
                .iter()
                .map(|t| {
                    minijinja::context! {
                        sent => t.direction == Direction::Sent,
                        at => london_format(t.at, "%a %H:%M"),
                        parts => parts(&t.body),
                    }
                })
                .collect();
            let id = p.number.trim_start_matches('+').to_owned();
            let call = demo.calls.call_on(&p.number).map(|c| call_view(&c));
            let refused = refused.as_ref().filter(|r| r.field == format!("text-{id}"));
            minijinja::context! {
                id, number => p.number, name => p.name, about => p.about, texts, call,
                error => refused.map(|r| r.code),
                typed => refused.map(|r| r.typed.clone()),
            }
        })
        .collect();
    let inboxes: Vec<_> = demo
        .inboxes(rota, only)
        .into_iter()
        .map(|i| {
            let emails: Vec<_> = demo
                .mailbox
                .emails_of(&i.address)
                .iter()
                .map(|e| {
                    minijinja::context! {
                        sent => e.direction == Direction::Sent,
                        at => london_format(e.at, "%a %H:%M"),
                        other => e.other.clone(),
                        reply_to => e.reply_to.clone(),
                        subject => e.subject.clone(),
                        lines => e.text.lines().map(parts).collect::<Vec<_>>(),
                    }
                })
                .collect();
            let id = inbox_id(&i.address);
            let refused = refused.as_ref().filter(|r| r.field == format!("email-{id}"));
            minijinja::context! {
                id, address => i.address, name => i.name, about => i.about, writes => i.writes, emails,
                error => refused.map(|r| r.code),
                typed => refused.map(|r| r.typed.clone()),
                subject => refused.map(|r| r.subject.clone()),
            }
        })
        .collect();
    let chains: Vec<_> = (0..rota.services().len() as u32)
        .filter(|ix| only.is_none_or(|id| rota.services()[*ix as usize].id.as_str() == id))
        .map(|ix| {
            let chain = rota.resolve(ix, now);
            let level = |label: String, l: &crate::rota::ResolvedLevel<'_>| {
                let people: Vec<String> = l
                    .on_call
                    .iter()
                    .map(|o| format!("{} ({})", o.person.name, o.person.role))
                    .collect();
                minijinja::context! {
                    label,
                    within => humantime::format_duration(l.level.ack_within).to_string(),
                    people,
                }
            };
            let mut levels: Vec<_> = chain
                .levels
                .iter()
                .map(|l| level(format!("Level {}", l.number), l))
                .collect();
            levels.push(level("Fallback".to_owned(), &chain.fallback));
            minijinja::context! {
                service => chain.service.name.clone(),
                period => chain.period.to_string(),
                until => chain.valid_until.map(london_short),
                levels,
            }
        })
        .collect();
    let concerns = match demo.recent_concerns(&state.ops, CONCERNS_SHOWN).await {
        Ok(found) => found
            .iter()
            .map(|(c, timeline, enrolment)| {
                let service = c
                    .service
                    .as_ref()
                    .and_then(|s| rota.service(s.as_str()))
                    .map(|ix| rota.services()[ix as usize].name.clone())
                    .unwrap_or_else(|| state.templates.fallbacks().service.clone());
                let entries = timeline
                    .iter()
                    .map(|e| {
                        let text = state.templates.timeline_line(&e.event)?;
                        Ok(minijinja::context! { at => london_format(e.at, "%a %H:%M:%S"), text })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                Ok(minijinja::context! {
                    who => crate::templates::who(c, enrolment.as_ref()),
                    service,
                    status => crate::concern::ConcernStatus::of(c).as_str(),
                    entries,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .unwrap_or_else(|e| {
                tracing::error!(error = ?e, "demo page: a timeline could not be worded");
                Vec::new()
            }),
        Err(e) => {
            tracing::error!(error = %e, "demo page: concerns could not be read");
            Vec::new()
        }
    };
    let next_due = match state.ops.next_deadline().await {
        Ok(Some(t)) if t > now => Some(london_format(t, "%a %H:%M:%S")),
        _ => None,
    };
    let services: Vec<_> = rota
        .services()
        .iter()
        .map(|s| minijinja::context! { id => s.id.as_str(), name => s.name.clone(), shown => only == Some(s.id.as_str()) })
        .collect();
    let html = state.templates.render(
        "web/demo.html",
        minijinja::context! {
            trust => rota.trust_name.clone(),
            now => london_format(now, "%A %-d %B %Y, %H:%M"),
            next_due,
            notice => notice(&q.done),
            refused => refused.as_ref().map(|r| minijinja::context! { field => r.field.clone(), code => r.code }),
            phones,
            inboxes,
            our_address => super::our_address(),
            numbers,
            chains,
            concerns,
            services,
            version,
            our_number => super::OUR_NUMBER,
            keys => ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"],
        },
    );
    match html {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "demo page template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the demo page could not be shown",
            )
                .into_response()
        }
    }
}

/// Whether a POST came from a page this server sent: a browser's `Origin`
/// names the host it asked. Under `Referrer-Policy: no-referrer` a
/// browser sends `Origin: null` with a form; then its `Sec-Fetch-Site`
/// (which no page can set) must say the same origin. Something that is
/// not a browser sends neither.
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        Some(origin) if origin != "null" => {
            let asked = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            asked.is_some() && asked == host
        }
        _ => crate::http::pages::fetched_from_same_site(headers),
    }
}

#[derive(Debug, Deserialize)]
struct TextForm {
    from: String,
    body: String,
}

async fn text(
    State(state): State<AppState>,
    Extension(demo): Extension<Arc<Demo>>,
    Form(form): Form<TextForm>,
) -> Response {
    let now = state.clock.now();
    let body = form.body.trim();
    let Ok(from) = PhoneNumber::parse(&form.from) else {
        return back("unknown-phone");
    };
    if !demo.is_on_page(&state.rota.current(), now, from.as_str()) {
        return back("unknown-phone");
    }
    let refused = |code| Refused {
        field: format!("text-{}", from.as_str().trim_start_matches('+')),
        typed: form.body.clone(),
        subject: String::new(),
        code,
    };
    if body.is_empty() {
        return refuse(&state, &demo, refused("empty")).await;
    }
    if body.chars().count() > MAX_TEXT {
        return refuse(&state, &demo, refused("long")).await;
    }
    demo.phones.typed(from.as_str(), body);
    // What Twilio's webhook stores for a text, keyed as its MessageSid would be.
    let item = Inbound {
        key: format!("sms:SMDEMO{}", uuid::Uuid::new_v4().simple()),
        kind: InboundKind::Sms {
            from: from.as_str().to_owned(),
            to: super::OUR_NUMBER.to_owned(),
            body: body.to_owned(),
            media: 0,
        },
        received_at: now,
    };
    match state.ops.record_inbound(item).await {
        Ok(_) => to_phone(from.as_str()),
        Err(e) => {
            tracing::error!(error = %e, "demo text not stored");
            back("busy")
        }
    }
}

#[derive(Debug, Deserialize)]
struct EmailForm {
    from: String,
    #[serde(default)]
    subject: String,
    body: String,
}

/// An email written in a patient's or carer's inbox on the page.
async fn email(
    State(state): State<AppState>,
    Extension(demo): Extension<Arc<Demo>>,
    Form(form): Form<EmailForm>,
) -> Response {
    let body = form.body.trim();
    let subject = form.subject.trim();
    let from = form.from.trim().to_lowercase();
    if !demo.writes_from(&state.rota.current(), &from) {
        return back("unknown-inbox");
    }
    let refused = |code| Refused {
        field: format!("email-{}", inbox_id(&from)),
        typed: form.body.clone(),
        subject: form.subject.clone(),
        code,
    };
    if body.is_empty() {
        return refuse(&state, &demo, refused("empty-email")).await;
    }
    if body.chars().count() > MAX_EMAIL || subject.chars().count() > MAX_TEXT {
        return refuse(&state, &demo, refused("long-email")).await;
    }
    let to = super::our_address();
    demo.mailbox.written(&from, &to, subject, body);
    // What the SMTP listener stores for an email, keyed by its Message-ID.
    let item = Inbound {
        key: format!(
            "email:{}@{}",
            uuid::Uuid::new_v4().simple(),
            super::OUR_DOMAIN
        ),
        kind: InboundKind::Email {
            from: from.clone(),
            to: vec![to],
            subject: subject.to_owned(),
            text: body.to_owned(),
            attachments: Vec::new(),
            delivery: None,
            // The demo's inboxes send as their own mail server would:
            // from their own domain.
            envelope_from: Some(from.clone()),
            peer: None,
            authentication_results: None,
        },
        received_at: state.clock.now(),
    };
    match state.ops.record_inbound(item).await {
        Ok(_) => Redirect::to(&format!("/#inbox-{}", inbox_id(&from))).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "demo email not stored");
            back("busy")
        }
    }
}

/// The page's id of the inbox of `address`: its letters and digits.
fn inbox_id(address: &str) -> String {
    address
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[derive(Debug, Deserialize)]
struct CallForm {
    from: String,
}

/// A phone on the page calls Nightingale's number.
async fn call(
    State(state): State<AppState>,
    Extension(demo): Extension<Arc<Demo>>,
    Form(form): Form<CallForm>,
) -> Response {
    let Ok(from) = PhoneNumber::parse(&form.from) else {
        return back("unknown-phone");
    };
    if !demo.is_on_page(&state.rota.current(), state.clock.now(), from.as_str()) {
        return back("unknown-phone");
    }
    match demo.calls.call_us(from.as_str()).await {
        Ok(_) => to_phone(from.as_str()),
        Err(_) => back("call-over"),
    }
}

#[derive(Debug, Deserialize)]
struct CallActForm {
    /// `answer`, `decline`, `message` or `hang-up`.
    #[serde(default)]
    act: String,
    /// A key pressed on the keypad.
    #[serde(default)]
    key: Option<String>,
    /// The message, typed.
    #[serde(default)]
    words: String,
}

/// A viewer answers, declines, presses a key, leaves a message or hangs up.
async fn call_act(
    Extension(demo): Extension<Arc<Demo>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<CallActForm>,
) -> Response {
    use super::Act;
    let act = match (form.key, form.act.as_str()) {
        (Some(key), _)
            if key.len() == 1
                && key
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '*' || c == '#') =>
        {
            Act::Key(key)
        }
        (_, "answer") => Act::Answer,
        (_, "decline") => Act::Decline,
        (_, "hang-up") => Act::HangUp,
        (_, "message") if form.words.chars().count() <= MAX_TEXT => Act::Message(form.words),
        (_, "message") => return back("long"),
        _ => return (StatusCode::BAD_REQUEST, "Choose what to do on the call.").into_response(),
    };
    let phone = demo.calls.call_on_id(&id);
    match (demo.calls.act(&id, act).await, phone) {
        (Ok(()), Some(phone)) => to_phone(&phone),
        _ => back("call-over"),
    }
}

/// Back to the page, at this phone.
fn to_phone(number: &str) -> Response {
    Redirect::to(&format!("/#phone-{}", number.trim_start_matches('+'))).into_response()
}

#[derive(Debug, Deserialize)]
struct ClockForm {
    skip: String,
}

async fn clock(
    State(state): State<AppState>,
    Extension(demo): Extension<Arc<Demo>>,
    Form(form): Form<ClockForm>,
) -> Response {
    let Some(skip) = Skip::parse(&form.skip) else {
        return (StatusCode::BAD_REQUEST, "Choose how far to move the clock.").into_response();
    };
    match demo.skip(&state.ops, skip).await {
        Ok(true) => back(""),
        Ok(false) => back("no-deadline"),
        Err(e) => {
            tracing::error!(error = %e, "demo clock not moved");
            back("busy")
        }
    }
}

#[derive(Debug, Deserialize)]
struct EnrolForm {
    name: String,
    service: String,
}

async fn enrol(
    State(state): State<AppState>,
    Extension(demo): Extension<Arc<Demo>>,
    Form(form): Form<EnrolForm>,
) -> Response {
    let name = form.name.trim();
    if name.is_empty() || state.rota.current().service(&form.service).is_none() {
        return back("name");
    }
    match demo.enrol_new(&state.ops, name, &form.service).await {
        Ok(Some(_)) => back(""),
        Ok(None) => back("full"),
        Err(crate::operations::EnrolError::Invalid(_)) => back("name"),
        Err(e) => {
            tracing::error!(error = %e, "demo enrolment failed");
            back("busy")
        }
    }
}

async fn reset(Extension(demo): Extension<Arc<Demo>>) -> Response {
    demo.reset().await;
    back("")
}

async fn events(
    Extension(demo): Extension<Arc<Demo>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut changes = demo.phones.changes();
    // The first event says where things stand now, so a change between
    // the page being sent and this stream opening is not missed.
    changes.mark_changed();
    let stopping = Box::pin(demo.stopping());
    let stream = futures_util::stream::unfold(
        (changes, stopping),
        |(mut changes, mut stopping)| async move {
            tokio::select! {
                () = &mut stopping => None,
                changed = changes.changed() => {
                    changed.ok()?;
                    let n = *changes.borrow_and_update();
                    Some((Ok(Event::default().event("change").data(n.to_string())), (changes, stopping)))
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_in_a_text_becomes_a_link_and_the_words_around_it_stay() {
        let parts = parts("Leo: wheezy. Open http://127.0.0.1:8080/c/ab?s=x&e=1&sig=y. Reply A1");
        let text: Vec<String> = parts
            .iter()
            .map(|p| p.get_attr("text").unwrap().to_string())
            .collect();
        assert_eq!(
            text,
            [
                "Leo: wheezy. Open ",
                "http://127.0.0.1:8080/c/ab?s=x&e=1&sig=y",
                ". Reply A1"
            ]
        );
        assert!(parts[1].get_attr("link").unwrap().is_true());
        assert!(parts[0].get_attr("link").unwrap().is_undefined());
    }

    #[test]
    fn a_post_from_another_site_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h), "no Origin: not a browser");
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, "null".parse().unwrap());
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(same_origin(&h), "a form under no-referrer");
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!same_origin(&h));
        h.remove(header::ORIGIN);
        assert!(!same_origin(&h));
    }
}
