//! Recorded video over HTTP: `GET /api/events/{id}/clip.mp4`, an event's clip as one
//! fragmented MP4 (the init segment, then the segments' fragments with their times rebased
//! onto one timeline from 0), streamed from disk a segment at a time. It plays in VLC, ffplay
//! and a browser's `<video>`; `?download=1` asks the browser to save it.
//!
//! The size is known before the first byte (moofs keep their length when their time is
//! rewritten), so the answer has a `Content-Length`. A segment deleted by retention while
//! the body is sent ends the body early (logged).

use super::{ApiError, AppState, Principal};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use lookout_core::fmp4::{decode_time, moof_with_decode_time, top_level_boxes};
use lookout_store::recordings::{self, SegmentRow};
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Deserialize)]
pub struct ClipQuery {
    /// `1`: `Content-Disposition: attachment` (a download link).
    #[serde(default)]
    download: Option<u8>,
}

pub async fn event_clip(
    State(state): State<Arc<AppState>>,
    event: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    q: Result<Query<ClipQuery>, axum::extract::rejection::QueryRejection>,
    who: Principal,
) -> Result<Response, ApiError> {
    let Path(event) = event
        .map_err(|_| ApiError::not_found("event ids are numbers, as /api/events lists them"))?;
    let Query(q) = q.map_err(|e| {
        ApiError::bad_request(format!("{}; download=1 makes it a download", e.body_text()))
    })?;
    let Some(log) = &state.events else {
        return Err(ApiError::not_found("no events are kept here"));
    };
    let found = log
        .store
        .run(move |db| {
            let Some(clip) = recordings::clip(db, event)? else {
                return Ok(None);
            };
            let segments = match &clip.camera {
                Some(camera) => recordings::segments_between(
                    db,
                    camera,
                    clip.start_ms,
                    clip.end_ms.unwrap_or(i64::MAX),
                )?,
                None => Vec::new(),
            };
            Ok(Some((clip, segments)))
        })
        .await
        .map_err(|e| ApiError::database("cannot read the recordings", e))?;
    let Some((clip, segments)) = found else {
        return Err(ApiError::not_found(format!(
            "event {event} has no clip (its camera does not record, or the event is not a motion event)"
        )));
    };
    let Some(camera) = clip.camera else {
        return Err(ApiError::not_found(format!("event {event} has no clip")));
    };
    state.camera_for(&camera, &who)?;
    let Some(first) = segments.first() else {
        return Err(ApiError::not_found(format!(
            "no video of event {event} is on disk (not written yet, deleted by retention, or recording was stopped)"
        )));
    };
    // One init segment per file: a clip across a codec change is refused with its parts.
    if segments.iter().any(|s| s.init_id != first.init_id) {
        let runs = runs_of(&segments);
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "the camera's video format changed during event {event}'s clip: {} parts, which one MP4 file cannot hold",
                runs.len()
            ),
        )
        .with_details(json!({ "runs": runs })));
    }
    let data_dir = log.data_dir.clone();
    let init_path = data_dir.join(&first.init_path);
    let init = tokio::fs::read(&init_path).await.map_err(|e| {
        tracing::warn!("cannot read {}: {e}", init_path.display());
        ApiError::not_found(format!(
            "the recording of event {event} is gone (retention)"
        ))
    })?;
    let length = init.len() as u64 + segments.iter().map(|s| s.bytes as u64).sum::<u64>();
    let body = Body::from_stream(clip_stream(Bytes::from(init), segments, data_dir));
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if q.download == Some(1) {
        let name = format!("attachment; filename=\"{camera}-{}.mp4\"", clip.start_ms);
        if let Ok(v) = HeaderValue::from_str(&name) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(resp)
}

/// The clip's parts, with where the codec changed.
fn runs_of(segments: &[SegmentRow]) -> Vec<serde_json::Value> {
    let mut runs: Vec<(i64, i64, i64)> = Vec::new();
    for s in segments {
        match runs.last_mut() {
            Some((init, _, end)) if *init == s.init_id => *end = s.end_ms,
            _ => runs.push((s.init_id, s.start_ms, s.end_ms)),
        }
    }
    runs.into_iter()
        .map(|(_, start, end)| json!({ "start_ms": start, "end_ms": end }))
        .collect()
}

/// The init segment, then each segment file with its fragments' times rebased: segment by
/// segment, so memory holds one segment.
fn clip_stream(
    init: Bytes,
    segments: Vec<SegmentRow>,
    data_dir: PathBuf,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let state = (Some(init), segments.into_iter(), 0u64, data_dir);
    futures_util::stream::unfold(state, |(init, mut rest, offset, dir)| async move {
        if let Some(init) = init {
            return Some((Ok(init), (None, rest, offset, dir)));
        }
        let seg = rest.next()?;
        let path = dir.join(&seg.path);
        let read = tokio::fs::read(&path).await;
        let out = read.and_then(|data| {
            rebase(&data, seg.start_90k as u64, offset).map_err(std::io::Error::other)
        });
        match out {
            Ok(bytes) => {
                let next = offset + seg.duration_90k as u64;
                Some((Ok(Bytes::from(bytes)), (None, rest, next, dir)))
            }
            Err(e) => {
                tracing::warn!("a clip ends early: {}: {e}", path.display());
                // An error ends the body; nothing after it is sent.
                Some((Err(e), (None, Vec::new().into_iter(), offset, dir)))
            }
        }
    })
}

/// A segment file with each `moof`'s time moved from the segment's own timeline (its first
/// frame at `start_90k`) to the clip's (its first frame at `offset_90k`).
fn rebase(data: &[u8], start_90k: u64, offset_90k: u64) -> Result<Vec<u8>, lookout_core::Error> {
    let mut out = Vec::with_capacity(data.len());
    for (kind, range) in top_level_boxes(data)? {
        let b = &data[range];
        if &kind == b"moof" {
            let t = decode_time(b)?.saturating_sub(start_90k) + offset_90k;
            out.extend_from_slice(&moof_with_decode_time(b, t)?);
        } else {
            out.extend_from_slice(b);
        }
    }
    Ok(out)
}
