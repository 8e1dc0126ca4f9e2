//! Where a message goes: a phone number or an email address (ADR 15).
//!
//! The outbox names its recipient by an [`Address`]. Stored, it is one
//! string: a phone number in E.164 (`+447700900211`, as every item stored
//! before email went out holds) or a `mailto:` URI (`mailto:isla@nhs.net`),
//! so the two never meet in one key and both stores keep their lanes and
//! indexes unchanged.

use std::fmt;

use super::{EmailAddress, PhoneNumber};

/// A phone number or an email address a message is sent to.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A text (or a call) to this number.
    Phone(PhoneNumber),
    /// An email to this address.
    Email(EmailAddress),
}

/// Why a stored address could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is neither a phone number nor a mailto: address")]
pub struct AddressKeyError(String);

impl Address {
    /// As stored: the number in E.164, or `mailto:` and the address as given.
    pub fn key(&self) -> String {
        match self {
            Address::Phone(n) => n.as_str().to_owned(),
            Address::Email(e) => format!("mailto:{}", e.as_str()),
        }
    }

    /// The address a stored key names (see [`Address::key`]).
    pub fn from_key(key: &str) -> Result<Self, AddressKeyError> {
        let bad = || AddressKeyError(key.chars().take(8).collect());
        match key.strip_prefix("mailto:") {
            Some(email) => EmailAddress::parse(email)
                .map(Address::Email)
                .map_err(|_| bad()),
            None => PhoneNumber::from_provider(key)
                .or_else(|_| PhoneNumber::parse(key))
                .map(Address::Phone)
                .map_err(|_| bad()),
        }
    }

    /// The number, when it is one.
    pub fn phone(&self) -> Option<&PhoneNumber> {
        match self {
            Address::Phone(n) => Some(n),
            Address::Email(_) => None,
        }
    }

    /// The email address, when it is one.
    pub fn email(&self) -> Option<&EmailAddress> {
        match self {
            Address::Phone(_) => None,
            Address::Email(e) => Some(e),
        }
    }
}

/// Stored and shown as its key ([`Address::key`]): a number as before,
/// so what was stored as a number reads back as one.
impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.key())
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = String::deserialize(deserializer)?;
        Self::from_key(&key).map_err(serde::de::Error::custom)
    }
}

impl From<PhoneNumber> for Address {
    fn from(n: PhoneNumber) -> Self {
        Address::Phone(n)
    }
}

impl From<EmailAddress> for Address {
    fn from(e: EmailAddress) -> Self {
        Address::Email(e)
    }
}

impl PartialEq<PhoneNumber> for Address {
    fn eq(&self, other: &PhoneNumber) -> bool {
        self.phone() == Some(other)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Phone(n) => n.fmt(f),
            Address::Email(e) => e.fmt(f),
        }
    }
}

/// As its parts' `Debug`: a number's or an address's, neither whole.
impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Phone(n) => n.fmt(f),
            Address::Email(e) => e.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_stored_as_before_and_an_email_as_a_mailto_uri() {
        let phone = Address::from(PhoneNumber::parse("07700 900211").unwrap());
        assert_eq!(phone.key(), "+447700900211");
        assert_eq!(Address::from_key("+447700900211").unwrap(), phone);
        let email = Address::from(EmailAddress::parse("Isla.Morgan@nhs.example").unwrap());
        assert_eq!(email.key(), "mailto:Isla.Morgan@nhs.example");
        assert_eq!(Address::from_key(&email.key()).unwrap(), email);
        assert!(Address::from_key("mailto:not an address").is_err());
        assert!(Address::from_key("hello").is_err());
        let stored = serde_json::to_string(&phone).unwrap();
        assert_eq!(
            stored, "\"+447700900211\"",
            "a number is stored as it always was"
        );
        assert_eq!(serde_json::from_str::<Address>(&stored).unwrap(), phone);
    }
}
