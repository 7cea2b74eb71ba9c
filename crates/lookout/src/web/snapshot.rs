//! A fresh JPEG: waits for the next live frame (bounded), like µStreamer's `/snapshot` and
//! web_video_server's; 503 with the camera's state and last error when it is offline.

use super::query::{self, ViewQuery};
use super::unix_time::unix_timestamp;
use super::{ApiError, AppState, CameraEntry, Principal};
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use lookout_core::{Error, ErrorKind, Frame, FrameKind, SourceState};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub async fn camera_snapshot(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    who: Principal,
) -> Result<Response, ApiError> {
    let q = query::parse(raw.as_deref())?;
    snapshot(state.camera_for(&id, &who)?, &q, state.snapshot_timeout).await
}

/// µStreamer's `/snapshot` (first camera, or `?camera=ID`), web_video_server's with `?topic=`.
pub async fn compat_snapshot(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    who: Principal,
) -> Result<Response, ApiError> {
    let q = query::parse(raw.as_deref())?;
    if q.topic.is_some() {
        let resp = match super::ros_pages::topic_camera(&state, &q, &who).await {
            Ok(cam) => snapshot(&cam, &q, state.snapshot_timeout).await,
            Err(e) => Err(e),
        };
        let resp = resp.unwrap_or_else(IntoResponse::into_response);
        return Ok(super::ros_pages::with_allowed_origin(
            &state, &headers, resp,
        ));
    }
    snapshot(
        state.camera_or_first_for(q.camera.as_deref(), &who)?,
        &q,
        state.snapshot_timeout,
    )
    .await
}

pub async fn snapshot(
    cam: &CameraEntry,
    q: &ViewQuery,
    wait: Duration,
) -> Result<Response, ApiError> {
    if let Some(e) = super::mp4_stream::jpeg_unavailable(cam) {
        return Err(e);
    }
    let hub = &cam.hub;
    let _slot = hub.reserve_variant(q.variant)?;
    // Demand starts an idle camera and keeps it running while we wait.
    let _demand = hub.demand();
    let frame = fresh_frame(cam, wait).await?;
    let jpeg = frame.jpeg_for(&q.variant, hub.variant_encoder()).await?;
    let mut resp = jpeg.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&unix_timestamp(frame.captured_at)) {
        h.insert("x-timestamp", v);
    }
    // A topic's id is its name: `/camera/image_raw` saves as `camera_image_raw-….jpg`.
    let filename = format!(
        "inline; filename=\"{}-{}.jpg\"",
        cam.id.trim_start_matches('/').replace('/', "_"),
        humantime::format_rfc3339_seconds(frame.captured_at)
            .to_string()
            .replace(':', "-")
    );
    if let Ok(v) = HeaderValue::from_str(&filename) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The next live frame; if none comes within `wait`, the latest live frame while the camera
/// is online (a slow camera, one frame every few seconds); otherwise 503.
async fn fresh_frame(cam: &CameraEntry, wait: Duration) -> Result<Arc<Frame>, ApiError> {
    let hub = &cam.hub;
    let mut frames = hub.subscribe();
    let mut status = hub.watch_status();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if status.borrow_and_update().state == SourceState::Offline {
            return Err(offline(cam));
        }
        tokio::select! {
            r = frames.changed() => {
                if r.is_err() { return Err(offline(cam)); }
                let frame = frames.borrow_and_update().clone();
                if let Some(f) = frame.filter(|f| f.kind == FrameKind::Live) {
                    return Ok(f);
                }
            }
            _ = status.changed() => {}
            () = tokio::time::sleep_until(deadline) => {
                return match hub.latest_live() {
                    Some(f) if hub.status().state == SourceState::Online => Ok(f),
                    _ => Err(ApiError::from(Error::new(
                        ErrorKind::Timeout,
                        format!("camera {:?} sent no frame within {wait:?}", cam.id),
                    )).with_details(state_details(cam))),
                };
            }
        }
    }
}

fn offline(cam: &CameraEntry) -> ApiError {
    ApiError::from(Error::unavailable(format!(
        "camera {:?} is offline",
        cam.id
    )))
    .with_details(state_details(cam))
}

fn state_details(cam: &CameraEntry) -> serde_json::Value {
    let s = cam.hub.status();
    json!({ "camera": cam.id, "state": s.state, "last_error": s.last_error, "since": humantime::format_rfc3339_millis(s.since).to_string() })
}
