//! Reading the event list: one page, newest first, of the events a viewer may see, filtered
//! in SQL so that a viewer of one camera among busy others still gets a full page.

use crate::db::Db;
use crate::error::StoreError;
use rusqlite::params;
use serde::Serialize;

/// A stored event, as `/api/events` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub camera: Option<String>,
    pub kind: String,
    /// Seconds since the Unix epoch.
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub peak_score: Option<f64>,
    /// `/api/events/{id}/snapshot.jpg` when the event has a picture.
    pub snapshot_url: Option<String>,
    pub details: serde_json::Value,
    /// The event's video clip, when its camera records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip: Option<EventClip>,
}

/// Where an event's clip is (`/api/events/{id}/clip.mp4`) and whether it is complete.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EventClip {
    /// "recording" while the event (or its post-roll) goes on, then "ready".
    pub state: &'static str,
    /// Milliseconds since the Unix epoch: from the first pre-roll key frame…
    pub start_ms: i64,
    /// …to the end of the post-roll; `None` while recording.
    pub end_ms: Option<i64>,
    pub mp4_url: String,
}

/// Which events a reader may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventScope {
    /// Admins (and everybody when logins are off): every event, those without a camera
    /// (a new public address, a test alert) included.
    All,
    /// A viewer of every camera: the events of any camera, but not those without one.
    AnyCamera,
    /// A viewer limited to these cameras.
    Cameras(Vec<String>),
}

/// One page of events, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// Older events exist: ask again with `before` = this (the oldest id of this page).
    pub next_before: Option<i64>,
}

const COLUMNS: &str = "SELECT id, camera, kind, started_at, ended_at, peak_score, details, snapshot, clip_start_ms, clip_end_ms FROM events";

/// At most `limit` events in `scope` with an id below `before` (all when `None`), newest
/// first. Ids only grow (AUTOINCREMENT), so paging with `before` sees every event once even
/// while new ones are recorded.
pub fn list(
    db: &Db<'_>,
    scope: &EventScope,
    before: Option<i64>,
    limit: u32,
) -> Result<EventPage, StoreError> {
    let before = before.unwrap_or(i64::MAX);
    // One row more than asked tells whether there is a next page.
    let fetch = i64::from(limit) + 1;
    let (filter, cameras) = match scope {
        EventScope::All => ("", None),
        EventScope::AnyCamera => (" AND camera IS NOT NULL", None),
        // json_each expands the list in SQL: one statement whatever its length.
        EventScope::Cameras(list) => (
            " AND camera IN (SELECT value FROM json_each(?3))",
            Some(serde_json::to_string(list).unwrap_or_else(|_| "[]".into())),
        ),
    };
    let sql = format!("{COLUMNS} WHERE id < ?1{filter} ORDER BY id DESC LIMIT ?2");
    let mut stmt = db.conn().prepare(&sql)?;
    let rows = match &cameras {
        Some(json) => stmt.query_map(params![before, fetch, json], event_from_row)?,
        None => stmt.query_map(params![before, fetch], event_from_row)?,
    };
    let mut events = rows.collect::<Result<Vec<_>, _>>()?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let next_before = if more {
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(EventPage {
        events,
        next_before,
    })
}

fn event_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    let details: String = r.get(6)?;
    let id: i64 = r.get(0)?;
    let snapshot: Option<String> = r.get(7)?;
    let clip_start: Option<i64> = r.get(8)?;
    let clip_end: Option<i64> = r.get(9)?;
    Ok(Event {
        clip: clip_start.map(|start_ms| EventClip {
            state: if clip_end.is_some() {
                "ready"
            } else {
                "recording"
            },
            start_ms,
            end_ms: clip_end,
            mp4_url: format!("/api/events/{id}/clip.mp4"),
        }),
        snapshot_url: snapshot.map(|_| format!("/api/events/{id}/snapshot.jpg")),
        id,
        camera: r.get(1)?,
        kind: r.get(2)?,
        started_at: r.get(3)?,
        ended_at: r.get(4)?,
        peak_score: r.get(5)?,
        details: serde_json::from_str(&details).unwrap_or_default(),
    })
}

/// What serving an event's picture needs to know.
#[derive(Debug, Clone)]
pub struct EventPicture {
    /// `None` for events without a camera (admins only).
    pub camera: Option<String>,
    /// The file name in `events/`, if the event has a picture.
    pub snapshot: Option<String>,
}

/// An event's camera and picture file name, if the event exists.
pub fn picture(db: &Db<'_>, id: i64) -> Result<Option<EventPicture>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(db
        .conn()
        .query_row(
            "SELECT camera, snapshot FROM events WHERE id = ?1",
            [id],
            |r| {
                Ok(EventPicture {
                    camera: r.get(0)?,
                    snapshot: r.get(1)?,
                })
            },
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use crate::event_kind::EventKind;
    use crate::events::{NewEvent, record};

    fn db_with(cameras: &[Option<&str>]) -> Store {
        let store = Store::open_in_memory().unwrap();
        let dir = tempfile::tempdir().unwrap();
        for cam in cameras {
            let e = NewEvent {
                camera: cam.map(str::to_owned),
                kind: EventKind::Motion,
                details: serde_json::json!({}),
                snapshot: None,
            };
            store
                .blocking(|db| record(db, &e, dir.path(), &[]))
                .unwrap();
        }
        store
    }

    #[test]
    fn scopes_filter_in_sql_and_pages_meet_exactly() {
        // ids 1..=9: a b none a b none a b none
        let store = db_with(&[Some("a"), Some("b"), None].repeat(3));
        let page = |scope: &EventScope, before, limit| {
            store.blocking(|db| list(db, scope, before, limit)).unwrap()
        };
        let ids = |p: &EventPage| p.events.iter().map(|e| e.id).collect::<Vec<_>>();
        let all = page(&EventScope::All, None, 100);
        assert_eq!(ids(&all), (1..=9).rev().collect::<Vec<_>>());
        assert_eq!(all.next_before, None);
        let any = page(&EventScope::AnyCamera, None, 100);
        assert_eq!(ids(&any), [8, 7, 5, 4, 2, 1]);
        let a = EventScope::Cameras(vec!["a".into()]);
        let first = page(&a, None, 2);
        assert_eq!((ids(&first), first.next_before), (vec![7, 4], Some(4)));
        let second = page(&a, first.next_before, 2);
        assert_eq!((ids(&second), second.next_before), (vec![1], None));
        // Exactly `limit` left: no next page to ask for.
        let exact = page(&a, Some(5), 2);
        assert_eq!((ids(&exact), exact.next_before), (vec![4, 1], None));
        let none = EventScope::Cameras(Vec::new());
        assert!(page(&none, None, 10).events.is_empty());
    }
}
