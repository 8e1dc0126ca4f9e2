//! What the text log prints of a field, and of a request's path.
//!
//! A log line is one line, whatever a sender put in a field: control
//! characters in a value (an email's `Message-ID` can carry raw `ESC`
//! bytes, which a terminal would obey) are written escaped, as `\u{1b}`,
//! so nobody can colour, move the cursor in or forge a line of an
//! operator's log. JSON logs need nothing of this: JSON escapes them.
//!
//! A request's path is logged as [`loggable_path`] gives it: the calendar
//! feed's path is its secret (`/calendar/TOKEN.ics`), so it is never
//! logged, on any line, a `5xx` included.
//!
//! A typed error is logged as [`Report`] writes it: the error and each of
//! its sources, on one line.

use std::borrow::Cow;
use std::fmt::Write as _;

use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// The text log's field formatter: `name=value` for each field and the
/// message bare, as tracing's default does, with every control character
/// in a value escaped.
pub fn text_fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    tracing_subscriber::fmt::format::debug_fn(
        |w: &mut Writer<'_>, field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
            let raw = format!("{value:?}");
            let text = escape_controls(&raw);
            match field.name() {
                "message" => write!(w, "{text}"),
                name => write!(w, "{name}={text}"),
            }
        },
    )
    .delimited(" ")
}

/// `text` with each control character (C0, DEL and C1: `ESC`, `CR`,
/// `LF`, `NUL`…) written as a Rust escape, so it prints on one line as
/// itself and does nothing to a terminal.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The path of a request as it may be logged: a calendar feed's token
/// (the path is the credential) is left out; every other path is as sent.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    match path.strip_prefix("/calendar/") {
        Some(rest) if !rest.is_empty() => Cow::Borrowed("/calendar/[token]"),
        _ => Cow::Borrowed(path),
    }
}

/// An error and its causes on one line (`handling …: writing to the store:
/// store unavailable: …`), as `anyhow` writes `{:#}`: for logs, and for a
/// reason kept with an item set aside.
pub struct Report<'a>(pub &'a (dyn std::error::Error + Send + Sync + 'static));

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escape_sequence_in_a_message_id_prints_as_text_on_one_line() {
        let id = "<\u{1b}[2J\u{1b}[31mforged\r\nINFO admin signed in@x>";
        let escaped = escape_controls(id);
        assert!(!escaped.chars().any(char::is_control), "{escaped}");
        assert_eq!(
            escaped,
            "<\\u{1b}[2J\\u{1b}[31mforged\\r\\nINFO admin signed in@x>"
        );
        assert!(matches!(escape_controls("plain words"), Cow::Borrowed(_)));
        // C1 controls and DEL too; letters of other scripts are left alone.
        assert_eq!(
            escape_controls("a\u{9b}b\u{7f}c é ŵ"),
            "a\\u{9b}b\\u{7f}c é ŵ"
        );
    }

    #[test]
    fn a_log_line_with_an_escape_in_a_field_is_one_line_of_plain_text() {
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let out = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(text_fields())
            .with_ansi(false)
            .without_time()
            .with_writer(move || out.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let key = "email:<a\u{1b}[2Jb\r\nINFO forged@x>";
            let span = tracing::info_span!("http", path = %loggable_path("/calendar/s3cret.ics"));
            let _in = span.enter();
            tracing::info!(key = %key, duplicate = false, "email stored");
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text:?}");
        assert!(!text.trim_end().chars().any(char::is_control), "{text:?}");
        assert!(
            text.contains(
                "http{path=/calendar/[token]}: nightingale::logs::tests: email stored key=email:<a\\u{1b}[2Jb\\r\\nINFO forged@x> duplicate=false"
            ),
            "{text:?}"
        );
        assert!(!text.contains("s3cret"), "{text:?}");
    }

    #[test]
    fn a_calendar_feed_path_is_never_logged_but_other_paths_are() {
        assert_eq!(
            loggable_path("/calendar/3q2-Xs9_secret.ics"),
            "/calendar/[token]"
        );
        assert_eq!(loggable_path("/calendar/"), "/calendar/");
        assert_eq!(loggable_path("/staff/calendar"), "/staff/calendar");
        assert_eq!(loggable_path("/c/12"), "/c/12");
    }
}
