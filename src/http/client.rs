//! Who a request came from: the one answer every part of the app uses
//! when it counts or limits by client (sign-in codes today).
//!
//! The client is the connection's peer, unless the peer is a proxy the
//! trust named in `NIGHTINGALE_TRUSTED_PROXIES`. Then it is the right-most
//! address in `X-Forwarded-For` that is not itself a trusted proxy: each
//! proxy appends the address it was reached from, so everything right of
//! that one was written by proxies we trust and everything left of it by
//! the client, who may write anything. From a peer we do not trust the
//! header is ignored: anyone can send it.
//!
//! An entry that is not an address where a client's should be (`unknown`,
//! a name) stops the walk at the last trusted proxy: that proxy is then
//! the client, which is wrong only for people behind a proxy that writes
//! such entries, and never lets a client choose its own address.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::HeaderMap;

use crate::config::TrustedProxies;

/// The address a request came from, as [`client_ip`] found it (put on
/// every request by the accept loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The header proxies name the client in.
const FORWARDED_FOR: &str = "x-forwarded-for";

/// Finds each request's client for the accept loop, and says once if a
/// deployment looks as if it sits behind a proxy it has not named.
#[derive(Debug, Default)]
pub struct Clients {
    trusted: TrustedProxies,
    /// Whether the warning about an ignored `X-Forwarded-For` was logged.
    warned: AtomicBool,
}

impl Clients {
    /// Clients behind the proxies `trusted`.
    pub fn new(trusted: TrustedProxies) -> Self {
        Self {
            trusted,
            warned: AtomicBool::new(false),
        }
    }

    /// The client of a request that came from `peer` with `headers`
    /// ([`client_ip`]).
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if self.trusted.is_empty()
            && headers.contains_key(FORWARDED_FOR)
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            // No address logged: the peer may be a member of staff.
            tracing::warn!(
                "a request carried X-Forwarded-For, which is ignored: no proxy is named in \
                 NIGHTINGALE_TRUSTED_PROXIES, so every client behind a proxy counts as the proxy \
                 (see docs/deploy.md)"
            );
        }
        client_ip(peer, headers, &self.trusted)
    }
}

/// The client of a request that came from `peer` with `headers`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return peer;
    }
    // Several headers are one list, in order.
    let entries: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let Some(ip) = parse_entry(entry) else {
            return client;
        };
        client = ip;
        if !trusted.contains(ip) {
            return ip;
        }
    }
    client
}

/// An address as proxies write it: `192.0.2.7`, `2001:db8::7`, and some
/// with a port (`192.0.2.7:4711`, `[2001:db8::7]:4711`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    fn proxies(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    #[test]
    fn with_no_proxy_named_the_client_is_the_peer_whatever_the_header_says() {
        let from = headers(&["203.0.113.9"]);
        assert_eq!(
            client_ip(ip("198.51.100.4"), &from, &TrustedProxies::default()),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn a_header_from_a_peer_that_is_not_a_named_proxy_is_ignored() {
        let from = headers(&["10.9.9.9"]);
        assert_eq!(
            client_ip(ip("198.51.100.4"), &from, &proxies("10.0.0.0/8")),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn behind_named_proxies_the_client_is_the_right_most_address_not_a_proxy() {
        let trusted = proxies("10.0.0.5, 10.0.1.0/24");
        // The client wrote a fake first entry; the edge proxy appended the
        // real one; an inner proxy appended the edge proxy.
        let from = headers(&["192.0.2.66, 203.0.113.9", "10.0.1.7"]);
        assert_eq!(
            client_ip(ip("10.0.0.5"), &from, &trusted),
            ip("203.0.113.9")
        );
        // The same over IPv6, and with ports.
        let trusted = proxies("fd00::/8");
        let from = headers(&["[2001:db8::7]:4711, fd00::2"]);
        assert_eq!(client_ip(ip("fd00::1"), &from, &trusted), ip("2001:db8::7"));
        // A dual-stack peer, and an IPv4 client with a port.
        let from = headers(&["203.0.113.9:5000"]);
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.5"), &from, &proxies("10.0.0.5")),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_proxy_with_no_header_or_a_broken_entry_is_itself_the_client() {
        let trusted = proxies("10.0.0.5, 10.0.0.6");
        assert_eq!(
            client_ip(ip("10.0.0.5"), &HeaderMap::new(), &trusted),
            ip("10.0.0.5")
        );
        let from = headers(&["203.0.113.9, unknown, 10.0.0.6"]);
        assert_eq!(client_ip(ip("10.0.0.5"), &from, &trusted), ip("10.0.0.6"));
    }
}
