//! Red flags: phrases in a message that may mean an emergency. A match gets
//! an immediate reply with 999 advice and makes the concern urgent (levels
//! 1 and 2 paged at once).
//!
//! The list is data, not code: `templates/red_flags.txt`, one phrase a line,
//! `#` for comments. Matching ignores case, punctuation and runs of spaces,
//! and only matches whole words ("chest pain" does not match "chest pains"
//! unless listed, and "fit" does not match "outfit").

/// The phrases shipped when a trust has not written its own.
pub const DEFAULT: &str = include_str!("../../templates/red_flags.txt");

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

/// Lowercase words separated by single spaces; apostrophes dropped so "can't" matches "cant".
fn normalise(text: &str) -> String {
    text.to_lowercase()
        .replace(['\'', '’'], "")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
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
}
