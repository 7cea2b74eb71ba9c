//! The JSON API: cameras' state and viewers, and the health check.

use super::{ApiError, AppState, CameraEntry, Principal};
use axum::Json;
use axum::extract::{Path, State};
use lookout_core::hub::ViewerView;
use lookout_core::{FrameKind, SourceState, SourceStatus};
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
    pub viewer_count: usize,
    pub viewers: Vec<ViewerView>,
    pub stream_url: String,
    pub snapshot_url: String,
}

/// A camera's state for `who`: only admins (and everyone when logins are off) see the
/// addresses of the other viewers.
pub fn view(c: &CameraEntry, who: &Principal, base: &str) -> CameraView {
    let hub = &c.hub;
    let status = hub.status();
    let latest = hub.latest_live();
    let stats = hub.stats();
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
        width: latest.as_ref().map(|f| f.width),
        height: latest.as_ref().map(|f| f.height),
        captured_fps: stats.capture_rate.rate(),
        frames_captured: stats.frames_captured.load(Ordering::Relaxed),
        frames_dropped: stats.frames_dropped.load(Ordering::Relaxed),
        viewer_count: viewers.len(),
        viewers,
        stream_url: format!("{base}/cameras/{}/stream.mjpeg", c.id),
        snapshot_url: format!("{base}/cameras/{}/snapshot.jpg", c.id),
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
            .map(|c| view(c, &who, &state.base))
            .collect(),
    })
}

pub async fn one_camera(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    who: Principal,
) -> Result<Json<CameraView>, ApiError> {
    Ok(Json(view(state.camera_for(&id, &who)?, &who, &state.base)))
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
}

/// Recent events of the cameras `who` may watch, newest first (`?limit=`, default 100).
pub async fn events(
    State(state): State<Arc<AppState>>,
    who: Principal,
    q: Result<axum::extract::Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let axum::extract::Query(q) = q.map_err(|e| {
        ApiError::bad_request(format!(
            "{}; limit is a number of events (1 to 1000)",
            e.body_text()
        ))
    })?;
    let Some(log) = &state.events else {
        return Ok(Json(serde_json::json!({ "events": [] })));
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let mut list = log
        .store
        .run(move |c| {
            crate::events::list(c, limit, &|camera| {
                camera.map_or(who.is_admin(), |id| who.may_view(id))
            })
        })
        .await
        .map_err(|e| lookout_core::Error::internal(format!("cannot read events: {e}")))?;
    for e in &mut list {
        if let Some(u) = &mut e.snapshot_url {
            *u = format!("{}{u}", state.base);
        }
    }
    Ok(Json(serde_json::json!({ "events": list })))
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
        .run(move |c| {
            use rusqlite::OptionalExtension;
            Ok(c.query_row(
                "SELECT camera, snapshot FROM events WHERE id = ?1",
                [event],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                    ))
                },
            )
            .optional()?)
        })
        .await
        .map_err(|e| lookout_core::Error::internal(format!("cannot read events: {e}")))?;
    let Some((camera, Some(_))) = found else {
        return Err(ApiError::not_found(format!("event {event} has no picture")));
    };
    if let Some(c) = &camera {
        state.camera_for(c, &who)?;
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
