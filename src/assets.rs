//! The static files pages load: the NHS.UK frontend's compiled CSS
//! (vendored, with its licence, in `assets/vendor/nhsuk-frontend/`) and
//! Nightingale's own few lines of layout and script (`assets/`).
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
    pub bytes: &'static [u8],
    /// Where it is served: `/assets/` and its name with a hash of its contents.
    pub path: String,
}

const FILES: [(&str, &str, &[u8]); 3] = [
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
];

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(name, content_type, bytes)| {
            let hash: String = Sha256::digest(bytes)[..4]
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
}
