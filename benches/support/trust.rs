//! A generated trust for benchmarks: 1,000 services, each with three
//! out-of-hours levels (and an in-hours level for two in three), 3,000
//! rotations over 5,000 people running for a year from 5 January 2026,
//! services spread over the three divisions and three kinds of working
//! hours, and 10,000 overrides of all three kinds.

#![allow(dead_code)]

use chrono::{Duration, NaiveDate};

pub const SERVICES: usize = 1_000;
pub const PEOPLE: usize = 5_000;
pub const OVERRIDES: usize = 10_000;

/// The trust as rota files: one file of people, one of rotations, one of services, one of overrides.
pub fn generated_files() -> Vec<(String, String)> {
    let year_start = NaiveDate::from_ymd_opt(2026, 1, 5).expect("date");
    let mut people = String::from(
        "[trust]\nname = \"Generated trust\"\n[trust.fallback]\nrotation = \"fallback\"\n",
    );
    for p in 0..PEOPLE {
        people += &format!(
            "[people.p{p}]\nname = \"Person {p}\"\nrole = \"Clinician\"\nphone = \"07700 900{:03}\"\n",
            p % 1000
        );
    }
    let mut rotations = String::from(
        "[rotations.fallback]\nmembers = [\"p0\", \"p1\", \"p2\"]\nlength = \"1d\"\nhandover = \"08:00\"\nstart = 2026-01-05\n",
    );
    let mut services = String::new();
    let handovers = ["08:00", "09:00", "18:30", "20:00"];
    for s in 0..SERVICES {
        for level in 0..3 {
            let r = s * 3 + level;
            let members: Vec<String> = (0..(4 + r % 5))
                .map(|m| format!("\"p{}\"", (r * 7 + m * 13) % PEOPLE))
                .collect();
            let length = if level == 0 { "1d" } else { "1w" };
            rotations += &format!(
                "[rotations.r{r}]\nmembers = [{}]\nlength = \"{length}\"\nhandover = \"{}\"\nstart = {}\nuntil = {}\n",
                members.join(", "),
                handovers[r % handovers.len()],
                year_start,
                year_start + Duration::days(364),
            );
        }
        let hours = ["\"rcgp\"", "\"none\"", "{ weekdays = \"08:00-20:00\" }"][s % 3];
        services += &format!(
            "[services.s{s}]\nname = \"Service {s}\"\ndivision = \"{}\"\nhours = {hours}\n",
            ["england-and-wales", "scotland", "northern-ireland"][s % 3]
        );
        if s % 3 != 1 {
            services += &format!("[[services.s{s}.in_hours]]\nrotation = \"r{}\"\n", s * 3);
        }
        for level in 0..3 {
            services += &format!(
                "[[services.s{s}.out_of_hours]]\nrotation = \"r{}\"\nack_within = \"10m\"\n",
                s * 3 + level
            );
        }
    }
    let mut overrides = String::new();
    let base = year_start.and_hms_opt(8, 0, 0).expect("time");
    for i in 0..OVERRIDES {
        // Three kinds, each key's intervals ten days apart so none overlap.
        let (key_line, key, slot) = match i % 3 {
            0 => (format!("for = \"p{}\"", i % PEOPLE), i % PEOPLE, i / PEOPLE),
            1 => (
                format!("rotation = \"r{}\"", i % (SERVICES * 3)),
                i % (SERVICES * 3),
                i / (SERVICES * 3),
            ),
            _ => {
                let r = i % (SERVICES * 3);
                let first_member = (r * 7) % PEOPLE;
                (
                    format!("rotation = \"r{r}\"\nfor = \"p{first_member}\""),
                    r,
                    i / (SERVICES * 3),
                )
            }
        };
        let from =
            base + Duration::days((slot * 30 + key % 20) as i64) + Duration::hours((i % 12) as i64);
        let until = from + Duration::hours(36);
        overrides += &format!(
            "[[overrides]]\n{key_line}\ncovering = \"p{}\"\nfrom = {}\nuntil = {}\n",
            (i * 31 + 17) % PEOPLE,
            from.format("%Y-%m-%dT%H:%M:%S"),
            until.format("%Y-%m-%dT%H:%M:%S")
        );
    }
    vec![
        ("people.toml".to_owned(), people),
        ("rotations.toml".to_owned(), rotations),
        ("services.toml".to_owned(), services),
        ("overrides.toml".to_owned(), overrides),
    ]
}
