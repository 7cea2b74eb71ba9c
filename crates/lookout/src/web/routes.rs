//! The router: every route with who may use it, the guard in front of each, the base path,
//! and the layers every answer passes (timeouts, security headers, HTML error pages).

use super::auth::{self, Access};
use super::{
    ApiError, AppState, acme_challenge, api, client, controls_api, error_page, events_page, hls,
    hls_recorded, metrics, mp4_stream, pages, recordings, ros_pages, security_headers, snapshot,
    stream, zones_api,
};
use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use http::StatusCode;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// Every route with who may use it. The router is built from this table, and a test walks it
/// to check that each non-public route refuses a request without credentials, so a new route
/// cannot be left open by mistake.
pub fn routes() -> Vec<(&'static str, Access, MethodRouter<Arc<AppState>>)> {
    use axum::routing::post;
    vec![
        ("/", Access::Page, get(pages::root)),
        ("/cameras/{id}", Access::Page, get(pages::camera_page)),
        (
            "/cameras/{id}/stream.mjpeg",
            Access::Viewer,
            get(stream::camera_stream),
        ),
        (
            "/cameras/{id}/stream.mp4",
            Access::Viewer,
            get(mp4_stream::camera_mp4),
        ),
        // HLS: index.m3u8, recorded.m3u8, live segments and inits; recorded files under rec/.
        ("/cameras/{id}/hls/{file}", Access::Viewer, get(hls::file)),
        (
            "/cameras/{id}/hls/rec/{file}",
            Access::Viewer,
            get(hls_recorded::file),
        ),
        (
            "/cameras/{id}/recording.mp4",
            Access::Viewer,
            get(recordings::camera_range),
        ),
        (
            "/cameras/{id}/snapshot.jpg",
            Access::Viewer,
            get(snapshot::camera_snapshot),
        ),
        // µStreamer's URLs, and web_video_server's with `?topic=`.
        ("/stream", Access::Viewer, get(stream::compat_stream)),
        ("/snapshot", Access::Viewer, get(snapshot::compat_snapshot)),
        ("/api/cameras", Access::Viewer, get(api::list_cameras)),
        ("/api/cameras/{id}", Access::Viewer, get(api::one_camera)),
        (
            "/api/cameras/{id}/recordings",
            Access::Viewer,
            get(recordings::list),
        ),
        (
            "/api/cameras/{id}/controls",
            Access::Admin,
            get(controls_api::get_controls).post(controls_api::set_controls),
        ),
        // web_video_server's pages; its `/stream?topic=` and `/snapshot?topic=` are above.
        ("/ros/topics", Access::Page, get(ros_pages::topics_page)),
        (
            "/api/ros/topics",
            Access::Viewer,
            get(ros_pages::topics_json),
        ),
        (
            "/stream_viewer",
            Access::Page,
            get(ros_pages::stream_viewer),
        ),
        (
            "/api/cameras/{id}/motion/zones",
            Access::Admin,
            get(zones_api::get_zones).put(zones_api::put_zones),
        ),
        ("/metrics", Access::Admin, get(metrics::metrics)),
        ("/api/cert", Access::Admin, get(api::certificate)),
        ("/api/events", Access::Viewer, get(api::events)),
        (
            "/api/events/{event}/snapshot.jpg",
            Access::Viewer,
            get(api::event_snapshot),
        ),
        (
            "/api/events/{event}/clip.mp4",
            Access::Viewer,
            get(recordings::event_clip),
        ),
        ("/events", Access::Page, get(events_page::events_page)),
        ("/logout", Access::Viewer, post(auth::login::logout)),
        (
            "/login",
            Access::Public,
            get(auth::login::login_page).post(auth::login::login),
        ),
        ("/healthz", Access::Public, get(api::healthz)),
        (
            "/.well-known/acme-challenge/{token}",
            Access::Public,
            get(acme_challenge::challenge),
        ),
        ("/assets/{file}", Access::Public, get(pages::asset)),
        // WebRTC (WHEP): an offer makes a peer, DELETE on its URL ends it.
        #[cfg(feature = "webrtc")]
        (
            "/cameras/{id}/whep",
            Access::Viewer,
            post(super::whep::offer),
        ),
        #[cfg(feature = "webrtc")]
        (
            "/cameras/{id}/whep/{peer}",
            Access::Viewer,
            axum::routing::delete(super::whep::close),
        ),
    ]
}

pub fn router(state: Arc<AppState>) -> Router {
    let base = state.base.clone();
    // Outermost: a refusal of a page opened in a browser becomes an HTML page.
    let html_errors = axum::middleware::from_fn_with_state(
        Arc::<str>::from(base.as_str()),
        error_page::for_browsers,
    );
    let inner = site(state);
    if base.is_empty() {
        return inner.layer(html_errors);
    }
    // Under a base path, requests are matched without it (`/cam/api/cameras` is
    // `/api/cameras`); ACME challenges stay at the root, where the CA asks; the rest is 404.
    Router::new()
        .fallback(move |req: Request| {
            let inner = inner.clone();
            let base = base.clone();
            async move {
                match strip_base(req, &base) {
                    Ok(req) => inner
                        .oneshot(req)
                        .await
                        .unwrap_or_else(|never| match never {}),
                    Err(uri) => ApiError::not_found(format!(
                        "no such page: {}; this Lookout lives under {base}/",
                        uri.path()
                    ))
                    .into_response(),
                }
            }
        })
        .layer(axum::middleware::from_fn(security_headers::add))
        .layer(html_errors)
}

/// The request with `base` taken off its path (and the original kept as `OriginalUri`), or
/// `Err` with the URI if it is not under `base`.
fn strip_base(mut req: Request, base: &str) -> Result<Request, http::Uri> {
    let uri = req.uri().clone();
    // HTTP/2 names the host only in the URI, which is rewritten below: keep it as Host.
    if !req.headers().contains_key(http::header::HOST)
        && let Some(a) = uri
            .authority()
            .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok())
    {
        req.headers_mut().insert(http::header::HOST, a);
    }
    let path = uri.path();
    let rest = match path.strip_prefix(base) {
        Some("") => "/",
        Some(r) if r.starts_with('/') => r,
        _ if path.starts_with(acme_challenge::PREFIX) => return Ok(req),
        _ => return Err(uri),
    };
    let new = match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    let Ok(new_uri) = new.parse::<http::Uri>() else {
        return Err(uri);
    };
    *req.uri_mut() = new_uri;
    req.extensions_mut().insert(axum::extract::OriginalUri(uri));
    Ok(req)
}

/// The site at the root: every route, its guard and the common layers.
fn site(state: Arc<AppState>) -> Router {
    let timeout = state.request_timeout;
    let trust = state.proxy_trust.clone();
    let mut router = Router::new();
    for (path, access, method_router) in routes() {
        let guarded = method_router.route_layer(axum::middleware::from_fn_with_state(
            (state.clone(), access),
            auth::guard,
        ));
        router = router.route(path, guarded);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(acme_challenge::redirect_to_https))
        .layer(axum::middleware::from_fn_with_state(
            trust,
            client::identify,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            respond_within(timeout, req, next)
        }))
        // Outermost: every answer carries them, timeouts and redirects too.
        .layer(axum::middleware::from_fn(security_headers::add))
        .with_state(state)
}

/// Bounds the time to produce a response's head. Streams answer at once and then send their
/// body for as long as the viewer stays, which this does not limit.
async fn respond_within(timeout: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("no answer within {timeout:?} (server.request_timeout_ms)"),
        )
        .into_response(),
    }
}

async fn not_found(uri: http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no such page: {}; the API is listed in docs/ref/http-api.md",
        uri.path()
    ))
}

async fn method_not_allowed(method: http::Method, uri: http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{method} is not allowed on {}; docs/ref/http-api.md lists each URL's methods",
            uri.path()
        ),
    )
}
