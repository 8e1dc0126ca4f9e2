//! A rota manager on the web in a real Chromium, on a phone: Wendy Clarke,
//! Ward 7's manager, signs in with the code texted to her, sees a gap next
//! Saturday night, is refused an edit that would open another (the gap
//! named), fills hers with an override, and `rota check` finds no gap any
//! more; a cover of the senior clinician, whom other services share, is
//! refused with their managers named. axe-core checks every page.

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::path::PathBuf;

use nightingale::directory::Id;
use nightingale::rota::layer::EditBody;
use nightingale::rota::layer::NewRotaEdit;
use support::browser::Browser;
use support::nightingale::{NowInstant, TestApp};
use support::staff::{browser_app, sign_in_browser};

/// Wendy Clarke, Ward 7's manager, as she types her number.
const WENDY: &str = "07700 900131";

/// `nightingale rota check` for the week ahead, on the app's store.
fn rota_check(app: &TestApp) -> String {
    let out = app.cli(&["rota", "check", "--from", "2026-11-26T17:00", "--days", "7"]);
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Fill the cover form's fields (a date-time box takes typed text
/// differently in each browser; a person picks from it) and save.
async fn cover(browser: &Browser, fields: &[(&str, &str)]) {
    for (id, value) in fields {
        browser
            .client
            .execute(
                "document.getElementById(arguments[0]).value = arguments[1];",
                vec![(*id).into(), (*value).into()],
            )
            .await
            .unwrap();
    }
    browser.press("#override + form button[type=submit]").await;
}

/// Save a cover that is refused: the refusal page's text, once `heading` shows.
async fn save_refused(browser: &Browser, fields: &[(&str, &str)], heading: &str) -> String {
    cover(browser, fields).await;
    browser.wait_for_text("main", heading).await
}

/// Ward 7's week of Saturday 28 November, loaded.
async fn ward_7_this_week(browser: &Browser, app: &TestApp) {
    browser
        .goto(&format!(
            "{}/staff/services/cardiology-ward-7?week=2026-W48",
            app.address
        ))
        .await;
    browser.wait_for_text("main", "Saturday 28 November").await;
}

#[tokio::test]
async fn wendy_fills_saturday_nights_gap_from_her_phone_and_rota_check_agrees() {
    let app = browser_app("2026-11-26T16:55").await;
    // Dafydd Evans, registrar on Saturday, phoned in sick for the night:
    // recorded as an absence, which leaves level 1 to the fallback.
    app.ops
        .make_rota_edit(
            NewRotaEdit {
                service: Id::parse("cardiology-ward-7").unwrap(),
                body: EditBody::Override {
                    covering: None,
                    replacing: Some("dafydd-evans".into()),
                    rotation: None,
                    from: "2026-11-28T20:00:00".parse().unwrap(),
                    until: "2026-11-29T08:00:00".parse().unwrap(),
                },
                reason: "off sick".into(),
                made_by: Id::parse("wendy-clarke").unwrap(),
                made_at: app.clock.now_instant(),
            },
            true,
        )
        .await
        .unwrap();
    let check = rota_check(&app);
    assert!(
        check.contains("Sat 28 Nov 2026 20:00 GMT → Sun 29 Nov 2026 08:00 GMT"),
        "rota check sees the gap: {check}"
    );

    let browser = Browser::start(390, 844, true).await;
    sign_in_browser(&browser, &app, WENDY, "/staff/gaps").await;
    let gaps = browser.wait_for_text("main", "Upcoming gaps").await;
    assert!(gaps.contains("Sat 28 Nov 2026 20:00"), "{gaps}");
    browser.assert_accessible("upcoming gaps").await;

    browser.press("main table a").await;
    let week = browser.wait_for_text("main", "Saturday 28 November").await;
    assert!(
        week.contains("Gap: no reachable level-1 person: the fallback stands in"),
        "{week}"
    );
    browser.assert_accessible("the service's week").await;
    browser
        .client
        .execute(
            "[...document.querySelectorAll('caption')].find(c => c.textContent.startsWith('Saturday')).scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    let png = browser.client.screenshot().await.unwrap();
    let out = std::env::var_os("SCREENSHOT_ROTA_WEEK")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("nightingale-rota-week.png"));
    std::fs::write(&out, png).unwrap();

    // Leaving Chen's Friday night empty would open a gap: refused, named.
    let refused = save_refused(
        &browser,
        &[
            ("covering", ""),
            ("for", "chen-li"),
            ("rotation", ""),
            ("from", "2026-11-27T20:00"),
            ("until", "2026-11-28T08:00"),
            ("reason", "study day"),
        ],
        "This would leave a gap in the rota",
    )
    .await;
    assert!(
        refused.contains("Gap: Fri 27 Nov 20:00 to Sat 28 Nov 08:00"),
        "{refused}"
    );
    browser.assert_accessible("a refused edit").await;

    // Amara covers Dafydd's registrar shift on Saturday night.
    ward_7_this_week(&browser, &app).await;
    cover(
        &browser,
        &[
            ("covering", "amara-okafor"),
            ("for", "dafydd-evans"),
            ("rotation", "cardiology-registrar"),
            ("from", "2026-11-28T20:00"),
            ("until", "2026-11-29T08:00"),
            ("reason", "covering Dafydd"),
        ],
    )
    .await;
    let edits = browser.wait_for_text("main", "covering Dafydd").await;
    assert!(
        edits.contains("Amara Okafor is now on call for 36 hours in a row"),
        "her own shift follows on Sunday: {edits}"
    );
    assert!(
        !edits.contains("Gap:"),
        "the week shows no gap any more: {edits}"
    );
    assert!(edits.contains("Amara Okafor"), "{edits}");
    let check = rota_check(&app);
    assert!(check.contains("no gaps"), "{check}");

    // The senior clinician also stands behind the children's unit and
    // community nursing, which Wendy does not manage: refused, with whom to ask.
    ward_7_this_week(&browser, &app).await;
    let refused = save_refused(
        &browser,
        &[
            ("covering", "umar-farooq"),
            ("for", ""),
            ("rotation", "senior-clinician"),
            ("from", "2026-11-28T20:00"),
            ("until", "2026-11-29T08:00"),
            ("reason", "Tara away"),
        ],
        "This changes other services' rotas",
    )
    .await;
    assert!(
        refused.contains("Children's assessment unit, managed by Dr Olivia Brown"),
        "{refused}"
    );
    browser
        .assert_accessible("an edit reaching other services")
        .await;

    browser.goto(&format!("{}/staff/audit", app.address)).await;
    let audit = browser.wait_for_text("main", "Audit trail").await;
    assert!(
        audit.contains("made: Amara Okafor covers Dafydd Evans on the rotation"),
        "{audit}"
    );
    browser.assert_accessible("the audit trail").await;
    browser.close().await;
}

/// The text of `main` once it shows `wanted`, without reloading (a reload
/// of a page a form posted would post again).
async fn shows(browser: &Browser, wanted: &str) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        if let Ok(main) = browser.client.find(fantoccini::Locator::Css("main")).await {
            text = main.text().await.unwrap_or_default();
            if text.contains(wanted) {
                return text;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the page never showed {wanted:?}: {text}")
}

#[tokio::test]
async fn a_cover_that_ends_before_it_starts_is_shown_on_the_form_with_what_wendy_typed_kept() {
    for javascript in [true, false] {
        let app = browser_app("2026-11-26T16:55").await;
        let browser = Browser::start(390, 844, javascript).await;
        sign_in_browser(&browser, &app, WENDY, "/staff/gaps").await;
        ward_7_this_week(&browser, &app).await;
        // She means 08:00 on Sunday, and picks Saturday by mistake.
        cover(
            &browser,
            &[
                ("covering", "amara-okafor"),
                ("for", "dafydd-evans"),
                ("rotation", "cardiology-registrar"),
                ("from", "2026-11-28T20:00"),
                ("until", "2026-11-28T08:00"),
                ("reason", "covering Dafydd"),
            ],
        )
        .await;
        let page = shows(&browser, "There is a problem: the edit was not saved").await;
        assert!(page.contains("The end must be after the start"), "{page}");
        assert!(!page.contains("[from, until)"), "{page}");
        assert_eq!(
            browser.attr_of("#until-error", "class").await,
            "nhsuk-error-message"
        );
        for (id, typed) in [
            ("covering", "amara-okafor"),
            ("for", "dafydd-evans"),
            ("rotation", "cardiology-registrar"),
            ("from", "2026-11-28T20:00"),
            ("until", "2026-11-28T08:00"),
            ("reason", "covering Dafydd"),
        ] {
            assert_eq!(
                browser
                    .find(&format!("#{id}"))
                    .await
                    .prop("value")
                    .await
                    .unwrap()
                    .as_deref(),
                Some(typed),
                "javascript {javascript}: {id} keeps what was typed"
            );
        }
        // The summary's link takes her to the field.
        browser.press(".nhsuk-error-summary a[href='#until']").await;
        let url = browser.client.current_url().await.unwrap();
        assert_eq!(url.fragment(), Some("until"));
        browser
            .assert_accessible("a cover with an error, on the form")
            .await;

        // She corrects the end, and the cover is saved.
        cover(&browser, &[("until", "2026-11-29T08:00")]).await;
        let page = shows(&browser, "Amara Okafor covers Dafydd Evans").await;
        assert!(!page.contains("There is a problem"), "{page}");
        assert_eq!(app.ops.rota_edits().await.unwrap().len(), 1);
        browser.close().await;
    }
}
