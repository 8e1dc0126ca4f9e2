//! Who a sender is: the enrolled patient, one of their carers, or a number
//! Nightingale does not know.
//!
//! A sender is known by their number alone, matched against the enrolment
//! that number belongs to; nothing they write changes who they are.

use serde::{Deserialize, Serialize};

use super::{Address, Enrolment};

/// Who raised a concern, relative to the enrolment their number matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Party {
    /// The enrolled patient.
    Patient,
    /// One of the patient's carers.
    Carer {
        /// Their name as given at enrolment.
        name: String,
        /// e.g. "daughter".
        relationship: Option<String>,
    },
    /// A number Nightingale does not know.
    Unknown,
}

impl Party {
    /// Who `from` is to `enrolment` (the active enrolment their number
    /// matched, if any): its patient, one of its carers, or unknown.
    pub fn of(enrolment: Option<&Enrolment>, from: &Address) -> Self {
        let Some(e) = enrolment else {
            return Party::Unknown;
        };
        if e.patient.is_reached_at(from) {
            return Party::Patient;
        }
        e.carers
            .iter()
            .find(|c| c.contact.is_reached_at(from))
            .map_or(Party::Unknown, |c| Party::Carer {
                name: c.contact.name.clone(),
                relationship: c.relationship.clone(),
            })
    }

    /// A short label for timelines: "patient", "carer (daughter)", "unknown sender".
    pub fn label(&self) -> String {
        match self {
            Party::Patient => "patient".to_owned(),
            Party::Carer {
                relationship: Some(r),
                ..
            } => format!("carer ({r})"),
            Party::Carer {
                relationship: None, ..
            } => "carer".to_owned(),
            Party::Unknown => "unknown sender".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{Carer, Contact, EmailAddress, EnrolmentId, Id, PhoneNumber};

    fn phone(n: &str) -> Address {
        PhoneNumber::parse(n).unwrap().into()
    }

    fn margaret() -> Enrolment {
        let at = "2026-11-27T17:30:00Z".parse().unwrap();
        let contact = |name: &str, n: &str| Contact {
            name: name.to_owned(),
            phone: Some(PhoneNumber::parse(n).unwrap()),
            email: None,
        };
        Enrolment {
            id: EnrolmentId::new(),
            patient: contact("Margaret Evans", "07700 900801"),
            carers: vec![
                Carer {
                    contact: contact("Sian Evans", "07700 900802"),
                    relationship: Some("daughter".to_owned()),
                },
                Carer {
                    contact: contact("Tom Reed", "07700 900803"),
                    relationship: None,
                },
            ],
            service: Id::parse("community-nursing-north").unwrap(),
            kind: crate::directory::EnrolmentKind::Discharge,
            discharged_at: Some(at),
            context: None,
            enrolled_at: at,
            ends_at: Some(at + chrono::TimeDelta::days(30)),
            ended_at: None,
            review_at: None,
            coordinator: None,
            check_ins: Default::default(),
            client: None,
            language: Default::default(),
            patient_takes_texts: true,
            nhs_number: None,
            ended_because: None,
        }
    }

    #[test]
    fn margaret_texting_from_her_own_phone_is_the_patient() {
        assert_eq!(
            Party::of(Some(&margaret()), &phone("07700 900801")),
            Party::Patient
        );
    }

    #[test]
    fn her_daughter_is_a_carer_by_name_and_relationship() {
        let sian = Party::of(Some(&margaret()), &phone("07700 900802"));
        assert_eq!(
            sian,
            Party::Carer {
                name: "Sian Evans".to_owned(),
                relationship: Some("daughter".to_owned()),
            }
        );
        assert_eq!(sian.label(), "carer (daughter)");
        let tom = Party::of(Some(&margaret()), &phone("07700 900803"));
        assert_eq!(tom.label(), "carer");
    }

    #[test]
    fn a_number_on_no_enrolment_or_not_on_this_one_is_unknown() {
        assert_eq!(Party::of(None, &phone("07700 900801")), Party::Unknown);
        assert_eq!(
            Party::of(Some(&margaret()), &phone("07700 900999")),
            Party::Unknown
        );
        assert_eq!(Party::Unknown.label(), "unknown sender");
    }

    #[test]
    fn a_carer_enrolled_with_an_email_and_no_phone_is_known_by_her_address() {
        let mut e = margaret();
        e.carers[0].contact.phone = None;
        e.carers[0].contact.email = Some(EmailAddress::parse("sian@example.org").unwrap());
        let from = Address::from(EmailAddress::parse("Sian@Example.org").unwrap());
        assert_eq!(Party::of(Some(&e), &from).label(), "carer (daughter)");
        let address = Address::from(EmailAddress::parse("sian@example.org").unwrap());
        assert_eq!(e.carers[0].contact.address(), Some(address));
    }
}
