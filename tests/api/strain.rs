//! The service under strain or attack: it keeps saying truthfully whether it
//! can take a webhook, and keeps answering health checks and Twilio.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::fake_twilio::twilio_signature;
use crate::support::nightingale::{AUTH_TOKEN, OUR_NUMBER, PUBLIC_URL, STRANGER, TestApp};

/// Read until the server closes the connection (or resets it).
async fn until_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

#[tokio::test]
async fn readyz_says_no_while_the_store_cannot_take_a_write_and_healthz_stays_up() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    // Another process takes the store's write lock and keeps it (as a stuck
    // maintenance job would): reads still work, writes cannot commit.
    let other = rusqlite::Connection::open(app.store_path()).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let (ready, health, webhook) = tokio::join!(
        app.get("/readyz"),
        app.get("/healthz"),
        app.text(STRANGER, "Is anyone there?")
    );
    assert_eq!(webhook.status(), 503, "the webhook cannot be stored");
    assert_eq!(health.status(), 200, "the process is up");
    assert_eq!(ready.status(), 503, "so it is not ready");
    assert_eq!(
        ready.text().await.unwrap(),
        "not ready: the store cannot take a write\n"
    );

    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(app.get("/readyz").await.status(), 200);
    assert_eq!(app.text(STRANGER, "Is anyone there?").await.status(), 200);
}

#[tokio::test]
async fn a_slow_loris_attack_does_not_silence_health_checks_or_twilio() {
    let header_timeout = Duration::from_secs(2);
    let app = TestApp::spawn_with("2026-11-27T19:05", move |c| {
        c.max_connections = 4;
        c.header_timeout = header_timeout;
    })
    .await;
    // Twelve clients each send half a request header and stop: more than
    // the four ordinary connections, so eight sit in the health reserve.
    let mut loris = Vec::new();
    for _ in 0..12 {
        let mut stream = TcpStream::connect(app.socket_address()).await.unwrap();
        stream
            .write_all(b"POST /twilio/sms HTTP/1.1\r\nHost: nightingale.test\r\nX-Wait-For-It: ")
            .await
            .unwrap();
        loris.push(stream);
    }
    let attack = Instant::now();

    // The load balancer's check still gets an answer, from the reserve.
    let health = reqwest::get(format!("{}/healthz", app.address))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // Twilio is told at once to come back, not left hanging with the attackers.
    let sid = app.twilio.new_sid();
    let busy = app.text_with_sid(&sid, STRANGER, "Is anyone there?").await;
    assert_eq!(busy.status(), 503);
    assert!(attack.elapsed() < header_timeout, "refused quickly");

    // Each half-sent request is cut off once the header timeout passes.
    for stream in &mut loris {
        tokio::time::timeout(
            header_timeout + Duration::from_secs(3),
            until_closed(stream),
        )
        .await
        .expect("the server closes a connection that never finishes its headers");
    }
    assert!(attack.elapsed() >= header_timeout, "not before the timeout");

    // Twilio's retry of the same message gets through.
    let retry = app.text_with_sid(&sid, STRANGER, "Is anyone there?").await;
    assert_eq!(retry.status(), 200);
    app.settle().await;
    assert_eq!(
        app.twilio.messages_to(STRANGER).len(),
        1,
        "the sender is answered"
    );
}

#[tokio::test]
async fn a_webhook_half_sent_when_the_service_stops_is_still_stored_and_answered() {
    let mut app = TestApp::spawn("2026-11-27T19:05").await;
    let params = app.twilio.inbound_sms_params(
        &app.twilio.new_sid(),
        STRANGER,
        OUR_NUMBER,
        "Is anyone there?",
    );
    let signature = twilio_signature(AUTH_TOKEN, &format!("{PUBLIC_URL}/twilio/sms"), &params);
    let body = serde_urlencoded::to_string(&params).unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(app.socket_address()).await.unwrap();
    let head = format!(
        "POST /twilio/sms HTTP/1.1\r\nHost: nightingale.test\r\nX-Twilio-Signature: {signature}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();

    // SIGTERM arrives: the server stops taking new connections...
    app.begin_stop();
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(app.socket_address()).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting after the stop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...but the request in flight finishes.
    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    app.stopped().await;
    assert_eq!(
        app.pending_inbound().len(),
        1,
        "and what it carried is stored"
    );
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408_after_the_body_timeout() {
    let app = TestApp::spawn_with("2026-11-27T19:05", |c| {
        c.body_timeout = Duration::from_secs(1);
    })
    .await;
    let head = "POST /twilio/sms HTTP/1.1\r\nHost: nightingale.test\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n";
    let answer = app
        .send_partial(head, b"MessageSid=SM1&Body=half", Duration::from_secs(5))
        .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
}

#[tokio::test]
async fn a_webhook_stuck_behind_a_locked_store_is_answered_at_the_request_timeout() {
    let app = TestApp::spawn_with("2026-11-27T19:05", |c| {
        c.request_timeout = Duration::from_secs(1);
    })
    .await;
    let other = rusqlite::Connection::open(app.store_path()).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let asked = Instant::now();
    let response = app.text(STRANGER, "Is anyone there?").await;
    // Twilio is told to retry well before the store's own 5 s lock wait ends.
    assert_eq!(response.status(), 503);
    assert!(
        asked.elapsed() < Duration::from_secs(4),
        "{:?}",
        asked.elapsed()
    );
    other.execute_batch("ROLLBACK").unwrap();
}
