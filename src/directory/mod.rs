//! The directory: who people are and how to reach them.
//!
//! Staff come from the rota files; patients and carers from enrolments.
//! Who a sender is ([`Party`]) follows from their number and the enrolment
//! it matched; which of a person's numbers take texts, and in what order
//! to try them, from their contact methods ([`Staff::sms_numbers`]).
//!
//! Contact details are parsed into [`PhoneNumber`] and
//! [`EmailAddress`] where they enter, so nothing downstream re-checks them;
//! free text (names, context, message bodies) goes through [`clean_text`]
//! or [`clean_line`] where it enters.

/// `Display` as the text a parsed newtype holds (its `as_str`), and
/// `FromStr` through its `parse`: the same for every one of them.
macro_rules! shown_as_text_and_parsed {
    ($type:ty, $error:ty) => {
        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $type {
            type Err = $error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

pub mod address;
pub mod check_ins;
pub mod email;
pub mod enrolment;
pub mod id;
pub mod language;
pub mod nhs_number;
pub mod party;
pub mod phone;
pub mod text;

pub use address::Address;
pub use email::{EmailAddress, EmailAddressError};
pub use enrolment::{
    Carer, Contact, EndReason, Enrolment, EnrolmentId, EnrolmentKind, EnrolmentRequest, FieldError,
    FieldMessage, FieldNote,
};
pub use id::{Id, IdError};
pub use language::{Language, looks_welsh};
pub use nhs_number::{NhsNumber, NhsNumberError};
pub use party::Party;
pub use phone::{NumberKind, PhoneNumber, PhoneNumberError, SenderError};
pub use text::{clean_line, clean_text};

use std::fmt;

use crate::clock::Instant;
use crate::store_error::StoreResult;

/// One way to reach a member of staff, in the order they prefer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "method", content = "to", rename_all = "lowercase")]
pub enum ContactMethod {
    /// A text message to this number.
    Sms(PhoneNumber),
    /// A phone call to this number.
    Voice(PhoneNumber),
    /// An email to this address.
    Email(EmailAddress),
}

impl fmt::Display for ContactMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContactMethod::Sms(n) => write!(f, "sms {n}"),
            ContactMethod::Voice(n) => write!(f, "voice {n}"),
            ContactMethod::Email(e) => write!(f, "email {e}"),
        }
    }
}

/// A member of staff who can be on call (or a team phone standing in for one).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Staff {
    /// Their id in the rota files, e.g. `amara-okafor`.
    pub id: Id,
    /// Their name as colleagues and patients will read it.
    pub name: String,
    /// Their role, e.g. "Cardiology registrar".
    pub role: String,
    /// Their role as patients and carers read it, when it differs from
    /// `role` (a team phone's "Cardiology Ward 7 (team phone)" is written
    /// for colleagues); `Some("")`: patients read their name alone.
    pub patient_role: Option<String>,
    /// How to reach them, most preferred first. Empty means unreachable.
    pub contacts: Vec<ContactMethod>,
    /// For each of `contacts`, in step: how long after a page it is tried
    /// if the page is not yet accepted (`voice after 3m`), or `None`: the
    /// first at once, any other only when the one before it fails. The
    /// escalation deadline of a level is not changed by these.
    pub after: Vec<Option<std::time::Duration>>,
}

/// One way to page someone, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageContact<'a> {
    /// Its place in [`Staff::contacts`].
    pub index: usize,
    /// How: a text, a call or an email, and to where.
    pub method: &'a ContactMethod,
    /// How long after the page it is tried unless accepted; `None`: only
    /// when the one before it fails (the first: at once).
    pub after: Option<std::time::Duration>,
}

impl PageContact<'_> {
    /// Whether it rings rather than writes.
    pub fn call(&self) -> bool {
        matches!(self.method, ContactMethod::Voice(_))
    }

    /// Where the page goes.
    pub fn address(&self) -> Address {
        match self.method {
            ContactMethod::Sms(n) | ContactMethod::Voice(n) => Address::Phone(n.clone()),
            ContactMethod::Email(e) => Address::Email(e.clone()),
        }
    }
}

impl Staff {
    /// Their role as a patient or carer reads it next to their name:
    /// `patient_role` when the rota files give one, else `role`.
    pub fn role_for_patients(&self) -> &str {
        self.patient_role.as_deref().unwrap_or(&self.role)
    }

    /// The ways a page reaches them, in their order: each number that
    /// takes texts or calls, and, when `email` (a mail server is
    /// configured), each email address.
    pub fn page_contacts(&self, email: bool) -> Vec<PageContact<'_>> {
        self.contacts
            .iter()
            .enumerate()
            .filter(|(_, c)| email || !matches!(c, ContactMethod::Email(_)))
            .map(|(index, method)| PageContact {
                index,
                method,
                after: self.after.get(index).copied().flatten(),
            })
            .collect()
    }

    /// The way to page them after `failed` (by its place in `contacts`)
    /// did not reach them: the next in their order, whatever its delay.
    pub fn page_contact_after(&self, failed: usize, email: bool) -> Option<PageContact<'_>> {
        self.page_contacts(email)
            .into_iter()
            .find(|c| c.index > failed)
    }

    /// Where a message that is not a page goes (a forward, a reminder,
    /// "you have it"): their first way of being reached that is written,
    /// a text or, when `email` (a mail server is configured), an email.
    pub fn message_address(&self, email: bool) -> Option<Address> {
        self.contacts.iter().find_map(|c| match c {
            ContactMethod::Sms(n) => Some(Address::Phone(n.clone())),
            ContactMethod::Email(e) if email => Some(Address::Email(e.clone())),
            _ => None,
        })
    }

    /// Their numbers that take SMS, most preferred first, each once: the
    /// order a page tries them in.
    pub fn sms_numbers(&self) -> Vec<&PhoneNumber> {
        let mut numbers: Vec<&PhoneNumber> = Vec::new();
        for c in &self.contacts {
            if let ContactMethod::Sms(n) = c
                && !numbers.contains(&n)
            {
                numbers.push(n);
            }
        }
        numbers
    }

    /// The number to text when a text to `failed` could not be delivered:
    /// the next one they prefer after it, if any.
    pub fn next_sms_number_after(&self, failed: &PhoneNumber) -> Option<&PhoneNumber> {
        self.sms_numbers()
            .into_iter()
            .skip_while(|n| *n != failed)
            .nth(1)
    }
}

/// Enrolments as stored: one by id, the active ones for a number or an
/// address, ending one early, and whether a number opted out of texts.
/// New enrolments are written through the work queue's `Change`. Every
/// method blocks.
pub trait Enrolments: Send + Sync + 'static {
    /// An enrolment by id.
    fn enrolment(&self, id: EnrolmentId) -> StoreResult<Option<Enrolment>>;
    /// End an enrolment early; `false` if there was none (or it had ended).
    fn end_enrolment(&self, id: EnrolmentId, at: Instant) -> StoreResult<bool>;
    /// Enrolments active at `now` whose patient or a carer has this number, newest first.
    fn enrolments_for_phone(
        &self,
        phone: &PhoneNumber,
        now: Instant,
    ) -> StoreResult<Vec<Enrolment>>;
    /// Enrolments active at `now` whose patient or a carer has this email
    /// (compared without regard to case), newest first.
    fn enrolments_for_email(
        &self,
        email: &EmailAddress,
        now: Instant,
    ) -> StoreResult<Vec<Enrolment>>;
    /// Whether this number has opted out of texts.
    fn is_opted_out(&self, phone: &PhoneNumber) -> StoreResult<bool>;
    /// Every enrolment with this NHS number, active or not (until
    /// retention deletes it), newest first.
    fn enrolments_for_nhs_number(&self, nhs: &NhsNumber) -> StoreResult<Vec<Enrolment>>;
    /// Write an enrolment's new state over its stored one: a renewal (its
    /// discharge and end), an end with its reason, a merge onto another NHS
    /// number. Its people and their addresses are as stored and are not
    /// changed. `false` if there is no such enrolment.
    fn revise_enrolment(&self, enrolment: &Enrolment) -> StoreResult<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(n: &str) -> PhoneNumber {
        PhoneNumber::parse(n).unwrap()
    }

    fn kiran() -> Staff {
        Staff {
            id: Id::parse("kiran-patel").unwrap(),
            name: "Kiran Patel".to_owned(),
            role: "Community staff nurse".to_owned(),
            patient_role: None,
            contacts: vec![
                ContactMethod::Voice(phone("07700 900213")),
                ContactMethod::Sms(phone("07700 900213")),
                ContactMethod::Email(EmailAddress::parse("kiran@trust.test").unwrap()),
                ContactMethod::Sms(phone("07700 900214")),
                ContactMethod::Sms(phone("07700 900213")),
            ],
            after: vec![None, None, None, None, None],
        }
    }

    #[test]
    fn a_page_tries_each_number_that_takes_texts_once_in_their_order() {
        let kiran = kiran();
        assert_eq!(
            kiran.sms_numbers(),
            [&phone("07700 900213"), &phone("07700 900214")]
        );
    }

    #[test]
    fn an_undelivered_page_fails_over_to_the_next_number_and_then_to_none() {
        let kiran = kiran();
        assert_eq!(
            kiran.next_sms_number_after(&phone("07700 900213")),
            Some(&phone("07700 900214"))
        );
        assert_eq!(kiran.next_sms_number_after(&phone("07700 900214")), None);
        assert_eq!(
            kiran.next_sms_number_after(&phone("07700 900999")),
            None,
            "a number that is not theirs has no next"
        );
    }

    #[test]
    fn someone_with_only_a_voice_number_has_none_for_texts() {
        let staff = Staff {
            contacts: vec![ContactMethod::Voice(phone("07700 900213"))],
            after: vec![None],
            ..kiran()
        };
        assert!(staff.sms_numbers().is_empty());
    }
}
