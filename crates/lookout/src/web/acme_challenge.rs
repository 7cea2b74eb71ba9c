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
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(host_without_port);
    let Some(host) = host.filter(|h| !h.is_empty()) else {
        return ApiError::bad_request("a Host header is needed to redirect to HTTPS")
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

/// `example.org:80` → `example.org`; `[::1]:80` → `[::1]`.
fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
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
        assert_eq!(host_without_port("cam.example:80"), "cam.example");
        assert_eq!(host_without_port("cam.example"), "cam.example");
        assert_eq!(host_without_port("[2001:db8::1]:8080"), "[2001:db8::1]");
        assert_eq!(host_without_port("[::1]"), "[::1]");
    }
}
