//! Phone numbers, parsed once at the edge into E.164.
//!
//! People write UK numbers in many ways (`07911 123456`, `+44 (0)7911 123456`,
//! `020 7946 0018`); Twilio wants `+447911123456`. [`PhoneNumber::parse`]
//! accepts the written forms, rejects what no phone could answer with a
//! reason a rota manager can act on, and from then on a `PhoneNumber` is
//! always E.164.
//!
//! A number a provider hands us (Twilio's `From`) is another matter:
//! [`PhoneNumber::from_provider`] takes any syntactically valid E.164 the
//! network delivered, because the network, not our copy of the numbering
//! plan, is the authority on which numbers exist; it refuses only what is
//! not a number at all, with a [`SenderError`] saying what it was.

use std::fmt;

use phonenumber::{Type, country};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A phone number in E.164 form, e.g. `+447911123456`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// Why a phone number was rejected. Its `Display` quotes what was
/// written (for rota files, whose author wants to see it);
/// [`PhoneNumberError::advice`] does not (for answers to an API client,
/// which repeat nothing it sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneNumberError {
    /// Nothing was written.
    Empty,
    /// Letters or other characters that are not part of a number.
    NotANumber(String),
    /// Too few digits.
    TooShort(String),
    /// Too many digits.
    TooLong(String),
    /// Well formed but not a number in use (for example a UK number with a wrong prefix).
    NotInUse(String),
}

impl PhoneNumberError {
    /// What is wrong and what to write instead, without the number.
    pub fn advice(&self) -> String {
        match self {
            Self::Empty => self.to_string(),
            _ => format!("this number {}", self.problem()),
        }
    }

    fn problem(&self) -> &'static str {
        match self {
            Self::Empty => "no phone number given: write one like 07911 123456 or +44 7911 123456",
            Self::NotANumber(_) => {
                "has characters that are not part of a phone number: write digits, spaces and an optional leading +, like 07911 123456"
            }
            Self::TooShort(_) => {
                "is too short: a UK number has 11 digits starting with 0, like 07911 123456"
            }
            Self::TooLong(_) => {
                "is too long: a UK number has 11 digits starting with 0, like 07911 123456"
            }
            Self::NotInUse(_) => {
                "is not a number in use: check the digits; numbers outside the UK need their country code, like +353 85 123 4567"
            }
        }
    }
}

impl std::fmt::Display for PhoneNumberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Empty => f.write_str(self.problem()),
            Self::NotANumber(v) | Self::TooShort(v) | Self::TooLong(v) | Self::NotInUse(v) => {
                write!(f, "{v:?} {}", self.problem())
            }
        }
    }
}

impl std::error::Error for PhoneNumberError {}

/// Why a sender a provider gave us is not a phone number. None of these
/// carries the value itself: a sender may be personal data, and these end
/// up in logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum SenderError {
    /// An alphanumeric sender id, such as a bank's or a network's name
    /// (`VODAFONE`): nobody can reply to it.
    #[error("an alphanumeric sender id, not a phone number")]
    Alphanumeric,
    /// A short code (`66777`): digits without a country code.
    #[error("a short code, not a phone number")]
    ShortCode,
    /// An address on another channel, such as `whatsapp:+44…` or `messenger:…`.
    #[error("an address on another channel (such as WhatsApp), not a phone number")]
    Channel,
    /// The caller withheld their number: the provider put a placeholder in its place.
    #[error("a withheld number")]
    Withheld,
    /// Anything else that is not E.164.
    #[error("not an E.164 phone number")]
    Malformed,
}

impl SenderError {
    /// Every reason, for metrics that show each one (at zero) from the start.
    pub const ALL: [SenderError; 5] = [
        SenderError::Alphanumeric,
        SenderError::ShortCode,
        SenderError::Channel,
        SenderError::Withheld,
        SenderError::Malformed,
    ];

    /// A short fixed label, for metrics and logs: `alphanumeric`,
    /// `short_code`, `channel`, `withheld` or `malformed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SenderError::Alphanumeric => "alphanumeric",
            SenderError::ShortCode => "short_code",
            SenderError::Channel => "channel",
            SenderError::Withheld => "withheld",
            SenderError::Malformed => "malformed",
        }
    }
}

/// What Twilio puts in `From` when a caller's number is withheld: the
/// words ANONYMOUS, RESTRICTED, UNAVAILABLE, BLOCKED and UNKNOWN spelt on a
/// phone keypad (Twilio's help article "Why am I getting calls from these
/// strange numbers?"). Some of them are valid E.164, so they are named here.
const WITHHELD: [&str; 5] = [
    "+266696687",
    "+7378742833",
    "+86282452253",
    "+2562533",
    "+8656696",
];

/// What kind of line a number is, as far as its number says: whether it can
/// be a person's own phone, and whether a text to it can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberKind {
    /// A mobile phone.
    Mobile,
    /// A fixed line at a place (in the UK, numbers starting 01 and 02).
    Landline,
    /// A number that is not one person's own phone: premium rate,
    /// freephone, revenue sharing, pagers, forwarding and company numbers.
    NonPersonal {
        /// What it is, in words for the person who gave it, like
        /// "a premium-rate number (starting 09)".
        what: &'static str,
    },
    /// A number abroad whose kind the numbering metadata cannot tell (a
    /// line in the US may be a mobile or a landline), or a UK range with
    /// no set use.
    Unknown,
}

/// UK numbers by what follows +44; the first matching prefix decides.
/// Ofcom's drama ranges fall under their real kind (07700 900 is a mobile
/// range, 01632 960 and 020 7946 0 landline ranges).
const UK_KINDS: &[(&str, NumberKind)] = &[
    // Isle of Man mobiles sit inside the pager range.
    ("7624", NumberKind::Mobile),
    ("76", non_personal("a pager number (starting 076)")),
    (
        "70",
        non_personal("a personal numbering number (starting 070), which forwards calls elsewhere"),
    ),
    ("7", NumberKind::Mobile),
    ("1", NumberKind::Landline),
    ("2", NumberKind::Landline),
    (
        "3",
        non_personal("a non-geographic number (starting 03) of the kind organisations use"),
    ),
    ("55", non_personal("a corporate number (starting 055)")),
    (
        "56",
        non_personal("an internet telephony number (starting 056)"),
    ),
    ("500", non_personal("a freephone number (starting 0500)")),
    ("800", non_personal("a freephone number (starting 0800)")),
    ("808", non_personal("a freephone number (starting 0808)")),
    (
        "84",
        non_personal("a revenue-sharing service number (starting 084)"),
    ),
    (
        "87",
        non_personal("a revenue-sharing service number (starting 087)"),
    ),
    ("8", non_personal("a special service number (starting 08)")),
    ("9", non_personal("a premium-rate number (starting 09)")),
];

const fn non_personal(what: &'static str) -> NumberKind {
    NumberKind::NonPersonal { what }
}

/// The longest alphanumeric sender id the GSM standard allows.
const MAX_ALPHANUMERIC: usize = 11;

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
        let mut parsed =
            phonenumber::parse(Some(country::Id::GB), &cleaned).map_err(|e| match e {
                phonenumber::ParseError::TooLong => PhoneNumberError::TooLong(trimmed.to_owned()),
                phonenumber::ParseError::NoNumber => {
                    PhoneNumberError::NotANumber(trimmed.to_owned())
                }
                phonenumber::ParseError::InvalidCountryCode => {
                    PhoneNumberError::NotInUse(trimmed.to_owned())
                }
                _ => PhoneNumberError::TooShort(trimmed.to_owned()),
            })?;
        if !parsed.is_valid() && international {
            // With GB as its default region, the crate drops a leading 0
            // that belongs to some countries' numbers (+225 07…, +229 01…,
            // +242 06…); a number written with its country code needs no
            // default region, so read it again without one.
            let plus = format!("+{}", digits.strip_prefix("00").unwrap_or(&digits));
            if let Ok(again) = phonenumber::parse(None, &plus)
                && again.is_valid()
            {
                parsed = again;
            }
        }
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

    /// Take a sender as a provider gives it (Twilio's `From`): any
    /// syntactically valid E.164 number — `+`, a country code that does not
    /// start with 0, 8 to 15 digits in all — is accepted as it is, whether
    /// or not our numbering metadata knows its range. Use [`Self::parse`]
    /// for numbers people type.
    pub fn from_provider(sender: &str) -> Result<Self, SenderError> {
        if WITHHELD.contains(&sender) {
            return Err(SenderError::Withheld);
        }
        if let Some(digits) = sender.strip_prefix('+')
            && digits.bytes().all(|b| b.is_ascii_digit())
        {
            return if (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
                Ok(Self(sender.to_owned()))
            } else {
                Err(SenderError::Malformed)
            };
        }
        if let Some((scheme, _)) = sender.split_once(':')
            && !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(SenderError::Channel);
        }
        if (3..=8).contains(&sender.len()) && sender.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SenderError::ShortCode);
        }
        let alphanumeric = (1..=MAX_ALPHANUMERIC).contains(&sender.chars().count())
            && sender.chars().any(|c| c.is_ascii_alphabetic())
            && sender.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '&' | '!')
            });
        if alphanumeric && sender.trim() == sender {
            return Err(SenderError::Alphanumeric);
        }
        Err(SenderError::Malformed)
    }

    /// What kind of line this is. UK numbers are told by Ofcom's prefixes;
    /// numbers abroad by the numbering metadata, which cannot always tell.
    pub fn kind(&self) -> NumberKind {
        if let Some(national) = self.0.strip_prefix("+44") {
            return UK_KINDS
                .iter()
                .find(|(prefix, _)| national.starts_with(prefix))
                .map_or(NumberKind::Unknown, |(_, kind)| *kind);
        }
        let Ok(parsed) = phonenumber::parse(None, &self.0) else {
            return NumberKind::Unknown;
        };
        let what = match parsed.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile => return NumberKind::Mobile,
            Type::FixedLine => return NumberKind::Landline,
            Type::FixedLineOrMobile | Type::NoInternational | Type::Unknown => {
                return NumberKind::Unknown;
            }
            Type::TollFree => "a freephone number",
            Type::PremiumRate => "a premium-rate number",
            Type::SharedCost => "a shared-cost number",
            Type::StandardRate => "a standard-rate service number",
            Type::PersonalNumber => "a personal numbering number, which forwards calls elsewhere",
            Type::Voip => "an internet telephony number",
            Type::Pager => "a pager number",
            Type::Uan => "a company's number",
            Type::Emergency => "an emergency number",
            Type::Voicemail => "a voicemail access number",
            Type::ShortCode => "a short code",
            Type::Carrier => "a network operator's number",
        };
        NumberKind::NonPersonal { what }
    }

    /// Whether a text to this number can be read: true for mobiles and for
    /// numbers abroad we cannot classify (they may well be mobiles); false
    /// for landlines and numbers that are not a person's own phone.
    pub fn can_text(&self) -> bool {
        matches!(self.kind(), NumberKind::Mobile | NumberKind::Unknown)
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

/// Shows only the last three digits: a phone number is personal data and
/// `Debug` output ends up in logs.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = &self.0[self.0.len().saturating_sub(3)..];
        write!(f, "PhoneNumber(…{tail})")
    }
}

shown_as_text_and_parsed!(PhoneNumber, PhoneNumberError);

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Reads back what was stored: an E.164 number as a provider gave it (so a
/// sender outside our numbering metadata survives a round trip), or else a
/// number as a person writes it.
impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_provider(&text)
            .or_else(|_| Self::parse(&text))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn e164(s: &str) -> String {
        number(s).to_string()
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
    fn numbers_with_a_significant_leading_zero_keep_it() {
        // Côte d'Ivoire, Benin and Congo: the 0 after the country code is part of the number.
        assert_eq!(e164("+225 07 01 23 45 67"), "+2250701234567");
        assert_eq!(e164("00229 01 97 12 34 56"), "+2290197123456");
        assert_eq!(e164("+242 06 123 4567"), "+242061234567");
    }

    #[test]
    fn providers_give_any_e164_number_as_it_is() {
        for sender in [
            "+2250701234567",
            "+2290197123456",
            "+242061234567",
            "+447911123456",
            "+447700900123",
            "+12025550123",
            "+12345678",
            "+123456789012345",
        ] {
            assert_eq!(
                PhoneNumber::from_provider(sender).map(|n| n.to_string()),
                Ok(sender.to_owned())
            );
        }
        // The same number, typed by a person and given by a provider, is one number.
        assert_eq!(
            PhoneNumber::from_provider("+447911123456"),
            PhoneNumber::parse("07911 123456").map_err(|_| SenderError::Malformed)
        );
    }

    fn refused(why: SenderError, senders: &[&str]) {
        for sender in senders {
            assert_eq!(PhoneNumber::from_provider(sender), Err(why), "{sender:?}");
        }
    }

    #[test]
    fn alphanumeric_sender_ids_are_named() {
        refused(
            SenderError::Alphanumeric,
            &["VODAFONE", "NHS App", "Bank-123", "O2"],
        );
    }

    #[test]
    fn other_channels_are_named() {
        refused(
            SenderError::Channel,
            &[
                "whatsapp:+447911123456",
                "messenger:1234567890",
                "client:alice",
                "sip:alice@example.com",
            ],
        );
    }

    #[test]
    fn short_codes_are_named() {
        refused(SenderError::ShortCode, &["66777", "123"]);
    }

    #[test]
    fn withheld_callers_are_named() {
        refused(
            SenderError::Withheld,
            &[
                "+266696687",
                "+7378742833",
                "+86282452253",
                "+2562533",
                "+8656696",
            ],
        );
    }

    #[test]
    fn anything_else_is_malformed() {
        refused(
            SenderError::Malformed,
            &[
                "",
                "+",
                "+1234567",          // 7 digits: too short
                "+1234567890123456", // 16 digits: too long
                "+0441234567",       // no country code starts with 0
                "447911123456",      // no +
                "+44 7911 123456",   // written, not E.164
                " +447911123456",
                "+44791112345a",
                "VERYLONGSENDERNAME", // longer than an alphanumeric id can be
                "Ann\u{0}",
                "07911 123456",
            ],
        );
    }

    #[test]
    fn refusals_have_labels_for_metrics() {
        let labels: Vec<_> = [
            SenderError::Alphanumeric,
            SenderError::ShortCode,
            SenderError::Channel,
            SenderError::Withheld,
            SenderError::Malformed,
        ]
        .iter()
        .map(SenderError::as_str)
        .collect();
        assert_eq!(
            labels,
            [
                "alphanumeric",
                "short_code",
                "channel",
                "withheld",
                "malformed"
            ]
        );
        // The error never carries the sender.
        let shown = SenderError::Channel.to_string();
        assert!(!shown.contains("+44"), "{shown}");
    }

    #[test]
    fn stored_numbers_read_back_whatever_their_range() {
        // A sender in a range our metadata does not know (here, one the
        // strict parser calls not in use) was stored; it must read back.
        assert!(PhoneNumber::parse("+441000000000").is_err());
        for sender in ["+441000000000", "+2250701234567"] {
            let stored =
                serde_json::to_string(&PhoneNumber::from_provider(sender).unwrap()).unwrap();
            let back: PhoneNumber = serde_json::from_str(&stored).unwrap();
            assert_eq!(back.as_str(), sender);
        }
        // Numbers as people write them still read.
        let typed: PhoneNumber = serde_json::from_str("\"07911 123456\"").unwrap();
        assert_eq!(typed.as_str(), "+447911123456");
        assert!(serde_json::from_str::<PhoneNumber>("\"VODAFONE\"").is_err());
    }

    fn kind(s: &str) -> NumberKind {
        number(s).kind()
    }

    #[test]
    fn uk_mobiles_are_mobiles() {
        for n in [
            "07911 123456",
            "07412 345678",
            "07700 900123", // Ofcom's mobile drama range
            "07624 123456", // Isle of Man, inside the pager range
            "07781 123456", // Guernsey
        ] {
            assert_eq!(kind(n), NumberKind::Mobile, "{n}");
        }
    }

    #[test]
    fn uk_geographic_numbers_are_landlines() {
        for n in [
            "020 7123 4567",
            "020 7946 0018", // London drama range
            "01632 960123",  // drama range with no area
            "0113 496 0000", // Leeds drama range
            "01481 256789",  // Guernsey
        ] {
            assert_eq!(kind(n), NumberKind::Landline, "{n}");
        }
    }

    #[test]
    fn uk_numbers_that_are_not_a_persons_say_what_they_are() {
        for (n, starting) in [
            ("0909 879 0000", "09"),
            ("0871 234 5678", "087"),
            ("0870 234 5678", "087"),
            ("0844 234 5678", "084"),
            ("0800 123 4567", "0800"),
            ("0808 123 4567", "0808"),
            ("070 1234 5678", "070"),
            ("076 2345 6789", "076"),
            ("055 1234 5678", "055"),
            ("056 1234 5678", "056"),
            ("0300 123 4567", "03"),
            ("0345 123 4567", "03"),
        ] {
            match kind(n) {
                NumberKind::NonPersonal { what } => {
                    assert!(
                        what.contains(&format!("starting {starting}")),
                        "{n}: {what}"
                    )
                }
                other => panic!("{n}: {other:?}"),
            }
        }
    }

    #[test]
    fn numbers_abroad_are_classified_where_the_metadata_can() {
        assert_eq!(kind("+353 85 123 4567"), NumberKind::Mobile);
        assert_eq!(kind("+33 6 12 34 56 78"), NumberKind::Mobile);
        assert_eq!(kind("+353 1 234 5678"), NumberKind::Landline);
        assert!(matches!(
            kind("+33 800 12 34 56"),
            NumberKind::NonPersonal {
                what: "a freephone number"
            }
        ));
        // A line in the US may be either; and a sender in a range the metadata does not know.
        assert_eq!(kind("+1 202 555 0123"), NumberKind::Unknown);
        assert_eq!(
            PhoneNumber::from_provider("+2250701234567").unwrap().kind(),
            NumberKind::Unknown
        );
    }

    #[test]
    fn only_mobiles_and_numbers_we_cannot_classify_are_texted() {
        for (n, texted) in [
            ("07911 123456", true),
            ("07700 900123", true),
            ("+1 202 555 0123", true),
            ("020 7946 0018", false),
            ("01632 960123", false),
            ("0800 123 4567", false),
            ("0909 879 0000", false),
            ("+353 1 234 5678", false),
        ] {
            assert_eq!(PhoneNumber::parse(n).unwrap().can_text(), texted, "{n}");
        }
    }

    #[test]
    fn debug_output_hides_the_number() {
        let n = PhoneNumber::parse("07911 123456").unwrap();
        assert_eq!(format!("{n:?}"), "PhoneNumber(…456)");
    }
}
