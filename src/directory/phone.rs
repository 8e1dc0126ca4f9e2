//! Phone numbers, parsed once at the edge into E.164.
//!
//! People write UK numbers in many ways (`07911 123456`, `+44 (0)7911 123456`,
//! `020 7946 0018`); Twilio wants `+447911123456`. [`PhoneNumber::parse`]
//! accepts the written forms, rejects what no phone could answer with a
//! reason a rota manager can act on, and from then on a `PhoneNumber` is
//! always E.164.

use std::fmt;
use std::str::FromStr;

use phonenumber::country;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A phone number in E.164 form, e.g. `+447911123456`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// Why a phone number was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    /// Nothing was written.
    #[error("no phone number given: write one like 07911 123456 or +44 7911 123456")]
    Empty,
    /// Letters or other characters that are not part of a number.
    #[error(
        "{0:?} has characters that are not part of a phone number: write digits, spaces and an optional leading +, like 07911 123456"
    )]
    NotANumber(String),
    /// Too few digits.
    #[error("{0:?} is too short: a UK number has 11 digits starting with 0, like 07911 123456")]
    TooShort(String),
    /// Too many digits.
    #[error("{0:?} is too long: a UK number has 11 digits starting with 0, like 07911 123456")]
    TooLong(String),
    /// Well formed but not a number in use (for example a UK number with a wrong prefix).
    #[error(
        "{0:?} is not a number in use: check the digits; numbers outside the UK need their country code, like +353 85 123 4567"
    )]
    NotInUse(String),
}

/// E.164 prefixes Ofcom reserves for TV and radio drama (each followed by
/// three more digits). No phone answers them, so they are safe in demos and
/// tests; libphonenumber rejects them, so they are accepted here explicitly.
const DRAMA_PREFIXES: [&str; 10] = [
    "+447700900", // mobile, 07700 900xxx
    "+442079460", // London, 020 7946 0xxx
    "+441214960", // Birmingham
    "+441174960", // Bristol
    "+441134960", // Leeds
    "+441514960", // Liverpool
    "+441614960", // Manchester
    "+441314960", // Edinburgh
    "+441414960", // Glasgow
    "+441632960", // no area
];

impl PhoneNumber {
    /// Parse a number as a person would write it; UK national forms are read as UK numbers.
    pub fn parse(input: &str) -> Result<Self, PhoneNumberError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        if trimmed
            .chars()
            .any(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '+' | '(' | ')' | '-' | '.')))
        {
            return Err(PhoneNumberError::NotANumber(trimmed.to_owned()));
        }
        // "+44 (0)7911 123456": the (0) is the trunk prefix, not dialled from abroad.
        let cleaned = trimmed.replace("(0)", "");
        let digits: String = cleaned.chars().filter(|c| c.is_ascii_digit()).collect();
        let international = cleaned.trim_start().starts_with('+') || digits.starts_with("00");
        if let Some(drama) = drama_number(&digits, international) {
            return Ok(drama);
        }
        let parsed = phonenumber::parse(Some(country::Id::GB), &cleaned).map_err(|e| match e {
            phonenumber::ParseError::TooLong => PhoneNumberError::TooLong(trimmed.to_owned()),
            phonenumber::ParseError::NoNumber => PhoneNumberError::NotANumber(trimmed.to_owned()),
            phonenumber::ParseError::InvalidCountryCode => {
                PhoneNumberError::NotInUse(trimmed.to_owned())
            }
            _ => PhoneNumberError::TooShort(trimmed.to_owned()),
        })?;
        if !parsed.is_valid() {
            let uk_digits = if international {
                digits.strip_prefix("44").map(|d| d.len() + 1)
            } else {
                Some(digits.len())
            };
            return Err(match uk_digits {
                Some(n) if n < 11 => PhoneNumberError::TooShort(trimmed.to_owned()),
                Some(n) if n > 11 => PhoneNumberError::TooLong(trimmed.to_owned()),
                _ => PhoneNumberError::NotInUse(trimmed.to_owned()),
            });
        }
        Ok(Self(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// The E.164 form, e.g. `+447911123456`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is one of Ofcom's numbers reserved for drama, which no phone answers.
    pub fn is_drama(&self) -> bool {
        DRAMA_PREFIXES.iter().any(|p| self.0.starts_with(p))
    }
}

fn drama_number(digits: &str, international: bool) -> Option<PhoneNumber> {
    let national = if international {
        digits
            .strip_prefix("0044")
            .or_else(|| digits.strip_prefix("44"))?
    } else {
        digits.strip_prefix('0')?
    };
    let e164 = format!("+44{national}");
    (e164.len() == 13 && DRAMA_PREFIXES.iter().any(|p| e164.starts_with(p)))
        .then_some(PhoneNumber(e164))
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shows only the last three digits: a phone number is personal data and
/// `Debug` output ends up in logs.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = &self.0[self.0.len().saturating_sub(3)..];
        write!(f, "PhoneNumber(…{tail})")
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(s: &str) -> String {
        PhoneNumber::parse(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .to_string()
    }

    #[test]
    fn uk_national_and_international_forms_become_e164() {
        assert_eq!(e164("07911 123456"), "+447911123456");
        assert_eq!(e164("+44 (0)7911 123456"), "+447911123456");
        assert_eq!(e164("+447911123456"), "+447911123456");
        assert_eq!(e164("0044 7911 123456"), "+447911123456");
        assert_eq!(e164("(07911) 123-456"), "+447911123456");
        assert_eq!(e164("020 7946 0018"), "+442079460018");
    }

    #[test]
    fn numbers_abroad_keep_their_country_code() {
        assert_eq!(e164("+353 85 123 4567"), "+353851234567");
    }

    #[test]
    fn ofcom_drama_numbers_are_accepted_and_known() {
        let n = PhoneNumber::parse("07700 900123").unwrap();
        assert_eq!(n.as_str(), "+447700900123");
        assert!(n.is_drama());
        assert!(PhoneNumber::parse("+44 7700 900999").unwrap().is_drama());
        assert!(!PhoneNumber::parse("07911 123456").unwrap().is_drama());
    }

    #[test]
    fn each_rejection_says_why() {
        assert_eq!(PhoneNumber::parse("  "), Err(PhoneNumberError::Empty));
        assert!(matches!(
            PhoneNumber::parse("07911 12345a"),
            Err(PhoneNumberError::NotANumber(_))
        ));
        assert!(matches!(
            PhoneNumber::parse("07911 1234"),
            Err(PhoneNumberError::TooShort(_))
        ));
        assert!(matches!(
            PhoneNumber::parse("07911 1234567"),
            Err(PhoneNumberError::TooLong(_))
        ));
        assert!(matches!(
            PhoneNumber::parse("01000 000000"),
            Err(PhoneNumberError::NotInUse(_))
        ));
        let message = PhoneNumber::parse("07911 1234").unwrap_err().to_string();
        assert!(message.contains("like 07911 123456"), "{message}");
    }

    #[test]
    fn debug_output_hides_the_number() {
        let n = PhoneNumber::parse("07911 123456").unwrap();
        assert_eq!(format!("{n:?}"), "PhoneNumber(…456)");
    }
}
