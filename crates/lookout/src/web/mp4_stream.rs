//! Live H.264 as fragmented MP4: `GET /cameras/{id}/stream.mp4` sends the init segment, the
//! camera's current GOP (so playback starts on a key frame) and then a fragment per frame, as
//! one streamed response. Browsers append it to Media Source Extensions (assets/video.js);
//! ffmpeg, ffplay and VLC play the URL as it is.
//!
//! A streamed response rather than a WebSocket: it passes the generated nginx site as it is
//! (`proxy_buffering off`, no `Upgrade`), multiplexes on HTTP/2, and is a plain GET under the
//! same login, token and revocation rules as `stream.mjpeg` (docs/design, issue 13 plan §4).

use super::unix_time::unix_timestamp;
use super::{ApiError, AppState, CameraEntry, Client, Principal};
use crate::auth::live::Registration;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream;
use http::{HeaderValue, StatusCode, header};
use lookout_core::{CameraHub, Fmp4Viewer, H264DemandGuard, SourceState, ViewerHandle};
use serde_json::json;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub async fn camera_mp4(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    peer: Client,
    who: Principal,
) -> Result<Response, ApiError> {
    let cam = state.camera_for(&id, &who)?;
    let hub = &cam.hub;
    if !offers_h264(hub) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "camera {:?} sends JPEG and this Lookout does not encode it to H.264 ({}); watch {}/cameras/{}/stream.mjpeg instead",
                cam.id,
                if lookout_sources::encode::AVAILABLE {
                    "its [camera.h264] mode is \"off\""
                } else {
                    "built without the openh264 feature"
                },
                state.base,
                cam.id
            ),
        )
        .with_details(json!({ "camera": cam.id, "codecs": codecs(hub) })));
    }
    let registration = match (&who, &state.auth) {
        (Principal::User { via, .. }, Some(auth)) => Some(auth.live.register(via.clone(), &cam.id)),
        _ => None,
    };
    let revoked = registration
        .as_ref()
        .map_or_else(CancellationToken::new, |r| r.revoked.clone());
    // Demand: an idle camera starts for this viewer, and the API lists it.
    let handle = hub.add_viewer(peer.to_string(), "h264".into(), None);
    // H.264 demand: a JPEG camera's encoder runs while this lives.
    let h264_demand = hub.demand_h264();
    let mut viewer = Fmp4Viewer::new(hub.video());
    // Wait for the init segment before answering: the headers carry its codec, and a camera
    // that sends nothing gets a clear 503 instead of an empty body.
    let init = first_chunk(&state, cam, &mut viewer, &revoked).await?;
    let codec = viewer
        .params()
        .map(|p| p.codec_string())
        .unwrap_or_default();
    let started_at = viewer.started_at().map(unix_timestamp).unwrap_or_default();
    handle.record_sent(init.iter().map(Bytes::len).sum());
    let body = Mp4Body {
        viewer,
        handle,
        _h264_demand: h264_demand,
        pending: init.into(),
        shutdown: state.shutdown.clone(),
        revoked,
        _registration: registration,
    };
    let mut resp = Response::new(Body::from_stream(stream::unfold(body, next_chunk)));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // nginx: pass fragments on as they come instead of buffering the response.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    if let Ok(v) = HeaderValue::from_str(&codec) {
        // The RFC 6381 codec for `MediaSource.isTypeSupported` (`avc1.42C01F`).
        h.insert("x-lookout-codec", v);
    }
    if let Ok(v) = HeaderValue::from_str(&started_at) {
        // When the frame at media time 0 was captured (Unix seconds, as mjpg-streamer's
        // X-Timestamp): a player's latency is its clock minus this plus the frame's time.
        h.insert("x-lookout-start", v);
    }
    Ok(resp)
}

/// Whether `stream.mp4` has anything to send for this camera: it sends or makes H.264, or
/// it may (an RTSP camera that has not connected yet: stream.mp4 starts it and waits).
pub(super) fn offers_h264(hub: &CameraHub) -> bool {
    hub.sends_h264_only()
        || hub.encodes_h264()
        || hub.video().latest_params().is_some()
        || hub.h264_not_known_yet()
}

/// Whether MJPEG and snapshots can be served: the camera sends JPEG, or a decoder makes it.
fn offers_jpeg(hub: &CameraHub) -> bool {
    !hub.sends_h264_only() || hub.jpeg_decoder().is_some()
}

/// The codecs a camera offers, as the API lists them.
pub fn codecs(hub: &CameraHub) -> Vec<&'static str> {
    let mut list = Vec::with_capacity(2);
    if offers_jpeg(hub) {
        list.push("jpeg");
    }
    if offers_h264(hub) {
        list.push("h264");
    }
    list
}

/// For `stream.mjpeg` and `snapshot.jpg`: the reason they cannot be served, for a camera that
/// sends H.264 only when this Lookout has no H.264 decoder (server.h264_decoder).
pub fn jpeg_unavailable(cam: &CameraEntry) -> Option<ApiError> {
    (!offers_jpeg(&cam.hub)).then(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "camera {:?} sends H.264 only, and this Lookout has no H.264 decoder for MJPEG and snapshots: {}; or watch its stream.mp4 instead (the camera page plays it)",
                cam.id,
                lookout_sources::decode::NO_DECODER_FIX
            ),
        )
        .with_details(json!({ "camera": cam.id, "codecs": codecs(&cam.hub), "jpeg_decoder": null }))
    })
}

/// 404 for a camera that turned out to send JPEG when it connected (an MJPEG RTSP camera).
fn sends_jpeg(state: &AppState, cam: &CameraEntry) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "camera {:?} sends JPEG and this Lookout does not encode it to H.264; watch {}/cameras/{}/stream.mjpeg instead",
            cam.id, state.base, cam.id
        ),
    )
    .with_details(json!({ "camera": cam.id, "codecs": codecs(&cam.hub) }))
}

/// The init segment, or 503 when the camera is offline or sends nothing in time.
async fn first_chunk(
    state: &AppState,
    cam: &CameraEntry,
    viewer: &mut Fmp4Viewer,
    revoked: &CancellationToken,
) -> Result<Vec<Bytes>, ApiError> {
    let unavailable = |why: String| {
        let s = cam.hub.status();
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, why).with_details(json!({
            "camera": cam.id, "state": s.state, "last_error": s.last_error,
        }))
    };
    let mut status = cam.hub.watch_status();
    let deadline = tokio::time::Instant::now() + state.snapshot_timeout;
    loop {
        let state_now = status.borrow_and_update().state;
        if state_now == SourceState::Offline {
            return Err(unavailable(format!("camera {:?} is offline", cam.id)));
        }
        // An RTSP camera that connected and sends JPEG: nothing to wait for.
        if state_now == SourceState::Online && !offers_h264(&cam.hub) {
            return Err(sends_jpeg(state, cam));
        }
        tokio::select! {
            chunk = viewer.next() => {
                return chunk.ok_or_else(|| unavailable(format!("camera {:?} restarted its H.264 stream; try again", cam.id)));
            }
            _ = status.changed() => {}
            () = tokio::time::sleep_until(deadline) => {
                return Err(unavailable(format!(
                    "camera {:?} sent no H.264 key frame within {:?}",
                    cam.id, state.snapshot_timeout
                )));
            }
            () = state.shutdown.cancelled() => return Err(unavailable("Lookout is shutting down".into())),
            () = revoked.cancelled() => return Err(ApiError::new(StatusCode::UNAUTHORIZED, "your login was revoked")),
        }
    }
}

struct Mp4Body {
    viewer: Fmp4Viewer,
    handle: ViewerHandle,
    _h264_demand: H264DemandGuard,
    pending: VecDeque<Bytes>,
    shutdown: CancellationToken,
    /// Cancelled when the viewer's session, token or user is revoked.
    revoked: CancellationToken,
    _registration: Option<Registration>,
}

/// The next body chunk: a fragment's `moof` or its `mdat`. The stream ends when the camera's
/// codec parameters change (the player starts again with the new init segment), on shutdown
/// and on revocation.
async fn next_chunk(mut b: Mp4Body) -> Option<(Result<Bytes, Infallible>, Mp4Body)> {
    loop {
        if let Some(chunk) = b.pending.pop_front() {
            return Some((Ok(chunk), b));
        }
        let parts = tokio::select! {
            parts = b.viewer.next() => parts?,
            () = b.shutdown.cancelled() => return None,
            () = b.revoked.cancelled() => return None,
        };
        b.handle.record_sent(parts.iter().map(Bytes::len).sum());
        b.pending.extend(parts);
    }
}
