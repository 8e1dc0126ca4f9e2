//! A fake Twilio that speaks Twilio's REST API (`Messages.json`, basic auth,
//! Twilio's JSON errors), records what it was asked to send, fails on
//! demand, and sends webhooks signed as Twilio signs them.
//!
//! On demand it models Twilio's queue per sending number
//! ([`FakeTwilio::model_queues`]): texts go from each `From` number first
//! in first out at a rate in segments a second, and one that would wait
//! longer than its `ValidityPeriod` is dropped; each text then says when it
//! would reach the handset.
//!
//! Its signer is written here independently of Nightingale's verifier, so a
//! passing test means the two agree with Twilio's documented algorithm, not
//! merely with each other.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha1::Sha1;

/// One message the fake was asked to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub body: String,
    pub status_callback: Option<String>,
    /// When the request arrived, for latency measurements.
    pub received_at: std::time::Instant,
    /// How many segments Twilio sends it in.
    pub segments: usize,
    /// Its `ValidityPeriod` in seconds, if it had one.
    pub validity_period: Option<u64>,
    /// With the queue modelled: when it was queued, on the model's clock.
    pub queued_at: Option<nightingale::clock::Instant>,
    /// With the queue modelled: when it would reach the handset (its last
    /// segment sent); `None` when dropped for waiting past its validity.
    pub reaches_handset_at: Option<nightingale::clock::Instant>,
}

/// The clock the queue model reads (a test's manual clock, or the wall clock).
pub type ModelClock = Arc<dyn Fn() -> nightingale::clock::Instant + Send + Sync>;

/// Twilio's queues, one per sending number: first in first out, at `rate`
/// segments a second.
struct Queues {
    rate: u32,
    now: ModelClock,
    /// When each sending number has sent everything queued so far.
    free_at: HashMap<String, nightingale::clock::Instant>,
}

impl Queues {
    /// Queue `segments` from `from` with `validity` seconds to live: when
    /// it was queued and when it would reach the handset (`None`: dropped).
    fn queue(
        &mut self,
        from: &str,
        segments: usize,
        validity: Option<u64>,
    ) -> (
        nightingale::clock::Instant,
        Option<nightingale::clock::Instant>,
    ) {
        let now = (self.now)();
        let starts = self.free_at.get(from).copied().unwrap_or(now).max(now);
        if validity.is_some_and(|v| (starts - now).num_milliseconds() > v as i64 * 1000) {
            return (now, None);
        }
        let takes = chrono::TimeDelta::milliseconds(segments as i64 * 1000 / i64::from(self.rate));
        let done = starts + takes;
        self.free_at.insert(from.to_owned(), done);
        (now, Some(done))
    }
}

/// One call the fake was asked to place (`Calls.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCall {
    pub sid: String,
    pub to: String,
    pub from: String,
    /// Where Twilio fetches the call's TwiML once it is answered, if given.
    pub url: Option<String>,
    /// The call's TwiML, if given inline.
    pub twiml: Option<String>,
    pub status_callback: Option<String>,
    /// The `StatusCallbackEvent` values asked for (the key repeated).
    pub status_events: Vec<String>,
    /// `Enable` or `DetectMessageEnd`, if asked for.
    pub machine_detection: Option<String>,
    /// Seconds to ring.
    pub timeout: Option<u32>,
    /// When the request arrived, for latency measurements.
    pub received_at: std::time::Instant,
}

#[derive(Default)]
struct Shared {
    sent: Mutex<Vec<SentSms>>,
    calls: Mutex<Vec<PlacedCall>>,
    /// Recordings the fake holds (sid), as a call's `<Record>` left them.
    recordings: Mutex<Vec<String>>,
    /// Recordings deleted through the API, in order.
    deleted: Mutex<Vec<String>>,
    /// Deletes of these recordings fail with this HTTP status.
    failing_deletes: Mutex<HashMap<String, u16>>,
    changed: tokio::sync::Notify,
    failures: Mutex<VecDeque<(u16, u32)>>,
    /// Accept the next messages (record them) but then answer with this status, or never (`None`).
    accept_then: Mutex<VecDeque<Option<u16>>>,
    rejected: Mutex<HashMap<String, u32>>,
    requests: AtomicUsize,
    /// An outage: every request is answered `503` and nothing is sent.
    down: std::sync::atomic::AtomicBool,
    /// Every request is taken (a message is recorded as sent) and then not
    /// answered until this is switched off.
    hanging: std::sync::atomic::AtomicBool,
    /// Wakes the requests held while `hanging`.
    released: tokio::sync::Notify,
    /// Every request is taken (a message is recorded as sent) and answered
    /// only this long after it arrived: a slow provider.
    answer_after: Mutex<Option<Duration>>,
    next_sid: AtomicU64,
    account_sid: String,
    auth_token: String,
    /// Twilio's queues, when modelled.
    queues: Mutex<Option<Queues>>,
}

/// The fake, running on a random local port.
#[derive(Clone)]
pub struct FakeTwilio {
    base_url: String,
    shared: Arc<Shared>,
    http: reqwest::Client,
}

/// Twilio's signature, computed independently of Nightingale's code.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut data = url.to_owned();
    for (k, v) in &sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl FakeTwilio {
    /// Start a fake for this account.
    pub async fn start(account_sid: &str, auth_token: &str) -> Self {
        let shared = Arc::new(Shared {
            account_sid: account_sid.into(),
            auth_token: auth_token.into(),
            ..Shared::default()
        });
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{sid}/Messages.json",
                post(create_message).get(list_messages),
            )
            .route("/2010-04-01/Accounts/{sid}/Calls.json", post(create_call))
            .route(
                "/2010-04-01/Accounts/{sid}/Recordings/{recording}",
                axum::routing::get(fetch_recording).delete(delete_recording),
            )
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base_url,
            shared,
            http: reqwest::Client::new(),
        }
    }

    /// From now on, model Twilio's queue per sending number: first in
    /// first out at `segments_per_second`, on the clock `now` reads.
    pub fn model_queues(&self, segments_per_second: u32, now: ModelClock) {
        *self.shared.queues.lock().unwrap() = Some(Queues {
            rate: segments_per_second.max(1),
            now,
            free_at: HashMap::new(),
        });
    }

    /// Where Nightingale's client should send (`NIGHTINGALE_TWILIO_API_BASE`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Everything sent so far.
    pub fn messages(&self) -> Vec<SentSms> {
        self.shared.sent.lock().unwrap().clone()
    }

    /// Everything sent to one number.
    pub fn messages_to(&self, to: &str) -> Vec<SentSms> {
        self.messages().into_iter().filter(|m| m.to == to).collect()
    }

    /// Every call placed so far.
    pub fn calls(&self) -> Vec<PlacedCall> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// Calls placed to one number.
    pub fn calls_to(&self, to: &str) -> Vec<PlacedCall> {
        self.calls().into_iter().filter(|c| c.to == to).collect()
    }

    /// A recording now held at the fake, as a caller's message leaves one:
    /// its `RecordingUrl`.
    pub fn hold_recording(&self, recording_sid: &str) -> String {
        self.shared
            .recordings
            .lock()
            .unwrap()
            .push(recording_sid.to_owned());
        format!(
            "{}/2010-04-01/Accounts/{}/Recordings/{recording_sid}",
            self.base_url, self.shared.account_sid
        )
    }

    /// Recordings the fake still holds.
    pub fn recordings(&self) -> Vec<String> {
        self.shared.recordings.lock().unwrap().clone()
    }

    /// Recordings deleted through the API, in order (retries included).
    pub fn deleted_recordings(&self) -> Vec<String> {
        self.shared.deleted.lock().unwrap().clone()
    }

    /// Deleting this recording fails with `status` until [`Self::allow_delete`].
    pub fn fail_deletes_of(&self, recording_sid: &str, status: u16) {
        self.shared
            .failing_deletes
            .lock()
            .unwrap()
            .insert(recording_sid.into(), status);
    }

    /// Deleting this recording works again.
    pub fn allow_delete(&self, recording_sid: &str) {
        self.shared
            .failing_deletes
            .lock()
            .unwrap()
            .remove(recording_sid);
    }

    /// The auth token webhooks are signed with.
    pub fn auth_token(&self) -> &str {
        &self.shared.auth_token
    }

    /// The account.
    pub fn account_sid(&self) -> &str {
        &self.shared.account_sid
    }

    /// How many API requests arrived (including failed ones).
    #[allow(dead_code)]
    pub fn request_count(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Wait until at least `count` messages were sent; panics with what was sent on timeout.
    pub async fn wait_for_messages(&self, count: usize, timeout: Duration) -> Vec<SentSms> {
        self.wait_until(&format!("{count} messages"), timeout, |sent| {
            sent.len() >= count
        })
        .await
    }

    /// Wait until at least `count` messages were sent to `to`; panics with
    /// what was sent on timeout.
    pub async fn wait_for_messages_to(
        &self,
        to: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<SentSms> {
        self.wait_until(&format!("{count} messages to {to}"), timeout, |sent| {
            sent.iter().filter(|m| m.to == to).count() >= count
        })
        .await;
        self.messages_to(to)
    }

    /// Wait until what was sent satisfies `done`; panics, saying what was
    /// `expected` and what was sent, after `timeout` (real time).
    pub async fn wait_until(
        &self,
        expected: &str,
        timeout: Duration,
        done: impl Fn(&[SentSms]) -> bool,
    ) -> Vec<SentSms> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            let sent = self.messages();
            if done(&sent) {
                return sent;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {expected}, got {}: {sent:#?}", sent.len());
            }
        }
    }

    /// The next `n` requests fail with this HTTP status and Twilio error code, and are not sent.
    pub fn fail_next(&self, n: usize, status: u16, code: u32) {
        let mut f = self.shared.failures.lock().unwrap();
        for _ in 0..n {
            f.push_back((status, code));
        }
    }

    /// The next `n` messages are accepted (and recorded as sent) but the answer
    /// is lost: the fake never replies, as when a connection drops or the
    /// sender stops mid-request.
    pub fn accept_then_hang_next(&self, n: usize) {
        let mut a = self.shared.accept_then.lock().unwrap();
        for _ in 0..n {
            a.push_back(None);
        }
    }

    /// The next `n` messages are accepted (and recorded as sent) but answered
    /// with this 5xx status, as Twilio warns can happen.
    pub fn accept_then_fail_next(&self, n: usize, status: u16) {
        let mut a = self.shared.accept_then.lock().unwrap();
        for _ in 0..n {
            a.push_back(Some(status));
        }
    }

    /// Start or end an outage: while down, every request (sending and
    /// listing) is answered `503` and nothing is sent.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Start or end a hang: while hanging, every message request is taken
    /// (recorded as sent) and not answered; ending it answers them all, as
    /// a provider that was slow but kept every message.
    pub fn set_hanging(&self, hanging: bool) {
        self.shared.hanging.store(hanging, Ordering::SeqCst);
        if !hanging {
            self.shared.released.notify_waiters();
        }
    }

    /// Answer every message request only `delay` after it arrived (it is
    /// recorded as sent on arrival), or at once again with `None`. For the
    /// load benchmark's slow provider.
    #[allow(dead_code)]
    pub fn set_answer_after(&self, delay: Option<Duration>) {
        *self.shared.answer_after.lock().unwrap() = delay;
    }

    /// Every send to `to` fails with `400` and this code (e.g. 21211 invalid number, 21610 opted out).
    pub fn reject_number(&self, to: &str, code: u32) {
        self.shared.rejected.lock().unwrap().insert(to.into(), code);
    }

    /// Post form `params` to `post_to`, signed as Twilio signs a request to `signed_url`.
    pub async fn post_signed(
        &self,
        post_to: &str,
        signed_url: &str,
        params: &[(String, String)],
    ) -> reqwest::Response {
        let signature = twilio_signature(&self.shared.auth_token, signed_url, params);
        self.post_with_signature(post_to, params, Some(&signature))
            .await
    }

    /// Post with the given signature header (or none).
    pub async fn post_with_signature(
        &self,
        post_to: &str,
        params: &[(String, String)],
        signature: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.http.post(post_to).form(params);
        if let Some(s) = signature {
            request = request.header("X-Twilio-Signature", s);
        }
        request.send().await.unwrap()
    }

    /// A fresh message SID.
    pub fn new_sid(&self) -> String {
        format!(
            "SM{:032x}",
            0xabc0_0000_0000 + self.shared.next_sid.fetch_add(1, Ordering::SeqCst)
        )
    }

    /// The form fields of an inbound SMS webhook.
    pub fn inbound_sms_params(
        &self,
        sid: &str,
        from: &str,
        to: &str,
        body: &str,
    ) -> Vec<(String, String)> {
        pairs(&[
            ("MessageSid", sid),
            ("SmsSid", sid),
            ("SmsMessageSid", sid),
            ("AccountSid", &self.shared.account_sid),
            ("From", from),
            ("To", to),
            ("Body", body),
            ("NumMedia", "0"),
            ("NumSegments", "1"),
            ("FromCountry", "GB"),
            ("ToCountry", "GB"),
            ("ApiVersion", "2010-04-01"),
        ])
    }

    /// The form fields of a status callback.
    pub fn status_params(
        &self,
        message: &SentSms,
        status: &str,
        error_code: Option<u32>,
    ) -> Vec<(String, String)> {
        let code = error_code.map(|c| c.to_string());
        let mut p = pairs(&[
            ("MessageSid", &message.sid),
            ("SmsSid", &message.sid),
            ("MessageStatus", status),
            ("SmsStatus", status),
            ("AccountSid", &self.shared.account_sid),
            ("To", &message.to),
            ("From", &message.from),
            ("ApiVersion", "2010-04-01"),
        ]);
        if let Some(code) = &code {
            p.push(("ErrorCode".into(), code.clone()));
        }
        p
    }
}

fn twilio_error(status: u16, code: u32, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    let body = Json(
        json!({ "code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16() }),
    );
    if status == StatusCode::TOO_MANY_REQUESTS {
        (status, [("Retry-After", "2")], body).into_response()
    } else {
        (status, body).into_response()
    }
}

async fn create_message(
    State(shared): State<Arc<Shared>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(refused) = gate(&shared, &sid, &headers) {
        return refused;
    }
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (Some(to), Some(from), Some(body)) = (get("To"), get("From"), get("Body")) else {
        return twilio_error(
            400,
            21604,
            "A 'To' phone number, 'From' and 'Body' are required.",
        );
    };
    if let Some(refused) = refused(&shared, &to) {
        return refused;
    }
    let message_sid = format!("SM{:032x}", shared.next_sid.fetch_add(1, Ordering::SeqCst));
    let segments = nightingale::templates::sms_segments(&body).0;
    let validity_period = get("ValidityPeriod").and_then(|v| v.parse().ok());
    let (queued_at, reaches_handset_at) = match shared.queues.lock().unwrap().as_mut() {
        Some(queues) => {
            let (queued, reaches) = queues.queue(&from, segments, validity_period);
            (Some(queued), reaches)
        }
        None => (None, None),
    };
    let sent = SentSms {
        sid: message_sid.clone(),
        to: to.clone(),
        from: from.clone(),
        body: body.clone(),
        status_callback: get("StatusCallback"),
        received_at: std::time::Instant::now(),
        segments,
        validity_period,
        queued_at,
        reaches_handset_at,
    };
    shared.sent.lock().unwrap().push(sent);
    shared.changed.notify_waiters();
    loop {
        let released = shared.released.notified();
        if !shared.hanging.load(Ordering::SeqCst) {
            break;
        }
        released.await;
    }
    let delay = *shared.answer_after.lock().unwrap();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let then = shared.accept_then.lock().unwrap().pop_front();
    match then {
        Some(None) => std::future::pending::<()>().await,
        Some(Some(status)) => {
            return twilio_error(status, 20500, "Internal error after the message was queued");
        }
        None => {}
    }
    (
        StatusCode::CREATED,
        Json(json!({
            "sid": message_sid, "account_sid": shared.account_sid, "to": to, "from": from, "body": body,
            "status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
            "date_created": "Fri, 27 Nov 2026 19:05:00 +0000", "error_code": null, "error_message": null,
        })),
    )
        .into_response()
}

/// A failure injected for the next request, or the refusal of a number
/// rejected for good.
fn refused(shared: &Shared, to: &str) -> Option<Response> {
    if let Some((status, code)) = shared.failures.lock().unwrap().pop_front() {
        return Some(twilio_error(status, code, "Injected failure"));
    }
    let code = shared.rejected.lock().unwrap().get(to).copied()?;
    // Twilio's real messages quote the number, as this does.
    Some(twilio_error(
        400,
        code,
        &format!("The 'To' number {to} is not a valid phone number."),
    ))
}

/// Count a request and refuse it during an outage or without the account's auth.
fn gate(shared: &Shared, sid: &str, headers: &HeaderMap) -> Option<Response> {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    if shared.down.load(Ordering::SeqCst) {
        return Some(twilio_error(503, 20500, "Service unavailable"));
    }
    (!authorised(shared, sid, headers)).then(|| twilio_error(401, 20003, "Authenticate"))
}

/// Whether a request carries the account's basic auth.
fn authorised(shared: &Shared, sid: &str, headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", shared.account_sid, shared.auth_token))
    );
    sid == shared.account_sid
        && headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

async fn create_call(
    State(shared): State<Arc<Shared>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if let Some(refused) = gate(&shared, &sid, &headers) {
        return refused;
    }
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (Some(to), Some(from)) = (get("To"), get("From")) else {
        return twilio_error(400, 21201, "A 'To' and a 'From' phone number are required.");
    };
    if get("Url").is_none() && get("Twiml").is_none() {
        return twilio_error(400, 21205, "A 'Url' or 'Twiml' parameter is required.");
    }
    if let Some(refused) = refused(&shared, &to) {
        return refused;
    }
    let call_sid = format!("CA{:032x}", shared.next_sid.fetch_add(1, Ordering::SeqCst));
    let call = PlacedCall {
        sid: call_sid.clone(),
        to: to.clone(),
        from: from.clone(),
        url: get("Url"),
        twiml: get("Twiml"),
        status_callback: get("StatusCallback"),
        status_events: form
            .iter()
            .filter(|(k, _)| k == "StatusCallbackEvent")
            .map(|(_, v)| v.clone())
            .collect(),
        machine_detection: get("MachineDetection"),
        timeout: get("Timeout").and_then(|t| t.parse().ok()),
        received_at: std::time::Instant::now(),
    };
    shared.calls.lock().unwrap().push(call);
    shared.changed.notify_waiters();
    (
        StatusCode::CREATED,
        Json(json!({
            "sid": call_sid, "account_sid": shared.account_sid, "to": to, "from": from,
            "status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
        })),
    )
        .into_response()
}

/// `GET …/Recordings/{sid}` (the media, with basic auth as "HTTP basic
/// authentication for media" asks) or `GET …/Recordings/{sid}.json`.
async fn fetch_recording(
    State(shared): State<Arc<Shared>>,
    Path((sid, recording)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !authorised(&shared, &sid, &headers) {
        return twilio_error(401, 20003, "Authenticate");
    }
    let id = recording.split('.').next().unwrap_or_default().to_owned();
    if !shared.recordings.lock().unwrap().contains(&id) {
        return twilio_error(404, 20404, "The requested resource was not found");
    }
    if recording.ends_with(".json") {
        Json(json!({ "sid": id, "account_sid": shared.account_sid, "status": "completed" }))
            .into_response()
    } else {
        (
            [("content-type", "audio/mpeg")],
            b"ID3 fake voicemail".to_vec(),
        )
            .into_response()
    }
}

/// `DELETE …/Recordings/{sid}.json`: `204`, or `404` once it is gone.
async fn delete_recording(
    State(shared): State<Arc<Shared>>,
    Path((sid, recording)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = gate(&shared, &sid, &headers) {
        return refused;
    }
    let Some(id) = recording.strip_suffix(".json").map(str::to_owned) else {
        return twilio_error(405, 20004, "Method not allowed");
    };
    shared.deleted.lock().unwrap().push(id.clone());
    shared.changed.notify_waiters();
    if let Some(status) = shared.failing_deletes.lock().unwrap().get(&id).copied() {
        return twilio_error(status, 20500, "Injected failure");
    }
    let mut held = shared.recordings.lock().unwrap();
    match held.iter().position(|r| *r == id) {
        Some(i) => {
            held.remove(i);
            StatusCode::NO_CONTENT.into_response()
        }
        None => twilio_error(404, 20404, "The requested resource was not found"),
    }
}

async fn list_messages(
    State(shared): State<Arc<Shared>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<Vec<(String, String)>>,
) -> Response {
    if shared.down.load(Ordering::SeqCst) {
        return twilio_error(503, 20500, "Service unavailable");
    }
    if !authorised(&shared, &sid, &headers) {
        return twilio_error(401, 20003, "Authenticate");
    }
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (to, from) = (get("To"), get("From"));
    let messages: Vec<_> = shared
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|m| to.as_ref().is_none_or(|t| *t == m.to) && from.as_ref().is_none_or(|f| *f == m.from))
        .map(|m| json!({ "sid": m.sid, "to": m.to, "from": m.from, "body": m.body, "status": "sent" }))
        .collect();
    Json(json!({ "messages": messages, "page": 0, "page_size": 100 })).into_response()
}

#[test]
fn the_fake_signs_twilios_documented_example_as_documented() {
    let params = pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]);
    assert_eq!(
        twilio_signature(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            &params
        ),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
}
