//! The demo's call provider: phone calls on the demo page, where Twilio's
//! voice sits, both ways.
//!
//! It plays Twilio's part of a call. A viewer's call from a phone, a
//! clinician answering a call page, a key pressed, a message left: each is
//! sent to the same voice webhooks Twilio's requests reach
//! (`crate::http::voice`), as a signed form POST to this server's own
//! listener, and the TwiML that comes back is parsed as XML and played in
//! the phone as text: what is said (`<Say>`), a keypad (`<Gather>`), a box
//! for the message (`<Record>`: the typed words stand in for the
//! recording), ringing other phones (`<Dial>` with `<Number url>`, call
//! screening included), `<Redirect>` and `<Hangup>`.
//!
//! The signature is made with a token only this demo holds, generated when
//! it starts ([`DemoCalls::webhook_token`]); a demo never has a Twilio
//! token (`super::refuse_real_providers`), so the webhooks accept it and
//! nothing else. Outbound, it is the [`CallPlacer`] the outbox places call
//! pages through: the clinician's phone on the page rings, and answering
//! fetches the page's TwiML as Twilio would.
//!
//! Where the demo differs from a real line, it waits for the viewer: a
//! keypad or message box waits for a key or words rather than timing out
//! after a few seconds. A `<Dial>` rings for its `timeout` on the demo
//! clock, so moving the clock on ends it as time would.

use std::sync::{Arc, Mutex, MutexGuard};

use secrecy::{ExposeSecret, SecretString};

use super::{DemoPhones, OUR_NUMBER};
use crate::channels::twilio::signature;
use crate::channels::voice::RecordingFuture;
use crate::channels::{CallPlacer, Lookup, LookupFuture, SendFuture, SendOutcome};
use crate::clock::{Clock, Instant};

/// What a transcription of a typed message begins with, so whoever reads
/// it knows no one spoke it.
pub const TYPED: &str = "(typed in the demo)";

/// A TwiML verb the demo plays.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verb {
    Say(String),
    Gather {
        action: String,
        verbs: Vec<Verb>,
    },
    Dial {
        action: String,
        timeout: i64,
        numbers: Vec<(String, Option<String>)>,
    },
    Record {
        action: String,
        transcribe: Option<String>,
    },
    Redirect(String),
    Hangup,
}

/// Why a webhook's answer is not TwiML.
#[derive(Debug, thiserror::Error)]
enum NotTwiml {
    /// Not XML.
    #[error(transparent)]
    Xml(#[from] roxmltree::Error),
    /// XML whose root (named) is not `<Response>`.
    #[error("<{0}> is not <Response>")]
    NotResponse(String),
}

/// Parse a TwiML document; `Err` says what was wrong with it.
fn parse(twiml: &str) -> Result<Vec<Verb>, NotTwiml> {
    let doc = roxmltree::Document::parse(twiml)?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" {
        return Err(NotTwiml::NotResponse(root.tag_name().name().to_owned()));
    }
    Ok(verbs(root))
}

/// Why a signed webhook got no TwiML back.
#[derive(Debug, thiserror::Error)]
enum WebhookFailed {
    /// The URL is not under this service's.
    #[error("a URL outside this service")]
    Outside,
    /// The request or its answer failed on the way.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// It answered with an error status.
    #[error("answered {0}")]
    Answered(reqwest::StatusCode),
}

fn verbs(parent: roxmltree::Node<'_, '_>) -> Vec<Verb> {
    let attr = |n: roxmltree::Node<'_, '_>, name: &str| n.attribute(name).map(str::to_owned);
    parent
        .children()
        .filter(|n| n.is_element())
        .filter_map(|n| match n.tag_name().name() {
            "Say" => Some(Verb::Say(n.text().unwrap_or_default().trim().to_owned())),
            "Gather" => Some(Verb::Gather {
                action: attr(n, "action").unwrap_or_default(),
                verbs: verbs(n),
            }),
            "Dial" => Some(Verb::Dial {
                action: attr(n, "action").unwrap_or_default(),
                timeout: n
                    .attribute("timeout")
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(30),
                numbers: n
                    .children()
                    .filter(|c| c.has_tag_name("Number"))
                    .map(|c| {
                        (
                            c.text().unwrap_or_default().trim().to_owned(),
                            attr(c, "url"),
                        )
                    })
                    .collect(),
            }),
            "Record" => Some(Verb::Record {
                action: attr(n, "action").unwrap_or_default(),
                transcribe: attr(n, "transcribeCallback"),
            }),
            "Redirect" => Some(Verb::Redirect(
                n.text().unwrap_or_default().trim().to_owned(),
            )),
            "Hangup" => Some(Verb::Hangup),
            // <Pause> and anything else: nothing to show.
            _ => None,
        })
        .collect()
}

/// Which way a call goes, and what it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallKind {
    /// The phone's owner called Nightingale's number.
    ToUs,
    /// Nightingale rang them with a page (`Calls.json`): answering fetches `url`.
    Page {
        /// What Twilio would fetch when it is answered.
        url: String,
    },
    /// Nightingale put a caller through to them: one `<Number>` of a
    /// `<Dial>`, screened by `url` when answered.
    Leg {
        /// The caller's call.
        parent: String,
        /// The screen played to them first.
        url: Option<String>,
    },
}

/// One line of what happened on a call, as the phone shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Nightingale said this.
    Said(String),
    /// The phone's owner pressed this key.
    Pressed(String),
    /// The phone's owner left this message (typed, in the demo).
    Typed(String),
    /// What happened on the line: ringing, put through, ended.
    Line(String),
}

/// Where a call stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallState {
    /// Ringing on this phone: answer or decline.
    Ringing,
    /// Waiting for Nightingale's answer to a step.
    Waiting,
    /// Waiting for a key (`<Gather>`).
    Keypad {
        /// Where the key goes.
        action: String,
    },
    /// Waiting for a message (`<Record>`).
    Recording {
        /// Where the recording goes.
        action: String,
        /// Where its transcription goes.
        transcribe: Option<String>,
    },
    /// Ringing other phones (`<Dial>`).
    Dialling {
        /// The calls ringing on the phones dialled.
        legs: Vec<String>,
    },
    /// Talking to the other end of this call.
    Connected {
        /// The call at the other end.
        with: String,
    },
    /// Over.
    Ended,
}

/// One call on a demo phone.
#[derive(Debug, Clone)]
pub struct Call {
    /// Its `CallSid`.
    pub id: String,
    /// The phone it is on (E.164).
    pub phone: String,
    /// Which way it goes.
    pub kind: CallKind,
    /// What happened so far, in order.
    pub heard: Vec<Heard>,
    /// Where it stands.
    pub state: CallState,
    /// TwiML left to play after a `<Gather>` or `<Record>` that gets nothing.
    pending: Vec<Verb>,
    /// The `action` of the `<Dial>` in progress.
    dial: Option<String>,
    started: Instant,
}

impl Call {
    /// Whether Nightingale rang this phone (rather than the phone ringing Nightingale).
    pub fn incoming(&self) -> bool {
        !matches!(self.kind, CallKind::ToUs)
    }
}

/// What a viewer does on a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Answer a ringing call.
    Answer,
    /// Decline a ringing call.
    Decline,
    /// Press a key (0-9, `*`, `#`).
    Key(String),
    /// Leave these words as the message (empty: none).
    Message(String),
    /// Hang up.
    HangUp,
}

/// Why an act was not done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No such call on this demo.
    NoCall,
    /// The call is not at a step that takes it (a key with no keypad, …).
    NotNow,
}

/// The demo's calls, and its side of the voice webhooks.
pub struct DemoCalls {
    clock: Arc<dyn Clock>,
    phones: Arc<DemoPhones>,
    http: reqwest::Client,
    /// Where webhooks are sent: this server's own listener.
    local: String,
    /// `NIGHTINGALE_PUBLIC_URL`: what TwiML's URLs begin with and what a
    /// signature covers.
    public_url: String,
    token: SecretString,
    calls: Mutex<Calls>,
}

#[derive(Default)]
struct Calls {
    list: Vec<Call>,
    made: u64,
}

/// What to do once the call's lock is let go.
enum Next {
    /// Post to this URL and play what comes back.
    Post(String, Vec<(String, String)>),
    /// Wait for the viewer (or a dial's timeout).
    Wait,
    /// The call ended: tell Nightingale, as Twilio's status callback would.
    Ended,
}

impl DemoCalls {
    /// Calls that send webhooks to `local` (this server's listener), signed
    /// for `public_url` with a token of their own.
    pub fn new(
        clock: Arc<dyn Clock>,
        phones: Arc<DemoPhones>,
        local: &str,
        public_url: &str,
    ) -> anyhow::Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| anyhow::anyhow!("no randomness for the demo's token: {e}"))?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            clock,
            phones,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(15))
                .build()?,
            local: local.trim_end_matches('/').to_owned(),
            public_url: public_url.trim_end_matches('/').to_owned(),
            token: SecretString::from(token),
            calls: Mutex::default(),
        })
    }

    /// The token the voice webhooks accept in this demo (and no other).
    pub fn webhook_token(&self) -> SecretString {
        self.token.clone()
    }

    fn calls(&self) -> MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The call a phone shows: its latest one still going, else its latest.
    pub fn call_on(&self, phone: &str) -> Option<Call> {
        let calls = self.calls();
        let mine = || calls.list.iter().rev().filter(|c| c.phone == phone);
        mine()
            .find(|c| c.state != CallState::Ended)
            .or_else(|| mine().next())
            .cloned()
    }

    /// The phone call `id` is on.
    pub fn call_on_id(&self, id: &str) -> Option<String> {
        self.call(id).map(|c| c.phone)
    }

    /// Every number that has had a call.
    pub fn numbers(&self) -> Vec<String> {
        let mut numbers: Vec<String> = self.calls().list.iter().map(|c| c.phone.clone()).collect();
        numbers.sort();
        numbers.dedup();
        numbers
    }

    fn new_call(&self, phone: &str, kind: CallKind, state: CallState, heard: Heard) -> String {
        let mut calls = self.calls();
        calls.made += 1;
        let id = format!("CADEMO{:08}", calls.made);
        calls.list.push(Call {
            id: id.clone(),
            phone: phone.to_owned(),
            kind,
            heard: vec![heard],
            state,
            pending: Vec::new(),
            dial: None,
            started: self.clock.now(),
        });
        id
    }

    fn with_call<T>(&self, id: &str, f: impl FnOnce(&mut Call) -> T) -> Option<T> {
        let mut calls = self.calls();
        let found = calls.list.iter_mut().find(|c| c.id == id).map(f);
        drop(calls);
        self.phones.changed();
        found
    }

    fn call(&self, id: &str) -> Option<Call> {
        self.calls().list.iter().find(|c| c.id == id).cloned()
    }

    /// The form Twilio posts with each step of a call.
    fn params(call: &Call) -> Vec<(String, String)> {
        let (from, to, direction) = match call.kind {
            CallKind::ToUs => (call.phone.as_str(), OUR_NUMBER, "inbound"),
            _ => (OUR_NUMBER, call.phone.as_str(), "outbound-api"),
        };
        let mut params = vec![
            ("AccountSid".to_owned(), "ACDEMO".to_owned()),
            ("CallSid".to_owned(), call.id.clone()),
            ("From".to_owned(), from.to_owned()),
            ("To".to_owned(), to.to_owned()),
            ("Direction".to_owned(), direction.to_owned()),
            ("CallStatus".to_owned(), "in-progress".to_owned()),
        ];
        if let CallKind::Leg { parent, .. } = &call.kind {
            params.push(("ParentCallSid".to_owned(), parent.clone()));
        }
        if call.incoming() {
            params.push(("AnsweredBy".to_owned(), "human".to_owned()));
        }
        params
    }

    /// Post a signed webhook to `url` (a URL under the public one, or a
    /// path) and return the TwiML it answered.
    async fn post(&self, url: &str, params: &[(String, String)]) -> Result<String, WebhookFailed> {
        let path = url.strip_prefix(&self.public_url).unwrap_or(url);
        if !path.starts_with('/') {
            return Err(WebhookFailed::Outside);
        }
        let signed = signature::sign(
            self.token.expose_secret(),
            &format!("{}{path}", self.public_url),
            params,
        );
        let response = self
            .http
            .post(format!("{}{path}", self.local))
            .header("X-Twilio-Signature", signed)
            .form(params)
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(WebhookFailed::Answered(status))
        }
    }

    /// Play a TwiML answer on a call, then whatever follows from it, until
    /// it waits for someone or ends.
    fn play(
        self: &Arc<Self>,
        id: &str,
        twiml: Result<String, WebhookFailed>,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        let this = Arc::clone(self);
        let id = id.to_owned();
        Box::pin(async move {
            let mut twiml = twiml;
            loop {
                let verbs = match twiml
                    .as_deref()
                    .map_err(ToString::to_string)
                    .and_then(|t| parse(t).map_err(|_| "not TwiML".to_owned()))
                {
                    Ok(verbs) => verbs,
                    Err(e) => {
                        tracing::warn!(call = %id, error = %e, "demo call: the webhook failed");
                        this.with_call(&id, |c| {
                            c.heard.push(Heard::Line("The line failed.".to_owned()));
                        });
                        return this.ended(&id, "failed").await;
                    }
                };
                match this.step(&id, verbs) {
                    Next::Post(url, params) => twiml = this.post(&url, &params).await,
                    Next::Wait => return,
                    Next::Ended => return this.ended(&id, "completed").await,
                }
            }
        })
    }

    /// Play `verbs` on the call until one needs the network or a person.
    fn step(self: &Arc<Self>, id: &str, verbs: Vec<Verb>) -> Next {
        let now = self.clock.now();
        let mut rings: Vec<(String, Option<String>)> = Vec::new();
        let mut dial_until = None;
        let next = {
            let mut calls = self.calls();
            let Some(call) = calls.list.iter_mut().find(|c| c.id == id) else {
                return Next::Wait;
            };
            if call.state == CallState::Ended {
                return Next::Wait;
            }
            let mut verbs = verbs.into_iter();
            let mut next = None;
            for verb in verbs.by_ref() {
                match verb {
                    Verb::Say(words) => call.heard.push(Heard::Said(words)),
                    Verb::Gather {
                        action,
                        verbs: inner,
                    } => {
                        for v in inner {
                            if let Verb::Say(words) = v {
                                call.heard.push(Heard::Said(words));
                            }
                        }
                        call.state = CallState::Keypad { action };
                        next = Some(Next::Wait);
                        break;
                    }
                    Verb::Record { action, transcribe } => {
                        call.heard
                            .push(Heard::Line("Beep: recording your message.".to_owned()));
                        call.state = CallState::Recording { action, transcribe };
                        next = Some(Next::Wait);
                        break;
                    }
                    Verb::Dial {
                        action,
                        timeout,
                        numbers,
                    } => {
                        call.heard.push(Heard::Line("Ringing…".to_owned()));
                        call.state = CallState::Dialling { legs: Vec::new() };
                        call.dial = Some(action);
                        rings = numbers;
                        dial_until = Some(now + chrono::TimeDelta::seconds(timeout.max(1)));
                        next = Some(Next::Wait);
                        break;
                    }
                    Verb::Redirect(url) => {
                        call.state = CallState::Waiting;
                        next = Some(Next::Post(url, Self::params(call)));
                        break;
                    }
                    Verb::Hangup => {
                        next = Some(Next::Ended);
                        break;
                    }
                }
            }
            call.pending = verbs.collect();
            match next {
                Some(next) => next,
                // The end of the document: a screened callee is put
                // through; any other call ends, as Twilio ends it.
                None => match &call.kind {
                    CallKind::Leg { parent, .. } => {
                        let (parent, leg) = (parent.clone(), call.id.clone());
                        Self::connect(&mut calls, &parent, &leg);
                        Next::Wait
                    }
                    _ => Next::Ended,
                },
            }
        };
        if let Some(until) = dial_until {
            let legs: Vec<String> = rings
                .into_iter()
                .map(|(number, url)| {
                    self.new_call(
                        &number,
                        CallKind::Leg { parent: id.to_owned(), url },
                        CallState::Ringing,
                        Heard::Line(format!("Incoming call from {OUR_NUMBER}: Nightingale is putting a caller through.")),
                    )
                })
                .collect();
            if let Some(CallState::Dialling { legs: ringing, .. }) = self.with_call(id, |c| {
                if let CallState::Dialling { legs: l, .. } = &mut c.state {
                    l.clone_from(&legs);
                }
                c.state.clone()
            }) {
                let this = Arc::clone(self);
                let id = id.to_owned();
                tokio::spawn(async move {
                    this.clock.sleep_until(until).await;
                    // Rung out, unless someone answered and is hearing
                    // the screen: then their key or hang-up decides.
                    let answered = ringing.iter().any(|leg| {
                        this.call(leg).is_some_and(|c| {
                            !matches!(c.state, CallState::Ringing | CallState::Ended)
                        })
                    });
                    if !answered {
                        this.dial_over(&id, &ringing, "no-answer").await;
                    }
                });
            }
        }
        self.phones.changed();
        next
    }

    /// A leg was put through: its caller is now talking to it, and the
    /// other phones dialled stop ringing; unless the caller has gone (hung
    /// up, or moved on when the dial rang out).
    fn connect(calls: &mut Calls, parent: &str, leg: &str) {
        let waiting = calls.list.iter_mut().find(|c| {
            c.id == parent
                && matches!(&c.state, CallState::Dialling { legs } if legs.iter().any(|l| l == leg))
        });
        let Some(p) = waiting else {
            if let Some(l) = calls.list.iter_mut().find(|c| c.id == leg) {
                l.state = CallState::Ended;
                l.heard
                    .push(Heard::Line("The caller is no longer waiting.".to_owned()));
            }
            return;
        };
        let others: Vec<String> = match &p.state {
            CallState::Dialling { legs } => legs.iter().filter(|l| *l != leg).cloned().collect(),
            _ => Vec::new(),
        };
        p.state = CallState::Connected {
            with: leg.to_owned(),
        };
        p.heard.push(Heard::Line(
            "Connected: you are talking to the person on call.".to_owned(),
        ));
        for c in calls.list.iter_mut() {
            if c.id == leg {
                c.state = CallState::Connected {
                    with: parent.to_owned(),
                };
                c.heard.push(Heard::Line(
                    "Connected: you are talking to the caller.".to_owned(),
                ));
            } else if others.contains(&c.id) && c.state != CallState::Ended {
                c.state = CallState::Ended;
                c.heard
                    .push(Heard::Line("Someone else answered.".to_owned()));
            }
        }
    }

    /// A dial is over (rung out, every leg gone, or the talk ended): tell
    /// Nightingale, as its `action`, and play what it answers.
    async fn dial_over(self: &Arc<Self>, id: &str, legs: &[String], status: &str) {
        let taken = {
            let mut calls = self.calls();
            let Some(call) = calls.list.iter_mut().find(|c| c.id == id) else {
                return;
            };
            let live = match &call.state {
                CallState::Dialling { legs: now } => now == legs,
                CallState::Connected { with } => legs.contains(with),
                _ => false,
            };
            // A timer of a dial already over (a callee hung up first) finds
            // another dial, or none: it leaves it be.
            if !live {
                return;
            }
            let Some(action) = call.dial.take() else {
                return;
            };
            call.state = CallState::Waiting;
            let params = Self::params(call);
            for c in calls.list.iter_mut().filter(|c| legs.contains(&c.id)) {
                if c.state != CallState::Ended {
                    c.state = CallState::Ended;
                    c.heard
                        .push(Heard::Line("The caller is no longer waiting.".to_owned()));
                }
            }
            (action, params)
        };
        self.phones.changed();
        let (action, mut params) = taken;
        params.push(("DialCallStatus".to_owned(), status.to_owned()));
        let answer = self.post(&action, &params).await;
        self.play(id, answer).await;
    }

    /// The call ended: tell Nightingale as Twilio's status callback would,
    /// and end what hung on it.
    async fn ended(self: &Arc<Self>, id: &str, status: &str) {
        let Some(call) = self.with_call(id, |c| {
            let was = c.state.clone();
            c.state = CallState::Ended;
            c.heard.push(Heard::Line("Call ended.".to_owned()));
            (c.clone(), was)
        }) else {
            return;
        };
        let (call, was) = call;
        let mut params = Self::params(&call);
        params.retain(|(k, _)| k != "CallStatus");
        params.push(("CallStatus".to_owned(), status.to_owned()));
        match &call.kind {
            CallKind::ToUs => {
                // Whoever it was ringing or put through to is cut off too.
                let legs: Vec<String> = match &was {
                    CallState::Dialling { legs, .. } => legs.clone(),
                    CallState::Connected { with } => vec![with.clone()],
                    _ => Vec::new(),
                };
                for leg in legs {
                    self.with_call(&leg, |c| {
                        if c.state != CallState::Ended {
                            c.state = CallState::Ended;
                            c.heard.push(Heard::Line("The caller hung up.".to_owned()));
                        }
                    });
                }
                let _ = self.post("/twilio/voice/status", &params).await;
            }
            CallKind::Page { .. } => {
                let _ = self.post("/twilio/voice/page/status", &params).await;
            }
            CallKind::Leg { parent, .. } => {
                let parent = parent.clone();
                let Some(p) = self.call(&parent) else { return };
                match p.state {
                    // The talk is over: the caller's dial ends, completed.
                    CallState::Connected { with } if with == call.id => {
                        self.dial_over(&parent, std::slice::from_ref(&call.id), "completed")
                            .await;
                    }
                    // Every phone dialled is gone: the dial ends unanswered.
                    CallState::Dialling { legs, .. } => {
                        let all_gone = legs
                            .iter()
                            .all(|l| self.call(l).is_none_or(|c| c.state == CallState::Ended));
                        if all_gone {
                            let status = if status == "busy" {
                                "busy"
                            } else {
                                "no-answer"
                            };
                            self.dial_over(&parent, &legs, status).await;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

impl DemoCalls {
    /// The phone `from` calls Nightingale's number.
    pub async fn call_us(self: &Arc<Self>, from: &str) -> Result<String, Refused> {
        if self
            .call_on(from)
            .is_some_and(|c| c.state != CallState::Ended)
        {
            return Err(Refused::NotNow);
        }
        let id = self.new_call(
            from,
            CallKind::ToUs,
            CallState::Waiting,
            Heard::Line(format!("Calling {OUR_NUMBER}…")),
        );
        let call = self.call(&id).ok_or(Refused::NoCall)?;
        let answer = self.post("/twilio/voice", &Self::params(&call)).await;
        self.play(&id, answer).await;
        Ok(id)
    }

    /// A viewer does `act` on call `id`; done once Nightingale has
    /// answered it (so a page loaded next shows what followed).
    pub async fn act(self: &Arc<Self>, id: &str, act: Act) -> Result<(), Refused> {
        let call = self.call(id).ok_or(Refused::NoCall)?;
        match (act, &call.state) {
            (Act::HangUp, state) if *state != CallState::Ended => {
                self.ended(id, "completed").await;
            }
            (Act::Answer, CallState::Ringing) => {
                let url = match &call.kind {
                    CallKind::Page { url } => Some(url.clone()),
                    CallKind::Leg { url, .. } => url.clone(),
                    CallKind::ToUs => None,
                };
                self.with_call(id, |c| {
                    c.state = CallState::Waiting;
                    c.heard.push(Heard::Line("Answered.".to_owned()));
                });
                match url {
                    Some(url) => {
                        let answer = self.post(&url, &Self::params(&call)).await;
                        self.play(id, answer).await;
                    }
                    // Nothing to screen: the end of an empty document puts them through.
                    None => self.play(id, Ok("<Response/>".to_owned())).await,
                }
            }
            (Act::Decline, CallState::Ringing) => self.ended(id, "busy").await,
            (Act::Key(key), CallState::Keypad { action }) => {
                let action = action.clone();
                let mut params = Self::params(&call);
                params.push(("Digits".to_owned(), key.clone()));
                self.with_call(id, |c| {
                    c.state = CallState::Waiting;
                    c.heard.push(Heard::Pressed(key));
                });
                let answer = self.post(&action, &params).await;
                self.play(id, answer).await;
            }
            (Act::Message(words), CallState::Recording { action, transcribe }) => {
                let words = words.trim().to_owned();
                if words.is_empty() {
                    // No audio: Twilio goes on to the next verb.
                    let pending = call.pending.clone();
                    self.with_call(id, |c| c.state = CallState::Waiting);
                    self.play_verbs(id, pending).await;
                    return Ok(());
                }
                let (action, transcribe) = (action.clone(), transcribe.clone());
                let recording = format!("REDEMO{}", id.trim_start_matches("CADEMO"));
                let mut params = Self::params(&call);
                // About as long as it takes to say: 2.5 words a second.
                let seconds = (words.split_whitespace().count() * 2 / 5).max(1);
                params.extend([
                    ("RecordingSid".to_owned(), recording.clone()),
                    (
                        "RecordingUrl".to_owned(),
                        format!("{}/demo/recordings/{recording}", self.public_url),
                    ),
                    ("RecordingDuration".to_owned(), seconds.to_string()),
                ]);
                self.with_call(id, |c| {
                    c.state = CallState::Waiting;
                    c.heard.push(Heard::Typed(words.clone()));
                });
                let answer = self.post(&action, &params).await;
                self.play(id, answer).await;
                // Twilio's transcription comes later, by its own callback:
                // here, the typed words, marked as typed.
                if let Some(url) = transcribe {
                    let mut params = Self::params(&call);
                    params.retain(|(k, _)| k != "CallStatus");
                    params.extend([
                        ("RecordingSid".to_owned(), recording),
                        ("TranscriptionStatus".to_owned(), "completed".to_owned()),
                        ("TranscriptionText".to_owned(), format!("{TYPED} {words}")),
                    ]);
                    if let Err(e) = self.post(&url, &params).await {
                        tracing::warn!(call = %id, error = %e, "demo transcription not taken");
                    }
                }
            }
            _ => return Err(Refused::NotNow),
        }
        Ok(())
    }

    fn play_verbs(
        self: &Arc<Self>,
        id: &str,
        verbs: Vec<Verb>,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        let this = Arc::clone(self);
        let id = id.to_owned();
        Box::pin(async move {
            match this.step(&id, verbs) {
                Next::Post(url, params) => {
                    let answer = this.post(&url, &params).await;
                    this.play(&id, answer).await;
                }
                Next::Wait => {}
                Next::Ended => this.ended(&id, "completed").await,
            }
        })
    }
}

impl CallPlacer for Arc<DemoCalls> {
    fn place<'a>(&'a self, to: &'a str, url: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let id = self.new_call(
                to,
                CallKind::Page {
                    url: url.to_owned(),
                },
                CallState::Ringing,
                Heard::Line(format!("Incoming call from {OUR_NUMBER} (Nightingale).")),
            );
            self.phones.changed();
            SendOutcome::Accepted { provider_id: id }
        })
    }

    fn find<'a>(&'a self, to: &'a str, since: Instant) -> LookupFuture<'a> {
        Box::pin(async move {
            let found = self
                .calls()
                .list
                .iter()
                .find(|c| {
                    c.phone == to && matches!(c.kind, CallKind::Page { .. }) && c.started >= since
                })
                .map(|c| c.id.clone());
            match found {
                Some(provider_id) => Lookup::Sent { provider_id },
                None => Lookup::NotSent,
            }
        })
    }

    fn delete_recording<'a>(&'a self, recording_sid: &'a str) -> SendFuture<'a> {
        // A typed message is held nowhere but the concern's transcription.
        Box::pin(async move {
            SendOutcome::Accepted {
                provider_id: recording_sid.to_owned(),
            }
        })
    }

    fn fetch_recording<'a>(&'a self, _recording_sid: &'a str) -> RecordingFuture<'a> {
        Box::pin(async { Err(crate::channels::voice::RecordingError::Typed) })
    }

    fn name(&self) -> &'static str {
        "demo phones (nothing leaves this machine)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twiml_is_read_as_xml_with_its_urls_unescaped_and_nested_words_kept() {
        let verbs = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say voice="Polly.Amy" language="en-GB">You have reached the heart team.</Say>
  <Dial action="http://n.test/twilio/voice/dial?who=carer&amp;level=1" timeout="20">
    <Number url="http://n.test/twilio/voice/screen?call=CA1&amp;staff=chen-li">+447700900113</Number>
  </Dial>
  <Gather action="http://n.test/k"><Say>Press 1.</Say><Pause length="1"/></Gather>
  <Record action="http://n.test/m" transcribeCallback="http://n.test/t"/>
  <Redirect method="POST">http://n.test/no-message</Redirect>
  <Hangup/>
</Response>"#,
        )
        .unwrap();
        assert_eq!(
            verbs,
            vec![
                Verb::Say("You have reached the heart team.".to_owned()),
                Verb::Dial {
                    action: "http://n.test/twilio/voice/dial?who=carer&level=1".to_owned(),
                    timeout: 20,
                    numbers: vec![(
                        "+447700900113".to_owned(),
                        Some("http://n.test/twilio/voice/screen?call=CA1&staff=chen-li".to_owned())
                    )],
                },
                Verb::Gather {
                    action: "http://n.test/k".to_owned(),
                    verbs: vec![Verb::Say("Press 1.".to_owned())],
                },
                Verb::Record {
                    action: "http://n.test/m".to_owned(),
                    transcribe: Some("http://n.test/t".to_owned()),
                },
                Verb::Redirect("http://n.test/no-message".to_owned()),
                Verb::Hangup,
            ]
        );
        assert!(parse("<Say>no response</Say>").is_err());
        assert!(parse("not xml").is_err());
    }
}
