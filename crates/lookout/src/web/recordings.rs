//! Recorded video over HTTP: `GET /api/events/{id}/clip.mp4` (an event's clip),
//! `GET /cameras/{id}/recording.mp4?start=&end=` (any time range as one MP4), both through
//! recorded_mp4.rs; and `GET /api/cameras/{id}/recordings?from=&to=`, what was recorded when
//! (the camera page's timeline).

use super::recorded_mp4::{self, Recorded};
use super::time_param::parse_ms;
use super::{ApiError, AppState, Principal};
use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::Response;
use lookout_store::recordings;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// An export covers at most this much: 6 h at 4 Mbit/s is 10 GB, a long download already.
const MAX_EXPORT_MS: i64 = 6 * 3600 * 1000;
/// The list's default window, ending now.
const DEFAULT_LIST_MS: i64 = 24 * 3600 * 1000;
/// The list covers at most a week (continuous recording's default `keep_days`).
const MAX_LIST_MS: i64 = 7 * 24 * 3600 * 1000;
/// Events listed per answer at most; `events_truncated` says when there were more.
const MAX_LISTED_EVENTS: u32 = 1000;

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
                Some(camera) => recordings::segments_in_range(
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
    let about = Recorded {
        what: &format!("event {event}'s clip"),
        file_stem: &format!("{camera}-{}", clip.start_ms),
        download: q.download == Some(1),
    };
    recorded_mp4::answer(&log.data_dir, segments, about).await
}

/// `?start=&end=[&download=1]` of `recording.mp4`, checked.
struct RangeQuery {
    start_ms: i64,
    end_ms: i64,
    download: bool,
}

fn range_query(raw: Option<&str>) -> Result<RangeQuery, ApiError> {
    let (mut start, mut end, mut download) = (None, None, false);
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "start" => start = Some(parse_ms("start", &v)?),
            "end" => end = Some(parse_ms("end", &v)?),
            "download" => download = v == "1",
            _ => {}
        }
    }
    let (Some(start_ms), Some(end_ms)) = (start, end) else {
        return Err(ApiError::bad_request(
            "start and end are needed: ?start=2026-12-07T04:00:00Z&end=2026-12-07T04:10:00Z (or Unix seconds)",
        ));
    };
    if end_ms <= start_ms {
        return Err(ApiError::bad_request(format!(
            "end ({end_ms} ms) must be after start ({start_ms} ms)"
        )));
    }
    if end_ms - start_ms > MAX_EXPORT_MS {
        return Err(ApiError::bad_request(format!(
            "a range of {} s is more than one export holds ({} s, 6 h): export it in parts",
            (end_ms - start_ms) / 1000,
            MAX_EXPORT_MS / 1000
        )));
    }
    Ok(RangeQuery {
        start_ms,
        end_ms,
        download,
    })
}

/// `GET /cameras/{id}/recording.mp4?start=&end=`: from the segment holding `start` (its key
/// frame at or before `start`) to the end of the segment holding `end`.
pub async fn camera_range(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    who: Principal,
) -> Result<Response, ApiError> {
    let cam = state.camera_for(&id, &who)?;
    let q = range_query(raw.as_deref())?;
    let Some(log) = &state.events else {
        return Err(ApiError::not_found(
            "nothing is recorded here: no camera records (see docs/guide/recording.md)",
        ));
    };
    let camera = cam.id.clone();
    let segments = log
        .store
        .run(move |db| recordings::segments_in_range(db, &camera, q.start_ms, q.end_ms))
        .await
        .map_err(|e| ApiError::database("cannot read the recordings", e))?;
    let about = Recorded {
        what: &format!("camera {id:?} from {} to {} ms", q.start_ms, q.end_ms),
        file_stem: &format!("{}-{}", cam.id, q.start_ms),
        download: q.download,
    };
    recorded_mp4::answer(&log.data_dir, segments, about).await
}

/// `?from=&to=` of the list: the window, default the last 24 h.
fn list_window(raw: Option<&str>, now_ms: i64) -> Result<(i64, i64), ApiError> {
    let (mut from, mut to) = (None, None);
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "from" => from = Some(parse_ms("from", &v)?),
            "to" => to = Some(parse_ms("to", &v)?),
            _ => {}
        }
    }
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, f + DEFAULT_LIST_MS),
        (None, Some(t)) => (t - DEFAULT_LIST_MS, t),
        (None, None) => (now_ms - DEFAULT_LIST_MS, now_ms),
    };
    if to <= from {
        return Err(ApiError::bad_request(format!(
            "to ({to} ms) must be after from ({from} ms)"
        )));
    }
    if to - from > MAX_LIST_MS {
        return Err(ApiError::bad_request(format!(
            "a window of {} s is more than the list covers ({} s, 7 days): ask in parts",
            (to - from) / 1000,
            MAX_LIST_MS / 1000
        )));
    }
    Ok((from, to))
}

/// `GET /api/cameras/{id}/recordings?from=&to=`: the recorded runs, the camera's events and
/// the bytes in the window.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    who: Principal,
) -> Result<Json<Value>, ApiError> {
    let cam = state.camera_for(&id, &who)?;
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(i64::MAX);
    let (from_ms, to_ms) = list_window(raw.as_deref(), now_ms)?;
    let b = &state.base;
    let recording_url = format!("{b}/cameras/{}/recording.mp4", cam.id);
    let (runs, events) = match &state.events {
        None => (Vec::new(), Vec::new()),
        Some(log) => {
            let camera = cam.id.clone();
            // Events by their start in whole seconds: the window's, rounded outwards.
            let (from_s, to_s) = (from_ms.div_euclid(1000), (to_ms + 999).div_euclid(1000));
            log.store
                .run(move |db| {
                    Ok((
                        recordings::runs_between(db, &camera, from_ms, to_ms)?,
                        recordings::events_between(
                            db,
                            &camera,
                            from_s,
                            to_s,
                            MAX_LISTED_EVENTS + 1,
                        )?,
                    ))
                })
                .await
                .map_err(|e| ApiError::database("cannot read the recordings", e))?
        }
    };
    let truncated = events.len() > MAX_LISTED_EVENTS as usize;
    let bytes: i64 = runs.iter().map(|r| r.bytes).sum();
    let runs: Vec<Value> = runs
        .iter()
        .map(|r| {
            json!({
                "start_ms": r.start_ms, "end_ms": r.end_ms, "codec": r.codec,
                "width": r.width, "height": r.height, "segments": r.segments, "bytes": r.bytes,
            })
        })
        .collect();
    let events: Vec<Value> = events
        .iter()
        .take(MAX_LISTED_EVENTS as usize)
        .map(|e| {
            let clip = e.clip_start_ms.map(|start| {
                json!({
                    "start_ms": start, "end_ms": e.clip_end_ms,
                    "mp4_url": format!("{b}/api/events/{}/clip.mp4", e.id),
                })
            });
            json!({
                "id": e.id, "kind": e.kind, "started_at": e.started_at,
                "ended_at": e.ended_at, "clip": clip,
            })
        })
        .collect();
    Ok(Json(json!({
        "camera": cam.id,
        "mode": cam.recording.mode,
        "from_ms": from_ms,
        "to_ms": to_ms,
        "runs": runs,
        "events": events,
        "events_truncated": truncated,
        "bytes": bytes,
        "recording_url": recording_url,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_ranges_are_checked() {
        let q = range_query(Some("start=100&end=160.5&download=1")).unwrap();
        assert_eq!((q.start_ms, q.end_ms, q.download), (100_000, 160_500, true));
        for bad in [
            "start=100",
            "start=100&end=100",
            "start=200&end=100",
            "start=0&end=21601",
            "start=x&end=5",
        ] {
            let e = range_query(Some(bad)).map(|_| ()).unwrap_err();
            assert_eq!(e.status(), http::StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn the_list_window_defaults_to_the_last_day_and_is_bounded() {
        let now = 1_000_000_000_000;
        assert_eq!(
            list_window(None, now).unwrap(),
            (now - DEFAULT_LIST_MS, now)
        );
        assert_eq!(
            list_window(Some("from=100"), now).unwrap(),
            (100_000, 100_000 + DEFAULT_LIST_MS)
        );
        assert!(list_window(Some("from=100&to=100"), now).is_err());
        assert!(list_window(Some("from=0&to=604801"), now).is_err());
        assert!(list_window(Some("from=0&to=604800"), now).is_ok());
    }
}
