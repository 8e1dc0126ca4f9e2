//! Signed, expiring links from a page SMS to the concern's page.
//!
//! A link names the concern and the clinician it was sent to, carries an
//! expiry, and is signed with HMAC-SHA256 under a secret the store keeps, so
//! it cannot be forged or stretched; it works without a login, from the
//! phone that received the page.
//!
//! A page SMS carries the short form ([`LinkSigner::short_link`],
//! `/l/{staff}/{token}`, about 80 characters with the public URL): the
//! token packs the concern, the expiry and an 80-bit signature into 40
//! characters, so a page fits two SMS segments. Opening it redirects to
//! the long form (`/c/{concern}?s=…&e=…&sig=…`), which emails carry and
//! which keeps working until it expires (ADR 27).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::clock::Instant;
use crate::concern::ConcernId;
use crate::directory::Id;

/// How long a page link works.
pub const LINK_TTL: TimeDelta = TimeDelta::hours(24);

/// A short link's signature, in bytes (80 bits).
const SHORT_MAC_BYTES: usize = 10;
/// A short link's token, in bytes: the concern (16), the expiry (4, in
/// seconds since 1970) and the signature; 40 characters in base64url.
const SHORT_TOKEN_BYTES: usize = 16 + 4 + SHORT_MAC_BYTES;

/// Makes and checks links.
#[derive(Clone)]
pub struct LinkSigner {
    secret: Vec<u8>,
    public_url: String,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkSigner")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The signature does not match: altered or not ours.
    #[error("this link is not valid")]
    BadSignature,
    /// It is past its expiry.
    #[error("this link has expired")]
    Expired,
}

impl LinkSigner {
    /// The URL Twilio fetches a call page's words from when it is answered
    /// (signed by Twilio, like every webhook, so it needs no signature of ours).
    pub fn call_page_url(&self, concern: ConcernId, staff: &Id, step: u64) -> String {
        format!(
            "{}/twilio/voice/page?concern={concern}&staff={staff}&step={step}",
            self.public_url
        )
    }

    /// The URL Twilio fetches the words of a call-back from when the
    /// clinician answers: it then rings the sender.
    pub fn call_back_url(&self, concern: ConcernId, staff: &Id) -> String {
        format!(
            "{}/twilio/voice/call-back?concern={concern}&staff={staff}&step=0",
            self.public_url
        )
    }

    /// Where our pages are: the public URL, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// A signer with `secret`, making links under `public_url`.
    pub fn new(secret: Vec<u8>, public_url: &str) -> Self {
        Self {
            secret,
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The first `len` bytes of the HMAC of `message`, in hex.
    fn mac_hex(&self, message: &str, len: usize) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(message.as_bytes());
        let bytes = mac.finalize().into_bytes();
        bytes[..len].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn signature(&self, concern: ConcernId, staff: &Id, expires: i64) -> String {
        // 128 bits is plenty for a link and keeps the SMS short.
        self.mac_hex(&format!("{concern}|{staff}|{expires}"), 16)
    }

    /// The unguessable token of `staff`'s page for `concern`, carried by
    /// the page's email (in its reply address, `page+TOKEN@…`): an email
    /// reply acts on the page only with it, never on its `From` alone.
    pub fn page_token(&self, concern: ConcernId, staff: &Id) -> String {
        self.mac_hex(&format!("email-page|{concern}|{staff}"), 16)
    }

    /// Whether `token` is `staff`'s page token for `concern` (compared in constant time).
    pub fn is_page_token(&self, concern: ConcernId, staff: &Id, token: &str) -> bool {
        same_hex(&self.page_token(concern, staff), token)
    }

    /// The tag that signs outbox item `id`'s `Message-ID` and bounce
    /// address (`bounce+ID.TAG@…`), so a bounce that fails a page over
    /// cannot be made up by someone who guesses an id (64 bits: it is
    /// checked, never searched for).
    pub fn outbox_tag(&self, id: i64) -> String {
        self.mac_hex(&format!("email-outbox|{id}"), 8)
    }

    /// Whether `tag` is outbox item `id`'s (compared in constant time).
    pub fn is_outbox_tag(&self, id: i64, tag: &str) -> bool {
        same_hex(&self.outbox_tag(id), tag)
    }

    /// The link for `staff` to see `concern`, valid for [`LINK_TTL`] from `now`.
    pub fn link(&self, concern: ConcernId, staff: &Id, now: Instant) -> String {
        let expires = (now + LINK_TTL).timestamp();
        format!(
            "{}/c/{concern}?s={staff}&e={expires}&sig={}",
            self.public_url,
            self.signature(concern, staff, expires)
        )
    }

    /// The short link for `staff` to see `concern`, valid for
    /// [`LINK_TTL`] from `now`: what a page SMS carries.
    pub fn short_link(&self, concern: ConcernId, staff: &Id, now: Instant) -> String {
        let expires = u32::try_from((now + LINK_TTL).timestamp()).unwrap_or(u32::MAX);
        let mut token = Vec::with_capacity(SHORT_TOKEN_BYTES);
        token.extend_from_slice(concern.0.as_bytes());
        token.extend_from_slice(&expires.to_be_bytes());
        token.extend_from_slice(&self.short_mac(concern, staff, expires));
        format!(
            "{}/l/{staff}/{}",
            self.public_url,
            URL_SAFE_NO_PAD.encode(token)
        )
    }

    /// A short link's concern and expiry, once its token is checked for
    /// `staff` at `now`: what the long link is made from.
    pub fn verify_short(
        &self,
        staff: &Id,
        token: &str,
        now: Instant,
    ) -> Result<(ConcernId, i64), LinkError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| LinkError::BadSignature)?;
        if bytes.len() != SHORT_TOKEN_BYTES {
            return Err(LinkError::BadSignature);
        }
        let (concern, rest) = bytes.split_at(16);
        let (expires, mac) = rest.split_at(4);
        let concern =
            ConcernId(uuid::Uuid::from_slice(concern).map_err(|_| LinkError::BadSignature)?);
        let expires = u32::from_be_bytes(expires.try_into().map_err(|_| LinkError::BadSignature)?);
        if !bool::from(
            self.short_mac(concern, staff, expires)
                .as_slice()
                .ct_eq(mac),
        ) {
            return Err(LinkError::BadSignature);
        }
        if now.timestamp() > i64::from(expires) {
            return Err(LinkError::Expired);
        }
        Ok((concern, i64::from(expires)))
    }

    /// The long link's query for a checked short link: `?s=…&e=…&sig=…`.
    pub fn long_query(&self, concern: ConcernId, staff: &Id, expires: i64) -> String {
        format!(
            "?s={staff}&e={expires}&sig={}",
            self.signature(concern, staff, expires)
        )
    }

    /// A short link's signature: 80 bits, checked, never searched for.
    fn short_mac(&self, concern: ConcernId, staff: &Id, expires: u32) -> Vec<u8> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(format!("short|{concern}|{staff}|{expires}").as_bytes());
        mac.finalize().into_bytes()[..SHORT_MAC_BYTES].to_vec()
    }

    /// Check a link's parts at `now`.
    pub fn verify(
        &self,
        concern: ConcernId,
        staff: &Id,
        expires: i64,
        sig: &str,
        now: Instant,
    ) -> Result<(), LinkError> {
        let expected = self.signature(concern, staff, expires);
        if !bool::from(expected.as_bytes().ct_eq(sig.as_bytes())) {
            return Err(LinkError::BadSignature);
        }
        if now.timestamp() > expires {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

/// Whether `given` is the hex `expected`, in any case (compared in constant time).
fn same_hex(expected: &str, given: &str) -> bool {
    bool::from(
        expected
            .as_bytes()
            .ct_eq(given.to_ascii_lowercase().as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signer, a concern, Chen whom its links are for, and the moment
    /// they are made.
    fn fixture() -> (LinkSigner, ConcernId, Id, Instant) {
        (
            LinkSigner::new(vec![1; 32], "https://nightingale.example.nhs.uk/"),
            ConcernId::new(),
            Id::parse("chen").unwrap(),
            "2026-11-27T19:05:00Z".parse().unwrap(),
        )
    }

    #[test]
    fn a_link_works_until_it_expires_and_not_when_altered() {
        let (signer, concern, chen, now) = fixture();
        let link = signer.link(concern, &chen, now);
        assert!(link.starts_with(&format!(
            "https://nightingale.example.nhs.uk/c/{concern}?s=chen&e="
        )));
        let expires = (now + LINK_TTL).timestamp();
        let sig = link.rsplit_once("sig=").unwrap().1;
        assert_eq!(signer.verify(concern, &chen, expires, sig, now), Ok(()));
        assert_eq!(
            signer.verify(
                concern,
                &chen,
                expires,
                sig,
                now + LINK_TTL + TimeDelta::seconds(1)
            ),
            Err(LinkError::Expired)
        );
        assert_eq!(
            signer.verify(concern, &chen, expires + 3600, sig, now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            signer.verify(concern, &Id::parse("ben").unwrap(), expires, sig, now),
            Err(LinkError::BadSignature)
        );
    }

    #[test]
    fn a_short_link_is_about_80_characters_works_until_it_expires_and_not_for_someone_else() {
        let (signer, concern, chen, now) = fixture();
        let link = signer.short_link(concern, &chen, now);
        let token = link
            .strip_prefix("https://nightingale.example.nhs.uk/l/chen/")
            .unwrap();
        assert_eq!(token.len(), 40, "{link}");
        assert!(link.len() < 90, "{} characters: {link}", link.len());
        let expires = (now + LINK_TTL).timestamp();
        assert_eq!(
            signer.verify_short(&chen, token, now),
            Ok((concern, expires))
        );
        // The long link it opens is the one an email carries.
        let long = signer.link(concern, &chen, now);
        assert!(
            long.ends_with(&signer.long_query(concern, &chen, expires)),
            "{long}"
        );
        assert_eq!(
            signer.verify_short(&chen, token, now + LINK_TTL + TimeDelta::seconds(1)),
            Err(LinkError::Expired)
        );
        assert_eq!(
            signer.verify_short(&Id::parse("ben").unwrap(), token, now),
            Err(LinkError::BadSignature)
        );
        // One character changed, or one cut off, is refused.
        let mut altered = token.to_owned();
        let last = if altered.ends_with('A') { "B" } else { "A" };
        altered.replace_range(39.., last);
        assert_eq!(
            signer.verify_short(&chen, &altered, now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            signer.verify_short(&chen, &token[..39], now),
            Err(LinkError::BadSignature)
        );
        // Another signer's link is not ours.
        let other = LinkSigner::new(vec![2; 32], "https://nightingale.example.nhs.uk/");
        assert_eq!(
            other.verify_short(&chen, token, now),
            Err(LinkError::BadSignature)
        );
    }
}
