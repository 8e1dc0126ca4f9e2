//! A small client for Twilio's REST API: just what Nightingale sends.
//!
//! Each call makes exactly one attempt and classifies the result; retries
//! with backoff belong to the outbox, so they survive a restart. The base
//! URL is configurable (`NIGHTINGALE_TWILIO_API_BASE`) so tests can point it
//! at a local fake. Message bodies never reach logs.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::channels::{Lookup, LookupFuture, SendFuture, SendOutcome, SmsSender};
use crate::clock::Instant;

/// Twilio's error code for a recipient who has opted out (replied STOP).
pub const OPTED_OUT: u32 = 21610;

/// The client.
pub struct TwilioClient {
    http: reqwest::Client,
    messages_url: String,
    calls_url: String,
    /// Where Twilio reports a call page's progress (`Calls.json`'s `StatusCallback`).
    call_status_callback: Option<String>,
    account_sid: String,
    auth_token: SecretString,
    from: String,
    status_callback: Option<String>,
}

impl std::fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioClient")
            .field("messages_url", &self.messages_url)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct Created {
    sid: String,
}

#[derive(Debug, Deserialize)]
struct MessageList {
    messages: Vec<ListedMessage>,
}

#[derive(Debug, Deserialize)]
struct ListedMessage {
    sid: String,
    body: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CallList {
    calls: Vec<Created>,
}

#[derive(Debug, Deserialize)]
struct TwilioError {
    code: Option<u32>,
}

/// What Twilio's commoner error codes mean, in words for a timeline.
fn describe(code: u32) -> Option<&'static str> {
    Some(match code {
        20003 => "authentication failed (check the account SID and auth token)",
        20429 => "too many requests",
        21211 => "not a valid phone number",
        21217 => "not a valid phone number",
        21408 => "sending to this region is not enabled",
        21610 => "the recipient has opted out (replied STOP)",
        21612 => "Twilio cannot route to this number",
        21614 => "not a mobile number",
        21617 => "the text is too long",
        _ => return None,
    })
}

/// Refusals Twilio documents as final for the message as addressed: sending
/// it again can never work. Every other refusal — bad credentials, an
/// account suspended, a `404` from a wrong API base, a `4xx` without a code —
/// is something an operator can fix, so the text waits and is retried rather
/// than lost.
const FINAL_REFUSALS: &[u32] = &[
    21211, // invalid 'To' number
    21217, // phone number does not appear to be valid
    21408, // permission to send to this region is not enabled (for this number's country)
    21610, // the recipient replied STOP
    21612, // the 'To' number is not reachable by SMS
    21614, // 'To' is not a mobile number
    21617, // the body exceeds the length limit
];

/// Whether Twilio's answer refuses this message for good.
fn is_final_refusal(status: reqwest::StatusCode, code: Option<u32>) -> bool {
    status == reqwest::StatusCode::BAD_REQUEST && code.is_some_and(|c| FINAL_REFUSALS.contains(&c))
}

impl TwilioClient {
    /// A client sending from `from` through account `account_sid` at `api_base`,
    /// asking for delivery reports at `status_callback`.
    pub fn new(
        api_base: &str,
        account_sid: &str,
        auth_token: SecretString,
        from: &str,
        status_callback: Option<String>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        // No redirects: credentials go to the configured API and nowhere else.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        let base = format!(
            "{}/2010-04-01/Accounts/{account_sid}",
            api_base.trim_end_matches('/')
        );
        Ok(Self {
            http,
            messages_url: format!("{base}/Messages.json"),
            calls_url: format!("{base}/Calls.json"),
            call_status_callback: None,
            account_sid: account_sid.to_owned(),
            auth_token,
            from: from.to_owned(),
            status_callback,
        })
    }

    /// Ask for call pages' progress at `url` (our `/twilio/voice/page/status`).
    pub fn with_call_status_callback(mut self, url: String) -> Self {
        self.call_status_callback = Some(url);
        self
    }

    /// One attempt to send an SMS.
    pub async fn send_sms(&self, to: &str, body: &str) -> SendOutcome {
        self.sms(to, body, None).await
    }

    /// One attempt to send an SMS that Twilio drops (status `failed`) if
    /// it is still in its queue `valid_for` after this (`ValidityPeriod`,
    /// whole seconds from 1 to 36,000: Twilio's range).
    pub async fn send_sms_valid_for(
        &self,
        to: &str,
        body: &str,
        valid_for: Duration,
    ) -> SendOutcome {
        self.sms(to, body, Some(valid_for)).await
    }

    async fn sms(&self, to: &str, body: &str, valid_for: Option<Duration>) -> SendOutcome {
        let mut form = vec![("To", to), ("From", self.from.as_str()), ("Body", body)];
        if let Some(cb) = &self.status_callback {
            form.push(("StatusCallback", cb.as_str()));
        }
        let validity = valid_for.map(|v| v.as_secs().clamp(1, 36_000).to_string());
        if let Some(validity) = &validity {
            form.push(("ValidityPeriod", validity.as_str()));
        }
        self.create(&self.messages_url, &form).await
    }

    /// One attempt to place a call page to `to`: when it is answered,
    /// Twilio fetches `url` for what to say, telling us (`AnsweredBy`)
    /// whether a person or a machine answered.
    pub async fn place_call(&self, to: &str, url: &str) -> SendOutcome {
        let mut form = vec![
            ("To", to),
            ("From", self.from.as_str()),
            ("Url", url),
            ("MachineDetection", "Enable"),
            ("Timeout", "25"),
        ];
        if let Some(cb) = &self.call_status_callback {
            form.push(("StatusCallback", cb.as_str()));
            for event in ["initiated", "ringing", "answered", "completed"] {
                form.push(("StatusCallbackEvent", event));
            }
        }
        self.create(&self.calls_url, &form).await
    }

    /// Whether Twilio placed a call from our number to `to` on or after
    /// `since`'s date: asked before placing again a call page whose last
    /// attempt may have gone. A call placed to that person since counts.
    pub async fn find_call(&self, to: &str, since: Instant) -> Lookup {
        let list: CallList = match self
            .list(&self.calls_url, "call", to, ("StartTime>", since), "20")
            .await
        {
            Ok(list) => list,
            Err(unknown) => return unknown,
        };
        match list.calls.into_iter().next() {
            Some(c) => Lookup::Sent { provider_id: c.sid },
            None => Lookup::NotSent,
        }
    }

    /// A recording's address at Twilio, with this ending (`.json`, `.mp3`).
    fn recording_url(&self, recording_sid: &str, ending: &str) -> String {
        format!(
            "{}/Recordings/{recording_sid}{ending}",
            self.calls_url.trim_end_matches("/Calls.json")
        )
    }

    /// A recording's audio, as MP3, fetched with the account's credentials.
    pub async fn fetch_recording(
        &self,
        recording_sid: &str,
    ) -> Result<Vec<u8>, crate::channels::voice::RecordingError> {
        use crate::channels::voice::RecordingError;
        let response = self
            .http
            .get(self.recording_url(recording_sid, ".mp3"))
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .send()
            .await
            .map_err(|e| RecordingError::Unreachable(without_url(&e)))?;
        if !response.status().is_success() {
            return Err(RecordingError::Refused(response.status()));
        }
        response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| RecordingError::Unread(without_url(&e)))
    }

    /// Delete a recording: `204`, or `404` when it is gone already, is done.
    pub async fn delete_recording(&self, recording_sid: &str) -> SendOutcome {
        let url = self.recording_url(recording_sid, ".json");
        let response = self
            .http
            .delete(&url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() || r.status() == reqwest::StatusCode::NOT_FOUND => {
                SendOutcome::Accepted {
                    provider_id: recording_sid.to_owned(),
                }
            }
            // Anything else (credentials, an outage) is for an operator to
            // fix: the recording is not forgotten, the delete is retried.
            Ok(r) => SendOutcome::Retryable {
                reason: format!("Twilio {} when deleting a recording", r.status()),
                retry_after: None,
            },
            Err(e) => SendOutcome::Retryable {
                reason: format!("cannot reach Twilio: {}", without_url(&e)),
                retry_after: None,
            },
        }
    }

    /// POST a form that creates something (a message, a call) and classify the answer.
    async fn create(&self, url: &str, form: &[(&str, &str)]) -> SendOutcome {
        let response = self
            .http
            .post(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(form)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                let reason = if e.is_timeout() {
                    "Twilio did not answer in time".to_owned()
                } else {
                    format!("cannot reach Twilio: {}", without_url(&e))
                };
                return SendOutcome::Retryable {
                    reason,
                    retry_after: None,
                };
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            return match serde_json::from_str::<Created>(&text) {
                Ok(created) => SendOutcome::Accepted {
                    provider_id: created.sid,
                },
                Err(_) => SendOutcome::Retryable {
                    reason: format!("Twilio answered {status} without an id"),
                    retry_after: None,
                },
            };
        }
        // Twilio's own message can quote the number it refused, so it is not
        // repeated here: reasons reach logs. The code says what went wrong.
        let code = serde_json::from_str::<TwilioError>(&text)
            .ok()
            .and_then(|e| e.code);
        let what = code.and_then(describe).unwrap_or("");
        let reason = match code {
            Some(c) => format!(
                "Twilio {status}, error {c}{}{what}",
                if what.is_empty() { "" } else { ": " }
            ),
            None => format!("Twilio {status}"),
        };
        if is_final_refusal(status, code) {
            SendOutcome::Permanent { code, reason }
        } else {
            SendOutcome::Retryable {
                reason,
                retry_after,
            }
        }
    }
}

impl TwilioClient {
    /// Whether Twilio has a message with exactly `body` from our number to
    /// `to`, sent on or after `since`'s date (UTC, as Twilio filters).
    pub async fn find_sms(&self, to: &str, body: &str, since: Instant) -> Lookup {
        let list: MessageList = match self
            .list(
                &self.messages_url,
                "message",
                to,
                ("DateSent>", since),
                "100",
            )
            .await
        {
            Ok(list) => list,
            Err(unknown) => return unknown,
        };
        match list
            .messages
            .into_iter()
            .find(|m| m.body.as_deref() == Some(body))
        {
            Some(m) => Lookup::Sent { provider_id: m.sid },
            None => Lookup::NotSent,
        }
    }

    /// The first `page_size` of Twilio's list at `url` (of `what`: calls or
    /// messages) from our number to `to`, on or after the date of `since`
    /// (UTC, as Twilio filters, under the name the list gives the filter);
    /// else what cannot be known, and why.
    async fn list<L: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        what: &str,
        to: &str,
        (date_filter, since): (&str, Instant),
        page_size: &str,
    ) -> Result<L, Lookup> {
        let date = since.date_naive().format("%Y-%m-%d").to_string();
        let response = self
            .http
            .get(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .query(&[
                ("To", to),
                ("From", self.from.as_str()),
                (date_filter, date.as_str()),
                ("PageSize", page_size),
            ])
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => r.json::<L>().await.map_err(|_| Lookup::Unknown {
                reason: format!("Twilio's {what} list could not be read"),
            }),
            Ok(r) => Err(Lookup::Unknown {
                reason: format!("Twilio {} when listing {what}s", r.status()),
            }),
            Err(e) => Err(Lookup::Unknown {
                reason: format!("cannot reach Twilio: {}", without_url(&e)),
            }),
        }
    }
}

/// A transport error without the URL (which holds the account SID).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "Twilio");
    }
    text
}

impl SmsSender for TwilioClient {
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> SendFuture<'a> {
        Box::pin(self.send_sms(to, body))
    }

    fn send_valid_for<'a>(
        &'a self,
        to: &'a str,
        body: &'a str,
        valid_for: Duration,
    ) -> SendFuture<'a> {
        Box::pin(self.send_sms_valid_for(to, body, valid_for))
    }

    fn find<'a>(&'a self, to: &'a str, body: &'a str, since: Instant) -> LookupFuture<'a> {
        Box::pin(self.find_sms(to, body, since))
    }

    fn name(&self) -> &'static str {
        "twilio"
    }
}

impl crate::channels::voice::CallPlacer for TwilioClient {
    fn place<'a>(&'a self, to: &'a str, url: &'a str) -> SendFuture<'a> {
        Box::pin(self.place_call(to, url))
    }

    fn find<'a>(&'a self, to: &'a str, since: Instant) -> LookupFuture<'a> {
        Box::pin(self.find_call(to, since))
    }

    fn delete_recording<'a>(&'a self, recording_sid: &'a str) -> SendFuture<'a> {
        Box::pin(TwilioClient::delete_recording(self, recording_sid))
    }

    fn fetch_recording<'a>(
        &'a self,
        recording_sid: &'a str,
    ) -> crate::channels::voice::RecordingFuture<'a> {
        Box::pin(TwilioClient::fetch_recording(self, recording_sid))
    }

    fn name(&self) -> &'static str {
        "twilio"
    }
}
