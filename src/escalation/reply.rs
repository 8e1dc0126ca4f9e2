//! What a clinician's SMS reply means: `A12` / `ACK 12` accepts, `P12`
//! passes, `R12 [note]` resolves. Case and spaces do not matter; a bare
//! letter is allowed when the clinician has exactly one open page. The
//! page a signed link opens offers two buttons, Accept and Pass
//! ([`LinkAction`]).
//!
//! The number is the page's code: each clinician has their own sequence,
//! 1 to 9999, and a code closed less than [`CODE_QUARANTINE`] ago is not
//! given out again ([`next_code`]), so a late reply cannot act on a newer
//! concern.

use std::fmt;

use chrono::TimeDelta;

use super::{Event, StaffRef};

/// How long a closed page's code stays reserved, so a late reply to it is
/// answered "someone else has it" rather than acting on a newer concern.
pub const CODE_QUARANTINE: TimeDelta = TimeDelta::days(7);

/// The highest code; after it, codes start again at 1.
const LAST_CODE: u32 = 9999;

/// The code for a clinician's new page: the first after `last` (the one
/// they were given last, 0 if none; after 9999 comes 1) that `in_use`
/// says is free. If all 9,999 are in use, the one after `last` anyway:
/// reusing a code is better than failing to page.
pub fn next_code<E>(last: u16, mut in_use: impl FnMut(u16) -> Result<bool, E>) -> Result<u16, E> {
    let after = |i: u32| ((u32::from(last) + i - 1) % LAST_CODE + 1) as u16;
    for i in 1..=LAST_CODE {
        if !in_use(after(i))? {
            return Ok(after(i));
        }
    }
    Ok(after(1))
}

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

/// A button pressed on the page a page's link opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    /// Take the concern.
    Accept,
    /// Pass it to the next step now.
    Pass,
}

/// A link action that is neither accept nor pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a link action: only \"accept\" and \"pass\" are")]
pub struct UnknownLinkAction(pub String);

impl LinkAction {
    /// The action as the page's form sends it and as it is stored:
    /// `accept` or `pass`, exactly; anything else is refused, never taken
    /// as an accept.
    pub fn parse(action: &str) -> Result<Self, UnknownLinkAction> {
        match action {
            "accept" => Ok(LinkAction::Accept),
            "pass" => Ok(LinkAction::Pass),
            other => Err(UnknownLinkAction(other.to_owned())),
        }
    }

    /// `accept` or `pass`: what [`LinkAction::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Accept => "accept",
            LinkAction::Pass => "pass",
        }
    }

    /// The event this action is when `by` presses it.
    pub fn event(self, by: StaffRef) -> Event {
        match self {
            LinkAction::Accept => Event::Accept { by },
            LinkAction::Pass => Event::Pass { by },
        }
    }
}

impl fmt::Display for LinkAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a reply is matched on, of one of the clinician's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageKey {
    /// The page's code.
    pub code: u16,
    /// Whether it is still open (its concern not yet accepted or resolved).
    pub open: bool,
    /// When it was sent.
    pub opened_at: crate::clock::Instant,
}

impl Reply {
    /// The event this reply is when `by` sends it.
    pub fn event(self, by: StaffRef) -> Event {
        match self.action {
            Action::Accept => Event::Accept { by },
            Action::Pass => Event::Pass { by },
            Action::Resolve => Event::Resolve {
                by,
                note: self.note,
            },
        }
    }

    /// Which of a clinician's `pages` (open ones, and those closed within
    /// the quarantine) this reply is about: the one with its code, open
    /// before closed and then the newest; with no code, their only open
    /// page. `None`: it cannot be told, and they get the help text.
    pub fn page<'p, P>(&self, pages: &'p [P], key: impl Fn(&P) -> PageKey) -> Option<&'p P> {
        match self.code {
            Some(code) => pages
                .iter()
                .filter(|p| key(p).code == code)
                .max_by_key(|p| (key(p).open, key(p).opened_at)),
            None => {
                let mut open = pages.iter().filter(|p| key(p).open);
                match (open.next(), open.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }
    }
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

    fn free(taken: &[u16]) -> impl FnMut(u16) -> Result<bool, ()> + '_ {
        |code| Ok(taken.contains(&code))
    }

    #[test]
    fn a_clinicians_first_code_is_1_and_each_next_one_follows_their_last() {
        assert_eq!(next_code(0, free(&[])), Ok(1));
        assert_eq!(next_code(12, free(&[])), Ok(13));
    }

    #[test]
    fn codes_in_use_are_skipped_and_after_9999_comes_1() {
        assert_eq!(next_code(12, free(&[13, 14])), Ok(15));
        assert_eq!(next_code(9999, free(&[])), Ok(1));
        assert_eq!(next_code(9998, free(&[9999, 1])), Ok(2));
    }

    #[test]
    fn with_every_code_in_use_the_next_is_reused_rather_than_not_paging() {
        let all: Vec<u16> = (1..=9999).collect();
        assert_eq!(next_code(41, free(&all)), Ok(42));
    }

    #[test]
    fn a_store_that_cannot_say_stops_the_search() {
        assert_eq!(
            next_code(1, |_| Err("store unavailable")),
            Err("store unavailable")
        );
    }

    #[test]
    fn a_link_action_is_accept_or_pass_and_reads_back_as_stored() {
        for action in [LinkAction::Accept, LinkAction::Pass] {
            assert_eq!(LinkAction::parse(action.as_str()), Ok(action));
        }
        assert_eq!(LinkAction::parse("accept"), Ok(LinkAction::Accept));
        assert_eq!(LinkAction::parse("pass"), Ok(LinkAction::Pass));
    }

    #[test]
    fn anything_else_a_link_might_carry_is_refused_not_taken_as_an_accept() {
        for action in ["", "Accept", "resolve", "decline", "accept ", "a"] {
            assert_eq!(
                LinkAction::parse(action),
                Err(UnknownLinkAction(action.to_owned())),
                "{action:?}"
            );
        }
    }

    fn kiran() -> StaffRef {
        StaffRef {
            id: crate::directory::Id::parse("kiran-patel").unwrap(),
            name: "Kiran Patel".to_owned(),
            role: "Community staff nurse".to_owned(),
        }
    }

    #[test]
    fn a_resolve_carries_its_note_to_the_state_machine() {
        let by = kiran();
        let resolve = parse("R12 Visited, dressing changed").unwrap();
        assert_eq!(
            resolve.event(by.clone()),
            Event::Resolve {
                by,
                note: Some("Visited, dressing changed".to_owned())
            }
        );
    }

    #[test]
    fn accept_and_pass_are_the_state_machines_accept_and_pass() {
        let by = kiran();
        assert_eq!(
            LinkAction::Accept.event(by.clone()),
            Event::Accept { by: by.clone() }
        );
        assert_eq!(LinkAction::Pass.event(by.clone()), Event::Pass { by });
    }

    fn pages() -> Vec<PageKey> {
        let at = |s: &str| s.parse().unwrap();
        vec![
            PageKey {
                code: 12,
                open: false,
                opened_at: at("2026-11-20T19:00:00Z"),
            },
            PageKey {
                code: 12,
                open: true,
                opened_at: at("2026-11-19T19:00:00Z"),
            },
            PageKey {
                code: 7,
                open: false,
                opened_at: at("2026-11-21T19:00:00Z"),
            },
            PageKey {
                code: 7,
                open: false,
                opened_at: at("2026-11-22T19:00:00Z"),
            },
            PageKey {
                code: 13,
                open: true,
                opened_at: at("2026-11-27T19:05:00Z"),
            },
        ]
    }

    fn page_of(text: &str, pages: &[PageKey]) -> Option<PageKey> {
        parse(text).unwrap().page(pages, |p| *p).copied()
    }

    #[test]
    fn a_code_means_its_open_page_else_the_newest_closed_one() {
        let pages = pages();
        assert_eq!(page_of("A12", &pages), Some(pages[1]), "open before closed");
        assert_eq!(page_of("A7", &pages), Some(pages[3]), "the newest closed");
        assert_eq!(page_of("A99", &pages), None, "no such page: help");
    }

    #[test]
    fn a_bare_letter_means_the_only_open_page_and_nothing_when_there_are_several() {
        let pages = pages();
        assert_eq!(page_of("A", &pages), None, "12 and 13 are open");
        let one_open = &pages[2..];
        assert_eq!(page_of("ack", one_open), Some(pages[4]));
        assert_eq!(page_of("A", &pages[2..4]), None, "none open");
    }
}
