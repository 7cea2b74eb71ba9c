//! The session, CSRF and device cookies. On HTTPS at the site's root the session cookie is
//! `__Host-lookout_session` (Secure, Path=/, no Domain: no other site or subdomain can set
//! or read it); under a `base_path` it is `__Secure-lookout_session` with that Path (the
//! `__Host-` prefix demands Path=/); over plain HTTP browsers refuse both prefixes, so it is
//! `lookout_session` there. The device cookie (`lookout_device`) is named the same way.

use http::HeaderMap;
use std::time::Duration;

pub const SESSION: &str = "lookout_session";
pub const SESSION_HOST: &str = "__Host-lookout_session";
pub const SESSION_SECURE: &str = "__Secure-lookout_session";
pub const CSRF: &str = "lookout_csrf";
pub const DEVICE: &str = "lookout_device";
pub const DEVICE_HOST: &str = "__Host-lookout_device";
pub const DEVICE_SECURE: &str = "__Secure-lookout_device";
/// How long a browser keeps its device cookie: a year (browsers cap cookies at 400 days).
pub const DEVICE_MAX_AGE: Duration = Duration::from_secs(365 * 86_400);

/// Where cookies are sent: the scheme the client used and the site's base path.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub https: bool,
    /// `""` at the root, else `/cam`.
    pub base: &'a str,
}

impl Scope<'_> {
    fn path(&self) -> String {
        format!("{}/", self.base)
    }
}

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

/// The session token, under the strongest name present: a plain-HTTP cookie that another
/// page managed to set cannot shadow a `__Host-` or `__Secure-` one.
pub fn session(headers: &HeaderMap) -> Option<&str> {
    get(headers, SESSION_HOST)
        .or_else(|| get(headers, SESSION_SECURE))
        .or_else(|| get(headers, SESSION))
}

/// A Set-Cookie value: HttpOnly, SameSite=Lax, the scope's Path, Secure on HTTPS.
pub fn build(name: &str, value: &str, scope: Scope<'_>, max_age: Option<Duration>) -> String {
    let mut c = format!(
        "{name}={value}; Path={}; HttpOnly; SameSite=Lax",
        scope.path()
    );
    if scope.https {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    c
}

fn session_name(scope: Scope<'_>) -> &'static str {
    match (scope.https, scope.base.is_empty()) {
        (true, true) => SESSION_HOST,
        (true, false) => SESSION_SECURE,
        (false, _) => SESSION,
    }
}

/// The device cookie, under the strongest name present (as [`session`]).
pub fn device(headers: &HeaderMap) -> Option<&str> {
    get(headers, DEVICE_HOST)
        .or_else(|| get(headers, DEVICE_SECURE))
        .or_else(|| get(headers, DEVICE))
}

/// The device cookie set at a successful sign-in: HttpOnly, Secure on HTTPS, for a year.
pub fn device_cookie(value: &str, scope: Scope<'_>) -> String {
    let name = match (scope.https, scope.base.is_empty()) {
        (true, true) => DEVICE_HOST,
        (true, false) => DEVICE_SECURE,
        (false, _) => DEVICE,
    };
    build(name, value, scope, Some(DEVICE_MAX_AGE))
}

pub fn session_cookie(token: &str, scope: Scope<'_>, max_age: Option<Duration>) -> String {
    build(session_name(scope), token, scope, max_age)
}

/// Set-Cookie values that delete the session cookie under every name.
pub fn clear_session(scope: Scope<'_>) -> [String; 3] {
    let zero = Some(Duration::ZERO);
    let secure = Scope {
        https: true,
        base: scope.base,
    };
    let root = Scope {
        https: true,
        base: "",
    };
    [
        build(SESSION_HOST, "", root, zero),
        build(SESSION_SECURE, "", secure, zero),
        build(SESSION, "", scope, zero),
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
    fn attributes_follow_the_scheme_and_base() {
        let plain = Scope {
            https: false,
            base: "",
        };
        assert_eq!(
            session_cookie("t", plain, None),
            "lookout_session=t; Path=/; HttpOnly; SameSite=Lax"
        );
        let secure = session_cookie(
            "t",
            Scope {
                https: true,
                base: "",
            },
            Some(Duration::from_secs(60)),
        );
        assert!(
            secure.starts_with("__Host-lookout_session=t; Path=/;")
                && secure.contains("; Secure")
                && secure.ends_with("Max-Age=60")
        );
        let under = session_cookie(
            "t",
            Scope {
                https: true,
                base: "/cam",
            },
            None,
        );
        assert!(
            under.starts_with("__Secure-lookout_session=t; Path=/cam/;"),
            "{under}"
        );
    }

    #[test]
    fn the_device_cookie_is_long_lived_httponly_and_secure_on_https() {
        let https = Scope {
            https: true,
            base: "",
        };
        let c = device_cookie("n.m", https);
        assert!(
            c.starts_with("__Host-lookout_device=n.m; Path=/; HttpOnly;")
                && c.contains("; Secure")
                && c.ends_with("; Max-Age=31536000"),
            "{c}"
        );
        let plain = Scope {
            https: false,
            base: "/cam",
        };
        let c = device_cookie("n.m", plain);
        assert!(
            c.starts_with("lookout_device=n.m; Path=/cam/; HttpOnly;") && !c.contains("Secure"),
            "{c}"
        );
        let mut h = HeaderMap::new();
        h.append(
            http::header::COOKIE,
            "lookout_device=a; __Host-lookout_device=b".parse().unwrap(),
        );
        assert_eq!(device(&h), Some("b"));
    }
}
