//! [`NhsNumber`]: a patient's NHS number, ten digits whose last is a
//! modulus-11 check digit. It is parsed where it enters (an HL7 `PID-3`,
//! an API query), so a mistyped number is refused there and never matches
//! the wrong person. It is stored, but never logged or texted: its
//! `Debug` shows the last three digits alone, as the trust's feed page does.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An NHS number whose check digit is right, as ten digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NhsNumber(String);

/// Why a text is not an NHS number. It never repeats the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberError {
    /// Not ten digits (spaces and hyphens aside).
    #[error("an NHS number is ten digits, like 943 476 5919")]
    NotTenDigits,
    /// Ten digits whose check digit is wrong: a typing error.
    #[error(
        "the last digit of this NHS number does not match the others: check it for a typing error"
    )]
    WrongCheckDigit,
}

impl NhsNumber {
    /// Parse ten digits (spaces and hyphens between them allowed) with a
    /// right modulus-11 check digit.
    pub fn parse(text: &str) -> Result<Self, NhsNumberError> {
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NhsNumberError::NotTenDigits);
        }
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = d[..9]
            .iter()
            .zip((2..=10).rev())
            .map(|(digit, weight)| digit * weight)
            .sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return Err(NhsNumberError::WrongCheckDigit),
            c => c,
        };
        if check != d[9] {
            return Err(NhsNumberError::WrongCheckDigit);
        }
        Ok(Self(digits))
    }

    /// The ten digits, for the store and the trust's own systems.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its last three digits: all that the trust's feed page shows.
    pub fn last_three(&self) -> &str {
        &self.0[7..]
    }
}

/// Keeps the number out of logs: only its last three digits.
impl fmt::Debug for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NhsNumber(…{})", self.last_three())
    }
}

impl<'de> Deserialize<'de> for NhsNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_right_check_digit_is_taken_with_or_without_spaces() {
        assert_eq!(
            NhsNumber::parse("9434765919").unwrap().as_str(),
            "9434765919"
        );
        assert_eq!(
            NhsNumber::parse("943 476 5919").unwrap().last_three(),
            "919"
        );
        // A check digit of 11 is written 0.
        assert_eq!(
            NhsNumber::parse("999 000 0050").unwrap().as_str(),
            "9990000050"
        );
    }

    #[test]
    fn one_digit_wrong_or_two_swapped_is_caught() {
        assert_eq!(
            NhsNumber::parse("9434765918"),
            Err(NhsNumberError::WrongCheckDigit)
        );
        assert_eq!(
            NhsNumber::parse("9434765991"),
            Err(NhsNumberError::WrongCheckDigit)
        );
        assert_eq!(
            NhsNumber::parse("943476591"),
            Err(NhsNumberError::NotTenDigits)
        );
        assert_eq!(
            NhsNumber::parse("94347659x9"),
            Err(NhsNumberError::NotTenDigits)
        );
    }

    #[test]
    fn a_number_whose_check_would_be_ten_is_never_issued() {
        // 1000000010: weights give 1*10 + 1*2 = 12, 11 - 1 = 10: no valid check digit.
        for last in 0..=9 {
            assert_eq!(
                NhsNumber::parse(&format!("100000001{last}")),
                Err(NhsNumberError::WrongCheckDigit)
            );
        }
    }

    #[test]
    fn debug_shows_only_the_last_three_digits() {
        let n = NhsNumber::parse("9434765919").unwrap();
        assert_eq!(format!("{n:?}"), "NhsNumber(…919)");
    }
}
