//! The bank holidays gov.uk published agree with the rules Nightingale
//! computes, year by year and division by division: the shipped
//! `rota/bank-holidays.json` is an independent transcription of gov.uk's
//! file, so this checks the rules (Easter, substitute days, the one-offs)
//! against the published record.

use std::collections::BTreeSet;

use chrono::Datelike;
use nightingale::calendar::{Division, GovUkFile, Holidays, holidays::by_rule};

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
