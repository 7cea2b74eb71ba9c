//! web_video_server's URLs: `/stream?topic=T` and `/snapshot?topic=T` (see [`topic_camera`]),
//! `/stream_viewer?topic=T` (a page with the stream) and the list of image topics, as a page
//! (`/ros/topics`) and as JSON (`/api/ros/topics`). A topic is a camera whose id is its name:
//! users limited to some cameras see the topics their list names.

use super::pages::{escape, page};
use super::query::{self, ViewQuery};
use super::{ApiError, AppState, CameraEntry, Principal};
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Response};
use http::HeaderMap;
use lookout_sources::ros::{ImageType, Reliability, TopicInfo};
use serde_json::{Value, json};
use std::fmt::Write;
use std::sync::Arc;

fn no_topics() -> ApiError {
    ApiError::not_found(
        "this server serves no ROS topics: that needs a [ros2] or [ros1] table in its config (Lookout built with --features ros2 or ros1) and [ros_topics] enabled",
    )
}

/// The camera of `q.topic`, opened on demand. `type=ros_compressed` reads `T/compressed`
/// (its JPEGs are passed through); `qos_profile=default` asks for reliable delivery.
pub fn topic_camera(
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
    let topic = match q.stream_type.as_deref() {
        None | Some("mjpeg") => asked.to_owned(),
        Some("ros_compressed") if asked.ends_with("/compressed") => asked.to_owned(),
        Some("ros_compressed") => format!("{asked}/compressed"),
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
    if !who.may_view(&topic) && !who.may_view(asked) {
        return Err(ApiError::new(
            http::StatusCode::FORBIDDEN,
            format!("you may not watch topic {topic:?}; an admin can add it to your cameras"),
        ));
    }
    topics.open(&topic, asked, reliability)
}

async fn visible_topics(state: &AppState, who: &Principal) -> Result<Vec<TopicInfo>, ApiError> {
    let topics = state.topics.as_ref().ok_or_else(no_topics)?;
    let mut list = topics.list().await?;
    list.retain(|t| who.may_view(&t.name));
    Ok(list)
}

fn type_name(t: ImageType) -> &'static str {
    match t {
        ImageType::Raw => "sensor_msgs/Image",
        ImageType::Compressed => "sensor_msgs/CompressedImage",
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
    let b = &state.base;
    let transport = state.topics.as_ref().map(|t| t.kind());
    Ok(Json(json!({
        "transport": transport,
        "topics": list.iter().map(|t| json!({
            "name": t.name,
            "type": type_name(t.image_type),
            "stream": format!("{b}/stream?topic={}", encoded(&t.name)),
            "snapshot": format!("{b}/snapshot?topic={}", encoded(&t.name)),
            "viewer": format!("{b}/stream_viewer?topic={}", encoded(&t.name)),
        })).collect::<Vec<_>>(),
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
    let b = escape(&state.base);
    let mut body = format!(
        "<nav><a href=\"{b}/\">&larr; all cameras</a></nav>\n<main class=\"single\">\n<h1>ROS image topics</h1>\n"
    );
    if list.is_empty() {
        body.push_str("<p>No image topics are being published now.</p>\n");
    } else {
        body.push_str("<ul class=\"topics\">\n");
        for t in &list {
            let name = escape(&t.name);
            let q = escape(&encoded(&t.name));
            let _ = writeln!(
                body,
                r#"<li><a href="{b}/stream_viewer?topic={q}">{name}</a> <span class="hint">{}</span> (<a href="{b}/stream?topic={q}">stream</a>, <a href="{b}/snapshot?topic={q}">snapshot</a>)</li>"#,
                type_name(t.image_type)
            );
        }
        body.push_str("</ul>\n");
    }
    body.push_str("</main>");
    Ok(page(&state.base, "ROS image topics", &body).into_response())
}

/// web_video_server's page with one stream; its parameters are passed on to `/stream`.
pub async fn stream_viewer(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
    who: Principal,
) -> Result<Html<String>, ApiError> {
    let q = query::parse(raw.as_deref())?;
    // Checks the topic and the viewer's right to it before drawing a page around it.
    topic_camera(&state, &q, &who)?;
    let topic = escape(q.topic.as_deref().unwrap_or_default());
    let b = escape(&state.base);
    let src = escape(raw.as_deref().unwrap_or_default());
    let body = format!(
        r#"<nav><a href="{b}/ros/topics">&larr; all topics</a></nav>
<main class="single">
<h1>{topic}</h1>
<figure class="cam large"><img src="{b}/stream?{src}" alt="{topic}, live"></figure>
<p class="actions"><a class="button" href="{b}/snapshot?{src}" download>Take snapshot</a></p>
</main>"#
    );
    Ok(page(
        &state.base,
        q.topic.as_deref().unwrap_or("topic"),
        &body,
    ))
}
