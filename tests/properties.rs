//! Properties over random rotas and instants:
//!
//! * `rota check` and `resolve` agree: an instant falls in a reported gap
//!   exactly when its resolved chain falls short (so when check reports no
//!   gap, level 1 always has a reachable person of its own);
//! * a chain really holds until its `valid_until`;
//! * handovers around the clock changes are continuous: every instant is in
//!   exactly one shift, and shifts start at their local handover time;
//! * every bank holiday is out of hours.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, TimeDelta, Timelike};
use nightingale::calendar::{Calendar, Division, Holidays, WorkingHours, instant_of, wall_clock};
use nightingale::clock::Instant;
use nightingale::directory::Id;
use nightingale::rota::{self, Rota, Rotation, check::shortfall, load_files};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct RandomRotation {
    members: Vec<usize>,
    length_days: u32,
    handover: (u32, u32),
    start_offset_days: i64,
}

#[derive(Debug, Clone)]
struct RandomOverride {
    person: Option<usize>,
    rotation: Option<usize>,
    covering: Option<usize>,
    from_hours: i64,
    length_hours: i64,
}

#[derive(Debug, Clone)]
struct RandomTrust {
    rotations: Vec<RandomRotation>,
    hours: usize,
    in_hours_levels: Vec<usize>,
    out_of_hours_levels: Vec<usize>,
    fallback: usize,
    overrides: Vec<RandomOverride>,
    window_start: NaiveDate,
    window_days: i64,
}

const PEOPLE: usize = 5;

fn random_trust() -> impl Strategy<Value = RandomTrust> {
    let rotation = (
        prop::collection::vec(0..PEOPLE, 1..4),
        prop_oneof![Just(1u32), Just(2), Just(7), Just(14), 1u32..10],
        (
            prop_oneof![Just(8u32), Just(1), Just(18), 0u32..24],
            prop_oneof![Just(0u32), Just(30)],
        ),
        -20i64..40,
    )
        .prop_map(
            |(members, length_days, handover, start_offset_days)| RandomRotation {
                members,
                length_days,
                handover,
                start_offset_days,
            },
        );
    let over = (
        prop::option::of(0..PEOPLE),
        prop::option::of(0..3usize),
        prop::option::of(0..PEOPLE),
        0i64..(24 * 40),
        1i64..(24 * 5),
    )
        .prop_map(
            |(person, rotation, covering, from_hours, length_hours)| RandomOverride {
                person,
                rotation,
                covering,
                from_hours,
                length_hours,
            },
        );
    // Windows near the clock changes and the Christmas holidays, or anywhere.
    let start = prop_oneof![
        Just(NaiveDate::from_ymd_opt(2026, 3, 20).unwrap()),
        Just(NaiveDate::from_ymd_opt(2026, 10, 18).unwrap()),
        Just(NaiveDate::from_ymd_opt(2026, 12, 18).unwrap()),
        (0i64..1500).prop_map(|d| NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(d)),
    ];
    (
        prop::collection::vec(rotation, 1..4),
        0usize..3,
        prop::collection::vec(0usize..3, 1..3),
        prop::collection::vec(0usize..3, 1..4),
        0usize..3,
        prop::collection::vec(over, 0..6),
        start,
        7i64..30,
    )
        .prop_map(
            |(
                rotations,
                hours,
                in_hours_levels,
                out_of_hours_levels,
                fallback,
                overrides,
                window_start,
                window_days,
            )| {
                RandomTrust {
                    rotations,
                    hours,
                    in_hours_levels,
                    out_of_hours_levels,
                    fallback,
                    overrides,
                    window_start,
                    window_days,
                }
            },
        )
}

impl RandomTrust {
    fn window(&self) -> (Instant, Instant) {
        let from = instant_of(self.window_start.and_time(NaiveTime::MIN));
        (from, from + Duration::days(self.window_days))
    }

    fn toml(&self) -> String {
        let mut t = String::from("[trust]\nname = \"Random\"\n");
        let rot = |i: usize| i % self.rotations.len();
        t += &format!("[trust.fallback]\nrotation = \"r{}\"\n", rot(self.fallback));
        for i in 0..PEOPLE {
            t += &format!("[people.p{i}]\nname = \"Person {i}\"\nphone = \"07700 900{i:03}\"\n");
        }
        for (i, r) in self.rotations.iter().enumerate() {
            let start = self.window_start + Duration::days(r.start_offset_days);
            let members: Vec<String> = r.members.iter().map(|m| format!("\"p{m}\"")).collect();
            t += &format!(
                "[rotations.r{i}]\nmembers = [{}]\nlength = \"{}d\"\nhandover = \"{:02}:{:02}\"\nstart = {start}\n",
                members.join(", "),
                r.length_days,
                r.handover.0,
                r.handover.1
            );
        }
        let hours = [
            "\"rcgp\"",
            "\"none\"",
            "{ weekdays = \"07:30-20:00\", saturday = \"09:00-12:00\" }",
        ][self.hours];
        t += &format!(
            "[services.s]\nname = \"Service\"\ndivision = \"england-and-wales\"\nhours = {hours}\n"
        );
        if self.hours != 1 {
            for r in &self.in_hours_levels {
                t += &format!("[[services.s.in_hours]]\nrotation = \"r{}\"\n", rot(*r));
            }
        }
        for r in &self.out_of_hours_levels {
            t += &format!("[[services.s.out_of_hours]]\nrotation = \"r{}\"\n", rot(*r));
        }
        // Keep overrides of one kind and key from overlapping, as the loader requires.
        let mut taken: Vec<(Option<usize>, Option<usize>, i64, i64)> = Vec::new();
        for o in &self.overrides {
            let rotation = o.rotation.map(rot);
            if o.person.is_none() && rotation.is_none()
                || (o.covering.is_some() && o.covering == o.person)
            {
                continue;
            }
            let (a, b) = (o.from_hours, o.from_hours + o.length_hours);
            if taken
                .iter()
                .any(|(p, r, x, y)| *p == o.person && *r == rotation && a < *y && *x < b)
            {
                continue;
            }
            taken.push((o.person, rotation, a, b));
            let from = self.window_start.and_time(NaiveTime::MIN) + Duration::hours(a);
            let until = self.window_start.and_time(NaiveTime::MIN) + Duration::hours(b);
            t += "[[overrides]]\n";
            if let Some(p) = o.person {
                t += &format!("for = \"p{p}\"\n");
            }
            if let Some(r) = rotation {
                t += &format!("rotation = \"r{r}\"\n");
            }
            if let Some(c) = o.covering {
                t += &format!("covering = \"p{c}\"\n");
            }
            t += &format!(
                "from = {}\nuntil = {}\n",
                from.format("%Y-%m-%dT%H:%M:%S"),
                until.format("%Y-%m-%dT%H:%M:%S")
            );
        }
        t
    }

    fn compile(&self) -> Rota {
        let text = self.toml();
        load_files(
            &[("random.toml".to_owned(), text.clone())],
            Calendar::default(),
        )
        .unwrap_or_else(|p| panic!("{p}\n---\n{text}"))
    }
}

/// Who is on each level (and the fallback) and whether in hours: what must not change before `valid_until`.
fn answer(rota: &Rota, at: Instant) -> (bool, Vec<Vec<String>>) {
    let chain = rota.resolve(0, at);
    let mut levels: Vec<Vec<String>> = chain
        .levels
        .iter()
        .map(|l| l.on_call.iter().map(|o| o.person.id.to_string()).collect())
        .collect();
    levels.push(
        chain
            .fallback
            .on_call
            .iter()
            .map(|o| o.person.id.to_string())
            .collect(),
    );
    (chain.period.in_hours, levels)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn check_and_resolve_agree_on_every_instant(trust in random_trust(), samples in prop::collection::vec(0.0f64..1.0, 40)) {
        let rota = trust.compile();
        let (from, until) = trust.window();
        let gaps = rota::check(&rota, from, until);
        for s in samples {
            let t = from + Duration::seconds(((until - from).num_seconds() as f64 * s) as i64);
            let chain = rota.resolve(0, t);
            let reported = gaps.iter().find(|g| g.from <= t && t < g.until).map(|g| g.kind);
            prop_assert_eq!(shortfall(&chain), reported, "at {}", t);
            if gaps.is_empty() {
                prop_assert!(!chain.levels[0].filled_by_fallback && !chain.levels[0].on_call.is_empty());
            }
        }
    }

    #[test]
    fn a_chain_holds_until_its_valid_until(trust in random_trust(), start in 0.0f64..1.0, probes in prop::collection::vec(0.0f64..1.0, 8)) {
        let rota = trust.compile();
        let (from, until) = trust.window();
        let t = from + Duration::seconds(((until - from).num_seconds() as f64 * start) as i64);
        let chain = rota.resolve(0, t);
        let end = chain.valid_until.unwrap_or(until).min(until + Duration::days(30));
        prop_assert!(end > t, "valid_until {end} is not after {t}");
        let here = answer(&rota, t);
        let last = end - TimeDelta::nanoseconds(1);
        prop_assert_eq!(&answer(&rota, last), &here, "changed before valid_until {}", end);
        for p in probes {
            let u = t + Duration::seconds(((end - t).num_seconds() as f64 * p) as i64);
            prop_assert_eq!(&answer(&rota, u), &here, "changed at {} before valid_until {}", u, end);
        }
    }

    #[test]
    fn handovers_across_clock_changes_are_continuous(
        year in 2026i32..2035,
        spring in any::<bool>(),
        length_days in prop_oneof![Just(1u32), Just(7), 1u32..5],
        hour in prop_oneof![Just(1u32), Just(2), Just(8), 0u32..24],
        minute in prop_oneof![Just(0u32), Just(30)],
        members in 1usize..5,
        offset in 0i64..14,
    ) {
        // The last Sunday of March or October.
        let month = if spring { 3 } else { 10 };
        let change = (25..=31).map(|d| NaiveDate::from_ymd_opt(year, month, d).unwrap()).find(|d| d.weekday() == chrono::Weekday::Sun).unwrap();
        let handover = NaiveTime::from_hms_opt(hour, minute, 0).unwrap();
        let rotation = Rotation {
            id: Id::parse("r").unwrap(),
            name: "r".into(),
            members: (0..members as u32).collect(),
            start: change - Duration::days(offset + 20),
            length_days,
            handover,
            end: None,
        };
        let first = rotation.turn_at(wall_clock(instant_of(change.and_time(NaiveTime::MIN) - Duration::days(3)))).shift.unwrap();
        for k in first..first + 8 {
            let start = instant_of(rotation.shift_start(k));
            let next = instant_of(rotation.shift_start(k + 1));
            // Exactly one shift at each side of every handover: no gap, no double cover.
            prop_assert_eq!(rotation.turn_at(wall_clock(start - TimeDelta::nanoseconds(1))).shift, Some(k - 1));
            prop_assert_eq!(rotation.turn_at(wall_clock(start)).shift, Some(k));
            prop_assert_eq!(rotation.turn_at(wall_clock(next - TimeDelta::nanoseconds(1))).shift, Some(k));
            // Shifts start at the handover time, local (or at the jump, when the clocks skip it).
            let local = wall_clock(start).time();
            prop_assert!(local == handover || (hour == 1 && local == NaiveTime::from_hms_opt(2, 0, 0).unwrap()), "shift {k} starts at {local}");
            // A shift is its nominal length give or take the hour the clocks moved.
            let nominal = i64::from(length_days) * 24;
            let actual = (next - start).num_minutes();
            prop_assert!((actual - nominal * 60).abs() <= 60, "shift {k} lasts {actual} minutes");
        }
    }

    #[test]
    fn every_bank_holiday_is_out_of_hours(
        division in prop_oneof![Just(Division::EnglandAndWales), Just(Division::Scotland), Just(Division::NorthernIreland)],
        year in 2000i32..2100,
        pick in any::<prop::sample::Index>(),
        minute_of_day in 0u32..(24 * 60),
    ) {
        let holidays = Holidays::default();
        let list = holidays.in_year(division, year);
        let day = pick.get(&list).date;
        let local = day.and_hms_opt(minute_of_day / 60, minute_of_day % 60, 0).unwrap();
        let calendar = Calendar::default();
        let at = instant_of(local);
        for hours in [WorkingHours::rcgp(), WorkingHours::always_out_of_hours()] {
            let period = calendar.period(&hours, division, at);
            prop_assert!(!period.in_hours, "{} {} was in hours", local, division);
        }
        // And the whole day: the next in-hours time is on a later day.
        let period = calendar.period(&WorkingHours::rcgp(), division, at);
        let until = period.until.unwrap();
        prop_assert!(until.date() > day && until.hour() == 8);
    }
}
