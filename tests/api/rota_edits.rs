//! Rota managers' edits on the web: a layer over the rota files that every
//! node, `/api/v1/oncall`, `rota check` and `rota who` see.

use chrono::NaiveDateTime;
use nightingale::directory::Id;
use nightingale::manage::EditError;
use nightingale::rota::layer::NewRotaEdit;
use nightingale::rota::layer::{EditBody, Refusal};
use serde_json::Value;

use crate::support::nightingale::{NowInstant, TestApp};
use crate::support::redis_server::RedisServer;

/// Wendy Clarke, Ward 7's manager.
const WENDY: &str = "+447700900131";

fn local(s: &str) -> NaiveDateTime {
    s.parse().unwrap()
}

fn id(s: &str) -> Id {
    Id::parse(s).unwrap()
}

/// Dafydd Evans holds the cardiology registrar rota on Saturday 28 November
/// (08:00 to 08:00); he is off sick from 20:00.
fn dafydd_off_sick(app: &TestApp) -> NewRotaEdit {
    NewRotaEdit {
        service: id("cardiology-ward-7"),
        body: EditBody::Override {
            covering: None,
            replacing: Some("dafydd-evans".into()),
            rotation: None,
            from: local("2026-11-28T20:00:00"),
            until: local("2026-11-29T08:00:00"),
        },
        reason: "off sick".into(),
        made_by: id("wendy-clarke"),
        made_at: app.clock.now_instant(),
    }
}

/// Amara Okafor covers Dafydd's registrar shift on Saturday night.
fn amara_covers(app: &TestApp) -> NewRotaEdit {
    NewRotaEdit {
        service: id("cardiology-ward-7"),
        body: EditBody::Override {
            covering: Some("amara-okafor".into()),
            replacing: Some("dafydd-evans".into()),
            rotation: Some("cardiology-registrar".into()),
            from: local("2026-11-28T20:00:00"),
            until: local("2026-11-29T08:00:00"),
        },
        reason: "covering Dafydd".into(),
        made_by: id("wendy-clarke"),
        made_at: app.clock.now_instant(),
    }
}

/// `nightingale rota check` over the week ahead, against the app's store.
fn rota_check(app: &TestApp) -> std::process::Output {
    app.cli(&["rota", "check", "--from", "2026-11-26T17:00", "--days", "7"])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Who `service`'s level `level` (from 1) pages first at 23:00 on Saturday
/// 28 November, as `/api/v1/oncall` says.
async fn on_call_on_saturday_night(app: &TestApp, service: &str, level: usize) -> String {
    let body: Value = app
        .get(&format!(
            "/api/v1/oncall?service={service}&at=2026-11-28T23:00"
        ))
        .await
        .json()
        .await
        .unwrap();
    body["levels"][level - 1]["on_call"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn level_1_on_saturday_night(app: &TestApp) -> String {
    on_call_on_saturday_night(app, "cardiology-ward-7", 1).await
}

#[tokio::test]
async fn an_absence_that_opens_a_gap_is_refused_with_the_gap_named_until_confirmed() {
    let app = TestApp::spawn("2026-11-26T16:55").await;
    assert_eq!(level_1_on_saturday_night(&app).await, "dafydd-evans");

    let refused = app
        .ops
        .make_rota_edit(dafydd_off_sick(&app), false)
        .await
        .unwrap_err();
    let EditError::Refused(Refusal::OpensGaps(gaps)) = refused else {
        panic!("expected the gap named, got {refused:?}");
    };
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let words = nightingale::manage::gap_words(&gaps[0]);
    assert_eq!(
        words,
        "Sat 28 Nov 20:00 to Sun 29 Nov 08:00: no reachable level-1 person: the fallback stands in"
    );
    assert_eq!(
        level_1_on_saturday_night(&app).await,
        "dafydd-evans",
        "a refused edit changes nothing"
    );
    assert!(app.ops.rota_edits().await.unwrap().is_empty());

    // Confirmed: made, and the level is left to the fallback.
    let absence = app
        .ops
        .make_rota_edit(dafydd_off_sick(&app), true)
        .await
        .unwrap();
    assert_ne!(level_1_on_saturday_night(&app).await, "dafydd-evans");

    // `rota check` reads the layer from the same store, as serve does.
    let check = rota_check(&app);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check.stdout));
    assert!(
        text(&check.stdout).contains(
            "gap\tcardiology-ward-7\tSat 28 Nov 2026 20:00 GMT → Sun 29 Nov 2026 08:00 GMT\tno reachable level-1 person"
        ),
        "{}",
        text(&check.stdout)
    );
    assert!(text(&check.stderr).contains("with the web edits layer from the store"));

    // Filling it needs no confirmation, and /api/v1/oncall shows it at once.
    let cover = app
        .ops
        .make_rota_edit(amara_covers(&app), false)
        .await
        .unwrap();
    assert_eq!(level_1_on_saturday_night(&app).await, "amara-okafor");
    let check = rota_check(&app);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stdout));
    assert!(
        text(&check.stdout).contains("no gaps: every service"),
        "{}",
        text(&check.stdout)
    );
    let who = app.cli(&[
        "rota",
        "who",
        "--service",
        "cardiology-ward-7",
        "--at",
        "2026-11-28T23:00",
    ]);
    assert!(
        text(&who.stdout).contains("Amara Okafor"),
        "{}",
        text(&who.stdout)
    );
    assert!(
        text(&who.stdout).contains("covering Dafydd"),
        "{}",
        text(&who.stdout)
    );

    // Undoing the cover would open the gap again: refused unless confirmed.
    let again = app
        .ops
        .undo_rota_edit(&id("cardiology-ward-7"), cover, &id("wendy-clarke"), false)
        .await
        .unwrap_err();
    assert!(
        matches!(again, EditError::Refused(Refusal::OpensGaps(_))),
        "{again:?}"
    );
    // Undoing the absence opens nothing: Dafydd is back.
    app.ops
        .undo_rota_edit(
            &id("cardiology-ward-7"),
            absence,
            &id("wendy-clarke"),
            false,
        )
        .await
        .unwrap();
    assert_eq!(level_1_on_saturday_night(&app).await, "amara-okafor");
    let edits = app.ops.rota_edits().await.unwrap();
    assert_eq!(edits.len(), 2, "the undone absence stays, as history");
    assert!(edits[0].undone.is_some() && edits[1].undone.is_none());

    // Every step is in the audit trail, with who and what.
    let store =
        nightingale::store::open(&format!("sqlite://{}", app.store_path().display())).unwrap();
    let trail = store.audit_trail(0, 100).unwrap();
    let actions: Vec<&str> = trail.iter().map(|e| e.record.action.as_str()).collect();
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert!(actions[0].starts_with("override added: nobody covers dafydd-evans"));
    assert!(actions[2].starts_with(&format!("override {absence} undone")));
    assert!(trail[2].record.before.contains("for = \"dafydd-evans\""));
}

#[tokio::test]
async fn an_edit_breaking_a_rule_of_the_files_gets_the_files_message() {
    let app = TestApp::spawn("2026-11-26T16:55").await;
    let mut edit = amara_covers(&app);
    edit.body = EditBody::Override {
        covering: Some("amara-okafr".into()),
        replacing: Some("dafydd-evans".into()),
        rotation: Some("cardiology-registrar".into()),
        from: local("2026-11-28T20:00:00"),
        until: local("2026-11-29T08:00:00"),
    };
    let err = app.ops.make_rota_edit(edit, false).await.unwrap_err();
    let EditError::Refused(Refusal::Invalid(problems)) = err else {
        panic!("expected the loader's problems, got {err:?}");
    };
    let text = problems.to_string();
    assert!(text.contains("this edit:"), "{text}");
    assert!(
        text.contains("amara-okafr") && text.contains("amara-okafor"),
        "{text}"
    );

    // A rotation of another service is not this manager's to edit.
    let mut edit = amara_covers(&app);
    edit.body = EditBody::Override {
        covering: Some("nia-williams".into()),
        replacing: None,
        rotation: Some("paediatric-registrar".into()),
        from: local("2026-11-28T20:00:00"),
        until: local("2026-11-29T08:00:00"),
    };
    let err = app.ops.make_rota_edit(edit, false).await.unwrap_err();
    assert!(
        matches!(&err, EditError::Field { field: "rotation", message } if message.contains("is not on Cardiology Ward 7's rota") && !message.contains("paediatric-registrar")),
        "{err:?}"
    );

    // A cover that ends before it starts is worded for the form, not the files.
    let mut edit = amara_covers(&app);
    if let EditBody::Override { until, .. } = &mut edit.body {
        *until = local("2026-11-28T19:00:00");
    }
    let err = app.ops.make_rota_edit(edit, false).await.unwrap_err();
    assert!(
        matches!(&err, EditError::Field { field: "until", message } if message.starts_with("The end must be after the start")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_second_node_on_the_same_redis_sees_a_managers_override() {
    let redis = RedisServer::start();
    let url = redis.url();
    let first = {
        let url = url.clone();
        TestApp::spawn_with("2026-11-26T16:55", move |c| c.store = url.clone()).await
    };
    let second = TestApp::spawn_with("2026-11-26T16:55", move |c| c.store = url.clone()).await;
    assert_eq!(level_1_on_saturday_night(&second).await, "dafydd-evans");

    first
        .ops
        .make_rota_edit(amara_covers(&first), false)
        .await
        .unwrap();
    assert_eq!(level_1_on_saturday_night(&first).await, "amara-okafor");
    // The other node rebuilds its rota when it sees the layer's version move
    // on, within a second or so of real time.
    let started = std::time::Instant::now();
    loop {
        if level_1_on_saturday_night(&second).await == "amara-okafor" {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the second node never saw the override"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_new_gap_within_a_week_is_texted_to_the_services_manager_once_at_five() {
    let app = TestApp::spawn("2026-11-26T16:55").await;
    app.ops
        .make_rota_edit(dafydd_off_sick(&app), true)
        .await
        .unwrap();
    // Nothing before 17:00, the demo trust's time for alerts.
    assert_eq!(app.gap_alerter.tick().await.unwrap(), 0);
    app.clock.advance(chrono::Duration::minutes(5));
    assert_eq!(
        app.gap_alerter.tick().await.unwrap(),
        1,
        "one text, to Wendy Clarke"
    );
    app.settle().await;
    let sent = app.twilio.messages_to(WENDY);
    let alert = sent
        .iter()
        .find(|m| m.body.contains("new gap"))
        .expect("the alert went out to Wendy Clarke, Ward 7's manager");
    assert!(
        alert.body.contains("Cardiology Ward 7")
            && alert.body.contains("Sat 28 Nov 20:00 to Sun 29 Nov 08:00"),
        "{}",
        alert.body
    );
    // The next day at 17:00 the same gap is not alerted again.
    app.clock.advance(chrono::Duration::days(1));
    assert_eq!(app.gap_alerter.tick().await.unwrap(), 0);
}

/// The pages, through the real sign-in: Wendy, Ward 7's manager.
mod pages {
    use super::*;

    const AMARA: &str = "+447700900111";

    #[tokio::test]
    async fn wendy_sees_the_gap_on_her_week_fills_it_and_downloads_the_layer_and_the_audit() {
        let app = TestApp::spawn("2026-11-26T16:55").await;
        app.ops
            .make_rota_edit(dafydd_off_sick(&app), true)
            .await
            .unwrap();
        let wendy = app.sign_in(WENDY).await;

        let (status, page) = wendy
            .page("/staff/services/cardiology-ward-7?week=2026-W48")
            .await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Saturday 28 November"), "{page}");
        assert!(
            page.contains("Gap: no reachable level-1 person: the fallback stands in"),
            "{page}"
        );
        assert!(page.contains("Out of hours") && page.contains("In hours"));
        let (_, gaps) = wendy.page("/staff/gaps").await;
        assert!(gaps.contains("Sat 28 Nov 2026 20:00"), "{gaps}");

        // A cover that ends before it starts: the week again, with an
        // error summary linking to the field, the message above it, and
        // everything Wendy typed still there.
        let bad = [
            ("kind", "override"),
            ("covering", "amara-okafor"),
            ("for", "dafydd-evans"),
            ("rotation", "cardiology-registrar"),
            ("from", "2026-11-28T20:00"),
            ("until", "2026-11-28T19:00"),
            ("reason", "covering Dafydd"),
        ];
        let response = wendy
            .post("/staff/services/cardiology-ward-7/edits", &bad)
            .await;
        assert_eq!(response.status(), 422);
        let html = response.text().await.unwrap();
        assert!(html.contains("<title>Error: "), "{html}");
        assert!(html.contains("nhsuk-error-summary"), "{html}");
        assert!(
            html.contains("<a href=\"#until\">The end must be after the start"),
            "{html}"
        );
        assert!(html.contains("id=\"until-error\""), "{html}");
        assert!(!html.contains("[from, until)"), "{html}");
        for kept in [
            "value=\"2026-11-28T20:00\"",
            "value=\"2026-11-28T19:00\"",
            "value=\"covering Dafydd\"",
            "<option value=\"amara-okafor\" selected>",
            "<option value=\"dafydd-evans\" selected>",
            "<option value=\"cardiology-registrar\" selected>",
        ] {
            assert!(html.contains(kept), "{kept} is kept: {html}");
        }
        assert!(
            html.contains("Saturday 28 November"),
            "the week of the cover"
        );
        assert!(
            app.ops.rota_edits().await.unwrap().len() == 1,
            "nothing saved"
        );

        // Nothing filled in at all: every field's problem at once.
        let response = wendy
            .post(
                "/staff/services/cardiology-ward-7/edits",
                &[("kind", "override"), ("for", "dafydd-evans")],
            )
            .await;
        assert_eq!(response.status(), 422);
        let html = response.text().await.unwrap();
        assert!(
            html.contains("<a href=\"#from\">Enter the start of the cover</a>"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"#until\">Enter the end of the cover</a>"),
            "{html}"
        );

        let mut good = bad;
        good[5] = ("until", "2026-11-29T08:00");
        let response = wendy
            .post("/staff/services/cardiology-ward-7/edits", &good)
            .await;
        assert_eq!(response.status(), 303);
        assert_eq!(level_1_on_saturday_night(&app).await, "amara-okafor");
        // Amara's own registrar shift follows on Sunday morning: saved, with a warning.
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        let (_, week) = wendy.page(location.split('#').next().unwrap()).await;
        assert!(
            week.contains("Amara Okafor is now on call for 36 hours in a row, Sat 28 Nov 20:00 to Mon 30 Nov 08:00: longer than the trust's limit of 24 hours."),
            "{week}"
        );
        let (_, later) = wendy
            .page("/staff/services/cardiology-ward-7?week=2026-W48")
            .await;
        assert!(
            !later.contains("hours in a row"),
            "the warning is for the page after the edit"
        );
        let covering =
            &week[week.find("id=\"covering\"").unwrap()..week.find("id=\"for\"").unwrap()];
        assert!(
            covering.find("On this service's rota").unwrap()
                < covering.find("Amara Okafor").unwrap(),
            "the ward's own registrars first: {covering}"
        );
        assert!(
            !covering.contains("Ward 7 nurse in charge"),
            "a team phone covers nobody: {covering}"
        );
        let (_, gaps) = wendy.page("/staff/gaps").await;
        assert!(gaps.contains("No gaps."), "{gaps}");

        // The layer folds back into the rota files: the real loader reads it.
        let response = wendy
            .get("/staff/services/cardiology-ward-7/layer.toml")
            .await;
        assert_eq!(response.status(), 200);
        let toml = response.text().await.unwrap();
        assert!(toml.contains("covering = \"amara-okafor\""), "{toml}");
        let dir = tempfile::tempdir().unwrap();
        let rota = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rota");
        for entry in std::fs::read_dir(&rota).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
        let overrides = dir.path().join("overrides.toml");
        let text = std::fs::read_to_string(&overrides).unwrap() + "\n" + &toml;
        std::fs::write(&overrides, text).unwrap();
        let folded = nightingale::rota::load_dir(dir.path()).expect("the folded files load");
        let ix = folded.service("cardiology-ward-7").unwrap();
        let at = "2026-11-28T23:00:00Z".parse().unwrap();
        let chain = folded.resolve(ix, at);
        assert_eq!(
            chain.levels[0].on_call[0].person.id.as_str(),
            "amara-okafor",
            "the files with the layer folded in say what the web did"
        );

        // The audit trail, as a page and as CSV.
        let (_, audit) = wendy.page("/staff/audit").await;
        assert!(
            audit.contains("made: Amara Okafor covers Dafydd Evans on the rotation “Cardiology registrar on call”, Sat 28 Nov 20:00 to Sun 29 Nov 08:00"),
            "{audit}"
        );
        assert!(
            audit.contains(
                "Sat 28 Nov 20:00 to Sun 29 Nov 08:00: Dafydd Evans on call on the rotation"
            ) && audit.contains(
                "Sat 28 Nov 20:00 to Sun 29 Nov 08:00: Amara Okafor in Dafydd Evans's place"
            ),
            "a before and after a manager reads: {audit}"
        );
        for id in [
            "amara-okafor",
            "dafydd-evans",
            "cardiology-registrar",
            "[[overrides]]",
        ] {
            assert!(!audit.contains(id), "{id} on the page: {audit}");
        }
        let (_, week) = wendy
            .page("/staff/services/cardiology-ward-7?week=2026-W48")
            .await;
        assert!(
            week.contains("Amara Okafor covers Dafydd Evans on the rotation"),
            "{week}"
        );
        let response = wendy.get("/staff/audit.csv").await;
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        let csv = response.text().await.unwrap();
        assert!(
            csv.starts_with("seq,at,who,service,edit,action,before,after\r\n"),
            "{csv}"
        );
        assert!(
            csv.contains("covering = \"\"amara-okafor\"\""),
            "the CSV keeps the ids and the TOML: {csv}"
        );
        assert!(
            csv.contains("\"wendy-clarke\",\"cardiology-ward-7\""),
            "{csv}"
        );

        // Undo, from the page's button.
        let edits = app.ops.rota_edits().await.unwrap();
        let cover = edits.last().unwrap().id;
        let response = wendy
            .post(
                &format!("/staff/services/cardiology-ward-7/edits/{cover}/undo"),
                &[],
            )
            .await;
        assert_eq!(
            response.status(),
            422,
            "undoing the cover would open the gap again"
        );
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Sat 28 Nov 20:00 to Sun 29 Nov 08:00"),
            "{html}"
        );
        assert!(html.contains("Save it anyway, leaving the gap"), "{html}");
        let response = wendy
            .post(
                &format!("/staff/services/cardiology-ward-7/edits/{cover}/undo"),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(response.status(), 303);
        assert_ne!(level_1_on_saturday_night(&app).await, "amara-okafor");
    }

    #[tokio::test]
    async fn a_week_off_the_end_of_the_calendar_is_refused_plainly_not_a_crash() {
        let app = TestApp::spawn("2026-11-26T16:55").await;
        let wendy = app.sign_in(WENDY).await;
        for week in ["262143-W01", "262142-W52", "10000-W01", "1969-W52", "next"] {
            let (status, page) = wendy
                .page(&format!("/staff/services/cardiology-ward-7?week={week}"))
                .await;
            assert_eq!(status, 400, "{week}: {page}");
            assert!(page.contains("such as 2026-W48"), "{week}: {page}");
            assert!(page.contains("Show this week"), "{week}: {page}");
        }
        // The last week the calendar answers for still shows, links and all.
        let (status, page) = wendy
            .page("/staff/services/cardiology-ward-7?week=9999-W52")
            .await;
        assert_eq!(status, 200, "{page}");
    }

    #[tokio::test]
    async fn the_childrens_unit_open_day_and_night_shows_its_week_plainly_and_ward_7_links_its_handover()
     {
        let app = TestApp::spawn("2026-11-26T16:55").await;
        let olivia = app.sign_in("+447700900311").await;
        let (status, week) = olivia
            .page("/staff/services/childrens-assessment-unit?week=2026-W48")
            .await;
        assert_eq!(status, 200, "{week}");
        assert!(
            week.contains("no in-hours team: its on-call rota answers day and night"),
            "{week}"
        );
        assert!(
            !week.contains("Out of hours") && !week.contains("In hours"),
            "{week}"
        );
        assert!(!week.contains("00:00 to 00:00"), "{week}");
        assert!(
            week.contains("to midnight") || week.contains("All day"),
            "{week}"
        );
        assert!(
            !week.contains("/staff/handover/childrens-assessment-unit"),
            "no in-hours team, no morning handover"
        );

        let wendy = app.sign_in(WENDY).await;
        let (_, week) = wendy.page("/staff/services/cardiology-ward-7").await;
        assert!(
            week.contains(
                "<a href=\"/staff/handover/cardiology-ward-7\">This morning's handover</a>"
            ),
            "{week}"
        );
        let (_, home) = wendy.page("/staff").await;
        assert!(
            home.contains("<a href=\"/staff/handover/cardiology-ward-7\">"),
            "{home}"
        );
    }

    #[tokio::test]
    async fn a_clinician_cannot_see_or_edit_a_services_rota() {
        let app = TestApp::spawn("2026-11-26T16:55").await;
        let amara = app.sign_in(AMARA).await;
        for path in [
            "/staff/services/cardiology-ward-7",
            "/staff/services/cardiology-ward-7/layer.toml",
        ] {
            let (status, page) = amara.page(path).await;
            assert_eq!(status, 403, "{path}");
            assert!(
                page.contains("You do not have access to this service"),
                "{page}"
            );
        }
        for path in ["/staff/gaps", "/staff/audit", "/staff/audit.csv"] {
            let (status, _) = amara.page(path).await;
            assert_eq!(status, 403, "{path}");
        }
        let response = amara
            .post(
                "/staff/services/cardiology-ward-7/edits",
                &[
                    ("kind", "override"),
                    ("covering", "amara-okafor"),
                    ("for", "dafydd-evans"),
                    ("from", "2026-11-28T20:00"),
                    ("until", "2026-11-29T08:00"),
                ],
            )
            .await;
        assert_eq!(response.status(), 403);
        assert!(app.ops.rota_edits().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn two_consultants_swap_weeks_from_the_page_and_a_wrong_day_gets_the_files_message() {
    let app = TestApp::spawn("2026-11-26T16:55").await;
    let level_2 = || async {
        let body: Value = app
            .get("/api/v1/oncall?service=cardiology-ward-7&at=2026-12-01T23:00")
            .await
            .json()
            .await
            .unwrap();
        body["levels"][1]["on_call"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let before = level_2().await;
    let wendy = app.sign_in(WENDY).await;
    let wrong = [
        ("kind", "swap"),
        ("rotation", "cardiology-consultant"),
        ("shift_a", "2026-12-01"),
        ("shift_b", "2026-12-07"),
        ("reason", "conference"),
    ];
    let response = wendy
        .post("/staff/services/cardiology-ward-7/edits", &wrong)
        .await;
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("<a href=\"#shift_a\">No shift of “Consultant cardiologist of the week” starts on Tuesday 1 December 2026: choose a day a shift starts, Monday 30 November 2026 or Monday 7 December 2026</a>"),
        "{html}"
    );
    let mut right = wrong;
    right[2] = ("shift_a", "2026-11-30");
    let response = wendy
        .post("/staff/services/cardiology-ward-7/edits", &right)
        .await;
    assert_eq!(response.status(), 303);
    let after = level_2().await;
    assert_ne!(after, before, "the consultants traded weeks");
    assert!(["eleanor-shaw", "farid-rahman"].contains(&after.as_str()));
}

/// Edits that reach beyond one service: the senior clinician on call
/// stands behind every service, so a cover on that rotation, or for one
/// of its members everywhere, changes the children's unit's chain too.
mod across_services {
    use super::*;
    use crate::support::staff::StaffSession;

    const OLIVIA: &str = "+447700900311";
    const TARA: &str = "+447700900401";

    /// Who the children's assessment unit's level 3 (the senior clinician)
    /// pages on Saturday night.
    async fn childrens_senior_on_saturday_night(app: &TestApp) -> String {
        on_call_on_saturday_night(app, "childrens-assessment-unit", 3).await
    }

    /// Post an edit on Cardiology Ward 7's page: the status and the page.
    async fn edit_on_ward_7(session: &StaffSession, form: &[(&str, &str)]) -> (u16, String) {
        let response = session
            .post("/staff/services/cardiology-ward-7/edits", form)
            .await;
        (response.status().as_u16(), response.text().await.unwrap())
    }

    fn override_form<'a>(
        covering: &'a str,
        replacing: &'a str,
        rotation: &'a str,
    ) -> [(&'a str, &'a str); 7] {
        [
            ("kind", "override"),
            ("covering", covering),
            ("for", replacing),
            ("rotation", rotation),
            ("from", "2026-11-28T20:00"),
            ("until", "2026-11-29T08:00"),
            ("reason", "cover"),
        ]
    }

    #[tokio::test]
    async fn the_cardiology_manager_cannot_put_herself_on_the_childrens_chain_through_a_shared_rotation_or_in_someones_place()
     {
        let app = TestApp::spawn("2026-11-26T16:55").await;
        assert_eq!(childrens_senior_on_saturday_night(&app).await, "tara-singh");
        let wendy = app.sign_in(WENDY).await;

        // On the senior clinician rotation, and in Tara Singh's place
        // everywhere: both reach the children's unit and community nursing.
        for form in [
            override_form("wendy-clarke", "", "senior-clinician"),
            override_form("wendy-clarke", "tara-singh", ""),
        ] {
            let (status, html) = edit_on_ward_7(&wendy, &form).await;
            assert_eq!(status, 403, "{form:?}");
            assert!(
                html.contains("This changes other services' rotas"),
                "{html}"
            );
            for named in [
                "Children&#x27;s assessment unit, managed by Dr Olivia Brown",
                "Community nursing, north locality, managed by Grace Adeyemi",
                "a trust manager (Tara Singh)",
            ] {
                assert!(html.contains(named), "{named}: {html}");
            }
            assert!(
                !html.contains("Cardiology Ward 7, managed by"),
                "her own service is not among the others: {html}"
            );
        }
        assert_eq!(
            childrens_senior_on_saturday_night(&app).await,
            "tara-singh",
            "nothing changed on the children's unit's chain"
        );
        assert!(app.ops.rota_edits().await.unwrap().is_empty());
        let (_, audit) = wendy.page("/staff/audit").await;
        assert!(audit.contains("Nothing yet."), "{audit}");
    }

    #[tokio::test]
    async fn a_cover_must_be_fit_for_the_slot_it_fills() {
        let app = TestApp::spawn("2026-11-26T16:55").await;
        let wendy = app.sign_in(WENDY).await;
        // A community staff nurse on the cardiology registrar rota.
        let (status, html) = edit_on_ward_7(
            &wendy,
            &override_form("isla-morgan", "dafydd-evans", "cardiology-registrar"),
        )
        .await;
        assert_eq!(status, 422);
        assert!(
            html.contains("<a href=\"#covering\">Isla Morgan (Community staff nurse) cannot cover this: choose someone fit for it</a>"),
            "{html}"
        );
        assert!(
            html.contains("Only members of the Cardiology registrar on call rotation, or people with the same role as one of them, can cover its shifts: Amara Okafor, Ben Hughes, Chen Li, Dafydd Evans."),
            "{html}"
        );
        // Herself, in Dafydd's place wherever he is on call: the same rule.
        let (status, html) =
            edit_on_ward_7(&wendy, &override_form("wendy-clarke", "dafydd-evans", "")).await;
        assert_eq!(status, 422);
        assert!(
            html.contains("Wendy Clarke (Ward 7 manager) cannot cover this:"),
            "{html}"
        );
        assert!(app.ops.rota_edits().await.unwrap().is_empty());
        assert_eq!(level_1_on_saturday_night(&app).await, "dafydd-evans");

        // A registrar of the rotation may.
        let (status, _) = edit_on_ward_7(
            &wendy,
            &override_form("amara-okafor", "dafydd-evans", "cardiology-registrar"),
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(level_1_on_saturday_night(&app).await, "amara-okafor");
    }

    #[tokio::test]
    async fn a_trust_managers_cover_of_the_senior_clinician_shows_in_each_services_audit_and_only_she_can_undo_it()
     {
        let app = TestApp::spawn("2026-11-26T16:55").await;
        let tara = app.sign_in(TARA).await;
        // Made from Ward 7's page: it changes all three services' chains.
        let (status, _) =
            edit_on_ward_7(&tara, &override_form("umar-farooq", "", "senior-clinician")).await;
        assert_eq!(status, 303);
        assert_eq!(
            childrens_senior_on_saturday_night(&app).await,
            "umar-farooq"
        );

        let olivia = app.sign_in(OLIVIA).await;
        let (status, audit) = olivia.page("/staff/audit").await;
        assert_eq!(status, 200);
        assert!(
            audit.contains("made: Dr Umar Farooq covers the rotation “Senior clinician on call”"),
            "the children's manager sees it: {audit}"
        );
        assert!(
            audit.contains(
                "by Tara Singh, Cardiology Ward 7, Children&#x27;s assessment unit, Community nursing, north locality"
            ),
            "{audit}"
        );
        let csv = olivia.get("/staff/audit.csv").await.text().await.unwrap();
        assert!(
            csv.contains("\"tara-singh\",\"cardiology-ward-7 childrens-assessment-unit community-nursing-north\""),
            "{csv}"
        );

        // Wendy manages Ward 7 only: she cannot undo it from her page.
        let id = app.ops.rota_edits().await.unwrap()[0].id;
        let undo = format!("/staff/services/cardiology-ward-7/edits/{id}/undo");
        let wendy = app.sign_in(WENDY).await;
        let response = wendy.post(&undo, &[]).await;
        assert_eq!(response.status(), 403);
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Children&#x27;s assessment unit, managed by Dr Olivia Brown"),
            "{html}"
        );
        assert_eq!(
            childrens_senior_on_saturday_night(&app).await,
            "umar-farooq"
        );

        // The children's unit's week lists it, though it was made on Ward 7's page.
        let (_, week) = olivia
            .page("/staff/services/childrens-assessment-unit?week=2026-W48")
            .await;
        assert!(
            week.contains("made by Tara Singh")
                && week
                    .contains("from Cardiology Ward 7's page: it changes this service's chain too"),
            "{week}"
        );
        // Olivia manages the children's unit only: she cannot undo it either.
        let from_childrens = format!("/staff/services/childrens-assessment-unit/edits/{id}/undo");
        let response = olivia.post(&from_childrens, &[]).await;
        assert_eq!(response.status(), 403);
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Cardiology Ward 7, managed by Wendy Clarke"),
            "{html}"
        );
        assert_eq!(
            childrens_senior_on_saturday_night(&app).await,
            "umar-farooq"
        );

        // Tara can, from any of the pages it changes.
        let response = tara.post(&from_childrens, &[]).await;
        assert_eq!(response.status(), 303);
        assert_eq!(childrens_senior_on_saturday_night(&app).await, "tara-singh");
        let (_, audit) = olivia.page("/staff/audit").await;
        assert!(
            audit.contains(&format!(
                "Undone, edit {id}: Dr Umar Farooq covers the rotation “Senior clinician on call”"
            )),
            "{audit}"
        );
    }
}
