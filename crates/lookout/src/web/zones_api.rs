//! `/api/cameras/{id}/motion/zones`: the motion mask zones of a camera, read and replaced by
//! admins (the camera page draws them). A browser session must send the page's CSRF token
//! in `X-CSRF-Token` and come from our origin; API tokens and Basic credentials need not.

use super::auth::csrf;
use super::{ApiError, AppState, Client, Principal};
use crate::events::zones::{self, ZoneJson};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug, Serialize, Deserialize)]
pub struct ZoneList {
    pub zones: Vec<ZoneJson>,
}

fn no_motion(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "camera {id:?} has no motion detection; add a [camera.motion] table to its config"
    ))
}

pub async fn get_zones(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    who: Principal,
) -> Result<Json<ZoneList>, ApiError> {
    let cam = state.camera_for(&id, &who)?;
    let zones = state
        .motion_zones
        .get(&cam.id)
        .ok_or_else(|| no_motion(&id))?;
    Ok(Json(ZoneList {
        zones: zones.iter().map(ZoneJson::of).collect(),
    }))
}

pub async fn put_zones(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    who: Principal,
    client: Client,
    headers: HeaderMap,
    body: Result<Json<ZoneList>, JsonRejection>,
) -> Result<Json<ZoneList>, ApiError> {
    csrf::check_api_write(&who, &headers, &client)?;
    let Json(list) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "send JSON like {{\"zones\": [{{\"kind\": \"exclude\", \"points\": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.4]]}}]}}: {}",
            e.body_text()
        ))
    })?;
    let cam = state.camera_for(&id, &who)?;
    let parsed = zones::parse(&list.zones)?;
    let Some(log) = &state.events else {
        return Err(no_motion(&id));
    };
    let (store, registry, camera) = (
        log.store.clone(),
        state.motion_zones.clone(),
        cam.id.clone(),
    );
    let applied = tokio::task::spawn_blocking(move || registry.set(&store, &camera, parsed))
        .await
        .map_err(|e| lookout_core::Error::internal(format!("saving zones: {e}")))?
        .map_err(|e| lookout_core::Error::internal(format!("saving zones: {e}")))?;
    if !applied {
        return Err(no_motion(&id));
    }
    tracing::info!(
        camera = cam.id,
        zones = list.zones.len(),
        "motion zones replaced"
    );
    Ok(Json(list))
}
