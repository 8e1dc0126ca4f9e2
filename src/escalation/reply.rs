//! What a clinician's SMS reply means: `A12` / `ACK 12` accepts, `P12`
//! passes, `R12 [note]` resolves. Case and spaces do not matter; a bare
//! letter is allowed when the clinician has exactly one open page.

/// The action a reply asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Take the concern.
    Accept,
    /// Pass it to the next step now.
    Pass,
    /// Close it.
    Resolve,
}

/// A reply understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// What to do.
    pub action: Action,
    /// The page code, when one was given.
    pub code: Option<u16>,
    /// Free text after the code (a resolve note).
    pub note: Option<String>,
}

/// Read a reply; `None` when it is not a command (the sender gets the help text).
pub fn parse(text: &str) -> Option<Reply> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (word, rest) = text.split_at(split);
    let action = match word.to_ascii_uppercase().as_str() {
        "A" | "ACK" | "ACCEPT" => Action::Accept,
        "P" | "PASS" => Action::Pass,
        "R" | "RES" | "RESOLVE" | "RESOLVED" => Action::Resolve,
        _ => return None,
    };
    let rest = rest.trim_start();
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (number, after) = rest.split_at(digits);
    let code = match number {
        "" => None,
        n if n.len() <= 4 => Some(n.parse().ok()?),
        _ => return None,
    };
    let after = after.trim();
    let note = match action {
        Action::Resolve if !after.is_empty() => Some(after.to_owned()),
        _ if !after.is_empty() => return None,
        _ => None,
    };
    Some(Reply { action, code, note })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(action: Action, code: Option<u16>, note: Option<&str>) -> Option<Reply> {
        Some(Reply {
            action,
            code,
            note: note.map(str::to_owned),
        })
    }

    #[test]
    fn accept_pass_and_resolve_in_the_ways_people_type_them() {
        assert_eq!(parse("A12"), reply(Action::Accept, Some(12), None));
        assert_eq!(parse(" ack 12 "), reply(Action::Accept, Some(12), None));
        assert_eq!(parse("Accept 7"), reply(Action::Accept, Some(7), None));
        assert_eq!(parse("a"), reply(Action::Accept, None, None));
        assert_eq!(parse("p 3"), reply(Action::Pass, Some(3), None));
        assert_eq!(
            parse("R12 Called back, advised on dressing"),
            reply(
                Action::Resolve,
                Some(12),
                Some("Called back, advised on dressing")
            )
        );
        assert_eq!(parse("r 12"), reply(Action::Resolve, Some(12), None));
    }

    #[test]
    fn anything_else_is_not_a_command() {
        for text in [
            "",
            "hello",
            "A12 thanks",
            "B12",
            "A12345",
            "Accepting",
            "12",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }
}
