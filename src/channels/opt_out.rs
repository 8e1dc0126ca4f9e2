//! Opting out of texts by SMS: the words carriers treat as STOP and START.
//!
//! A patient or carer whose number sent a stop word is not texted again
//! until it sends a start word. Which numbers have opted out is stored
//! against the number; this module only says what a message means.

/// Words that opt a number out of texts (as carriers define them).
const STOP_WORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
];

/// Words that opt a number back in.
const START_WORDS: &[&str] = &["START", "UNSTOP", "YES"];

/// A message that is, as a whole, an opt-out keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptOutWord {
    /// Stop texting this number.
    Stop,
    /// Texts to this number may start again. From a number that has not
    /// opted out, a start word ("Yes") is simply an answer.
    Start,
}

impl OptOutWord {
    /// What `body` is, if the whole message is one of the words (in any
    /// case, with space around it): "Stop please" is not.
    pub fn parse(body: &str) -> Option<Self> {
        let word = body.trim().to_ascii_uppercase();
        if STOP_WORDS.contains(&word.as_str()) {
            Some(OptOutWord::Stop)
        } else if START_WORDS.contains(&word.as_str()) {
            Some(OptOutWord::Start)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_in_any_case_with_spaces_around_it_opts_out() {
        for body in ["STOP", "stop", " Stop \n", "unsubscribe", "OptOut"] {
            assert_eq!(OptOutWord::parse(body), Some(OptOutWord::Stop), "{body:?}");
        }
    }

    #[test]
    fn start_words_opt_back_in() {
        for body in ["START", "unstop", "Yes"] {
            assert_eq!(OptOutWord::parse(body), Some(OptOutWord::Start), "{body:?}");
        }
    }

    #[test]
    fn a_sentence_with_a_keyword_in_it_is_a_message() {
        for body in ["Stop please", "yes I am worse", "", "STOP!"] {
            assert_eq!(OptOutWord::parse(body), None, "{body:?}");
        }
    }
}
