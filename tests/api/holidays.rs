//! Whether the published bank holidays still reach a year ahead, as an
//! operator's alerting sees it in `/metrics`.

use chrono::Duration;

use crate::support::nightingale::TestApp;

fn covered_days(metrics: &str, division: &str) -> u32 {
    let line = format!("nightingale_bank_holidays_covered_days{{division=\"{division}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&line))
        .unwrap_or_else(|| panic!("no {line}in\n{metrics}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_shipped_holidays_reach_a_year_ahead_until_the_new_year() {
    // The demo's bank-holidays.json runs to the end of 2027.
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("# TYPE nightingale_bank_holidays_covered_days gauge"),
        "{metrics}"
    );
    for division in ["england-and-wales", "scotland", "northern-ireland"] {
        assert_eq!(covered_days(&metrics, division), 400, "{division}");
    }

    // On 4 January 2027 it no longer covers the next twelve months: an
    // alert on "below 365" fires, and `calendar update` is due.
    app.clock.advance(Duration::days(38));
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert_eq!(covered_days(&metrics, "scotland"), 362);
}
