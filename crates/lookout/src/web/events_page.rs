//! `/events`: recent events of the cameras the viewer may watch, newest first, with their
//! pictures, 200 a page.

use super::api::event_scope;
use super::html::{escape, page, user_bar};
use super::{ApiError, AppState, Principal};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Html;
use lookout_store::event_list::{self as store_events, EventPage};
use lookout_store::timestamp::rfc3339;
use std::fmt::Write;
use std::sync::Arc;

/// Events per page.
const PAGE: u32 = 200;

#[derive(Debug, serde::Deserialize)]
pub struct EventsPageQuery {
    before: Option<i64>,
}

/// `/events`: recent events with their pictures, `?before=ID` for older ones.
pub async fn events_page(
    State(state): State<Arc<AppState>>,
    who: Principal,
    q: Result<Query<EventsPageQuery>, QueryRejection>,
) -> Result<Html<String>, ApiError> {
    let before = q
        .map_err(|_| {
            ApiError::bad_request("before is an event id, as the \"Older events\" link gives")
        })?
        .0
        .before;
    let b = escape(&state.base);
    let mut body = format!(
        "<header><h1>Events</h1>{}</header>\n<nav><a href=\"{b}/\">&larr; all cameras</a></nav>\n<main class=\"events\">\n",
        user_bar(&who, &state.base)
    );
    let found = match &state.events {
        None => EventPage {
            events: Vec::new(),
            next_before: None,
        },
        Some(log) => {
            let scope = event_scope(&who);
            log.store
                .run(move |db| store_events::list(db, &scope, before, PAGE))
                .await
                .map_err(|e| ApiError::database("cannot read events", e))?
        }
    };
    let list = found.events;
    if list.is_empty() {
        body.push_str("<p class=\"notice\">No events yet.</p>");
    }
    for e in list {
        let when = rfc3339(e.started_at);
        let camera = escape(e.camera.as_deref().unwrap_or("—"));
        let picture = match &e.snapshot_url {
            Some(u) => format!(
                r#"<img src="{b}{}" alt="event {}" loading="lazy">"#,
                escape(u),
                e.id
            ),
            None => String::new(),
        };
        let score = e
            .peak_score
            .map(|s| format!(" · peak {:.1}%", s * 100.0))
            .unwrap_or_default();
        let _ = writeln!(
            body,
            r#"<figure class="event" id="event-{}">{picture}<figcaption><strong>{}</strong> {camera} · {when}{score}</figcaption></figure>"#,
            e.id,
            escape(&e.kind.replace('_', " "))
        );
    }
    if let Some(older) = found.next_before {
        let _ = write!(
            body,
            r#"<nav class="more"><a href="{b}/events?before={older}">Older events &rarr;</a></nav>"#
        );
    }
    body.push_str("</main>");
    Ok(page(&state.base, "Events · Lookout", &body))
}
