//! The pages: every camera live on `/`, one camera large on `/cameras/{id}`; their assets are
//! compiled into the binary. HTML is rendered here with every configured string escaped; the
//! script only adds live state, so the pictures show even before it runs.

use super::html::{escape, page, user_bar};
use super::query;
use super::{ApiError, AppState, CameraEntry, Client, Principal, snapshot, stream};
use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use std::fmt::Write;
use std::sync::Arc;

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");

/// `/`: the camera grid, or mjpg-streamer's `/?action=stream|snapshot[&camera=ID]`.
pub async fn root(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
    peer: Client,
    who: Principal,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // The page itself takes no parameters; only mjpg-streamer's actions are checked.
    let has_action =
        form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()).any(|(k, _)| k == "action");
    let q = match query::parse(raw.as_deref()) {
        Ok(q) => q,
        Err(_) if !has_action => return Ok(index(&state, &who).into_response()),
        Err(e) => return Err(e),
    };
    match q.action.as_deref() {
        None => Ok(index(&state, &who).into_response()),
        Some("stream") => {
            let cam = state.camera_or_first_for(q.camera.as_deref(), &who)?;
            stream::start(&state, cam, q.clone(), peer, &who, &headers)
        }
        Some("snapshot") => {
            let cam = state.camera_or_first_for(q.camera.as_deref(), &who)?;
            snapshot::snapshot(cam, &q, state.snapshot_timeout).await
        }
        Some(other) => Err(ApiError::bad_request(format!(
            "unknown action {other:?}; use action=stream or action=snapshot"
        ))),
    }
}

pub async fn camera_page(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    who: Principal,
) -> Result<Html<String>, ApiError> {
    let cam = state.camera_for(&id, &who)?;
    let id = escape(&cam.id);
    let name = escape(&cam.name);
    let bar = user_bar(&who, &state.base);
    let b = escape(&state.base);
    let (overlay, zones) = zone_editor(&state, &who, &cam.id);
    let controls = control_panel(&state, &who, cam);
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<nav><a href="{b}/">&larr; all cameras</a>{bar}</nav>
<main class="single" data-camera="{id}">
<h1>{name}</h1>
<figure class="cam large"><img src="{b}/cameras/{id}/stream.mjpeg" alt="{name}, live">{overlay}</figure>
<p class="actions"><a class="button" href="{b}/cameras/{id}/snapshot.jpg" download>Take snapshot</a>
<a class="button secondary" href="{b}/cameras/{id}/stream.mjpeg">Stream URL</a>
<a class="button secondary" href="{b}/api/cameras/{id}">JSON</a></p>
<dl class="details" data-details></dl>
{zones}{controls}</main>"#
    );
    Ok(page(&state.base, &cam.name, &body))
}

fn index(state: &AppState, who: &Principal) -> Html<String> {
    let b = escape(&state.base);
    let topics = if state.topics.is_some() {
        format!(" &middot; <a href=\"{b}/ros/topics\">ROS topics</a>")
    } else {
        String::new()
    };
    let mut body = format!(
        "<header><h1>Lookout</h1><span><a href=\"{b}/events\">Events</a>{topics}</span>{}</header>\n<main class=\"grid\">\n",
        user_bar(who, &state.base)
    );
    for (i, c) in state.visible_cameras(who).enumerate() {
        card(&mut body, &b, c, i < LIVE_STREAMS_ON_GRID);
    }
    body.push_str("</main>");
    page(&state.base, "Lookout", &body)
}

/// Browsers open at most 6 HTTP/1.1 connections per host, and an MJPEG stream holds one for
/// good: past 4 streams the page's other requests would stall. Further cameras on the grid
/// show snapshots that the script refreshes every second.
const LIVE_STREAMS_ON_GRID: usize = 4;

/// One camera on the grid; `b` is the escaped base path.
fn card(out: &mut String, b: &str, c: &CameraEntry, live: bool) {
    let id = escape(&c.id);
    let name = escape(&c.name);
    let img = if live {
        format!(r#"<img src="{b}/cameras/{id}/stream.mjpeg" alt="{name}, live">"#)
    } else {
        format!(r#"<img src="{b}/cameras/{id}/snapshot.jpg?width=640" data-refresh alt="{name}">"#)
    };
    let _ = write!(
        out,
        r#"<figure class="cam" data-camera="{id}"><a href="{b}/cameras/{id}">{img}</a>
<figcaption><a href="{b}/cameras/{id}">{name}</a> <span class="state" data-state></span></figcaption></figure>
"#
    );
}

/// Sliders, switches and menus for a V4L2 camera's controls, for admins; assets/app.js
/// fills them from the controls API.
fn control_panel(state: &AppState, who: &Principal, cam: &CameraEntry) -> String {
    if !who.is_admin() || cam.controls.is_none() {
        return String::new();
    }
    let b = escape(&state.base);
    let id = escape(&cam.id);
    let csrf = who.session_csrf();
    format!(
        r#"<section class="controls" data-controls-url="{b}/api/cameras/{id}/controls" data-csrf="{csrf}">
<h2>Camera controls</h2>
<div data-control-list></div>
<p class="state" data-control-status></p>
</section>
"#
    )
}

/// The motion-zone editor of the camera page, for admins of cameras with motion detection:
/// an SVG over the picture and its buttons (assets/app.js makes them work).
fn zone_editor(state: &AppState, who: &Principal, camera: &str) -> (String, String) {
    if !who.is_admin() || state.motion_zones.get(camera).is_none() {
        return (String::new(), String::new());
    }
    let csrf = who.session_csrf();
    let b = escape(&state.base);
    let id = escape(camera);
    let overlay = r#"<svg class="zone-overlay" viewBox="0 0 1 1" preserveAspectRatio="none" data-zone-overlay></svg>"#.to_owned();
    let zones = format!(
        r#"<section class="zones" data-zones-url="{b}/api/cameras/{id}/motion/zones" data-csrf="{csrf}">
<h2>Motion zones</h2>
<p class="hint">Click the picture to place corners, then close the zone. Motion in an exclude zone is ignored (a tree, a road); with include zones, only motion inside them counts.</p>
<p class="actions"><button type="button" data-close="exclude">Close as exclude zone</button><button type="button" data-close="include">Close as include zone</button><button type="button" data-undo>Undo corner</button><button type="button" data-clear>Remove all zones</button><button type="button" class="primary" data-save>Save</button> <span class="state" data-zone-status></span></p>
</section>
"#
    );
    (overlay, zones)
}

pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (body, mime) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return Err(ApiError::not_found(format!("no asset {file:?}"))),
    };
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(resp)
}
