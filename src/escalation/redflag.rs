//! Red flags: phrases in a message that may mean an emergency. A match gets
//! an immediate reply with 999 advice and makes the concern urgent (levels
//! 1 and 2 paged at once).
//!
//! The list is data, not code: `templates/red_flags.txt`, one phrase a line,
//! `#` for comments, and one a language beside it (`templates/cy/red_flags.txt`
//! for Welsh). Every list is searched whatever language a patient is
//! enrolled in: someone enrolled in English may still write in Welsh when
//! frightened. Matching ignores case, punctuation, apostrophes, runs of
//! spaces and accents (Welsh "strôc" matches "stroc", as phones often type
//! it), and only matches whole words ("chest pain" does not match "chest
//! pains" unless listed, and "fit" does not match "outfit").

/// The phrases shipped when a trust has not written its own.
pub const DEFAULT: &str = include_str!("../../templates/red_flags.txt");

/// The Welsh phrases shipped (to be reviewed by a Welsh speaker and the
/// clinical safety officer before use: see `templates/README.md`).
pub const DEFAULT_CY: &str = include_str!("../../templates/cy/red_flags.txt");

/// A compiled list of red-flag phrases.
#[derive(Debug, Clone, Default)]
pub struct RedFlags {
    phrases: Vec<(String, String)>,
}

impl RedFlags {
    /// Read a list: one phrase a line, `#` starts a comment.
    pub fn parse(text: &str) -> Self {
        let phrases = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .map(|l| (l.to_owned(), normalise(l)))
            .collect();
        Self { phrases }
    }

    /// This list and `other`'s phrases: a message is flagged by a phrase of either.
    pub fn and(mut self, other: RedFlags) -> Self {
        self.phrases.extend(other.phrases);
        self
    }

    /// The first phrase found in `message`, as listed.
    pub fn find(&self, message: &str) -> Option<&str> {
        let text = format!(" {} ", normalise(message));
        self.phrases
            .iter()
            .find(|(_, n)| text.contains(&format!(" {n} ")))
            .map(|(original, _)| original.as_str())
    }

    /// How many phrases there are.
    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }
}

/// Lowercase words separated by single spaces; apostrophes dropped so
/// "can't" matches "cant", and accents so "strôc" matches "stroc".
fn normalise(text: &str) -> String {
    text.to_lowercase()
        .replace(['\'', '’'], "")
        .chars()
        .map(unaccented)
        .collect::<String>()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A letter without its accent: the circumflex (to bach), diaeresis and
/// acute and grave accents Welsh and English words carry.
fn unaccented(c: char) -> char {
    match c {
        'â' | 'ä' | 'á' | 'à' => 'a',
        'ê' | 'ë' | 'é' | 'è' => 'e',
        'î' | 'ï' | 'í' | 'ì' => 'i',
        'ô' | 'ö' | 'ó' | 'ò' => 'o',
        'û' | 'ü' | 'ú' | 'ù' => 'u',
        'ŵ' | 'ẅ' | 'ẃ' | 'ẁ' => 'w',
        'ŷ' | 'ÿ' | 'ý' | 'ỳ' => 'y',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_list_catches_emergencies_in_everyday_words() {
        let flags = RedFlags::parse(DEFAULT);
        assert!(flags.len() >= 10);
        assert_eq!(
            flags.find("Mum has CHEST PAIN and feels sick"),
            Some("chest pain")
        );
        assert_eq!(
            flags.find("he cant breathe properly"),
            Some("can't breathe")
        );
        assert!(flags.find("Dad's face is drooping on one side").is_some());
        assert!(flags.find("I want to kill myself").is_some());
    }

    #[test]
    fn ordinary_worries_are_not_flagged() {
        let flags = RedFlags::parse(DEFAULT);
        assert_eq!(
            flags.find("The dressing is leaking a bit, should I change it?"),
            None
        );
        assert_eq!(flags.find("Which tablets do I take tonight?"), None);
        assert_eq!(flags.find("new outfit for the clinic"), None);
    }

    fn shipped() -> RedFlags {
        RedFlags::parse(DEFAULT).and(RedFlags::parse(DEFAULT_CY))
    }

    #[test]
    fn welsh_emergencies_are_flagged_as_people_type_them() {
        let flags = shipped();
        for (message, phrase) in [
            ("Dw i'n methu anadlu", "methu anadlu"),
            ("dwi'n methu anadlu", "methu anadlu"),
            ("DW I’N METHU ANADLU", "methu anadlu"),
            ("Mae gen i boen yn y frest", "boen yn y frest"),
            ("poen yn y frest ers awr", "poen yn y frest"),
            ("mae poen yn fy mrest i", "poen yn fy mrest"),
            ("Mae Dad yn gwaedu'n drwm", "gwaedu'n drwm"),
            ("mae hi'n gwaedu yn drwm", "gwaedu yn drwm"),
            ("Mae Mam yn anymwybodol", "anymwybodol"),
            ("Dw i'n meddwl bod Taid wedi cael strôc", "strôc"),
            ("meddwl bod taid wedi cael stroc", "strôc"),
            ("Mae ei gwefusau'n las", "gwefusau'n las"),
            ("Dw i eisiau lladd fy hun", "lladd fy hun"),
        ] {
            assert_eq!(flags.find(message), Some(phrase), "{message}");
        }
    }

    #[test]
    fn welsh_worries_that_are_not_emergencies_are_not_flagged() {
        let flags = shipped();
        for message in [
            "Mae'r dresin yn gollwng ychydig",
            "Pa dabledi ddylwn i gymryd heno?",
            "Dw i'n teimlo'n well heddiw, diolch",
            "Mae hi'n anadlu'n iawn nawr",
        ] {
            assert_eq!(flags.find(message), None, "{message}");
        }
    }

    #[test]
    fn the_english_list_still_flags_english_beside_the_welsh() {
        assert_eq!(shipped().find("he cant breathe"), Some("can't breathe"));
    }
}
