//! Nightingale's Twilio REST client against the fake: what it sends, and how
//! it reads each kind of answer. One attempt per call; retrying is the outbox's job.

use std::time::Duration;

use nightingale::channels::SendOutcome;
use nightingale::channels::twilio::TwilioClient;
use secrecy::SecretString;

use crate::support::fake_twilio::FakeTwilio;
use crate::support::nightingale::{ACCOUNT_SID, AUTH_TOKEN};

fn client(fake: &FakeTwilio, token: &str) -> TwilioClient {
    TwilioClient::new(
        fake.base_url(),
        ACCOUNT_SID,
        SecretString::from(token),
        "+447700900000",
        Some("https://nightingale.test/twilio/sms/status".into()),
        Duration::from_secs(5),
    )
    .unwrap()
}

#[tokio::test]
async fn a_message_is_sent_with_basic_auth_and_a_status_callback() {
    let fake = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let outcome = client(&fake, AUTH_TOKEN)
        .send_sms("+447700900801", "Hello Margaret")
        .await;
    let sent = fake.messages();
    assert_eq!(
        outcome,
        SendOutcome::Accepted {
            provider_id: sent[0].sid.clone()
        }
    );
    assert!(sent[0].sid.starts_with("SM") && sent[0].sid.len() == 34);
    assert_eq!(
        (
            sent[0].to.as_str(),
            sent[0].from.as_str(),
            sent[0].body.as_str()
        ),
        ("+447700900801", "+447700900000", "Hello Margaret")
    );
    assert_eq!(
        sent[0].status_callback.as_deref(),
        Some("https://nightingale.test/twilio/sms/status")
    );
}

#[tokio::test]
async fn each_kind_of_failure_is_read_as_retryable_or_permanent() {
    let fake = FakeTwilio::start(ACCOUNT_SID, AUTH_TOKEN).await;
    let wrong = client(&fake, "wrong-token")
        .send_sms("+447700900801", "x")
        .await;
    // Bad credentials are for an operator to fix: the text waits, it is not lost.
    assert!(
        matches!(&wrong, SendOutcome::Retryable { reason, .. } if reason.contains("authentication failed")),
        "{wrong:?}"
    );

    let good = client(&fake, AUTH_TOKEN);
    fake.fail_next(1, 503, 20500);
    assert!(matches!(
        good.send_sms("+447700900801", "x").await,
        SendOutcome::Retryable {
            retry_after: None,
            ..
        }
    ));
    fake.fail_next(1, 429, 20429);
    let limited = good.send_sms("+447700900801", "x").await;
    assert!(
        matches!(limited, SendOutcome::Retryable { retry_after: Some(d), .. } if d == Duration::from_secs(2)),
        "{limited:?}"
    );
    assert!(
        matches!(
            good.send_sms("+447700900801", "x").await,
            SendOutcome::Accepted { .. }
        ),
        "Twilio has recovered"
    );

    fake.reject_number("+447700900802", 21610);
    let refused = good.send_sms("+447700900802", "x").await;
    let SendOutcome::Permanent { code, reason } = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(code, Some(21610));
    assert!(reason.contains("opted out"), "{reason}");
    // Only refusals Twilio documents as final end a text: a 400 with a code
    // that says nothing about the number, or none at all, is retried.
    fake.fail_next(1, 400, 21606);
    let unclear = good.send_sms("+447700900801", "x").await;
    assert!(
        matches!(unclear, SendOutcome::Retryable { .. }),
        "{unclear:?}"
    );
    fake.fail_next(1, 404, 20404);
    let not_found = good.send_sms("+447700900801", "x").await;
    assert!(
        matches!(not_found, SendOutcome::Retryable { .. }),
        "{not_found:?}"
    );
    fake.fail_next(1, 400, 21211);
    let invalid = good.send_sms("+447700900801", "x").await;
    assert!(
        matches!(
            invalid,
            SendOutcome::Permanent {
                code: Some(21211),
                ..
            }
        ),
        "{invalid:?}"
    );
    assert!(
        !reason.contains("900802"),
        "the number Twilio quotes stays out of the reason (it reaches logs): {reason}"
    );
}

#[tokio::test]
async fn an_unreachable_twilio_is_retryable() {
    let nowhere = TwilioClient::new(
        "http://127.0.0.1:9",
        ACCOUNT_SID,
        SecretString::from(AUTH_TOKEN),
        "+447700900000",
        None,
        Duration::from_millis(500),
    )
    .unwrap();
    let outcome = nowhere.send_sms("+447700900801", "x").await;
    assert!(
        matches!(&outcome, SendOutcome::Retryable { reason, .. } if reason.starts_with("cannot reach Twilio")),
        "{outcome:?}"
    );
    assert!(
        !format!("{outcome:?}").contains(ACCOUNT_SID),
        "the account SID in the URL is not repeated"
    );
}
