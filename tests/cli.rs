//! The `nightingale` command as a rota manager uses it.

use std::path::Path;
use std::process::{Command, Output};

use chrono::{Datelike, NaiveDate, Weekday};
use nightingale::calendar::Division;
use nightingale::calendar::holidays::by_rule;

fn nightingale(args: &[&str], rota_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nightingale"))
        .args(args)
        .env("NIGHTINGALE_ROTA_DIR", rota_dir)
        .env("NIGHTINGALE_LOG", "warn")
        .output()
        .expect("nightingale runs")
}

fn demo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rota"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn holidays_print_one_a_line_as_date_tab_title() {
    let empty = tempfile::tempdir().unwrap();
    let out = nightingale(
        &[
            "calendar",
            "holidays",
            "--division",
            "scotland",
            "--year",
            "2026",
        ],
        empty.path(),
    );
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        "2026-01-01\tNew Year’s Day\n2026-01-02\t2nd January\n2026-04-03\tGood Friday\n2026-05-04\tEarly May bank holiday\n\
         2026-05-25\tSpring bank holiday\n2026-06-15\tBank holiday for the FIFA World Cup\n2026-08-03\tSummer bank holiday\n2026-11-30\tSt Andrew’s Day\n2026-12-25\tChristmas Day\n\
         2026-12-28\tBoxing Day (substitute day)\n"
    );
    let bad = nightingale(
        &[
            "calendar",
            "holidays",
            "--division",
            "wales",
            "--year",
            "2026",
        ],
        empty.path(),
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("england-and-wales"));
}

#[test]
fn a_year_beyond_the_calendar_is_a_usage_error_not_a_crash() {
    let empty = tempfile::tempdir().unwrap();
    for year in ["300000", "1969", "10000"] {
        let out = nightingale(
            &[
                "calendar",
                "holidays",
                "--division",
                "scotland",
                "--year",
                year,
            ],
            empty.path(),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{year}: {stderr}");
        assert!(stderr.contains("1970..=9999"), "{year}: {stderr}");
        assert!(!stderr.contains("panicked"), "{year}: {stderr}");
    }
    // Nor does a window that runs off the end of it.
    for args in [
        &["rota", "check", "--days", "4000000000"][..],
        &["rota", "check", "--from", "+262142-12-30T00:00:00Z"][..],
    ] {
        let out = nightingale(args, demo());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn calendar_at_says_in_or_out_of_hours_and_why() {
    let out = nightingale(&["calendar", "at", "2026-11-27T19:05"], demo());
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("Fri 27 Nov 2026 19:05 GMT"), "{text}");
    assert!(text.contains("out of hours: after 18:30 on Fri"), "{text}");
    assert!(text.contains("until Mon 30 Nov 2026 08:00"), "{text}");

    let ward = stdout(&nightingale(
        &[
            "calendar",
            "at",
            "2026-11-27T19:05",
            "--service",
            "cardiology-ward-7",
        ],
        demo(),
    ));
    assert!(ward.contains("in hours"), "{ward}");
    let boxing = stdout(&nightingale(
        &["calendar", "at", "2026-12-28T12:00"],
        demo(),
    ));
    assert!(
        boxing.contains("Boxing Day (substitute day) is a bank holiday"),
        "{boxing}"
    );
}

#[test]
fn rota_check_passes_the_demo_trust() {
    let out = nightingale(
        &[
            "rota",
            "check",
            "--from",
            "2026-12-01T00:00",
            "--days",
            "60",
        ],
        demo(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("no gaps"));
}

fn copy_of_demo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(demo()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

#[test]
fn rota_check_lists_gaps_and_exits_1() {
    let dir = copy_of_demo();
    let sick = "\n[[overrides]]\nfor = \"jack-taylor\"\nfrom = 2026-12-02T18:30:00\nuntil = 2026-12-03T18:30:00\nreason = \"sick\"\n";
    let path = dir.path().join("overrides.toml");
    let text = std::fs::read_to_string(&path).unwrap() + sick;
    std::fs::write(&path, text).unwrap();
    let out = nightingale(
        &["rota", "check", "--from", "2026-12-01T00:00", "--days", "7"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    // Jack's evening shift is uncovered out of hours; in hours the coordinator answers.
    assert!(
        text.contains("gap\tcommunity-nursing-north\tWed 02 Dec 2026 18:30 GMT → Thu 03 Dec 2026 08:00 GMT\tno reachable level-1 person"),
        "{text}"
    );
    assert!(text.ends_with("1 gap(s)\n"), "{text}");
}

/// The demo trust with `cardiology-registrar` misspelt at services.toml
/// line 18, and that file's path.
fn demo_with_a_misspelt_rotation() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = copy_of_demo();
    let path = dir.path().join("services.toml");
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "rotation = \"cardiology-registrar\"",
        "rotation = \"cardiology-registar\"",
        1,
    );
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn rota_check_reports_file_errors_with_file_and_line_and_exits_2() {
    let (dir, path) = demo_with_a_misspelt_rotation();
    let out = nightingale(&["rota", "check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    let expected = format!(
        "error: {}:20: service cardiology-ward-7: no rotation \"cardiology-registar\": did you mean \"cardiology-registrar\"?",
        path.display()
    );
    assert!(text.contains(&expected), "{text}");
}

#[test]
fn rota_check_reports_a_manager_who_is_not_in_people_toml() {
    let dir = copy_of_demo();
    for (file, from, to) in [
        (
            "services.toml",
            "managers = [\"wendy-clarke\"]",
            "managers = [\"wendy-clark\"]",
        ),
        (
            "trust.toml",
            "managers = [\"tara-singh\"]",
            "managers = [\"tara-singh\", \"nobody-at-all\"]",
        ),
    ] {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has {from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }
    let out = nightingale(&["rota", "check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    let services = dir.path().join("services.toml");
    let trust = dir.path().join("trust.toml");
    assert!(
        text.contains(&format!(
            "error: {}:11: no person \"wendy-clark\": did you mean \"wendy-clarke\"?",
            services.display()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "error: {}:7: no person \"nobody-at-all\"",
            trust.display()
        )),
        "{text}"
    );
}

#[test]
fn rota_who_prints_the_chain() {
    let out = nightingale(
        &[
            "rota",
            "who",
            "--service",
            "community-nursing-north",
            "--at",
            "2026-11-28T02:00",
        ],
        demo(),
    );
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("out of hours"), "{text}");
    assert!(text.contains("level 1"), "{text}");
    assert!(
        text.contains("via rotation community-evening-nurse"),
        "{text}"
    );
    assert!(text.contains("fallback"), "{text}");
    let unknown = nightingale(&["rota", "who", "--service", "nope"], demo());
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("the services are"));
}

#[test]
fn api_key_create_prints_the_key_once_and_stores_only_its_hash() {
    use nightingale::api_keys::Keys as _;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    let out = Command::new(env!("CARGO_BIN_EXE_nightingale"))
        .args(["api-key", "create", "ward-7-discharge"])
        .env("NIGHTINGALE_STORE", format!("sqlite://{}", db.display()))
        .env("NIGHTINGALE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = stdout(&out).trim().to_owned();
    assert!(key.starts_with("ng_") && key.len() == 67, "{key}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("only time it is shown"));
    let store = nightingale::store::sqlite::SqliteStore::open(&db).unwrap();
    let stored = store
        .api_key(nightingale::operations::hash_key(&key))
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "ward-7-discharge");
    assert_eq!(stored.client, "ward-7-discharge", "its own client");
    assert_eq!(
        stored.scopes.to_string(),
        "enrol,read-own",
        "the default: a discharge system's, and nothing of other clients"
    );
    assert_eq!((stored.expires_at, stored.revoked_at), (None, None));
    let raw = std::fs::read(&db).unwrap();
    assert!(
        !raw.windows(key.len()).any(|w| w == key.as_bytes()),
        "the key itself is not stored"
    );
}

#[test]
fn api_keys_are_listed_with_their_scopes_and_expiry_never_their_secret_and_revoked_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    let run = |args: &[&str]| on_store(&db, args);
    let ward = run(&["api-key", "create", "ward-7-discharge"]);
    let engine = run(&[
        "api-key",
        "create",
        "trust-engine",
        "--scope",
        "read-all",
        "--expires",
        "90d",
    ]);
    assert!(
        engine.status.success(),
        "{}",
        String::from_utf8_lossy(&engine.stderr)
    );
    assert!(
        String::from_utf8_lossy(&engine.stderr).contains("scopes read-all; it expires"),
        "{}",
        String::from_utf8_lossy(&engine.stderr)
    );
    let secrets = [
        stdout(&ward).trim().to_owned(),
        stdout(&engine).trim().to_owned(),
    ];

    let list = run(&["api-key", "list"]);
    assert!(list.status.success());
    let text = stdout(&list);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two keys:\n{text}");
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("SCOPES"),
        "{text}"
    );
    let row = |name: &str| *lines.iter().find(|l| l.starts_with(name)).unwrap();
    assert!(row("ward-7-discharge").contains("enrol,read-own"), "{text}");
    assert!(row("ward-7-discharge").contains("never"), "{text}");
    assert!(row("ward-7-discharge").ends_with("active"), "{text}");
    assert!(row("trust-engine").contains("read-all"), "{text}");
    assert!(
        !row("trust-engine").contains("never"),
        "it expires:\n{text}"
    );
    for secret in &secrets {
        let hash: String = nightingale::operations::hash_key(secret)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            !text.contains(secret) && !text.contains(&hash[..16]),
            "{text}"
        );
    }

    let revoked = run(&["api-key", "revoke", "ward-7-discharge"]);
    assert!(revoked.status.success());
    assert!(String::from_utf8_lossy(&revoked.stderr).contains("every node refuses it"));
    let text = stdout(&run(&["api-key", "list"]));
    assert!(
        text.lines()
            .find(|l| l.starts_with("ward-7-discharge"))
            .unwrap()
            .ends_with("revoked"),
        "{text}"
    );
    let again = run(&["api-key", "revoke", "ward-7-discharge"]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("revoked already"));

    // Mistakes are named, and nothing is made or changed.
    for (args, says) in [
        (
            &["api-key", "revoke", "ward-9"][..],
            "no API key named \"ward-9\"; the keys are ward-7-discharge, trust-engine",
        ),
        (
            &["api-key", "create", "ward-7-discharge"][..],
            "exists already",
        ),
        (
            &["api-key", "create", "ward-9", "--scope", "admin"][..],
            "\"admin\" is not a scope",
        ),
        (
            &["api-key", "create", "ward-9", "--expires", "2020-01-01"][..],
            "not in the future",
        ),
        (&["api-key", "create", "ward 9"][..], "cannot be a name"),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(says), "{args:?}: {said}");
        assert!(out.stdout.is_empty(), "{args:?}: no key printed");
    }
    assert_eq!(stdout(&run(&["api-key", "list"])).lines().count(), 3);
}

/// `nightingale serve` on a random port with a fresh store and this rota,
/// read until it is listening. Dropping it stops the process, so a failed
/// test leaves none behind.
struct Serving {
    child: std::process::Child,
    /// The rest of its log.
    stderr: std::io::BufReader<std::process::ChildStderr>,
    /// What it logged until it was listening.
    log: String,
    /// Where it listens.
    address: String,
}

impl Serving {
    fn start(rota_dir: &Path, store_dir: &Path) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_nightingale"))
            .arg("serve")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NIGHTINGALE_LISTEN", "127.0.0.1:0")
            .env("NIGHTINGALE_ROTA_DIR", rota_dir)
            .env(
                "NIGHTINGALE_STORE",
                format!("sqlite://{}", store_dir.join("n.db").display()),
            )
            .env("NIGHTINGALE_LOG", "info")
            .env("NO_COLOR", "1")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut serving = Self {
            child,
            stderr,
            log: String::new(),
            address: String::new(),
        };
        while serving.address.is_empty() {
            let mut line = String::new();
            let read = serving.stderr.read_line(&mut line).unwrap();
            assert!(read > 0, "serve stopped early:\n{}", serving.log);
            if let Some(rest) = line.split("listen=").nth(1) {
                serving.address = rest.split_whitespace().next().unwrap().to_owned();
            }
            serving.log.push_str(&line);
        }
        serving
    }

    /// Send SIGTERM, as systemd and `docker stop` do, and wait for it to end.
    fn stop(&mut self) -> std::process::ExitStatus {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_answers_and_shuts_down_cleanly_on_sigterm() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut serve = Serving::start(demo(), dir.path());
    assert!(
        serve.log.contains("NO SMS PROVIDER CONFIGURED"),
        "without Twilio settings it says so loudly:\n{}",
        serve.log
    );
    let mut stream = std::net::TcpStream::connect(&serve.address).unwrap();
    stream.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.0 200") && response.ends_with("ok\n"),
        "{response}"
    );

    let status = serve.stop();
    assert!(status.success(), "exit status {status:?}");
    let mut rest = String::new();
    serve.stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("shutting down"), "{rest}");
    assert!(rest.contains("engine stopped"), "{rest}");
}

#[test]
fn serve_warns_when_the_bank_holidays_do_not_reach_a_year_ahead() {
    // A rota without bank-holidays.json: holidays by rule alone.
    let rota = copy_of_demo();
    std::fs::remove_file(rota.path().join("bank-holidays.json")).unwrap();
    let store = tempfile::tempdir().unwrap();
    let serve = Serving::start(rota.path(), store.path());
    let log = &serve.log;
    for division in ["england-and-wales", "scotland", "northern-ireland"] {
        let warning = log.lines().find(|l| {
            l.contains("WARN")
                && l.contains(&format!("division={division}"))
                && l.contains("covered_days=0")
        });
        let warning = warning.unwrap_or_else(|| panic!("no warning for {division}:\n{log}"));
        assert!(
            warning.contains("run `nightingale calendar update`"),
            "{warning}"
        );
    }
}

/// A `nightingale` command (not `serve`) on the SQLite store at `db`.
fn on_store(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nightingale"))
        .args(args)
        .env("NIGHTINGALE_STORE", format!("sqlite://{}", db.display()))
        .env("NIGHTINGALE_LOG", "warn")
        .output()
        .unwrap()
}

#[test]
fn a_second_serve_on_one_sqlite_file_refuses_while_the_cli_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    let mut first = Serving::start(demo(), dir.path());

    let mut second = Command::new(env!("CARGO_BIN_EXE_nightingale"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NIGHTINGALE_LISTEN", "127.0.0.1:0")
        .env("NIGHTINGALE_ROTA_DIR", demo())
        .env("NIGHTINGALE_STORE", format!("sqlite://{}", db.display()))
        .env("NIGHTINGALE_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It must stop by itself, at once; one still running after 30 s is serving.
    let started = std::time::Instant::now();
    while second.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            let _ = second.kill();
            panic!("a second serve is running on the file the first one serves");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = second.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{said}");
    assert!(
        said.contains(&format!(
            "another nightingale serve (pid {}) is using {}; to run several nodes use NIGHTINGALE_STORE=redis://",
            first.child.id(),
            db.display()
        )),
        "{said}"
    );

    // The commands that only read, or write a row, still work beside it.
    let run = |args: &[&str]| on_store(&db, args);
    let key = run(&["api-key", "create", "ward-7-discharge"]);
    assert!(
        key.status.success(),
        "{}",
        String::from_utf8_lossy(&key.stderr)
    );
    let backup = dir.path().join("backup.db");
    let copied = run(&["store", "backup", backup.to_str().unwrap()]);
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );

    // Once the first has stopped, another may serve the file (it gets as
    // far as listening; dropping it stops it).
    assert!(first.stop().success());
    let next = Serving::start(demo(), dir.path());
    assert!(
        !next.log.contains("another nightingale serve"),
        "{}",
        next.log
    );
}

#[test]
fn the_store_can_be_backed_up_while_in_use() {
    use nightingale::api_keys::Keys as _;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    let run = |args: &[&str]| on_store(&db, args);
    let key = stdout(&run(&["api-key", "create", "ward-7-discharge"]))
        .trim()
        .to_owned();
    let backup = dir.path().join("backup.db");
    let out = run(&["store", "backup", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = nightingale::store::sqlite::SqliteStore::open(&backup).unwrap();
    assert_eq!(
        copy.api_key(nightingale::operations::hash_key(&key))
            .unwrap()
            .map(|k| k.name)
            .as_deref(),
        Some("ward-7-discharge")
    );
    let again = run(&["store", "backup", backup.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

/// A stand-in for gov.uk on a random local port: every GET of
/// `/bank-holidays.json` is answered with `status` and `body`.
struct FakeGovUk {
    url: String,
    _runtime: tokio::runtime::Runtime,
}

impl FakeGovUk {
    fn serving(status: u16, body: String) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!(
            "http://{}/bank-holidays.json",
            listener.local_addr().unwrap()
        );
        let status = axum::http::StatusCode::from_u16(status).unwrap();
        let app = axum::Router::new().route(
            "/bank-holidays.json",
            axum::routing::get(move || {
                let body = body.clone();
                async move { (status, body) }
            }),
        );
        runtime.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url,
            _runtime: runtime,
        }
    }
}

/// A file in gov.uk's shape: the rules' holidays of `years` for `divisions`,
/// and a holiday proclaimed for Scotland if given.
fn gov_uk_file(
    divisions: &[Division],
    years: std::ops::RangeInclusive<i32>,
    proclaimed: Option<(NaiveDate, &str)>,
) -> String {
    let mut file = serde_json::Map::new();
    for &division in divisions {
        let mut events: Vec<_> = years
            .clone()
            .flat_map(|y| by_rule(division, y))
            .map(|h| (h.date, h.title))
            .collect();
        if division == Division::Scotland {
            events.extend(proclaimed.map(|(d, t)| (d, t.to_owned())));
        }
        events.sort();
        let events: Vec<_> = events
            .into_iter()
            .map(|(date, title)| serde_json::json!({"title": title, "date": date, "notes": "", "bunting": true}))
            .collect();
        file.insert(
            division.to_string(),
            serde_json::json!({"division": division.to_string(), "events": events}),
        );
    }
    serde_json::Value::Object(file).to_string()
}

/// This year, as `calendar update` reads the clock: a child process has the
/// system's, so the files here are made around it.
fn this_year() -> i32 {
    chrono::Utc::now().year()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn calendar_update_brings_in_a_holiday_proclaimed_since_the_rota_s_copy() {
    let y = this_year();
    let dir = copy_of_demo();
    let path = dir.path().join("bank-holidays.json");
    std::fs::write(&path, gov_uk_file(&Division::ALL, y - 1..=y + 1, None)).unwrap();
    let before = files_in(dir.path());
    // Since the rota's copy was made, gov.uk has added next year's holidays
    // and a one-off for Scotland in June.
    let june = NaiveDate::from_weekday_of_month_opt(y + 1, 6, Weekday::Mon, 3).unwrap();
    let proclaimed = "Bank holiday for a proclaimed occasion";
    let fresh = gov_uk_file(&Division::ALL, y - 1..=y + 2, Some((june, proclaimed)));
    let gov_uk = FakeGovUk::serving(200, fresh.clone());

    let update = || {
        Command::new(env!("CARGO_BIN_EXE_nightingale"))
            .args(["calendar", "update"])
            .env("NIGHTINGALE_ROTA_DIR", dir.path())
            .env("NIGHTINGALE_BANK_HOLIDAYS_URL", &gov_uk.url)
            .env("NIGHTINGALE_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = update();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = stdout(&out);
    let (from, to, next) = (y - 1, y + 1, y + 2);
    assert!(
        report.contains(&format!(
            "scotland: years {from}–{to} → {from}–{next}\n  + {june}\t{proclaimed}\n"
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "england-and-wales: years {from}–{to} → {from}–{next}\n"
        )),
        "{report}"
    );
    assert!(
        report.ends_with(&format!("from {}\n", gov_uk.url)),
        "{report}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), fresh);
    assert_eq!(
        files_in(dir.path()),
        before,
        "no temporary file left behind"
    );

    // The calendar now knows the one-off, in Scotland only.
    let year = (y + 1).to_string();
    let scotland = stdout(&nightingale(
        &[
            "calendar",
            "holidays",
            "--division",
            "scotland",
            "--year",
            &year,
        ],
        dir.path(),
    ));
    assert!(
        scotland.contains(&format!("{june}\t{proclaimed}\n")),
        "{scotland}"
    );
    let england = stdout(&nightingale(
        &[
            "calendar",
            "holidays",
            "--division",
            "england-and-wales",
            "--year",
            &year,
        ],
        dir.path(),
    ));
    assert!(!england.contains(proclaimed), "{england}");

    let again = update();
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("nothing to change"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn calendar_update_refuses_a_bad_answer_and_keeps_the_old_file() {
    let y = this_year();
    let dir = copy_of_demo();
    let path = dir.path().join("bank-holidays.json");
    let current = gov_uk_file(&Division::ALL, y - 1..=y + 1, None);
    std::fs::write(&path, &current).unwrap();
    let before = files_in(dir.path());
    let without_ni = [Division::EnglandAndWales, Division::Scotland];
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!(
            "http://{}/bank-holidays.json",
            listener.local_addr().unwrap()
        )
    };
    for (status, body, says) in [
        (
            500,
            "Internal Server Error".to_owned(),
            "answered HTTP 500".to_owned(),
        ),
        (
            200,
            "<html>Sorry</html>".to_owned(),
            "line 1, column 1".to_owned(),
        ),
        (
            200,
            gov_uk_file(&without_ni, y - 1..=y + 1, None),
            "no northern-ireland division".to_owned(),
        ),
        (
            200,
            gov_uk_file(&Division::ALL, y - 4..=y - 1, None),
            format!("lists nothing in {y}, this year"),
        ),
        (
            200,
            gov_uk_file(&Division::ALL, y..=y + 2, None),
            format!(
                "lacks {}, which the current file covers; pass --force",
                y - 1
            ),
        ),
    ] {
        let gov_uk = FakeGovUk::serving(status, body);
        let out = nightingale(&["calendar", "update", "--url", &gov_uk.url], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{says}: {stderr}");
        assert!(stderr.contains(&says), "{says}: {stderr}");
        assert!(
            stderr.contains("bank-holidays.json is unchanged"),
            "{stderr}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), current, "{says}");
        assert_eq!(files_in(dir.path()), before, "{says}");
    }
    let unreachable = nightingale(&["calendar", "update", "--url", &closed_port], dir.path());
    assert_eq!(unreachable.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("cannot fetch"));

    // Dropping last year is what an operator may mean: with --force it is done.
    let shorter = gov_uk_file(&Division::ALL, y..=y + 2, None);
    let gov_uk = FakeGovUk::serving(200, shorter.clone());
    let forced = nightingale(
        &["calendar", "update", "--url", &gov_uk.url, "--force"],
        dir.path(),
    );
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), shorter);
}

/// `serve` on an address already taken: it logs its start-up lines, then
/// stops with an error, so its log can be read whole.
fn serve_on_a_taken_port(log_format: Option<&str>) -> Output {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_nightingale"));
    command
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "NIGHTINGALE_LISTEN",
            taken.local_addr().unwrap().to_string(),
        )
        .env(
            "NIGHTINGALE_STORE",
            format!("sqlite://{}", dir.path().join("n.db").display()),
        )
        .env("NIGHTINGALE_LOG", "info")
        .env_remove("NO_COLOR");
    if let Some(format) = log_format {
        command.env("NIGHTINGALE_LOG_FORMAT", format);
    }
    command.output().unwrap()
}

#[test]
fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let out = serve_on_a_taken_port(None);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("NO SMS PROVIDER CONFIGURED"), "{log}");
    assert!(log.contains("open-file limit"), "{log}");
    assert!(!log.contains("\x1b["), "{log:?}");
}

#[test]
fn json_logs_are_one_object_a_line_for_log_shippers() {
    let out = serve_on_a_taken_port(Some("json"));
    let log = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.starts_with("error: "))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "WARN"
            && l["fields"]["message"]
                .as_str()
                .unwrap()
                .contains("NO SMS PROVIDER CONFIGURED")),
        "{log}"
    );
    let wrong = serve_on_a_taken_port(Some("xml"));
    assert_eq!(wrong.status.code(), Some(2));
    let said = String::from_utf8_lossy(&wrong.stderr);
    assert!(said.contains("`text`") && said.contains("`json`"), "{said}");
}

#[test]
fn rota_check_into_head_stops_quietly_when_head_has_its_line() {
    use std::io::{BufRead, BufReader};
    // Ten years of a nurse off sick: far more gap lines than a pipe holds.
    let dir = copy_of_demo();
    let path = dir.path().join("overrides.toml");
    let sick = "\n[[overrides]]\nfor = \"jack-taylor\"\nfrom = 2026-12-02T18:30:00\nuntil = 2036-12-03T18:30:00\nreason = \"sick\"\n";
    std::fs::write(&path, std::fs::read_to_string(&path).unwrap() + sick).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nightingale"))
        .args([
            "rota",
            "check",
            "--from",
            "2026-12-01T00:00",
            "--days",
            "3650",
        ])
        .env("NIGHTINGALE_ROTA_DIR", dir.path())
        .env("NIGHTINGALE_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("files OK"), "{first}");
    // `head -1` exits here, closing the pipe.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn serve_demo_refuses_to_start_with_twilio_settings_and_says_why() {
    let out = Command::new(env!("CARGO_BIN_EXE_nightingale"))
        .args(["serve", "--demo"])
        .env("NIGHTINGALE_ROTA_DIR", demo())
        .env("NIGHTINGALE_LISTEN", "127.0.0.1:0")
        .env("NIGHTINGALE_LOG", "warn")
        .env(
            "NIGHTINGALE_TWILIO_ACCOUNT_SID",
            "AC0123456789abcdef0123456789abcdef",
        )
        .env("NIGHTINGALE_TWILIO_AUTH_TOKEN", "a-real-token")
        .env("NIGHTINGALE_TWILIO_FROM", "+447700900000")
        .output()
        .expect("nightingale runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--demo never uses a real provider"), "{err}");
    assert!(
        err.contains(
            "NIGHTINGALE_TWILIO_ACCOUNT_SID, NIGHTINGALE_TWILIO_AUTH_TOKEN, NIGHTINGALE_TWILIO_FROM"
        ),
        "{err}"
    );
    assert!(
        !err.contains("a-real-token"),
        "no secret in the message: {err}"
    );
    assert!(!err.contains("DEMO MODE"), "it did not start: {err}");
}

#[test]
fn openapi_prints_the_document_committed_in_docs() {
    let out = nightingale(&["openapi"], demo());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json")).unwrap();
    assert!(
        stdout(&out) == committed,
        "`nightingale openapi > docs/openapi.json` refreshes the committed copy"
    );
}

/// A rota file broken at start-up (hazard NH-027): the service does not
/// start on a rota it cannot read. It stops before it listens, naming the
/// file, the line and what to write, so Twilio's webhooks go to the
/// fallback the trust set up behind them rather than to a service that
/// routes by half a rota.
#[test]
fn serve_refuses_to_start_on_a_broken_rota_file_naming_file_and_line() {
    let (dir, path) = demo_with_a_misspelt_rotation();
    let store = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nightingale"))
        .arg("serve")
        .env("NIGHTINGALE_ROTA_DIR", dir.path())
        .env("NIGHTINGALE_LISTEN", "127.0.0.1:0")
        .env(
            "NIGHTINGALE_STORE",
            format!("sqlite://{}", store.path().join("n.db").display()),
        )
        .env("NIGHTINGALE_LOG", "warn")
        .output()
        .expect("nightingale runs");
    assert_eq!(out.status.code(), Some(2), "it does not serve");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("{}:20:", path.display()))
            && said.contains("did you mean \"cardiology-registrar\"?"),
        "{said}"
    );
}
