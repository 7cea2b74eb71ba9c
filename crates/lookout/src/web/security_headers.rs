//! Headers every response carries: a strict Content-Security-Policy (our pages load only
//! their own script, style and images), no MIME sniffing, no framing by other sites, and no
//! full URLs (which may hold `?token=`) in Referer headers sent elsewhere. On HTTPS
//! listeners, `Strict-Transport-Security` (RFC 6797) too.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The same, for a page that other origins may frame: they follow.
const CSP_FRAMED_BY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self' ";

/// A response extension: the page may be framed by these origins (space-separated, as CSP's
/// `frame-ancestors` wants them, or `*`) instead of by nobody.
#[derive(Debug, Clone)]
pub struct FrameAncestors(pub String);

/// HSTS max-age when `server.hsts_max_age_s` is not set: one year, what the HSTS preload list
/// asks for, and without `includeSubDomains`, which would bind other sites of the domain.
pub const DEFAULT_HSTS_MAX_AGE_S: u64 = 31_536_000;

/// What an HTTPS listener says in `Strict-Transport-Security`, set by the server as a
/// request extension on the connections that should carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hsts {
    pub max_age_s: u64,
    /// Leave it out when the request is for `localhost` (the default policy): a browser keeps
    /// HSTS per host name for every port, so it would force HTTPS on every other program
    /// served on localhost for a year. Browsers ignore HSTS from IP addresses (RFC 6797
    /// §8.1), so only names matter.
    pub skip_localhost: bool,
}

impl Hsts {
    /// The policy of a listener: `configured` is `server.hsts_max_age_s`. Unset, it is on
    /// for HTTPS listeners that are not loopback and off for loopback ones.
    pub fn for_listener(tls: bool, loopback: bool, configured: Option<u64>) -> Option<Hsts> {
        match (tls, configured) {
            (false, _) => None,
            (true, Some(max_age_s)) => Some(Hsts {
                max_age_s,
                skip_localhost: false,
            }),
            (true, None) if loopback => None,
            (true, None) => Some(Hsts {
                max_age_s: DEFAULT_HSTS_MAX_AGE_S,
                skip_localhost: true,
            }),
        }
    }

    fn header(&self, host: Option<&str>) -> Option<HeaderValue> {
        if self.skip_localhost && host.is_some_and(is_localhost) {
            return None;
        }
        HeaderValue::from_str(&format!("max-age={}", self.max_age_s)).ok()
    }
}

/// `localhost`, `cam.localhost` (RFC 6761 §6.3), with or without a port.
fn is_localhost(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

pub async fn add(req: Request, next: Next) -> Response {
    let hsts = req.extensions().get::<Hsts>().and_then(|h| {
        // HTTP/2 has no Host header, only `:authority`.
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| req.uri().authority().map(|a| a.as_str()));
        h.header(host)
    });
    let mut resp = next.run(req).await;
    let frame_ancestors = resp.extensions().get::<FrameAncestors>().cloned();
    let h = resp.headers_mut();
    let csp = match &frame_ancestors {
        Some(FrameAncestors(origins)) => {
            HeaderValue::from_str(&format!("{CSP_FRAMED_BY}{origins}"))
                .unwrap_or(HeaderValue::from_static(CSP))
        }
        None => HeaderValue::from_static(CSP),
    };
    h.insert("content-security-policy", csp);
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    // X-Frame-Options knows no list of origins: CSP's frame-ancestors says it for browsers
    // that allow framing at all.
    if frame_ancestors.is_none() {
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    }
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    if let Some(v) = hsts {
        h.insert(http::header::STRICT_TRANSPORT_SECURITY, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_is_on_for_public_https_listeners_unless_configured_otherwise() {
        assert_eq!(Hsts::for_listener(false, false, Some(60)), None);
        assert_eq!(Hsts::for_listener(true, true, None), None);
        let public = Hsts::for_listener(true, false, None).unwrap();
        assert_eq!(public.max_age_s, DEFAULT_HSTS_MAX_AGE_S);
        assert_eq!(
            public.header(Some("cam.example.org")).unwrap(),
            "max-age=31536000"
        );
        for local in ["localhost", "LOCALHOST:8443", "cam.localhost", "localhost."] {
            assert_eq!(public.header(Some(local)), None, "{local}");
        }
        assert!(public.header(Some("localhost.example.org")).is_some());
        assert!(public.header(Some("[::1]:8443")).is_some());
        // Set explicitly, it holds on loopback and for localhost too; 0 makes browsers forget.
        let set = Hsts::for_listener(true, true, Some(0)).unwrap();
        assert_eq!(set.header(Some("localhost")).unwrap(), "max-age=0");
    }
}
