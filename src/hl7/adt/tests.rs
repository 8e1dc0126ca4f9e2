//! Reading ADT messages as PAS systems send them, with the field shapes
//! from PKB's A03 guide and the HL7 tables (integration-facts A1).

use super::*;

fn read(text: &str) -> Result<Adt, ContentError> {
    let m = Message::parse(text).unwrap();
    let header = Header::read(&m);
    let trigger = Trigger::parse(&header.trigger).unwrap();
    Adt::read(&m, header, trigger)
}

const MSH_A03: &str = "MSH|^~\\&|PAS|RVJ|NG|RVJ|20260715093000||ADT^A03^ADT_A03|M1|P|2.4\r";

#[test]
fn a_uk_discharge_gives_the_nhs_number_mobile_first_and_the_discharge_time() {
    let adt = read(&format!(
        "{MSH_A03}PID|1||H123^^^RVJ^MR~943 476 5919^^^NHS^NH||Evans^Margaret^Ann||19480312|F|||||01234567890^PRN~07123456789^PRS~^NET^Internet^m.evans@example.test||cym\rPV1|1|I|W7^Bay 2^Bed 4{}20260715091500+0100\r",
        "|".repeat(42)
    ))
    .unwrap();
    assert_eq!(adt.patient.nhs_number.as_str(), "9434765919");
    assert_eq!(adt.patient.name.as_deref(), Some("Margaret Evans"));
    assert_eq!(adt.patient.born, NaiveDate::from_ymd_opt(1948, 3, 12));
    let phones: Vec<&str> = adt.patient.phones.iter().map(|p| p.as_str()).collect();
    assert_eq!(
        phones,
        ["+447123456789", "+441234567890"],
        "the mobile (PRS) first"
    );
    assert_eq!(
        adt.patient.email.as_ref().map(|e| e.as_str()),
        Some("m.evans@example.test")
    );
    assert_eq!(adt.patient.language, Some(Language::Cy));
    assert_eq!(adt.location.as_deref(), Some("W7"));
    assert_eq!(
        adt.discharged_at,
        Some("2026-07-15T08:15:00Z".parse().unwrap())
    );
    assert!(!adt.patient.died);
    assert!(adt.patient.next_of_kin.is_empty(), "the UK A03 has no NK1");
}

#[test]
fn without_pv1_45_the_discharge_is_msh_7_in_uk_time() {
    let adt = read(&format!(
        "{MSH_A03}PID|1||9434765919^^^NHS^NH||Evans^Margaret\rPV1|1|I|W7\r"
    ))
    .unwrap();
    // 09:30 BST.
    assert_eq!(
        adt.discharged_at,
        Some("2026-07-15T08:30:00Z".parse().unwrap())
    );
}

#[test]
fn next_of_kin_without_a_phone_is_not_a_carer() {
    let adt = read(
        "MSH|^~\\&|PAS|RVJ|NG|RVJ|20260715093000||ADT^A01|M1|P|2.5\rPID|1||9434765919^^^NHS^NH||Evans^Margaret\rNK1|1|JONES^BARBARA^K|SPO^WIFE||||N^NEXT OF KIN\rNK1|2|Evans^Sian|NCH^Daughter||^PRN^CP^^^^^^^^^07700900124\r",
    )
    .unwrap();
    assert_eq!(adt.patient.next_of_kin.len(), 1);
    let sian = &adt.patient.next_of_kin[0];
    assert_eq!(sian.name, "Sian Evans");
    assert_eq!(sian.relationship.as_deref(), Some("daughter"));
    assert_eq!(
        sian.phone.as_str(),
        "+447700900124",
        "XTN.12, the unformatted number"
    );
}

#[test]
fn a_death_is_read_from_pid_29_pid_30_or_the_discharge_disposition() {
    let pid = |tail: &str| format!("PID|1||9434765919^^^NHS^NH||Evans^Margaret{tail}\r");
    let died = |text: String| read(&text).unwrap().patient.died;
    let gap = "|".repeat(24);
    assert!(died(format!("{MSH_A03}{}", pid(&format!("{gap}|Y")))));
    assert!(died(format!(
        "{MSH_A03}{}",
        pid(&format!("{gap}20260715080000|"))
    )));
    let pv1_79 = format!("PV1|1|I|W7{}|79\r", "|".repeat(32));
    assert!(died(format!("{MSH_A03}{}{pv1_79}", pid(""))));
    assert!(!died(format!("{MSH_A03}{}", pid(&format!("{gap}|N")))));
}

#[test]
fn what_cannot_be_used_says_which_field() {
    assert_eq!(
        read(&format!("{MSH_A03}PID|1||H123^^^RVJ^MR||Evans^Margaret\r")),
        Err(ContentError::NoNhsNumber)
    );
    assert_eq!(
        read(&format!(
            "{MSH_A03}PID|1||9434765918^^^NHS^NH||Evans^Margaret\r"
        )),
        Err(ContentError::BadNhsNumber(NhsNumberError::WrongCheckDigit))
    );
    assert_eq!(
        read(&format!("{MSH_A03}PV1|1|I|W7\r")),
        Err(ContentError::NoPid)
    );
    let a40 = "MSH|^~\\&|PAS|RVJ|NG|RVJ|20260715093000||ADT^A40^ADT_A39|M2|P|2.4\rPID|1||9990000050^^^NHS^NH\r";
    assert_eq!(read(a40), Err(ContentError::NoMergeNumber));
    let merged = read(&format!("{a40}MRG|9990000042^^^NHS^NH\r")).unwrap();
    assert_eq!(
        merged.merged_from.map(|n| n.as_str().to_owned()).as_deref(),
        Some("9990000042")
    );
}

#[test]
fn a_v23_sender_that_leaves_msh_9_2_empty_is_read_from_evn_1() {
    let m = Message::parse(
        "MSH|^~\\&|PAS|RVJ|NG|RVJ|20260715093000||ADT|M3|P|2.3\rEVN|A13|20260715093000\r",
    )
    .unwrap();
    assert_eq!(Header::read(&m).trigger, "A13");
}
