//! The web layer: turns HTTP requests into hub subscriptions. It never talks to a device.

mod acme_challenge;
mod api;
pub mod auth;
pub mod client;
mod controls_api;
mod error;
mod error_page;
mod events_page;
mod metrics;
mod mp4_stream;
pub(crate) mod pages;
mod query;
mod ros_pages;
pub(crate) mod security_headers;
mod snapshot;
mod stream;
mod zones_api;

pub use auth::{Access, AuthState, Principal};
pub use client::{Client, ConnInfo, ProxyTrust, TrustedProxy};
pub use error::{ApiError, status_for};

use crate::server::ConnectionStats;
use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use http::StatusCode;
use lookout_core::CameraHub;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// A camera as the web layer sees it.
#[derive(Debug, Clone)]
pub struct CameraEntry {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub hub: Arc<CameraHub>,
    /// A V4L2 camera's controls; `None` for other sources.
    pub controls: Option<Arc<crate::controls::CameraControls>>,
}

#[derive(Debug)]
pub struct AppState {
    pub cameras: Vec<CameraEntry>,
    /// `None` when `auth.mode = "none"`.
    pub auth: Option<Arc<AuthState>>,
    pub snapshot_timeout: Duration,
    pub request_timeout: Duration,
    pub connections: Arc<ConnectionStats>,
    pub shutdown: CancellationToken,
    pub started: Instant,
    /// Whose `Forwarded`/`X-Forwarded-*` headers are believed.
    pub proxy_trust: Arc<ProxyTrust>,
    /// certbot's `--webroot` folder, for `/.well-known/acme-challenge/`.
    pub acme_webroot: Option<std::path::PathBuf>,
    /// HTTP-01 answers of our own ACME client, while it waits for the CA.
    pub challenges: Arc<crate::acme::Challenges>,
    /// Automatic certificates, when `[acme]` is set.
    pub acme: Option<Arc<crate::acme::AcmeManager>>,
    /// Where the site lives: `""` at the root, `/cam` under `https://host/cam/`.
    pub base: String,
    /// The event log, when there is a database.
    pub events: Option<crate::events::EventLog>,
    /// Motion mask zones of the cameras with motion detection.
    pub motion_zones: Arc<crate::events::zones::MotionZones>,
    /// web_video_server's on-demand topics, when a ROS transport serves them.
    pub topics: Option<Arc<crate::ros::topics::TopicCameras>>,
}

impl AppState {
    /// The camera with this id if `who` may watch it: 404 (listing the cameras `who` may see)
    /// or 403.
    pub fn camera_for(&self, id: &str, who: &Principal) -> Result<&CameraEntry, ApiError> {
        let cam = self
            .cameras
            .iter()
            .find(|c| c.id == id && who.may_view(&c.id));
        match cam {
            Some(c) => Ok(c),
            None if self.cameras.iter().any(|c| c.id == id) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("you may not watch camera {id:?}; an admin can change that"),
            )),
            None => {
                let ids: Vec<&str> = self
                    .cameras
                    .iter()
                    .filter(|c| who.may_view(&c.id))
                    .map(|c| c.id.as_str())
                    .collect();
                Err(ApiError::not_found(format!("no camera with id {id:?}"))
                    .with_details(serde_json::json!({ "cameras": ids })))
            }
        }
    }

    /// `?camera=ID`, or the first camera `who` may watch, for URLs that name none.
    pub fn camera_or_first_for(
        &self,
        id: Option<&str>,
        who: &Principal,
    ) -> Result<&CameraEntry, ApiError> {
        match id {
            Some(id) => self.camera_for(id, who),
            None => self
                .cameras
                .iter()
                .find(|c| who.may_view(&c.id))
                .ok_or_else(|| ApiError::not_found("no cameras you may watch")),
        }
    }

    /// The cameras `who` may watch.
    pub fn visible_cameras<'a>(
        &'a self,
        who: &'a Principal,
    ) -> impl Iterator<Item = &'a CameraEntry> + 'a {
        self.cameras.iter().filter(move |c| who.may_view(&c.id))
    }
}

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

/// Seconds since the Unix epoch with microseconds, as mjpg-streamer's X-Timestamp.
pub fn unix_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}
