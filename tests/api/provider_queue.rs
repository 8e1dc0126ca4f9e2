//! A page never waits behind bulk texts (issue 21, ADR 31). Twilio sends
//! from each number first in first out at the number's rate; the fake
//! models that queue on the test's clock, so each text says when it would
//! reach the handset. Nightingale hands over about a second's worth at a
//! time, most urgent first, and bulk waits in its own outbox.

use std::sync::Arc;

use chrono::Duration;
use futures_util::StreamExt;
use serde_json::json;

use crate::night::metric;
use crate::support::nightingale::{NowInstant, TestApp};

/// The community evening nurse on call on Friday 27 November.
const KIRAN: &str = "+447700900213";
/// The district nursing team leader on call that week (level 2).
const HANNAH: &str = "+447700900202";
/// What Twilio gives a UK long code, in segments a second.
const MPS: u32 = 10;

/// A Nightingale sending at [`MPS`], and a fake Twilio modelling its queue
/// at the same rate on the test's clock.
async fn at_a_uk_long_codes_rate(now: &str) -> TestApp {
    let app = TestApp::spawn_with(now, |c| c.twilio_mps = MPS).await;
    let clock = app.clock.clone();
    app.twilio
        .model_queues(MPS, Arc::new(move || clock.now_instant()));
    app
}

/// The `n`th of the patients enrolled at once: a UK mobile of their own
/// (the fake sends nothing anywhere).
fn patient_phone(n: usize) -> String {
    format!("+447911{:06}", 100_000 + n)
}

/// Enrol `count` patients with `service` at once, as a discharge system
/// catching up would, discharged at `discharged`.
async fn enrol_at_once(app: &TestApp, count: usize, service: &str, discharged: &str) {
    futures_util::stream::iter(0..count)
        .map(|n| async move {
            let response = app
                .enrol(&json!({
                    "patient": {"name": format!("Patient {n}"), "phone": patient_phone(n)},
                    "service": service,
                    "discharged_at": discharged,
                }))
                .await;
            assert_eq!(
                response.status(),
                201,
                "enrolling patient {n}: {}",
                response.text().await.unwrap()
            );
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

#[tokio::test]
async fn a_page_during_a_5000_welcome_burst_goes_first() {
    // Friday 27 November, 19:00: a discharge system catching up enrols
    // 5,000 patients at once; each is owed a welcome text.
    let app = at_a_uk_long_codes_rate("2026-11-27T19:00").await;
    enrol_at_once(
        &app,
        5_000,
        "community-nursing-north",
        "2026-11-27T16:00:00Z",
    )
    .await;
    app.settle().await;
    // Twilio was handed about a second's worth, no more: the rest wait in
    // Nightingale's outbox.
    let handed: usize = app.twilio.messages().iter().map(|m| m.segments).sum();
    assert!(
        (1..=MPS as usize + 2).contains(&handed),
        "{handed} segments handed over at once"
    );
    // Each welcome may wait at Twilio no longer than its validity period.
    assert!(
        app.twilio
            .messages()
            .iter()
            .all(|m| m.validity_period == Some(7_200))
    );
    // Welcomes go on at the number's rate while time passes.
    for _ in 0..30 {
        app.clock.advance(Duration::seconds(1));
        app.settle().await;
    }
    let welcomes = app.twilio.messages().len();
    let segments: usize = app.twilio.messages().iter().map(|m| m.segments).sum();
    assert!(
        (300..=MPS as usize * 31 + 2).contains(&segments),
        "{segments} segments in 30 s"
    );

    // 19:00:30, Twilio's queue a second long: one of them texts with
    // chest pain.
    let wrote_at = app.clock.now_instant();
    let response = app
        .text(
            &patient_phone(4_321),
            "Chest pain and sweating since tea time",
        )
        .await;
    assert_eq!(response.status(), 200);
    app.settle().await;

    // The nurse's page went to Twilio at once, behind no more than a
    // second's worth of welcomes, and reaches her phone within 5 s.
    let page = app.twilio.messages_to(KIRAN);
    assert_eq!(
        page.len(),
        1,
        "one page to the nurse on call; the last sent: {:?}",
        app.twilio
            .messages()
            .iter()
            .rev()
            .take(4)
            .map(|m| (&m.to, &m.body))
            .collect::<Vec<_>>()
    );
    let reaches = page[0].reaches_handset_at.expect("the page is sent");
    assert!(
        reaches - wrote_at <= Duration::seconds(5),
        "the page reaches the nurse {} s after the patient's text",
        (reaches - wrote_at).num_milliseconds() as f64 / 1000.0
    );
    assert_eq!(page[0].validity_period, None, "a page never expires");
    // So does the patient's own answer, behind their welcome (their texts
    // keep their order, and the welcome goes as urgently as the answer).
    let to_patient = app.twilio.messages_to(&patient_phone(4_321));
    assert_eq!(to_patient.len(), 2, "the welcome, then the answer");
    assert!(
        to_patient[1].body.contains("999"),
        "the answer to a red flag: {}",
        to_patient[1].body
    );
    assert!(to_patient[1].reaches_handset_at.unwrap() - wrote_at <= Duration::seconds(5));
    // Chest pain is a red flag: the team leader is paged at once too.
    let second = app.twilio.messages_to(HANNAH);
    assert_eq!(second.len(), 1);
    assert!(second[0].reaches_handset_at.unwrap() - wrote_at <= Duration::seconds(5));
    // Only those four texts jumped the queue.
    assert_eq!(app.twilio.messages().len(), welcomes + 4);

    // /metrics shows it: no urgent text waits, the welcomes not yet handed
    // over wait as bulk, due since 19:00, and the budget's rate and the
    // segments handed over under it.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let sent = app.twilio.messages();
    assert_eq!(
        metric(&metrics, "nightingale_outbox_due{priority=\"urgent\"}"),
        0.0
    );
    assert_eq!(
        metric(
            &metrics,
            "nightingale_outbox_oldest_due_seconds{priority=\"urgent\"}"
        ),
        0.0
    );
    let welcomes_sent = sent.iter().filter(|m| m.to.starts_with("+447911")).count();
    assert_eq!(
        metric(&metrics, "nightingale_outbox_due{priority=\"bulk\"}"),
        (5_000 - (welcomes_sent - 1)) as f64,
        "every welcome not handed over (one text to the patients' numbers is the answer)"
    );
    assert!(
        (30.0..=35.0).contains(&metric(
            &metrics,
            "nightingale_outbox_oldest_due_seconds{priority=\"bulk\"}"
        )),
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, "nightingale_send_budget_segments_per_second"),
        f64::from(MPS)
    );
    assert_eq!(
        metric(&metrics, "nightingale_send_budget_segments_total"),
        sent.iter().map(|m| m.segments).sum::<usize>() as f64
    );
    assert!(
        metrics.contains("# TYPE nightingale_send_budget_segments_total counter"),
        "{metrics}"
    );
}

#[tokio::test]
async fn check_ins_spread_over_their_window() {
    // Tuesday 24 November, 03:00: a busy night, 2,000 discharges from
    // 02:00. Each is owed a check-in 24 hours on, at 02:00, which is night:
    // they go in the morning, spread from 09:00 to 11:00, not all at 09:00.
    let app = at_a_uk_long_codes_rate("2026-11-24T03:00").await;
    enrol_at_once(
        &app,
        2_000,
        "community-nursing-north",
        "2026-11-24T02:00:00Z",
    )
    .await;
    app.clock.advance(Duration::hours(1));
    app.settle().await;
    let nine = nightingale::calendar::parse_instant("2026-11-25T09:00").unwrap();
    let due: Vec<i64> = {
        let db = rusqlite::Connection::open(app.store_path()).unwrap();
        let mut rows = db
            .prepare("SELECT due_at FROM notices WHERE key LIKE 'check_in/%'")
            .unwrap();
        rows.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(due.len(), 2_000);
    let mut per_minute = std::collections::BTreeMap::<i64, usize>::new();
    for at in &due {
        *per_minute
            .entry((at - nine.timestamp_millis()) / 60_000)
            .or_default() += 1;
    }
    assert_eq!(
        per_minute.keys().copied().collect::<Vec<_>>(),
        (0..120).collect::<Vec<_>>(),
        "every minute from 09:00 to 10:59 has check-ins, and no other"
    );
    let busiest = per_minute.values().max().copied().unwrap();
    assert!(busiest <= 40, "{busiest} check-ins in one minute");

    // The first ten minutes, a second at a time: each check-in reaches its
    // patient within seconds of its time, and a page at 09:05 goes first.
    app.clock.set(nine - Duration::seconds(1));
    app.settle().await;
    let sent_before = app.twilio.messages().len();
    let mut wrote_at = None;
    for second in 0..600 {
        app.clock.advance(Duration::seconds(1));
        if second == 300 {
            wrote_at = Some(app.clock.now_instant());
            let response = app
                .text(
                    &patient_phone(1_234),
                    "Chest pain and sweating since I woke",
                )
                .await;
            assert_eq!(response.status(), 200);
        }
        app.settle().await;
    }
    let check_ins: Vec<_> = app.twilio.messages()[sent_before..]
        .iter()
        .filter(|m| m.body.contains("How are you today?"))
        .cloned()
        .collect();
    let first_ten = due
        .iter()
        .filter(|at| **at < nine.timestamp_millis() + 600_000)
        .count();
    assert!(
        check_ins.len() + 2 >= first_ten,
        "{} of {first_ten} check-ins due by 09:10 sent",
        check_ins.len()
    );
    for check_in in &check_ins {
        assert_eq!(check_in.validity_period, Some(7_200));
        let waited = check_in.reaches_handset_at.unwrap() - check_in.queued_at.unwrap();
        assert!(
            waited <= Duration::seconds(2),
            "a check-in waited {waited} at Twilio"
        );
    }
    let wrote_at = wrote_at.unwrap();
    let pages: Vec<_> = app
        .twilio
        .messages()
        .into_iter()
        .filter(|m| m.body.contains("Chest pain and sweating") && m.to != patient_phone(1_234))
        .collect();
    assert!(!pages.is_empty(), "the team is paged");
    for page in pages {
        let reaches = page.reaches_handset_at.unwrap();
        assert!(
            reaches - wrote_at <= Duration::seconds(5),
            "a page reaches {} {} s after the text",
            page.to,
            (reaches - wrote_at).num_milliseconds() as f64 / 1000.0
        );
    }
}
