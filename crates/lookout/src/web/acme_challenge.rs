//! `/.well-known/acme-challenge/TOKEN`: HTTP-01 answers for certbot's `--webroot` mode, read
//! from `tls.acme_webroot/.well-known/acme-challenge/`, and the redirect of plain HTTP to
//! HTTPS that leaves these requests alone (the CA validates over plain HTTP).

use super::{ApiError, AppState, ConnInfo};
use axum::extract::{Path, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderValue, StatusCode, header};
use std::sync::Arc;

pub const PREFIX: &str = "/.well-known/acme-challenge/";

/// ACME tokens are base64url, 43 characters from Let's Encrypt; anything else (a `..`, a
/// slash, a dot file) is refused before any file is touched.
fn token_shaped(token: &str) -> bool {
    (1..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub async fn challenge(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    if !token_shaped(&token) {
        return Err(ApiError::not_found("not an ACME challenge token"));
    }
    if let Some(answer) = state.challenges.get(&token) {
        return Ok(text(answer.into_bytes()));
    }
    let Some(root) = &state.acme_webroot else {
        return Err(ApiError::not_found(
            "no ACME challenges are served here (tls.acme_webroot is not set)",
        ));
    };
    let path = root.join(".well-known/acme-challenge").join(&token);
    let body = match tokio::fs::read(&path).await {
        Ok(b) if b.len() <= 4096 => b,
        Ok(_) => return Err(ApiError::not_found("not an ACME challenge (too large)")),
        Err(_) => return Err(ApiError::not_found("no such challenge token")),
    };
    Ok(text(body))
}

fn text(body: Vec<u8>) -> Response {
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    resp
}

/// Middleware: on listeners that send browsers to HTTPS, everything but ACME challenges gets
/// a 301 to the same host and path over HTTPS.
pub async fn redirect_to_https(req: Request, next: Next) -> Response {
    let port = req
        .extensions()
        .get::<ConnInfo>()
        .and_then(|c| c.redirect_to_https);
    let Some(port) = port else {
        return next.run(req).await;
    };
    if req.uri().path().starts_with(PREFIX) {
        return next.run(req).await;
    }
    let Some(host) = req.headers().get(header::HOST) else {
        return ApiError::bad_request("a Host header is needed to redirect to HTTPS")
            .into_response();
    };
    // The Host goes into Location: anything but a plain host[:port] (`evil.example/x?`,
    // `a@b`, spaces) would let a request choose where the redirect leads.
    let Some(host) = host.to_str().ok().and_then(host_without_port) else {
        return ApiError::bad_request(
            "the Host header is not a valid host[:port] (RFC 3986); cannot redirect to HTTPS",
        )
        .into_response();
    };
    let port = if port == 443 {
        String::new()
    } else {
        format!(":{port}")
    };
    // The path as the browser sent it (with the base path, if any).
    let uri = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or(req.uri(), |o| &o.0);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let target = format!("https://{host}{port}{path}");
    let mut resp = Redirect::permanent(&target).into_response();
    *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
    resp
}

/// The host of a `Host` value that is `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986
/// §3.2.2): `example.org:80` → `example.org`, `[::1]:80` → `[::1]`; `None` for anything else.
fn host_without_port(value: &str) -> Option<&str> {
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        // IP-literal: an IPv6 address in brackets (IPvFuture is not used by anyone).
        let end = rest.find(']')?;
        rest[..end].parse::<std::net::Ipv6Addr>().ok()?;
        let after = &rest[end + 1..];
        let port = if after.is_empty() {
            after
        } else {
            after.strip_prefix(':')?
        };
        (&value[..end + 2], port)
    } else {
        let (host, port) = value.split_once(':').unwrap_or((value, ""));
        if host.is_empty() || !reg_name_or_ipv4(host) {
            return None;
        }
        (host, port)
    };
    // port = *DIGIT; an empty one is allowed and means the default.
    let port_ok = port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && (port.is_empty() || port.parse::<u16>().is_ok());
    port_ok.then_some(host)
}

/// RFC 3986 reg-name (unreserved, pct-encoded, sub-delims), which IPv4 addresses are too.
fn reg_name_or_ipv4(host: &str) -> bool {
    let b = host.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if !(i + 2 < b.len()
                    && b[i + 1].is_ascii_hexdigit()
                    && b[i + 2].is_ascii_hexdigit())
                {
                    return false;
                }
                i += 3;
                continue;
            }
            c if c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&c) => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_token_shaped_names_are_read() {
        assert!(token_shaped("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"));
        for bad in [
            "",
            "..",
            "../etc/passwd",
            "a/b",
            ".hidden",
            "a.b",
            &"a".repeat(129),
        ] {
            assert!(!token_shaped(bad), "{bad}");
        }
    }

    #[test]
    fn ports_come_off_hosts() {
        for (value, host) in [
            ("cam.example:80", "cam.example"),
            ("cam.example", "cam.example"),
            ("cam.example:", "cam.example"),
            ("CAM-1.example_x~", "CAM-1.example_x~"),
            ("192.0.2.7:8080", "192.0.2.7"),
            ("[2001:db8::1]:8080", "[2001:db8::1]"),
            ("[::1]", "[::1]"),
            ("caf%C3%A9.example", "caf%C3%A9.example"),
        ] {
            assert_eq!(host_without_port(value), Some(host), "{value}");
        }
    }

    #[test]
    fn hosts_that_would_change_the_redirect_target_are_refused() {
        for bad in [
            "",
            ":80",
            "evil.example/foo?",
            "evil.example/",
            "good@evil.example",
            "evil.example?x",
            "evil.example#x",
            "evil.example\\x",
            "a b",
            "cam.example:80:80",
            "cam.example:http",
            "cam.example:65536",
            "cam.example:000080",
            "[::1",
            "[::1]x",
            "[::1]:80/x",
            "[not-ipv6]",
            "[v1.fe]",
            "%zz.example",
            "%4",
        ] {
            assert_eq!(host_without_port(bad), None, "{bad:?}");
        }
    }
}
