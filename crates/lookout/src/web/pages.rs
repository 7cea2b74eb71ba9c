//! The pages: every camera live on `/`, one camera large on `/cameras/{id}`; their assets are
//! compiled into the binary. HTML is rendered here with maud, which escapes every string; the
//! script only adds live state, so the pictures show even before it runs.

use super::html::{LARR, page, user_bar};
use super::query;
use super::{ApiError, AppState, CameraEntry, Client, Principal, snapshot, stream};
use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use maud::{Markup, PreEscaped, html};
use std::sync::Arc;

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");
const VIDEO_JS: &str = include_str!("../../assets/video.js");
const TIMELINE_JS: &str = include_str!("../../assets/timeline.js");

/// `/`: the camera grid, or mjpg-streamer's `/?action=stream|snapshot[&camera=ID]`.
pub async fn root(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
    peer: Client,
    who: Principal,
    headers: HeaderMap,
    direct: super::stream_writer::DirectSocket,
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
            stream::start(&state, cam, q.clone(), peer, &who, &headers, &direct)
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
    let (id, name, b) = (&cam.id, &cam.name, &state.base);
    let zones = zone_editor(&state, &who, &cam.id);
    // WebRTC first on this page only (the grid keeps MSE and MJPEG: one peer per camera
    // shown would take many slots and CPU).
    let whep = super::api::webrtc_view(&state, cam);
    let whep = whep.available.then_some(whep.whep_url);
    let live = live_picture(b, id, name, &cam.hub, whep.as_deref(), who.session_csrf());
    let timeline = (state.events.is_some() && cam.recording.mode != "off")
        .then(|| super::timeline::timeline(b, id, name));
    let body = html! {
        nav { a href={ (b) "/" } { (LARR) " all cameras" } (user_bar(&who, b)) }
        "\n"
        main class="single" data-camera=(id) {
            "\n"
            h1 { (name) }
            "\n"
            figure class="cam large" {
                (live.picture)
                @if zones.is_some() {
                    svg class="zone-overlay" viewBox="0 0 1 1" preserveAspectRatio="none" data-zone-overlay {}
                }
            }
            "\n"
            (live.playback)
            @if let Some(t) = &timeline { (t.recorded) }
            p class="actions" {
                a class="button" href={ (b) "/cameras/" (id) "/snapshot.jpg" } download { "Take snapshot" }
                "\n"
                a class="button secondary" href={ (b) "/cameras/" (id) "/stream.mjpeg" } { "Stream URL" }
                "\n"
                a class="button secondary" href={ (b) "/api/cameras/" (id) } { "JSON" }
            }
            "\n"
            dl class="details" data-details {}
            "\n"
            @if let Some(t) = &timeline { (t.section) }
            @if let Some(z) = zones { (z) }
            (control_panel(&state, &who, cam))
        }
        (live.player)
        @if timeline.is_some() { script src={ (b) "/assets/timeline.js" } defer {} }
    };
    Ok(page(&state.base, &cam.name, body))
}

/// The camera page's live picture: the MJPEG `<img>` (what browsers without JavaScript or
/// Media Source Extensions show), and for cameras that offer H.264 a `<video>` over it that
/// assets/video.js plays, a line saying which one plays, and the script.
struct LivePicture {
    picture: Markup,
    playback: Markup,
    player: Markup,
}

fn live_picture(
    b: &str,
    id: &str,
    name: &str,
    hub: &lookout_core::CameraHub,
    whep: Option<&str>,
    csrf: &str,
) -> LivePicture {
    let codecs = super::mp4_stream::codecs(hub);
    if !codecs.contains(&"h264") {
        return LivePicture {
            picture: html! { img src={ (b) "/cameras/" (id) "/stream.mjpeg" } alt={ (name) ", live" }; },
            playback: html! {},
            player: html! {},
        };
    }
    // The <img> starts without `src`: the script gives it the MJPEG stream only on fallback.
    LivePicture {
        picture: html! {
            video data-mp4={ (b) "/cameras/" (id) "/stream.mp4" } data-codecs=(codecs.join(",")) data-whep=[whep] data-csrf=(csrf) muted autoplay playsinline aria-label={ (name) ", live" } {}
            img hidden data-src={ (b) "/cameras/" (id) "/stream.mjpeg" } alt={ (name) ", live" };
        },
        playback: html! { p class="playback" data-playback { "H.264" } },
        player: html! { script src={ (b) "/assets/video.js" } defer {} },
    }
}

fn index(state: &AppState, who: &Principal) -> Html<String> {
    let b = &state.base;
    let cams = state.visible_cameras(who).enumerate();
    let h264 = state
        .visible_cameras(who)
        .take(LIVE_STREAMS_ON_GRID)
        .any(|c| c.hub.sends_h264_only());
    let body = html! {
        header {
            h1 { "Lookout" }
            span {
                a href={ (b) "/events" } { "Events" }
                @if state.topics.is_some() {
                    " " (PreEscaped("&middot;")) " "
                    a href={ (b) "/ros/topics" } { "ROS topics" }
                }
            }
            (user_bar(who, b))
        }
        "\n"
        main class="grid" {
            "\n"
            @for (i, c) in cams { (card(b, c, i < LIVE_STREAMS_ON_GRID)) }
        }
        @if h264 {
            script src={ (b) "/assets/video.js" } defer {}
        }
    };
    page(&state.base, "Lookout", body)
}

/// Browsers open at most 6 HTTP/1.1 connections per host, and an MJPEG stream holds one for
/// good: past 4 streams the page's other requests would stall. Further cameras on the grid
/// show snapshots that the script refreshes every second.
const LIVE_STREAMS_ON_GRID: usize = 4;

/// One camera on the grid; `b` is the base path.
fn card(b: &str, c: &CameraEntry, live: bool) -> Markup {
    let (id, name) = (&c.id, &c.name);
    html! {
        figure class="cam" data-camera=(id) {
            a href={ (b) "/cameras/" (id) } {
                @if c.hub.sends_h264_only() {
                    // The first cards play its H.264 (assets/video.js): cheaper than
                    // decoding it to MJPEG. Further ones show decoded snapshots if they can.
                    @if live {
                        video data-mp4={ (b) "/cameras/" (id) "/stream.mp4" } data-codecs="h264" muted autoplay playsinline aria-label={ (name) ", live" } {}
                    } @else if c.hub.jpeg_decoder().is_some() {
                        img src={ (b) "/cameras/" (id) "/snapshot.jpg?width=640" } data-refresh alt=(name);
                    } @else {
                        span class="h264-only" { "H.264 camera: open it to watch" }
                    }
                } @else if live {
                    // No `src`: assets/app.js asks for a variant as wide as the tile is drawn
                    // (`data-fit`); a full 720p stream in a 480 px tile is 4x the bytes.
                    img data-src={ (b) "/cameras/" (id) "/stream.mjpeg" } data-fit alt={ (name) ", live" };
                    noscript { img src={ (b) "/cameras/" (id) "/stream.mjpeg?width=640" } alt={ (name) ", live" }; }
                } @else {
                    img data-src={ (b) "/cameras/" (id) "/snapshot.jpg" } data-fit data-refresh alt=(name);
                    noscript { img src={ (b) "/cameras/" (id) "/snapshot.jpg?width=640" } alt=(name); }
                }
            }
            "\n"
            figcaption {
                a href={ (b) "/cameras/" (id) } { (name) }
                " "
                span class="state" data-state {}
            }
        }
        "\n"
    }
}

/// Sliders, switches and menus for a V4L2 camera's controls, for admins; assets/app.js
/// fills them from the controls API.
fn control_panel(state: &AppState, who: &Principal, cam: &CameraEntry) -> Markup {
    if !who.is_admin() || cam.controls.is_none() {
        return html! {};
    }
    let (b, id) = (&state.base, &cam.id);
    html! {
        section class="controls" data-controls-url={ (b) "/api/cameras/" (id) "/controls" } data-csrf=(who.session_csrf()) {
            "\n"
            h2 { "Camera controls" }
            "\n"
            div data-control-list {}
            "\n"
            p class="state" data-control-status {}
            "\n"
        }
        "\n"
    }
}

/// The motion-zone editor of the camera page, for admins of cameras with motion detection:
/// its buttons (assets/app.js makes them work, drawing on the SVG over the picture); `None`
/// when there is none to show.
fn zone_editor(state: &AppState, who: &Principal, camera: &str) -> Option<Markup> {
    if !who.is_admin() || state.motion_zones.get(camera).is_none() {
        return None;
    }
    let b = &state.base;
    Some(html! {
        section class="zones" data-zones-url={ (b) "/api/cameras/" (camera) "/motion/zones" } data-csrf=(who.session_csrf()) {
            "\n"
            h2 { "Motion zones" }
            "\n"
            p class="hint" { "Click the picture to place corners, then close the zone. Motion in an exclude zone is ignored (a tree, a road); with include zones, only motion inside them counts." }
            "\n"
            p class="actions" {
                button type="button" data-close="exclude" { "Close as exclude zone" }
                button type="button" data-close="include" { "Close as include zone" }
                button type="button" data-undo { "Undo corner" }
                button type="button" data-clear { "Remove all zones" }
                button type="button" class="primary" data-save { "Save" }
                " "
                span class="state" data-zone-status {}
            }
            "\n"
        }
        "\n"
    })
}

pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    let (body, mime) = match file.as_str() {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        "video.js" => (VIDEO_JS, "text/javascript; charset=utf-8"),
        "timeline.js" => (TIMELINE_JS, "text/javascript; charset=utf-8"),
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
