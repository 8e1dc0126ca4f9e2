//! Who is texted about an enrolment: the patient themselves, or through a carer.

use super::*;

fn now() -> Instant {
    "2026-11-24T11:00:00Z".parse().unwrap()
}

fn parse(patient: &str, carers: &str) -> Result<Enrolment, Vec<FieldError>> {
    let json = format!(
        r#"{{"patient": {patient}, "carers": {carers}, "service": "childrens-assessment-unit",
            "discharged_at": "2026-11-24T10:00:00Z"}}"#
    );
    let request: EnrolmentRequest = serde_json::from_str(&json).unwrap();
    request.parse(|id| Id::parse(id).ok(), now(), TimeDelta::days(30))
}

/// Whether the patient of `parse(patient, carers)` is texted themselves.
fn takes_texts(patient: &str, carers: &str) -> bool {
    parse(patient, carers).unwrap().patient_takes_texts
}

const JESS: &str =
    r#"[{"name": "Jess Morgan", "phone": "07700 900822", "relationship": "mother"}]"#;

/// Leo, nine, enrolled with his mother Jess as his carer.
fn leo() -> Enrolment {
    parse(
        r#"{"name": "Leo Morgan", "phone": "07700 900821", "date_of_birth": "2017-03-02"}"#,
        JESS,
    )
    .unwrap()
}

#[test]
fn a_child_of_nine_is_written_to_through_his_mother() {
    let leo = leo();
    assert!(!leo.patient_takes_texts);
    let (contact, label) = leo.patients_contact().unwrap();
    assert_eq!(contact.name, "Jess Morgan");
    assert_eq!(label, "carer (mother)");
}

#[test]
fn sixteen_today_takes_his_own_texts_and_what_is_said_outright_wins_over_age() {
    assert!(takes_texts(
        r#"{"name": "Owen Price", "phone": "07700 900823", "date_of_birth": "2010-11-24"}"#,
        JESS,
    ));
    // Sixteen tomorrow: fifteen today.
    assert!(!takes_texts(
        r#"{"name": "Owen Price", "phone": "07700 900823", "date_of_birth": "2010-11-25"}"#,
        JESS,
    ));
    // Twelve, but said outright.
    assert!(takes_texts(
        r#"{"name": "Owen Price", "phone": "07700 900823", "date_of_birth": "2012-01-01", "takes_texts": true}"#,
        JESS,
    ));
    // No date of birth: taken as an adult.
    assert!(takes_texts(
        r#"{"name": "Margaret Evans", "phone": "07700 900801"}"#,
        "[]",
    ));
}

#[test]
fn a_patient_not_texted_needs_no_phone_but_needs_a_carer_and_a_real_date() {
    let arthur = parse(r#"{"name": "Arthur Davies", "takes_texts": false}"#, JESS).unwrap();
    assert_eq!(arthur.patient.address(), None);
    let alone = parse(r#"{"name": "Arthur Davies", "takes_texts": false}"#, "[]").unwrap_err();
    assert_eq!(alone[0].field, "patient.takes_texts");
    assert!(
        alone[0].message.starts_with("is false: list the carer"),
        "{alone:?}"
    );
    let bad = parse(
        r#"{"name": "Leo Morgan", "phone": "07700 900821", "date_of_birth": "2 March 2017"}"#,
        JESS,
    )
    .unwrap_err();
    assert_eq!(bad[0].field, "patient.date_of_birth");
    let unborn = parse(
        r#"{"name": "Leo Morgan", "phone": "07700 900821", "date_of_birth": "2027-01-01"}"#,
        JESS,
    )
    .unwrap_err();
    assert_eq!(unborn[0].field, "patient.date_of_birth");
    let carer = parse(
        r#"{"name": "Leo Morgan", "phone": "07700 900821"}"#,
        r#"[{"name": "Jess Morgan", "phone": "07700 900822", "takes_texts": true}]"#,
    )
    .unwrap_err();
    assert_eq!(carer[0].field, "carers[0]");
}

#[test]
fn an_enrolment_stored_before_this_was_asked_is_texted_and_one_texted_is_stored_as_before() {
    let leo = leo();
    let mut stored = serde_json::to_value(&leo).unwrap();
    assert_eq!(stored["patient_takes_texts"], false);
    stored
        .as_object_mut()
        .unwrap()
        .remove("patient_takes_texts");
    let before: Enrolment = serde_json::from_value(stored).unwrap();
    assert!(before.patient_takes_texts);
    let as_before = serde_json::to_value(&before).unwrap();
    assert!(as_before.get("patient_takes_texts").is_none());
    assert!(
        as_before.get("date_of_birth").is_none(),
        "a date of birth is not stored"
    );
}
