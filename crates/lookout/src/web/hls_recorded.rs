//! Recordings as HLS video on demand: `GET /cameras/{id}/hls/recorded.m3u8?start=…&end=…`
//! lists the recorded segments of a time range (at most a day) as they are on disk, and
//! `/cameras/{id}/hls/rec/{segment}-{start_ms}.m4s` and `rec/init-{hash}.mp4` serve their
//! files unchanged. `#EXT-X-DISCONTINUITY` marks where the camera's timeline starts again (a
//! new run: a restart, lost frames, new codec parameters) or a segment is missing.
//!
//! A segment URL holds its start time besides its id: ids are database row ids, which a new
//! data directory (or a deleted newest row) gives out again, and an `immutable` URL must never
//! name other bytes.

use super::hls_answer::{Audience, IMMUTABLE, PLAYLIST_TYPE, respond};
use super::time_param::parse_ms;
use super::{ApiError, AppState, CameraEntry, Principal};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use lookout_core::video::{MediaPlaylist, PlaylistSegment};
use lookout_store::recordings::{self, SegmentRow};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The longest range one playlist lists: a day of 2 s segments is 43 200 entries (~4 MB).
const MAX_RANGE_MS: i64 = 24 * 3600 * 1000;

/// The range asked for, checked.
fn range(query: Option<&str>) -> Result<(i64, i64), ApiError> {
    let mut start = None;
    let mut end = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match &*k {
            "start" => start = Some(parse_ms("start", &v)?),
            "end" => end = Some(parse_ms("end", &v)?),
            _ => {}
        }
    }
    let (Some(start), Some(end)) = (start, end) else {
        return Err(ApiError::bad_request(
            "recorded.m3u8 needs ?start=…&end=… (Unix seconds or RFC 3339 UTC times, as recording.mp4 takes), at most 24 hours apart",
        ));
    };
    if end <= start {
        return Err(ApiError::bad_request(format!(
            "end ({end}) must be after start ({start})"
        )));
    }
    if end - start > MAX_RANGE_MS {
        return Err(ApiError::bad_request(format!(
            "{} hours asked for: one playlist covers at most 24 hours; ask for the range in parts",
            (end - start) / 3_600_000
        )));
    }
    Ok((start, end))
}

/// The init file's hash: `recordings/{camera}/init-{hash}.mp4` → `hash`.
fn init_hash_of(init_path: &str) -> &str {
    init_path
        .rsplit('/')
        .next()
        .and_then(|f| f.strip_prefix("init-"))
        .and_then(|f| f.strip_suffix(".mp4"))
        .unwrap_or("")
}

/// The playlist of `rows`, in recording order.
fn playlist_of(rows: &[SegmentRow], suffix: &str) -> MediaPlaylist {
    let mut segments = Vec::with_capacity(rows.len());
    let mut prev: Option<&SegmentRow> = None;
    for r in rows {
        let discontinuity = prev.is_some_and(|p| {
            p.run != r.run || p.init_id != r.init_id || p.camera_seq + 1 != r.camera_seq
        });
        prev = Some(r);
        segments.push(PlaylistSegment {
            uri: format!("rec/{}-{}.m4s{suffix}", r.id, r.start_ms),
            map_uri: format!("rec/init-{}.mp4{suffix}", init_hash_of(&r.init_path)),
            duration_90k: u64::try_from(r.duration_90k).unwrap_or(0),
            start_wall: SystemTime::UNIX_EPOCH
                + Duration::from_millis(u64::try_from(r.start_ms).unwrap_or(0)),
            discontinuity,
        });
    }
    MediaPlaylist {
        media_sequence: rows
            .first()
            .map_or(0, |r| u64::try_from(r.camera_seq).unwrap_or(0)),
        vod: true,
        segments,
        ..MediaPlaylist::default()
    }
}

/// `GET /cameras/{id}/hls/recorded.m3u8` (routed by `hls::file`).
pub async fn playlist(
    state: &AppState,
    cam: &CameraEntry,
    audience: &Audience,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let (start, end) = range(query)?;
    let Some(log) = &state.events else {
        return Err(ApiError::not_found(
            "nothing is recorded here (no database)",
        ));
    };
    let camera = cam.id.clone();
    let rows = log
        .store
        .run(move |db| recordings::segments_in_range(db, &camera, start, end))
        .await
        .map_err(|e| ApiError::database("cannot read the recordings", e))?;
    if rows.is_empty() {
        return Err(ApiError::not_found(format!(
            "camera {:?} has no recording between {start} and {end} (Unix ms): it did not record then, or retention deleted it",
            cam.id
        )));
    }
    let text = playlist_of(&rows, &audience.uri_suffix()).render();
    // A range that is over for good may be kept a minute; one that reaches the last minute
    // grows as segments are written.
    let now_ms = crate::recording::unix_ms(SystemTime::now());
    let max_age = if end < now_ms - 60_000 { 60 } else { 1 };
    Ok(respond(
        text,
        PLAYLIST_TYPE,
        audience.cache_control(&format!("max-age={max_age}")),
    ))
}

/// `GET /cameras/{id}/hls/rec/{file}`: a recorded segment or init file as it is on disk.
pub async fn file(
    State(state): State<Arc<AppState>>,
    Path((id, file)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: http::HeaderMap,
    who: Principal,
) -> Result<Response, ApiError> {
    let cam = state.camera_for(&id, &who)?;
    let audience = Audience::of(&who, query.as_deref(), &headers);
    let Some(log) = &state.events else {
        return Err(ApiError::not_found(
            "nothing is recorded here (no database)",
        ));
    };
    let path = if let Some(hash) = file
        .strip_prefix("init-")
        .and_then(|f| f.strip_suffix(".mp4"))
    {
        // Only hex digits reach the path: nothing can climb out of the camera's folder.
        if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::not_found(format!("no init segment {file:?}")));
        }
        log.data_dir
            .join(crate::recording::DIR)
            .join(&cam.id)
            .join(format!("init-{hash}.mp4"))
    } else {
        let Some((seg_id, start_ms)) = file
            .strip_suffix(".m4s")
            .and_then(|f| f.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.parse::<i64>().ok()?)))
        else {
            return Err(ApiError::not_found(format!(
                "no recorded HLS file {file:?}: recorded.m3u8 lists them"
            )));
        };
        let camera = cam.id.clone();
        let row = log
            .store
            .run(move |db| recordings::segment_of_camera(db, &camera, seg_id))
            .await
            .map_err(|e| ApiError::database("cannot read the recordings", e))?;
        match row {
            Some(r) if r.start_ms == start_ms => log.data_dir.join(&r.path),
            _ => {
                return Err(ApiError::not_found(format!(
                    "recorded segment {file:?} of camera {:?} is gone (retention)",
                    cam.id
                )));
            }
        }
    };
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        tracing::debug!("cannot read {}: {e}", path.display());
        ApiError::not_found(format!(
            "recorded HLS file {file:?} of camera {:?} is gone (retention)",
            cam.id
        ))
    })?;
    state.hls.count_served();
    Ok(respond(
        bytes,
        "video/mp4",
        audience.cache_control(IMMUTABLE),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, seq: i64, run: i64, init_id: i64) -> SegmentRow {
        SegmentRow {
            id,
            camera: "c".into(),
            camera_seq: seq,
            run,
            init_id,
            init_path: format!("recordings/c/init-{init_id:016x}.mp4"),
            start_ms: 1_000_000 + seq * 2000,
            end_ms: 1_002_000 + seq * 2000,
            start_90k: 0,
            duration_90k: 180_000,
            frames: 60,
            bytes: 1,
            path: String::new(),
        }
    }

    #[test]
    fn discontinuities_at_a_new_run_a_new_init_and_a_missing_segment() {
        let rows = [
            row(10, 1, 1, 1),
            row(11, 2, 1, 1),
            row(12, 3, 2, 1), // a new run
            row(14, 5, 2, 1), // segment 4 is gone
            row(15, 6, 2, 2), // new codec parameters
        ];
        let p = playlist_of(&rows, "?token=a%2Bb");
        let flags: Vec<bool> = p.segments.iter().map(|s| s.discontinuity).collect();
        assert_eq!(flags, [false, false, true, true, true]);
        assert_eq!(p.media_sequence, 1);
        assert_eq!(p.segments[0].uri, "rec/10-1002000.m4s?token=a%2Bb");
        assert_eq!(
            p.segments[4].map_uri,
            "rec/init-0000000000000002.mp4?token=a%2Bb"
        );
        let text = p.render();
        assert_eq!(text.matches("#EXT-X-DISCONTINUITY\n").count(), 3);
        assert!(text.ends_with("#EXT-X-ENDLIST\n"));
    }

    #[test]
    fn ranges_are_checked() {
        assert_eq!(range(Some("start=1&end=2.5")).unwrap(), (1000, 2500));
        assert_eq!(
            range(Some(
                "start=2026-12-07T04:00:00Z&end=2026-12-07T04:00:01.5Z"
            ))
            .unwrap(),
            (1_796_616_000_000, 1_796_616_001_500)
        );
        for bad in [
            None,
            Some("start=1"),
            Some("start=5&end=5"),
            Some("start=yesterday&end=2"),
            Some("start=0&end=86400001"),
        ] {
            assert_eq!(range(bad).unwrap_err().status(), 400, "{bad:?}");
        }
    }
}
