//! Placing calls: a page read out on a clinician's phone.
//!
//! [`CallPlacer`] sits beside [`super::SmsSender`]: one attempt per call,
//! classified the same way ([`SendOutcome`]); retries are the outbox's. The
//! call's words are not given here: when it is answered the provider
//! fetches them from the URL given (our `/twilio/voice/page`), which reads
//! the concern as it stands then.

use std::sync::Mutex;

use super::{Lookup, LookupFuture, SendFuture, SendOutcome};
use crate::clock::Instant;

/// Places calls.
pub trait CallPlacer: Send + Sync + 'static {
    /// Make one attempt to ring `to` (E.164); when answered, the provider
    /// fetches `url` for what to say, with machine detection on.
    fn place<'a>(&'a self, to: &'a str, url: &'a str) -> SendFuture<'a>;

    /// Whether a call to `to` was placed on or after `since`: asked before
    /// placing again a call whose last attempt may have gone.
    fn find<'a>(&'a self, to: &'a str, since: Instant) -> LookupFuture<'a>;

    /// Delete a recording the provider holds (a caller's message past its
    /// retention period). Gone already counts as deleted.
    fn delete_recording<'a>(&'a self, recording_sid: &'a str) -> SendFuture<'a>;

    /// The audio of a recording the provider holds, fetched with the
    /// account's credentials (media authentication on), by its id: a
    /// clinician listens to a caller's message through the page's link.
    fn fetch_recording<'a>(&'a self, recording_sid: &'a str) -> RecordingFuture<'a>;

    /// A name for logs and timelines.
    fn name(&self) -> &'static str;
}

/// A recording's audio (MP3), or why it could not be fetched.
pub type RecordingFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Vec<u8>, RecordingError>> + Send + 'a>,
>;

/// Why a recording's audio could not be fetched. Its words name the
/// provider and the failure, never the recording or the caller.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// No call provider is configured, so none holds recordings.
    #[error("no call provider is configured")]
    NoProvider,
    /// The calls are typed, not spoken (the demo's): there is no audio.
    #[error("in the demo a message is typed, not recorded: its words are the transcription")]
    Typed,
    /// Twilio could not be reached (the cause, with its URL taken out).
    #[error("cannot reach Twilio: {0}")]
    Unreachable(String),
    /// Twilio answered with something other than the audio.
    #[error("Twilio {0} when fetching a recording")]
    Refused(reqwest::StatusCode),
    /// The audio did not arrive whole (the cause, with its URL taken out).
    #[error("recording not read: {0}")]
    Unread(String),
}

/// The placer used when no provider is configured: it rings nobody and
/// records what it would have rung.
#[derive(Debug, Default)]
pub struct RecordingCaller {
    placed: Mutex<Vec<(String, String)>>,
}

impl RecordingCaller {
    /// Calls it was asked to place, as `(to, url)`.
    pub fn recorded(&self) -> Vec<(String, String)> {
        self.placed.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl CallPlacer for RecordingCaller {
    fn place<'a>(&'a self, to: &'a str, url: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            let mut placed = self.placed.lock().unwrap_or_else(|p| p.into_inner());
            placed.push((to.to_owned(), url.to_owned()));
            SendOutcome::Accepted {
                provider_id: format!("RECORDED-CALL-{}", placed.len()),
            }
        })
    }

    fn find<'a>(&'a self, to: &'a str, _since: Instant) -> LookupFuture<'a> {
        Box::pin(async move {
            match self.recorded().iter().position(|(t, _)| t == to) {
                Some(i) => Lookup::Sent {
                    provider_id: format!("RECORDED-CALL-{}", i + 1),
                },
                None => Lookup::NotSent,
            }
        })
    }

    fn delete_recording<'a>(&'a self, recording_sid: &'a str) -> SendFuture<'a> {
        Box::pin(async move {
            SendOutcome::Accepted {
                provider_id: recording_sid.to_owned(),
            }
        })
    }

    fn fetch_recording<'a>(&'a self, _recording_sid: &'a str) -> RecordingFuture<'a> {
        Box::pin(async { Err(RecordingError::NoProvider) })
    }

    fn name(&self) -> &'static str {
        "recorded only (no call provider configured)"
    }
}
