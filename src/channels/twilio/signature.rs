//! `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the auth token,
//! over the full URL Twilio called followed by each POST parameter, sorted
//! by name, as name then value with no separators.
//!
//! [`sign`] computes it; [`verify`] checks a webhook against every token we
//! accept (the current one and, during a rotation, the previous one), in
//! constant time. A refused webhook is retried by Twilio and then dropped,
//! so a false refusal loses a patient's text: [`verify`] therefore also
//! tries the URL with its port removed or the default port added, because
//! Twilio has signed both forms (its own validators try both).

use std::borrow::Cow;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The signature Twilio sends for a POST of `params` to `url`.
///
/// Parameters are sorted by name with a stable sort, so repeated names keep
/// the order their values were sent in.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    // HMAC takes a key of any length (a long one is hashed first), so this
    // cannot fail.
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `header` is a valid signature of a POST of `params` to `url`
/// under any of `tokens` (the current auth token and, during a rotation,
/// the previous one). A missing header or an empty list of tokens fails.
///
/// Every token and URL form is checked, whatever matched first, and each
/// comparison is constant-time, so timing reveals neither the signature
/// nor which token is in use.
pub fn verify(
    tokens: &[&SecretString],
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> bool {
    let Some(header) = header else { return false };
    let mut valid = subtle::Choice::from(0);
    for token in tokens {
        for candidate in url_forms(url) {
            let expected = sign(token.expose_secret(), &candidate, params);
            valid |= expected.as_bytes().ct_eq(header.as_bytes());
        }
    }
    valid.into()
}

/// `url` as written, then without its port if it has one, then with the
/// scheme's default port if it has none. Only the authority changes; the
/// rest is kept byte for byte, since any re-encoding would break the
/// signature.
fn url_forms(url: &str) -> Vec<Cow<'_, str>> {
    let mut forms = vec![Cow::Borrowed(url)];
    let Some(scheme_end) = url.find("://") else {
        return forms;
    };
    let default_port = match url[..scheme_end].to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return forms,
    };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority_start + i);
    let authority = &url[authority_start..authority_end];
    // The host starts after any user:password@; an IPv6 host is in [brackets].
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host_and_port = &authority[host_start..];
    let port_colon = host_and_port.rfind(':').filter(|&i| {
        let port = &host_and_port[i + 1..];
        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
    });
    let (before, after) = (&url[..authority_start + host_start], &url[authority_end..]);
    match port_colon {
        Some(i) => forms.push(Cow::Owned(format!(
            "{before}{}{after}",
            &host_and_port[..i]
        ))),
        None => forms.push(Cow::Owned(format!(
            "{before}{host_and_port}:{default_port}{after}"
        ))),
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const SIGNATURE: &str = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Twilio's documented example, in the order Twilio lists it.
    fn documented_example() -> Vec<(String, String)> {
        params(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ])
    }

    #[test]
    fn twilios_documented_example_signs_as_documented() {
        assert_eq!(sign("12345", URL, &documented_example()), SIGNATURE);
    }

    #[test]
    fn parameters_are_signed_in_name_order_whatever_order_they_came_in() {
        let mut shuffled = documented_example();
        shuffled.reverse();
        assert_eq!(sign("12345", URL, &shuffled), SIGNATURE);
    }

    #[test]
    fn repeated_names_keep_the_order_their_values_were_sent_in() {
        let sent = params(&[("Event", "ringing"), ("A", "1"), ("Event", "answered")]);
        let swapped = params(&[("Event", "answered"), ("A", "1"), ("Event", "ringing")]);
        let by_hand = {
            let mut mac = Hmac::<Sha1>::new_from_slice(b"token").unwrap();
            mac.update(b"https://example.test/hookA1EventringingEventanswered");
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        };
        assert_eq!(sign("token", "https://example.test/hook", &sent), by_hand);
        assert_ne!(
            sign("token", "https://example.test/hook", &swapped),
            by_hand
        );
    }

    #[test]
    fn the_current_token_verifies_the_documented_example() {
        let current = SecretString::from("12345");
        assert!(verify(
            &[&current],
            URL,
            &documented_example(),
            Some(SIGNATURE)
        ));
    }

    #[test]
    fn a_wrong_token_fails() {
        let wrong = SecretString::from("54321");
        assert!(!verify(
            &[&wrong],
            URL,
            &documented_example(),
            Some(SIGNATURE)
        ));
    }

    #[test]
    fn a_tampered_parameter_fails() {
        let current = SecretString::from("12345");
        let mut tampered = documented_example();
        tampered[2].1 = "9999".into();
        assert!(!verify(&[&current], URL, &tampered, Some(SIGNATURE)));
        let mut added = documented_example();
        added.push(("Body".into(), "".into()));
        assert!(
            !verify(&[&current], URL, &added, Some(SIGNATURE)),
            "an added parameter fails, even an empty one"
        );
    }

    #[test]
    fn a_missing_or_malformed_header_fails() {
        let current = SecretString::from("12345");
        let params = documented_example();
        assert!(!verify(&[&current], URL, &params, None));
        assert!(!verify(&[&current], URL, &params, Some("")));
        assert!(!verify(
            &[&current],
            URL,
            &params,
            Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ")
        ));
    }

    #[test]
    fn no_tokens_means_nothing_verifies() {
        assert!(!verify(&[], URL, &documented_example(), Some(SIGNATURE)));
    }

    #[test]
    fn during_a_rotation_the_second_token_is_accepted_too() {
        // We have moved on to a new token; Twilio still signs with the old one.
        let new = SecretString::from("new-token");
        let old = SecretString::from("12345");
        assert!(verify(
            &[&new, &old],
            URL,
            &documented_example(),
            Some(SIGNATURE)
        ));
        // And once Twilio has moved on, the new one works while the old is still listed.
        let signed_with_new = sign("new-token", URL, &documented_example());
        assert!(verify(
            &[&new, &old],
            URL,
            &documented_example(),
            Some(&signed_with_new)
        ));
    }

    #[test]
    fn another_url_fails() {
        let current = SecretString::from("12345");
        for other in [
            "https://mycompany.com/other.php?foo=1&bar=2",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            "https://mycompany.com/myapp.php",
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            "https://othercompany.com/myapp.php?foo=1&bar=2",
        ] {
            assert!(
                !verify(&[&current], other, &documented_example(), Some(SIGNATURE)),
                "{other}"
            );
        }
    }

    #[test]
    fn a_url_signed_with_or_without_its_port_verifies_either_way() {
        let current = SecretString::from("12345");
        let params = documented_example();
        let with_default = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        assert!(verify(&[&current], with_default, &params, Some(SIGNATURE)));
        let signed_with_default = sign("12345", with_default, &params);
        assert!(verify(
            &[&current],
            URL,
            &params,
            Some(&signed_with_default)
        ));
        let custom = "https://mycompany.com:8443/myapp.php?foo=1&bar=2";
        assert!(verify(&[&current], custom, &params, Some(SIGNATURE)));
        assert!(
            !verify(
                &[&current],
                "https://mycompany.com:8443/other.php",
                &params,
                Some(SIGNATURE)
            ),
            "only the port may differ"
        );
    }

    #[test]
    fn url_forms_change_only_the_port() {
        let forms = |url| {
            url_forms(url)
                .into_iter()
                .map(Cow::into_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            forms("https://a.test/p?q=1:2"),
            ["https://a.test/p?q=1:2", "https://a.test:443/p?q=1:2"]
        );
        assert_eq!(
            forms("http://a.test:8080"),
            ["http://a.test:8080", "http://a.test"]
        );
        assert_eq!(
            forms("https://user:pw@[::1]:8443/x"),
            ["https://user:pw@[::1]:8443/x", "https://user:pw@[::1]/x"]
        );
        assert_eq!(
            forms("http://[::1]/x"),
            ["http://[::1]/x", "http://[::1]:80/x"]
        );
        assert_eq!(forms("not a url"), ["not a url"]);
        assert_eq!(forms("ftp://a.test/"), ["ftp://a.test/"]);
    }
}
