//! What an operator's log holds, read from a real `nightingale serve`
//! process: a sender cannot write into it (control characters arrive
//! escaped), and a calendar feed's secret path is never in it.

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::time::{Duration, Instant};

use support::serve_process::ServeProcess;
use support::smtp::SmtpClient;

/// A free local port, for a listener whose address the log does not give.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `nightingale serve` on a fresh store in `dir`, with these settings too.
fn serve(dir: &std::path::Path, settings: &[(&str, String)]) -> ServeProcess {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = vec![
        (
            "NIGHTINGALE_STORE",
            format!("sqlite://{}", dir.join("n.db").display()),
        ),
        (
            "NIGHTINGALE_ROTA_DIR",
            root.join("rota").display().to_string(),
        ),
    ];
    all.extend(settings.iter().cloned());
    ServeProcess::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_nightingale")),
        root,
        &all,
    )
}

/// Wait until the log holds `text`, or fail showing it.
fn wait_for_log(node: &ServeProcess, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = node.log.lock().unwrap().clone();
        if log.contains(text) {
            return log;
        }
        assert!(Instant::now() < deadline, "no {text:?} in the log:\n{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn an_email_whose_message_id_carries_terminal_escapes_is_logged_as_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = format!("127.0.0.1:{}", free_port());
    let node = serve(
        dir.path(),
        &[
            ("NIGHTINGALE_SMTP_LISTEN", smtp.clone()),
            ("NIGHTINGALE_EMAIL_DOMAIN", "nightingale.test".to_owned()),
        ],
    );
    // An attacker's Message-ID: clear the screen, print a forged line in red.
    let id = "<\u{1b}[2J\u{1b}[31mforged\u{7}@evil.example>";
    let message = format!(
        "From: stranger@evil.example\r\nTo: help@nightingale.test\r\nMessage-ID: {id}\r\nSubject: hello\r\n\r\nhello\r\n"
    );
    let reply = SmtpClient::send(
        &smtp,
        "stranger@evil.example",
        &["help@nightingale.test"],
        &message,
    )
    .await;
    assert_eq!(reply.code, 250, "{reply:?}");

    let log = wait_for_log(&node, "email stored");
    assert!(
        !log.contains('\u{1b}') && !log.contains('\u{7}'),
        "raw control characters reached the log:\n{log:?}"
    );
    let line = log.lines().find(|l| l.contains("email stored")).unwrap();
    assert!(
        line.contains(r"\u{1b}[2J\u{1b}[31mforged\u{7}@evil.example"),
        "the id is logged, escaped: {line}"
    );
}

#[tokio::test]
async fn a_calendar_feeds_secret_path_is_in_no_log_line_even_at_trace() {
    let dir = tempfile::tempdir().unwrap();
    let node = serve(dir.path(), &[("NIGHTINGALE_LOG", "trace".to_owned())]);
    let http = reqwest::Client::new();
    let secret = "k7Q2vN9xWb4mPz8sT1yH5cR3dF6gJ0aL";
    for path in [
        format!("/calendar/{secret}.ics"),
        format!("/calendar/{secret}"),
    ] {
        let answer = http
            .get(format!("{}{path}", node.address))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 404, "no such feed");
    }
    // A request after them, so the feed requests' lines are all written.
    let health = http
        .get(format!("{}/healthz", node.address))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let log = wait_for_log(&node, "path=/healthz");
    assert!(log.contains("path=/calendar/[token]"), "{log}");
    assert!(!log.contains(secret), "the feed's token was logged:\n{log}");
}
