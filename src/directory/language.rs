//! The language a patient and their carers read: English or Welsh.
//!
//! Trusts in Wales must offer Welsh (Welsh Language Standards), so an
//! enrolment carries a [`Language`], sent as `"language": "en" | "cy"` and
//! English when absent. Texts to the patient and carers are rendered in it
//! (`templates/cy/…`, falling back to English for a text not translated);
//! texts to clinicians stay English.
//!
//! A number nobody enrolled has no language, so [`looks_welsh`] guesses
//! from what they wrote: a small scorer of common Welsh words and letters,
//! cheap enough to run on every first message. It only decides whether the
//! answer is given in Welsh as well as English, so a wrong guess costs a
//! longer text, never a lost message.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A language texts to a patient and their carers are written in.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English, the default.
    #[default]
    En,
    /// Welsh (Cymraeg).
    Cy,
}

impl Language {
    /// Every language there are texts in, English first.
    pub const ALL: [Language; 2] = [Language::En, Language::Cy];

    /// Parse its code as an enrolment sends it; the error says what to send.
    pub fn parse(code: &str) -> Result<Self, UnknownLanguage> {
        match code.trim().to_ascii_lowercase().as_str() {
            "" | "en" => Ok(Language::En),
            "cy" => Ok(Language::Cy),
            _ => Err(UnknownLanguage),
        }
    }

    /// Its ISO 639-1 code, as the API and `templates/` name it.
    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Cy => "cy",
        }
    }
}

/// A language code that is neither `en` nor `cy`; it says what to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a language texts are written in: send \"en\" (English, the default) or \"cy\" (Welsh)"
)]
pub struct UnknownLanguage;

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Short words common in Welsh and rare in English texts. "a", "i" and "y"
/// are left out: English writes them too.
const WELSH_WORDS: &[&str] = &[
    "mae", "yn", "fy", "ddim", "dw", "dwi", "rwy", "rwyf", "rydw", "ydw", "ydy", "ydi", "wedi",
    "gyda", "efo", "ond", "neu", "ac", "yr", "ei", "eich", "chi", "fi", "ti", "nhw", "iawn",
    "diolch", "bore", "nos", "methu", "poen", "angen", "eisiau", "isio", "plis", "os", "gwelwch",
    "dda", "mam", "nain", "taid", "mab", "merch", "gwr", "gwraig", "heddiw", "neithiwr", "sydd",
    "oes", "roedd", "bydd", "cael", "gallu", "siarad", "helpu", "help", "am", "ar", "i'n", "mae'n",
];

/// Whether `text` reads as Welsh: a circumflexed w or y (only Welsh writes
/// them), or at least two common Welsh words making up at least a third
/// of its words. "'n" ("i'n", "mae'n") counts as a Welsh word.
pub fn looks_welsh(text: &str) -> bool {
    if text.chars().any(|c| matches!(c, 'ŵ' | 'ŷ' | 'Ŵ' | 'Ŷ')) {
        return true;
    }
    let lower = text.to_lowercase().replace('’', "'");
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .collect();
    let welsh = words
        .iter()
        .filter(|w| {
            // "am", "ar", "help", "os" and "ac" are English too: they
            // count only beside a word that is not.
            (WELSH_WORDS.contains(w) && !matches!(**w, "am" | "ar" | "help" | "os" | "ac"))
                || w.ends_with("'n")
        })
        .count();
    let shared = words
        .iter()
        .filter(|w| matches!(**w, "am" | "ar" | "help" | "os" | "ac"))
        .count();
    let score = if welsh > 0 { welsh + shared } else { 0 };
    welsh >= 1 && score >= 2 && score * 3 >= words.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_enrolment_sends_en_or_cy_and_anything_else_is_refused_with_what_to_send() {
        assert_eq!(Language::parse("cy"), Ok(Language::Cy));
        assert_eq!(Language::parse(" CY "), Ok(Language::Cy));
        assert_eq!(Language::parse("en"), Ok(Language::En));
        let error = Language::parse("welsh").unwrap_err().to_string();
        assert!(error.contains("\"cy\" (Welsh)"), "{error}");
        assert_eq!(
            serde_json::to_string(&Language::Cy).unwrap(),
            "\"cy\"",
            "stored and shown as its code"
        );
        assert_eq!(Language::default(), Language::En);
    }

    #[test]
    fn welsh_texts_are_recognised_as_people_write_them() {
        for text in [
            "Dw i'n methu anadlu",
            "Dw i’n methu anadlu",
            "Mae Mam yn sâl iawn heno",
            "Mae gen i boen yn fy mrest",
            "dwi ddim yn teimlo'n dda",
            "Helo, mae fy nhad wedi cwympo",
            "Mae'r dŵr yn ŵyl",
            "Shwmae, oes rhywun yna? Mae angen help arnom ni",
        ] {
            assert!(looks_welsh(text), "Welsh: {text}");
        }
    }

    #[test]
    fn english_texts_and_names_are_not_taken_for_welsh() {
        for text in [
            "I can't breathe",
            "Hi, Dad was discharged last week and his leg is swollen",
            "Mum is in pain, can someone call me?",
            "Am I meant to take the tablets at night?",
            "Help",
            "Is Bryn OK? He is at Ysbyty Gwynedd",
            "",
            "1",
        ] {
            assert!(!looks_welsh(text), "English: {text}");
        }
    }
}
