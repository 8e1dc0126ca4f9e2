//! Security headers on every response, as one layer so that no page (a
//! refusal, a 404, an error page) can be served without them.
//!
//! - `Content-Security-Policy`: nothing may load or run (`default-src
//!   'none'`) but a caller's voicemail from us (`media-src 'self'`), forms
//!   post only to us, no page may be framed. An HTML page may load our own
//!   stylesheets, scripts and images (`/assets/`, served from this origin),
//!   and its scripts may fetch from us; nothing from anywhere else, and no
//!   inline script. An inline `<style>` block is allowed by its SHA-256,
//!   computed from the page being sent, so a `<style>` that was not in a
//!   template (one a patient typed is escaped, but still) is not allowed.
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` (a
//!   page link's signature is in its URL: it must not leave in a
//!   `Referer`), `Cache-Control: no-store` (patient details must not stay
//!   in a shared or phone cache), unless the response set its own (the
//!   static files under `/assets/`, which hold no patient data).

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The policy of every response; HTML pages add their style hashes.
const POLICY: &str = "default-src 'none'; media-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// What an HTML page may load besides: our own CSS, scripts and images,
/// and fetches (live updates) from us.
const PAGE_POLICY: &str = "img-src 'self'; script-src 'self'; connect-src 'self'";

/// The largest page whose styles are hashed; ours are a few KB.
const MAX_PAGE: usize = 1024 * 1024;

/// Add the security headers to a response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let (mut parts, body) = response.into_parts();
    let is_html = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let (policy, body) = if is_html {
        match to_bytes(body, MAX_PAGE).await {
            Ok(html) => (policy_for(&html), Body::from(html)),
            Err(e) => {
                tracing::error!(error = %e, "page could not be read to set its security policy");
                (POLICY.to_owned(), Body::empty())
            }
        }
    } else {
        (POLICY.to_owned(), body)
    };
    set(&mut parts.headers, policy);
    Response::from_parts(parts, body)
}

fn set(headers: &mut HeaderMap, policy: String) {
    if let Ok(value) = HeaderValue::try_from(policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The policy for one HTML page: [`POLICY`], [`PAGE_POLICY`], and our
/// own stylesheets plus the hash of each inline `<style>` block in it.
fn policy_for(html: &[u8]) -> String {
    let hashes: Vec<String> = style_blocks(html)
        .map(|css| {
            format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css))
            )
        })
        .collect();
    let mut styles = vec!["'self'".to_owned()];
    styles.extend(hashes);
    format!("{POLICY}; {PAGE_POLICY}; style-src {}", styles.join(" "))
}

/// The contents of each `<style>…</style>` element, as the browser hashes them.
fn style_blocks(html: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = html;
    std::iter::from_fn(move || {
        let open = find(rest, b"<style")?;
        let after_tag = open + find(&rest[open..], b">")? + 1;
        let close = after_tag + find(&rest[after_tag..], b"</style>")?;
        let css = &rest[after_tag..close];
        rest = &rest[close..];
        Some(css)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_inline_style_is_allowed_by_its_hash_and_nothing_else_is() {
        let html = b"<html><head><style>body { color: red; }</style><style media=\"print\">p{}</style></head></html>";
        let blocks: Vec<&[u8]> = style_blocks(html).collect();
        assert_eq!(blocks, [&b"body { color: red; }"[..], &b"p{}"[..]]);
        let policy = policy_for(html);
        assert!(policy.starts_with("default-src 'none';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        let red = base64::engine::general_purpose::STANDARD
            .encode(Sha256::digest(b"body { color: red; }"));
        assert!(
            policy.contains(&format!("style-src 'self' 'sha256-{red}' 'sha256-")),
            "{policy}"
        );
        let plain = policy_for(b"<p>no styles</p>");
        assert!(plain.starts_with(POLICY), "{plain}");
        assert!(
            plain.ends_with("script-src 'self'; connect-src 'self'; style-src 'self'"),
            "{plain}"
        );
        assert!(!plain.contains("unsafe"), "{plain}");
    }
}
