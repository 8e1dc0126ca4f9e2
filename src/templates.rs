//! Texts people read — SMS, TwiML, pages — rendered from `templates/`.
//!
//! The directory is read at start-up (a missing or broken template stops the
//! service before it takes a message) and can be edited without a rebuild.
//! [`REQUIRED`] names every template the code asks for, and a test fails
//! when the code names one it does not list. `.html` and `.xml` templates
//! are auto-escaped.
//!
//! Besides texts, emails and pages, the notes the engine leaves on a
//! concern's timeline are templates (`notes/`): they are stored as the
//! words rendered, as they were when Rust wrote them. How every timeline
//! entry reads is one too (`timeline/event.txt`, rendered when it is
//! shown: see [`Templates::timeline_line`]).
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
//! long to keep is cut ([`bounded`], [`summary`]). Other words the code
//! once wrote in Rust are templates under `words/` (see `words.rs`): what
//! stands in for a missing name ([`Fallbacks`]), how a page names the
//! people before it ([`Templates::named`]), and how an email's words are
//! kept and paged ([`Templates::email_kept`], [`Templates::email_paged`]).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::Serialize;

use crate::concern::{Concern, Party};
use crate::directory::{Enrolment, Language};

mod events;
mod words;

pub use words::Fallbacks;

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

/// Every template the service uses; checked at start-up. A test reads
/// `src/` for every template name the code asks for and fails if one is
/// missing here (`every_template_the_code_names_is_checked_at_start_up`).
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
    "sms/check_in.txt",
    "sms/check_in_thanks.txt",
    "sms/check_in_unanswered.txt",
    "sms/review_due.txt",
    "sms/resolved.txt",
    "sms/you_accepted.txt",
    "sms/you_resolved.txt",
    "sms/handover.txt",
    "sms/no_pictures.txt",
    "sms/no_attachments.txt",
    "sms/sign_in_paused.txt",
    "sms/forward_opt_out.txt",
    "web/base.html",
    "web/staff/handover.html",
    "web/staff/reports.html",
    "web/staff/report.html",
    "pages/message_words.txt",
    "pages/status.txt",
    "notes/failed_over.txt",
    "notes/set_aside.txt",
    "notes/check_in_answer.txt",
    "notes/unproved_email.txt",
    "notes/no_phone_for_pages.txt",
    "notes/no_transcription.txt",
    "notes/call_back.txt",
    "timeline/event.txt",
    "words/fallbacks.txt",
    "words/named.txt",
    "words/email_kept.txt",
    "words/email_paged.txt",
];

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    /// The templates translated into each language other than English,
    /// by their English name (`sms/welcome.txt` for `cy/sms/welcome.txt`).
    translated: BTreeSet<(Language, String)>,
    /// The words for what has no name, rendered at load.
    fallbacks: Fallbacks,
}

/// The `london` filter: an instant (RFC 3339, as one is serialised) as a
/// clock in London shows it, in [`crate::calendar::london::SHORT`] or the
/// chrono format given (`{{ at | london("%a %H:%M") }}`).
fn london_filter(at: String, format: Option<String>) -> Result<String, minijinja::Error> {
    use std::fmt::Write;
    let bad = |what: String| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, what);
    let t = chrono::DateTime::parse_from_rfc3339(&at)
        .map_err(|e| bad(format!("london: {at:?} is not an instant: {e}")))?;
    let format = format.as_deref().unwrap_or(crate::calendar::london::SHORT);
    let mut out = String::new();
    // Written, not `to_string`: a format chrono cannot follow is an error, not a panic.
    write!(
        out,
        "{}",
        t.with_timezone(&crate::calendar::LONDON).format(format)
    )
    .map_err(|_| bad(format!("london: {format:?} is not a chrono format")))?;
    Ok(out)
}

/// Why the templates could not be loaded, or one could not be rendered:
/// always with the template's name, and the cause as its source.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// At start-up: a template the code needs is missing or broken.
    #[error("template {name} in {}", .dir.display())]
    Load {
        /// The template, as the code names it (`cy/sms/welcome.txt`).
        name: String,
        /// The templates folder.
        dir: PathBuf,
        /// What is wrong with it.
        #[source]
        source: minijinja::Error,
    },
    /// At start-up: a translation whose English template does not exist.
    #[error(
        "template {language}/{name} translates no English template in {}: name it as the English one is named, under {language}/",
        .dir.display()
    )]
    Untranslated {
        /// The language's folder (`cy`).
        language: &'static str,
        /// Its name under that folder.
        name: String,
        /// The templates folder.
        dir: PathBuf,
    },
    /// At start-up: a language's folder could not be read.
    #[error("reading {}", .folder.display())]
    Read {
        /// The folder.
        folder: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A template asked for by name is not loaded.
    #[error("template {name}")]
    Missing {
        /// The template.
        name: String,
        /// What the environment said.
        #[source]
        source: minijinja::Error,
    },
    /// A template failed to render with the context given.
    #[error("rendering {name}")]
    Render {
        /// The template.
        name: String,
        /// What went wrong.
        #[source]
        source: minijinja::Error,
    },
}

/// What goes between the Welsh and the English of a bilingual text.
const BILINGUAL_SEPARATOR: &str = "\n\n";

impl Templates {
    /// Load every template under `dir`, failing with the name of any that is missing or broken.
    pub fn load(dir: &Path) -> Result<Self, TemplateError> {
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
        // Times may reach a template as instants and leave as a clock in
        // London shows them: `{{ at | london }}` reads "Sat 28 Nov 20:00".
        env.add_filter("london", london_filter);
        let broken = |name: &str, source| TemplateError::Load {
            name: name.to_owned(),
            dir: dir.to_owned(),
            source,
        };
        for name in REQUIRED {
            env.get_template(name).map_err(|e| broken(name, e))?;
        }
        let mut translated = BTreeSet::new();
        for language in Language::ALL {
            if language == Language::En {
                continue;
            }
            for name in translations(dir, language)? {
                if env.get_template(&name).is_err() {
                    return Err(TemplateError::Untranslated {
                        language: language.code(),
                        name,
                        dir: dir.to_owned(),
                    });
                }
                let path = format!("{}/{name}", language.code());
                env.get_template(&path).map_err(|e| broken(&path, e))?;
                translated.insert((language, name));
            }
        }
        let mut templates = Self {
            env,
            translated,
            fallbacks: Fallbacks::default(),
        };
        templates.fallbacks = Fallbacks::render(&templates)?;
        Ok(templates)
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
    ) -> Result<String, TemplateError> {
        if language != Language::En && self.is_translated(language, name) {
            self.render(&format!("{}/{name}", language.code()), context)
        } else {
            self.render(name, context)
        }
    }

    /// Render a text in Welsh, then in English, as one message: the answer
    /// to someone who wrote in Welsh whose language is not known. English
    /// alone when it has not been translated.
    pub fn render_bilingual(
        &self,
        name: &str,
        context: impl Serialize,
    ) -> Result<String, TemplateError> {
        let english = self.render(name, &context)?;
        if !self.is_translated(Language::Cy, name) {
            return Ok(english);
        }
        let welsh = self.render_in(Language::Cy, name, &context)?;
        Ok(format!("{welsh}{BILINGUAL_SEPARATOR}{english}"))
    }

    /// Render a template; SMS texts come back on one line, trimmed.
    pub fn render(&self, name: &str, context: impl Serialize) -> Result<String, TemplateError> {
        let template = self
            .env
            .get_template(name)
            .map_err(|source| TemplateError::Missing {
                name: name.to_owned(),
                source,
            })?;
        let text = template
            .render(context)
            .map_err(|source| TemplateError::Render {
                name: name.to_owned(),
                source,
            })?;
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
fn translations(dir: &Path, language: Language) -> Result<Vec<String>, TemplateError> {
    let root = dir.join(language.code());
    let mut names = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let path = entry
                .map_err(|source| TemplateError::Read {
                    folder: folder.clone(),
                    source,
                })?
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

/// The sender's words, shortened at a word boundary for an SMS: their
/// gist ([`gist`]), at most [`PAGE_QUOTE_CHARS`].
pub fn quote(text: &str) -> String {
    quote_within(text, PAGE_QUOTE_CHARS)
}

/// The sender's words as [`quote`] gives them, at most `chars` long: a
/// page quotes as much as fits its two segments.
pub fn quote_within(text: &str, chars: usize) -> String {
    shortened(&gist(text), chars)
}

/// When `at` was, for a text read at `now` that may be days later:
/// "today at 18:31", "yesterday at 23:50", else "on Sat 5 Dec at 18:31"
/// (UK time).
pub fn day_and_time(at: crate::clock::Instant, now: crate::clock::Instant) -> String {
    let (at, now) = (
        at.with_timezone(&crate::calendar::LONDON),
        now.with_timezone(&crate::calendar::LONDON),
    );
    let time = at.format("%H:%M");
    match (now.date_naive() - at.date_naive()).num_days() {
        0 => format!("today at {time}"),
        1 => format!("yesterday at {time}"),
        _ => format!("on {} at {time}", at.format("%a %-d %b")),
    }
}

/// Opening words that greet rather than say anything ("Hi,", "Dear nurse,").
const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "dear",
    "good morning",
    "good afternoon",
    "good evening",
];
/// Closing words that sign off ("Thanks, Jess", "Kind regards").
const SIGN_OFFS: &[&str] = &[
    "thanks",
    "thank you",
    "many thanks",
    "kind regards",
    "regards",
    "best wishes",
    "cheers",
    "love from",
    "all the best",
];
/// The most a greeting with a name ("Hi Sarah and team,") or a sign-off
/// with one ("Many thanks, Jess Thomas x") runs to, in characters.
const GREETING_CHARS: usize = 32;

/// What of a message a page quotes: one line, without a greeting at its
/// start (or at the start of what follows an email's subject), a
/// sign-off at its end, lines quoting an earlier message (`> …`, "On …
/// wrote:" and what follows), and with the curly quotes and dashes
/// phones type made plain, so the page stays in the SMS alphabet (GSM-7):
/// "Hi, Dad was discharged last week and… Thanks, Jess" quotes as "Dad
/// was discharged last week and...".
pub fn gist(text: &str) -> String {
    let mut lines = Vec::new();
    for line in text.lines() {
        let lower = line.trim().to_lowercase();
        if (lower.starts_with("on ") && lower.ends_with("wrote:"))
            || lower.starts_with("-----original message")
            || lower.starts_with("sent from my ")
        {
            break;
        }
        if !lower.starts_with('>') {
            lines.push(line);
        }
    }
    let one = lines
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let one = plain_punctuation(&one);
    // An email's paged words are "Subject: body": the body may greet too.
    let (subject, body) = match one.split_once(": ") {
        Some((subject, body)) if subject.chars().count() <= 80 => {
            (Some(subject), without_greeting(body))
        }
        _ => (None, without_greeting(&one)),
    };
    let body = without_sign_off(body);
    let whole = match subject {
        Some(subject) if body.is_empty() => subject.to_owned(),
        Some(subject) => format!("{}: {body}", without_greeting(subject)),
        None => body.to_owned(),
    };
    let whole = whole.trim();
    if whole.is_empty() {
        one.trim().to_owned()
    } else {
        whole.to_owned()
    }
}

/// `text` without a greeting at its start: the greeting word and, when
/// a name follows it, up to the comma, full stop or "!" that ends it.
fn without_greeting(text: &str) -> &str {
    let lower = text.to_lowercase();
    let Some(greeting) = GREETINGS.iter().find(|g| {
        lower.starts_with(*g)
            && lower[g.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
    }) else {
        return text;
    };
    let rest = &text[greeting.len()..];
    let end = rest
        .char_indices()
        .take(GREETING_CHARS)
        .find(|(_, c)| matches!(c, ',' | '!' | '.'))
        .map(|(i, c)| i + c.len_utf8());
    match end {
        Some(end) => rest[end..].trim_start(),
        // "Hi Dad is worse": only the greeting's own word goes.
        None => rest.trim_start_matches(|c: char| !c.is_alphanumeric()),
    }
}

/// `text` without a sign-off at its end ("… tonight. Thanks, Jess x").
fn without_sign_off(text: &str) -> &str {
    let lower = text.to_lowercase();
    let tail_from = lower
        .char_indices()
        .rev()
        .nth(GREETING_CHARS)
        .map_or(0, |(i, _)| i);
    let cut = SIGN_OFFS
        .iter()
        .filter_map(|s| {
            lower[tail_from..]
                .match_indices(s)
                .map(|(i, _)| tail_from + i)
                .find(|&i| {
                    let before = lower[..i].trim_end();
                    before.is_empty() || before.ends_with(['.', '!', '?', ','])
                })
        })
        .min();
    match cut {
        Some(i) if i > 0 => text[..i].trim_end().trim_end_matches(','),
        _ => text,
    }
}

/// Curly quotes, dashes and the ellipsis made plain: one of them would
/// put a whole text outside the SMS alphabet, doubling its segments.
fn plain_punctuation(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let plain: &[char] = match c {
                '\u{2018}' | '\u{2019}' | '\u{201b}' | '\u{2032}' => &['\''],
                '\u{201c}' | '\u{201d}' | '\u{201f}' => &['"'],
                '\u{2013}' | '\u{2014}' | '\u{2212}' => &['-'],
                '\u{2026}' => &['.', '.', '.'],
                '\u{a0}' => &[' '],
                _ => return vec![c],
            };
            plain.to_vec()
        })
        .collect()
}

/// The SMS alphabet (GSM 03.38): a text of these goes 160 characters to
/// a segment (153 when there are several); any other character makes the
/// whole text UCS-2, 70 (67) to a segment.
const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// Characters of the GSM-7 extension table: each takes two septets.
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{c}";

/// Whether `c` is in the SMS alphabet (GSM-7, its extension included).
pub fn is_gsm7(c: char) -> bool {
    GSM7.contains(c) || GSM7_EXTENSION.contains(c)
}

/// How many SMS segments `text` goes out in, and whether in GSM-7
/// (`true`) or UCS-2.
pub fn sms_segments(text: &str) -> (usize, bool) {
    if text.chars().all(is_gsm7) {
        let septets = gsm7_length(text);
        (
            if septets <= 160 {
                1
            } else {
                septets.div_ceil(153)
            },
            true,
        )
    } else {
        let units = text.encode_utf16().count();
        (if units <= 70 { 1 } else { units.div_ceil(67) }, false)
    }
}

/// `text`'s length in GSM-7 septets (an extension character counts two).
pub fn gsm7_length(text: &str) -> usize {
    text.chars()
        .map(|c| if GSM7_EXTENSION.contains(c) { 2 } else { 1 })
        .sum()
}

/// The most characters two GSM-7 segments carry: what a page aims for.
pub const TWO_SEGMENTS: usize = 2 * 153;

/// The least of the sender's words a page quotes, even when that makes
/// it three segments (a long name, a long link).
pub const PAGE_QUOTE_AT_LEAST: usize = 30;

/// The sender's words as a page SMS quotes them: as much of their gist
/// as keeps the page to two segments, given `frame`, the page rendered
/// with no words (at least [`PAGE_QUOTE_AT_LEAST`]).
pub fn page_quote(frame: &str, text: &str) -> String {
    // "..." may follow a cut.
    let room = TWO_SEGMENTS.saturating_sub(gsm7_length(frame) + 3);
    quote_within(text, room.max(PAGE_QUOTE_AT_LEAST))
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
mod tests;
