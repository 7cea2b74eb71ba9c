//! web_video_server's URLs: `/stream?topic=T` and `/snapshot?topic=T` (see [`topic_camera`]),
//! `/stream_viewer?topic=T` (a page with the stream) and the list of image topics, as a page
//! (`/ros/topics`) and as JSON (`/api/ros/topics`). A topic is a camera whose id is its name:
//! users limited to some cameras see the topics their list names.
//!
//! As web_video_server: a topic may be named without its leading `/`, `type=ros_compressed`
//! on a topic without a compressed transport streams the topic itself, and other sites' pages
//! may read streams and snapshots and frame the viewer (`[ros_topics] allow_origins`).

use super::html::{LARR, page, user_bar};
use super::query::{self, ViewQuery};
use super::security_headers::FrameAncestors;
use super::{ApiError, AppState, CameraEntry, Principal, api};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, header};
use lookout_core::SourceState;
use lookout_sources::ros::{ImageType, Reliability, TopicInfo};
use maud::{Markup, PreEscaped, html};
use serde_json::{Value, json};
use std::sync::Arc;

fn no_topics() -> ApiError {
    ApiError::not_found(
        "this server serves no ROS topics: that needs a [ros2] or [ros1] table in its config (Lookout built with --features ros2 or ros1) and [ros_topics] enabled",
    )
}

/// `robot/cam/image_raw` is `/robot/cam/image_raw`: web_video_server finds a topic with or
/// without its leading slash (our node lives in the root namespace).
fn absolute(topic: &str) -> String {
    if topic.starts_with('/') {
        topic.to_owned()
    } else {
        format!("/{topic}")
    }
}

/// The camera of `q.topic`, opened on demand. `type=ros_compressed` reads `T/compressed`
/// (its JPEGs are passed through) when that is published, else `T` as web_video_server
/// does; `qos_profile=default` asks for reliable delivery.
pub async fn topic_camera(
    state: &AppState,
    q: &ViewQuery,
    who: &Principal,
) -> Result<Arc<CameraEntry>, ApiError> {
    let topics = state.topics.as_ref().ok_or_else(no_topics)?;
    let Some(asked) = q.topic.as_deref() else {
        return Err(ApiError::bad_request(
            "topic is missing, e.g. ?topic=/camera/image_raw",
        ));
    };
    let asked = absolute(asked);
    let topic = match q.stream_type.as_deref() {
        None | Some("mjpeg") => asked.clone(),
        Some("ros_compressed") if asked.ends_with("/compressed") => asked.clone(),
        Some("ros_compressed") => {
            let compressed = format!("{asked}/compressed");
            // Unknown (the graph is down): the compressed one, which the retries will find.
            if topics.is_published(&compressed).await == Some(false) {
                tracing::debug!("{compressed} is not published: streaming {asked} instead");
                asked.clone()
            } else {
                compressed
            }
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "type={other} is not served; use type=mjpeg or type=ros_compressed"
            )));
        }
    };
    let reliability = match q.qos_profile.as_deref() {
        None | Some("sensor_data") => Reliability::BestEffort,
        Some("default" | "system_default" | "services_default" | "reliable") => {
            Reliability::Reliable
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "qos_profile={other} is not known; use sensor_data (best effort) or default (reliable)"
            )));
        }
    };
    // A user allowed a topic may watch its compressed transport too.
    if !who.may_view(&topic) && !who.may_view(&asked) {
        return Err(lookout_core::Error::permission_denied(format!(
            "you may not watch topic {topic:?}; an admin can add it to your cameras"
        ))
        .into());
    }
    Ok(topics.open(&topic, &asked, reliability)?)
}

/// `resp` (a topic's stream or snapshot, or its error) with `Access-Control-Allow-Origin`
/// when `[ros_topics] allow_origins` lets the requesting page's origin read it.
pub fn with_allowed_origin(state: &AppState, request: &HeaderMap, mut resp: Response) -> Response {
    let Some(topics) = &state.topics else {
        return resp;
    };
    let origin = request.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let Some(allowed) = topics.settings().allowed_origin(origin) {
        if let Ok(v) = HeaderValue::from_str(allowed) {
            resp.headers_mut()
                .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        if allowed != "*" {
            // The answer depends on who asks: caches must not give it to another origin.
            resp.headers_mut()
                .append(header::VARY, HeaderValue::from_static("origin"));
        }
    }
    resp
}

async fn visible_topics(state: &AppState, who: &Principal) -> Result<Vec<TopicInfo>, ApiError> {
    let topics = state.topics.as_ref().ok_or_else(no_topics)?;
    let mut list = topics.list().await?;
    list.retain(|t| who.may_view(&t.name));
    Ok(list)
}

/// The open topics `who` may watch.
fn open_topics(state: &AppState, who: &Principal) -> Vec<(Arc<CameraEntry>, Reliability)> {
    let Some(topics) = &state.topics else {
        return Vec::new();
    };
    let mut open = topics.open_topics();
    open.retain(|(e, _)| who.may_view(&e.id));
    open
}

fn type_name(t: ImageType) -> &'static str {
    match t {
        ImageType::Raw => "sensor_msgs/Image",
        ImageType::Compressed => "sensor_msgs/CompressedImage",
    }
}

fn qos_name(r: Reliability) -> &'static str {
    match r {
        Reliability::BestEffort => "sensor_data",
        Reliability::Reliable => "default",
    }
}

fn encoded(topic: &str) -> String {
    form_urlencoded::byte_serialize(topic.as_bytes()).collect()
}

pub async fn topics_json(
    State(state): State<Arc<AppState>>,
    who: Principal,
) -> Result<Json<Value>, ApiError> {
    let list = visible_topics(&state, &who).await?;
    let open = open_topics(&state, &who);
    let b = &state.base;
    let transport = state.topics.as_ref().map(|t| t.kind());
    let viewers = |name: &str| -> usize {
        open.iter()
            .filter(|(e, _)| e.id == name)
            .map(|(e, _)| e.hub.viewer_count())
            .sum()
    };
    Ok(Json(json!({
        "transport": transport,
        "topics": list.iter().map(|t| json!({
            "name": t.name,
            "type": type_name(t.image_type),
            "stream": format!("{b}/stream?topic={}", encoded(&t.name)),
            "snapshot": format!("{b}/snapshot?topic={}", encoded(&t.name)),
            "viewer": format!("{b}/stream_viewer?topic={}", encoded(&t.name)),
            "viewer_count": viewers(&t.name),
        })).collect::<Vec<_>>(),
        // Each topic open now (also one no longer published), as `/api/cameras` shows a
        // camera: its state, last error, rate and viewers.
        "open": open.iter().map(|(e, r)| {
            let mut view = api::view(e, &who, b);
            let q = format!("topic={}&qos_profile={}", encoded(&e.id), qos_name(*r));
            view.stream_url = format!("{b}/stream?{q}");
            view.snapshot_url = format!("{b}/snapshot?{q}");
            json!({ "qos_profile": qos_name(*r), "camera": view })
        }).collect::<Vec<_>>(),
    })))
}

/// `/ros/topics`: the page, or the JSON of `/api/ros/topics` for a client that asks for
/// JSON (`Accept: application/json`) or `?format=json`.
pub async fn topics_page(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    who: Principal,
) -> Result<Response, ApiError> {
    let accept = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let json_asked = form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .any(|(k, v)| k == "format" && v == "json");
    if json_asked || (accept.contains("application/json") && !accept.contains("text/html")) {
        return Ok(topics_json(State(state), who).await?.into_response());
    }
    let list = visible_topics(&state, &who).await?;
    let open = open_topics(&state, &who);
    let b = &state.base;
    let gone: Vec<_> = open
        .iter()
        .filter(|(e, _)| !list.iter().any(|t| t.name == e.id))
        .collect();
    let body = html! {
        nav { a href={ (b) "/" } { (LARR) " all cameras" } (user_bar(&who, b)) }
        "\n"
        main class="single" {
            "\n"
            h1 { "ROS image topics" }
            "\n"
            @if list.is_empty() {
                p { "No image topics are being published now." }
                "\n"
            } @else {
                ul class="topics" {
                    "\n"
                    @for t in &list {
                        @let q = encoded(&t.name);
                        li {
                            a href={ (b) "/stream_viewer?topic=" (q) } { (t.name) }
                            " "
                            span class="hint" { (type_name(t.image_type)) }
                            " ("
                            a href={ (b) "/stream?topic=" (q) } { "stream" }
                            ", "
                            a href={ (b) "/snapshot?topic=" (q) } { "snapshot" }
                            ")"
                            @for (e, r) in open.iter().filter(|(e, _)| e.id == t.name) {
                                " " (open_state(e, *r))
                            }
                        }
                        "\n"
                    }
                }
                "\n"
            }
            @if !gone.is_empty() {
                h2 { "Open, no longer published" }
                "\n"
                ul class="topics" {
                    "\n"
                    @for (e, r) in gone {
                        li { (e.id) " " (open_state(e, *r)) }
                        "\n"
                    }
                }
                "\n"
            }
        }
    };
    Ok(page(&state.base, "ROS image topics", body).into_response())
}

/// An open topic's state for the list: viewers, and why it shows nothing if it does not.
fn open_state(e: &CameraEntry, r: Reliability) -> Markup {
    let status = e.hub.status();
    let state = format!("{:?}", status.state).to_lowercase();
    let why = status
        .last_error
        .as_deref()
        .filter(|_| status.state != SourceState::Online);
    html! {
        span class="state" {
            (qos_name(r)) ": " (state) ", " (e.hub.viewer_count()) " watching"
            @if let Some(err) = why {
                " " (PreEscaped("&mdash;")) " " (err)
            }
        }
    }
}

/// web_video_server's page with one stream; its parameters are passed on to `/stream`.
pub async fn stream_viewer(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
    who: Principal,
) -> Result<Response, ApiError> {
    let q = query::parse(raw.as_deref())?;
    // Checks the topic and the viewer's right to it before drawing a page around it.
    topic_camera(&state, &q, &who).await?;
    let topic = absolute(q.topic.as_deref().unwrap_or_default());
    let b = &state.base;
    let src = raw.as_deref().unwrap_or_default();
    let body = html! {
        nav { a href={ (b) "/ros/topics" } { (LARR) " all topics" } (user_bar(&who, b)) }
        "\n"
        main class="single" {
            "\n"
            h1 { (topic) }
            "\n"
            figure class="cam large" { img src={ (b) "/stream?" (src) } alt={ (topic) ", live" }; }
            "\n"
            p class="actions" { a class="button" href={ (b) "/snapshot?" (src) } download { "Take snapshot" } }
            "\n"
        }
    };
    let mut resp = page(
        &state.base,
        &absolute(q.topic.as_deref().unwrap_or("topic")),
        body,
    )
    .into_response();
    // The origins that may read the streams may frame the viewer too.
    if let Some(topics) = &state.topics {
        let origins = &topics.settings().allow_origins;
        if !origins.is_empty() {
            resp.extensions_mut()
                .insert(FrameAncestors(origins.join(" ")));
        }
    }
    Ok(resp)
}
