//! `/events`: recent events of the cameras the viewer may watch, newest first, with their
//! pictures, 200 a page.

use super::api::event_scope;
use super::html::{LARR, page, user_bar};
use super::{ApiError, AppState, Principal};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Html;
use lookout_store::event_list::{self as store_events, EventPage};
use lookout_store::timestamp::rfc3339;
use maud::{PreEscaped, html};
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
    let b = &state.base;
    let body = html! {
        header { h1 { "Events" } (user_bar(&who, b)) }
        "\n"
        nav { a href={ (b) "/" } { (LARR) " all cameras" } }
        "\n"
        main class="events" {
            "\n"
            @if found.events.is_empty() {
                p class="notice" { "No events yet." }
            }
            @for e in &found.events {
                figure class="event" id={ "event-" (e.id) } {
                    @match (&e.clip, &e.snapshot_url) {
                        // A clip that is complete plays here; its picture is the poster.
                        (Some(c), poster) if c.end_ms.is_some() => {
                            video controls preload="none" src={ (b) (c.mp4_url) }
                                poster=[poster.as_ref().map(|u| format!("{b}{u}"))] {}
                        }
                        (_, Some(u)) => {
                            img src={ (b) (u) } alt={ "event " (e.id) } loading="lazy";
                        }
                        _ => {}
                    }
                    figcaption {
                        strong { (e.kind.replace('_', " ")) }
                        " " (e.camera.as_deref().unwrap_or("—")) " · " (rfc3339(e.started_at))
                        @if let Some(s) = e.peak_score {
                            (format!(" · peak {:.1}%", s * 100.0))
                        }
                        @if let Some(c) = &e.clip {
                            @if c.end_ms.is_some() {
                                " · " a href={ (b) (c.mp4_url) "?download=1" } { "download clip" }
                            } @else {
                                " · clip recording…"
                            }
                        }
                    }
                }
                "\n"
            }
            @if let Some(older) = found.next_before {
                nav class="more" {
                    a href={ (b) "/events?before=" (older) } { "Older events " (PreEscaped("&rarr;")) }
                }
            }
        }
    };
    Ok(page(&state.base, "Events · Lookout", body))
}
