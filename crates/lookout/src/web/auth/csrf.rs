//! Cross-site request forgery: every state-changing request must carry a token that only a
//! page of ours could have read, and come from our own origin (Origin, else Referer).

use super::cookies;
use crate::auth::secret::constant_time_eq;
use crate::auth::{Credential, Principal};
use crate::web::{ApiError, Client};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use lookout_core::Error;
use sha2::{Digest, Sha256};

/// The CSRF token of a session: derived from its secret token, so it needs no storage and
/// dies with the session.
pub fn for_session(session_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(
        format!("lookout-csrf:{session_token}").as_bytes(),
    ))
}

/// Whether the request comes from a page of this host (as the client addressed it, which
/// behind a trusted proxy is the forwarded host and scheme).
pub fn same_origin(headers: &HeaderMap, client: &Client) -> bool {
    let Some(host) = client.host.as_deref() else {
        return false;
    };
    let ours = format!("{}://{host}", if client.https { "https" } else { "http" });
    if let Some(origin) = headers
        .get(http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
    {
        return origin == ours;
    }
    // Some browsers omit Origin on same-origin form posts; Referer then says where we are.
    headers
        .get(http::header::REFERER)
        .and_then(|r| r.to_str().ok())
        .is_some_and(|r| r == ours || r.starts_with(&format!("{ours}/")))
}

/// Checks a posted token against the expected one.
pub fn token_matches(posted: &str, expected: &str) -> bool {
    !expected.is_empty() && constant_time_eq(posted.as_bytes(), expected.as_bytes())
}

/// The login form's token: the `lookout_csrf` cookie, echoed in the form (double submit).
pub fn login_token(headers: &HeaderMap) -> Option<&str> {
    cookies::get(headers, cookies::CSRF)
}

/// For JSON APIs that change something: a browser session must send the page's token in
/// `X-CSRF-Token` and come from our origin; API tokens and Basic credentials, which a
/// browser never sends on its own, need not.
pub fn check_api_write(
    who: &Principal,
    headers: &HeaderMap,
    client: &Client,
) -> Result<(), ApiError> {
    if let Principal::User {
        via: Credential::Session { csrf: expected, .. },
        ..
    } = who
    {
        let sent = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !same_origin(headers, client) || !token_matches(sent, expected) {
            return Err(Error::permission_denied(
                "cross-site request refused: send the page's X-CSRF-Token from Lookout's own page",
            )
            .into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    /// What `Client::of` makes of a direct connection with these headers.
    fn same_origin(h: &HeaderMap, https: bool) -> bool {
        let conn = crate::web::ConnInfo {
            peer: Some("192.0.2.1:1000".parse().unwrap()),
            tls: https,
            redirect_to_https: None,
        };
        let client = Client::of(conn, h, &crate::web::ProxyTrust::default());
        super::same_origin(h, &client)
    }

    #[test]
    fn origin_must_be_this_host() {
        assert!(same_origin(
            &headers(&[("host", "cam:8080"), ("origin", "http://cam:8080")]),
            false
        ));
        assert!(!same_origin(
            &headers(&[("host", "cam:8080"), ("origin", "http://evil.example")]),
            false
        ));
        assert!(!same_origin(
            &headers(&[("host", "cam:8080"), ("origin", "http://cam:8080")]),
            true
        ));
        assert!(same_origin(
            &headers(&[("host", "cam"), ("referer", "http://cam/login?next=/")]),
            false
        ));
        assert!(!same_origin(
            &headers(&[("host", "cam"), ("referer", "http://cam.evil/")]),
            false
        ));
        assert!(
            !same_origin(&headers(&[("host", "cam")]), false),
            "neither Origin nor Referer"
        );
    }

    #[test]
    fn session_tokens_differ_and_compare() {
        let (a, b) = (for_session("one"), for_session("two"));
        assert_ne!(a, b);
        assert!(token_matches(&a, &a) && !token_matches(&a, &b) && !token_matches("", ""));
    }
}
