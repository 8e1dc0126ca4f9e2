//! The bank holidays gov.uk published agree with the rules Nightingale
//! computes, year by year and division by division: the shipped
//! `rota/bank-holidays.json` is an independent transcription of gov.uk's
//! file, so this checks the rules (Easter, substitute days, the one-offs)
//! against the published record.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use nightingale::calendar::{
    Calendar, Division, GovUkFile, Holidays, Reason, holidays::by_rule, parse_instant,
};
use nightingale::rota;

#[test]
fn the_published_file_and_the_rules_agree_for_every_year_it_covers() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rota/bank-holidays.json"
    ))
    .unwrap();
    let file = GovUkFile::parse(&text).unwrap();
    let published = Holidays::new(Some(&file));
    let rules_only = Holidays::new(None);
    let mut years_checked = BTreeSet::new();
    for division in Division::ALL {
        for year in 2020..=2027 {
            let from_file: Vec<_> = published
                .in_year(division, year)
                .into_iter()
                .map(|h| (h.date, h.title))
                .collect();
            let from_rules: Vec<_> = by_rule(division, year)
                .into_iter()
                .map(|h| (h.date, h.title))
                .collect();
            assert_eq!(from_file, from_rules, "{division} {year}");
            assert_eq!(rules_only.in_year(division, year).len(), from_rules.len());
            years_checked.extend(from_file.iter().map(|(d, _)| d.year()));
        }
    }
    assert_eq!(years_checked.len(), 8);
}

/// Two community nursing teams with RCGP hours, one in Glasgow, one in Leeds.
const TWO_NATIONS: &str = r#"
[trust]
name = "Two nations (test)"
fallback = { rotation = "duty-manager" }

[people]
morag = { name = "Morag Campbell", role = "Community staff nurse", phone = "07700 900611" }
priya = { name = "Priya Shah", role = "Community staff nurse", phone = "07700 900612" }
quentin = { name = "Quentin Adams", role = "Site duty manager", phone = "07700 900501" }

[rotations.duty-manager]
members = ["quentin"]
length = "1w"
handover = "08:00"
start = 2026-01-05

[services.nursing-glasgow]
name = "Community nursing, Glasgow"
division = "scotland"
in_hours = [{ people = ["morag"] }]
out_of_hours = [{ rotation = "duty-manager" }]

[services.nursing-leeds]
name = "Community nursing, Leeds"
division = "england-and-wales"
in_hours = [{ people = ["priya"] }]
out_of_hours = [{ rotation = "duty-manager" }]
"#;

#[test]
fn monday_15_june_2026_is_a_bank_holiday_in_scotland_alone() {
    let fifa = "Bank holiday for the FIFA World Cup";
    let day = NaiveDate::from_ymd_opt(2026, 6, 15).unwrap();
    let shipped = Calendar::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rota"
    )))
    .unwrap();
    for (source, calendar) in [("shipped file", &shipped), ("rules", &Calendar::default())] {
        let on = |division| calendar.holidays().on(division, day);
        assert_eq!(on(Division::Scotland), Some(fifa), "{source}");
        assert_eq!(on(Division::EnglandAndWales), None, "{source}");
        assert_eq!(on(Division::NorthernIreland), None, "{source}");
    }

    // 10:00 that Monday: the Glasgow team is out of hours all day, so a
    // concern goes to the on-call rota; the Leeds team is at work.
    let rota = rota::load_files(
        &[("rota/trust.toml".to_owned(), TWO_NATIONS.to_owned())],
        shipped,
    )
    .unwrap_or_else(|p| panic!("{p}"));
    let at = parse_instant("2026-06-15T10:00").unwrap();
    let glasgow = rota.resolve(rota.service("nursing-glasgow").unwrap(), at);
    assert!(!glasgow.period.in_hours);
    assert_eq!(glasgow.period.reason, Reason::BankHoliday(fifa.to_owned()));
    assert_eq!(glasgow.levels[0].on_call[0].person.name, "Quentin Adams");
    assert_eq!(
        glasgow.valid_until,
        Some(parse_instant("2026-06-16T08:00").unwrap()),
        "until the team is back on Tuesday morning"
    );
    let leeds = rota.resolve(rota.service("nursing-leeds").unwrap(), at);
    assert!(leeds.period.in_hours);
    assert_eq!(leeds.levels[0].on_call[0].person.name, "Priya Shah");
}
