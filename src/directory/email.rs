//! Email addresses, parsed once at the edge.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A syntactically valid email address (RFC 5321/5322 as checked by the
/// `email_address` crate), without display name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

/// Why an email address was rejected. Its `Display` quotes what was
/// written; [`EmailAddressError::advice`] does not (for answers to an API
/// client, which repeat nothing it sent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} {}", self.advice())]
pub struct EmailAddressError {
    input: String,
    reason: String,
}

impl EmailAddressError {
    /// What is wrong and what to write instead, without the address.
    pub fn advice(&self) -> String {
        format!(
            "is not an email address ({}): write one like name@nhs.net",
            self.reason
        )
    }
}

impl EmailAddress {
    /// Parse an address such as `amara.okafor@nhs.net`.
    pub fn parse(input: &str) -> Result<Self, EmailAddressError> {
        let trimmed = input.trim();
        let fail = |reason: String| EmailAddressError {
            input: trimmed.to_owned(),
            reason,
        };
        let parsed = email_address::EmailAddress::parse_with_options(
            trimmed,
            email_address::Options::default()
                .without_display_text()
                .without_domain_literal(),
        )
        .map_err(|e| fail(e.to_string().to_lowercase()))?;
        if !parsed.domain().contains('.') {
            return Err(fail("the domain has no dot".to_owned()));
        }
        Ok(Self(parsed.as_str().to_owned()))
    }

    /// How an address is indexed and compared: a `mailto:` URI in lower
    /// case, so it never meets a phone number in the same index and
    /// `Sian.Evans@Example.org` finds `sian.evans@example.org`.
    pub fn index_key(&self) -> String {
        format!("mailto:{}", self.0.to_lowercase())
    }

    /// Whether two addresses are one mailbox (compared as [`Self::index_key`]).
    pub fn same_mailbox(&self, other: &EmailAddress) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// Its domain, e.g. `nhs.net`, as written.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// The address, e.g. `amara.okafor@nhs.net`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shows only the domain: an address is personal data and `Debug` output ends up in logs.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = self.0.rsplit_once('@').map_or("", |(_, d)| d);
        write!(f, "EmailAddress(…@{domain})")
    }
}

shown_as_text_and_parsed!(EmailAddress, EmailAddressError);

impl Serialize for EmailAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_parse() {
        assert_eq!(
            EmailAddress::parse(" amara.okafor@nhs.net ")
                .unwrap()
                .as_str(),
            "amara.okafor@nhs.net"
        );
        assert!(EmailAddress::parse("carer+mum@example.org").is_ok());
    }

    #[test]
    fn rejections_say_what_to_write() {
        for bad in [
            "",
            "amara",
            "amara@",
            "@nhs.net",
            "amara@localhost",
            "Amara <amara@nhs.net>",
            "a b@nhs.net",
        ] {
            let err = EmailAddress::parse(bad).unwrap_err().to_string();
            assert!(err.contains("like name@nhs.net"), "{bad}: {err}");
        }
    }

    #[test]
    fn debug_output_hides_the_person() {
        assert_eq!(
            format!("{:?}", EmailAddress::parse("amara@nhs.net").unwrap()),
            "EmailAddress(…@nhs.net)"
        );
    }
}
