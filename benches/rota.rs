//! Rota engine benchmarks on a generated trust: 1,000 services × 3 levels,
//! a year of rotations (3,000 of them over 5,000 people) and 10,000
//! overrides.
//!
//! Run with `cargo bench --bench rota`. Targets: `resolve` median ≤ 1 µs per
//! call, and `resolve_for_a_coordinator` (the same, for a patient whose
//! care co-ordinator has hours and a week's leave) no more than it adds
//! one period and one cover look-up to; `check_28_days` (the whole trust) ≤ 1 s.

use std::sync::LazyLock;

use chrono::{Duration, NaiveDate};
use divan::Bencher;
use nightingale::calendar::{Calendar, instant_of};
use nightingale::clock::Instant;
use nightingale::rota::{self, Rota, load_files};

fn main() {
    // Build the trust before timing starts, so no sample pays for it.
    LazyLock::force(&TRUST);
    LazyLock::force(&WITH_COORDINATOR);
    divan::main();
}

#[path = "support/trust.rs"]
mod trust;

use trust::{SERVICES, generated_files};

static FILES: LazyLock<Vec<(String, String)>> = LazyLock::new(generated_files);
static TRUST: LazyLock<Rota> =
    LazyLock::new(|| load_files(&FILES, Calendar::default()).unwrap_or_else(|p| panic!("{p}")));

/// The generated trust with one care co-ordinator: weekday hours and a
/// week of leave.
static WITH_COORDINATOR: LazyLock<Rota> = LazyLock::new(|| {
    let mut files = FILES.clone();
    files.push((
        "coordinators.toml".to_owned(),
        r#"
[people.bench-matron]
name = "Community matron"
phone = "07700 900999"
hours = { weekdays = "09:00-17:00" }

[[overrides]]
for = "bench-matron"
from = 2026-06-01T00:00:00
until = 2026-06-08T00:00:00
reason = "annual leave"
"#
        .to_owned(),
    ));
    load_files(&files, Calendar::default()).unwrap_or_else(|p| panic!("{p}"))
});

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

#[divan::bench(sample_size = 1000)]
fn resolve_for_a_coordinator(bencher: Bencher) {
    let trust = &*WITH_COORDINATOR;
    let matron = nightingale::directory::Id::parse("bench-matron").expect("an id");
    let probes = probes();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % probes.len();
        let (service, at) = probes[i];
        divan::black_box(trust.resolve_for(
            divan::black_box(service),
            Some(&matron),
            divan::black_box(at),
        ));
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
