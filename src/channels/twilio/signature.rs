//! `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the auth token,
//! over the full URL Twilio called followed by each POST parameter, sorted
//! by name, as name then value with no separators.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The signature Twilio sends for a POST of `params` to `url`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Stable: repeated names keep the order they were sent in.
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `header` is a valid signature of this request under any of
/// `tokens` (the current auth token and, during a rotation, the previous
/// one). Compared in constant time.
pub fn verify(
    tokens: &[&SecretString],
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> bool {
    let Some(header) = header else { return false };
    let mut valid = false;
    for token in tokens {
        let expected = sign(token.expose_secret(), url, params);
        // Every token is checked, so timing does not reveal which matched.
        valid |= bool::from(expected.as_bytes().ct_eq(header.as_bytes()));
    }
    valid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documented_example() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    #[test]
    fn twilios_documented_example_signs_as_documented() {
        assert_eq!(
            sign("12345", URL, &documented_example()),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }

    #[test]
    fn verification_accepts_the_current_or_previous_token_and_nothing_else() {
        let current = SecretString::from("12345");
        let previous = SecretString::from("old-token");
        let wrong = SecretString::from("54321");
        let params = documented_example();
        let header = Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify(&[&current], URL, &params, header));
        assert!(
            verify(&[&previous, &current], URL, &params, header),
            "a rotated-in token is still accepted"
        );
        assert!(!verify(&[&wrong], URL, &params, header));
        assert!(
            !verify(&[&current], URL, &params, None),
            "a missing signature fails"
        );
        assert!(
            !verify(
                &[&current],
                "https://mycompany.com/other.php?foo=1&bar=2",
                &params,
                header
            ),
            "another URL fails"
        );
        let mut tampered = params.clone();
        tampered[2].1 = "9999".into();
        assert!(
            !verify(&[&current], URL, &tampered, header),
            "a changed parameter fails"
        );
    }
}
