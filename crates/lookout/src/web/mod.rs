//! The web layer: turns HTTP requests into hub subscriptions. It never talks to a device.

mod api;
mod error;
mod metrics;
mod pages;
mod query;
mod snapshot;
mod stream;

pub use error::{ApiError, status_for};

use crate::server::ConnectionStats;
use axum::Router;
use axum::extract::Request;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use http::request::Parts;
use lookout_core::CameraHub;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// A camera as the web layer sees it.
#[derive(Debug, Clone)]
pub struct CameraEntry {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub hub: Arc<CameraHub>,
}

#[derive(Debug)]
pub struct AppState {
    pub cameras: Vec<CameraEntry>,
    pub snapshot_timeout: Duration,
    pub request_timeout: Duration,
    pub connections: Arc<ConnectionStats>,
    pub shutdown: CancellationToken,
    pub started: Instant,
}

impl AppState {
    /// The camera with this id, or a 404 that lists the ones there are.
    pub fn camera(&self, id: &str) -> Result<&CameraEntry, ApiError> {
        self.cameras.iter().find(|c| c.id == id).ok_or_else(|| {
            let ids: Vec<&str> = self.cameras.iter().map(|c| c.id.as_str()).collect();
            ApiError::not_found(format!("no camera with id {id:?}"))
                .with_details(serde_json::json!({ "cameras": ids }))
        })
    }

    /// `?camera=ID`, or the first camera, for URLs that name none (peers' compatible URLs).
    pub fn camera_or_first(&self, id: Option<&str>) -> Result<&CameraEntry, ApiError> {
        match id {
            Some(id) => self.camera(id),
            None => self
                .cameras
                .first()
                .ok_or_else(|| ApiError::not_found("no cameras configured")),
        }
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let timeout = state.request_timeout;
    Router::new()
        .route("/", get(pages::root))
        .route("/cameras/{id}", get(pages::camera_page))
        .route("/cameras/{id}/stream.mjpeg", get(stream::camera_stream))
        .route("/cameras/{id}/snapshot.jpg", get(snapshot::camera_snapshot))
        // µStreamer's URLs.
        .route("/stream", get(stream::compat_stream))
        .route("/snapshot", get(snapshot::compat_snapshot))
        .route("/api/cameras", get(api::list_cameras))
        .route("/api/cameras/{id}", get(api::one_camera))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/assets/{file}", get(pages::asset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(move |req, next| {
            respond_within(timeout, req, next)
        }))
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
        format!("{method} is not allowed on {}; use GET", uri.path()),
    )
}

/// The client's socket address, as text; "unknown" for in-process requests.
#[derive(Debug, Clone)]
pub struct Peer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(|| "unknown".into(), |c| c.0.to_string()),
        ))
    }
}

/// Seconds since the Unix epoch with microseconds, as mjpg-streamer's X-Timestamp.
pub fn unix_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}
