//! The JSON API: cameras' state and viewers, and the health check.

use super::{ApiError, AppState, CameraEntry, Principal};
use crate::auth::Role;
use axum::Json;
use axum::extract::{Path, State};
use lookout_core::hub::ViewerView;
use lookout_core::{FrameKind, SourceState, SourceStatus};
use lookout_store::event_list::{self as store_events, EventPicture, EventScope};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[derive(Debug, Serialize)]
pub struct CameraView {
    pub id: String,
    pub name: String,
    pub source: &'static str,
    pub online: bool,
    /// The source runs but is quiet: viewers are shown its last picture again.
    pub stale: bool,
    #[serde(flatten)]
    pub status: SourceStatus,
    /// Size of the latest live frame; null before the first.
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub captured_fps: f64,
    pub frames_captured: u64,
    pub frames_dropped: u64,
    /// Pictures Lookout encoded to H.264 for `stream.mp4` (grows only while somebody watches it).
    pub h264_frames_encoded: u64,
    pub viewer_count: usize,
    pub viewers: Vec<ViewerView>,
    pub stream_url: String,
    pub snapshot_url: String,
    /// What the camera can be watched as: `"jpeg"` (MJPEG, snapshots), `"h264"` (stream.mp4).
    pub codecs: Vec<&'static str>,
    /// The H.264 stream once its parameters are known; null for JPEG-only cameras.
    pub h264: Option<H264View>,
    pub mp4_url: Option<String>,
    /// Where the camera's JPEG comes from; null when it has none (H.264 only, no decoder).
    pub jpeg: Option<JpegView>,
    pub recording: crate::camera_entry::RecordingState,
    /// WebRTC (WHEP) for this camera; null where it does not apply (ROS topics).
    pub webrtc: Option<WebRtcView>,
}

#[derive(Debug, Serialize)]
pub struct WebRtcView {
    /// Whether the camera page may try WebRTC: Lookout serves it and the camera has H.264.
    pub available: bool,
    /// Why not, when it is not.
    pub reason: Option<String>,
    /// POST an SDP offer here (WHEP).
    pub whep_url: String,
    /// The UDP port media goes over (null: UDP is off).
    pub udp_port: Option<u16>,
    /// The TCP port of ICE over TCP, where UDP is blocked (null: off).
    pub tcp_port: Option<u16>,
    /// WebRTC viewers of this camera now.
    pub peers: usize,
}

/// The camera's WebRTC state for the API and the page.
pub fn webrtc_view(state: &AppState, c: &CameraEntry) -> WebRtcView {
    let (reason, (udp_port, tcp_port), peers) = match &state.webrtc {
        #[cfg(feature = "webrtc")]
        crate::webrtc::WebRtcState::Running(w) => (
            (!super::mp4_stream::codecs(&c.hub).contains(&"h264"))
                .then(|| "the camera has no H.264 (MJPEG only)".to_owned()),
            (w.udp_port(), w.tcp_port()),
            w.peers_per_camera().get(&c.id).copied().unwrap_or(0),
        ),
        crate::webrtc::WebRtcState::Off { reason } => (Some(reason.clone()), (None, None), 0),
    };
    WebRtcView {
        available: reason.is_none(),
        reason,
        whep_url: format!("{}/cameras/{}/whep", state.base, c.id),
        udp_port,
        tcp_port,
        peers,
    }
}

#[derive(Debug, Serialize)]
pub struct JpegView {
    /// `"native"`: the camera's own JPEG; `"decoded"`: Lookout decodes its H.264.
    pub origin: &'static str,
    /// `"openh264"` or `"ffmpeg"` for a decoded camera (or an RTSP camera that may turn out
    /// to send H.264), else null.
    pub decoder: Option<&'static str>,
    /// Pictures decoded from H.264 so far (grows only while somebody wants JPEG).
    pub frames_decoded: u64,
}

#[derive(Debug, Serialize)]
pub struct H264View {
    /// RFC 6381 codec string, for `MediaSource.isTypeSupported`.
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub origin: lookout_core::VideoOrigin,
}

/// A camera's state for `who`: only admins (and everyone when logins are off) see the
/// addresses of the other viewers.
pub fn view(c: &CameraEntry, who: &Principal, base: &str) -> CameraView {
    let hub = &c.hub;
    let status = hub.status();
    let latest = hub.latest_live();
    let stats = hub.stats();
    let codecs = super::mp4_stream::codecs(hub);
    let mut viewers = hub.viewers();
    if !who.is_admin() {
        for v in &mut viewers {
            v.remote = "hidden".into();
        }
    }
    CameraView {
        id: c.id.clone(),
        name: c.name.clone(),
        source: c.kind,
        online: status.state == SourceState::Online,
        stale: hub.latest().is_some_and(|f| f.kind == FrameKind::Stale),
        status,
        width: latest
            .as_ref()
            .map(|f| f.width)
            .or_else(|| hub.video().latest().map(|f| f.params.width())),
        height: latest
            .as_ref()
            .map(|f| f.height)
            .or_else(|| hub.video().latest().map(|f| f.params.height())),
        captured_fps: stats.capture_rate.rate(),
        frames_captured: stats.frames_captured.load(Ordering::Relaxed),
        frames_dropped: stats.frames_dropped.load(Ordering::Relaxed),
        h264_frames_encoded: stats.h264_encoded.load(Ordering::Relaxed),
        viewer_count: viewers.len(),
        viewers,
        stream_url: format!("{base}/cameras/{}/stream.mjpeg", c.id),
        snapshot_url: format!("{base}/cameras/{}/snapshot.jpg", c.id),
        h264: hub.video().latest().map(|f| H264View {
            codec: f.params.codec_string(),
            width: f.params.width(),
            height: f.params.height(),
            origin: f.origin,
        }),
        mp4_url: codecs
            .contains(&"h264")
            .then(|| format!("{base}/cameras/{}/stream.mp4", c.id)),
        jpeg: codecs.contains(&"jpeg").then(|| JpegView {
            origin: if hub.sends_h264_only() {
                "decoded"
            } else {
                "native"
            },
            // A V4L2 camera has a decoder standing by in case it sends H.264 only; name it
            // when it decodes, or while an RTSP camera may turn out to need it.
            decoder: hub
                .jpeg_decoder()
                .filter(|_| hub.sends_h264_only() || hub.h264_not_known_yet()),
            frames_decoded: stats.h264_decoded.load(Ordering::Relaxed),
        }),
        codecs,
        recording: c.recording.clone(),
        webrtc: None,
    }
}

#[derive(Debug, Serialize)]
pub struct CameraList {
    pub cameras: Vec<CameraView>,
}

pub async fn list_cameras(State(state): State<Arc<AppState>>, who: Principal) -> Json<CameraList> {
    Json(CameraList {
        cameras: state
            .visible_cameras(&who)
            .map(|c| {
                let mut v = view(c, &who, &state.base);
                v.webrtc = Some(webrtc_view(&state, c));
                v
            })
            .collect(),
    })
}

pub async fn one_camera(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    who: Principal,
) -> Result<Json<CameraView>, ApiError> {
    let c = state.camera_for(&id, &who)?;
    let mut v = view(c, &who, &state.base);
    v.webrtc = Some(webrtc_view(&state, c));
    Ok(Json(v))
}

pub async fn healthz(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs(),
    }))
}

/// The ACME certificate's state (admins).
pub async fn certificate(
    State(state): State<Arc<AppState>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(acme) = &state.acme else {
        return Err(ApiError::not_found(
            "no automatic certificates here: [acme] is not configured",
        ));
    };
    Ok(Json(serde_json::to_value(acme.state()).unwrap_or_default()))
}

#[derive(Debug, serde::Deserialize)]
pub struct EventsQuery {
    limit: Option<u32>,
    before: Option<i64>,
}

/// The events `who` may see: admins all, viewers those of the cameras they may watch (events
/// without a camera are for admins only).
pub fn event_scope(who: &Principal) -> EventScope {
    match who {
        Principal::Anyone => EventScope::All,
        Principal::Anonymous => EventScope::Cameras(Vec::new()),
        Principal::User { user, .. } if user.role == Role::Admin => EventScope::All,
        Principal::User { user, .. } => user
            .cameras
            .clone()
            .map_or(EventScope::AnyCamera, EventScope::Cameras),
    }
}

/// Events of the cameras `who` may watch, newest first: `?limit=` (default 100) per page,
/// `?before=ID` for the page after the one whose `next_before` was ID.
pub async fn events(
    State(state): State<Arc<AppState>>,
    who: Principal,
    q: Result<axum::extract::Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let axum::extract::Query(q) = q.map_err(|e| {
        ApiError::bad_request(format!(
            "{}; limit is a number of events (1 to 1000), before an event id (next_before of the previous page)",
            e.body_text()
        ))
    })?;
    let Some(log) = &state.events else {
        return Ok(Json(
            serde_json::json!({ "events": [], "next_before": null }),
        ));
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let scope = event_scope(&who);
    let mut page = log
        .store
        .run(move |db| store_events::list(db, &scope, q.before, limit))
        .await
        .map_err(|e| ApiError::database("cannot read events", e))?;
    for e in &mut page.events {
        if let Some(u) = &mut e.snapshot_url {
            *u = format!("{}{u}", state.base);
        }
        if let Some(c) = &mut e.clip {
            c.mp4_url = format!("{}{}", state.base, c.mp4_url);
        }
    }
    Ok(Json(serde_json::to_value(page).unwrap_or_default()))
}

/// An event's picture, if `who` may watch its camera.
pub async fn event_snapshot(
    State(state): State<Arc<AppState>>,
    event: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    who: Principal,
) -> Result<axum::response::Response, ApiError> {
    let Path(event) = event
        .map_err(|_| ApiError::not_found("event ids are numbers, as /api/events lists them"))?;
    use axum::response::IntoResponse;
    let Some(log) = &state.events else {
        return Err(ApiError::not_found("no events are kept here"));
    };
    let found = log
        .store
        .run(move |db| store_events::picture(db, event))
        .await
        .map_err(|e| ApiError::database("cannot read events", e))?;
    let Some(EventPicture {
        camera,
        snapshot: Some(_),
    }) = found
    else {
        return Err(ApiError::not_found(format!("event {event} has no picture")));
    };
    match &camera {
        Some(c) => {
            state.camera_for(c, &who)?;
        }
        // As in the list: events without a camera are for admins.
        None if !who.is_admin() => {
            return Err(lookout_core::Error::permission_denied(format!(
                "event {event} is not of a camera; only admins see it"
            ))
            .into());
        }
        None => {}
    }
    let path = crate::events::snapshot_path(&log.snapshots, event);
    let jpeg = tokio::fs::read(&path).await.map_err(|_| {
        ApiError::not_found(format!("the picture of event {event} is gone (retention)"))
    })?;
    let mut resp = jpeg.into_response();
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("image/jpeg"),
    );
    Ok(resp)
}
