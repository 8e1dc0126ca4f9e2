//! When a page would reach the handset while bulk texts go out (issue 21,
//! ADR 31), measured from outside Nightingale: a real server on a random
//! port, a fresh store, the demo trust, and the fake Twilio speaking
//! Twilio's REST API and modelling Twilio's queue per sending number
//! (first in first out at `M` segments a second, a text dropped once it
//! waits past its `ValidityPeriod`). Time is the injected clock, moved a
//! second at a time with the engine settled after each step, so the
//! figures are the same on any machine and need no hours of waiting: the
//! only thing modelled is Twilio's queue, which no machine of ours runs.
//!
//! 1. `burst N`: at 19:00 on a Friday a discharge system enrols N patients
//!    at once (N two-segment welcomes), and one second later a patient
//!    texts "chest pain and sweating". When would the pages reach the
//!    nurses' handsets? With `NIGHTINGALE_TWILIO_MPS` unset to a rate
//!    Nightingale cannot reach ("no budget": everything handed over at
//!    once, as before ADR 31) and at M.
//! 2. `morning`: 2,000 discharges of one night (their welcomes go in the
//!    night), each owed a check-in 24 h on, at night, so in the morning
//!    window; a patient texts at 09:00:30.
//!
//! Run: `cargo bench --bench provider_queue` (prints one line a figure;
//! `docs/benchmarks.md` records them).

mod support {
    #[path = "../../tests/support/fake_twilio.rs"]
    #[allow(dead_code)]
    pub mod fake_twilio;
    #[path = "../../tests/support/nightingale.rs"]
    pub mod nightingale;
    #[path = "../../tests/support/phone.rs"]
    pub mod phone;
    #[path = "../../tests/support/smtp.rs"]
    pub mod smtp;
}

use std::sync::Arc;

use chrono::Duration;
use futures_util::StreamExt;
use serde_json::json;
use support::nightingale::{NowInstant, TestApp};

/// The rate the fake's queue sends at, segments a second: a UK long code's.
const M: u32 = 10;

/// A patient's number of their own (the fake sends nothing anywhere).
fn patient_phone(n: usize) -> String {
    format!("+447911{:06}", 100_000 + n)
}

/// A Nightingale on the clock at `now` with a send budget of `mps`, and
/// the fake modelling Twilio's queue at [`M`].
async fn app(now: &str, mps: u32) -> TestApp {
    let app = TestApp::spawn_with(now, move |c| c.twilio_mps = mps).await;
    let clock = app.clock.clone();
    app.twilio
        .model_queues(M, Arc::new(move || clock.now_instant()));
    app
}

async fn enrol_at_once(app: &TestApp, count: usize, discharged: &str) {
    futures_util::stream::iter(0..count)
        .map(|n| async move {
            let response = app
                .enrol(&json!({
                    "patient": {"name": "Patient", "phone": patient_phone(n)},
                    "service": "community-nursing-north",
                    "discharged_at": discharged,
                }))
                .await;
            assert_eq!(response.status(), 201);
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

/// The patient `n` texts chest pain now; the engine settles. When each
/// page (to anyone but the patient) would reach the handset, in seconds
/// after the text, the latest first; and the segments handed over before
/// the first page.
async fn chest_pain(app: &TestApp, n: usize) -> (f64, usize) {
    let wrote_at = app.clock.now_instant();
    let before = app.twilio.messages().len();
    let response = app
        .text(&patient_phone(n), "Chest pain and sweating since tea time")
        .await;
    assert_eq!(response.status(), 200);
    app.settle().await;
    let sent = app.twilio.messages();
    let pages: Vec<_> = sent[before..]
        .iter()
        .filter(|m| m.body.contains("Chest pain and sweating") && m.to != patient_phone(n))
        .collect();
    assert!(!pages.is_empty(), "nobody was paged");
    let ahead: usize = sent
        .iter()
        .take_while(|m| !(m.body.contains("Chest pain and sweating") && m.to != patient_phone(n)))
        .map(|m| m.segments)
        .sum();
    let latest = pages
        .iter()
        .map(|p| p.reaches_handset_at.expect("a page is never dropped") - wrote_at)
        .max()
        .unwrap();
    (latest.num_milliseconds() as f64 / 1000.0, ahead)
}

async fn burst(n: usize, mps: u32) -> (f64, usize) {
    let app = app("2026-11-27T19:00", mps).await;
    enrol_at_once(&app, n, "2026-11-27T16:00:00Z").await;
    app.settle().await;
    app.clock.advance(Duration::seconds(1));
    app.settle().await;
    chest_pain(&app, n / 2).await
}

async fn morning(mps: u32) -> (f64, usize, usize) {
    let app = app("2026-11-24T03:00", mps).await;
    enrol_at_once(&app, 2_000, "2026-11-24T02:00:00Z").await;
    // The night passes: their welcomes (4,000 segments) go, at the budget's
    // rate or all at once, and Twilio's queue drains, long before 09:00.
    for _ in 0..450 {
        app.settle().await;
        app.clock.advance(Duration::seconds(1));
    }
    app.settle().await;
    let nine = nightingale::calendar::parse_instant("2026-11-25T09:00").unwrap();
    app.clock.set(nine - Duration::seconds(1));
    app.settle().await;
    for _ in 0..=30 {
        app.clock.advance(Duration::seconds(1));
        app.settle().await;
    }
    let check_ins = app
        .twilio
        .messages()
        .iter()
        .filter(|m| m.body.contains("How are you today?"))
        .count();
    let (page, ahead) = chest_pain(&app, 1_234).await;
    (page, ahead, check_ins)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        // A test runner asking what tests this binary has: none (scripts/test
        // runs the smoke burst with `cargo test --bench provider_queue`).
        return;
    }
    // Under `cargo test` (no `--bench`), a small burst as a smoke test.
    let bench = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if bench { &[500, 5_000] } else { &[50] };
    println!("provider queue modelled at M = {M} segments a second, FIFO per sending number");
    for &n in sizes {
        for (label, mps) in [("no budget", 1_000_000), ("budget 10/s", M)] {
            let (page, ahead) = burst(n, mps).await;
            println!(
                "burst N = {n:>5}, {label:<11}: page reaches the handset {page:>8.1} s after the text ({ahead} segments handed over before it)"
            );
        }
    }
    if bench {
        for (label, mps) in [("no budget", 1_000_000), ("budget 10/s", M)] {
            let (page, _, check_ins) = morning(mps).await;
            println!(
                "2,000-check-in morning, {label:<11}: page at 09:00:30 reaches the handset {page:>6.1} s after the text ({check_ins} check-ins sent 09:00-09:00:30)"
            );
        }
    }
}
