//! The service under strain or attack: it keeps saying truthfully whether it
//! can take a webhook, and keeps answering health checks and Twilio.

use crate::support::nightingale::{STRANGER, TestApp};

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
