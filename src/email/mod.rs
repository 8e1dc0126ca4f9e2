//! Email in: the SMTP listener ([`smtp`]) hands each message it accepts,
//! read here once, at the edge, into words, to be stored as an inbound
//! email item; intake then treats it as it treats a text (ADR 14).
//!
//! What is read:
//! - the sender's address (`From`, display name dropped), the subject and
//!   the `Message-ID` (the item's idempotency key);
//! - the text: the plain part, or the HTML part as text when there is no
//!   plain one, decoded from whatever charset it declares; at most
//!   [`MAX_MESSAGE_BYTES`] of it, with a note of how much more there was
//!   ([`bounded`]), so a stranger's 9 MiB email is stored as 16 KB;
//! - a subject of at most [`SUMMARY_CHARS`] characters;
//! - the text as paged: the same without quoted replies and signatures
//!   ([`trim_reply`]); the timeline keeps it whole;
//! - the attachments' names and sizes only: they are not kept;
//! - the topmost `Authentication-Results` header, which [`auth`] reads to
//!   decide whether the sender is who `From` says.

pub mod auth;
pub mod smtp;

use mail_parser::{MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use crate::directory::{EmailAddress, clean_line, clean_text};
use crate::inbox::Attachment;
#[cfg(doc)]
use crate::templates::{MAX_MESSAGE_BYTES, SUMMARY_CHARS};
use crate::templates::{bounded, summary};

/// A message as read from its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// Its idempotency key: `email:` and its `Message-ID`, or a digest of
    /// its bytes when it has none (a retry of it is the same bytes).
    pub key: String,
    /// The `From` address.
    pub from: EmailAddress,
    /// The subject, decoded.
    pub subject: String,
    /// What they wrote: whole, or its first 16 KB and a note of the rest
    /// ([`bounded`]).
    pub text: String,
    /// Its attachments.
    pub attachments: Vec<Attachment>,
    /// For a delivery status notification (a bounce, RFC 3464): what
    /// became of the message it reports on, the worst of its recipients'
    /// `Action` fields (`failed`, else `delayed`, else the first given).
    pub delivery: Option<String>,
    /// The topmost `Authentication-Results` header (the one the last relay
    /// added), unfolded, if it has one.
    pub authentication_results: Option<String>,
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Not a message at all.
    #[error("the message could not be read")]
    Unreadable,
    /// No `From` anyone can be written back at.
    #[error("the message has no usable From address")]
    NoSender,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("key", &self.key)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Read a message from its bytes (as the DATA command carried them).
pub fn read(bytes: &[u8]) -> Result<Mail, MailError> {
    let message = MessageParser::default()
        .parse(bytes)
        .ok_or(MailError::Unreadable)?;
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .and_then(|a| EmailAddress::parse(a).ok())
        .ok_or(MailError::NoSender)?;
    let key = match message.message_id() {
        Some(id) if !id.trim().is_empty() => format!("email:{}", id.trim()),
        _ => {
            let digest = Sha256::digest(bytes);
            let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
            format!("email:sha256:{hex}")
        }
    };
    // A subject is a line: it is cut as a summary is.
    let subject = summary(&clean_line(message.subject().unwrap_or_default()));
    // The first text part, or the first HTML part rendered as text, cut
    // before it is stored.
    let text = bounded(&clean_text(&message.body_text(0).unwrap_or_default())).into_owned();
    let attachments = message
        .attachments()
        .map(|part| Attachment {
            name: clean_text(part.attachment_name().unwrap_or("unnamed")),
            size: part.contents().len(),
        })
        .collect();
    let delivery = message
        .content_type()
        .is_some_and(|t| {
            t.ctype().eq_ignore_ascii_case("multipart")
                && t.subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        })
        .then(|| delivery_action(bytes))
        .flatten();
    // The first in the message is the topmost, the last relay's; never
    // `header()`, which finds the last.
    let authentication_results = message
        .headers_raw()
        .find(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
        .map(|(_, value)| value.split_whitespace().collect::<Vec<_>>().join(" "));
    Ok(Mail {
        key,
        from,
        subject,
        text,
        attachments,
        delivery,
        authentication_results,
    })
}

/// The worst `Action:` of a delivery report's recipients (RFC 3464
/// §2.3.3): `failed`, else `delayed`, else the first (`delivered`,
/// `relayed`, `expanded`).
fn delivery_action(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let actions: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("action")
                .then(|| value.trim().to_ascii_lowercase())
        })
        .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphabetic()))
        .collect();
    ["failed", "delayed"]
        .iter()
        .find(|worst| actions.iter().any(|a| a == *worst))
        .map(|a| (*a).to_owned())
        .or_else(|| actions.into_iter().next())
}

/// What of a message is paged: its own words, without the message it
/// quotes (`> …` lines, "On … wrote:" and what follows, an "Original
/// Message" block) or the signature (from a `-- ` line, or a "Sent from
/// my …" line).
pub fn trim_reply(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        let lower = t.to_lowercase();
        let quoted_header = (lower.starts_with("on ") && lower.ends_with("wrote:"))
            || lower.starts_with("-----original message")
            || (lower.starts_with("from:") && kept.last().is_some_and(|l| l.trim().is_empty()));
        let signature =
            line == "-- " || line == "--" || t == "__" || lower.starts_with("sent from my ");
        if quoted_header || signature {
            break;
        }
        if t.starts_with('>') {
            continue;
        }
        kept.push(line);
    }
    kept.join("\n").trim().to_owned()
}

/// The page token an email reply carries: in a recipient's address
/// (`page+TOKEN@…`) or as a word of the subject.
pub fn page_token<'a>(recipients: &'a [String], subject: &'a str) -> Option<&'a str> {
    let is_token = |w: &str| w.len() == 32 && w.bytes().all(|b| b.is_ascii_hexdigit());
    recipients
        .iter()
        .filter_map(|r| r.split_once('@').map(|(local, _)| local))
        .filter_map(|local| local.strip_prefix("page+"))
        .chain(subject.split(|c: char| !c.is_ascii_alphanumeric()))
        .find(|w| is_token(w))
}

/// The subject without the "Re:"/"Fwd:" prefixes a mail client adds, so
/// a reply code written there can be read.
pub fn subject_words(subject: &str) -> &str {
    let mut s = subject.trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let Some(n) = ["re:", "fw:", "fwd:", "aw:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len())
        else {
            return s;
        };
        s = s[n..].trim_start();
    }
}

/// What the timeline notes of attachments that were not kept.
pub fn attachments_note(attachments: &[Attachment]) -> Option<String> {
    if attachments.is_empty() {
        return None;
    }
    let list: Vec<String> = attachments
        .iter()
        .map(|a| format!("{} ({})", a.name, size(a.size)))
        .collect();
    Some(format!("[attachments not kept: {}]", list.join(", ")))
}

fn size(bytes: usize) -> String {
    match bytes {
        b if b < 1024 => format!("{b} bytes"),
        b if b < 1024 * 1024 => format!("{} KB", b.div_ceil(1024)),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_replies_and_signatures_are_not_paged() {
        let text =
            "Mum is more breathless tonight.\nShe can't lie flat.\n\n-- \nSian Evans\n07700 900802";
        assert_eq!(
            trim_reply(text),
            "Mum is more breathless tonight.\nShe can't lie flat."
        );
        let reply = "A12 on my way\n\nOn Sat, 28 Nov 2026 at 19:05, Nightingale wrote:\n> Page 12: carer of Margaret Evans";
        assert_eq!(trim_reply(reply), "A12 on my way");
        let outlook = "Thanks\n\n-----Original Message-----\nFrom: Nightingale";
        assert_eq!(trim_reply(outlook), "Thanks");
        assert_eq!(trim_reply("Fine\n\nSent from my iPhone"), "Fine");
    }

    #[test]
    fn a_token_is_read_from_the_reply_address_or_the_subject() {
        let token = "0123456789abcdef0123456789abcdef";
        let to = vec![format!("page+{token}@nightingale.nhs.uk")];
        assert_eq!(page_token(&to, "Re: Page 12"), Some(token));
        let subject = format!("Re: A12 [{token}]");
        assert_eq!(page_token(&[], &subject), Some(token));
        assert_eq!(page_token(&["page+short@x.org".into()], "A12"), None);
        assert_eq!(subject_words("RE: Fwd: A12 on my way"), "A12 on my way");
    }

    #[test]
    fn a_delivery_report_says_what_became_of_the_message() {
        let report = |actions: &[&str]| {
            let fields: String = actions
                .iter()
                .map(|a| format!("Final-Recipient: rfc822; x@nhs.example\r\nAction: {a}\r\nStatus: 5.1.1\r\n\r\n"))
                .collect();
            format!(
                "From: MAILER-DAEMON@relay.example\r\nTo: bounce+7.ab@nightingale.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example\r\n\r\n{fields}--b--\r\n"
            )
        };
        let read_action = |actions: &[&str]| read(report(actions).as_bytes()).unwrap().delivery;
        assert_eq!(read_action(&["failed"]).as_deref(), Some("failed"));
        assert_eq!(read_action(&["delayed"]).as_deref(), Some("delayed"));
        assert_eq!(
            read_action(&["delivered", "failed"]).as_deref(),
            Some("failed")
        );
        assert_eq!(read_action(&["relayed"]).as_deref(), Some("relayed"));
        let plain = read(b"From: a@example.org\r\nSubject: x\r\n\r\nAction: failed\r\n").unwrap();
        assert_eq!(plain.delivery, None, "only a report is read as one");
    }

    #[test]
    fn a_huge_email_is_read_as_its_first_16_kb_and_a_note() {
        let body = "My leg is swollen and hot.\r\n".repeat(9 * 1024 * 1024 / 28);
        let raw = format!(
            "From: stranger@example.org\r\nSubject: {}\r\nMessage-ID: <big@example.org>\r\n\r\n{body}",
            "help ".repeat(1000)
        );
        let mail = read(raw.as_bytes()).unwrap();
        assert!(mail.text.len() <= crate::templates::MAX_MESSAGE_BYTES);
        assert!(mail.text.starts_with("My leg is swollen and hot.\nMy leg"));
        assert!(
            mail.text
                .ends_with(" KB, was not kept: ask the sender by phone]"),
            "{}",
            &mail.text[mail.text.len() - 200..]
        );
        assert!(mail.subject.chars().count() <= crate::templates::SUMMARY_CHARS + 3);
    }

    #[test]
    fn html_only_mail_in_latin_1_is_read_as_text() {
        let raw = b"From: =?ISO-8859-1?Q?Si=E2n_Evans?= <sian@example.org>\r\n\
Subject: =?ISO-8859-1?Q?Mam's_pi=E8ce?=\r\n\
Message-ID: <x1@example.org>\r\n\
Content-Type: text/html; charset=ISO-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\n\
<html><body><p>Caf=E9 &amp; breathless</p></body></html>\r\n";
        let mail = read(raw).unwrap();
        assert_eq!(mail.from.as_str(), "sian@example.org");
        assert_eq!(mail.subject, "Mam's pièce");
        assert!(mail.text.contains("Café & breathless"), "{:?}", mail.text);
        assert_eq!(mail.key, "email:x1@example.org");
    }
}
