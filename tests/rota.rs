//! The rota engine as a rota manager meets it: small trusts written in TOML,
//! resolved at instants a clinician would recognise.

use nightingale::calendar::{Calendar, parse_instant};
use nightingale::clock::Instant;
use nightingale::rota::{self, GapKind, Rota, Via, load_files};

const TRUST: &str = r#"
[trust]
name = "Test trust"
[trust.fallback]
rotation = "duty-manager"

[people.amara]
name = "Amara Okafor"
role = "Registrar"
phone = "07700 900111"
[people.ben]
name = "Ben Hughes"
role = "Registrar"
phone = "07700 900112"
[people.chen]
name = "Chen Li"
role = "Registrar"
phone = "07700 900113"
[people.eleanor]
name = "Dr Eleanor Shaw"
role = "Consultant"
phone = "07700 900121"
[people.farid]
name = "Dr Farid Rahman"
role = "Consultant"
phone = "07700 900122"
[people.ward-phone]
name = "Ward 7 nurse in charge"
phone = "07700 900101"
[people.quentin]
name = "Quentin Adams"
role = "Site duty manager"
phone = "07700 900501"

[rotations.registrar]
members = ["amara", "ben", "chen"]
length = "1d"
handover = "08:00"
start = 2026-01-05

[rotations.consultant]
members = ["eleanor", "farid"]
length = "1w"
handover = "08:00"
handover_day = "monday"
start = 2026-01-05

[rotations.duty-manager]
members = ["quentin"]
length = "1w"
handover = "08:00"
start = 2026-01-05

[services.ward-7]
name = "Cardiology Ward 7"
division = "england-and-wales"
[[services.ward-7.in_hours]]
people = ["ward-phone"]
[[services.ward-7.out_of_hours]]
rotation = "registrar"
ack_within = "10m"
[[services.ward-7.out_of_hours]]
rotation = "consultant"
ack_within = "15m"
"#;

fn trust_with(extra: &str) -> Rota {
    try_trust(extra).unwrap_or_else(|p| panic!("{p}"))
}

fn try_trust(extra: &str) -> Result<Rota, rota::Problems> {
    load_files(
        &[
            ("rota/trust.toml".to_owned(), TRUST.to_owned()),
            ("rota/extra.toml".to_owned(), extra.to_owned()),
        ],
        Calendar::default(),
    )
}

fn at(text: &str) -> Instant {
    parse_instant(text).unwrap()
}

fn on_call(rota: &Rota, when: &str) -> Vec<Vec<String>> {
    let chain = rota.resolve(rota.service("ward-7").unwrap(), at(when));
    chain
        .levels
        .iter()
        .map(|l| l.on_call.iter().map(|o| o.person.id.to_string()).collect())
        .collect()
}

#[test]
fn friday_evening_goes_to_the_registrar_then_the_consultant() {
    let rota = trust_with("");
    // Friday 27 November 2026, 19:05: shift 326 of the registrar rota (amara, ben, chen…).
    let chain = rota.resolve(rota.service("ward-7").unwrap(), at("2026-11-27T19:05"));
    assert!(!chain.period.in_hours);
    let level1: Vec<_> = chain.levels[0]
        .on_call
        .iter()
        .map(|o| o.person.name.as_str())
        .collect();
    assert_eq!(level1, ["Chen Li"]);
    assert_eq!(chain.levels[1].on_call[0].person.name, "Dr Eleanor Shaw");
    assert_eq!(chain.fallback.on_call[0].person.name, "Quentin Adams");
    assert_eq!(chain.fallback.number, 3);
    // The registrar hands over at 08:00 on Saturday: that is when the answer next changes.
    assert_eq!(chain.valid_until, Some(at("2026-11-28T08:00")));
}

#[test]
fn in_hours_the_ward_answers_until_half_past_six() {
    let rota = trust_with("");
    let chain = rota.resolve(rota.service("ward-7").unwrap(), at("2026-11-25T14:00"));
    assert!(chain.period.in_hours);
    assert_eq!(chain.levels.len(), 1);
    assert_eq!(chain.levels[0].on_call[0].person.id.as_str(), "ward-phone");
    assert_eq!(chain.valid_until, Some(at("2026-11-25T18:30")));
}

#[test]
fn christmas_day_is_out_of_hours_all_day() {
    let rota = trust_with("");
    let chain = rota.resolve(rota.service("ward-7").unwrap(), at("2026-12-25T11:00"));
    assert!(!chain.period.in_hours);
    assert!(
        chain.period.to_string().contains("Christmas Day"),
        "{}",
        chain.period
    );
}

#[test]
fn handovers_happen_at_eight_local_on_both_clock_change_days() {
    let rota = trust_with("");
    // Sunday 29 March 2026 (clocks go forward): 08:00 BST is 07:00 UTC.
    assert_ne!(
        on_call(&rota, "2026-03-29T06:59:59Z"),
        on_call(&rota, "2026-03-29T07:00:00Z")
    );
    let chain = rota.resolve(rota.service("ward-7").unwrap(), at("2026-03-28T12:00"));
    assert_eq!(chain.valid_until, Some(at("2026-03-29T07:00:00Z")));
    // Sunday 25 October 2026 (clocks go back): 08:00 GMT is 08:00 UTC; no change an hour early.
    assert_eq!(
        on_call(&rota, "2026-10-25T07:00:00Z"),
        on_call(&rota, "2026-10-25T07:59:59Z")
    );
    assert_ne!(
        on_call(&rota, "2026-10-25T07:59:59Z"),
        on_call(&rota, "2026-10-25T08:00:00Z")
    );
}

#[test]
fn annual_leave_cover_takes_the_shift_and_ends_on_time() {
    let rota = trust_with(
        r#"
[[overrides]]
for = "chen"
covering = "amara"
from = 2026-11-27T08:00:00
until = 2026-11-28T08:00:00
reason = "annual leave"
"#,
    );
    let chain = rota.resolve(rota.service("ward-7").unwrap(), at("2026-11-27T19:05"));
    let who = &chain.levels[0].on_call[0];
    assert_eq!(who.person.id.as_str(), "amara");
    assert!(
        matches!(who.via, Via::Cover(c) if c.reason.as_deref() == Some("annual leave") && c.source == "rota/extra.toml:2")
    );
}

#[test]
fn a_swap_trades_two_consultant_weeks() {
    let rota = trust_with(
        r#"
[[swaps]]
rotation = "consultant"
shifts = [2026-11-23, 2026-11-30]
"#,
    );
    // Planned: week of 23 Nov is Eleanor's (shift 46), week of 30 Nov Farid's.
    assert_eq!(on_call(&rota, "2026-11-27T19:05")[1], ["farid"]);
    assert_eq!(on_call(&rota, "2026-12-01T19:05")[1], ["eleanor"]);
    // Then the plan resumes: the week of 7 December is Eleanor's again.
    assert_eq!(on_call(&rota, "2026-12-08T19:05")[1], ["eleanor"]);
}

#[test]
fn an_absence_without_cover_brings_in_the_fallback_and_shows_as_a_gap() {
    let rota = trust_with(
        r#"
[[overrides]]
for = "chen"
from = 2026-11-27T08:00:00
until = 2026-11-28T08:00:00
reason = "sick"
"#,
    );
    let chain = rota.resolve(rota.service("ward-7").unwrap(), at("2026-11-27T19:05"));
    assert!(chain.levels[0].filled_by_fallback);
    assert_eq!(chain.levels[0].on_call[0].person.id.as_str(), "quentin");
    assert!(matches!(chain.levels[0].on_call[0].via, Via::Fallback));

    let gaps = rota::check(&rota, at("2026-11-25T00:00"), at("2026-12-02T00:00"));
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    // Chen's shift is only a gap out of hours: in hours the ward phone answers.
    assert_eq!(
        (gaps[0].from, gaps[0].until),
        (at("2026-11-27T18:30"), at("2026-11-28T08:00"))
    );
    assert_eq!(gaps[0].kind, GapKind::Level1Empty);
}

#[test]
fn before_the_rotations_start_only_the_fallback_covers_and_before_it_starts_nobody() {
    let rota = trust_with(
        r#"
[[overrides]]
rotation = "duty-manager"
covering = "quentin"
from = 2026-01-03T00:00:00
until = 2026-01-05T08:00:00
"#,
    );
    let gaps = rota::check(&rota, at("2026-01-02T18:30"), at("2026-01-06T00:00"));
    // The registrar and consultant rotas start on Monday 5 January at 08:00;
    // the duty manager's rota too, but cover starts on the 3rd.
    let kinds: Vec<_> = gaps.iter().map(|g| (g.kind, g.from, g.until)).collect();
    assert_eq!(
        kinds,
        [
            (
                GapKind::Nobody,
                at("2026-01-02T18:30"),
                at("2026-01-03T00:00")
            ),
            (
                GapKind::OnlyFallback,
                at("2026-01-03T00:00"),
                at("2026-01-05T08:00")
            ),
        ]
    );
}

#[test]
fn nobody_at_all_is_the_worst_gap() {
    let rota = trust_with(
        r#"
[[overrides]]
for = "quentin"
from = 2026-11-27T00:00:00
until = 2026-11-29T00:00:00
[[overrides]]
rotation = "registrar"
from = 2026-11-27T20:00:00
until = 2026-11-27T22:00:00
"#,
    );
    let gaps = rota::check(&rota, at("2026-11-27T00:00"), at("2026-11-28T00:00"));
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].kind, GapKind::Nobody);
    assert_eq!(
        (gaps[0].from, gaps[0].until),
        (at("2026-11-27T20:00"), at("2026-11-27T22:00"))
    );
}

#[test]
fn the_demo_trust_loads_and_has_no_gaps_over_christmas() {
    let rota = rota::load_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("rota")
            .as_path(),
    )
    .unwrap();
    assert_eq!(rota.services().len(), 3);
    let gaps = rota::check(&rota, at("2026-12-01T00:00"), at("2027-01-31T00:00"));
    assert!(gaps.is_empty(), "{gaps:?}");
}

// ---- mistakes, each reported at its file and line with what to write ---------

fn problems(extra: &str) -> Vec<String> {
    match try_trust(extra) {
        Ok(_) => panic!("expected problems"),
        Err(p) => p.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_misspelt_member_is_named_with_a_suggestion() {
    let p = problems(
        "[rotations.nights]\nmembers = [\"amara\", \"chenn\"]\nlength = \"1d\"\nhandover = \"20:00\"\nstart = 2026-01-05\n",
    );
    assert_eq!(
        p,
        ["rota/extra.toml:2: no person \"chenn\": did you mean \"chen\"?"]
    );
}

#[test]
fn a_bad_duration_says_how_to_write_one() {
    let p = problems(
        "[services.community]\nname = \"Community\"\ndivision = \"england-and-wales\"\nhours = \"none\"\n[[services.community.out_of_hours]]\nrotation = \"registrar\"\nack_within = \"ten minutes\"\n",
    );
    assert_eq!(
        p,
        [
            "rota/extra.toml:7: ack_within = \"ten minutes\" is not a duration: write one like \"90s\", \"10m\" or \"2h\""
        ]
    );
}

#[test]
fn a_start_on_the_wrong_weekday_suggests_the_right_date() {
    let p = problems(
        "[rotations.weekly]\nmembers = [\"amara\"]\nlength = \"1w\"\nhandover = \"08:00\"\nhandover_day = \"monday\"\nstart = 2026-01-07\n",
    );
    assert_eq!(
        p,
        [
            "rota/extra.toml:6: start = 2026-01-07 is a Wed, but handover_day = \"monday\": write start = 2026-01-05"
        ]
    );
}

#[test]
fn overlapping_cover_for_the_same_person_is_refused() {
    let p = problems(
        "[[overrides]]\nfor = \"chen\"\ncovering = \"amara\"\nfrom = 2026-12-01T08:00:00\nuntil = 2026-12-03T08:00:00\n\n[[overrides]]\nfor = \"chen\"\ncovering = \"ben\"\nfrom = 2026-12-02T08:00:00\nuntil = 2026-12-04T08:00:00\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("rota/extra.toml:7: this cover overlaps the one at rota/extra.toml:1"),
        "{p:?}"
    );
}

#[test]
fn a_swap_on_a_day_no_shift_starts_names_the_nearest_shift_starts() {
    let p = problems("[[swaps]]\nrotation = \"consultant\"\nshifts = [2026-11-25, 2026-11-30]\n");
    assert_eq!(
        p,
        [
            "rota/extra.toml:3: no consultant shift starts on 2026-11-25 (Wed): write 2026-11-23 or 2026-11-30"
        ]
    );
}

#[test]
fn unknown_keys_and_wrong_types_point_at_the_line() {
    let p = problems(
        "[people.dafydd]\nname = \"Dafydd Evans\"\nphone = \"07700 900114\"\nemial = \"d@nhs.net\"\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("rota/extra.toml:4: unknown field `emial`, expected one of"),
        "{p:?}"
    );
}

#[test]
fn a_duplicate_id_names_both_places() {
    let p = problems("[people.amara]\nname = \"Another Amara\"\nphone = \"07700 900199\"\n");
    assert_eq!(
        p,
        [
            "rota/extra.toml:1: person \"amara\" is defined twice (first at rota/trust.toml:7): give one of them another id"
        ]
    );
}

#[test]
fn a_bad_phone_number_says_why() {
    let p = problems("[people.dafydd]\nname = \"Dafydd Evans\"\nphone = \"07700 9001\"\n");
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("rota/extra.toml:3: phone: \"07700 9001\" is too short"),
        "{p:?}"
    );
}

#[test]
fn a_trust_without_a_fallback_is_refused() {
    let p = load_files(
        &[(
            "rota/trust.toml".to_owned(),
            TRUST.replace("[trust.fallback]\nrotation = \"duty-manager\"\n", ""),
        )],
        Calendar::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        p.contains("rota/trust.toml:2: [trust] has no fallback: add [trust.fallback]"),
        "{p}"
    );
}

#[test]
fn someone_with_no_way_to_be_reached_is_refused() {
    let p = problems("[people.dafydd]\nname = \"Dafydd Evans\"\nrole = \"Registrar\"\n");
    assert_eq!(
        p,
        [
            "rota/extra.toml:1: dafydd has no way to be reached: add phone = \"07…\" or email = \"…@nhs.net\""
        ]
    );
}

#[test]
fn a_delay_before_a_contact_must_be_a_duration_and_not_on_the_first() {
    let p = problems(
        "[people.dafydd]\nname = \"Dafydd Evans\"\nphone = \"07700 900114\"\nnotify = [\"sms after 1m\", \"voice after soon\"]\n",
    );
    assert_eq!(
        p,
        [
            "rota/extra.toml:4: notify \"sms after 1m\": the first way to reach someone is tried at once; put the delay on a later one, like notify = [\"sms\", \"voice after 3m\"]",
            "rota/extra.toml:4: notify \"voice after soon\": write how long after a page to try it, up to an hour, like \"voice after 3m\"",
        ]
    );
    assert_eq!(
        problems(
            "[services.cardiology]\nname = \"Cardiology\"\ndivision = \"england-and-wales\"\nhours = \"none\"\nlive_for = \"1h\"\n[[services.cardiology.out_of_hours]]\nrotation = \"registrar\"\n"
        ),
        [
            "rota/extra.toml:5: live_for = \"1h\": write how long a caller may wait for a person before leaving a message, between \"20s\" and \"10m\", like \"90s\""
        ]
    );
}

#[test]
fn a_text_at_once_and_a_call_three_minutes_later_is_shown_by_rota_who() {
    let rota = trust_with(
        "[people.dafydd]\nname = \"Dafydd Evans\"\nphone = \"07700 900114\"\nnotify = [\"sms\", \"voice after 3m\"]\n",
    );
    let dafydd = rota.person("dafydd").unwrap();
    let after: Vec<_> = dafydd
        .page_contacts(true)
        .iter()
        .map(|c| (c.call(), c.after))
        .collect();
    assert_eq!(
        after,
        [
            (false, None),
            (true, Some(std::time::Duration::from_secs(180)))
        ]
    );
}

#[test]
fn a_file_that_does_not_parse_is_reported_alone() {
    // A typo in one file must not also make every reference into it look wrong.
    let p = problems(
        "[people.dafydd]\nname = \"Dafydd Evans\"\nphone = \"07700 900114\"\n[rotations.nights]\nmembers = [\"dafydd\"\nlength = \"1d\"\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("rota/extra.toml:6:"), "{p:?}");
}

#[test]
fn cover_may_be_written_with_an_offset() {
    let rota = trust_with(
        "[[overrides]]\nfor = \"chen\"\ncovering = \"amara\"\nfrom = 2026-11-27T08:00:00Z\nuntil = 2026-11-28T08:00:00Z\n",
    );
    assert_eq!(on_call(&rota, "2026-11-27T19:05")[0], ["amara"]);
}

#[test]
fn a_quoted_cover_time_with_an_offset_is_refused() {
    // rota/README.md: only an unquoted time may carry an offset.
    let p = problems(
        "[[overrides]]\nfor = \"chen\"\ncovering = \"amara\"\nfrom = \"2026-11-27T08:00:00Z\"\nuntil = 2026-11-28T08:00:00\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("write a local (UK) date and time"), "{p:?}");
}

#[test]
fn names_from_rota_files_lose_control_and_direction_characters() {
    // TOML escapes: a NUL, a right-to-left override, a tab and a line break.
    let rota = trust_with(
        "[people.zoe]\nname = \"Zo\u{eb}\\u0000 \\u202EHart\"\nrole = \"Staff\\tnurse\\n\"\nphone = \"07700 900115\"\n",
    );
    let zoe = rota.person("zoe").unwrap();
    assert_eq!(zoe.name, "Zoë Hart");
    assert_eq!(zoe.role, "Staff nurse");
}

#[test]
fn a_service_sets_when_its_discharged_patients_are_checked_on() {
    let service = "[services.cardiology]\nname = \"Cardiology\"\ndivision = \"england-and-wales\"\nhours = \"none\"\n";
    let level = "[[services.cardiology.out_of_hours]]\nrotation = \"registrar\"\n";
    let rota = trust_with(&format!(
        "{service}check_ins = [\"12h\", \"2days\"]\ncheck_in_answer_within = \"2h\"\n{level}"
    ));
    let cardiology = &rota.services()[rota.service("cardiology").unwrap() as usize];
    assert_eq!(
        cardiology.check_ins,
        nightingale::directory::check_ins::CheckIns::AfterDischarge {
            seconds: vec![12 * 3600, 48 * 3600]
        }
    );
    assert_eq!(
        cardiology.check_in_answer_within,
        chrono::TimeDelta::hours(2)
    );
    assert_eq!(
        problems(&format!(
            "{service}check_ins = [\"tomorrow\"]\ncheck_in_answer_within = \"1m\"\n{level}"
        )),
        [
            "rota/extra.toml:5: check_ins: \"tomorrow\" is not a time after discharge: write one like \"24h\" or \"3days\"; or [] for none",
            "rota/extra.toml:6: check_in_answer_within = \"1m\": write how long to wait for the answer to a check-in before telling the team, between \"30m\" and \"3days\", like \"6h\"",
        ]
    );
}

// ---- care co-ordinators: a person with their own hours, first for their patients ----

const MATRON: &str = r#"
[people.nadia]
name = "Nadia Khan"
role = "Community matron"
phone = "07700 900131"
hours = { weekdays = "09:00-17:00" }
ack_within = "15m"
"#;

fn chain_for<'r>(rota: &'r Rota, coordinator: &str, when: &str) -> rota::Chain<'r> {
    let id = nightingale::directory::Id::parse(coordinator).unwrap();
    rota.resolve_for(rota.service("ward-7").unwrap(), Some(&id), at(when))
}

fn ids(chain: &rota::Chain<'_>) -> Vec<Vec<String>> {
    chain
        .levels
        .iter()
        .map(|l| l.on_call.iter().map(|o| o.person.id.to_string()).collect())
        .collect()
}

#[test]
fn in_her_hours_the_matron_comes_first_then_the_services_chain() {
    let rota = trust_with(MATRON);
    // Tuesday 1 December 2026, 11:00: in the ward's hours and in hers.
    let chain = chain_for(&rota, "nadia", "2026-12-01T11:00");
    assert_eq!(ids(&chain), [vec!["nadia"], vec!["ward-phone"]]);
    assert_eq!(chain.levels[0].on_call[0].via, Via::Coordinator);
    assert_eq!(chain.levels[0].level.ack_within.as_secs(), 15 * 60);
    assert_eq!(
        (
            chain.levels[0].number,
            chain.levels[1].number,
            chain.fallback.number
        ),
        (1, 2, 3)
    );
    assert!(chain.coordinator.as_ref().unwrap().first_contact());
    // Her hours end at 17:00, before the ward's at 18:30.
    assert_eq!(chain.valid_until, Some(at("2026-12-01T17:00")));
    // A patient without a co-ordinator gets the ward's chain as before.
    assert_eq!(on_call(&rota, "2026-12-01T11:00"), [vec!["ward-phone"]]);

    // At 17:30 the ward's own chain answers her patients too.
    let chain = chain_for(&rota, "nadia", "2026-12-01T17:30");
    assert_eq!(ids(&chain), [vec!["ward-phone"]]);
    let why = chain.coordinator.as_ref().unwrap().to_string();
    assert!(why.contains("out of their hours"), "{why}");
}

#[test]
fn out_of_her_hours_the_on_call_chain_answers_as_for_anyone() {
    let rota = trust_with(MATRON);
    let chain = chain_for(&rota, "nadia", "2026-12-01T23:00");
    assert_eq!(ids(&chain), on_call(&rota, "2026-12-01T23:00"));
    assert!(!chain.coordinator.as_ref().unwrap().first_contact());
    // The registrar hands over at 08:00, before her day begins at 09:00.
    assert_eq!(chain.valid_until, Some(at("2026-12-02T08:00")));
    // Christmas Day is a Friday, and a bank holiday: her hours are closed.
    let chain = chain_for(&rota, "nadia", "2026-12-25T11:00");
    assert!(!ids(&chain).concat().contains(&"nadia".to_owned()));
    let why = chain.coordinator.as_ref().unwrap().to_string();
    assert!(why.contains("bank holiday"), "{why}");
}

#[test]
fn the_matron_on_leave_falls_through_to_the_chain_and_is_never_a_gap() {
    let rota = trust_with(&format!(
        r#"{MATRON}
[[overrides]]
for = "nadia"
from = 2026-11-30T00:00:00
until = 2026-12-01T13:00:00
reason = "annual leave"

[[overrides]]
for = "nadia"
covering = "amara"
from = 2026-12-02T09:00:00
until = 2026-12-02T17:00:00
reason = "study day"
"#
    ));
    let chain = chain_for(&rota, "nadia", "2026-12-01T11:00");
    assert_eq!(ids(&chain), [vec!["ward-phone"]]);
    let why = chain.coordinator.as_ref().unwrap().to_string();
    assert!(
        why.contains("away (annual leave, rota/extra.toml:9)"),
        "{why}"
    );
    // Back from leave at 13:00: that is when the answer next changes.
    assert_eq!(chain.valid_until, Some(at("2026-12-01T13:00")));
    assert_eq!(
        ids(&chain_for(&rota, "nadia", "2026-12-01T13:00")),
        [vec!["nadia"], vec!["ward-phone"]]
    );
    // Someone covering her shifts does not take her patients: the chain answers.
    assert_eq!(
        ids(&chain_for(&rota, "nadia", "2026-12-02T11:00")),
        [vec!["ward-phone"]]
    );
    assert!(
        rota::check(&rota, at("2026-11-30T00:00"), at("2026-12-03T00:00")).is_empty(),
        "a co-ordinator away leaves no gap"
    );
}

#[test]
fn a_coordinator_the_rota_cannot_use_is_passed_over_saying_why() {
    let rota = trust_with(MATRON);
    for (who, words) in [
        ("amara", "no working hours"),
        ("nobody", "not in the rota files"),
    ] {
        let chain = chain_for(&rota, who, "2026-12-01T11:00");
        assert_eq!(ids(&chain), [vec!["ward-phone"]], "{who}");
        let why = chain.coordinator.as_ref().unwrap().to_string();
        assert!(why.contains(words), "{who}: {why}");
    }
}

#[test]
fn coordinator_hours_that_cannot_be_used_are_reported_at_their_line() {
    for (line, starts, words) in [
        (
            "hours = \"none\"",
            "rota/extra.toml:4: hours = \"none\" on nadia",
            "never first contact",
        ),
        (
            "ack_within = \"15m\"",
            "rota/extra.toml:4: ack_within on nadia",
            "no hours",
        ),
        (
            "hours = { weekdays = \"9 to 5\" }",
            "rota/extra.toml:4: hours.weekdays = \"9 to 5\"",
            "write a range like \"08:00-18:30\"",
        ),
    ] {
        let p = problems(&format!(
            "[people.nadia]\nname = \"Nadia Khan\"\nphone = \"07700 900131\"\n{line}\n"
        ));
        assert_eq!(p.len(), 1, "{line}: {p:?}");
        assert!(
            p[0].starts_with(starts) && p[0].contains(words),
            "{line}: {p:?}"
        );
    }
}

/// The trust's rota with `line` added under `[trust]`.
fn with_trust_line(line: &str) -> Result<Rota, rota::Problems> {
    let text = TRUST.replace(
        "name = \"Test trust\"\n",
        &format!("name = \"Test trust\"\n{line}\n"),
    );
    load_files(&[("rota/trust.toml".to_owned(), text)], Calendar::default())
}

#[test]
fn the_longest_stretch_on_call_is_a_day_unless_the_trust_says_and_a_wrong_one_is_named() {
    let default = with_trust_line("").unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(default.max_on_call_in_a_row(), chrono::TimeDelta::hours(24));
    let longer =
        with_trust_line("max_on_call_in_a_row = \"36h\"").unwrap_or_else(|p| panic!("{p}"));
    assert_eq!(longer.max_on_call_in_a_row(), chrono::TimeDelta::hours(36));
    for (wrong, says) in [
        ("\"a day\"", "is not a duration: write one like \"24h\""),
        (
            "\"30m\"",
            "is out of range: write between \"1h\" and \"14days\"",
        ),
    ] {
        let problems = with_trust_line(&format!("max_on_call_in_a_row = {wrong}"))
            .err()
            .unwrap_or_else(|| panic!("{wrong} is refused"))
            .to_string();
        assert!(problems.contains("rota/trust.toml:4:"), "{problems}");
        assert!(problems.contains(says), "{problems}");
    }
}

#[test]
fn an_epr_location_belongs_to_one_service_and_maps_its_discharges_there() {
    let cardiology = "[services.cardiology]\nname = \"Cardiology\"\ndivision = \"england-and-wales\"\nhours = \"none\"\nlocations = [\"W7\", \"CARDW7\"]\n[[services.cardiology.out_of_hours]]\nrotation = \"registrar\"\n";
    let rota = trust_with(cardiology);
    assert_eq!(
        rota.service_for_location("CARDW7").map(|s| s.id.as_str()),
        Some("cardiology")
    );
    assert!(rota.service_for_location("XRAY").is_none());
    let twice = format!(
        "{cardiology}[services.renal]\nname = \"Renal\"\ndivision = \"england-and-wales\"\nhours = \"none\"\nlocations = [\"R1\", \"W7\", \"R1\"]\n[[services.renal.out_of_hours]]\nrotation = \"registrar\"\n"
    );
    assert_eq!(
        problems(&twice),
        [
            "rota/extra.toml:12: locations: \"W7\" is also a location of service cardiology: a discharge from it must go to one service, so keep it in one of them",
            "rota/extra.toml:12: locations: \"R1\" is listed twice in service renal: remove one",
        ]
    );
}
