//! Texts people read — SMS, TwiML, pages — rendered from `templates/`.
//!
//! The directory is read at start-up (a missing or broken template stops the
//! service before it takes a message) and can be edited without a rebuild.
//! `.html` and `.xml` templates are auto-escaped.
//!
//! Texts to a patient or carer come in their enrolment's [`Language`]:
//! `templates/cy/sms/welcome.txt` is the Welsh `sms/welcome.txt`. A
//! template with no translation is rendered in English ([`Templates::render_in`]),
//! so a trust can translate a text at a time; an unknown sender writing in
//! Welsh is answered in Welsh then English ([`Templates::render_bilingual`]).
//! Texts to clinicians are English.
//!
//! The few words Rust puts into those texts live here too: how a page names
//! who a concern is about ([`who`]), how it quotes the sender ([`quote`]),
//! how a picture is mentioned ([`with_media_note`]), and how a message too
//! long to keep is cut ([`bounded`], [`summary`]).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

use anyhow::Context;
use minijinja::Environment;
use serde::Serialize;

use crate::concern::{Concern, Party};
use crate::directory::{Enrolment, Language};

/// How much of a message a page SMS quotes; the rest is behind the link.
pub const PAGE_QUOTE_CHARS: usize = 100;

/// The most of one message's text a concern keeps, in bytes (16 KB),
/// note included: an email's text, a text, a voicemail's transcription, a
/// demo form. A letter's worth of words; past it, one message could fill
/// the store and the pages clinicians read (see [`bounded`]).
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// How much of a concern's first message it keeps as its summary, the
/// words lists, handovers and an email page show, in characters: the
/// longest text a phone sends (1,600), so a text is never cut. The whole
/// message (up to [`MAX_MESSAGE_BYTES`]) is on the concern's timeline.
pub const SUMMARY_CHARS: usize = 1600;

/// The most a cut looks back for the end of a line, then of a word, so
/// that a message is not cut mid-sentence when it need not be.
const LOOK_BACK_FOR_LINE: usize = 2048;
const LOOK_BACK_FOR_WORD: usize = 256;

/// Every template the service uses; checked at start-up.
pub const REQUIRED: &[&str] = &[
    "sms/welcome.txt",
    "sms/received.txt",
    "sms/received_unknown.txt",
    "sms/red_flag.txt",
    "sms/accepted.txt",
    "sms/call_111.txt",
    "sms/spoke_live.txt",
    "sms/missed_call.txt",
    "sms/stopped.txt",
    "sms/started.txt",
    "sms/page.txt",
    "sms/forward.txt",
    "sms/taken.txt",
    "sms/already_accepted.txt",
    "sms/you_have_it.txt",
    "sms/reminder.txt",
    "sms/resolved_by.txt",
    "sms/already_resolved.txt",
    "sms/help.txt",
    "sms/sign_in_code.txt",
    "email/subject.txt",
    "email/notice_subject.txt",
    "email/page.txt",
    "email/page.html",
    "email/message.txt",
    "email/message.html",
    "email/welcome_subject.txt",
    "email/welcome.txt",
    "email/welcome.html",
    "email/stranger_subject.txt",
    "email/stranger.txt",
    "email/stranger.html",
    "email/handover_subject.txt",
    "email/handover.txt",
    "email/handover.html",
    "twiml/empty.xml",
    "twiml/answer.xml",
    "twiml/next.xml",
    "twiml/still_trying.xml",
    "twiml/screen.xml",
    "twiml/connect.xml",
    "twiml/hang_up.xml",
    "twiml/taken.xml",
    "twiml/message_left.xml",
    "twiml/no_message.xml",
    "twiml/unavailable.xml",
    "twiml/page.xml",
    "twiml/page_again.xml",
    "twiml/page_done.xml",
    "twiml/call_back.xml",
    "twiml/clinician.xml",
    "pages/concern.html",
    "pages/message.html",
    "web/demo.html",
    "web/staff/layout.html",
    "web/staff/csrf.html",
    "web/staff/message.html",
    "web/staff/sign_in.html",
    "web/staff/sign_in_code.html",
    "web/staff/home.html",
    "web/staff/services.html",
    "web/staff/service.html",
    "web/staff/shifts.html",
    "web/staff/calendar.html",
    "web/staff/concerns.html",
    "web/staff/concern.html",
    "pages/concern_details.html",
    "pages/concern_timeline.html",
    "web/staff/edit.html",
    "web/staff/gaps.html",
    "web/staff/audit.html",
    "sms/gap_alert.txt",
];

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// The templates translated into each language other than English,
    /// by their English name (`sms/welcome.txt` for `cy/sms/welcome.txt`).
    translated: BTreeSet<(Language, String)>,
}

/// What goes between the Welsh and the English of a bilingual text.
const BILINGUAL_SEPARATOR: &str = "\n\n";

impl Templates {
    /// Load every template under `dir`, failing with the name of any that is missing or broken.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_loader(minijinja::path_loader(dir));
        env.set_trim_blocks(true);
        env.set_keep_trailing_newline(false);
        // Pages name their CSS and scripts by name; this gives the path
        // served, with its hash (see `crate::assets`).
        env.add_function("asset", |name: String| {
            crate::assets::path(&name)
                .map(str::to_owned)
                .ok_or_else(|| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("no asset {name:?}: see src/assets.rs"),
                    )
                })
        });
        for name in REQUIRED {
            env.get_template(name)
                .with_context(|| format!("template {} in {}", name, dir.display()))?;
        }
        let mut translated = BTreeSet::new();
        for language in Language::ALL {
            if language == Language::En {
                continue;
            }
            for name in translations(dir, language)? {
                if env.get_template(&name).is_err() {
                    anyhow::bail!(
                        "template {}/{name} translates no English template in {}: name it as the English one is named, under {}/",
                        language.code(),
                        dir.display(),
                        language.code()
                    );
                }
                let path = format!("{}/{name}", language.code());
                env.get_template(&path)
                    .with_context(|| format!("template {path} in {}", dir.display()))?;
                translated.insert((language, name));
            }
        }
        Ok(Self { env, translated })
    }

    /// Whether `name` has a translation into `language` (English has every template).
    pub fn is_translated(&self, language: Language, name: &str) -> bool {
        language == Language::En || self.translated.contains(&(language, name.to_owned()))
    }

    /// Render a template in `language`, or in English when it has not
    /// been translated.
    pub fn render_in(
        &self,
        language: Language,
        name: &str,
        context: impl Serialize,
    ) -> anyhow::Result<String> {
        if language != Language::En && self.is_translated(language, name) {
            self.render(&format!("{}/{name}", language.code()), context)
        } else {
            self.render(name, context)
        }
    }

    /// Render a text in Welsh, then in English, as one message: the answer
    /// to someone who wrote in Welsh whose language is not known. English
    /// alone when it has not been translated.
    pub fn render_bilingual(&self, name: &str, context: impl Serialize) -> anyhow::Result<String> {
        let english = self.render(name, &context)?;
        if !self.is_translated(Language::Cy, name) {
            return Ok(english);
        }
        let welsh = self.render_in(Language::Cy, name, &context)?;
        Ok(format!("{welsh}{BILINGUAL_SEPARATOR}{english}"))
    }

    /// Render a template; SMS texts come back on one line, trimmed.
    pub fn render(&self, name: &str, context: impl Serialize) -> anyhow::Result<String> {
        let template = self
            .env
            .get_template(name)
            .with_context(|| format!("template {name}"))?;
        let text = template
            .render(context)
            .with_context(|| format!("rendering {name}"))?;
        let sms = name.starts_with("sms/")
            || name
                .split_once('/')
                .is_some_and(|(_, n)| n.starts_with("sms/"));
        Ok(if sms {
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        } else {
            text
        })
    }
}

/// The templates under `dir/{language}/`, by their English names
/// (`red_flags.txt` and `README.md` are not templates).
fn translations(dir: &Path, language: Language) -> anyhow::Result<Vec<String>> {
    let root = dir.join(language.code());
    let mut names = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let path = entry
                .with_context(|| format!("reading {}", folder.display()))?
                .path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let Ok(name) = path.strip_prefix(&root) else {
                continue;
            };
            let name = name.to_string_lossy().replace('\\', "/");
            if !name.contains('/') {
                continue;
            }
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Who a concern is about, as a page names them: first name and, for a
/// carer, who wrote ("Margaret (via daughter Sian)"); for a number nobody
/// enrolled, its last four digits; for an address nobody enrolled, that
/// it came by email.
pub fn who(concern: &Concern, enrolment: Option<&Enrolment>) -> String {
    match (enrolment, &concern.party) {
        (Some(e), Party::Carer { name, relationship }) => {
            let carer = name.split_whitespace().next().unwrap_or(name);
            match relationship {
                Some(r) => format!("{} (via {r} {carer})", e.patient.first_name()),
                None => format!("{} (via carer {carer})", e.patient.first_name()),
            }
        }
        (Some(e), _) => e.patient.first_name().to_owned(),
        (None, _) => match concern.sender.phone() {
            Some(phone) => {
                let n = phone.as_str();
                format!("Unknown sender ending {}", &n[n.len().saturating_sub(4)..])
            }
            None => "Unknown sender by email".to_owned(),
        },
    }
}

/// A message as clinicians read it when pictures came with it: they are
/// never shown (an SMS page cannot carry them, and they are not stored), so
/// the words say one was sent.
pub fn with_media_note(body: &str, media: u32) -> String {
    let pictures = match media {
        0 => return body.to_owned(),
        1 => "a picture".to_owned(),
        n => format!("{n} pictures"),
    };
    if body.trim().is_empty() {
        format!("sent {pictures} (not shown)")
    } else {
        format!("{} [and {pictures}, not shown]", body.trim_end())
    }
}

/// The sender's words, shortened at a word boundary for an SMS.
pub fn quote(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    shortened(&text, PAGE_QUOTE_CHARS)
}

/// A concern's summary of its first message: up to [`SUMMARY_CHARS`],
/// shortened at a word boundary, its lines kept.
pub fn summary(text: &str) -> String {
    shortened(text.trim(), SUMMARY_CHARS)
}

/// `text` if it has at most `chars` characters, else its first `chars`
/// cut back to the last space, and "...".
fn shortened(text: &str, chars: usize) -> String {
    let Some((end, _)) = text.char_indices().nth(chars) else {
        return text.to_owned();
    };
    let cut = &text[..end];
    let cut = cut.rfind(' ').map_or(cut, |space| &cut[..space]);
    // Three dots, not "…": one character outside the GSM alphabet makes the
    // whole text UCS-2, and a page of two segments becomes four.
    format!("{}...", cut.trim_end())
}

/// A message's text as a concern keeps it: whole when it is at most
/// [`MAX_MESSAGE_BYTES`]; else its start, cut at the end of a line (or
/// of a word, or else of a character) and a note of how much was not
/// kept, which a clinician reading it can ask the sender for. Never
/// longer than [`MAX_MESSAGE_BYTES`], so a text bounded twice is cut once.
pub fn bounded(text: &str) -> Cow<'_, str> {
    if text.len() <= MAX_MESSAGE_BYTES {
        return Cow::Borrowed(text);
    }
    // The note is at most this long ("…, 99999999 KB, …").
    const NOTE_ROOM: usize = 96;
    let limit = text.floor_char_boundary(MAX_MESSAGE_BYTES - NOTE_ROOM);
    let at_line = text[..limit]
        .rfind('\n')
        .filter(|&i| limit - i <= LOOK_BACK_FOR_LINE);
    let at_word = || {
        text[..limit]
            .rfind(char::is_whitespace)
            .filter(|&i| limit - i <= LOOK_BACK_FOR_WORD)
    };
    let end = at_line.or_else(at_word).unwrap_or(limit);
    let kept = text[..end].trim_end();
    let rest_kb = (text.len() - kept.len()).div_ceil(1024);
    Cow::Owned(format!(
        "{kept}\n\n[the rest of this message, {rest_kb} KB, was not kept: ask the sender by phone]"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> Templates {
        Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")).unwrap()
    }

    #[test]
    fn every_required_template_loads_and_sms_texts_are_one_line() {
        let t = templates();
        let text = t
            .render("sms/call_111.txt", minijinja::context! {})
            .unwrap();
        assert_eq!(
            text,
            "We are still trying to reach the on-call team. If you need help now, call NHS 111. In an emergency, call 999."
        );
    }

    #[test]
    fn a_welsh_speaker_reads_welsh_where_it_is_translated_and_english_where_it_is_not() {
        let t = templates();
        let context =
            minijinja::context! { first_name => "Megan", service => "the community nursing team" };
        let welsh = t
            .render_in(Language::Cy, "sms/welcome.txt", &context)
            .unwrap();
        assert!(
            welsh.starts_with("Helo Megan. Gallwch decstio'r rhif hwn"),
            "{welsh}"
        );
        assert!(!welsh.contains('\n'), "one line, as the English: {welsh}");
        let english = t
            .render_in(Language::En, "sms/welcome.txt", &context)
            .unwrap();
        assert_eq!(english, t.render("sms/welcome.txt", &context).unwrap());
        // No Welsh file for a note about attachments: she gets the English.
        assert!(!t.is_translated(Language::Cy, "sms/no_attachments.txt"));
        assert_eq!(
            t.render_in(
                Language::Cy,
                "sms/no_attachments.txt",
                minijinja::context! {}
            )
            .unwrap(),
            t.render("sms/no_attachments.txt", minijinja::context! {})
                .unwrap()
        );
        // Clinicians' texts are English whatever the patient's language.
        assert!(!t.is_translated(Language::Cy, "sms/page.txt"));
    }

    #[test]
    fn a_bilingual_answer_is_welsh_then_english_or_english_alone_when_not_translated() {
        let t = templates();
        let context = minijinja::context! { trust => "Betsi Cadwaladr UHB", by_email => false };
        let both = t
            .render_bilingual("sms/received_unknown.txt", &context)
            .unwrap();
        let (welsh, english) = both.split_once("\n\n").unwrap();
        assert!(
            welsh.starts_with("Diolch, mae eich neges wedi cyrraedd"),
            "{welsh}"
        );
        assert_eq!(
            english,
            t.render("sms/received_unknown.txt", &context).unwrap()
        );
        let alone = t
            .render_bilingual("sms/no_attachments.txt", minijinja::context! {})
            .unwrap();
        assert!(!alone.contains("\n\n"), "{alone}");
    }

    #[test]
    fn a_welsh_file_that_translates_nothing_or_is_broken_stops_the_service_at_start() {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"),
            dir.path(),
        );
        std::fs::write(dir.path().join("cy/sms/welcom.txt"), "Helo").unwrap();
        let error = format!("{:#}", Templates::load(dir.path()).unwrap_err());
        assert!(
            error.contains("cy/sms/welcom.txt translates no English template"),
            "{error}"
        );
        std::fs::remove_file(dir.path().join("cy/sms/welcom.txt")).unwrap();
        std::fs::write(dir.path().join("cy/sms/welcome.txt"), "Helo {{ first_name").unwrap();
        let error = format!("{:#}", Templates::load(dir.path()).unwrap_err());
        assert!(error.contains("template cy/sms/welcome.txt"), "{error}");
    }

    fn copy_dir(from: &Path, to: &Path) {
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                std::fs::create_dir_all(&target).unwrap();
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    #[test]
    fn html_is_escaped() {
        let t = templates();
        let html = t
            .render(
                "pages/message.html",
                minijinja::context! { title => "x", message => "<script>alert(1)</script>" },
            )
            .unwrap();
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn a_picture_is_named_not_shown() {
        assert_eq!(with_media_note("", 1), "sent a picture (not shown)");
        assert_eq!(with_media_note("  ", 2), "sent 2 pictures (not shown)");
        assert_eq!(
            with_media_note("my leg today", 1),
            "my leg today [and a picture, not shown]"
        );
        assert_eq!(with_media_note("hello", 0), "hello");
    }

    #[test]
    fn long_messages_are_quoted_to_a_word_boundary() {
        let long = "My dad has been discharged today and his leg dressing is soaked through already and I do not know whether to change it or wait";
        let q = quote(long);
        assert!(q.ends_with("..."));
        assert!(q.chars().count() <= PAGE_QUOTE_CHARS + 3);
        assert_eq!(quote("short  and\nsweet"), "short and sweet");
    }

    #[test]
    fn a_long_message_keeps_16_kb_cut_at_a_line_and_says_how_much_was_not_kept() {
        let letter = "Dear nurse, mum is more breathless tonight.\n".repeat(1000);
        assert!(letter.len() > 40 * 1024);
        let kept = bounded(&letter);
        assert!(kept.len() <= MAX_MESSAGE_BYTES, "{}", kept.len());
        let (words, note) = kept.rsplit_once("\n\n").unwrap();
        assert!(words.ends_with("tonight."), "cut at the end of a line");
        assert!(letter.starts_with(words));
        let rest_kb = (letter.len() - words.len()).div_ceil(1024);
        assert_eq!(
            note,
            format!(
                "[the rest of this message, {rest_kb} KB, was not kept: ask the sender by phone]"
            )
        );
        assert_eq!(bounded(&kept), kept, "bounded twice, cut once");
        let short = "My leg is swollen";
        assert!(matches!(bounded(short), Cow::Borrowed(s) if s == short));
    }

    #[test]
    fn a_message_with_no_line_breaks_is_cut_at_a_word_or_a_whole_character() {
        let words = "breathless ".repeat(3000);
        let kept = bounded(&words);
        assert!(kept.len() <= MAX_MESSAGE_BYTES);
        assert!(kept.contains("breathless\n\n[the rest"), "cut after a word");
        // 3-byte characters and no space at all: cut between two of them.
        let wall = "—".repeat(20_000);
        let kept = bounded(&wall);
        assert!(kept.len() <= MAX_MESSAGE_BYTES);
        let (words, note) = kept.split_once("\n\n").unwrap();
        assert!(words.chars().all(|c| c == '—'));
        assert!(note.contains(" KB, was not kept"), "{note}");
    }

    #[test]
    fn a_summary_keeps_a_whole_text_and_shortens_an_email_at_a_word() {
        let text = "x".repeat(10) + &" word".repeat(300);
        assert_eq!(
            summary(&text),
            text,
            "1,510 characters: a text is kept whole"
        );
        let email = "Mum is breathless. ".repeat(200);
        let s = summary(&email);
        let words = s.strip_suffix("...").unwrap();
        assert!(email.starts_with(words));
        assert_eq!(email.as_bytes()[words.len()], b' ', "cut at a word: {s}");
        assert!(s.chars().count() <= SUMMARY_CHARS + 3);
    }

    fn concern(party: Party, sender: &str) -> Concern {
        Concern {
            id: crate::concern::ConcernId::new(),
            enrolment: None,
            service: None,
            sender: crate::directory::PhoneNumber::parse(sender).unwrap().into(),
            party,
            opened_at: "2026-11-27T19:05:00Z".parse().unwrap(),
            text: "My leg is swollen".to_owned(),
            escalation: crate::escalation::Escalation::new(false),
            pictures_explained: false,
            recognised: None,
            calls: Vec::new(),
            version: 0,
        }
    }

    #[test]
    fn a_page_names_the_patient_and_which_carer_wrote_or_the_end_of_an_unknown_number() {
        let request: crate::directory::EnrolmentRequest = serde_json::from_str(
            r#"{"patient": {"name": "Margaret Evans", "phone": "07700 900801"},
                "carers": [{"name": "Sian Evans", "phone": "07700 900802", "relationship": "daughter"}],
                "service": "community-nursing-north", "discharged_at": "2026-11-27T17:30:00Z"}"#,
        )
        .unwrap();
        let now = "2026-11-27T19:00:00Z".parse().unwrap();
        let margaret = request
            .parse(
                |id| crate::directory::Id::parse(id).ok(),
                now,
                chrono::TimeDelta::days(30),
            )
            .unwrap();
        let sian = Party::Carer {
            name: "Sian Evans".to_owned(),
            relationship: Some("daughter".to_owned()),
        };
        let friend = Party::Carer {
            name: "Tom Reed".to_owned(),
            relationship: None,
        };
        assert_eq!(
            who(&concern(Party::Patient, "07700 900801"), Some(&margaret)),
            "Margaret"
        );
        assert_eq!(
            who(&concern(sian, "07700 900802"), Some(&margaret)),
            "Margaret (via daughter Sian)"
        );
        assert_eq!(
            who(&concern(friend, "07700 900803"), Some(&margaret)),
            "Margaret (via carer Tom)"
        );
        assert_eq!(
            who(&concern(Party::Unknown, "07700 900999"), None),
            "Unknown sender ending 0999"
        );
    }
}
