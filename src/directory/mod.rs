//! The directory: who people are and how to reach them.
//!
//! Staff come from the rota files; patients and carers (later) from
//! enrolments. Contact details are parsed into [`PhoneNumber`] and
//! [`EmailAddress`] where they enter, so nothing downstream re-checks them;
//! free text (names, context, message bodies) goes through [`clean_text`]
//! or [`clean_line`] where it enters.

pub mod email;
pub mod enrolment;
pub mod id;
pub mod phone;
pub mod text;

pub use email::{EmailAddress, EmailAddressError};
pub use enrolment::{
    Carer, Contact, Enrolment, EnrolmentId, EnrolmentRequest, FieldError, FieldMessage, FieldNote,
};
pub use id::{Id, IdError};
pub use phone::{NumberKind, PhoneNumber, PhoneNumberError, SenderError};
pub use text::{clean_line, clean_text};

use std::fmt;

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
    /// How to reach them, most preferred first. Empty means unreachable.
    pub contacts: Vec<ContactMethod>,
}
