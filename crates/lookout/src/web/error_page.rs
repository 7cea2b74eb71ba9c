//! Refusals as a browser should see them: a page in the site's look with the reason and a
//! link back, instead of raw JSON, when a browser opens a page it cannot have (a camera it
//! may not watch, an unknown URL). The API under `/api/` answers JSON whatever it is asked,
//! and so do streams and snapshots to programs and `<img>` elements, which do not ask for
//! HTML.

use super::error::ErrorMessage;
use super::html::{LARR, page};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use maud::html;
use std::sync::Arc;

/// Turns an [`ApiError`](super::ApiError)'s JSON into an HTML page when the request wants
/// one; `base` is the site's base path.
pub async fn for_browsers(State(base): State<Arc<str>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let within = path.strip_prefix(&*base).unwrap_or(path);
    let html = !within.starts_with("/api/") && accepts_html(req.headers());
    let mut resp = next.run(req).await;
    if !html {
        return resp;
    }
    let Some(ErrorMessage(message)) = resp.extensions_mut().remove::<ErrorMessage>() else {
        return resp;
    };
    let status = resp.status();
    let (mut parts, _json) = resp.into_parts();
    let body = render(&base, status, &message).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(parts, Body::new(body.into_body()))
}

/// Whether the client names `text/html` among what it takes (a browser opening a page does;
/// its `<img>` and `fetch()`, curl, ffmpeg and players do not), and not with `q=0`.
fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut params = range.split(';').map(str::trim);
            let media = params.next().unwrap_or("");
            media.eq_ignore_ascii_case("text/html")
                && !params.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                })
        })
}

fn render(base: &str, status: http::StatusCode, message: &str) -> axum::response::Html<String> {
    let b = base;
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        nav { a href={ (b) "/" } { (LARR) " all cameras" } }
        "\n"
        main class="single refusal" {
            "\n"
            h1 { (status.as_u16()) " " (reason) }
            "\n"
            p class="error" { (message) }
            "\n"
            p class="actions" {
                a class="button secondary" href={ (b) "/" } { "All cameras" }
                @if status == http::StatusCode::UNAUTHORIZED {
                    " "
                    a class="button" href={ (b) "/login" } { "Sign in" }
                }
            }
            "\n"
        }
    };
    page(base, &format!("{reason} · Lookout"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        accepts_html(&h)
    }

    #[test]
    fn only_clients_that_ask_for_html_get_it() {
        assert!(accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(accept("application/json, TEXT/HTML;q=0.5"));
        assert!(!accept("*/*"));
        assert!(!accept("image/avif,image/webp,image/*,*/*;q=0.8"));
        assert!(!accept("application/json"));
        assert!(!accept("text/html;q=0"));
        assert!(!accepts_html(&HeaderMap::new()));
    }

    #[test]
    fn the_page_escapes_the_reason_and_links_home() {
        let html = render("/cam", http::StatusCode::NOT_FOUND, "no camera \"<b>\"").0;
        assert!(html.contains("<h1>404 Not Found</h1>"), "{html}");
        assert!(html.contains("no camera &quot;&lt;b&gt;&quot;"), "{html}");
        assert!(html.contains(r#"<a href="/cam/">"#), "{html}");
        assert!(html.contains(r#"href="/cam/assets/app.css""#), "{html}");
    }
}
