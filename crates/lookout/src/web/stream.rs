//! Live MJPEG: `multipart/x-mixed-replace`, one part per frame with Content-Type,
//! Content-Length and X-Timestamp, as mjpg-streamer and µStreamer send it.
//!
//! What goes in the body, and why each delimiter comes right after its JPEG: [`super::mjpeg_part`].
//!
//! The part (head, JPEG, delimiter) is put together once per frame and variant and shared by
//! every viewer, never copied per viewer. On a plain HTTP/1 connection the body is written by
//! the camera output's writer ([`super::stream_writer`]); over HTTPS or HTTP/2, and with
//! `?fps=`, each viewer here waits on the hub for the newest frame and gives hyper the part as
//! one body chunk.

use super::mjpeg_part::{Part, first_delimiter, part_for};
use super::query::{self, ViewQuery};
use super::stream_writer::{DirectSocket, Holds};
use super::{ApiError, AppState, CameraEntry, Client, Principal};
use crate::auth::live::Registration;
use crate::stop::Stop;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use http::{HeaderMap, HeaderValue, header};
use lookout_core::{CameraHub, Frame, SourceState, VariantSlot, ViewerHandle};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The boundary is mjpg-streamer's, `boundarydonotcross`, kept for clients that hard-coded it.
const CONTENT_TYPE: &str = "multipart/x-mixed-replace;boundary=boundarydonotcross";

pub async fn camera_stream(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    peer: Client,
    who: Principal,
    headers: HeaderMap,
    direct: DirectSocket,
) -> Result<Response, ApiError> {
    let q = query::parse(raw.as_deref())?;
    let cam = state.camera_for(&id, &who)?;
    start(&state, cam, q, peer, &who, &headers, &direct)
}

/// µStreamer's `/stream` (first camera, or `?camera=ID`), web_video_server's with `?topic=`.
pub async fn compat_stream(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    peer: Client,
    who: Principal,
    direct: DirectSocket,
) -> Result<Response, ApiError> {
    let q = query::parse(raw.as_deref())?;
    if q.topic.is_some() {
        let resp = match super::ros_pages::topic_camera(&state, &q, &who).await {
            Ok(cam) => start(&state, &cam, q, peer, &who, &headers, &direct),
            Err(e) => Err(e),
        };
        let resp = resp.unwrap_or_else(IntoResponse::into_response);
        return Ok(super::ros_pages::with_allowed_origin(
            &state, &headers, resp,
        ));
    }
    let cam = state.camera_or_first_for(q.camera.as_deref(), &who)?;
    start(&state, cam, q, peer, &who, &headers, &direct)
}

struct Viewer {
    rx: watch::Receiver<Option<Arc<Frame>>>,
    handle: ViewerHandle,
    _slot: VariantSlot,
    q: ViewQuery,
    /// Send the next part's header lines with the delimiter (for browsers), without
    /// `Content-Length` and `X-Timestamp`.
    advance_headers: bool,
    min_interval: Option<Duration>,
    last_sent: Option<Instant>,
    pending: VecDeque<Bytes>,
    /// Ends when the server shuts down or the viewer's session, token or user is revoked: made
    /// once per viewer and kept (a `cancelled()` made anew for every frame joined and left the
    /// shutdown token's waiter list twice per viewer per frame).
    stopped: Stop,
    _registration: Option<Registration>,
}

/// Starts a stream of `cam` for the request with these `headers`.
pub fn start(
    state: &AppState,
    cam: &CameraEntry,
    q: ViewQuery,
    peer: Client,
    who: &Principal,
    headers: &HeaderMap,
    direct: &DirectSocket,
) -> Result<Response, ApiError> {
    if let Some(e) = super::mp4_stream::jpeg_unavailable(cam) {
        return Err(e);
    }
    let hub = &cam.hub;
    let slot = hub.reserve_variant(q.variant)?;
    let variant = describe(&q);
    let registration = match (who, &state.auth) {
        (Principal::User { via, .. }, Some(auth)) => Some(auth.live.register_under(
            via.clone(),
            &cam.id,
            &state.shutdown,
        )),
        _ => None,
    };
    // Cancelled by the server's shutdown, and by a revocation of the viewer's credential.
    let stop = registration
        .as_ref()
        .map_or_else(|| state.shutdown.child_token(), |r| r.revoked.clone());
    let handle = hub.add_viewer(peer.to_string(), variant, q.max_fps);
    // Every current browser sends Sec-Fetch-Dest (`image` for an <img>, `document` for the
    // address bar); programs do not.
    let advance_headers = q
        .advance_headers
        .unwrap_or_else(|| headers.contains_key("sec-fetch-dest"));
    let holds = Holds {
        handle,
        slot,
        stop: Stop::new(stop),
        registration,
    };
    // A viewer with `?fps=` keeps its own task: it waits on a timer of its own.
    let handed_off = if q.max_fps.is_none() {
        state
            .mjpeg_writers
            .add(hub, q.variant, advance_headers, direct, holds)
    } else {
        Err(holds)
    };
    let body = match handed_off {
        Ok(body) => Body::new(body),
        Err(holds) => {
            let viewer = Viewer::new(hub, holds, q, advance_headers);
            Body::from_stream(stream::unfold(viewer, next_chunk))
        }
    };
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    // nginx: pass frames on as they come instead of buffering the response.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

impl Viewer {
    fn new(hub: &CameraHub, holds: Holds, q: ViewQuery, advance_headers: bool) -> Self {
        let mut rx = hub.subscribe();
        // A viewer joining a running camera gets the current frame at once; after idle, the
        // last frame is old, so it waits for the first new one.
        if hub.status().state == SourceState::Online {
            rx.mark_changed();
        }
        let mut pending = VecDeque::with_capacity(3);
        pending.push_back(Bytes::from_static(first_delimiter(advance_headers)));
        Self {
            rx,
            handle: holds.handle,
            _slot: holds.slot,
            advance_headers,
            min_interval: q.max_fps.map(|f| Duration::from_secs_f64(1.0 / f)),
            q,
            last_sent: None,
            pending,
            stopped: holds.stop,
            _registration: holds.registration,
        }
    }
}

fn describe(q: &ViewQuery) -> String {
    let v = &q.variant;
    if v.is_original() {
        return "original".into();
    }
    let mut parts = Vec::new();
    if let Some(w) = v.width {
        parts.push(format!("width={w}"));
    }
    if let Some(h) = v.height {
        parts.push(format!("height={h}"));
    }
    if let Some(q) = v.quality {
        parts.push(format!("quality={q}"));
    }
    if v.invert {
        parts.push("invert".into());
    }
    parts.join("&")
}

/// The next body chunk: the first delimiter, a part's head, its JPEG, or the delimiter after
/// it.
async fn next_chunk(mut v: Viewer) -> Option<(Result<Bytes, Infallible>, Viewer)> {
    loop {
        if let Some(chunk) = v.pending.pop_front() {
            return Some((Ok(chunk), v));
        }
        if let (Some(min), Some(last)) = (v.min_interval, v.last_sent) {
            tokio::select! {
                () = tokio::time::sleep_until(last + min) => {}
                () = &mut v.stopped => return None,
            }
        }
        tokio::select! {
            // A new frame first: woken for one, the viewer does not look at `stopped` at all;
            // once stopped it ends at the latest after the frame in hand.
            biased;
            r = v.rx.changed() => r.ok()?,
            () = &mut v.stopped => return None,
        }
        let Some(frame) = v.rx.borrow_and_update().clone() else {
            continue;
        };
        let part = match part_for(&frame, v.handle.hub(), &v.q.variant, v.advance_headers).await {
            Part::Bytes(part) => part,
            Part::Skip => continue,
            Part::End => return None,
        };
        v.last_sent = Some(Instant::now());
        v.handle.record_sent(part.len());
        v.pending.push_back(part);
    }
}
