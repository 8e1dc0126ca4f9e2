//! Parsing enrolments: every field checked, named when wrong, cleaned when kept.

use super::*;

fn now() -> Instant {
    "2026-11-27T18:00:00Z".parse().unwrap()
}

fn parse(json: &str) -> Result<Enrolment, Vec<FieldError>> {
    let request: EnrolmentRequest = serde_json::from_str(json).unwrap();
    request.parse(
        |id| (id == "cardiology-ward-7").then(|| Id::parse(id).unwrap()),
        now(),
        TimeDelta::days(30),
    )
}

#[test]
fn an_enrolment_is_in_english_unless_it_asks_for_welsh() {
    let base = r#""patient": {"name": "Megan Pritchard", "phone": "07700 900123"},
            "service": "cardiology-ward-7", "discharged_at": "2026-11-27T17:30:00Z""#;
    let english = parse(&format!("{{{base}}}")).unwrap();
    assert_eq!(english.language, Language::En);
    let welsh = parse(&format!(r#"{{{base}, "language": "cy"}}"#)).unwrap();
    assert_eq!(welsh.language, Language::Cy);
    let errors = parse(&format!(r#"{{{base}, "language": "Cymraeg"}}"#)).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "language");
    assert!(errors[0].message.contains("\"cy\" (Welsh)"), "{errors:?}");
}

#[test]
fn a_discharge_with_a_carer_is_enrolled_for_thirty_days() {
    let e = parse(
        r#"{"patient": {"name": "Margaret Evans", "phone": "07700 900123"},
            "carers": [{"name": "Sian Evans", "phone": "07700 900124", "relationship": "daughter"}],
            "service": "cardiology-ward-7", "discharged_at": "2026-11-27T17:30:00Z",
            "context": "Ward 7, admitted with heart failure"}"#,
    )
    .unwrap();
    assert_eq!(e.patient.phone.as_ref().unwrap().as_str(), "+447700900123");
    assert_eq!(e.carers[0].relationship.as_deref(), Some("daughter"));
    assert_eq!(e.kind, EnrolmentKind::Discharge);
    assert_eq!(
        e.ends_at,
        Some("2026-12-27T17:30:00Z".parse::<Instant>().unwrap())
    );
    assert_eq!(e.review_at, None);
    assert!(e.is_active(now()));
    assert_eq!(e.patient.first_name(), "Margaret");
}

#[test]
fn every_wrong_field_is_named() {
    let errors = parse(
        r#"{"patient": {"name": "", "phone": "0791"}, "carers": [{"name": "Sian", "phone": "07700 900124", "email": "sian"}],
            "service": "cardiology", "discharged_at": "yesterday"}"#,
    )
    .unwrap_err();
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "patient.name",
            "patient.phone",
            "carers[0].email",
            "service",
            "discharged_at"
        ]
    );
    assert!(errors[1].message.contains("too short"), "{errors:?}");
}

#[test]
fn missing_fields_say_what_to_send() {
    let errors = parse("{}").unwrap_err();
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["patient", "service", "discharged_at"]);
}

#[test]
fn names_and_context_are_cleaned_before_they_are_kept() {
    // JSON escapes: a NUL, a right-to-left override, CRLF, a bell, a left-to-right isolate.
    let e = parse(
        r#"{"patient": {"name": "  Margaret\u0000 \u202eEvans\u202c ", "phone": "07700 900123"},
            "carers": [{"name": "Siân\r\nEvans", "phone": "07700 900124", "relationship": "daugh\u0007ter"}],
            "service": "cardiology-ward-7", "discharged_at": "2026-11-27T17:30:00Z",
            "context": "Ward 7\r\nheart failure\u0000\u2066"}"#,
    )
    .unwrap();
    assert_eq!(e.patient.name, "Margaret Evans");
    assert_eq!(e.carers[0].contact.name, "Siân Evans");
    assert_eq!(e.carers[0].relationship.as_deref(), Some("daughter"));
    assert_eq!(e.context.as_deref(), Some("Ward 7\nheart failure"));
}

#[test]
fn a_name_of_nothing_but_control_characters_is_refused() {
    let errors = parse(
        r#"{"patient": {"name": "\u0000\u202e", "phone": "07700 900123"}, "service": "cardiology-ward-7", "discharged_at": "2026-11-27T17:30:00Z"}"#,
    )
    .unwrap_err();
    assert_eq!(errors[0].field, "patient.name");
    assert!(
        errors[0]
            .message
            .contains("no characters that can be shown"),
        "{errors:?}"
    );
}

fn enrol_with_phones(patient: &str, carer: &str) -> Result<Enrolment, Vec<FieldError>> {
    parse(&format!(
        r#"{{"patient": {{"name": "Margaret Evans", "phone": "{patient}"}},
            "carers": [{{"name": "Sian Evans", "phone": "{carer}"}}],
            "service": "cardiology-ward-7", "discharged_at": "2026-11-27T17:30:00Z"}}"#
    ))
}

#[test]
fn numbers_that_are_not_a_persons_own_phone_are_refused_by_name() {
    for (number, words) in [
        ("0909 879 0000", "premium-rate"),
        ("0871 234 5678", "revenue-sharing"),
        ("0844 234 5678", "revenue-sharing"),
        ("0800 123 4567", "freephone"),
        ("0808 123 4567", "freephone"),
        ("070 1234 5678", "forwards calls"),
        ("076 2345 6789", "pager"),
        ("0300 123 4567", "organisations"),
    ] {
        let errors = enrol_with_phones("07700 900123", number).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "carers[0].phone");
        assert!(errors[0].message.contains(words), "{number}: {errors:?}");
        assert!(
            errors[0].message.contains("not a person's own phone"),
            "{errors:?}"
        );
    }
    let errors = enrol_with_phones("0909 879 0000", "07700 900124").unwrap_err();
    assert_eq!(errors[0].field, "patient.phone");
}

#[test]
fn a_landline_is_enrolled_with_a_note_that_it_is_not_texted() {
    let e = enrol_with_phones("07700 900123", "020 7946 0018").unwrap();
    let notes = e.notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].field, "carers[0].phone");
    assert!(
        notes[0].message.contains("landline") && notes[0].message.contains("not be texted"),
        "{notes:?}"
    );
    assert!(
        enrol_with_phones("07700 900123", "07700 900124")
            .unwrap()
            .notes()
            .is_empty()
    );
}

fn parse_with_matron(json: &str) -> Result<Enrolment, Vec<FieldError>> {
    let request: EnrolmentRequest = serde_json::from_str(json).unwrap();
    request.parse_with_coordinators(
        |id| (id == "heart-failure-team").then(|| Id::parse(id).unwrap()),
        |id| match id {
            "carol-matron" => Ok(Id::parse(id).unwrap()),
            _ => Err(format!("no person {id:?} in the rota files")),
        },
        now(),
        TimeDelta::days(30),
    )
}

#[test]
fn an_ongoing_enrolment_lasts_until_ended_and_is_reviewed_in_a_year() {
    let e = parse_with_matron(
        r#"{"kind": "ongoing", "patient": {"name": "Arthur Price", "phone": "07700 900141"},
            "service": "heart-failure-team", "coordinator": "carol-matron",
            "context": "Heart failure; furosemide 40 mg"}"#,
    )
    .unwrap();
    assert_eq!(e.kind, EnrolmentKind::Ongoing);
    assert_eq!(e.ends_at, None);
    assert_eq!(e.discharged_at, None);
    assert_eq!(e.review_at, Some(now() + TimeDelta::days(365)));
    assert_eq!(e.coordinator.as_ref().map(Id::as_str), Some("carol-matron"));
    assert!(e.is_active(now() + TimeDelta::days(10 * 365)));
    let mut ended = e.clone();
    ended.ended_at = Some(now() + TimeDelta::days(400));
    assert!(!ended.is_active(now() + TimeDelta::days(400)));
    assert_eq!(ended.ended_or_ends_at(), ended.ended_at);
}

#[test]
fn an_ongoing_enrolment_takes_a_review_date_and_an_old_discharge() {
    let e = parse_with_matron(
        r#"{"kind": "ongoing", "patient": {"name": "Arthur Price", "phone": "07700 900141"},
            "service": "heart-failure-team", "discharged_at": "2026-06-01T12:00:00Z",
            "review_at": "2027-03-01"}"#,
    )
    .unwrap();
    // Midnight in the UK on 1 March is midnight UTC (winter time).
    assert_eq!(e.review_at, Some("2027-03-01T00:00:00Z".parse().unwrap()));
    assert_eq!(
        e.discharged_at,
        Some("2026-06-01T12:00:00Z".parse().unwrap()),
        "a discharge months ago is no bar to ongoing care"
    );
    assert_eq!(e.began_at(), e.discharged_at.unwrap());
}

#[test]
fn kind_review_date_and_coordinator_are_checked_by_field() {
    let errors = parse_with_matron(
        r#"{"kind": "forever", "patient": {"name": "Arthur Price", "phone": "07700 900141"},
            "service": "heart-failure-team", "coordinator": "carol-matorn"}"#,
    )
    .unwrap_err();
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["kind", "coordinator"], "{errors:?}");
    assert!(errors[0].message.contains("\"ongoing\""), "{errors:?}");
    assert!(errors[1].message.contains("carol-matorn"), "{errors:?}");

    let errors = parse_with_matron(
        r#"{"patient": {"name": "Arthur Price", "phone": "07700 900141"},
            "service": "heart-failure-team", "discharged_at": "2026-11-27T17:30:00Z",
            "review_at": "2027-11-27"}"#,
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "review_at");
    assert!(errors[0].message.contains("only an ongoing enrolment"));

    for (review, words) in [
        ("2026-01-01", "in the past"),
        ("2035-01-01", "five years"),
        ("next spring", "not a date"),
    ] {
        let errors = parse_with_matron(&format!(
            r#"{{"kind": "ongoing", "patient": {{"name": "Arthur Price", "phone": "07700 900141"}},
                "service": "heart-failure-team", "review_at": "{review}"}}"#
        ))
        .unwrap_err();
        assert_eq!(errors[0].field, "review_at");
        assert!(errors[0].message.contains(words), "{review}: {errors:?}");
    }
}

#[test]
fn a_discharge_may_name_a_coordinator_and_still_needs_its_discharge_time() {
    let e = parse_with_matron(
        r#"{"patient": {"name": "Arthur Price", "phone": "07700 900141"},
            "service": "heart-failure-team", "discharged_at": "2026-11-27T17:30:00Z",
            "coordinator": "carol-matron"}"#,
    )
    .unwrap();
    assert_eq!(e.kind, EnrolmentKind::Discharge);
    assert_eq!(e.coordinator.as_ref().map(Id::as_str), Some("carol-matron"));
    let errors = parse_with_matron(
        r#"{"kind": "discharge", "patient": {"name": "Arthur Price", "phone": "07700 900141"},
            "service": "heart-failure-team"}"#,
    )
    .unwrap_err();
    assert_eq!(errors[0].field, "discharged_at");
}

#[test]
fn an_enrolment_stored_before_kinds_reads_as_a_discharge() {
    let old = r#"{"id": "6f1d2c1e-0000-4000-8000-000000000001",
        "patient": {"name": "Margaret Evans", "phone": "+447700900123", "email": null},
        "carers": [], "service": "cardiology-ward-7",
        "discharged_at": "2026-11-27T17:30:00Z", "context": null,
        "enrolled_at": "2026-11-27T18:00:00Z", "ends_at": "2026-12-27T17:30:00Z",
        "ended_at": null}"#;
    let e: Enrolment = serde_json::from_str(old).unwrap();
    assert_eq!(e.kind, EnrolmentKind::Discharge);
    assert_eq!(e.review_at, None);
    assert_eq!(e.coordinator, None);
    assert!(e.is_active(now()));
}

#[test]
fn debug_output_keeps_the_name_out() {
    let e = parse(r#"{"patient": {"name": "Margaret Evans", "phone": "07700 900123"}, "service": "cardiology-ward-7", "discharged_at": "2026-11-27T17:30:00Z"}"#).unwrap();
    assert!(!format!("{e:?}").contains("Margaret"));
}
