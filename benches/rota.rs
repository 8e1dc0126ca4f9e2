//! Rota engine benchmarks on a generated trust: 1,000 services × 3 levels,
//! a year of rotations (3,000 of them over 5,000 people) and 10,000
//! overrides.
//!
//! Run with `cargo bench --bench rota`. Targets: `resolve` median ≤ 1 µs per
//! call; `check_28_days` (the whole trust) ≤ 1 s.

use std::sync::LazyLock;

use chrono::{Duration, NaiveDate};
use divan::Bencher;
use nightingale::calendar::{Calendar, instant_of};
use nightingale::clock::Instant;
use nightingale::rota::{self, Rota, load_files};

fn main() {
    // Build the trust before timing starts, so no sample pays for it.
    LazyLock::force(&TRUST);
    divan::main();
}

const SERVICES: usize = 1_000;
const PEOPLE: usize = 5_000;
const OVERRIDES: usize = 10_000;

/// The trust as rota files: one file of people, one of rotations, one of services, one of overrides.
fn generated_files() -> Vec<(String, String)> {
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

static FILES: LazyLock<Vec<(String, String)>> = LazyLock::new(generated_files);
static TRUST: LazyLock<Rota> =
    LazyLock::new(|| load_files(&FILES, Calendar::default()).unwrap_or_else(|p| panic!("{p}")));

fn year_start() -> Instant {
    instant_of(
        NaiveDate::from_ymd_opt(2026, 1, 5)
            .expect("date")
            .and_hms_opt(8, 0, 0)
            .expect("time"),
    )
}

/// A cheap deterministic sequence of (service, instant) pairs spread over the year.
fn probes() -> Vec<(u32, Instant)> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let service = (x % SERVICES as u64) as u32;
            let seconds = ((x >> 20) % (364 * 86_400)) as i64;
            (service, year_start() + Duration::seconds(seconds))
        })
        .collect()
}

#[divan::bench(sample_size = 1000)]
fn resolve(bencher: Bencher) {
    let trust = &*TRUST;
    let probes = probes();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % probes.len();
        let (service, at) = probes[i];
        divan::black_box(trust.resolve(divan::black_box(service), divan::black_box(at)));
    });
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn check_28_days() {
    let trust = &*TRUST;
    let from = year_start() + Duration::days(150);
    let gaps = rota::check(trust, from, from + Duration::days(28));
    divan::black_box(gaps);
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn load_trust() {
    divan::black_box(
        load_files(&FILES, Calendar::default())
            .map(|r| r.services().len())
            .unwrap_or(0),
    );
}

#[divan::bench(sample_size = 1000)]
fn wall_clock_only(bencher: Bencher) {
    let probes = probes();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % probes.len();
        divan::black_box(nightingale::calendar::wall_clock(divan::black_box(
            probes[i].1,
        )));
    });
}

#[divan::bench(sample_size = 1000)]
fn instant_of_only(bencher: Bencher) {
    let probes: Vec<_> = probes()
        .into_iter()
        .map(|(_, t)| nightingale::calendar::wall_clock(t))
        .collect();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % probes.len();
        divan::black_box(instant_of(divan::black_box(probes[i])));
    });
}

#[divan::bench(sample_size = 1000)]
fn period_only(bencher: Bencher) {
    let trust = &*TRUST;
    let probes = probes();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % probes.len();
        let s = &trust.services()[probes[i].0 as usize];
        divan::black_box(trust.calendar().period(
            &s.hours,
            s.division,
            divan::black_box(probes[i].1),
        ));
    });
}
