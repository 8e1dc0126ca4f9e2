//! Free text from outside — names, relationships, enrolment context, the
//! words of a text message — cleaned once where it enters.
//!
//! A NUL or an escape sequence can cut a message short or garble it on a
//! clinician's phone, and a bidirectional override (U+202E) makes a name
//! display as something other than what is stored. [`clean_text`] removes
//! what no person means to write and keeps everything they do: letters
//! with accents (Siân, Llŷr, Zoë), other scripts, and emoji with their
//! joiners and variation selectors. [`clean_line`] does the same for a
//! field that is one line, such as a name.

/// Clean free text: remove C0 and C1 control characters except `\n` and
/// `\t`; turn `\r\n`, a lone `\r` and the Unicode line and paragraph
/// separators (U+0085, U+2028, U+2029) into `\n`; remove the bidirectional
/// marks, embeddings, overrides and isolates (U+200E, U+200F, U+061C,
/// U+202A–U+202E, U+2066–U+2069) and the byte-order mark (U+FEFF).
/// Nothing else changes: leading and trailing whitespace stays, for the
/// caller to trim or keep.
pub fn clean_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\u{85}' | '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\n' | '\t' => out.push(c),
            c if c.is_control() || is_invisible_format(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Clean a one-line field, such as a name: [`clean_text`], then every run
/// of whitespace (line breaks and tabs included) becomes one space, and
/// the ends are trimmed.
pub fn clean_line(s: &str) -> String {
    clean_text(s)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Bidirectional controls and the byte-order mark: invisible, and able to
/// make text display as something other than what it is.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_removed() {
        assert_eq!(clean_text("Ann\u{0}e"), "Anne");
        assert_eq!(clean_text("\u{1b}[31mred\u{1b}[0m"), "[31mred[0m");
        assert_eq!(clean_text("bell\u{7} del\u{7f} c1\u{9b}"), "bell del c1");
    }

    #[test]
    fn line_breaks_and_tabs_stay_and_become_one_kind() {
        assert_eq!(clean_text("a\r\nb\rc\nd\te"), "a\nb\nc\nd\te");
        assert_eq!(clean_text("a\u{2028}b\u{2029}c\u{85}d"), "a\nb\nc\nd");
        assert_eq!(clean_text("a\r\r\nb"), "a\n\nb");
    }

    #[test]
    fn bidirectional_controls_are_removed() {
        // "Evans" displayed backwards by a right-to-left override.
        assert_eq!(
            clean_text("Margaret \u{202E}snavE\u{202C}"),
            "Margaret snavE"
        );
        for c in [
            '\u{200E}', '\u{200F}', '\u{061C}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{FEFF}',
        ] {
            assert_eq!(clean_text(&format!("a{c}b")), "ab", "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn what_people_write_is_kept() {
        for s in [
            "Siân Llŷr ap Dafydd",
            "Zoë Brontë-O'Neill",
            "Nguyễn Thị Minh Khai",
            "محمد",
            "王小明",
            "thank you 🙏🏽",
            "👨‍👩‍👧 family", // joined by U+200D, which stays
            "❤️",        // with its variation selector
            "  leading and trailing  ",
        ] {
            assert_eq!(clean_text(s), s);
        }
    }

    #[test]
    fn a_line_folds_whitespace_and_trims() {
        assert_eq!(clean_line("  Margaret\n\tEvans  "), "Margaret Evans");
        assert_eq!(clean_line("Margaret\u{a0}\u{a0}Evans"), "Margaret Evans");
        assert_eq!(clean_line("Ann\u{0}\r\nEvans\u{202E}"), "Ann Evans");
        assert_eq!(clean_line("\u{0}\u{202E} \u{200F}"), "");
        assert_eq!(clean_line("Siân 🙂"), "Siân 🙂");
    }
}
