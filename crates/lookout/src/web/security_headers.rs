//! Headers every response carries: a strict Content-Security-Policy (our pages load only
//! their own script, style and images), no MIME sniffing, no framing by other sites, and no
//! full URLs (which may hold `?token=`) in Referer headers sent elsewhere.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The same, for a page that other origins may frame: they follow.
const CSP_FRAMED_BY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self' ";

/// A response extension: the page may be framed by these origins (space-separated, as CSP's
/// `frame-ancestors` wants them, or `*`) instead of by nobody.
#[derive(Debug, Clone)]
pub struct FrameAncestors(pub String);

pub async fn add(req: Request, next: Next) -> Response {
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
    resp
}
