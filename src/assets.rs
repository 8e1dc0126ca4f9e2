//! The static files pages load: the NHS.UK frontend's compiled CSS
//! (vendored, with its licence, in `assets/vendor/nhsuk-frontend/`) and
//! Nightingale's own few lines of layout and script (`assets/`).
//!
//! The NHS.UK stylesheet is served without its `@font-face` rules: they
//! name the NHS's Frutiger web font at assets.nhs.uk, which is licensed
//! for NHS.UK's own sites (it is not in the npm package, so it cannot be
//! served from here), and a page here may load nothing from elsewhere.
//! Left in, they cost every page four refused requests in the browser's
//! console; without them, the stylesheet's own fallback, Arial, shows,
//! as it did. The site's icon is `icon.svg`.
//!
//! They are built into the binary, so a page never lacks its look, and
//! each is served under a name carrying a hash of its contents
//! (`/assets/site.3f9c0a1e.css`): a browser may keep it for a year, and a
//! new build's file has a new name. Templates name them with `asset("…")`.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

/// One static file.
#[derive(Debug)]
pub struct Asset {
    /// The name templates use, e.g. `nhsuk.css`.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its contents.
    pub bytes: Vec<u8>,
    /// Where it is served: `/assets/` and its name with a hash of its contents.
    pub path: String,
}

const FILES: [(&str, &str, &[u8]); 4] = [
    (
        "nhsuk.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/vendor/nhsuk-frontend/nhsuk-frontend-10.6.1.min.css"),
    ),
    (
        "site.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/site.css"),
    ),
    (
        "demo.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/demo.js"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../assets/icon.svg"),
    ),
];

/// A stylesheet without its `@font-face` rules (see the module's header).
fn without_font_faces(css: &[u8]) -> Vec<u8> {
    const RULE: &[u8] = b"@font-face{";
    let mut out = Vec::with_capacity(css.len());
    let mut rest = css;
    while let Some(at) = rest.windows(RULE.len()).position(|w| w == RULE) {
        out.extend_from_slice(&rest[..at]);
        // A @font-face block holds declarations only: it ends at its first `}`.
        match rest[at..].iter().position(|&b| b == b'}') {
            Some(end) => rest = &rest[at + end + 1..],
            None => {
                rest = &[];
            }
        }
    }
    out.extend_from_slice(rest);
    out
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, content_type, bytes)| {
            let bytes = if name == "nhsuk.css" {
                without_font_faces(bytes)
            } else {
                bytes.to_vec()
            };
            let hash: String = Sha256::digest(&bytes)[..4]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            Asset {
                name,
                content_type,
                bytes,
                path: format!("/assets/{stem}.{hash}.{ext}"),
            }
        })
        .collect()
});

/// Every static file.
pub fn all() -> &'static [Asset] {
    &ASSETS
}

/// The path a file is served at, by the name templates use; `None` for a
/// name that is not one of ours.
pub fn path(name: &str) -> Option<&'static str> {
    all()
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.path.as_str())
}

/// The file served at `path`, if any.
pub fn at(path: &str) -> Option<&'static Asset> {
    all().iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_file_is_served_under_a_name_with_a_hash_of_its_contents() {
        let css = path("nhsuk.css").unwrap();
        assert!(
            css.starts_with("/assets/nhsuk.") && css.ends_with(".css"),
            "{css}"
        );
        assert_eq!(at(css).unwrap().name, "nhsuk.css");
        assert!(at("/assets/nhsuk.css").is_none(), "only the hashed name");
        assert!(path("nope.css").is_none());
    }

    #[test]
    fn the_nhs_stylesheet_asks_for_no_font_from_elsewhere_and_keeps_the_rest() {
        let served = &at(path("nhsuk.css").unwrap()).unwrap().bytes;
        let served = std::str::from_utf8(served).unwrap();
        assert!(!served.contains("@font-face"), "no web font");
        assert!(!served.contains("assets.nhs.uk"), "nothing from elsewhere");
        assert!(served.contains(".nhsuk-button"), "the rest is kept");
        assert_eq!(
            without_font_faces(b"a{b:c}@font-face{src:url(x)}d{e:f}@font-face{g:h}"),
            b"a{b:c}d{e:f}"
        );
        assert!(path("icon.svg").unwrap().ends_with(".svg"));
    }
}
