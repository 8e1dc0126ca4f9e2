//! The `nightingale` command as a rota manager uses it.

use std::path::Path;
use std::process::{Command, Output};

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
         2026-05-25\tSpring bank holiday\n2026-08-03\tSummer bank holiday\n2026-11-30\tSt Andrew’s Day\n2026-12-25\tChristmas Day\n\
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

#[test]
fn rota_check_reports_file_errors_with_file_and_line_and_exits_2() {
    let dir = copy_of_demo();
    let path = dir.path().join("services.toml");
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "rotation = \"cardiology-registrar\"",
        "rotation = \"cardiology-registar\"",
        1,
    );
    std::fs::write(&path, text).unwrap();
    let out = nightingale(&["rota", "check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    let expected = format!(
        "error: {}:16: service cardiology-ward-7: no rotation \"cardiology-registar\": did you mean \"cardiology-registrar\"?",
        path.display()
    );
    assert!(text.contains(&expected), "{text}");
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
    use nightingale::store::Store;
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
    assert_eq!(
        store
            .api_key(nightingale::operations::hash_key(&key))
            .unwrap()
            .as_deref(),
        Some("ward-7-discharge")
    );
    let raw = std::fs::read(&db).unwrap();
    assert!(
        !raw.windows(key.len()).any(|w| w == key.as_bytes()),
        "the key itself is not stored"
    );
}

#[test]
fn serve_answers_and_shuts_down_cleanly_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nightingale"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NIGHTINGALE_LISTEN", "127.0.0.1:0")
        .env(
            "NIGHTINGALE_STORE",
            format!("sqlite://{}", dir.path().join("n.db").display()),
        )
        .env("NIGHTINGALE_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    let mut address = None;
    while address.is_none() {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve stopped early:\n{log}"
        );
        if let Some(rest) = line.split("listen=").nth(1) {
            address = rest.split_whitespace().next().map(str::to_owned);
        }
        log.push_str(&line);
    }
    assert!(
        log.contains("NO SMS PROVIDER CONFIGURED"),
        "without Twilio settings it says so loudly:\n{log}"
    );
    let mut stream = std::net::TcpStream::connect(address.unwrap()).unwrap();
    stream.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.0 200") && response.ends_with("ok\n"),
        "{response}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("shutting down"), "{rest}");
    assert!(rest.contains("engine stopped"), "{rest}");
}

#[test]
fn the_store_can_be_backed_up_while_in_use() {
    use nightingale::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("n.db");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_nightingale"))
            .args(args)
            .env("NIGHTINGALE_STORE", format!("sqlite://{}", db.display()))
            .env("NIGHTINGALE_LOG", "warn")
            .output()
            .unwrap()
    };
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
            .as_deref(),
        Some("ward-7-discharge")
    );
    let again = run(&["store", "backup", backup.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
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
