//! Recorded segments as one fragmented MP4 answer: the init segment, then the segments'
//! fragments with their times rebased onto one timeline from 0, streamed from disk a segment
//! at a time. Shared by an event's `clip.mp4` and a camera's `recording.mp4` (a time range).
//!
//! The size is known before the first byte (moofs keep their length when their time is
//! rewritten), so the answer has a `Content-Length`. A segment deleted by retention while
//! the body is sent ends the body early (logged).

use super::ApiError;
use super::unix_time::unix_timestamp;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};
use lookout_core::fmp4::{decode_time, moof_with_decode_time, top_level_boxes};
use lookout_store::recordings::SegmentRow;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

/// What the answer is of, for its reasons and its file name.
pub struct Recorded<'a> {
    /// In refusals: "event 42's clip", "the range".
    pub what: &'a str,
    /// The download's file name without `.mp4`: `gate-1796606795951`.
    pub file_stem: &'a str,
    /// `Content-Disposition: attachment` (a download link).
    pub download: bool,
}

/// The answer for `segments` (in recording order): `404` when there are none, `409` with the
/// parts when the video format changes among them (one MP4 file holds one init segment).
pub async fn answer(
    data_dir: &Path,
    segments: Vec<SegmentRow>,
    about: Recorded<'_>,
) -> Result<Response, ApiError> {
    let what = about.what;
    let Some(first) = segments.first() else {
        return Err(ApiError::not_found(format!(
            "no video of {what} is on disk (not recorded, not written yet, deleted by retention, or recording was stopped)"
        )));
    };
    if segments.iter().any(|s| s.init_id != first.init_id) {
        let runs = runs_of(&segments);
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "the camera's video format changed during {what}: {} parts, which one MP4 file cannot hold; ask for each part",
                runs.len()
            ),
        )
        .with_details(json!({ "runs": runs })));
    }
    let init_path = data_dir.join(&first.init_path);
    let init = tokio::fs::read(&init_path).await.map_err(|e| {
        tracing::warn!("cannot read {}: {e}", init_path.display());
        ApiError::not_found(format!("the recording of {what} is gone (retention)"))
    })?;
    let start = UNIX_EPOCH + Duration::from_millis(u64::try_from(first.start_ms).unwrap_or(0));
    let length = init.len() as u64 + segments.iter().map(|s| s.bytes as u64).sum::<u64>();
    let body = Body::from_stream(segment_stream(
        Bytes::from(init),
        segments,
        data_dir.to_owned(),
    ));
    let mut resp = Response::new(body);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    // When media time 0 was captured (its first key frame), as stream.mp4 says it.
    if let Ok(v) = HeaderValue::from_str(&unix_timestamp(start)) {
        h.insert("x-lookout-start", v);
    }
    if about.download {
        let name = format!("attachment; filename=\"{}.mp4\"", about.file_stem);
        if let Ok(v) = HeaderValue::from_str(&name) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(resp)
}

/// The parts of `segments` with one video format each.
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
fn segment_stream(
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
                tracing::warn!("a recording ends early: {}: {e}", path.display());
                // An error ends the body; nothing after it is sent.
                Some((Err(e), (None, Vec::new().into_iter(), offset, dir)))
            }
        }
    })
}

/// A segment file with each `moof`'s time moved from the segment's own timeline (its first
/// frame at `start_90k`) to the answer's (its first frame at `offset_90k`).
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
