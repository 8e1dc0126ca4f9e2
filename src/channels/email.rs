//! Email out: pages and notices that go to an address (ADR 15), sent over
//! SMTP by lettre (`NIGHTINGALE_SMTP_URL`, `NIGHTINGALE_EMAIL_FROM`).
//!
//! An outbox item to an email address carries an [`EmailBody`] (its
//! subject, plain text, HTML alternative and reply address, rendered from
//! `templates/email/`). What only the sending knows is added as it goes
//! out ([`OutgoingEmail`]): its `Message-ID`, which names the outbox item
//! and is signed, so a bounce can name it back; the concern's thread, so a
//! mail client keeps a concern as one conversation; and the envelope
//! sender, `bounce+ID.TAG@DOMAIN` (VERP), where delivery reports come back
//! to our own listener.
//!
//! The mail server's answer is the outcome: `250` sent; a `4xx` (or no
//! answer at all) is retried by the outbox with its policy; a `5xx` is
//! refused for good, which for a page fails over to the person's next
//! contact method, as an undelivered text does.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::{SendFuture, SendOutcome};
use crate::clock::Instant;
use crate::directory::Language;
use crate::templates::{TemplateError, Templates};

/// An email as the outbox keeps it: everything rendered, as JSON in the item's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailBody {
    /// The subject: one per concern and reader, so the thread reads as one.
    pub subject: String,
    /// The plain text part.
    pub text: String,
    /// The HTML alternative.
    pub html: String,
    /// Where a reply goes (`page+TOKEN@DOMAIN` for a page), if not `From`.
    #[serde(default)]
    pub reply_to: Option<String>,
}

impl EmailBody {
    /// The email `email/NAME` words: its subject from
    /// `email/NAME_subject.txt` (on one line), its plain text from
    /// `email/NAME.txt` and its HTML from `email/NAME.html`, all with
    /// `context`.
    pub fn render(
        templates: &Templates,
        name: &str,
        context: &minijinja::Value,
        reply_to: Option<String>,
    ) -> Result<Self, TemplateError> {
        Self::render_in(templates, Language::En, name, context, reply_to)
    }

    /// As [`EmailBody::render`], in `language` where it is translated.
    pub fn render_in(
        templates: &Templates,
        language: Language,
        name: &str,
        context: &minijinja::Value,
        reply_to: Option<String>,
    ) -> Result<Self, TemplateError> {
        let render = |file: String| templates.render_in(language, &file, context);
        Ok(Self {
            subject: one_line(&render(format!("email/{name}_subject.txt"))?),
            text: render(format!("email/{name}.txt"))?,
            html: render(format!("email/{name}.html"))?,
            reply_to,
        })
    }

    /// As the outbox stores it.
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Read back from an outbox item's body.
    pub fn from_body(body: &str) -> Option<Self> {
        serde_json::from_str(body).ok()
    }
}

/// Who our emails come from, and the domain our listener takes mail for
/// (the first of `NIGHTINGALE_EMAIL_DOMAIN`): where replies and bounces
/// come back to, and what our `Message-ID`s end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailIdentity {
    /// `NIGHTINGALE_EMAIL_FROM`, e.g. `Nightingale <nightingale@trust.nhs.uk>`.
    pub from: String,
    /// Our listener's first domain, if it runs.
    pub domain: Option<String>,
}

impl EmailIdentity {
    /// The domain ids are made under: ours, or else `From`'s.
    pub fn id_domain(&self) -> &str {
        self.domain.as_deref().unwrap_or_else(|| {
            self.from
                .trim_end_matches('>')
                .rsplit_once('@')
                .map_or("nightingale.invalid", |(_, d)| d)
        })
    }

    /// Where patients and carers write to us: `From` when our listener
    /// takes its domain, or else `nightingale@` our first domain; `None`
    /// without a listener, when nothing written to us is read.
    pub fn reply_address(&self) -> Option<String> {
        let domain = self.domain.as_ref()?;
        let from = bare_address(&self.from);
        let ours = from
            .rsplit_once('@')
            .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain));
        Some(if ours {
            from.to_owned()
        } else {
            format!("nightingale@{domain}")
        })
    }

    /// The reply address of a page (`page+TOKEN@DOMAIN`), when our
    /// listener takes replies.
    pub fn page_reply_to(&self, token: &str) -> Option<String> {
        let domain = self.domain.as_ref()?;
        Some(format!("page+{token}@{domain}"))
    }

    /// The `Message-ID` (without brackets) of outbox item `id`, signed
    /// with `tag`: also its provider id, which a bounce finds it by.
    pub fn message_id(&self, id: i64, tag: &str) -> String {
        format!("{id}.{tag}@{}", self.id_domain())
    }

    /// The root of a concern's thread: every email about it names this in
    /// `In-Reply-To` and `References`.
    pub fn thread_root(&self, concern: &str) -> String {
        format!("concern.{concern}@{}", self.id_domain())
    }

    /// The envelope sender of outbox item `id` (VERP): bounces come back
    /// to our listener naming the item; without a listener, `From`.
    pub fn envelope_from(&self, id: i64, tag: &str) -> String {
        match &self.domain {
            Some(domain) => format!("bounce+{id}.{tag}@{domain}"),
            None => bare_address(&self.from).to_owned(),
        }
    }
}

/// The outbox item a bounce address (`bounce+ID.TAG@DOMAIN`) names: its
/// id, its tag, and the provider id ([`EmailIdentity::message_id`]) it was
/// sent under.
pub fn bounced_item(recipient: &str) -> Option<(i64, &str, String)> {
    let (local, domain) = recipient.rsplit_once('@')?;
    let (id, tag) = local.strip_prefix("bounce+")?.split_once('.')?;
    let id: i64 = id.parse().ok()?;
    Some((
        id,
        tag,
        format!("{id}.{tag}@{}", domain.to_ascii_lowercase()),
    ))
}

/// A rendered subject on one line, its spaces single: a header cannot
/// break where a template did.
pub fn one_line(subject: &str) -> String {
    subject.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The address inside `Name <address>`, or the whole.
fn bare_address(mailbox: &str) -> &str {
    match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(a), Some(b)) if a < b => &mailbox[a + 1..b],
        _ => mailbox.trim(),
    }
}

/// One email, ready to go.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// The envelope sender (`MAIL FROM`).
    pub envelope_from: String,
    /// The `From` header.
    pub from: String,
    /// The recipient.
    pub to: String,
    /// Its `Message-ID`, without brackets.
    pub message_id: String,
    /// The thread it belongs to (`In-Reply-To`, `References`), without brackets.
    pub thread: Option<String>,
    /// Its `Date`.
    pub date: Instant,
    /// What it says.
    pub body: EmailBody,
}

impl std::fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("message_id", &self.message_id)
            .finish_non_exhaustive()
    }
}

/// Sends email.
pub trait EmailSender: Send + Sync + 'static {
    /// Make one attempt to hand `mail` to the mail server. Never retries
    /// itself: retries are the outbox's.
    fn send<'a>(&'a self, mail: &'a OutgoingEmail) -> SendFuture<'a>;

    /// A name for logs.
    fn name(&self) -> &'static str;
}

/// The sender when no mail server is configured: every email is refused
/// for good, so a page to an address fails over at once (and none is
/// planned: email is no way to page anyone without a server).
#[derive(Debug, Default)]
pub struct NoMailServer;

impl EmailSender for NoMailServer {
    fn send<'a>(&'a self, _mail: &'a OutgoingEmail) -> SendFuture<'a> {
        Box::pin(async {
            SendOutcome::Permanent {
                code: None,
                reason: "not sent: no mail server is configured (NIGHTINGALE_SMTP_URL)".to_owned(),
            }
        })
    }

    fn name(&self) -> &'static str {
        "none"
    }
}

/// Email over SMTP, through lettre's pooled async transport.
pub struct SmtpSender {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
}

impl SmtpSender {
    /// A sender to the server `url` names (`smtp://host:25`,
    /// `smtp://host:587?tls=required`, `smtps://user:pass@host`), greeting
    /// it as `hello`, waiting at most `timeout` for each answer.
    pub fn new(url: &str, hello: &str, timeout: Duration) -> anyhow::Result<Self> {
        use lettre::transport::smtp::extension::ClientId;
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("NIGHTINGALE_SMTP_URL is not understood ({e}): write smtp://HOST:PORT, smtp://HOST:587?tls=required or smtps://USER:PASSWORD@HOST"))?
            .hello_name(ClientId::Domain(hello.to_owned()))
            .timeout(Some(timeout))
            .build();
        Ok(Self { transport })
    }
}

impl EmailSender for SmtpSender {
    fn send<'a>(&'a self, mail: &'a OutgoingEmail) -> SendFuture<'a> {
        Box::pin(async move {
            use lettre::AsyncTransport;
            let message = match message(mail) {
                Ok(m) => m,
                Err(e) => {
                    return SendOutcome::Permanent {
                        code: None,
                        reason: e.to_string(),
                    };
                }
            };
            match self.transport.send(message).await {
                Ok(_) => SendOutcome::Accepted {
                    provider_id: mail.message_id.clone(),
                },
                Err(e) => outcome_of(&e),
            }
        })
    }

    fn name(&self) -> &'static str {
        "smtp"
    }
}

/// What a mail server's refusal means for the outbox: `5xx` is for good,
/// anything else (a `4xx`, a timeout, no connection) may work later.
fn outcome_of(e: &lettre::transport::smtp::Error) -> SendOutcome {
    let code = e.status().map(|c| c.to_string());
    let reason = match &code {
        Some(code) => format!("the mail server answered {code}"),
        None if e.is_timeout() => "the mail server did not answer in time".to_owned(),
        None => "the mail server could not be reached".to_owned(),
    };
    if e.is_permanent() {
        SendOutcome::Permanent {
            code: code.and_then(|c| c.parse().ok()),
            reason: format!("{reason}: refused for good"),
        }
    } else {
        SendOutcome::Retryable {
            reason,
            retry_after: None,
        }
    }
}

/// The message lettre sends: plain text with an HTML alternative.
fn message(mail: &OutgoingEmail) -> Result<lettre::Message, Unbuildable> {
    use lettre::message::{Mailbox, MultiPart};
    let mailbox = |s: &str, what| -> Result<Mailbox, Unbuildable> {
        s.parse().map_err(|_| Unbuildable::NotAnAddress(what))
    };
    let address = |s: &str, what| -> Result<lettre::Address, Unbuildable> {
        s.parse().map_err(|_| Unbuildable::NotAnAddress(what))
    };
    let to = address(&mail.to, "recipient's")?;
    let envelope = lettre::address::Envelope::new(
        Some(address(&mail.envelope_from, "envelope sender's")?),
        vec![to.clone()],
    )
    .map_err(Unbuildable::Envelope)?;
    let mut builder = lettre::Message::builder()
        .from(mailbox(&mail.from, "From")?)
        .to(Mailbox::new(None, to))
        .subject(mail.body.subject.clone())
        .date(SystemTime::from(mail.date))
        .message_id(Some(format!("<{}>", mail.message_id)))
        .envelope(envelope);
    if let Some(reply_to) = &mail.body.reply_to {
        builder = builder.reply_to(mailbox(reply_to, "Reply-To")?);
    }
    if let Some(thread) = &mail.thread {
        builder = builder
            .in_reply_to(format!("<{thread}>"))
            .references(format!("<{thread}>"));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            mail.body.text.clone(),
            mail.body.html.clone(),
        ))
        .map_err(Unbuildable::Message)
}

/// Why lettre cannot make a message of an email: refused for good, with
/// what was wrong.
#[derive(Debug, thiserror::Error)]
enum Unbuildable {
    /// An address (named by its part: "recipient's", "From", …) that does not parse.
    #[error("not sent: the {0} address is not one")]
    NotAnAddress(&'static str),
    /// An envelope lettre refuses.
    #[error("not sent: {0}")]
    Envelope(lettre::error::Error),
    /// A message lettre cannot build.
    #[error("not sent: the email could not be built ({0})")]
    Message(lettre::error::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(domain: Option<&str>) -> EmailIdentity {
        EmailIdentity {
            from: "Nightingale <nightingale@trust.example>".to_owned(),
            domain: domain.map(str::to_owned),
        }
    }

    #[test]
    fn a_bounce_address_names_the_item_and_its_message_id() {
        let us = identity(Some("nightingale.test"));
        let envelope = us.envelope_from(42, "00ff");
        assert_eq!(envelope, "bounce+42.00ff@nightingale.test");
        let (id, tag, message_id) = bounced_item(&envelope).unwrap();
        assert_eq!((id, tag), (42, "00ff"));
        assert_eq!(message_id, us.message_id(42, "00ff"));
        assert!(bounced_item("page+abc@nightingale.test").is_none());
        assert!(bounced_item("bounce+x.1@nightingale.test").is_none());
    }

    #[test]
    fn without_a_listener_bounces_go_to_from_and_ids_use_its_domain() {
        let us = identity(None);
        assert_eq!(us.envelope_from(1, "aa"), "nightingale@trust.example");
        assert_eq!(us.message_id(1, "aa"), "1.aa@trust.example");
        assert_eq!(us.page_reply_to("t"), None);
    }

    #[test]
    fn a_message_has_both_parts_its_thread_and_its_reply_address() {
        let mail = OutgoingEmail {
            envelope_from: "bounce+7.ab@nightingale.test".to_owned(),
            from: "Nightingale <nightingale@nightingale.test>".to_owned(),
            to: "isla@nhs.example".to_owned(),
            message_id: "7.ab@nightingale.test".to_owned(),
            thread: Some("concern.c1@nightingale.test".to_owned()),
            date: chrono::DateTime::from_timestamp(1_764_358_800, 0).unwrap(),
            body: EmailBody {
                subject: "Concern 12: Margaret".to_owned(),
                text: "Reply A12".to_owned(),
                html: "<p>Reply A12</p>".to_owned(),
                reply_to: Some("page+0123@nightingale.test".to_owned()),
            },
        };
        let m = message(&mail).unwrap();
        assert_eq!(
            m.envelope().from().map(|a| a.to_string()).as_deref(),
            Some("bounce+7.ab@nightingale.test")
        );
        let raw = String::from_utf8(m.formatted()).unwrap();
        for header in [
            "Message-ID: <7.ab@nightingale.test>",
            "In-Reply-To: <concern.c1@nightingale.test>",
            "References: <concern.c1@nightingale.test>",
            "Reply-To: page+0123@nightingale.test",
            "multipart/alternative",
            "text/html",
        ] {
            assert!(raw.contains(header), "{header} in {raw}");
        }
    }
}
