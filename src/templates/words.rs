//! The few words the code puts into what it builds when it has no name to
//! give, or must join names it was given: they live in `templates/words/`
//! like every other text. The fixed ones ([`Fallbacks`]) are rendered once,
//! when the templates load, so reading them cannot fail.

use super::Templates;

/// What says that a thing has no name, from `words/fallbacks.txt`.
#[derive(Debug, Clone, Default)]
pub struct Fallbacks {
    /// A concern's service when it has none (a stranger's), as a page
    /// heads it: "Out-of-hours service".
    pub service: String,
    /// The same within a clinician's text or email: "out-of-hours service".
    pub service_in_text: String,
    /// Whom a concern is about when nobody enrolled its sender: "Unknown sender".
    pub unknown_sender: String,
}

const FALLBACKS: &str = "words/fallbacks.txt";

impl Fallbacks {
    /// Each fallback, rendered.
    pub(super) fn render(templates: &Templates) -> Result<Self, super::TemplateError> {
        let word = |what: &str| templates.render(FALLBACKS, minijinja::context! { what });
        Ok(Self {
            service: word("service")?,
            service_in_text: word("service_in_text")?,
            unknown_sender: word("unknown_sender")?,
        })
    }
}

impl Templates {
    /// The words that stand in for a missing name (see [`Fallbacks`]).
    pub fn fallbacks(&self) -> &Fallbacks {
        &self.fallbacks
    }

    /// People at a step as a page names them (`words/named.txt`): "the
    /// cardiology registrar" when a `role` is given, else their `names`
    /// ("Chen Li or Amara Okafor").
    pub fn named(
        &self,
        role: Option<&str>,
        names: &[&str],
    ) -> Result<String, super::TemplateError> {
        self.render("words/named.txt", minijinja::context! { role, names })
    }

    /// An email from a patient or carer as its concern keeps it
    /// (`words/email_kept.txt`): its subject, if any, its text, and the
    /// note of the attachments not kept, if any.
    pub fn email_kept(
        &self,
        subject: &str,
        text: &str,
        attachments: Option<&str>,
    ) -> Result<String, super::TemplateError> {
        self.render(
            "words/email_kept.txt",
            minijinja::context! { subject, text, attachments },
        )
    }

    /// An email's words as a page quotes them, and how many attachments
    /// came with it (`words/email_paged.txt`).
    pub fn email_paged(
        &self,
        words: &str,
        attachments: u32,
    ) -> Result<String, super::TemplateError> {
        self.render(
            "words/email_paged.txt",
            minijinja::context! { words, attachments },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::templates;

    /// Each as Rust wrote it before its words moved to templates.
    #[test]
    fn the_words_read_as_they_did_when_rust_wrote_them() {
        let t = templates();
        let f = t.fallbacks();
        assert_eq!(f.service, "Out-of-hours service");
        assert_eq!(f.service_in_text, "out-of-hours service");
        assert_eq!(f.unknown_sender, "Unknown sender");

        let named = |role, names: &[&str]| t.named(role, names).unwrap();
        assert_eq!(
            named(Some("Cardiology registrar"), &["Chen Li"]),
            "the cardiology registrar"
        );
        assert_eq!(named(Some("ÉCG nurse"), &["Chen Li"]), "the éCG nurse");
        assert_eq!(named(None, &["Chen Li"]), "Chen Li");
        assert_eq!(
            named(None, &["Chen Li", "Amara Okafor", "Sam Patel"]),
            "Chen Li or Amara Okafor or Sam Patel"
        );
        assert_eq!(named(None, &[]), "");

        let kept = |subject, text, note| t.email_kept(subject, text, note).unwrap();
        assert_eq!(kept("", "Mum is worse", None), "Mum is worse");
        assert_eq!(
            kept("Mum", "is worse\n\nSian", None),
            "Subject: Mum\n\nis worse\n\nSian"
        );
        assert_eq!(
            kept("Mum", "", Some("[attachments not kept: a.pdf (2 KB)]")),
            "Subject: Mum\n\n\n\n[attachments not kept: a.pdf (2 KB)]"
        );
        assert_eq!(
            kept("", "hi", Some("[attachments not kept: a.pdf (2 KB)]")),
            "hi\n\n[attachments not kept: a.pdf (2 KB)]"
        );

        let paged = |words, n| t.email_paged(words, n).unwrap();
        assert_eq!(paged("Mum: is worse", 0), "Mum: is worse");
        assert_eq!(
            paged("Mum: is worse", 1),
            "Mum: is worse [and an attachment, not kept]"
        );
        assert_eq!(paged("", 3), " [and 3 attachments, not kept]");
    }
}
