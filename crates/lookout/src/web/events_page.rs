//! `/events`: recent events of the cameras the viewer may watch, newest first, with their
//! pictures.

use super::auth::login::user_bar;
use super::pages::{escape, page};
use super::{ApiError, AppState, Principal};
use axum::extract::State;
use axum::response::Html;
use std::fmt::Write;
use std::sync::Arc;

/// `/events`: recent events with their pictures.
pub async fn events_page(
    State(state): State<Arc<AppState>>,
    who: Principal,
) -> Result<Html<String>, ApiError> {
    let b = escape(&state.base);
    let mut body = format!(
        "<header><h1>Events</h1>{}</header>\n<nav><a href=\"{b}/\">&larr; all cameras</a></nav>\n<main class=\"events\">\n",
        user_bar(&who, &state.base)
    );
    let list = match &state.events {
        None => Vec::new(),
        Some(log) => {
            let viewer = who.clone();
            log.store
                .run(move |c| {
                    crate::events::list(c, 200, &|camera| {
                        camera.map_or(viewer.is_admin(), |id| viewer.may_view(id))
                    })
                })
                .await
                .map_err(|e| lookout_core::Error::internal(format!("cannot read events: {e}")))?
        }
    };
    if list.is_empty() {
        body.push_str("<p class=\"notice\">No events yet.</p>");
    }
    for e in list {
        let when = u64::try_from(e.started_at)
            .map(|s| {
                humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(s),
                )
                .to_string()
            })
            .unwrap_or_default();
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
    body.push_str("</main>");
    Ok(page(&state.base, "Events · Lookout", &body))
}
