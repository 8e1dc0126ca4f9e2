//! A real Chromium, headless, driven through chromedriver (WebDriver) by
//! fantoccini. Each [`Browser`] starts its own chromedriver on a free port
//! and a Chromium with a fresh profile, and stops both when dropped.
//!
//! Needs the Debian packages `chromium` and `chromium-driver`
//! (`/usr/bin/chromium`, `/usr/bin/chromedriver`; `.ci/run` installs them):
//! without them a test fails, saying what to install.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a page may take to show what a test waits for. The engine
/// works in milliseconds; this is for a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(20);

pub struct Browser {
    pub client: Client,
    /// Whether the page runs its scripts.
    pub javascript: bool,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

/// Fail, naming the packages, when Chromium or chromedriver is missing.
pub fn require_chromium() {
    let missing: Vec<&str> = [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")]
        .iter()
        .filter(|(path, _)| !Path::new(path).exists())
        .map(|(_, package)| *package)
        .collect();
    assert!(
        missing.is_empty(),
        "the browser tests drive a real Chromium and need {} (not found at {CHROMIUM} / {CHROMEDRIVER}): \
         install with `apt-get install -y chromium chromium-driver` (.ci/run does)",
        missing.join(" and ")
    );
}

/// The port chromedriver says it started on ("… started successfully on port N."),
/// or `None` if it stopped without saying.
async fn driver_port(driver: &mut tokio::process::Child) -> Option<u16> {
    use tokio::io::AsyncBufReadExt;
    let stdout = driver
        .stdout
        .take()
        .expect("chromedriver's output is piped");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let port = tokio::time::timeout(PATIENCE, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(port) = line
                .split("started successfully on port ")
                .nth(1)
                .and_then(|rest| rest.trim_end_matches('.').parse().ok())
            {
                return Some(port);
            }
        }
        None
    })
    .await;
    // Keep reading its output, so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    port.ok().flatten()
}

impl Browser {
    /// Start chromedriver and a headless Chromium with a fresh profile,
    /// its window `width` x `height`, with or without JavaScript.
    pub async fn start(width: u32, height: u32, javascript: bool) -> Self {
        require_chromium();
        // Port 0: chromedriver takes a free port itself and says which, so
        // no other test can take it between our choosing and its binding.
        // Under a full test run a chromedriver now and then stops at once
        // without saying a port (seen once in CI): start another, up to three.
        let mut tries = 0;
        let (driver, port) = loop {
            tries += 1;
            let mut driver = tokio::process::Command::new(CHROMEDRIVER)
                .arg("--port=0")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("chromedriver starts");
            match driver_port(&mut driver).await {
                Some(port) => break (driver, port),
                None if tries < 3 => tokio::time::sleep(Duration::from_millis(200)).await,
                None => panic!("chromedriver did not say which port it started on, {tries} times"),
            }
        };
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if !javascript {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("chromedriver on {url} did not start Chromium: {e}"),
            }
        };
        Self {
            client,
            javascript,
            _driver: driver,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    /// The text of `css` now, found afresh if live updates replaced it
    /// while it was being read.
    pub async fn text_of(&self, css: &str) -> String {
        self.read(css, None).await
    }

    /// An attribute of `css` now (empty if it has none), likewise.
    pub async fn attr_of(&self, css: &str, name: &str) -> String {
        self.read(css, Some(name)).await
    }

    async fn read(&self, css: &str, attr: Option<&str>) -> String {
        let mut last = String::new();
        for _ in 0..20 {
            let element = self.find(css).await;
            let read = match attr {
                Some(name) => element.attr(name).await.map(Option::unwrap_or_default),
                None => element.text().await,
            };
            match read {
                Ok(value) => return value,
                // Stale: the page replaced it just then.
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} could not be read: {last}")
    }

    /// Type `text` into the box `input` and press `button`.
    pub async fn type_and_press(&self, input: &str, text: &str, button: &str) {
        self.find(input).await.send_keys(text).await.unwrap();
        self.press(button).await;
    }

    /// Type `words` into the phone with this id and send them.
    pub async fn text_from(&self, phone: &str, words: &str) {
        self.type_and_press(&format!("#text-{phone}"), words, &format!("#send-{phone}"))
            .await;
    }

    /// Reload the page, as a person would. A reload cut short by the
    /// page's own navigation (a form just posted) is no failure: the next
    /// look sees the page it went to.
    pub async fn reload(&self) {
        if let Err(e) = self.client.refresh().await {
            let e = e.to_string();
            assert!(e.contains("navigation"), "the reload failed: {e}");
        }
    }

    /// Press the button (or follow the link) `css` finds, found afresh if
    /// live updates replaced it just as it was pressed.
    pub async fn press(&self, css: &str) {
        let mut last = String::new();
        for _ in 0..20 {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} could not be pressed: {last}")
    }

    /// The text of `css` once it contains `wanted`: the page updates itself
    /// (live updates) or, without JavaScript, is reloaded as a person would.
    pub async fn wait_for_text(&self, css: &str, wanted: &str) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(e) => e.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(wanted) {
                return text;
            }
            if tokio::time::Instant::now() >= deadline {
                let url = self.client.current_url().await.map(|u| u.to_string());
                let source = self.client.source().await.unwrap_or_default();
                panic!("{css} never showed {wanted:?}; it shows:\n{text}\nat {url:?}:\n{source}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            if !self.javascript {
                self.reload().await;
            }
        }
    }

    /// Run axe-core (vendored in `tests/vendor/axe-core/`) on the page
    /// shown, against WCAG 2.2 A and AA, and fail naming each violation.
    /// axe is a script: in a browser without JavaScript it cannot run, and
    /// the same pages are checked by a test with it.
    pub async fn assert_accessible(&self, what: &str) {
        if !self.javascript {
            return;
        }
        const AXE: &str = include_str!("../vendor/axe-core/axe.min.js");
        self.client
            .execute(AXE, vec![])
            .await
            .expect("axe-core loads");
        let violations = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values:
                     ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
                   .then(r => done(r.violations.map(v =>
                       v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
                       v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        let violations: Vec<String> = serde_json::from_value(violations).unwrap();
        assert!(
            violations.is_empty(),
            "{what}: {} accessibility problem(s) (WCAG 2.2 AA, by axe-core):\n{}",
            violations.len(),
            violations.join("\n")
        );
    }

    /// Save a screenshot named `name` where `NIGHTINGALE_SCREENSHOTS` says
    /// (docs/ when retaking the README's), else in the temporary directory.
    pub async fn save_screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = std::env::var_os("NIGHTINGALE_SCREENSHOTS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        std::fs::write(dir.join(name), png).unwrap();
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
