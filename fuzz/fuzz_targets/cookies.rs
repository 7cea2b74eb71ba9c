//! The cookie reader (`lookout::web::auth::cookies`): every request's `Cookie` headers are
//! searched for the session and CSRF cookies.
//!
//! The input is text: the first line a cookie name to look for (and a token to write), each
//! further line a `Cookie` header value. Checks: no panic; a value found is a piece of a
//! header sent; `session` prefers `__Host-`, then `__Secure-`, then the plain name; a session
//! cookie written by `session_cookie` is read back by `session` when a browser returns it.
#![no_main]

use http::{HeaderMap, HeaderValue, header::COOKIE};
use libfuzzer_sys::fuzz_target;
use lookout::web::auth::cookies::{self, SESSION, SESSION_HOST, SESSION_SECURE, Scope};
use std::time::Duration;

fn is_within(piece: &str, whole: &str) -> bool {
    let (p, w) = (piece.as_ptr() as usize, whole.as_ptr() as usize);
    p >= w && p + piece.len() <= w + whole.len()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let name = lines.next().unwrap_or_default();
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Ok(v) = HeaderValue::from_str(line) {
            headers.append(COOKIE, v);
        }
    }
    let sent: Vec<&str> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .collect();
    for wanted in [name, SESSION, SESSION_HOST, SESSION_SECURE] {
        if let Some(v) = cookies::get(&headers, wanted) {
            assert!(
                sent.iter().any(|h| is_within(v, h)),
                "{v:?} is not from a header"
            );
        }
    }
    let strongest = cookies::get(&headers, SESSION_HOST)
        .or_else(|| cookies::get(&headers, SESSION_SECURE))
        .or_else(|| cookies::get(&headers, SESSION));
    assert_eq!(cookies::session(&headers), strongest);

    // Session tokens are URL-safe base64; any cookie-octet value (RFC 6265 4.1.1) must do.
    let token: String = name
        .chars()
        .filter(|c| c.is_ascii_graphic() && !matches!(c, '"' | ',' | ';' | '\\'))
        .collect();
    let scope = Scope {
        https: data.len() % 2 == 0,
        base: if data.len() % 3 == 0 { "" } else { "/cam" },
    };
    let set_cookie =
        cookies::session_cookie(&token, scope, Some(Duration::from_secs(data.len() as u64)));
    // The browser sends back `name=value`: what precedes the first attribute.
    let pair = set_cookie.split(';').next().unwrap_or_default();
    let mut back = HeaderMap::new();
    back.append(
        COOKIE,
        HeaderValue::from_str(pair).expect("a written cookie is a valid header"),
    );
    if !token.is_empty() {
        assert_eq!(
            cookies::session(&back),
            Some(token.as_str()),
            "{set_cookie}"
        );
    }
});
