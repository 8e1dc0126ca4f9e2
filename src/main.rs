//! The `nightingale` command: a thin CLI over the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use nightingale::app::{self, Application};
use nightingale::calendar::{Calendar, Division, WorkingHours, parse_instant};
use nightingale::clock::{Clock, Instant, SystemClock};
use nightingale::config::{Config, LogFormat};
use nightingale::reports::{Report, Week};
use nightingale::rota;

/// Nightingale: one number, any hour, for people discharged from NHS care.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// A TOML config file; NIGHTINGALE_* environment variables override it.
    #[arg(long, global = true, env = "NIGHTINGALE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service: HTTP API and webhooks.
    Serve {
        /// Serve the demo trust with simulated phones at `/` instead:
        /// nothing is sent to a real phone, and the clock can be moved on.
        #[arg(long)]
        demo: bool,
        /// With --demo: keep the demo's store in this SQLite file (default:
        /// a fresh file, removed when the demo stops).
        #[arg(long, value_name = "FILE", requires = "demo")]
        demo_store: Option<PathBuf>,
        /// With --demo: what the demo's clock reads at start, ISO 8601
        /// (default: now), e.g. 2026-11-27T19:05 (UK time).
        #[arg(long, value_name = "ISO", requires = "demo")]
        demo_start: Option<String>,
    },
    /// Bank holidays and in-hours/out-of-hours questions.
    #[command(subcommand)]
    Calendar(CalendarCommand),
    /// Check the rota files and ask who is on call.
    #[command(subcommand)]
    Rota(RotaCommand),
    /// Manage the API keys discharge systems use.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Look after the store.
    #[command(subcommand)]
    Store(StoreCommand),
    /// A service's figures for a week: concerns raised and how, time to
    /// accept, levels reached, the fallback, failed pages.
    Report {
        /// The service's id, e.g. cardiology-ward-7.
        service: String,
        /// The ISO week, e.g. 2026-W48 (default: this week, UK time).
        #[arg(long)]
        week: Option<String>,
        /// Print CSV (as the page's download) instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Print the JSON API's OpenAPI 3.1 document, as served at
    /// /api/v1/openapi.json (refresh the committed copy with
    /// `nightingale openapi > docs/openapi.json`).
    Openapi,
    /// The clinical safety file (DCB0129): the hazard log.
    #[command(subcommand)]
    Safety(SafetyCommand),
}

#[derive(Debug, Subcommand)]
enum SafetyCommand {
    /// Check the hazard log (its rules, and that every test it names exists
    /// in the source tree) and write the page a safety officer reads.
    #[command(name = "hazard-log")]
    HazardLog {
        /// The hazard log's data.
        #[arg(long, value_name = "FILE", default_value = "docs/safety/hazards.toml")]
        hazards: PathBuf,
        /// The page to write.
        #[arg(long, value_name = "FILE", default_value = "docs/safety/hazard-log.md")]
        out: PathBuf,
        /// The repository whose src/ and tests/ hold the named tests.
        #[arg(long, value_name = "DIR", default_value = ".")]
        sources: PathBuf,
        /// Write nothing; exit 1 if the page is not what the data gives.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Debug, Subcommand)]
enum StoreCommand {
    /// Write a consistent copy of the store to a new file, while the service runs.
    Backup {
        /// Where to write it (must not exist yet).
        to: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Make a key, print it once, store only its hash.
    ///
    /// A key belongs to a client (the system that holds it) and reads or
    /// ends only what its scopes allow: enrol (enrol patients, end its own
    /// client's enrolments), read-own (read its own client's enrolments and
    /// their concerns), read-all (read every one). Without --scope a key
    /// gets enrol,read-own.
    Create {
        /// The key's name, unique, e.g. ward-7-discharge-2027.
        name: String,
        /// What it may do: enrol, read-own, read-all, several separated by
        /// commas [default: enrol,read-own].
        #[arg(long, value_name = "SCOPES")]
        scope: Option<String>,
        /// When it stops working: a span from now (90d, 12weeks, 1y) or a
        /// date (2027-03-01, UK time) [default: never].
        #[arg(long, value_name = "SPAN|DATE")]
        expires: Option<String>,
        /// The client it belongs to [default: its name]. Give an old key's
        /// client to replace that key: the new one reaches what the old one
        /// enrolled.
        #[arg(long, value_name = "CLIENT")]
        client: Option<String>,
    },
    /// List every key: name, client, scopes, when made, when it expires,
    /// whether revoked. Never the key itself (only its hash is stored).
    List,
    /// Revoke a key by name: it is refused (401) at once, on every node.
    Revoke {
        /// The key's name, as `api-key list` shows it.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum CalendarCommand {
    /// Print a year's bank holidays as `YYYY-MM-DD<TAB>title`.
    Holidays {
        /// england-and-wales, scotland or northern-ireland.
        #[arg(long)]
        division: Division,
        /// The year, e.g. 2026 (1970 to 9999).
        #[arg(long, value_parser = calendar_year())]
        year: i32,
    },
    /// Replace the rota's bank-holidays.json with gov.uk's current file, once checked.
    Update {
        /// Where to fetch it (default: NIGHTINGALE_BANK_HOLIDAYS_URL, or gov.uk).
        #[arg(long)]
        url: Option<String>,
        /// Accept a file that covers fewer years than the current one.
        #[arg(long)]
        force: bool,
    },
    /// Say whether an instant is in hours or out of hours, and why.
    At {
        /// ISO 8601, e.g. 2026-11-27T19:05 (UK time) or 2026-11-27T19:05:00Z.
        at: String,
        /// Use this service's hours and division (default: RCGP hours, england-and-wales).
        #[arg(long)]
        service: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum RotaCommand {
    /// Validate every rota file and list coverage gaps; non-zero exit on either.
    Check {
        /// How many days ahead to look (at most 3660: ten years).
        #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(..=3660))]
        days: u32,
        /// Start of the window (default: now).
        #[arg(long)]
        from: Option<String>,
    },
    /// Print the escalation chain for a service, or for one enrolled
    /// patient (led by their care co-ordinator in the co-ordinator's hours).
    Who {
        /// The service id.
        #[arg(
            long,
            required_unless_present = "enrolment",
            conflicts_with = "enrolment"
        )]
        service: Option<String>,
        /// An enrolment's id: the chain for that patient (their service,
        /// and their care co-ordinator if the enrolment names one).
        #[arg(long)]
        enrolment: Option<String>,
        /// When (default: now).
        #[arg(long)]
        at: Option<String>,
    },
}

/// A year on the command line, within the years the calendar answers for
/// ([`nightingale::calendar::YEARS`]): anything else is a usage error.
fn calendar_year() -> clap::builder::RangedI64ValueParser<i32> {
    let years = nightingale::calendar::YEARS;
    clap::value_parser!(i32).range(i64::from(*years.start())..=i64::from(*years.end()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let mut out = Stdout::default();
    match run(cli.command, &config, &mut out).and_then(|code| Ok(out.flush().map(|()| code)?)) {
        Ok(code) => code,
        // The reader went away (`nightingale rota check | head -1`): it has
        // what it wanted, and there is nobody left to tell.
        Err(_) if out.reader_gone => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Standard output, noting when its reader has gone away (a broken pipe),
/// so that `main` knows why writing failed without searching the error.
#[derive(Default)]
struct Stdout {
    reader_gone: bool,
}

impl Stdout {
    fn noting<T>(&mut self, written: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &written
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.reader_gone = true;
        }
        written
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = std::io::stdout().write(buf);
        self.noting(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let flushed = std::io::stdout().flush();
        self.noting(flushed)
    }
}

/// Logs go to stderr: coloured only on a terminal (a file or a pipe gets
/// plain text, and `NO_COLOR` turns colour off there too), or one JSON
/// object a line with `NIGHTINGALE_LOG_FORMAT=json`. Either way a line is
/// one line: control characters a sender put in a field are escaped.
fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => {
            let colour = std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            logs.with_ansi(colour)
                .fmt_fields(nightingale::logs::text_fields())
                .init();
        }
        LogFormat::Json => logs.with_ansi(false).json().init(),
    }
}

fn run(command: Command, config: &Config, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let clock = SystemClock;
    match command {
        Command::Serve {
            demo,
            demo_store,
            demo_start,
        } => {
            if demo {
                // Before anything else: a demo never starts with a real provider.
                nightingale::demo::refuse_real_providers(config)?;
            }
            app::raise_open_files_limit(config);
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(async {
                if demo {
                    let options = nightingale::demo::DemoOptions {
                        store: demo_store,
                        start: demo_start.as_deref().map(parse_instant).transpose()?,
                    };
                    return nightingale::demo::serve(config, options, app::shutdown_signal()).await;
                }
                let app = Application::build(config, Arc::new(clock)).await?;
                app.run_until_stopped(app::shutdown_signal()).await
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Calendar(CalendarCommand::Holidays { division, year }) => {
            let calendar = Calendar::load(&config.rota_dir)?;
            for h in calendar.holidays().in_year(division, year) {
                writeln!(out, "{}\t{}", h.date, h.title)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Calendar(CalendarCommand::Update { url, force }) => {
            let url = url.unwrap_or_else(|| config.bank_holidays_url.clone());
            let today = nightingale::calendar::wall_clock(clock.now()).date();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            let update =
                nightingale::calendar::update::update(&url, &config.rota_dir, today, force);
            print!("{}", runtime.block_on(update)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Calendar(CalendarCommand::At { at, service }) => {
            let at = parse_instant(&at)?;
            let (calendar, hours, division, whose) = match service {
                Some(id) => {
                    let rota = app::load_rota(config)?;
                    let ix = find_service(&rota, &id)?;
                    let s = &rota.services()[ix as usize];
                    (
                        rota.calendar().clone(),
                        s.hours.clone(),
                        s.division,
                        format!("{} ({})", s.name, s.division),
                    )
                }
                None => (
                    Calendar::load(&config.rota_dir)?,
                    WorkingHours::rcgp(),
                    Division::EnglandAndWales,
                    "RCGP hours, england-and-wales".to_owned(),
                ),
            };
            let period = calendar.period(&hours, division, at);
            writeln!(out, "{} — {whose}", local(at))?;
            writeln!(out, "{period}")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Rota(RotaCommand::Check { days, from }) => {
            let from = match from {
                Some(text) => parse_instant(&text)?,
                None => clock.now(),
            };
            rota_check(config, from, days, out)
        }
        Command::Report { service, week, csv } => {
            let rota = app::load_rota(config)?;
            let ix = find_service(&rota, &service)?;
            let service = rota.services()[ix as usize].id.clone();
            let week = match week {
                Some(text) => text.parse::<Week>()?,
                None => Week::containing(clock.now()),
            };
            let store = nightingale::store::open(&config.store)?;
            let found = store.concerns_opened(&service, week.start()..week.end())?;
            let report = Report::compute(service, week, &found);
            if csv {
                write!(out, "{}", report.csv())?;
            } else {
                writeln!(out, "{} · week {week}", rota.services()[ix as usize].name)?;
                let rows = report.rows();
                let width = rows
                    .iter()
                    .map(|(f, _)| f.chars().count())
                    .max()
                    .unwrap_or(0);
                for (figure, value) in rows {
                    writeln!(out, "{figure:<width$}  {value}")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Store(StoreCommand::Backup { to }) => {
            let store = nightingale::store::open(&config.store)?;
            store.backup(&to)?;
            eprintln!("backed up {} to {}", config.store, to.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::ApiKey(command) => api_key(command, config, clock.now(), out),
        Command::Openapi => {
            out.write_all(nightingale::http::openapi::json().as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Safety(SafetyCommand::HazardLog {
            hazards,
            out: page,
            sources,
            check,
        }) => hazard_log(&hazards, &page, &sources, check, out),
        Command::Rota(RotaCommand::Who {
            service,
            enrolment,
            at,
        }) => {
            let rota = with_layer(config, app::load_live_rota_files(config)?);
            let at = match at {
                Some(text) => parse_instant(&text)?,
                None => clock.now(),
            };
            let (service, coordinator) = match (service, enrolment) {
                (Some(service), _) => (service, None),
                (None, Some(id)) => {
                    let enrolment = find_enrolment(config, &id)?;
                    if !enrolment.is_active(at) {
                        eprintln!(
                            "note: enrolment {id} is not active then; this is the chain it would have"
                        );
                    }
                    (enrolment.service.to_string(), enrolment.coordinator)
                }
                (None, None) => anyhow::bail!("give --service ID or --enrolment ID"),
            };
            let ix = find_service(&rota, &service)?;
            write!(out, "{}", rota.resolve_for(ix, coordinator.as_ref(), at))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `nightingale safety hazard-log`: exit 0 when the log keeps its rules
/// and names only tests that exist (and, with `check`, the page is
/// current), 1 when the page is out of date, 2 on any other problem.
fn hazard_log(
    hazards: &std::path::Path,
    page: &std::path::Path,
    sources: &std::path::Path,
    check: bool,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let log = nightingale::safety::HazardLog::load(hazards)?;
    let missing = nightingale::safety::evidence::missing(&log, sources);
    if !missing.is_empty() {
        let lines: Vec<String> = missing.iter().map(ToString::to_string).collect();
        anyhow::bail!(
            "the hazard log names tests that are not there (looked in {}):\n{}",
            sources.display(),
            lines.join("\n")
        );
    }
    let markdown = log.to_markdown();
    if check {
        let current = std::fs::read_to_string(page).unwrap_or_default();
        if current != markdown {
            writeln!(
                out,
                "{} is not what {} gives: run `nightingale safety hazard-log`",
                page.display(),
                hazards.display()
            )?;
            return Ok(ExitCode::from(1));
        }
        writeln!(out, "{} is current", page.display())?;
    } else {
        std::fs::write(page, &markdown)
            .with_context(|| format!("cannot write {}", page.display()))?;
        writeln!(
            out,
            "wrote {} (hazard log {}, {} hazards)",
            page.display(),
            log.version,
            log.hazards.len()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `nightingale api-key create | list | revoke`.
fn api_key(
    command: ApiKeyCommand,
    config: &Config,
    now: Instant,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let store = nightingale::store::open(&config.store)?;
    match command {
        ApiKeyCommand::Create {
            name,
            scope,
            expires,
            client,
        } => {
            let made = new_key(&name, scope, expires, client, now)?;
            let (key, hash) = nightingale::operations::new_api_key()?;
            store.create_api_key(&made, hash).map_err(|e| match e {
                nightingale::store_error::StoreError::Invalid(_) => anyhow::anyhow!(
                    "a key named {:?} exists already (revoked keys keep their names): choose another name, e.g. {}-2",
                    made.name,
                    made.name
                ),
                other => other.into(),
            })?;
            writeln!(out, "{key}")?;
            let until = made.expires_at.map_or_else(
                || "it does not expire".to_owned(),
                |t| format!("it expires {}", local(t)),
            );
            eprintln!(
                "API key {:?} created for client {:?}, scopes {}; {until}. This is the only time it is shown: keep it in the discharge system's secret store.",
                made.name, made.client, made.scopes
            );
            Ok(ExitCode::SUCCESS)
        }
        ApiKeyCommand::List => {
            let keys = store.api_keys()?;
            if keys.is_empty() {
                eprintln!("no API keys yet: make one with nightingale api-key create NAME");
            } else {
                list_keys(&keys, now, out)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ApiKeyCommand::Revoke { name } => {
            let name = name.trim();
            if store.revoke_api_key(name, now)? {
                eprintln!("API key {name:?} revoked: every node refuses it (401) from now on.");
                return Ok(ExitCode::SUCCESS);
            }
            let keys = store.api_keys()?;
            let Some(key) = keys.iter().find(|k| k.name == name) else {
                let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
                anyhow::bail!(
                    "no API key named {name:?}; the keys are {}",
                    if names.is_empty() {
                        "none yet".to_owned()
                    } else {
                        names.join(", ")
                    }
                );
            };
            eprintln!(
                "API key {name:?} was revoked already, {}",
                key.revoked_at.map_or_else(String::new, local)
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The key `api-key create` asked for, read from its arguments.
fn new_key(
    name: &str,
    scope: Option<String>,
    expires: Option<String>,
    client: Option<String>,
    now: Instant,
) -> anyhow::Result<nightingale::api_keys::ApiKey> {
    use nightingale::api_keys::{self, ApiKey, Scopes};
    let name = api_keys::parse_name(name).map_err(anyhow::Error::msg)?;
    let client = match client {
        Some(c) => api_keys::parse_name(&c).map_err(|e| anyhow::anyhow!("--client: {e}"))?,
        None => name.clone(),
    };
    let scopes = match scope {
        Some(text) => Scopes::parse(&text).map_err(|e| anyhow::anyhow!("--scope: {e}"))?,
        None => Scopes::DEFAULT,
    };
    let expires_at = expires
        .map(|text| api_keys::parse_expiry(&text, now))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--expires: {e}"))?;
    Ok(ApiKey {
        expires_at,
        client,
        ..ApiKey::made(&name, scopes, now)
    })
}

/// `api-key list`: one aligned row a key, never its secret (not stored) nor its hash.
fn list_keys(
    keys: &[nightingale::api_keys::ApiKey],
    now: Instant,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    use nightingale::api_keys::Refused;
    let head = [
        "NAME", "CLIENT", "SCOPES", "CREATED", "EXPIRES", "REVOKED", "STATE",
    ]
    .map(str::to_owned);
    let rows: Vec<[String; 7]> = keys
        .iter()
        .map(|k| {
            let state = match k.usable_at(now) {
                Ok(()) => "active",
                Err(Refused::Revoked(_)) => "revoked",
                Err(Refused::Expired(_)) => "expired",
            };
            [
                k.name.clone(),
                k.client.clone(),
                k.scopes.to_string(),
                local(k.created_at),
                k.expires_at.map_or_else(|| "never".to_owned(), local),
                k.revoked_at.map_or_else(|| "-".to_owned(), local),
                state.to_owned(),
            ]
        })
        .collect();
    let mut widths = [0; 7];
    for row in std::iter::once(&head).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&head).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

fn find_enrolment(config: &Config, id: &str) -> anyhow::Result<nightingale::directory::Enrolment> {
    let parsed: nightingale::directory::EnrolmentId = id.parse().map_err(|_| {
        anyhow::anyhow!(
            "{id:?} is not an enrolment id: give the id the enrolment's 201 answer carried"
        )
    })?;
    let store = nightingale::store::open(&config.store)?;
    store.enrolment(parsed)?.ok_or_else(|| {
        anyhow::anyhow!("no enrolment {id} in the store (it may have ended and been deleted)")
    })
}

fn find_service(rota: &rota::Rota, id: &str) -> anyhow::Result<rota::ServiceIx> {
    rota.service(id).ok_or_else(|| {
        let known: Vec<&str> = rota.services().iter().map(|s| s.id.as_str()).collect();
        anyhow::anyhow!("no service {id:?}; the services are {}", known.join(", "))
    })
}

/// An instant as the command line prints it: `Fri 27 Nov 2026 19:05 GMT`.
fn local(t: Instant) -> String {
    nightingale::calendar::london_format(t, "%a %d %b %Y %H:%M %Z")
}

/// The rota with the web edits layer from the store `serve` would use
/// (`NIGHTINGALE_STORE`), or the files alone, said on stderr, when there is
/// no store to read.
fn with_layer(config: &Config, live: rota::LiveRota) -> Arc<rota::Rota> {
    let files_alone = |why: String| {
        eprintln!("note: {why}: the rota files alone, without edits made on the web");
        live.current()
    };
    if let Some(path) = config.store.strip_prefix("sqlite://")
        && !std::path::Path::new(path).exists()
    {
        return files_alone(format!("no store at {path}"));
    }
    let store = match nightingale::store::open(&config.store) {
        Ok(store) => store,
        Err(e) => return files_alone(format!("cannot open the store: {e}")),
    };
    match live.refresh(store.as_ref()) {
        Ok(_) => {
            eprintln!(
                "with the web edits layer from the store (version {})",
                live.version()
            );
            live.current()
        }
        Err(e) => files_alone(format!("cannot read the web edits from the store: {e}")),
    }
}

fn rota_check(
    config: &Config,
    from: Instant,
    days: u32,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let rota = match rota::LiveRota::load_dir(&config.rota_dir) {
        Ok(r) => with_layer(config, r),
        Err(problems) => {
            for p in &problems.0 {
                writeln!(out, "error: {p}")?;
            }
            writeln!(
                out,
                "{} problem(s) in {}: nothing was checked for gaps",
                problems.0.len(),
                config.rota_dir.display()
            )?;
            return Ok(ExitCode::from(2));
        }
    };
    let covers = rota
        .covers()
        .all_intervals()
        .map(|i| i.iter().count())
        .sum::<usize>();
    writeln!(
        out,
        "{}: {} — {} services, {} people, {} rotations, {} cover intervals: files OK",
        config.rota_dir.display(),
        rota.trust_name,
        rota.services().len(),
        rota.people().len(),
        rota.rotations().len(),
        covers
    )?;
    let drama = rota.people().iter().filter(|p| p.contacts.iter().any(|c| matches!(c, nightingale::directory::ContactMethod::Sms(n) | nightingale::directory::ContactMethod::Voice(n) if n.is_drama()))).count();
    if drama > 0 {
        writeln!(
            out,
            "note: {drama} people have Ofcom drama numbers (07700 900xxx and the like), which no phone answers: fine for a demo, not for a live rota"
        )?;
    }
    let until = from
        .checked_add_signed(chrono::Duration::days(i64::from(days)))
        .context("that window runs past the end of the calendar: choose an earlier --from or fewer --days")?;
    let gaps = rota::check(&rota, from, until);
    writeln!(
        out,
        "coverage {} → {} ({days} days):",
        local(from),
        local(until)
    )?;
    if gaps.is_empty() {
        writeln!(
            out,
            "no gaps: every service has a reachable level-1 person of its own throughout"
        )?;
        Ok(ExitCode::SUCCESS)
    } else {
        for gap in &gaps {
            writeln!(out, "gap\t{gap}")?;
        }
        writeln!(out, "{} gap(s)", gaps.len())?;
        Ok(ExitCode::from(1))
    }
}
