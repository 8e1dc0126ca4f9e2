//! Whether an email is from whom its `From` says (docs/adr/0022): the
//! rule that lets mail join an enrolled person's concern, as pure
//! functions of what the SMTP listener recorded with the message.
//!
//! A header `From` is whatever the sender typed. Mail is taken as from
//! that address only when
//! - a relay the trust names (`NIGHTINGALE_SMTP_TRUSTED_RELAYS`, addresses
//!   or CIDRs) handed it to us, and the topmost `Authentication-Results`
//!   header (RFC 8601), the one that relay added, says `dmarc=pass` for
//!   the `From` domain (and, when `NIGHTINGALE_SMTP_AUTHSERV_ID` is set,
//!   carries that authserv-id); or
//! - no relay is named, and the envelope sender (`MAIL FROM`) is at the
//!   `From` domain: weaker (an envelope can be forged too), but it stops
//!   the plain forgery of a `From` header behind a different envelope.
//!
//! Anything else is a stranger's email. Only the topmost header is read:
//! the relay prepends its own, so one lower down was written by whoever
//! sent the message and proves nothing.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// How the trust proves who sent an email.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderTrust {
    /// The relays whose `Authentication-Results` are believed; empty: none
    /// is named, and the envelope sender's domain is compared instead.
    pub relays: Vec<IpNet>,
    /// The authserv-id those relays write, when the trust names it.
    pub authserv_id: Option<String>,
}

/// What the listener recorded of how a message came, beside the message.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// `MAIL FROM` (empty for a bounce); `None` for a message stored
    /// before it was recorded.
    pub sender: Option<&'a str>,
    /// The address that connected to the listener.
    pub peer: Option<IpAddr>,
    /// The topmost `Authentication-Results` header, unfolded.
    pub authentication_results: Option<&'a str>,
}

/// How an email's sender was proved to be its `From`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    /// A trusted relay says DMARC passed for the `From` domain.
    DmarcAtRelay,
    /// No relay is named, and the envelope sender is at the `From` domain.
    EnvelopeMatches,
}

/// A trusted relay, as written, that is neither an address nor a CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an address or a CIDR: write one like 10.0.4.25 or 10.0.4.0/24 or 2001:db8::/32"
)]
pub struct NotARelay(pub String);

impl SenderTrust {
    /// Read `NIGHTINGALE_SMTP_TRUSTED_RELAYS` (addresses or CIDRs,
    /// separated by commas) and `NIGHTINGALE_SMTP_AUTHSERV_ID`.
    pub fn parse(relays: Option<&str>, authserv_id: Option<&str>) -> Result<Self, NotARelay> {
        let relays = relays
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| {
                r.parse::<IpNet>()
                    .or_else(|_| r.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| NotARelay(r.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let authserv_id = authserv_id
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        Ok(Self {
            relays,
            authserv_id,
        })
    }

    /// Whether `peer` is one of the named relays (an IPv4 address seen
    /// on an IPv6 socket as `::ffff:a.b.c.d` is that IPv4 address).
    pub fn is_relay(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.relays.iter().any(|net| net.contains(&peer))
    }

    /// How the message whose header `From` is at `from_domain` is proved
    /// to be from it, if it is.
    pub fn proof(&self, envelope: &Envelope<'_>, from_domain: &str) -> Option<Proof> {
        if self.relays.is_empty() {
            let sender = envelope.sender?;
            let (_, domain) = sender.rsplit_once('@')?;
            return domain
                .eq_ignore_ascii_case(from_domain)
                .then_some(Proof::EnvelopeMatches);
        }
        let peer = envelope.peer?;
        if !self.is_relay(peer) {
            return None;
        }
        let results = AuthResults::parse(envelope.authentication_results?)?;
        if let Some(id) = &self.authserv_id
            && !results.authserv_id.eq_ignore_ascii_case(id)
        {
            return None;
        }
        results
            .dmarc_passed_for(from_domain)
            .then_some(Proof::DmarcAtRelay)
    }
}

/// An `Authentication-Results` header (RFC 8601 §2.2), as far as the
/// DMARC verdict goes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AuthResults {
    /// Who wrote it.
    authserv_id: String,
    /// Each result.
    results: Vec<ResInfo>,
}

/// One result of an `Authentication-Results` header, all lower case:
/// `dmarc=pass header.from=example.org`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResInfo {
    /// `dmarc`, `dkim`, `spf`…
    method: String,
    /// `pass`, `fail`, `none`…
    result: String,
    /// `header.from` → `example.org`, and the like.
    properties: Vec<(String, String)>,
}

impl AuthResults {
    /// Read a header's value; `None` when it has no authserv-id.
    fn parse(value: &str) -> Option<Self> {
        let value = without_comments(value);
        let mut parts = value.split(';');
        let head = parts.next()?.trim();
        // `authserv-id [version]`.
        let authserv_id = head.split_whitespace().next()?.to_owned();
        let results = parts
            .filter_map(|resinfo| {
                let mut words = resinfo.split_whitespace();
                let (method, result) = words.next()?.split_once('=')?;
                // `dmarc/1=pass`: a method may carry a version.
                let method = method.split('/').next()?.to_ascii_lowercase();
                let properties = words
                    .filter_map(|w| w.split_once('='))
                    .map(|(k, v)| (k.to_ascii_lowercase(), unquote(v).to_ascii_lowercase()))
                    .collect();
                Some(ResInfo {
                    method,
                    result: result.to_ascii_lowercase(),
                    properties,
                })
            })
            .collect();
        Some(Self {
            authserv_id,
            results,
        })
    }

    /// Whether a `dmarc` result is `pass` for `header.from` = `domain`.
    fn dmarc_passed_for(&self, domain: &str) -> bool {
        self.results.iter().any(|r| {
            r.method == "dmarc"
                && r.result == "pass"
                && r.properties
                    .iter()
                    .any(|(k, v)| k == "header.from" && v.eq_ignore_ascii_case(domain))
        })
    }
}

/// The value with its `(comments)` removed (they may nest).
fn without_comments(value: &str) -> String {
    let mut depth = 0usize;
    value
        .chars()
        .filter(|c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

fn unquote(v: &str) -> &str {
    v.trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELAY: &str = "mx1.trust.nhs.uk; spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org; dmarc=pass (p=reject dis=none) header.from=example.org";

    fn trust(relays: &str, id: Option<&str>) -> SenderTrust {
        SenderTrust::parse(Some(relays), id).unwrap()
    }

    fn through(peer: &str, results: Option<&'static str>) -> Envelope<'static> {
        Envelope {
            sender: Some("bounces@mailer.example.com"),
            peer: Some(peer.parse().unwrap()),
            authentication_results: results,
        }
    }

    #[test]
    fn dmarc_passed_at_the_named_relay_proves_the_sender() {
        let t = trust("10.0.4.0/24", None);
        assert_eq!(
            t.proof(&through("10.0.4.25", Some(RELAY)), "Example.org"),
            Some(Proof::DmarcAtRelay)
        );
        // For another domain than the From's, it proves nothing.
        assert_eq!(t.proof(&through("10.0.4.25", Some(RELAY)), "nhs.net"), None);
    }

    #[test]
    fn dmarc_failed_or_no_header_is_a_stranger() {
        let t = trust("10.0.4.25", None);
        let failed = "mx1.trust.nhs.uk; spf=softfail smtp.mailfrom=evil.example; dmarc=fail header.from=example.org";
        assert_eq!(
            t.proof(&through("10.0.4.25", Some(failed)), "example.org"),
            None
        );
        assert_eq!(t.proof(&through("10.0.4.25", None), "example.org"), None);
        let none = "mx1.trust.nhs.uk; none";
        assert_eq!(
            t.proof(&through("10.0.4.25", Some(none)), "example.org"),
            None
        );
        // `dmarc=pass` in a comment is no result.
        let comment = "mx1.trust.nhs.uk; dmarc=fail (was dmarc=pass header.from=example.org) header.from=example.org";
        assert_eq!(
            t.proof(&through("10.0.4.25", Some(comment)), "example.org"),
            None
        );
    }

    #[test]
    fn a_header_from_anyone_but_the_relay_proves_nothing() {
        let t = trust("10.0.4.25", None);
        // Straight from the internet, with a header it wrote itself.
        assert_eq!(
            t.proof(&through("203.0.113.9", Some(RELAY)), "example.org"),
            None
        );
    }

    #[test]
    fn a_spoofed_header_below_the_relays_own_is_not_read() {
        // The listener keeps the topmost header: the relay's, which says
        // fail; the sender's own "pass" further down is never looked at.
        let raw = format!(
            "From: sian@example.org\r\nAuthentication-Results: mx1.trust.nhs.uk; dmarc=fail header.from=example.org\r\nAuthentication-Results: {RELAY}\r\nSubject: x\r\n\r\nHello\r\n"
        );
        let mail = crate::email::read(raw.as_bytes()).unwrap();
        let top = mail.authentication_results.as_deref();
        assert!(top.is_some_and(|t| t.contains("dmarc=fail")), "{top:?}");
        let t = trust("10.0.4.25", None);
        let envelope = Envelope {
            authentication_results: top,
            ..through("10.0.4.25", None)
        };
        assert_eq!(t.proof(&envelope, "example.org"), None);
        // A relay that adds no header of its own leaves the sender's on
        // top: naming the authserv-id catches that.
        let strict = trust("10.0.4.25", Some("mx1.trust.nhs.uk"));
        let forged = "mx1.evil.example; dmarc=pass header.from=example.org";
        assert_eq!(
            strict.proof(&through("10.0.4.25", Some(forged)), "example.org"),
            None
        );
        assert_eq!(
            strict.proof(&through("10.0.4.25", Some(RELAY)), "example.org"),
            Some(Proof::DmarcAtRelay)
        );
    }

    #[test]
    fn with_no_relay_named_the_envelope_must_be_at_the_from_domain() {
        let t = SenderTrust::default();
        let envelope = |sender| Envelope {
            sender: Some(sender),
            peer: Some("127.0.0.1".parse().unwrap()),
            authentication_results: Some(RELAY),
        };
        assert_eq!(
            t.proof(&envelope("Sian@EXAMPLE.org"), "example.org"),
            Some(Proof::EnvelopeMatches)
        );
        assert_eq!(
            t.proof(&envelope("mallory@evil.example"), "example.org"),
            None
        );
        assert_eq!(t.proof(&envelope(""), "example.org"), None, "a bounce");
        let unrecorded = Envelope {
            sender: None,
            ..envelope("x@example.org")
        };
        assert_eq!(t.proof(&unrecorded, "example.org"), None);
    }

    #[test]
    fn relays_are_addresses_or_cidrs_in_v4_and_v6() {
        let t = trust(" 10.0.4.0/24, 192.0.2.7 ,2001:db8:5::/48, ::1", None);
        assert!(t.is_relay("10.0.4.200".parse().unwrap()));
        assert!(!t.is_relay("10.0.5.1".parse().unwrap()));
        assert!(t.is_relay("192.0.2.7".parse().unwrap()));
        assert!(!t.is_relay("192.0.2.8".parse().unwrap()));
        assert!(t.is_relay("2001:db8:5:ffff::1".parse().unwrap()));
        assert!(!t.is_relay("2001:db8:6::1".parse().unwrap()));
        assert!(t.is_relay("::1".parse().unwrap()));
        // An IPv4 relay seen on an IPv6 socket.
        assert!(t.is_relay("::ffff:10.0.4.9".parse().unwrap()));
        // A host address with its bits past the prefix is that network.
        assert!(trust("10.0.4.25/24", None).is_relay("10.0.4.1".parse().unwrap()));
        let err = SenderTrust::parse(Some("10.0.4.0/33"), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("10.0.4.0/24"), "{err}");
        assert!(SenderTrust::parse(Some("mx1.trust.nhs.uk"), None).is_err());
        assert!(SenderTrust::parse(None, None).unwrap().relays.is_empty());
    }
}
