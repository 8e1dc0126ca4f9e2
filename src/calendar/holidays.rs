//! UK bank holidays for each of the three divisions gov.uk publishes.
//!
//! Holidays are computed by rule (Easter, the May, August and Christmas
//! rules, substitute days, the Scottish and Northern Irish holidays) plus the
//! one-off changes proclaimed since 2002 that we know of. A file in gov.uk's published
//! `bank-holidays.json` format, when given, takes precedence for every
//! (division, year) it covers: a proclamation we have not heard of reaches
//! the rota as soon as an operator drops in a fresh copy of that file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

/// A part of the UK with its own bank holidays, named as gov.uk names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Division {
    /// England and Wales.
    EnglandAndWales,
    /// Scotland.
    Scotland,
    /// Northern Ireland.
    NorthernIreland,
}

impl Division {
    /// Every division, in gov.uk's order.
    pub const ALL: [Division; 3] = [
        Division::EnglandAndWales,
        Division::Scotland,
        Division::NorthernIreland,
    ];

    /// The name gov.uk and the rota files use, e.g. `england-and-wales`.
    pub fn as_str(self) -> &'static str {
        match self {
            Division::EnglandAndWales => "england-and-wales",
            Division::Scotland => "scotland",
            Division::NorthernIreland => "northern-ireland",
        }
    }
}

impl fmt::Display for Division {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reason a division name was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown division {0:?}: write one of \"england-and-wales\", \"scotland\", \"northern-ireland\""
)]
pub struct UnknownDivision(pub String);

impl FromStr for Division {
    type Err = UnknownDivision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Division::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDivision(s.to_owned()))
    }
}

/// One bank holiday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankHoliday {
    /// The day (the substitute day when the holiday itself falls at a weekend).
    pub date: NaiveDate,
    /// The title as gov.uk words it, e.g. "Boxing Day (substitute day)".
    pub title: String,
}

/// Bank holidays by rule for `division` in `year`, in date order.
pub fn by_rule(division: Division, year: i32) -> Vec<BankHoliday> {
    let date = |month, day| NaiveDate::from_ymd_opt(year, month, day).expect("valid calendar date");
    let easter = easter_sunday(year);
    // Holidays that always fall on a weekday.
    let mut fixed_weekday: Vec<(NaiveDate, &str)> = vec![(easter - Days::new(2), "Good Friday")];
    if division != Division::Scotland {
        fixed_weekday.push((easter + Days::new(1), "Easter Monday"));
    }
    fixed_weekday.push((
        first_weekday_on_or_after(date(5, 1), Weekday::Mon),
        "Early May bank holiday",
    ));
    fixed_weekday.push((
        last_weekday_of(year, 5, Weekday::Mon),
        "Spring bank holiday",
    ));
    fixed_weekday.push(match division {
        Division::Scotland => (
            first_weekday_on_or_after(date(8, 1), Weekday::Mon),
            "Summer bank holiday",
        ),
        _ => (
            last_weekday_of(year, 8, Weekday::Mon),
            "Summer bank holiday",
        ),
    });
    // Holidays on a fixed date, moved to a substitute weekday at a weekend.
    let mut fixed_date: Vec<(NaiveDate, &str)> = vec![(date(1, 1), "New Year’s Day")];
    match division {
        Division::Scotland => {
            fixed_date.push((date(1, 2), "2nd January"));
            fixed_date.push((date(11, 30), "St Andrew’s Day"));
        }
        Division::NorthernIreland => {
            fixed_date.push((date(3, 17), "St Patrick’s Day"));
            fixed_date.push((date(7, 12), "Battle of the Boyne (Orangemen’s Day)"));
        }
        Division::EnglandAndWales => {}
    }
    fixed_date.push((date(12, 25), "Christmas Day"));
    fixed_date.push((date(12, 26), "Boxing Day"));

    apply_one_offs(division, year, &mut fixed_weekday);

    let mut holidays: Vec<BankHoliday> = fixed_weekday
        .into_iter()
        .map(|(date, title)| BankHoliday {
            date,
            title: title.to_owned(),
        })
        .collect();
    // A fixed-date holiday on a weekday keeps its day; one at a weekend moves
    // to the next weekday not already a holiday. Placing the weekday ones
    // first is what makes a Sunday Christmas give "Boxing Day" on Monday and
    // "Christmas Day (substitute day)" on Tuesday, as proclaimed.
    let (on_weekdays, at_weekends): (Vec<_>, Vec<_>) =
        fixed_date.into_iter().partition(|(d, _)| !is_weekend(*d));
    for (date, title) in on_weekdays {
        holidays.push(BankHoliday {
            date,
            title: title.to_owned(),
        });
    }
    for (date, title) in at_weekends {
        let mut substitute = date;
        while is_weekend(substitute) || holidays.iter().any(|h| h.date == substitute) {
            substitute = substitute + Days::new(1);
        }
        holidays.push(BankHoliday {
            date: substitute,
            title: format!("{title} (substitute day)"),
        });
    }
    // When New Year's Day is a Sunday, gov.uk words Scotland's two January
    // days in order — "New Year's Day (substitute day)" on the Monday, "2nd
    // January (substitute day)" on the Tuesday — unlike a Sunday Christmas
    // (as in 2017 and 2023). Same days, gov.uk's words.
    if division == Division::Scotland && date(1, 1).weekday() == Weekday::Sun {
        for h in &mut holidays {
            if h.date == date(1, 2) {
                h.title = "New Year’s Day (substitute day)".to_owned();
            } else if h.date == date(1, 3) {
                h.title = "2nd January (substitute day)".to_owned();
            }
        }
    }
    holidays.sort_by_key(|h| h.date);
    holidays
}

/// Changes proclaimed for single years: moved holidays and extra ones. Most
/// applied to every division; a few to one alone.
fn apply_one_offs(division: Division, year: i32, holidays: &mut Vec<(NaiveDate, &'static str)>) {
    let date = |month, day| NaiveDate::from_ymd_opt(year, month, day).expect("valid calendar date");
    let mut move_holiday = |title: &str, to: NaiveDate, new_title: &'static str| {
        if let Some(h) = holidays.iter_mut().find(|(_, t)| *t == title) {
            *h = (to, new_title);
        }
    };
    match year {
        2002 => {
            move_holiday("Spring bank holiday", date(6, 4), "Spring bank holiday");
            holidays.push((date(6, 3), "Golden Jubilee bank holiday"));
        }
        2011 => holidays.push((date(4, 29), "Royal wedding")),
        2012 => {
            move_holiday("Spring bank holiday", date(6, 4), "Spring bank holiday");
            holidays.push((date(6, 5), "Queen’s Diamond Jubilee"));
        }
        2020 => move_holiday(
            "Early May bank holiday",
            date(5, 8),
            "Early May bank holiday (VE day)",
        ),
        2022 => {
            move_holiday("Spring bank holiday", date(6, 2), "Spring bank holiday");
            holidays.push((date(6, 3), "Platinum Jubilee bank holiday"));
            holidays.push((
                date(9, 19),
                "Bank Holiday for the State Funeral of Queen Elizabeth II",
            ));
        }
        2023 => holidays.push((
            date(5, 8),
            "Bank holiday for the coronation of King Charles III",
        )),
        // Proclaimed in February 2026 for Scotland alone, the day after the
        // men's team's first World Cup finals match since 1998.
        2026 if division == Division::Scotland => {
            holidays.push((date(6, 15), "Bank holiday for the FIFA World Cup"));
        }
        _ => {}
    }
}

/// Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a valid date")
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

fn first_weekday_on_or_after(d: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() - d.weekday().num_days_from_monday()) % 7;
    d + Days::new(u64::from(ahead))
}

fn last_weekday_of(year: i32, month: u32, weekday: Weekday) -> NaiveDate {
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .expect("valid calendar date");
    first_weekday_on_or_after(first_of_next - Days::new(7), weekday)
}

/// gov.uk's `bank-holidays.json`: `{ "england-and-wales": { "division": …, "events": [ … ] }, … }`.
#[derive(Debug, Deserialize)]
pub struct GovUkFile(BTreeMap<String, GovUkDivision>);

#[derive(Debug, Deserialize)]
struct GovUkDivision {
    events: Vec<GovUkEvent>,
}

#[derive(Debug, Deserialize)]
struct GovUkEvent {
    title: String,
    date: NaiveDate,
    /// gov.uk marks substitute days here ("Substitute day") rather than in the title.
    #[serde(default)]
    notes: String,
}

impl GovUkEvent {
    /// The title as the rules word it: "Boxing Day (substitute day)".
    fn full_title(&self) -> String {
        let notes = self.notes.trim();
        if notes.is_empty() || self.title.to_lowercase().contains(&notes.to_lowercase()) {
            self.title.clone()
        } else {
            format!("{} ({})", self.title, notes.to_lowercase())
        }
    }
}

/// Why a gov.uk bank-holidays file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GovUkFileError {
    /// The JSON did not have gov.uk's shape.
    #[error(
        "line {line}, column {column}: {message} (expected gov.uk's bank-holidays.json format)"
    )]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    /// A top-level key is not a division.
    #[error("{0}")]
    Division(UnknownDivision),
}

impl GovUkFile {
    /// Parse the text of a `bank-holidays.json` file.
    pub fn parse(text: &str) -> Result<Self, GovUkFileError> {
        let file: GovUkFile = serde_json::from_str(text).map_err(|e| GovUkFileError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        for name in file.0.keys() {
            name.parse::<Division>().map_err(GovUkFileError::Division)?;
        }
        Ok(file)
    }

    /// A division's events in date order, titled as the rules title them;
    /// `None` when the file has no such division.
    pub fn events(&self, division: Division) -> Option<Vec<BankHoliday>> {
        let mut events: Vec<BankHoliday> = self
            .0
            .get(division.as_str())?
            .events
            .iter()
            .map(|e| BankHoliday {
                date: e.date,
                title: e.full_title(),
            })
            .collect();
        events.sort_by_key(|h| h.date);
        Some(events)
    }
}

/// The years Nightingale precomputes; outside them holidays are computed on demand.
const PRECOMPUTED: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Bank holidays for all three divisions: rules, overridden year by year by
/// gov.uk's published file where one was given.
#[derive(Debug, Clone)]
pub struct Holidays {
    /// Per division (indexed as [`Division::ALL`]): every holiday in the
    /// precomputed years, for O(log n) lookup.
    dates: [BTreeMap<NaiveDate, String>; 3],
    /// Per division: the years the published file covers.
    published_years: [BTreeSet<i32>; 3],
}

impl Default for Holidays {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Holidays {
    /// Holidays by rule, with `published` taking precedence for the years it covers.
    pub fn new(published: Option<&GovUkFile>) -> Self {
        let mut dates: [BTreeMap<NaiveDate, String>; 3] = Default::default();
        let mut published_years: [BTreeSet<i32>; 3] = Default::default();
        let mut published_dates: [BTreeMap<NaiveDate, String>; 3] = Default::default();
        if let Some(file) = published {
            for (name, division) in &file.0 {
                let Ok(d) = name.parse::<Division>() else {
                    continue;
                };
                let i = index(d);
                for event in &division.events {
                    published_years[i].insert(event.date.year());
                    published_dates[i].insert(event.date, event.full_title());
                }
            }
        }
        for d in Division::ALL {
            let i = index(d);
            for year in PRECOMPUTED {
                if !published_years[i].contains(&year) {
                    dates[i].extend(by_rule(d, year).into_iter().map(|h| (h.date, h.title)));
                }
            }
            dates[i].append(&mut published_dates[i]);
        }
        Self {
            dates,
            published_years,
        }
    }

    /// The bank holidays of `division` in `year`, in date order (none for a
    /// year outside [`super::YEARS`]).
    pub fn in_year(&self, division: Division, year: i32) -> Vec<BankHoliday> {
        if !super::YEARS.contains(&year) {
            return Vec::new();
        }
        let i = index(division);
        if PRECOMPUTED.contains(&year) || self.published_years[i].contains(&year) {
            let from = NaiveDate::from_ymd_opt(year, 1, 1).expect("valid year");
            let to = NaiveDate::from_ymd_opt(year, 12, 31).expect("valid year");
            self.dates[i]
                .range(from..=to)
                .map(|(date, title)| BankHoliday {
                    date: *date,
                    title: title.clone(),
                })
                .collect()
        } else {
            by_rule(division, year)
        }
    }

    /// How many days, from `today` on, the published file covers for
    /// `division`: up to the end of the last year it lists (today counted),
    /// or 0 when there is no file or that year has ended. Beyond, holidays
    /// come from the rules alone, which know every regular holiday but no
    /// one-off proclaimed since this version was built.
    pub fn covered_days(&self, division: Division, today: NaiveDate) -> u32 {
        let Some(&last) = self.published_years[index(division)].last() else {
            return 0;
        };
        NaiveDate::from_ymd_opt(last, 12, 31)
            .map(|end| (end - today).num_days() + 1)
            .and_then(|days| u32::try_from(days).ok())
            .unwrap_or(0)
    }

    /// The title of the bank holiday on `date` in `division`, if it is one.
    pub fn on(&self, division: Division, date: NaiveDate) -> Option<&str> {
        let i = index(division);
        if PRECOMPUTED.contains(&date.year()) || self.published_years[i].contains(&date.year()) {
            self.dates[i].get(&date).map(String::as_str)
        } else {
            // Rare: a date outside the precomputed years; computed each time.
            by_rule(division, date.year())
                .iter()
                .any(|h| h.date == date)
                .then_some("Bank holiday")
        }
    }
}

fn index(d: Division) -> usize {
    match d {
        Division::EnglandAndWales => 0,
        Division::Scotland => 1,
        Division::NorthernIreland => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(division: Division, year: i32) -> Vec<String> {
        by_rule(division, year)
            .into_iter()
            .map(|h| format!("{} {}", h.date, h.title))
            .collect()
    }

    /// The December bank holidays of England and Wales in `year`, as [`listed`].
    fn december(year: i32) -> Vec<String> {
        listed(Division::EnglandAndWales, year)
            .into_iter()
            .filter(|l| l.starts_with(&format!("{year}-12")))
            .collect()
    }

    #[test]
    fn easter_dates_match_the_almanac() {
        for (year, m, d) in [
            (2019, 4, 21),
            (2020, 4, 12),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2038, 4, 25),
        ] {
            assert_eq!(
                easter_sunday(year),
                NaiveDate::from_ymd_opt(year, m, d).unwrap(),
                "{year}"
            );
        }
    }

    #[test]
    fn england_and_wales_2026() {
        assert_eq!(
            listed(Division::EnglandAndWales, 2026),
            [
                "2026-01-01 New Year’s Day",
                "2026-04-03 Good Friday",
                "2026-04-06 Easter Monday",
                "2026-05-04 Early May bank holiday",
                "2026-05-25 Spring bank holiday",
                "2026-08-31 Summer bank holiday",
                "2026-12-25 Christmas Day",
                "2026-12-28 Boxing Day (substitute day)",
            ]
        );
    }

    #[test]
    fn a_sunday_christmas_keeps_boxing_day_on_monday() {
        let xmas = december(2022);
        assert_eq!(
            xmas,
            [
                "2022-12-26 Boxing Day",
                "2022-12-27 Christmas Day (substitute day)"
            ]
        );
    }

    #[test]
    fn a_saturday_christmas_moves_both_days() {
        let xmas = december(2021);
        assert_eq!(
            xmas,
            [
                "2021-12-27 Christmas Day (substitute day)",
                "2021-12-28 Boxing Day (substitute day)"
            ]
        );
    }

    #[test]
    fn scotland_has_2_january_and_st_andrews_day_but_no_easter_monday() {
        let y2023 = listed(Division::Scotland, 2023);
        assert!(y2023.contains(&"2023-01-02 New Year’s Day (substitute day)".to_owned()));
        assert!(y2023.contains(&"2023-01-03 2nd January (substitute day)".to_owned()));
        assert!(!y2023.iter().any(|l| l.contains("Easter Monday")));
        assert!(y2023.contains(&"2023-08-07 Summer bank holiday".to_owned()));
        assert!(
            listed(Division::Scotland, 2024)
                .contains(&"2024-12-02 St Andrew’s Day (substitute day)".to_owned())
        );
        assert!(
            listed(Division::Scotland, 2022)
                .contains(&"2022-01-04 2nd January (substitute day)".to_owned())
        );
    }

    #[test]
    fn northern_ireland_has_st_patricks_day_and_the_boyne() {
        let y2024 = listed(Division::NorthernIreland, 2024);
        assert!(y2024.contains(&"2024-03-18 St Patrick’s Day (substitute day)".to_owned()));
        assert!(y2024.contains(&"2024-07-12 Battle of the Boyne (Orangemen’s Day)".to_owned()));
        assert!(listed(Division::NorthernIreland, 2025).contains(
            &"2025-07-14 Battle of the Boyne (Orangemen’s Day) (substitute day)".to_owned()
        ));
    }

    #[test]
    fn one_off_changes_since_2020() {
        let y2020 = listed(Division::EnglandAndWales, 2020);
        assert!(y2020.contains(&"2020-05-08 Early May bank holiday (VE day)".to_owned()));
        assert!(!y2020.iter().any(|l| l.starts_with("2020-05-04")));
        let y2022 = listed(Division::Scotland, 2022);
        assert!(y2022.contains(&"2022-06-02 Spring bank holiday".to_owned()));
        assert!(y2022.contains(&"2022-06-03 Platinum Jubilee bank holiday".to_owned()));
        assert!(y2022.contains(
            &"2022-09-19 Bank Holiday for the State Funeral of Queen Elizabeth II".to_owned()
        ));
        assert!(!y2022.iter().any(|l| l.starts_with("2022-05-30")));
        assert!(listed(Division::NorthernIreland, 2023).contains(
            &"2023-05-08 Bank holiday for the coronation of King Charles III".to_owned()
        ));
    }

    #[test]
    fn the_world_cup_holiday_of_2026_is_scotlands_alone() {
        let on_15_june = |division| {
            listed(division, 2026)
                .into_iter()
                .filter(|l| l.starts_with("2026-06-15"))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            on_15_june(Division::Scotland),
            ["2026-06-15 Bank holiday for the FIFA World Cup"]
        );
        assert!(on_15_june(Division::EnglandAndWales).is_empty());
        assert!(on_15_june(Division::NorthernIreland).is_empty());
        assert!(
            !listed(Division::Scotland, 2027)
                .iter()
                .any(|l| l.contains("FIFA"))
        );
    }

    #[test]
    fn a_published_file_wins_for_the_years_it_covers() {
        let file = GovUkFile::parse(
            r#"{"england-and-wales": {"division": "england-and-wales", "events": [
                {"title": "New Year’s Day", "date": "2031-01-01", "notes": "", "bunting": true},
                {"title": "A proclaimed holiday", "date": "2031-06-06", "notes": "", "bunting": true},
                {"title": "Christmas Day", "date": "2031-12-25", "notes": "", "bunting": true},
                {"title": "Boxing Day", "date": "2031-12-26", "notes": "Substitute day", "bunting": true}
            ]}}"#,
        )
        .unwrap();
        let holidays = Holidays::new(Some(&file));
        let ew2031 = holidays.in_year(Division::EnglandAndWales, 2031);
        assert_eq!(ew2031.len(), 4);
        assert_eq!(ew2031[3].title, "Boxing Day (substitute day)");
        assert_eq!(
            holidays.on(
                Division::EnglandAndWales,
                NaiveDate::from_ymd_opt(2031, 6, 6).unwrap()
            ),
            Some("A proclaimed holiday")
        );
        // Years and divisions the file does not cover still follow the rules.
        assert_eq!(holidays.in_year(Division::EnglandAndWales, 2032).len(), 8);
        assert_eq!(holidays.in_year(Division::Scotland, 2031).len(), 9);
    }

    #[test]
    fn coverage_runs_to_the_end_of_the_last_published_year() {
        let file = GovUkFile::parse(
            r#"{"scotland": {"division": "scotland", "events": [
                {"title": "New Year’s Day", "date": "2027-01-01", "notes": "", "bunting": true}
            ]}}"#,
        )
        .unwrap();
        let holidays = Holidays::new(Some(&file));
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            holidays.covered_days(Division::Scotland, day(2026, 11, 27)),
            400
        );
        assert_eq!(
            holidays.covered_days(Division::Scotland, day(2027, 12, 31)),
            1
        );
        assert_eq!(
            holidays.covered_days(Division::Scotland, day(2028, 1, 1)),
            0
        );
        assert_eq!(
            holidays.covered_days(Division::EnglandAndWales, day(2026, 11, 27)),
            0,
            "rules only"
        );
    }

    #[test]
    fn a_malformed_file_says_where() {
        let err = GovUkFile::parse("{\"wales\": {\"events\": []}}").unwrap_err();
        assert!(err.to_string().contains("england-and-wales"), "{err}");
        let err = GovUkFile::parse(
            "{\n\"scotland\": {\"events\": [{\"date\": \"2031-13-01\", \"title\": \"x\"}]}}",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("line 2"), "{err}");
    }
}
