//! Staff signing in on the web with a texted code: sessions, forgery,
//! roles, refusals.

use chrono::Duration;

use crate::support::nightingale::TestApp;
use crate::support::staff::{
    SESSION_COOKIE, code_texted_to, codes_texted_to, on_call, set_cookie, set_cookie_header,
};

/// Amara Okafor, cardiology registrar.
const AMARA: &str = "+447700900111";
/// Wendy Clarke, Ward 7 manager.
const WENDY: &str = "07700 900131";

#[tokio::test]
async fn amara_signs_in_with_the_code_texted_to_her_and_out_again() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    // Not signed in: sent to sign in, and back afterwards.
    let response = crate::support::staff::client()
        .get(format!("{}/staff/services/cardiology-ward-7", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/staff/sign-in?next=%2Fstaff%2Fservices%2Fcardiology-ward-7"
    );

    let amara = app.sign_in("07700 900111").await;
    let (status, home) = amara.page("/staff").await;
    assert_eq!(status, 200, "{home}");
    assert!(home.contains("Amara Okafor"), "{home}");
    assert!(
        home.contains("Cardiology Ward 7"),
        "her service is listed: {home}"
    );
    assert!(
        !home.contains("Children&#x27;s assessment unit")
            && !home.contains("Children's assessment unit"),
        "a service she has no part in is not: {home}"
    );
    assert!(
        !home.contains("/staff/services"),
        "she manages nothing: {home}"
    );

    let signed_out = amara.post("/staff/sign-out", &[]).await;
    assert_eq!(signed_out.status(), 200);
    assert!(
        set_cookie_header(&signed_out, SESSION_COOKIE)
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _) = amara.page("/staff").await;
    assert_eq!(status, 303, "the session is gone from the store");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_same_site_and_secure_behind_https() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let (pending, _) = app.ask_for_code(AMARA).await;
    app.settle().await;
    let response = app
        .enter_code(&pending.unwrap(), &code_texted_to(&app, AMARA))
        .await;
    let cookie = set_cookie_header(&response, SESSION_COOKIE).unwrap();
    for part in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
}

#[tokio::test]
async fn a_wrong_code_is_refused_five_times_then_the_code_is_gone() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let (pending, _) = app.ask_for_code(AMARA).await;
    let pending = pending.unwrap();
    app.settle().await;
    let right = code_texted_to(&app, AMARA);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for left in (1..5).rev() {
        let response = app.enter_code(&pending, wrong).await;
        assert_eq!(response.status(), 422);
        let page = response.text().await.unwrap();
        assert!(page.contains(&format!("({left} tr")), "{page}");
    }
    let response = app.enter_code(&pending, wrong).await;
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Ask for a new code")
    );
    // The fifth wrong try deleted it: the right code no longer works.
    let response = app.enter_code(&pending, &right).await;
    assert_eq!(response.status(), 422);
    assert!(set_cookie(&response, SESSION_COOKIE).is_none());
}

#[tokio::test]
async fn a_code_works_once_and_not_after_ten_minutes() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let (pending, _) = app.ask_for_code(AMARA).await;
    let pending = pending.unwrap();
    app.settle().await;
    let code = code_texted_to(&app, AMARA);
    assert_eq!(app.enter_code(&pending, &code).await.status(), 303);
    let again = app.enter_code(&pending, &code).await;
    assert_eq!(again.status(), 422, "a used code does not work again");

    let (pending, _) = app.ask_for_code(AMARA).await;
    let pending = pending.unwrap();
    app.settle().await;
    let code = code_texted_to(&app, AMARA);
    app.clock.advance(Duration::minutes(10));
    let late = app.enter_code(&pending, &code).await;
    assert_eq!(late.status(), 422, "a code ten minutes old does not work");
    assert!(set_cookie(&late, SESSION_COOKIE).is_none());
}

#[tokio::test]
async fn a_number_not_on_the_rota_gets_the_same_answer_and_no_text() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let (on, on_rota) = app.ask_for_code(AMARA).await;
    let (off, stranger) = app.ask_for_code("07700 900999").await;
    assert_eq!(on_rota.status(), stranger.status());
    assert_eq!(
        on_rota.headers()["location"],
        stranger.headers()["location"]
    );
    assert!(
        on.is_some() && off.is_some(),
        "both browsers hold a challenge"
    );
    app.settle().await;
    assert!(app.twilio.messages_to("+447700900999").is_empty());
    assert_eq!(app.twilio.messages_to(AMARA).len(), 1);
}

/// A registrar's number, as a stranger might type it.
const AMARA_TYPED: &str = "07700 900111";

#[tokio::test]
async fn thirty_requests_for_the_registrars_number_from_another_address_do_not_stop_her_signing_in()
{
    let app = TestApp::spawn("2026-11-27T19:05").await;
    // Someone on another machine asks for Amara's code again and again.
    for _ in 0..30 {
        let (pending, response) = app.ask_for_code_from(AMARA_TYPED, "127.0.0.2", &[]).await;
        assert_eq!(response.status(), 303, "no 429 that tells them anything");
        assert_eq!(
            response.headers()["location"],
            "/staff/sign-in/code?next=%2Fstaff"
        );
        assert!(pending.is_some());
    }
    app.settle().await;
    assert_eq!(
        codes_texted_to(&app, AMARA),
        3,
        "their allowance for her number is three codes"
    );

    // Amara, on her own phone, still gets a code and signs in.
    let amara = app.sign_in_from(AMARA_TYPED, "127.0.0.3", &[]).await;
    assert_eq!(codes_texted_to(&app, AMARA), 4);
    let (status, home) = amara.page("/staff").await;
    assert_eq!(status, 200);
    assert!(home.contains("Amara Okafor"), "{home}");
}

#[tokio::test]
async fn asking_again_and_again_sends_no_more_codes_but_the_last_one_still_works() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let mut held = None;
    for _ in 0..3 {
        let (pending, response) = app.ask_for_code(AMARA).await;
        assert_eq!(response.status(), 303);
        held = pending;
    }
    let held = held.unwrap();
    app.settle().await;
    assert_eq!(codes_texted_to(&app, AMARA), 3);
    let last_code = code_texted_to(&app, AMARA);

    // A fourth: answered as usual, but no text, and her browser keeps the
    // challenge the last code was sent for.
    let cookie = format!("ng_sign_in={}", held.challenge);
    let (fourth, response) = app
        .ask_for_code_from(AMARA, "127.0.0.1", &[("cookie", &cookie)])
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/staff/sign-in/code?next=%2Fstaff"
    );
    let fourth = fourth.expect("a challenge cookie, as always");
    assert_eq!(fourth.challenge, held.challenge);
    // The code page says what happened, for everyone alike.
    let page = crate::support::staff::client()
        .get(format!("{}/staff/sign-in/code?next=/staff", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("If you ask for more than 3 codes in 15 minutes, no new text is sent"),
        "{page}"
    );
    app.settle().await;
    assert_eq!(codes_texted_to(&app, AMARA), 3, "no new code is texted");
    let signed_in = app.enter_code(&fourth, &last_code).await;
    assert_eq!(signed_in.status(), 303, "the code already sent still works");
    assert!(set_cookie(&signed_in, SESSION_COOKIE).is_some());

    // A number not on the rota is answered just the same, and texted nothing.
    for _ in 0..4 {
        let (_, response) = app.ask_for_code("07700 900999").await;
        assert_eq!(response.status(), 303);
    }
    app.settle().await;
    assert!(app.twilio.messages_to("+447700900999").is_empty());

    // The window passes: a new code is texted.
    app.clock.advance(Duration::minutes(15));
    assert_eq!(app.ask_for_code(AMARA).await.1.status(), 303);
    app.settle().await;
    assert_eq!(codes_texted_to(&app, AMARA), 4);
}

#[tokio::test]
async fn behind_the_trusts_proxy_ten_requests_from_one_client_do_not_lock_out_other_staff() {
    // The TLS proxy docs/deploy.md recommends, at 127.0.0.9, named as trusted.
    let app = TestApp::spawn_with("2026-11-27T19:05", |c| {
        c.trusted_proxies = nightingale::config::TrustedProxies::parse("127.0.0.9").unwrap();
    })
    .await;
    const PROXY: &str = "127.0.0.9";
    // One client on the internet asks for codes for number after number
    // (the client wrote a fake address first; the proxy appended the real one).
    for n in 0..12 {
        let number = format!("07700 9009{n:02}");
        let (_, response) = app
            .ask_for_code_from(
                &number,
                PROXY,
                &[("x-forwarded-for", "10.1.2.3, 203.0.113.9")],
            )
            .await;
        assert_eq!(response.status(), 303);
    }
    let (_, response) = app
        .ask_for_code_from(AMARA, PROXY, &[("x-forwarded-for", "203.0.113.9")])
        .await;
    assert_eq!(response.status(), 303);
    app.settle().await;
    assert_eq!(
        codes_texted_to(&app, AMARA),
        0,
        "that client used up its ten codes"
    );

    // Every other member of staff comes through the same proxy, and signs in.
    let wendy = app
        .sign_in_from(WENDY, PROXY, &[("x-forwarded-for", "198.51.100.20")])
        .await;
    assert_eq!(wendy.page("/staff").await.0, 200);
    let amara = app
        .sign_in_from(AMARA, PROXY, &[("x-forwarded-for", "198.51.100.21")])
        .await;
    assert_eq!(amara.page("/staff").await.0, 200);
}

#[tokio::test]
async fn x_forwarded_for_from_a_machine_that_is_not_a_named_proxy_is_ignored() {
    let app = TestApp::spawn_with("2026-11-27T19:05", |c| {
        c.trusted_proxies = nightingale::config::TrustedProxies::parse("127.0.0.9").unwrap();
    })
    .await;
    // A client that is not the proxy claims to be ten different clients.
    for n in 0..10 {
        let number = format!("07700 9009{n:02}");
        let claimed = format!("203.0.113.{n}");
        let (_, response) = app
            .ask_for_code_from(&number, "127.0.0.2", &[("x-forwarded-for", &claimed)])
            .await;
        assert_eq!(response.status(), 303);
    }
    // It is one client, the machine it connects from, and has had its ten.
    let (_, response) = app
        .ask_for_code_from(AMARA, "127.0.0.2", &[("x-forwarded-for", "203.0.113.99")])
        .await;
    assert_eq!(response.status(), 303);
    app.settle().await;
    assert_eq!(codes_texted_to(&app, AMARA), 0);
    // From her own machine, Amara gets her code.
    app.sign_in_from(AMARA, "127.0.0.3", &[]).await;
}

#[tokio::test]
async fn ten_wrong_codes_in_a_day_text_her_once_and_no_code_signs_her_in_until_midnight() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    // Amara asks for a code from her phone, and has not typed it yet.
    let (hers, _) = app.ask_for_code_from(AMARA, "127.0.0.3", &[]).await;
    let hers = hers.unwrap();
    app.settle().await;
    let her_code = code_texted_to(&app, AMARA);
    let wrong = if her_code == "000000" {
        "111111"
    } else {
        "000000"
    };

    // Someone elsewhere guesses: five wrong tries on each of two codes.
    for _ in 0..2 {
        let (pending, _) = app.ask_for_code_from(AMARA, "127.0.0.2", &[]).await;
        let pending = pending.unwrap();
        for _ in 0..5 {
            assert_eq!(app.enter_code(&pending, wrong).await.status(), 422);
        }
    }
    app.settle().await;
    let paused = |app: &TestApp| -> Vec<String> {
        app.twilio
            .messages_to(AMARA)
            .into_iter()
            .map(|m| m.body)
            .filter(|b| b.contains("a wrong code was typed 10 times today"))
            .collect()
    };
    let told = paused(&app);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("until 00:00 on Saturday 28 November")
            && told[0].contains("tell IT")
            && told[0].contains("Pages to you and their links still work"),
        "{}",
        told[0]
    );

    // More guessing texts her no more.
    let (pending, _) = app.ask_for_code_from(AMARA, "127.0.0.4", &[]).await;
    assert_eq!(app.enter_code(&pending.unwrap(), wrong).await.status(), 422);
    // Her own right code no longer signs her in today, and no new code is sent.
    let refused = app.enter_code(&hers, &her_code).await;
    assert_eq!(refused.status(), 422);
    assert!(set_cookie(&refused, SESSION_COOKIE).is_none());
    let texted = codes_texted_to(&app, AMARA);
    let (_, response) = app.ask_for_code_from(AMARA, "127.0.0.3", &[]).await;
    assert_eq!(response.status(), 303, "answered as usual");
    app.settle().await;
    assert_eq!(codes_texted_to(&app, AMARA), texted);
    assert_eq!(paused(&app).len(), 1, "told once");

    // After midnight she signs in as usual.
    app.clock.advance(Duration::hours(5));
    let amara = app.sign_in_from(AMARA, "127.0.0.3", &[]).await;
    assert_eq!(amara.page("/staff").await.0, 200);
}

#[tokio::test]
async fn a_form_without_the_session_token_or_from_another_site_is_refused() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let amara = app.sign_in(AMARA).await;
    let csrf = amara.csrf().await;
    let forged = amara.post_raw("/staff/sign-out", &[], &[]).await;
    assert_eq!(forged.status(), 403);
    let page = forged.text().await.unwrap();
    assert!(page.contains("That did not go through"), "{page}");
    let cross_site = amara
        .post_raw(
            "/staff/sign-out",
            &[("csrf", &csrf)],
            &[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        )
        .await;
    assert_eq!(cross_site.status(), 403);
    // Still signed in.
    assert_eq!(amara.page("/staff").await.0, 200);
}

#[tokio::test]
async fn a_session_ends_after_thirty_idle_minutes_or_twelve_hours() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let amara = app.sign_in(AMARA).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(amara.page("/staff").await.0, 200);
    app.clock.advance(Duration::minutes(29));
    assert_eq!(amara.page("/staff").await.0, 200, "used 29 minutes ago");
    app.clock.advance(Duration::minutes(30));
    assert_eq!(amara.page("/staff").await.0, 303, "idle for 30 minutes");

    let amara = app.sign_in(AMARA).await;
    for _ in 0..(12 * 60 / 20 - 1) {
        app.clock.advance(Duration::minutes(20));
        assert_eq!(amara.page("/staff").await.0, 200);
    }
    app.clock.advance(Duration::minutes(20));
    assert_eq!(
        amara.page("/staff").await.0,
        303,
        "twelve hours after signing in"
    );
}

#[tokio::test]
async fn a_manager_sees_their_service_and_a_clinician_is_refused_it() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let wendy = app.sign_in(WENDY).await;
    let (status, page) = wendy.page("/staff/services/cardiology-ward-7").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Wendy Clarke"), "{page}");
    let (status, page) = wendy
        .page("/staff/services/childrens-assessment-unit")
        .await;
    assert_eq!(status, 403);
    assert!(
        page.contains("You do not have access to this service"),
        "{page}"
    );

    let amara = app.sign_in(AMARA).await;
    let (status, page) = amara.page("/staff/services/cardiology-ward-7").await;
    assert_eq!(status, 403);
    assert!(
        page.contains("You do not have access to this service"),
        "{page}"
    );
    assert!(
        page.starts_with("<!doctype html>"),
        "a page, not JSON: {page}"
    );
    let (status, page) = amara.page("/staff/services/no-such-service").await;
    assert_eq!(status, 404);
    assert!(page.contains("Page not found"), "{page}");
    let (status, page) = amara.page("/staff/no-such-page").await;
    assert_eq!(status, 404);
    assert!(page.contains("Page not found"), "{page}");

    // The trust's manager manages every service.
    let tara = app.sign_in("07700 900401").await;
    let (status, _) = tara.page("/staff/services/childrens-assessment-unit").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_registrar_on_call_tonight_sees_tonights_shift_from_eight() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let (name, phone) = on_call("cardiology-ward-7", "2026-11-27T21:00", 1);
    let registrar = app.sign_in(&phone).await;
    let (status, page) = registrar.page("/staff/shifts").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&name), "{page}");
    assert!(
        page.contains("Cardiology Ward 7, level 1 (out of hours)"),
        "{page}"
    );
    // Out of hours begins when the ward's team goes home at 20:00.
    assert!(page.contains("Fri 27 Nov 20:00 to "), "{page}");
}

#[tokio::test]
async fn a_shift_over_christmas_names_the_bank_holiday() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let (_, phone) = on_call("cardiology-ward-7", "2026-12-25T12:00", 3);
    let senior = app.sign_in(&phone).await;
    let (status, page) = senior.page("/staff/shifts").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Christmas Day (Fri 25 Dec)"), "{page}");
}

/// Check an iCalendar feed strictly: CRLF line endings, lines of at most 75
/// octets, BEGIN/END properly nested, the properties RFC 5545 requires,
/// and every TZID defined. Returns the unfolded content lines.
fn check_ical(feed: &str) -> Vec<String> {
    assert!(feed.ends_with("\r\n"), "ends with CRLF");
    let physical: Vec<&str> = feed.split_terminator("\r\n").collect();
    for line in &physical {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "bare LF or CR in {line:?}"
        );
        assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
    }
    let mut lines: Vec<String> = Vec::new();
    for line in physical {
        match line.strip_prefix(' ') {
            Some(rest) => lines
                .last_mut()
                .expect("no fold on the first line")
                .push_str(rest),
            None => lines.push(line.to_owned()),
        }
    }
    let mut stack: Vec<String> = Vec::new();
    let mut timezones = Vec::new();
    let mut event: Vec<String> = Vec::new();
    for line in &lines {
        let (name, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("no ':' in {line:?}"));
        let (prop, params) = name.split_once(';').unwrap_or((name, ""));
        assert!(
            prop.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'),
            "bad property name {prop:?}"
        );
        match prop {
            "BEGIN" => stack.push(value.to_owned()),
            "END" => {
                assert_eq!(
                    stack.pop().as_deref(),
                    Some(value),
                    "END:{value} closes the wrong block"
                );
                if value == "VEVENT" {
                    for required in ["UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"] {
                        assert!(
                            event.iter().any(|p| p == required),
                            "a VEVENT has no {required}"
                        );
                    }
                    event.clear();
                }
            }
            "TZID" if stack.last().map(String::as_str) == Some("VTIMEZONE") => {
                timezones.push(value.to_owned())
            }
            _ => {
                if stack.last().map(String::as_str) == Some("VEVENT") {
                    event.push(prop.to_owned());
                }
                if let Some(tzid) = params.strip_prefix("TZID=") {
                    assert!(
                        timezones.iter().any(|t| t == tzid),
                        "TZID {tzid} is not defined"
                    );
                    assert_eq!(value.len(), 15, "a local DATE-TIME: {value}");
                }
                if prop == "DTSTAMP" {
                    assert!(
                        value.ends_with('Z') && value.len() == 16,
                        "DTSTAMP in UTC: {value}"
                    );
                }
            }
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
    for required in ["VERSION:2.0", "PRODID:-//Nightingale//Staff shifts//EN"] {
        assert!(lines.iter().any(|l| l == required), "no {required}");
    }
    lines
}

#[tokio::test]
async fn a_private_calendar_feed_of_her_shifts_parses_and_can_be_stopped() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let (name, phone) = on_call("cardiology-ward-7", "2026-11-27T21:00", 1);
    let registrar = app.sign_in(&phone).await;
    let (status, page) = registrar.page("/staff/calendar").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You have no calendar link"), "{page}");

    let made = registrar
        .post("/staff/calendar", &[("action", "create")])
        .await;
    assert_eq!(made.status(), 200);
    let page = made.text().await.unwrap().replace("&#x2f;", "/");
    let url = page
        .split(['>', '<'])
        .find(|s| s.starts_with("https://nightingale.test/calendar/") && s.ends_with(".ics"))
        .unwrap_or_else(|| panic!("the link is shown: {page}"))
        .replace("https://nightingale.test", &app.address);

    let response = app.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let feed = response.text().await.unwrap();
    let lines = check_ical(&feed);
    assert!(
        lines
            .iter()
            .any(|l| l == &format!("X-WR-CALNAME:On call: {name}")),
        "{feed}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "DTSTART;TZID=Europe/London:20261127T200000"),
        "{feed}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "SUMMARY:On call: Cardiology Ward 7\\, level 1 (out of hours)"),
        "{feed}"
    );
    // Each shift its own UID.
    let uids: Vec<_> = lines.iter().filter(|l| l.starts_with("UID:")).collect();
    let unique: std::collections::BTreeSet<_> = uids.iter().collect();
    assert_eq!(uids.len(), unique.len());

    // A new link stops the old; stopping it stops the new.
    let page = registrar.page("/staff/calendar").await.1;
    assert!(
        page.contains("You made a calendar link on Fri 27 Nov 19:05"),
        "{page}"
    );
    registrar
        .post("/staff/calendar", &[("action", "create")])
        .await;
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), 404);
    let stopped = registrar
        .post("/staff/calendar", &[("action", "revoke")])
        .await;
    assert!(stopped.text().await.unwrap().contains("no longer works"));
    let page = registrar.page("/staff/calendar").await.1;
    assert!(page.contains("You have no calendar link"), "{page}");
}

#[tokio::test]
async fn the_registrar_paged_tonight_accepts_from_my_concerns_and_resolves_it_there() {
    use crate::support::nightingale::MARGARET;
    let app = TestApp::spawn("2026-11-27T21:00").await;
    let (registrar_name, registrar_phone) = on_call("cardiology-ward-7", "2026-11-27T21:00", 1);
    app.enrol_margaret("cardiology-ward-7").await;
    app.text(MARGARET, "My ankles are more swollen tonight")
        .await;
    app.settle().await;
    let page = app
        .twilio
        .messages_to(&registrar_phone)
        .into_iter()
        .find(|m| m.body.contains("/l/"))
        .expect("the registrar was paged");
    let concern = TestApp::concern_id_in(&page);

    let registrar = app.sign_in(&registrar_phone).await;
    let (status, list) = registrar.page("/staff/concerns").await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains("Margaret Evans"), "{list}");
    assert!(list.contains("Waiting for someone to accept"), "{list}");
    let (status, shown) = registrar.page(&format!("/staff/concerns/{concern}")).await;
    assert_eq!(status, 200, "{shown}");
    assert!(
        shown.contains("My ankles are more swollen tonight"),
        "{shown}"
    );
    assert!(
        shown.contains("admitted with cellulitis"),
        "the page link's context: {shown}"
    );

    // Without the session's token the accept is refused, and nothing happens.
    let forged = registrar
        .post_raw(
            &format!("/staff/concerns/{concern}"),
            &[("action", "accept")],
            &[],
        )
        .await;
    assert_eq!(forged.status(), 403);
    app.settle().await;
    assert_eq!(app.concern(&concern).await["status"], "open");

    let accepted = registrar
        .post(
            &format!("/staff/concerns/{concern}"),
            &[("action", "accept")],
        )
        .await;
    assert_eq!(accepted.status(), 303);
    app.settle().await;
    let view = app.concern(&concern).await;
    assert_eq!(view["status"], "accepted");
    assert_eq!(view["accepted_by"]["name"], registrar_name.as_str());
    assert!(
        app.twilio.messages_to(MARGARET).iter().any(|m| m
            .body
            .contains(registrar_name.split_whitespace().next().unwrap())),
        "Margaret is told who has it, as when the page link is used"
    );
    assert!(
        registrar
            .page("/staff/concerns")
            .await
            .1
            .contains("You have it")
    );

    let resolved = registrar
        .post(
            &format!("/staff/concerns/{concern}"),
            &[
                ("action", "resolve"),
                ("note", "Advised to raise legs; GP review tomorrow"),
            ],
        )
        .await;
    assert_eq!(resolved.status(), 303);
    app.settle().await;
    let view = app.concern(&concern).await;
    assert_eq!(view["status"], "resolved");
    assert_eq!(view["resolved_by"]["name"], registrar_name.as_str());
    let (_, list) = registrar.page("/staff/concerns").await;
    assert!(list.contains("Resolved Fri 27 Nov 21:00"), "{list}");

    // Someone who was not paged for it cannot see it, nor act on it.
    let amara_or_ben = if registrar_phone == AMARA {
        "07700 900112"
    } else {
        AMARA
    };
    let other = app.sign_in(amara_or_ben).await;
    let (status, page) = other.page(&format!("/staff/concerns/{concern}")).await;
    assert_eq!(status, 404, "{page}");
    assert!(!page.contains("Margaret"), "{page}");
    let refused = other
        .post(
            &format!("/staff/concerns/{concern}"),
            &[("action", "accept")],
        )
        .await;
    assert_eq!(refused.status(), 404);
}

#[tokio::test]
async fn every_staff_page_and_refusal_carries_the_security_headers() {
    let app = TestApp::spawn("2026-11-27T19:05").await;
    let amara = app.sign_in(AMARA).await;
    let anonymous = crate::support::staff::client();
    let mut responses = vec![
        anonymous
            .get(format!("{}/staff/sign-in", app.address))
            .send()
            .await
            .unwrap(),
        anonymous
            .get(format!("{}/staff/concerns", app.address))
            .send()
            .await
            .unwrap(),
    ];
    for path in [
        "/staff",
        "/staff/shifts",
        "/staff/calendar",
        "/staff/concerns",
        "/staff/services/cardiology-ward-7",
        "/staff/no-such-page",
    ] {
        responses.push(amara.get(path).await);
    }
    for response in responses {
        let url = response.url().to_string();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{url}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{url}: {csp}");
        assert!(csp.contains("form-action 'self'"), "{url}: {csp}");
        assert_eq!(headers["cache-control"], "no-store", "{url}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{url}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{url}");
        assert!(
            headers.contains_key("strict-transport-security"),
            "{url}: the public URL is https"
        );
    }
}
