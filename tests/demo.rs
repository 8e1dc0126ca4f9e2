//! The demo trust in a real browser: `serve --demo`'s phones page, driven
//! through a headless Chromium as a newcomer would use it.

#[path = "support/browser.rs"]
mod browser;

use std::path::PathBuf;

use nightingale::calendar::parse_instant;
use nightingale::config::Config;
use nightingale::demo::{self, DemoOptions};

use browser::Browser;

/// A demo served on a random port, its clock starting at a given instant.
struct RunningDemo {
    address: String,
    rota: nightingale::rota::Rota,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl RunningDemo {
    async fn start(at: &str) -> Self {
        Self::start_with(at, None).await
    }

    /// As [`RunningDemo::start`], keeping the store in `store` if given.
    async fn start_with(at: &str, store: Option<PathBuf>) -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            rota_dir: root.join("rota"),
            templates_dir: root.join("templates"),
            ..Config::default()
        };
        let options = DemoOptions {
            store,
            start: Some(parse_instant(at).unwrap()),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            demo::serve_on(listener, &config, options, async move {
                let _ = rx.await;
            })
            .await
        });
        Self {
            address,
            rota: nightingale::rota::load_dir(&root.join("rota")).unwrap(),
            stop: Some(tx),
            server: Some(server),
        }
    }

    /// The (name, phone id) of whoever is on `level` of a service at `at`.
    fn on_call(&self, service: &str, at: &str, level: usize) -> (String, String) {
        let ix = self.rota.service(service).unwrap();
        let chain = self.rota.resolve(ix, parse_instant(at).unwrap());
        let person = chain.levels[level - 1].on_call[0].person;
        let number = person.sms_numbers()[0]
            .as_str()
            .trim_start_matches('+')
            .to_owned();
        (person.name.clone(), number)
    }

    /// The (name, phone id) of the trust's fallback for a service at `at`.
    fn fallback(&self, service: &str, at: &str) -> (String, String) {
        let ix = self.rota.service(service).unwrap();
        let chain = self.rota.resolve(ix, parse_instant(at).unwrap());
        let person = chain.fallback.on_call[0].person;
        let number = person.sms_numbers()[0]
            .as_str()
            .trim_start_matches('+')
            .to_owned();
        (person.name.clone(), number)
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

/// Leo's phone (a demo patient of the children's assessment unit).
const LEO: &str = "447700900811";
const FRIDAY_EVENING: &str = "2026-11-27T19:05";

/// The story, with or without JavaScript: without it, a viewer reloads,
/// and the consultant accepts from the page a link opens rather than by text.
async fn patient_texts_registrar_is_paged_consultant_accepts(
    javascript: bool,
) -> (RunningDemo, Browser) {
    let demo = RunningDemo::start(FRIDAY_EVENING).await;
    let (registrar, registrar_phone) = demo.on_call("childrens-assessment-unit", FRIDAY_EVENING, 1);
    let (consultant, consultant_phone) =
        demo.on_call("childrens-assessment-unit", FRIDAY_EVENING, 2);
    let browser = Browser::start(1280, 900, javascript).await;
    browser.goto(&demo.address).await;
    browser
        .wait_for_text("#clock", "Friday 27 November 2026, 19:05")
        .await;
    browser
        .wait_for_text(&format!("#texts-{LEO}"), "Hello Leo")
        .await;
    browser.assert_accessible("the phones page").await;

    // Friday 19:05: Leo texts the number he was given at discharge.
    browser
        .text_from(LEO, "My inhaler is not helping and I am wheezy")
        .await;
    browser
        .wait_for_text(&format!("#texts-{LEO}"), "we have your message")
        .await;

    // The registrar's phone shows the page, with its code and its link.
    let page = browser
        .wait_for_text(&format!("#texts-{registrar_phone}"), "Reply A")
        .await;
    assert!(
        page.contains("My inhaler is not helping"),
        "{registrar}: {page}"
    );
    let consultant_before = browser.text_of(&format!("#texts-{consultant_phone}")).await;
    assert!(
        !consultant_before.contains("Reply A"),
        "the consultant is not paged yet: {consultant_before}"
    );

    // Nobody accepts; time skips ten minutes (or, in the other telling,
    // to the registrar's deadline five minutes on) and the consultant is paged.
    let (skip, then) = if browser.javascript {
        ("10m", "19:15")
    } else {
        ("next", "19:10")
    };
    browser.press(&format!("button[value='{skip}']")).await;
    browser.wait_for_text("#clock", then).await;
    let escalated = browser
        .wait_for_text(&format!("#texts-{consultant_phone}"), "Reply A")
        .await;
    browser
        .wait_for_text("#timelines", "Escalated to level 2")
        .await;
    let code = reply_code(&escalated);
    assert!(!code.is_empty(), "{escalated}");

    // The link in the page is a real link, to the page behind it.
    let link = browser
        .attr_of(&format!("#texts-{consultant_phone} a"), "href")
        .await;
    assert!(link.starts_with(&format!("{}/l/", demo.address)), "{link}");

    if browser.javascript {
        // The consultant accepts by text, as on a real phone.
        browser
            .text_from(&consultant_phone, &format!("A{code}"))
            .await;
        browser
            .wait_for_text(
                &format!("#texts-{consultant_phone}"),
                &format!("You have concern {code}"),
            )
            .await;
    } else {
        // The consultant taps the link and accepts on the page behind it.
        browser.goto(&link).await;
        browser.press("button[value='accept']").await;
        browser
            .wait_for_text("main", "You have accepted this")
            .await;
        browser.goto(&demo.address).await;
    }

    // Leo's phone shows who has it.
    let leo = browser
        .wait_for_text(&format!("#texts-{LEO}"), &consultant)
        .await;
    assert!(
        leo.contains("has the message and will be in touch"),
        "{leo}"
    );
    browser.wait_for_text("#timelines", "accepted").await;

    // The link page says so too, to the consultant it was sent to.
    browser.goto(&link).await;
    browser
        .wait_for_text("main", "You have accepted this")
        .await;
    browser.assert_accessible("the link page").await;
    (demo, browser)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_texts_the_registrar_is_paged_then_the_consultant_who_accepts_and_the_patient_is_told()
 {
    let (demo, browser) = patient_texts_registrar_is_paged_consultant_accepts(true).await;
    // The page as a newcomer sees it, for README.md, showing one service.
    browser
        .goto(&format!(
            "{}/?service=childrens-assessment-unit",
            demo.address
        ))
        .await;
    browser.wait_for_text("#timelines", "accepted").await;
    browser
        .assert_accessible("the phones page in the middle of a night")
        .await;
    browser
        .client
        .execute(
            "document.body.style.zoom = 0.8; document.getElementById('phones-heading').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    let png = browser.client.screenshot().await.unwrap();
    let out = std::env::var_os("NIGHTINGALE_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("nightingale-demo-phones.png"));
    std::fs::write(&out, png).unwrap();
    browser.close().await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_javascript_off_the_story_works_by_forms_and_reloads_skipping_to_the_deadline_and_accepting_on_the_link_page()
 {
    let (demo, browser) = patient_texts_registrar_is_paged_consultant_accepts(false).await;
    browser.close().await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_small_phone_the_page_fits_passes_the_accessibility_check_and_enrols_a_patient() {
    let demo = RunningDemo::start(FRIDAY_EVENING).await;
    let browser = Browser::start(360, 740, true).await;
    browser.goto(&demo.address).await;
    browser
        .wait_for_text(&format!("#texts-{LEO}"), "Hello Leo")
        .await;
    let overflow = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        overflow,
        serde_json::json!(0),
        "nothing scrolls sideways at 360 pixels"
    );
    browser
        .assert_accessible("the phones page on a small phone")
        .await;
    browser.close().await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_starts_the_demo_afresh_and_a_form_from_another_site_is_refused() {
    let demo = RunningDemo::start(FRIDAY_EVENING).await;
    let (_, registrar_phone) = demo.on_call("childrens-assessment-unit", FRIDAY_EVENING, 1);
    let browser = Browser::start(1280, 900, true).await;
    browser.goto(&demo.address).await;
    browser.text_from(LEO, "I cannot stop coughing").await;
    browser
        .wait_for_text(&format!("#texts-{registrar_phone}"), "Reply A")
        .await;
    browser.press("button[value='10m']").await;
    browser.wait_for_text("#clock", "19:15").await;

    // Another site cannot move the clock or type in a phone.
    let http = reqwest::Client::new();
    for (path, form) in [
        ("/demo/clock", vec![("skip", "friday")]),
        ("/demo/reset", vec![]),
    ] {
        let forged = http
            .post(format!("{}{path}", demo.address))
            .header("Origin", "https://elsewhere.example")
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403, "{path}");
    }
    browser.wait_for_text("#clock", "19:15").await;

    browser.press("form[action='/demo/reset'] button").await;
    browser.wait_for_text("#clock", "19:05").await;
    browser.wait_for_text("#timelines", "No concerns yet").await;
    let leo = browser
        .wait_for_text(&format!("#texts-{LEO}"), "Hello Leo")
        .await;
    assert!(!leo.contains("coughing"), "a fresh start: {leo}");
    let registrar = browser.text_of(&format!("#texts-{registrar_phone}")).await;
    assert!(registrar.contains("No texts yet"), "{registrar}");

    // The fresh demo works as the first did.
    browser.text_from(LEO, "Still coughing").await;
    browser
        .wait_for_text(&format!("#texts-{registrar_phone}"), "Still coughing")
        .await;
    browser.close().await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_on_a_store_it_was_given_before_enrols_nobody_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("demo.db");
    let http = reqwest::Client::new();
    let first = RunningDemo::start_with(FRIDAY_EVENING, Some(store.clone())).await;
    page_showing(&http, &first.address, "Hello Leo").await;
    first.stop().await;

    let again = RunningDemo::start_with(FRIDAY_EVENING, Some(store)).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let html = page_text(&http, &again.address).await;
    assert!(
        html.contains("id=\"phone-447700900811\""),
        "Leo's phone is shown"
    );
    assert!(
        !html.contains("Hello Leo"),
        "not welcomed twice: not enrolled twice"
    );
    again.stop().await;
}

/// Jess Carter's phone: Leo's mother, his carer.
const JESS: &str = "447700900812";
const SUNDAY_NIGHT: &str = "2026-11-29T02:10";

/// A carer calls at night: she hears the greeting; the registrar is rung,
/// hears the screen and hangs up (busy with another child); nobody else
/// answers, and she leaves a message (typed). The registrar is paged by
/// text. Nobody accepts; the clock skips from deadline to deadline until
/// the site duty manager (the trust's fallback) is paged and, as their
/// rota entry says (`"voice after 2m"`), rung with the page; they press 1,
/// and Jess is told who has it.
async fn a_carer_calls_at_night(javascript: bool) {
    let demo = RunningDemo::start(SUNDAY_NIGHT).await;
    let (registrar, registrar_phone) = demo.on_call("childrens-assessment-unit", SUNDAY_NIGHT, 1);
    let browser = Browser::start(1280, 900, javascript).await;
    browser.goto(&demo.address).await;
    browser
        .wait_for_text(&format!("#texts-{JESS}"), "Hello Jess")
        .await;

    // 02:10: Jess calls the number she was given.
    browser.press(&format!("#call-from-{JESS}")).await;
    let heard = browser
        .wait_for_text(&format!("#call-{JESS}"), "putting you through")
        .await;
    let emergency = heard.find("hang up now and dial 999").expect(&heard);
    let service = heard
        .find("You have reached the children's team at Riverside Hospital")
        .expect(&heard);
    assert!(emergency < service, "999 comes first: {heard}");

    // The registrar's phone rings, screened: only a key would put Jess through.
    let ringing = browser
        .wait_for_text(&format!("#call-{registrar_phone}"), "Incoming call")
        .await;
    assert!(ringing.contains("ringing"), "{registrar}: {ringing}");
    browser.press(&format!("#answer-{registrar_phone}")).await;
    browser
        .wait_for_text(
            &format!("#call-{registrar_phone}"),
            "A carer of a patient of the Children's assessment unit is calling through Nightingale.",
        )
        .await;
    let screen = browser
        .wait_for_text(
            &format!("#call-{registrar_phone}"),
            "Press 1 to take the call.",
        )
        .await;
    assert_eq!(
        screen.matches("Press 1 to take the call.").count(),
        1,
        "said once: {screen}"
    );
    // They are busy with another patient: they hang up without a key.
    browser.press(&format!("#hang-up-{registrar_phone}")).await;
    browser
        .wait_for_text(
            &format!("#call-{JESS}"),
            "We are still trying to reach someone",
        )
        .await;

    // Nobody else answers; the clock moves on past the longest a caller
    // waits, and Jess is asked for a message.
    browser.press("button[value='10m']").await;
    browser
        .wait_for_text(
            &format!("#call-{JESS}"),
            "Please leave a message after the tone",
        )
        .await;
    browser
        .wait_for_text(&format!("#call-{JESS}"), "Recording your message")
        .await;
    browser
        .assert_accessible("the phones page with a call in progress")
        .await;
    browser
        .type_and_press(
            &format!("#words-{JESS}"),
            "Leo is wheezing again and the new inhaler is not helping",
            &format!("#leave-{JESS}"),
        )
        .await;
    let heard = browser
        .wait_for_text(&format!("#call-{JESS}"), "We have your message")
        .await;
    assert!(heard.contains("Call ended"), "{heard}");
    assert!(
        heard.contains("typed in the demo"),
        "the typed words are marked as typed: {heard}"
    );

    // The registrar's phone shows the page: a voicemail (its words follow
    // with the transcription, which a page does not wait for).
    let page = browser
        .wait_for_text(&format!("#texts-{registrar_phone}"), "Reply A")
        .await;
    assert!(page.contains("left a voicemail"), "{page}");

    // Behind its link, where a recording would be, the registrar reads
    // Jess's words, marked as typed.
    let link = browser
        .attr_of(&format!("#texts-{registrar_phone} a"), "href")
        .await;
    let deadline = tokio::time::Instant::now() + browser::PATIENCE;
    loop {
        browser.goto(&link).await;
        let main = browser.text_of("main").await;
        if main.contains("(typed in the demo) Leo is wheezing again") {
            assert!(main.contains("Listen to the voicemail"), "{main}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the link page never showed the typed message: {main}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    browser.goto(&demo.address).await;

    // Nobody accepts. The clock skips from deadline to deadline until the
    // fallback is paged and, two minutes later, rung.
    let (manager, manager_phone) = demo.fallback("childrens-assessment-unit", SUNDAY_NIGHT);
    let deadline = tokio::time::Instant::now() + browser::PATIENCE * 3;
    loop {
        let html = browser.client.source().await.unwrap();
        if html.contains(&format!("id=\"answer-{manager_phone}\"")) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{manager} is never rung with the page"
        );
        browser.press("button[value='next']").await;
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        if !browser.javascript {
            browser.goto(&demo.address).await;
        }
    }
    let ringing = browser
        .wait_for_text(
            &format!("#call-{manager_phone}"),
            "Incoming call from +447700900000 (Nightingale).",
        )
        .await;
    assert!(ringing.contains("ringing"), "{ringing}");
    browser.press(&format!("#answer-{manager_phone}")).await;
    let heard = browser
        .wait_for_text(
            &format!("#call-{manager_phone}"),
            "Press 1 to accept, 2 to pass, or star to hear this again.",
        )
        .await;
    assert!(
        heard.contains("This is Nightingale, with a page for Children's assessment unit."),
        "{heard}"
    );
    assert!(heard.contains("left a voicemail"), "{heard}");
    assert!(
        heard.contains("(typed in the demo) Leo is wheezing again"),
        "the transcription, marked as typed: {heard}"
    );
    browser
        .assert_accessible("the phones page with a keypad on a call")
        .await;
    browser
        .press(&format!("#keypad-{manager_phone} button[value='1']"))
        .await;
    browser
        .wait_for_text(
            &format!("#call-{manager_phone}"),
            "You are accepting this concern",
        )
        .await;
    browser.press(&format!("#hang-up-{manager_phone}")).await;

    // Jess's phone shows who has it.
    let jess = browser
        .wait_for_text(&format!("#texts-{JESS}"), &manager)
        .await;
    assert!(jess.contains("has the message"), "{jess}");
    browser.wait_for_text("#timelines", "accepted").await;
    browser.close().await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carer_calls_at_night_leaves_a_typed_message_and_the_fallback_rung_with_the_page_accepts_by_key()
 {
    a_carer_calls_at_night(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_javascript_off_a_call_works_by_forms_and_reloads() {
    a_carer_calls_at_night(false).await;
}

/// The page as a program sees it.
async fn page_text(http: &reqwest::Client, address: &str) -> String {
    let response = http.get(address).send().await.unwrap();
    response.text().await.unwrap()
}

/// The code a page's text gives to accept it (`Reply A12`: `12`).
fn reply_code(page: &str) -> String {
    page.split("Reply A")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

/// The page as a program sees it, once it contains `wanted`.
async fn page_showing(http: &reqwest::Client, address: &str, wanted: &str) -> String {
    let deadline = tokio::time::Instant::now() + browser::PATIENCE;
    loop {
        let html = page_text(http, address).await;
        if html.contains(wanted) {
            return html;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the page never showed {wanted:?}:\n{html}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_call_reaches_the_real_voice_webhooks_which_refuse_anyone_else_and_a_caller_who_hangs_up_while_ringing_is_called_back()
 {
    let demo = RunningDemo::start(FRIDAY_EVENING).await;
    let http = reqwest::Client::new();

    // Someone who is not the demo's call provider cannot reach the voice
    // webhooks: the demo holds the only token they accept.
    let forged = http
        .post(format!("{}/twilio/voice", demo.address))
        .header("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl")
        .form(&[
            ("CallSid", "CA1"),
            ("From", "+447700900821"),
            ("To", "+447700900000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    // Friday 19:05 is still in hours on Cardiology Ward 7: Arthur's call
    // rings the ward's team phone, whose rota entry takes calls.
    let arthur = "447700900821";
    let ward = "447700900101";
    let called = http
        .post(format!("{}/demo/call", demo.address))
        .form(&[("from", format!("+{arthur}"))])
        .send()
        .await
        .unwrap();
    assert!(called.status().is_success(), "{}", called.status());
    let html = page_showing(&http, &demo.address, "the heart team at Riverside Hospital").await;
    assert!(
        html.contains(&format!("id=\"answer-{ward}\"")),
        "the ward's phone rings"
    );
    assert!(html.contains(&format!("id=\"hang-up-{arthur}\"")));

    // Arthur gives up while it rings: nothing is dropped, a call-back concern is paged.
    let hung_up = http
        .post(format!("{}/demo/call/CADEMO00000001", demo.address))
        .form(&[("act", "hang-up")])
        .send()
        .await
        .unwrap();
    assert!(hung_up.status().is_success());
    let html = page_showing(&http, &demo.address, "Arthur, Cardiology Ward 7").await;
    assert!(
        !html.contains(&format!("id=\"answer-{ward}\"")),
        "the ward's phone stops ringing"
    );
    page_showing(
        &http,
        &demo.address,
        "phoned and reached nobody. Please call them back",
    )
    .await;

    // A key on a call with no keypad is refused, and says so.
    let late = http
        .post(format!("{}/demo/call/CADEMO00000001", demo.address))
        .form(&[("key", "1")])
        .send()
        .await
        .unwrap();
    assert!(
        late.url().as_str().ends_with("/?done=call-over"),
        "{}",
        late.url()
    );
    demo.stop().await;
}

/// Rhys Davies's inbox: Arthur's son, a carer enrolled with an email alone.
const RHYS: &str = "rhys-davies-home-demo-invalid";
const FRIDAY_NIGHT: &str = "2026-11-27T21:05";

/// A carer emails at night: the registrar on call is paged by text, accepts,
/// and the carer's inbox shows who has it, in an email from Nightingale.
async fn a_carer_emails_at_night(javascript: bool) {
    let demo = RunningDemo::start(FRIDAY_NIGHT).await;
    let (registrar, registrar_phone) = demo.on_call("cardiology-ward-7", FRIDAY_NIGHT, 1);
    let browser = Browser::start(1280, 900, javascript).await;
    browser.goto(&demo.address).await;
    // Welcomed by email when enrolled, with the address that reaches us.
    let inbox = browser
        .wait_for_text(&format!("#emails-{RHYS}"), "Hello Rhys")
        .await;
    assert!(
        inbox.contains("nightingale@demo.nightingale.invalid"),
        "{inbox}"
    );
    browser
        .assert_accessible("the phones page with an inbox")
        .await;

    browser
        .find(&format!("#subject-{RHYS}"))
        .await
        .send_keys("Dad tonight")
        .await
        .unwrap();
    browser
        .type_and_press(
            &format!("#email-{RHYS}"),
            "Dad is more breathless than this morning and his ankles are swollen",
            &format!("#send-email-{RHYS}"),
        )
        .await;
    browser
        .wait_for_text(
            &format!("#emails-{RHYS}"),
            "To nightingale@demo.nightingale.invalid",
        )
        .await;

    // The registrar's phone shows the page, with the son's own words.
    let page = browser
        .wait_for_text(&format!("#texts-{registrar_phone}"), "Reply A")
        .await;
    assert!(page.contains("ankles are swollen"), "{registrar}: {page}");
    let code = reply_code(&page);
    assert!(!code.is_empty(), "{page}");
    browser
        .text_from(&registrar_phone, &format!("A{code}"))
        .await;

    // Rhys has no phone: he is told who has it by email.
    let told = browser
        .wait_for_text(&format!("#emails-{RHYS}"), &registrar)
        .await;
    assert!(told.contains("will be in touch"), "{told}");
    browser.wait_for_text("#timelines", "accepted").await;
    browser
        .assert_accessible("the phones page with an answered email")
        .await;
    browser.close().await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carer_with_no_phone_emails_at_night_the_registrar_is_paged_accepts_and_the_carers_inbox_says_who_has_it()
 {
    a_carer_emails_at_night(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_javascript_off_a_carer_emails_by_the_form_and_reads_the_answer_on_a_reload() {
    a_carer_emails_at_night(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_from_an_inbox_not_on_the_page_or_from_another_site_is_refused() {
    let demo = RunningDemo::start(FRIDAY_NIGHT).await;
    let http = reqwest::Client::new();
    page_showing(&http, &demo.address, "Hello Rhys").await;
    let forged = http
        .post(format!("{}/demo/email", demo.address))
        .header("Origin", "https://elsewhere.example")
        .form(&[("from", "rhys.davies@home.demo.invalid"), ("body", "Hello")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let stranger = http
        .post(format!("{}/demo/email", demo.address))
        .form(&[("from", "someone@elsewhere.example"), ("body", "Hello")])
        .send()
        .await
        .unwrap();
    assert!(
        stranger.url().as_str().ends_with("/?done=unknown-inbox"),
        "{}",
        stranger.url()
    );
    let empty = http
        .post(format!("{}/demo/email", demo.address))
        .form(&[
            ("from", "rhys.davies@home.demo.invalid"),
            ("subject", "Dad"),
            ("body", " "),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 422, "refused, on the page itself");
    let refused = empty.text().await.unwrap();
    assert!(refused.contains("There is a problem"), "{refused}");
    assert!(
        refused.contains("Write an email before sending it"),
        "{refused}"
    );
    assert!(
        refused.contains(r#"value="Dad""#),
        "the subject typed is kept"
    );
    let html = page_text(&http, &demo.address).await;
    assert!(html.contains("No concerns yet"), "nothing was taken in");
    demo.stop().await;
}

/// A number of the page's script's answer, as JSON.
async fn run(browser: &Browser, script: &str) -> serde_json::Value {
    browser.client.execute(script, vec![]).await.unwrap()
}

/// A newcomer on a phone-sized window, as the README's walkthrough has it:
/// three numbered steps at the top; Leo's phone, his mother's, and the
/// registrar's that his text reaches, one after another; the clock's
/// buttons smaller than a phone's Send. A 2,000-character text is refused
/// beside Leo's phone, its words still in the box; a double-tap on Send
/// sends the next text once; and the page asks for no font from elsewhere
/// and has an icon.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_a_newcomer_follows_three_steps_with_leo_beside_the_registrar_and_a_refused_text_keeps_its_words()
 {
    let demo = RunningDemo::start(FRIDAY_EVENING).await;
    let (_, registrar_phone) = demo.on_call("childrens-assessment-unit", FRIDAY_EVENING, 1);
    let browser = Browser::start(390, 844, true).await;
    browser.goto(&demo.address).await;
    browser
        .wait_for_text(&format!("#texts-{LEO}"), "Hello Leo")
        .await;
    let steps = browser.text_of("#steps").await;
    assert_eq!(
        run(
            &browser,
            "return document.querySelectorAll('#steps > li').length;"
        )
        .await,
        3,
        "{steps}"
    );
    assert!(steps.contains("Leo Carter's phone"), "{steps}");

    // Leo, Jess, then the registrar: the phones a text goes between are
    // next to each other, not 9,000 pixels apart.
    let order = run(
        &browser,
        "return [...document.querySelectorAll('#phones > li')].map(li => li.id);",
    )
    .await;
    let order: Vec<String> = serde_json::from_value(order).unwrap();
    let registrar_at = order
        .iter()
        .position(|id| *id == format!("phone-{registrar_phone}"))
        .unwrap();
    assert_eq!(order[0], format!("phone-{LEO}"), "{order:?}");
    assert!(
        registrar_at <= 2,
        "the registrar's phone is third at most: {order:?}"
    );
    let apart = run(
        &browser,
        &format!(
            "return document.getElementById('phone-{registrar_phone}').getBoundingClientRect().top \
             - document.getElementById('phone-{LEO}').getBoundingClientRect().top;"
        ),
    )
    .await;
    assert!(apart.as_f64().unwrap() < 2.0 * 844.0, "{apart} px apart");

    // Moving the clock is there, but smaller than what a phone does.
    let heights = run(
        &browser,
        &format!(
            "return [document.querySelector(\"button[value='next']\").offsetHeight, \
             document.getElementById('send-{LEO}').offsetHeight];"
        ),
    )
    .await;
    let heights: Vec<f64> = serde_json::from_value(heights).unwrap();
    assert!(heights[0] < heights[1], "skip {heights:?} vs send");

    // No web font from elsewhere (four refused requests in the console
    // before), and the icon is served.
    let fonts = run(
        &browser,
        "return [...document.styleSheets].flatMap(s => [...s.cssRules]).filter(r => r instanceof CSSFontFaceRule).length;",
    )
    .await;
    assert_eq!(fonts, 0, "no @font-face rule");
    let icon = browser.attr_of("link[rel='icon']", "href").await;
    let served = reqwest::get(format!("{}{icon}", demo.address))
        .await
        .unwrap();
    assert_eq!(served.status(), 200, "{icon}");
    assert_eq!(served.headers()["content-type"], "image/svg+xml");

    // 2,000 characters: refused beside Leo's phone, still in the box.
    let long = "wheezy ".repeat(286);
    browser
        .find(&format!("#text-{LEO}"))
        .await
        .send_keys(&long)
        .await
        .unwrap();
    browser.press(&format!("#send-{LEO}")).await;
    let refused = browser
        .wait_for_text(&format!("#text-form-{LEO}"), "too long")
        .await;
    assert!(
        refused.contains("Keep it under 1,600 characters"),
        "{refused}"
    );
    browser
        .wait_for_text("#notices", "There is a problem")
        .await;
    let kept = run(
        &browser,
        &format!("return document.getElementById('text-{LEO}').value.length;"),
    )
    .await;
    assert_eq!(kept, long.len(), "what was typed is kept");
    let leo = browser.text_of(&format!("#texts-{LEO}")).await;
    assert!(!leo.contains("wheezy wheezy"), "nothing was sent: {leo}");
    browser
        .assert_accessible("the phones page on a phone, with a refused text")
        .await;

    // A double-tap on Send sends once, and the box is emptied once sent.
    run(
        &browser,
        &format!(
            "const box = document.getElementById('text-{LEO}'); box.value = 'Leo is coughing at night'; \
             const send = document.getElementById('send-{LEO}'); send.click(); send.click(); return true;"
        ),
    )
    .await;
    browser
        .wait_for_text(&format!("#texts-{registrar_phone}"), "coughing at night")
        .await;
    let leo = browser
        .wait_for_text(&format!("#texts-{LEO}"), "we have your message")
        .await;
    assert_eq!(leo.matches("Leo is coughing at night").count(), 1, "{leo}");
    let emptied = run(
        &browser,
        &format!("return document.getElementById('text-{LEO}').value;"),
    )
    .await;
    assert_eq!(emptied, "");
    browser.save_screenshot("demo-phone-size.png").await;
    browser.close().await;
    demo.stop().await;
}

/// Without JavaScript, a refused text comes back on the page with the
/// error summary, the message beside the box and the words still in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_javascript_off_a_refused_text_comes_back_with_its_words_and_the_reason_beside_the_phone()
 {
    let demo = RunningDemo::start(FRIDAY_EVENING).await;
    let browser = Browser::start(390, 844, false).await;
    browser.goto(&demo.address).await;
    browser
        .wait_for_text(&format!("#texts-{LEO}"), "Hello Leo")
        .await;
    let long = "wheezy ".repeat(286);
    browser
        .type_and_press(&format!("#text-{LEO}"), &long, &format!("#send-{LEO}"))
        .await;
    let refused = browser
        .wait_for_text(&format!("#text-form-{LEO}"), "too long")
        .await;
    assert!(
        refused.contains("Keep it under 1,600 characters"),
        "{refused}"
    );
    assert!(
        browser
            .text_of("#notices")
            .await
            .contains("There is a problem")
    );
    let kept = browser.attr_of(&format!("#text-{LEO}"), "value").await;
    assert_eq!(kept, long, "what was typed is kept");
    browser.close().await;
    demo.stop().await;
}

/// The email form has its subject, its body and its Send button one under
/// another, inside its card: nothing clipped at a desk's width; and an
/// email sent empties the form, so a second press sends nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_form_fits_its_card_and_empties_once_sent() {
    let demo = RunningDemo::start(FRIDAY_NIGHT).await;
    let browser = Browser::start(1280, 900, true).await;
    browser.goto(&demo.address).await;
    browser
        .wait_for_text(&format!("#emails-{RHYS}"), "Hello Rhys")
        .await;
    let fits = run(
        &browser,
        &format!(
            "const card = document.getElementById('inbox-{RHYS}').getBoundingClientRect(); \
             const send = document.getElementById('send-email-{RHYS}').getBoundingClientRect(); \
             const body = document.getElementById('email-{RHYS}').getBoundingClientRect(); \
             return [send.right <= card.right, send.top >= body.bottom, body.width > card.width / 2];"
        ),
    )
    .await;
    assert_eq!(
        fits,
        serde_json::json!([true, true, true]),
        "send inside its card, under the body"
    );
    browser
        .find(&format!("#subject-{RHYS}"))
        .await
        .send_keys("Dad tonight")
        .await
        .unwrap();
    browser
        .type_and_press(
            &format!("#email-{RHYS}"),
            "Dad's ankles are swollen",
            &format!("#send-email-{RHYS}"),
        )
        .await;
    browser
        .wait_for_text(
            &format!("#emails-{RHYS}"),
            "To nightingale@demo.nightingale.invalid",
        )
        .await;
    let left = run(
        &browser,
        &format!(
            "return [document.getElementById('email-{RHYS}').value, document.getElementById('subject-{RHYS}').value];"
        ),
    )
    .await;
    assert_eq!(
        left,
        serde_json::json!(["", ""]),
        "the form is emptied once sent"
    );
    browser.close().await;
    demo.stop().await;
}

/// Leo texts at 19:05 and nobody accepts. The viewer moves the clock on
/// ten minutes: the registrar's deadline at 19:10 fires at 19:10, and
/// "What happened" says so with the day, not "19:15 escalated". A member
/// of staff whose session the move ended is told why on the sign-in page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_the_clock_on_fires_each_deadline_at_its_own_time_and_says_why_staff_were_signed_out()
 {
    let demo = RunningDemo::start(FRIDAY_EVENING).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    page_showing(&http, &demo.address, "Hello Leo").await;
    let sent = http
        .post(format!("{}/demo/text", demo.address))
        .form(&[
            ("from", format!("+{LEO}")),
            ("body", "Leo is wheezy".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 303);
    page_showing(&http, &demo.address, "Paged ").await;
    let moved = http
        .post(format!("{}/demo/clock", demo.address))
        .form(&[("skip", "10m")])
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 303);
    let html = page_showing(&http, &demo.address, "Escalated to level 2").await;
    let escalated = html
        .lines()
        .find(|l| l.contains("Escalated to level 2"))
        .unwrap();
    assert!(
        escalated.contains("<time>Fri 19:10:"),
        "at the deadline, with its day: {escalated}"
    );
    assert!(
        html.contains("It is <strong>Friday 27 November 2026, 19:15"),
        "the clock is where it was moved to"
    );

    // A session that has ended (here, one the demo never had): sent to
    // sign in, and told why.
    let staff = http
        .get(format!("{}/staff", demo.address))
        .header("Cookie", "ng_staff=ended-long-ago")
        .send()
        .await
        .unwrap();
    let to = staff.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.contains("ended=1"), "{to}");
    let page = http
        .get(format!("{}{to}", demo.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("You have been signed out because your session ended"),
        "{page}"
    );
    assert!(
        page.contains("moving the clock on ends a session"),
        "{page}"
    );
    demo.stop().await;
}
