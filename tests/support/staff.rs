//! Staff on the web, for tests: sign a person in through the real code
//! flow (the code read from the text the fake Twilio received) and use
//! the staff pages as them, cookies and anti-forgery token included.
//!
//! ```ignore
//! let amara = app.sign_in("+447700900111").await;
//! let page = amara.page("/staff/shifts").await;      // (status, HTML)
//! let done = amara.post("/staff/concerns/ID", &[("action", "accept")]).await;
//! ```

#![allow(dead_code)]

use super::nightingale::TestApp;

/// The session cookie's name (`nightingale::http::web::SESSION_COOKIE`).
pub const SESSION_COOKIE: &str = nightingale::http::web::SESSION_COOKIE;

/// A client that does not follow redirects, so tests see each answer.
pub fn client() -> reqwest::Client {
    client_at("127.0.0.1")
}

/// A client, as [`client`], whose connections come from `local`: another
/// loopback address (`127.0.0.2`, …) is another machine to the app.
pub fn client_at(local: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .local_address(local.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap()
}

/// The number of sign-in codes texted to `phone` so far.
pub fn codes_texted_to(app: &TestApp, phone: &str) -> usize {
    app.twilio
        .messages_to(phone)
        .iter()
        .filter(|m| m.body.contains("sign-in code"))
        .count()
}

/// The value of cookie `name` that a response sets, if it sets one.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (pair, _) = v.split_once(';').unwrap_or((v, ""));
            let (n, value) = pair.split_once('=')?;
            (n == name).then(|| value.to_owned())
        })
}

/// The whole `Set-Cookie` header a response sets for `name`.
pub fn set_cookie_header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The six-digit code in the last sign-in text to `phone`.
pub fn code_texted_to(app: &TestApp, phone: &str) -> String {
    let texts = app.twilio.messages_to(phone);
    let text = texts
        .iter()
        .rev()
        .find(|m| m.body.contains("sign-in code"))
        .unwrap_or_else(|| panic!("no sign-in code was texted to {phone}: {texts:?}"));
    text.body.chars().take_while(char::is_ascii_digit).collect()
}

/// The value of the first `name="csrf"` hidden field in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(html[at..].split('"').next()?.to_owned())
}

/// Sign in, in a real browser, the person whose phone is `phone` (as
/// they would type it): the sign-in page, the code read from the text the
/// fake Twilio received, the code page. The browser ends on `next` (a
/// `/staff` path). The app must be spawned with an `http://` public URL
/// (see [`browser_app`]): a `Secure` cookie is not kept over plain http.
pub async fn sign_in_browser(
    browser: &super::browser::Browser,
    app: &TestApp,
    phone: &str,
    next: &str,
) {
    browser
        .goto(&format!("{}/staff/sign-in?next={next}", app.address))
        .await;
    browser
        .type_and_press("#contact", phone, "form[action='/staff/sign-in'] button")
        .await;
    browser.wait_for_text("h1", "Enter your code").await;
    app.settle().await;
    let e164 = nightingale::directory::PhoneNumber::parse(phone).unwrap();
    let code = code_texted_to(app, e164.as_str());
    browser
        .type_and_press("#code", &code, "form[action='/staff/sign-in/code'] button")
        .await;
}

/// The public URL of a [`browser_app`].
pub const BROWSER_PUBLIC_URL: &str = "http://127.0.0.1";

/// A [`TestApp`] for browser tests: its public URL plain http, so the
/// session cookie is not `Secure` and the browser keeps it on 127.0.0.1.
pub async fn browser_app(now: &str) -> TestApp {
    TestApp::spawn_with(now, |c| c.public_url = BROWSER_PUBLIC_URL.to_owned()).await
}

/// A text from `from` reaching a [`browser_app`] through Twilio's webhook
/// (signed for its public URL, as Twilio would).
pub async fn text_browser_app(app: &TestApp, from: &str, body: &str) {
    let sid = app.twilio.new_sid();
    let params = app
        .twilio
        .inbound_sms_params(&sid, from, super::nightingale::OUR_NUMBER, body);
    let response = app
        .twilio
        .post_signed(
            &format!("{}/twilio/sms", app.address),
            &format!("{BROWSER_PUBLIC_URL}/twilio/sms"),
            &params,
        )
        .await;
    assert_eq!(response.status(), 200);
}

/// Who the demo rota puts on `level` of `service` at `at` (UK time): their
/// name and their first number (E.164).
pub fn on_call(service: &str, at: &str, level: usize) -> (String, String) {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let rota = nightingale::rota::load_dir(&root.join("rota")).unwrap();
    let chain = rota.resolve(
        rota.service(service).unwrap(),
        nightingale::calendar::parse_instant(at).unwrap(),
    );
    let person = chain.levels[level - 1].on_call[0].person;
    (
        person.name.clone(),
        person.sms_numbers()[0].as_str().to_owned(),
    )
}

/// A browser-like session of one signed-in person.
pub struct StaffSession {
    pub address: String,
    pub http: reqwest::Client,
    /// The session cookie's value.
    pub token: String,
}

/// A sign-in begun: the challenge cookie the browser holds while the code is on its way.
pub struct PendingSignIn {
    pub challenge: String,
}

impl TestApp {
    /// Ask for a sign-in code for `phone` (as typed): the challenge cookie
    /// set, and the response (a redirect to the code page when accepted).
    pub async fn ask_for_code(&self, phone: &str) -> (Option<PendingSignIn>, reqwest::Response) {
        self.ask_for_code_from(phone, "127.0.0.1", &[]).await
    }

    /// As [`TestApp::ask_for_code`], from the loopback address `local`
    /// with extra headers (`X-Forwarded-For`, a browser's cookie).
    pub async fn ask_for_code_from(
        &self,
        phone: &str,
        local: &str,
        headers: &[(&str, &str)],
    ) -> (Option<PendingSignIn>, reqwest::Response) {
        let mut request = client_at(local)
            .post(format!("{}/staff/sign-in", self.address))
            .form(&[("contact", phone), ("next", "/staff")]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let pending =
            set_cookie(&response, "ng_sign_in").map(|challenge| PendingSignIn { challenge });
        (pending, response)
    }

    /// Type `code` in the browser holding `pending`.
    pub async fn enter_code(&self, pending: &PendingSignIn, code: &str) -> reqwest::Response {
        client()
            .post(format!("{}/staff/sign-in/code", self.address))
            .header("cookie", format!("ng_sign_in={}", pending.challenge))
            .form(&[("code", code), ("next", "/staff")])
            .send()
            .await
            .unwrap()
    }

    /// Sign in the person whose phone is `phone` (E.164 or as typed),
    /// through the real flow: ask for a code, let the engine text it, read
    /// it from the fake Twilio, type it in.
    pub async fn sign_in(&self, phone: &str) -> StaffSession {
        self.sign_in_from(phone, "127.0.0.1", &[]).await
    }

    /// As [`TestApp::sign_in`], asking for the code from the loopback
    /// address `local` with extra headers (`X-Forwarded-For`).
    pub async fn sign_in_from(
        &self,
        phone: &str,
        local: &str,
        headers: &[(&str, &str)],
    ) -> StaffSession {
        let (pending, response) = self.ask_for_code_from(phone, local, headers).await;
        assert_eq!(response.status(), 303, "asking for a code for {phone}");
        let pending = pending.expect("a challenge cookie is set");
        self.settle().await;
        let e164 = nightingale::directory::PhoneNumber::parse(phone).unwrap();
        let code = code_texted_to(self, e164.as_str());
        let response = self.enter_code(&pending, &code).await;
        assert_eq!(response.status(), 303, "typing the code texted to {phone}");
        let token = set_cookie(&response, SESSION_COOKIE).expect("a session cookie is set");
        StaffSession {
            address: self.address.clone(),
            http: client(),
            token,
        }
    }
}

impl StaffSession {
    /// GET a path with the session cookie.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .header("cookie", format!("{SESSION_COOKIE}={}", self.token))
            .send()
            .await
            .unwrap()
    }

    /// GET a page: its status and HTML.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// The session's anti-forgery token, as the home page's forms carry it.
    pub async fn csrf(&self) -> String {
        let (status, html) = self.page("/staff").await;
        assert_eq!(status, 200, "the home page opens: {html}");
        csrf_in(&html).expect("the home page's sign-out form carries the token")
    }

    /// POST a form with the session cookie and its anti-forgery token.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.csrf().await;
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf", &csrf));
        self.post_raw(path, &fields, &[]).await
    }

    /// POST exactly these fields and extra headers (for forgery tests).
    pub async fn post_raw(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.address))
            .header("cookie", format!("{SESSION_COOKIE}={}", self.token))
            .form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }
}
