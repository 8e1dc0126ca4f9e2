//! Security headers on every response, as one layer so that no page (a
//! refusal, a 404, an error page) can be served without them.
//!
//! - `Content-Security-Policy`: nothing may load or run (`default-src
//!   'none'`) but a caller's voicemail from us (`media-src 'self'`), forms
//!   post only to us, no page may be framed. An HTML page may load our own
//!   stylesheets, scripts and images (`/assets/`, served from this origin),
//!   and its scripts may fetch from us; nothing from anywhere else, no
//!   inline script and no inline style: every style is in our stylesheets
//!   (`assets/site.css`), so a `<style>` a patient typed (escaped, but
//!   still) could never apply. The policy is fixed, so a page streams
//!   through this layer as it is written: nothing is buffered, and a page
//!   of any size is sent whole (ADR 18).
//! - `Strict-Transport-Security` when `NIGHTINGALE_PUBLIC_URL` is `https`:
//!   a browser that has seen us once then never speaks to us in clear, for
//!   a year, on this host and those under it. Not over plain `http` (a
//!   trial on a laptop), where a browser ignores it anyway.
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` (a
//!   page link's signature is in its URL: it must not leave in a
//!   `Referer`), `Cache-Control: no-store` (patient details must not stay
//!   in a shared or phone cache), unless the response set its own (the
//!   static files under `/assets/`, which hold no patient data).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of every response but an HTML page.
const POLICY: &str = "default-src 'none'; media-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The policy of an HTML page: [`POLICY`], and our own CSS, scripts and
/// images, and fetches (live updates) from us.
const PAGE_POLICY: &str = "default-src 'none'; media-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; img-src 'self'; script-src 'self'; connect-src 'self'; style-src 'self'";

/// `Strict-Transport-Security` when we are served over https: a year,
/// with the hosts under ours.
pub const HSTS: &str = "max-age=31536000; includeSubDomains";

/// What the layer adds beyond the fixed headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Security {
    /// Whether to send [`HSTS`]: the public URL is `https`.
    hsts: bool,
}

impl Security {
    /// The headers for a service reached at `public_url`
    /// (`NIGHTINGALE_PUBLIC_URL`).
    pub fn for_public_url(public_url: &str) -> Self {
        let scheme = public_url.split_once("://").map_or("", |(s, _)| s);
        Self {
            hsts: scheme.eq_ignore_ascii_case("https"),
        }
    }
}

/// Add the security headers to a response; its body passes untouched.
pub async fn security_headers(
    State(security): State<Security>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    set(response.headers_mut(), security);
    response
}

fn set(headers: &mut HeaderMap, security: Security) {
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let policy = if is_html { PAGE_POLICY } else { POLICY };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
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
    if security.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_of(content_type: &str, security: Security) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        set(&mut headers, security);
        headers
    }

    #[test]
    fn a_page_may_use_our_own_files_and_nothing_inline() {
        let http = Security::for_public_url("http://localhost:8080");
        let page = headers_of("text/html; charset=utf-8", http);
        let csp = page[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.starts_with(POLICY),
            "the page policy adds to the base: {csp}"
        );
        assert!(csp.ends_with("style-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe") && !csp.contains("sha256"), "{csp}");
        let json = headers_of("application/json", http);
        assert_eq!(json[header::CONTENT_SECURITY_POLICY], POLICY);
        assert_eq!(json[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn browsers_are_told_to_keep_to_https_only_when_we_are_served_over_it() {
        let https = Security::for_public_url("HTTPS://nightingale.trust.nhs.uk");
        assert_eq!(
            headers_of("text/plain", https)[header::STRICT_TRANSPORT_SECURITY],
            HSTS
        );
        for url in ["http://localhost:8080", "nightingale.test", ""] {
            let plain = headers_of("text/plain", Security::for_public_url(url));
            assert!(
                !plain.contains_key(header::STRICT_TRANSPORT_SECURITY),
                "{url}"
            );
        }
    }
}
