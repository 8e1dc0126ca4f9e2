//! Phone calls played as Twilio plays them: a [`Call`] posts the webhooks
//! Twilio would post, in order and signed, and follows the TwiML that comes
//! back, parsed as XML ([`Twiml`]) rather than matched as text. A test says
//! what the people on the phones do (nobody answers; the callee presses 1;
//! the caller speaks after the tone; the caller hangs up) and reads what
//! each of them hears.
//!
//! Only what Twilio documents is modelled: a `<Dial>` ends with its
//! `action` carrying `DialCallStatus`; a `<Number url>` is fetched when the
//! callee answers and played to them alone (call screening); a `<Gather>`
//! with no key goes on to the next verb; a `<Record>` with no audio goes on
//! to the next verb; a `<Redirect>` is followed.

#![allow(dead_code)]

use super::fake_twilio::{FakeTwilio, twilio_signature};

/// A TwiML verb, as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    Say {
        text: String,
        language: String,
    },
    Pause,
    Gather {
        action: String,
        num_digits: u32,
        verbs: Vec<Verb>,
    },
    Dial {
        action: String,
        timeout: u32,
        caller_id: Option<String>,
        numbers: Vec<Dialled>,
    },
    Record {
        action: String,
        max_length: u32,
        transcribe_callback: Option<String>,
    },
    Redirect {
        url: String,
    },
    Hangup,
}

/// One `<Number>` of a `<Dial>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialled {
    pub number: String,
    /// The screen played to the callee when they answer.
    pub url: Option<String>,
}

/// A TwiML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Twiml {
    pub verbs: Vec<Verb>,
}

fn attr(node: roxmltree::Node<'_, '_>, name: &str) -> Option<String> {
    node.attribute(name).map(str::to_owned)
}

fn number_attr(node: roxmltree::Node<'_, '_>, name: &str, default: u32) -> u32 {
    node.attribute(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("<{}> {name}={v:?} is not a number", node.tag_name().name()))
    })
}

fn verbs(parent: roxmltree::Node<'_, '_>) -> Vec<Verb> {
    parent
        .children()
        .filter(|n| n.is_element())
        .map(|n| match n.tag_name().name() {
            "Say" => {
                let language = attr(n, "language").unwrap_or_default();
                assert!(
                    ["en-GB", "cy-GB"].contains(&language.as_str()),
                    "every <Say> speaks British English or Welsh: {language}"
                );
                Verb::Say {
                    text: n.text().unwrap_or_default().trim().to_owned(),
                    language,
                }
            }
            "Pause" => Verb::Pause,
            "Gather" => Verb::Gather {
                action: attr(n, "action").expect("<Gather> has an action"),
                num_digits: number_attr(n, "numDigits", 0),
                verbs: verbs(n),
            },
            "Dial" => Verb::Dial {
                // Without one, the call goes on to the next verb when the dialled leg ends.
                action: attr(n, "action").unwrap_or_default(),
                timeout: number_attr(n, "timeout", 30),
                caller_id: attr(n, "callerId"),
                numbers: n
                    .children()
                    .filter(|c| c.has_tag_name("Number"))
                    .map(|c| Dialled {
                        number: c.text().unwrap_or_default().trim().to_owned(),
                        url: attr(c, "url"),
                    })
                    .collect(),
            },
            "Record" => Verb::Record {
                action: attr(n, "action").expect("<Record> has an action"),
                max_length: number_attr(n, "maxLength", 3600),
                transcribe_callback: attr(n, "transcribeCallback"),
            },
            "Redirect" => Verb::Redirect {
                url: n.text().unwrap_or_default().trim().to_owned(),
            },
            "Hangup" => Verb::Hangup,
            other => panic!("unexpected TwiML verb <{other}>"),
        })
        .collect()
}

impl Twiml {
    /// Parse a TwiML document; panics unless it is well-formed XML with a
    /// `<Response>` root made only of verbs Nightingale uses.
    pub fn parse(xml: &str) -> Self {
        let doc = roxmltree::Document::parse(xml)
            .unwrap_or_else(|e| panic!("TwiML is not well-formed XML ({e}):\n{xml}"));
        let root = doc.root_element();
        assert_eq!(
            root.tag_name().name(),
            "Response",
            "TwiML's root is <Response>"
        );
        Self { verbs: verbs(root) }
    }

    /// Everything said, in order, one sentence group per `<Say>` (those in
    /// a `<Gather>` included).
    pub fn words(&self) -> String {
        fn said(verbs: &[Verb], out: &mut Vec<String>) {
            for v in verbs {
                match v {
                    Verb::Say { text, .. } => out.push(text.clone()),
                    Verb::Gather { verbs, .. } => said(verbs, out),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        said(&self.verbs, &mut out);
        out.join(" ")
    }

    /// The language of every `<Say>`, in order (`en-GB`, `cy-GB`).
    pub fn languages(&self) -> Vec<&str> {
        self.verbs
            .iter()
            .filter_map(|v| match v {
                Verb::Say { language, .. } => Some(language.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The first verb that waits for something (not a `<Say>` or `<Pause>`).
    pub fn waits_on(&self) -> Option<&Verb> {
        self.verbs
            .iter()
            .find(|v| !matches!(v, Verb::Say { .. } | Verb::Pause))
    }

    /// The `<Dial>` the caller now waits on; panics if they wait on something else.
    pub fn dial(&self) -> (&str, u32, Option<&str>, &[Dialled]) {
        match self.waits_on() {
            Some(Verb::Dial {
                action,
                timeout,
                caller_id,
                numbers,
            }) => (action, *timeout, caller_id.as_deref(), numbers),
            other => panic!(
                "expected a <Dial>, the caller waits on {other:?}; heard {:?}",
                self.words()
            ),
        }
    }

    /// Whether the caller waits on a `<Dial>` now.
    pub fn dials(&self) -> bool {
        matches!(self.waits_on(), Some(Verb::Dial { .. }))
    }

    /// The numbers rung now.
    pub fn numbers_rung(&self) -> Vec<String> {
        self.dial().3.iter().map(|d| d.number.clone()).collect()
    }

    /// Whether the call ends here: a `<Hangup>` is the next verb that waits.
    pub fn hangs_up(&self) -> bool {
        matches!(self.waits_on(), Some(Verb::Hangup))
    }
}

/// Twilio's side of one call to our number.
pub struct Call {
    twilio: FakeTwilio,
    /// Our server, as the test reaches it.
    address: String,
    /// What Twilio is configured to call.
    public_url: String,
    pub sid: String,
    pub from: String,
    pub to: String,
    /// What the caller heard last.
    pub heard: Twiml,
    /// Whether the call has ended.
    pub ended: bool,
    /// The `<Record>` the caller spoke to, for its transcription callback.
    record_seen: Option<Verb>,
}

/// What a callee heard on the screen, and whether they were put through.
#[derive(Debug)]
pub struct Screened {
    /// The screen (a `<Gather>` asking for 1).
    pub screen: Twiml,
    /// What followed their key, if they pressed one.
    pub after_key: Option<Twiml>,
    /// What followed each key they pressed, in order.
    pub answers: Vec<Twiml>,
    /// Whether they were put through to the caller.
    pub connected: bool,
}

impl Call {
    /// A call page Nightingale placed (`Calls.json`) is answered, by a
    /// person (`human`) or a machine (`machine_start`, …): Twilio fetches
    /// its `Url`, telling who answered.
    pub async fn answer_page(
        twilio: &FakeTwilio,
        address: &str,
        public_url: &str,
        placed: &super::fake_twilio::PlacedCall,
        answered_by: &str,
    ) -> Self {
        assert_eq!(
            placed.machine_detection.as_deref(),
            Some("Enable"),
            "call pages detect machines"
        );
        assert_eq!(
            placed.status_events,
            ["initiated", "ringing", "answered", "completed"]
        );
        let mut call = Self {
            twilio: twilio.clone(),
            address: address.to_owned(),
            public_url: public_url.to_owned(),
            sid: placed.sid.clone(),
            from: placed.from.clone(),
            to: placed.to.clone(),
            heard: Twiml { verbs: Vec::new() },
            ended: false,
            record_seen: None,
        };
        let url = placed
            .url
            .clone()
            .expect("a call page names the URL of its words");
        call.heard = call
            .post(
                &url,
                call.params(&[("CallStatus", "in-progress"), ("AnsweredBy", answered_by)]),
            )
            .await;
        call
    }

    /// The person on the phone presses `key` while the `<Gather>` waits;
    /// a `<Redirect>` answered is followed, as Twilio does.
    pub async fn press(&mut self, key: &str) -> &Twiml {
        let Some(Verb::Gather { action, .. }) = self.heard.waits_on().cloned() else {
            panic!("expected a <Gather>: {:?}", self.heard);
        };
        self.heard = self.post(&action, self.params(&[("Digits", key)])).await;
        while let Some(Verb::Redirect { url }) = self.heard.waits_on().cloned() {
            self.heard = self.post(&url, self.params(&[])).await;
        }
        &self.heard
    }

    /// `from` rings our number `to`: Twilio posts the voice webhook.
    pub async fn place(
        twilio: &FakeTwilio,
        address: &str,
        public_url: &str,
        sid: &str,
        from: &str,
        to: &str,
    ) -> Self {
        let mut call = Self {
            twilio: twilio.clone(),
            address: address.to_owned(),
            public_url: public_url.to_owned(),
            sid: sid.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            heard: Twiml { verbs: Vec::new() },
            ended: false,
            record_seen: None,
        };
        let answer = format!("{public_url}/twilio/voice");
        call.heard = call
            .post(&answer, call.params(&[("CallStatus", "ringing")]))
            .await;
        call
    }

    /// The parameters Twilio sends with every request about this call.
    fn params(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = [
            ("CallSid", self.sid.as_str()),
            ("AccountSid", self.twilio.account_sid()),
            ("From", self.from.as_str()),
            ("To", self.to.as_str()),
            ("Caller", self.from.as_str()),
            ("Called", self.to.as_str()),
            ("Direction", "inbound"),
            ("ApiVersion", "2010-04-01"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        p
    }

    /// Post to `url` (as TwiML names it: our public URL) as Twilio does, and
    /// parse the TwiML answered. Twilio reads only `200` TwiML: anything
    /// else would be an error tone, which a caller must never hear.
    pub async fn post(&self, url: &str, params: Vec<(String, String)>) -> Twiml {
        let response = self.post_raw(url, params).await;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.text().await.unwrap();
        assert_eq!(status, 200, "{url} answered {status}: {body}");
        assert!(
            content_type.starts_with("text/xml"),
            "{url} answered {content_type}"
        );
        Twiml::parse(&body)
    }

    /// Post as Twilio does and return the raw response.
    pub async fn post_raw(&self, url: &str, params: Vec<(String, String)>) -> reqwest::Response {
        let local = url
            .strip_prefix(&self.public_url)
            .unwrap_or_else(|| panic!("{url} is not on our public URL {}", self.public_url));
        let signature = twilio_signature(self.twilio.auth_token(), url, &params);
        self.twilio
            .post_with_signature(
                &format!("{}{local}", self.address),
                &params,
                Some(&signature),
            )
            .await
    }

    /// The level rung now ends without anyone taking the call (`no-answer`,
    /// `busy`, `failed`): Twilio posts the `<Dial>`'s action.
    pub async fn dial_ends(&mut self, status: &str) -> &Twiml {
        let action = self.heard.dial().0.to_owned();
        self.heard = self
            .post(
                &action,
                self.params(&[
                    ("DialCallStatus", status),
                    ("DialCallSid", "CA00000000000000000000000000000dial"),
                ]),
            )
            .await;
        &self.heard
    }

    /// The callee at `number` answers: Twilio fetches the screen for their
    /// leg and plays it to them alone; they press `key` (or nothing). When
    /// the screen ends without a hang-up they are put through, and when
    /// they and the caller are done Twilio posts the `<Dial>`'s action
    /// with `completed`. A callee who does not press 1 ends their leg:
    /// `completed` too, for they did answer; the caller hears what follows.
    pub async fn callee_answers(&mut self, number: &str, key: Option<&str>) -> Screened {
        self.callee_presses(number, key.as_slice()).await
    }

    /// As [`Call::callee_answers`], pressing `keys` one after another,
    /// each when the screen asks for one.
    pub async fn callee_presses(&mut self, number: &str, keys: &[&str]) -> Screened {
        let (action, _, caller_id, numbers) = self.heard.dial();
        let action = action.to_owned();
        assert_eq!(
            caller_id,
            Some(self.to.as_str()),
            "the callee sees our number, not the caller's"
        );
        let url = numbers
            .iter()
            .find(|d| d.number == number)
            .unwrap_or_else(|| panic!("{number} is not rung now: {numbers:?}"))
            .url
            .clone()
            .expect("the callee is screened");
        let child = format!("{}leg", &self.sid[..self.sid.len().min(30)]);
        let leg = |extra: &[(&str, &str)]| {
            let mut p: Vec<(String, String)> = [
                ("CallSid", child.as_str()),
                ("ParentCallSid", self.sid.as_str()),
                ("AccountSid", self.twilio.account_sid()),
                ("From", self.to.as_str()),
                ("To", number),
                ("Direction", "outbound-dial"),
                ("CallStatus", "in-progress"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            p
        };
        let screen = self.post(&url, leg(&[])).await;
        let Some(Verb::Gather {
            action: key_action,
            num_digits,
            ..
        }) = screen.waits_on().cloned()
        else {
            panic!("the screen asks for a key: {screen:?}");
        };
        assert_eq!(num_digits, 1);
        let mut answers: Vec<Twiml> = Vec::new();
        let mut asking = key_action;
        for k in keys {
            let answer = self.post(&asking, leg(&[("Digits", k)])).await;
            if let Some(Verb::Gather { action, .. }) = answer.waits_on() {
                asking = action.clone();
            }
            answers.push(answer);
        }
        let after_key = answers.last().cloned();
        // No key: Twilio goes on past the <Gather>, to its <Hangup>.
        let connected = match &after_key {
            // Asked for a key again and given none: Twilio goes on to the <Hangup>.
            Some(t) => !t.hangs_up() && !matches!(t.waits_on(), Some(Verb::Gather { .. })),
            None => {
                assert!(
                    screen
                        .verbs
                        .iter()
                        .skip_while(|v| !matches!(v, Verb::Gather { .. }))
                        .skip(1)
                        .any(|v| *v == Verb::Hangup),
                    "a screen with no key ends the callee's leg"
                );
                false
            }
        };
        self.heard = self
            .post(
                &action,
                self.params(&[("DialCallStatus", "completed"), ("DialCallSid", &child)]),
            )
            .await;
        Screened {
            screen,
            after_key,
            answers,
            connected,
        }
    }

    /// The caller speaks after the tone for `seconds`: Twilio posts the
    /// `<Record>`'s action with the recording, now held at the fake.
    pub async fn leave_message(&mut self, recording_sid: &str, seconds: u32) -> &Twiml {
        let record = self.heard.waits_on().cloned();
        let Some(Verb::Record {
            action, max_length, ..
        }) = record.clone()
        else {
            panic!("expected a <Record>: {:?}", self.heard);
        };
        self.record_seen = record;
        assert!(seconds <= max_length);
        let url = self.twilio.hold_recording(recording_sid);
        let duration = seconds.to_string();
        self.heard = self
            .post(
                &action,
                self.params(&[
                    ("RecordingSid", recording_sid),
                    ("RecordingUrl", &url),
                    ("RecordingDuration", &duration),
                ]),
            )
            .await;
        &self.heard
    }

    /// The caller says nothing at the tone: Twilio records no audio and
    /// goes on to the next verb, following a `<Redirect>`.
    pub async fn silent_at_tone(&mut self) -> &Twiml {
        let verbs = self.heard.verbs.clone();
        let after = verbs
            .iter()
            .skip_while(|v| !matches!(v, Verb::Record { .. }))
            .skip(1)
            .find(|v| !matches!(v, Verb::Say { .. } | Verb::Pause));
        match after {
            Some(Verb::Redirect { url }) => {
                self.heard = self.post(url, self.params(&[])).await;
            }
            other => panic!("after a silent <Record> the caller reaches {other:?}"),
        }
        &self.heard
    }

    /// Twilio's transcription of the message arrives.
    pub async fn transcription(&self, text: Option<&str>) -> reqwest::Response {
        let Some(Verb::Record {
            transcribe_callback,
            ..
        }) = self.last_record()
        else {
            panic!("no <Record> asked for a transcription");
        };
        let url = transcribe_callback.expect("the <Record> asks for a transcription");
        let status = if text.is_some() {
            "completed"
        } else {
            "failed"
        };
        let mut extra = vec![("TranscriptionStatus", status)];
        if let Some(t) = text {
            extra.push(("TranscriptionText", t));
        }
        self.post_raw(&url, self.params(&extra)).await
    }

    fn last_record(&self) -> Option<Verb> {
        self.record_seen.clone()
    }

    /// The caller hangs up (or the call ends after its last verb): Twilio
    /// posts the call's status callback, set on the number in its console.
    pub async fn hang_up(&mut self) -> reqwest::Response {
        self.ended = true;
        let url = format!("{}/twilio/voice/status", self.public_url);
        self.post_raw(
            &url,
            self.params(&[("CallStatus", "completed"), ("CallDuration", "95")]),
        )
        .await
    }
}
