//! HLS over HTTP (RFC 8216, fMP4 segments), for Safari without MSE, players (VLC, ffplay)
//! and caches in front (nginx, a CDN): `GET /cameras/{id}/hls/index.m3u8` (live, a sliding
//! window of ~2 s segments from an in-memory session, `crate::hls`), its segments
//! `{tag}-{seq}.m4s` and inits `init-{hash}.mp4`, and `recorded.m3u8` (recordings,
//! `hls_recorded`).
//!
//! Caching: a segment or init URL always names the same bytes (inits by content hash, live
//! segments by a random per-session tag, recorded ones by id and start time), so they are
//! `immutable` for a day; a live playlist may be kept 1 s (half its 2 s target duration).
//! What a shared cache may keep: everything when logins are off, and what was asked for with
//! `?token=` in the URL (the URL is the credential: a cache keyed on it serves only those who
//! have it); an answer to a session cookie, HTTP Basic or a Bearer header is `private`.
//! The playlists carry the request's `?token=` into their segment and init URIs.

use super::hls_answer::{Audience, IMMUTABLE, PLAYLIST_TYPE, respond};
use super::{ApiError, AppState, CameraEntry, Principal, hls_recorded, mp4_stream};
use crate::hls::live::{LiveSegment, SEGMENT_TARGET, Window};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use lookout_core::SourceState;
use serde_json::json;
use std::sync::Arc;

/// Live playlists: at most half the target duration (RFC 8216 6.2.2 has clients poll once a
/// target duration), so a cache never hides a new segment for long.
const LIVE_PLAYLIST_MAX_AGE_S: u64 = 1;

/// `GET /cameras/{id}/hls/{file}`.
pub async fn file(
    State(state): State<Arc<AppState>>,
    Path((id, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: http::HeaderMap,
    who: Principal,
) -> Result<Response, ApiError> {
    let cam = state.camera_for(&id, &who)?;
    let audience = Audience::of(&who, query.as_deref(), &headers);
    if file == "index.m3u8" {
        return live_playlist(&state, cam, &audience).await;
    }
    if file == "recorded.m3u8" {
        return hls_recorded::playlist(&state, cam, &audience, query.as_deref()).await;
    }
    if let Some(hash) = file
        .strip_prefix("init-")
        .and_then(|f| f.strip_suffix(".mp4"))
    {
        let init = state
            .hls
            .running(&cam.id)
            .and_then(|s| s.window().borrow().init(hash));
        let Some(init) = init else {
            return Err(gone(cam, "init segment"));
        };
        state.hls.count_served();
        return Ok(respond(
            init,
            "video/mp4",
            audience.cache_control(IMMUTABLE),
        ));
    }
    if let Some((tag, seq)) = file
        .strip_suffix(".m4s")
        .and_then(|f| f.split_once('-'))
        .and_then(|(tag, seq)| Some((tag, seq.parse::<u64>().ok()?)))
    {
        let segment = state
            .hls
            .running(&cam.id)
            .filter(|s| s.tag == tag)
            .and_then(|s| s.window().borrow().segment(seq));
        let Some(segment) = segment else {
            return Err(gone(cam, "segment"));
        };
        state.hls.count_served();
        return Ok(respond(
            segment.body.clone(),
            "video/mp4",
            audience.cache_control(IMMUTABLE),
        ));
    }
    Err(ApiError::not_found(format!(
        "no HLS file {file:?}: the live playlist is {}/cameras/{}/hls/index.m3u8, recordings are recorded.m3u8?start=…&end=…",
        state.base, cam.id
    )))
}

fn gone(cam: &CameraEntry, what: &str) -> ApiError {
    ApiError::not_found(format!(
        "this live HLS {what} of camera {:?} is gone (segments are kept about 24 s; a session stops 30 s after its last request): fetch index.m3u8 again",
        cam.id
    ))
}

async fn live_playlist(
    state: &AppState,
    cam: &CameraEntry,
    audience: &Audience,
) -> Result<Response, ApiError> {
    if !mp4_stream::offers_h264(&cam.hub) {
        return Err(no_h264(state, cam));
    }
    let session = state.hls.session(&cam.hub);
    let window = first_window(state, cam, &session.window()).await?;
    let suffix = audience.uri_suffix();
    let tag = session.tag.clone();
    let playlist = window.playlist(
        |s: &LiveSegment| format!("{tag}-{}.m4s{suffix}", s.seq),
        |hash| format!("init-{hash}.mp4{suffix}"),
    );
    Ok(respond(
        playlist.render(),
        PLAYLIST_TYPE,
        audience.cache_control(&format!("max-age={LIVE_PLAYLIST_MAX_AGE_S}")),
    ))
}

/// A camera without H.264: the reason, as `stream.mp4` gives it.
fn no_h264(state: &AppState, cam: &CameraEntry) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "camera {:?} sends JPEG and this Lookout does not encode it to H.264 ({}): HLS is H.264; watch {}/cameras/{}/stream.mjpeg instead",
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
    .with_details(json!({ "camera": cam.id, "codecs": mp4_stream::codecs(&cam.hub) }))
}

/// The session's window once it has a segment: the first request of an idle camera waits
/// for the camera to start and a segment to be cut (bounded, as `stream.mp4` waits for a key
/// frame), or gets 503 with the reason.
async fn first_window(
    state: &AppState,
    cam: &CameraEntry,
    window: &tokio::sync::watch::Receiver<Window>,
) -> Result<Window, ApiError> {
    let mut window = window.clone();
    let unavailable = |why: String| {
        let s = cam.hub.status();
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, why).with_details(json!({
            "camera": cam.id, "state": s.state, "last_error": s.last_error,
        }))
    };
    let mut status = cam.hub.watch_status();
    // A segment needs a key frame and then about its target length of video.
    let wait = state.snapshot_timeout + 2 * SEGMENT_TARGET;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        {
            let w = window.borrow_and_update();
            if !w.segments.is_empty() {
                return Ok(w.clone());
            }
        }
        let state_now = status.borrow_and_update().state;
        if state_now == SourceState::Offline {
            return Err(unavailable(format!("camera {:?} is offline", cam.id)));
        }
        if state_now == SourceState::Online && !mp4_stream::offers_h264(&cam.hub) {
            return Err(no_h264(state, cam));
        }
        tokio::select! {
            changed = window.changed() => if changed.is_err() {
                return Err(unavailable(format!("camera {:?}'s live HLS stopped; try again", cam.id)));
            },
            _ = status.changed() => {}
            () = tokio::time::sleep_until(deadline) => {
                return Err(unavailable(format!(
                    "camera {:?} made no H.264 segment within {wait:?} (no key frame?)",
                    cam.id
                )));
            }
            () = state.shutdown.cancelled() => return Err(unavailable("Lookout is shutting down".into())),
        }
    }
}
