//! Texts people read — SMS, TwiML, pages — rendered from `templates/`.
//!
//! The directory is read at start-up (a missing or broken template stops the
//! service before it takes a message) and can be edited without a rebuild.
//! `.html` and `.xml` templates are auto-escaped.

use std::path::Path;

use anyhow::Context;
use minijinja::Environment;
use serde::Serialize;

/// Every template the service uses; checked at start-up.
pub const REQUIRED: &[&str] = &[
    "sms/welcome.txt",
    "sms/received.txt",
    "sms/received_unknown.txt",
    "sms/red_flag.txt",
    "sms/accepted.txt",
    "sms/call_111.txt",
    "sms/page.txt",
    "sms/forward.txt",
    "sms/taken.txt",
    "sms/already_accepted.txt",
    "sms/you_have_it.txt",
    "sms/reminder.txt",
    "sms/resolved_by.txt",
    "sms/already_resolved.txt",
    "sms/help.txt",
    "twiml/empty.xml",
    "pages/concern.html",
    "pages/message.html",
];

/// The loaded templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Load every template under `dir`, failing with the name of any that is missing or broken.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        env.set_loader(minijinja::path_loader(dir));
        env.set_trim_blocks(true);
        env.set_keep_trailing_newline(false);
        for name in REQUIRED {
            env.get_template(name)
                .with_context(|| format!("template {} in {}", name, dir.display()))?;
        }
        Ok(Self { env })
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
        Ok(if name.starts_with("sms/") {
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        } else {
            text
        })
    }
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
}
