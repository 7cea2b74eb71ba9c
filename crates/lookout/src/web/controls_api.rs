//! `/api/cameras/{id}/controls`: a V4L2 camera's controls, listed and set by admins (the
//! camera page draws sliders, switches and menus from it). `POST` takes
//! `{"brightness": 140, "auto_exposure": "manual"}`; every value is checked before any is
//! set, so a wrong one changes nothing. Values set here are applied again after the camera
//! reconnects, until Lookout restarts; `[camera.controls]` in the config makes them permanent.

use super::auth::csrf;
use super::{ApiError, AppState, CameraEntry, Client, Principal};
use crate::controls::{CameraControls, to_json};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use http::HeaderMap;
use lookout_sources::v4l2::Assignment;
use serde_json::{Map, Value, json};
use std::sync::Arc;

fn controls_of(cam: &CameraEntry) -> Result<&Arc<CameraControls>, ApiError> {
    cam.controls.as_ref().ok_or_else(|| {
        ApiError::not_found(format!(
            "camera {:?} has no controls: only kind = \"v4l2\" cameras have them",
            cam.id
        ))
    })
}

pub async fn get_controls(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    who: Principal,
) -> Result<Json<Value>, ApiError> {
    let cam = state.camera_for(&id, &who)?;
    let controls = controls_of(cam)?;
    let list = controls.list().await?;
    Ok(Json(answer(cam, controls, &list)))
}

pub async fn set_controls(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    who: Principal,
    client: Client,
    headers: HeaderMap,
    body: Result<Json<Map<String, Value>>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    csrf::check_api_write(&who, &headers, &client)?;
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "send a JSON object of control names and values, like {{\"brightness\": 140, \"auto_exposure\": \"manual\"}}: {}",
            e.body_text()
        ))
    })?;
    let cam = state.camera_for(&id, &who)?;
    let controls = controls_of(cam)?;
    let set = assignments(&body)?;
    let list = controls.set(set.clone()).await?;
    let changed: Vec<String> = set
        .iter()
        .map(|a| format!("{}={}", a.name, a.value))
        .collect();
    tracing::info!(camera = cam.id, by = %who_name(&who), "controls set: {}", changed.join(" "));
    Ok(Json(answer(cam, controls, &list)))
}

fn who_name(who: &Principal) -> String {
    who.user()
        .map_or_else(|| "local".to_owned(), |u| u.name.clone())
}

fn assignments(body: &Map<String, Value>) -> Result<Vec<Assignment>, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "no controls given; send e.g. {\"brightness\": 140}",
        ));
    }
    body.iter()
        .map(|(name, value)| {
            let value = match value {
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::String(s) => s.clone(),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "control {name:?}: {other} is not a number, true/false or a menu item name"
                    )));
                }
            };
            Ok(Assignment {
                name: name.clone(),
                value,
            })
        })
        .collect()
}

fn answer(
    cam: &CameraEntry,
    controls: &CameraControls,
    list: &[lookout_sources::v4l2::ControlInfo],
) -> Value {
    json!({
        "camera": cam.id,
        "device": controls.device.display().to_string(),
        "controls": list.iter().map(to_json).collect::<Vec<_>>(),
    })
}
