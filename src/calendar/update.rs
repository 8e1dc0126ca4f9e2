//! Refreshing `bank-holidays.json` from gov.uk (`nightingale calendar update`).
//!
//! The rules know every regular bank holiday but not a one-off proclaimed
//! after this version was built; gov.uk's published file does. Updating
//! takes three steps, and the old file stays as it was unless all succeed:
//! [`fetch`] the file (with a timeout and a size limit), [`check`] it (gov.uk's
//! shape, all three divisions, this year covered, no year the current file
//! covers dropped unless forced), and [`replace`] the file atomically.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use chrono::{Datelike, NaiveDate};

use super::GOV_UK_FILE;
use super::holidays::{BankHoliday, Division, GovUkFile, GovUkFileError};

/// Where gov.uk publishes the bank holidays of the three divisions.
pub const GOV_UK_URL: &str = "https://www.gov.uk/bank-holidays.json";

/// How long fetching may take in all.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The most we read: gov.uk's file is about 20 KiB.
const MAX_BYTES: usize = 1024 * 1024;

/// Why a downloaded file was not used.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// It is not JSON in gov.uk's shape.
    #[error("it is not gov.uk's bank-holidays.json: {0}")]
    Unreadable(GovUkFileError),
    /// A division is missing.
    #[error(
        "it has no {0} division; gov.uk's file has england-and-wales, scotland and northern-ireland"
    )]
    MissingDivision(Division),
    /// A division has no events at all.
    #[error("its {0} division lists no bank holidays")]
    NoEvents(Division),
    /// A division does not reach this year: an old or truncated copy.
    #[error("its {division} division lists nothing in {year}, this year: it is not a current file")]
    NotThisYear {
        /// The division.
        division: Division,
        /// This year.
        year: i32,
    },
    /// It covers fewer years than the file it would replace.
    #[error(
        "its {division} division lacks {years}, which the current file covers; pass --force to drop them"
    )]
    DropsYears {
        /// The division.
        division: Division,
        /// The years it lacks, e.g. "2020–2021".
        years: String,
    },
}

/// A checked file and what it changes.
#[derive(Debug)]
pub struct Update {
    /// The file as downloaded, to be written as it is.
    pub text: String,
    /// What changes, division by division.
    pub changes: Vec<Change>,
}

/// What an update changes in one division.
#[derive(Debug)]
pub struct Change {
    /// The division.
    pub division: Division,
    /// The years the current file covers (empty without one).
    pub years_before: BTreeSet<i32>,
    /// The years the new file covers.
    pub years_after: BTreeSet<i32>,
    /// Holidays in the new file and not the current one.
    pub added: Vec<BankHoliday>,
    /// Holidays in the current file and not the new one.
    pub removed: Vec<BankHoliday>,
}

/// Check `fresh`, the text of a downloaded file, against `current` (the
/// file it would replace, if there is a readable one) as of `today`.
pub fn check(
    fresh: &str,
    current: Option<&GovUkFile>,
    today: NaiveDate,
    force: bool,
) -> Result<Update, Refused> {
    let file = GovUkFile::parse(fresh).map_err(Refused::Unreadable)?;
    // First whether it is a whole, current file; then what it changes.
    let mut published = Vec::new();
    for division in Division::ALL {
        let events = file
            .events(division)
            .ok_or(Refused::MissingDivision(division))?;
        if events.is_empty() {
            return Err(Refused::NoEvents(division));
        }
        if !events.iter().any(|h| h.date.year() == today.year()) {
            return Err(Refused::NotThisYear {
                division,
                year: today.year(),
            });
        }
        published.push((division, events));
    }
    let mut changes = Vec::new();
    for (division, after) in published {
        let before = current.and_then(|c| c.events(division)).unwrap_or_default();
        let (years_before, years_after) = (years(&before), years(&after));
        let dropped: BTreeSet<i32> = years_before.difference(&years_after).copied().collect();
        if !dropped.is_empty() && !force {
            return Err(Refused::DropsYears {
                division,
                years: spans(&dropped),
            });
        }
        changes.push(Change {
            division,
            added: after
                .iter()
                .filter(|h| !before.contains(h))
                .cloned()
                .collect(),
            removed: before
                .iter()
                .filter(|h| !after.contains(h))
                .cloned()
                .collect(),
            years_before,
            years_after,
        });
    }
    Ok(Update {
        text: fresh.to_owned(),
        changes,
    })
}

fn years(holidays: &[BankHoliday]) -> BTreeSet<i32> {
    holidays.iter().map(|h| h.date.year()).collect()
}

/// Years as runs: "2020–2027", "2018, 2020–2021", or "none".
fn spans(years: &BTreeSet<i32>) -> String {
    let mut runs: Vec<(i32, i32)> = Vec::new();
    for &y in years {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == y => *end = y,
            _ => runs.push((y, y)),
        }
    }
    if runs.is_empty() {
        return "none".to_owned();
    }
    runs.iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}–{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (before, after) = (spans(&self.years_before), spans(&self.years_after));
        if self.years_before.is_empty() {
            writeln!(
                f,
                "{}: years {after} (before: none, holidays by rule only); {} holidays",
                self.division,
                self.added.len()
            )?;
            return Ok(());
        }
        if before == after {
            write!(f, "{}: years {after}", self.division)?;
        } else {
            write!(f, "{}: years {before} → {after}", self.division)?;
        }
        if self.added.is_empty() && self.removed.is_empty() {
            return writeln!(f, "; no holiday added or removed");
        }
        writeln!(f)?;
        for (sign, list) in [("+", &self.added), ("-", &self.removed)] {
            for h in list {
                writeln!(f, "  {sign} {}\t{}", h.date, h.title)?;
            }
        }
        Ok(())
    }
}

/// Fetch `url`, check it against `bank-holidays.json` in `rota_dir`, and
/// replace that file with it. Returns what changed, to print; on any error
/// the file is as it was.
pub async fn update(
    url: &str,
    rota_dir: &Path,
    today: NaiveDate,
    force: bool,
) -> anyhow::Result<String> {
    let path = rota_dir.join(GOV_UK_FILE);
    let updated = async {
        let fresh = fetch(url).await?;
        let mut report = String::new();
        let current = match std::fs::read_to_string(&path) {
            Ok(old) if old == fresh => {
                return Ok(format!(
                    "{} is the same as {url}: nothing to change\n",
                    path.display()
                ));
            }
            Ok(old) => match GovUkFile::parse(&old) {
                Ok(file) => Some(file),
                Err(e) => {
                    report.push_str(&format!(
                        "the current file cannot be read ({e}): replacing it\n"
                    ));
                    None
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let update = check(&fresh, current.as_ref(), today, force)
            .with_context(|| format!("refused what {url} sent"))?;
        replace(&path, update.text.as_bytes())
            .with_context(|| format!("cannot replace {}", path.display()))?;
        for change in &update.changes {
            report.push_str(&change.to_string());
        }
        report.push_str(&format!("wrote {} from {url}\n", path.display()));
        Ok(report)
    };
    updated
        .await
        .with_context(|| format!("bank holidays not updated; {} is unchanged", path.display()))
}

/// Download `url` (gov.uk's file, or a mirror of it) as text.
pub async fn fetch(url: &str) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("nightingale/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot make an HTTP client")?;
    let mut response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("cannot fetch {url}"))?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "{url} answered HTTP {status}");
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .with_context(|| format!("cannot read {url}"))?
    {
        body.extend_from_slice(&chunk);
        anyhow::ensure!(
            body.len() <= MAX_BYTES,
            "{url} sent more than {} KiB: that is not gov.uk's bank-holidays.json",
            MAX_BYTES / 1024
        );
    }
    String::from_utf8(body).with_context(|| format!("{url} did not send UTF-8 text"))
}

/// Write `contents` to `path` so that a reader, or a crash, sees either the
/// old file or the new one, never part of either: a temporary file in the
/// same directory, flushed to disk, renamed over the old one, and the
/// directory flushed so that the rename lasts.
pub fn replace(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create_new(&temp)?;
        if let Ok(old) = std::fs::metadata(path) {
            file.set_permissions(old.permissions())?;
        }
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::holidays::by_rule;

    /// A file in gov.uk's shape: the rules' holidays of `years` for `divisions`.
    fn divisions(divisions: &[Division], years: std::ops::RangeInclusive<i32>) -> String {
        let divisions: Vec<String> = divisions
            .iter()
            .map(|&d| {
                let events: Vec<String> = years
                    .clone()
                    .flat_map(|y| by_rule(d, y))
                    .map(|h| {
                        format!(
                            r#"{{"title":"{}","date":"{}","notes":""}}"#,
                            h.title, h.date
                        )
                    })
                    .collect();
                format!(
                    r#""{d}":{{"division":"{d}","events":[{}]}}"#,
                    events.join(",")
                )
            })
            .collect();
        format!("{{{}}}", divisions.join(","))
    }

    fn gov_uk(years: std::ops::RangeInclusive<i32>) -> String {
        divisions(&Division::ALL, years)
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 2, 6).unwrap()
    }

    #[test]
    fn a_fresh_file_with_the_world_cup_holiday_adds_it_and_a_year() {
        // The rota's copy was made before the proclamation.
        let world_cup =
            r#"{"title":"Bank holiday for the FIFA World Cup","date":"2026-06-15","notes":""},"#;
        let fresh = gov_uk(2020..=2028);
        assert!(fresh.contains(world_cup));
        let current = GovUkFile::parse(&gov_uk(2020..=2027).replace(world_cup, "")).unwrap();
        let update = check(&fresh, Some(&current), today(), false).unwrap();
        assert_eq!(update.text, fresh);
        let scotland = update.changes[1].to_string();
        assert!(
            scotland.starts_with("scotland: years 2020–2027 → 2020–2028\n"),
            "{scotland}"
        );
        assert!(
            scotland.contains("  + 2026-06-15\tBank holiday for the FIFA World Cup\n"),
            "{scotland}"
        );
        assert!(scotland.contains("  + 2028-01-03\t"), "{scotland}");
        assert!(!scotland.contains("  - "), "{scotland}");
    }

    #[test]
    fn the_same_file_changes_nothing() {
        let text = gov_uk(2025..=2027);
        let current = GovUkFile::parse(&text).unwrap();
        let update = check(&text, Some(&current), today(), false).unwrap();
        assert_eq!(
            update.changes[0].to_string(),
            "england-and-wales: years 2025–2027; no holiday added or removed\n"
        );
    }

    #[test]
    fn a_first_file_counts_what_it_brings() {
        let update = check(&gov_uk(2026..=2027), None, today(), false).unwrap();
        assert_eq!(
            update.changes[0].to_string(),
            "england-and-wales: years 2026–2027 (before: none, holidays by rule only); 16 holidays\n"
        );
    }

    #[test]
    fn an_implausible_file_is_refused_saying_why() {
        let current = GovUkFile::parse(&gov_uk(2020..=2027)).unwrap();
        let refused = |text: &str| {
            check(text, Some(&current), today(), false)
                .unwrap_err()
                .to_string()
        };
        assert!(refused("<html>Service unavailable</html>").contains("line 1, column 1"));
        let without_ni = divisions(
            &[Division::EnglandAndWales, Division::Scotland],
            2026..=2027,
        );
        assert!(refused(&without_ni).contains("no northern-ireland division"));
        let empty = r#"{"england-and-wales":{"events":[]},"scotland":{"events":[]},"northern-ireland":{"events":[]}}"#;
        assert!(refused(empty).contains("england-and-wales division lists no bank holidays"));
        let old = gov_uk(2018..=2025);
        assert!(refused(&old).contains("nothing in 2026, this year"));
        let short = gov_uk(2024..=2028);
        assert_eq!(
            refused(&short),
            "its england-and-wales division lacks 2020–2023, which the current file covers; pass --force to drop them"
        );
        assert!(
            check(&short, Some(&current), today(), true).is_ok(),
            "unless forced"
        );
    }

    #[test]
    fn spans_run_years_together() {
        let set = |ys: &[i32]| ys.iter().copied().collect::<BTreeSet<_>>();
        assert_eq!(spans(&set(&[2018, 2020, 2021, 2022])), "2018, 2020–2022");
        assert_eq!(spans(&set(&[])), "none");
    }

    #[test]
    fn replacing_leaves_the_new_file_and_no_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bank-holidays.json");
        std::fs::write(&path, "old").unwrap();
        replace(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
