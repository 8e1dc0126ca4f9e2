//! Identifiers written by people in rota files and API calls: services,
//! rotations, staff.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// A short, stable, URL-safe name such as `cardiology-ward-7`: lowercase
/// letters, digits and single hyphens, 1–64 characters. Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Id(Arc<str>);

/// Why an identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a valid id: {reason}; ids are lowercase letters, digits and hyphens, like \"cardiology-ward-7\""
)]
pub struct IdError {
    input: String,
    reason: &'static str,
}

impl Id {
    /// Parse an id.
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let fail = |reason| {
            Err(IdError {
                input: input.to_owned(),
                reason,
            })
        };
        if input.is_empty() {
            return fail("it is empty");
        }
        if input.len() > 64 {
            return fail("it is longer than 64 characters");
        }
        if !input
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return fail("it has characters other than a-z, 0-9 and -");
        }
        if input.starts_with('-') || input.ends_with('-') || input.contains("--") {
            return fail("hyphens must sit between letters or digits");
        }
        Ok(Self(input.into()))
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// In the API's OpenAPI document: a string of the shape [`Id::parse`] takes.
impl utoipa::PartialSchema for Id {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(64))
            .pattern(Some("^[a-z0-9]+(-[a-z0-9]+)*$"))
            .examples(["cardiology-ward-7"])
            .into()
    }
}

impl utoipa::ToSchema for Id {}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

shown_as_text_and_parsed!(Id, IdError);

/// Lets maps keyed by `Id` be searched with a `&str`; sound because `Id`
/// hashes and compares exactly as its text does.
impl std::borrow::Borrow<str> for Id {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_lowercase_words_joined_by_hyphens() {
        assert!(Id::parse("cardiology-ward-7").is_ok());
        for bad in [
            "",
            "Cardiology",
            "ward 7",
            "-ward",
            "ward-",
            "ward--7",
            "ward_7",
        ] {
            assert!(Id::parse(bad).is_err(), "{bad}");
        }
        assert!(
            Id::parse("Ward 7")
                .unwrap_err()
                .to_string()
                .contains("like \"cardiology-ward-7\"")
        );
    }
}
