//! The pages: every camera live on `/`, one camera large on `/cameras/{id}`; their assets are
//! compiled into the binary. HTML is rendered here with every configured string escaped; the
//! script only adds live state, so the pictures show even before it runs.

use super::auth::login::user_bar;
use super::query;
use super::{ApiError, AppState, CameraEntry, Client, Principal, snapshot, stream};
use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use std::fmt::Write;
use std::sync::Arc;

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");
const VIDEO_JS: &str = include_str!("../../assets/video.js");

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
    let (picture, playback, player) = live_picture(&b, &id, &name, &cam.hub);
    let mut body = String::new();
    let _ = write!(
        body,
        r#"<nav><a href="{b}/">&larr; all cameras</a>{bar}</nav>
<main class="single" data-camera="{id}">
<h1>{name}</h1>
<figure class="cam large">{picture}{overlay}</figure>
{playback}<p class="actions"><a class="button" href="{b}/cameras/{id}/snapshot.jpg" download>Take snapshot</a>
<a class="button secondary" href="{b}/cameras/{id}/stream.mjpeg">Stream URL</a>
<a class="button secondary" href="{b}/api/cameras/{id}">JSON</a></p>
<dl class="details" data-details></dl>
{zones}{controls}</main>{player}"#
    );
    Ok(page(&state.base, &cam.name, &body))
}

/// The camera page's live picture: the MJPEG `<img>` (what browsers without JavaScript or
/// Media Source Extensions show), and for cameras that offer H.264 a `<video>` over it that
/// assets/video.js plays, a line saying which one plays, and the script.
fn live_picture(
    b: &str,
    id: &str,
    name: &str,
    hub: &lookout_core::CameraHub,
) -> (String, String, String) {
    let codecs = super::mp4_stream::codecs(hub);
    if !codecs.contains(&"h264") {
        let img = format!(r#"<img src="{b}/cameras/{id}/stream.mjpeg" alt="{name}, live">"#);
        return (img, String::new(), String::new());
    }
    // The <img> starts without `src`: the script gives it the MJPEG stream only on fallback.
    let picture = format!(
        r#"<video data-mp4="{b}/cameras/{id}/stream.mp4" data-codecs="{}" muted autoplay playsinline aria-label="{name}, live"></video><img hidden data-src="{b}/cameras/{id}/stream.mjpeg" alt="{name}, live">"#,
        codecs.join(",")
    );
    let playback = r#"<p class="playback" data-playback>H.264</p>"#.to_owned();
    let script = format!(r#"<script src="{b}/assets/video.js" defer></script>"#);
    (picture, playback, script)
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
    let mut h264 = false;
    for (i, c) in state.visible_cameras(who).enumerate() {
        card(&mut body, &b, c, i < LIVE_STREAMS_ON_GRID);
        h264 |= c.hub.sends_h264_only() && i < LIVE_STREAMS_ON_GRID;
    }
    body.push_str("</main>");
    if h264 {
        let _ = write!(body, r#"<script src="{b}/assets/video.js" defer></script>"#);
    }
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
    let img = if c.hub.sends_h264_only() {
        // No MJPEG or snapshots for it: the first cards play its H.264 (assets/video.js).
        if live {
            format!(
                r#"<video data-mp4="{b}/cameras/{id}/stream.mp4" data-codecs="h264" muted autoplay playsinline aria-label="{name}, live"></video>"#
            )
        } else {
            r#"<span class="h264-only">H.264 camera: open it to watch</span>"#.to_owned()
        }
    } else if live {
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

/// The CSRF token of a browser session, for the page's script; empty for other credentials.
fn session_csrf(who: &Principal) -> &str {
    use super::auth::Credential;
    match who {
        Principal::User {
            via: Credential::Session { csrf, .. },
            ..
        } => csrf.as_str(),
        _ => "",
    }
}

/// Sliders, switches and menus for a V4L2 camera's controls, for admins; assets/app.js
/// fills them from the controls API.
fn control_panel(state: &AppState, who: &Principal, cam: &CameraEntry) -> String {
    if !who.is_admin() || cam.controls.is_none() {
        return String::new();
    }
    let b = escape(&state.base);
    let id = escape(&cam.id);
    let csrf = session_csrf(who);
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
    let csrf = session_csrf(who);
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

/// A whole page; `base` is the site's base path (`""` or `/cam`), which every link carries
/// and the script reads from `data-base`.
pub(crate) fn page(base: &str, title: &str, body: &str) -> Html<String> {
    let b = escape(base);
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title><link rel="stylesheet" href="{b}/assets/app.css"></head>
<body data-base="{b}">
{body}
<script src="{b}/assets/app.js" defer></script>
</body></html>"#,
        escape(title)
    ))
}

/// HTML-escapes text for element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (body, mime) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        "video.js" => (VIDEO_JS, "text/javascript; charset=utf-8"),
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

#[cfg(test)]
mod tests {
    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            super::escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
