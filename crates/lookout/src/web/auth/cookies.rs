//! The session and CSRF cookies. On HTTPS the session cookie is `__Host-lookout_session`
//! (Secure, Path=/, no Domain: no other site or subdomain can set or read it); over plain
//! HTTP browsers refuse `__Host-` cookies, so it is `lookout_session` there.

use http::HeaderMap;
use std::time::Duration;

pub const SESSION: &str = "lookout_session";
pub const SESSION_HOST: &str = "__Host-lookout_session";
pub const CSRF: &str = "lookout_csrf";

/// The value of cookie `name` in the request's Cookie headers.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// The session token, under either name.
pub fn session(headers: &HeaderMap) -> Option<&str> {
    get(headers, SESSION_HOST).or_else(|| get(headers, SESSION))
}

/// A Set-Cookie value: HttpOnly, SameSite=Lax, Path=/, Secure on HTTPS.
pub fn build(name: &str, value: &str, https: bool, max_age: Option<Duration>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if https {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    c
}

pub fn session_cookie(token: &str, https: bool, max_age: Option<Duration>) -> String {
    build(
        if https { SESSION_HOST } else { SESSION },
        token,
        https,
        max_age,
    )
}

/// Set-Cookie values that delete the session cookie under both names.
pub fn clear_session(https: bool) -> [String; 2] {
    let zero = Some(Duration::ZERO);
    [
        build(SESSION_HOST, "", true, zero),
        build(SESSION, "", https, zero),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cookies_among_many_headers() {
        let mut h = HeaderMap::new();
        h.append(
            http::header::COOKIE,
            "a=1; lookout_session=abc".parse().unwrap(),
        );
        h.append(
            http::header::COOKIE,
            "__Host-lookout_session=xyz".parse().unwrap(),
        );
        assert_eq!(session(&h), Some("xyz"));
        assert_eq!(get(&h, "a"), Some("1"));
        assert_eq!(get(&h, "b"), None);
    }

    #[test]
    fn attributes_follow_the_scheme() {
        assert_eq!(
            session_cookie("t", false, None),
            "lookout_session=t; Path=/; HttpOnly; SameSite=Lax"
        );
        let secure = session_cookie("t", true, Some(Duration::from_secs(60)));
        assert!(
            secure.starts_with("__Host-lookout_session=t;")
                && secure.contains("; Secure")
                && secure.ends_with("Max-Age=60")
        );
    }
}
