//! Recording events: the row, its picture (`DATA_DIR/events/{id}.jpg`, 0600) and its alerts,
//! in one transaction, so an event is never stored without the alerts its rules asked for;
//! completing a motion event with its end, peak and best picture.

use crate::db::Db;
use crate::error::StoreError;
use crate::event_kind::EventKind;
use crate::files;
use crate::outbox::{self, AlertQueue, HeldBack};
use rusqlite::{OptionalExtension, params};
use std::path::{Path, PathBuf};

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub camera: Option<String>,
    pub kind: EventKind,
    pub details: serde_json::Value,
    /// A JPEG of the moment (motion), or the last picture before a camera went offline.
    pub snapshot: Option<bytes::Bytes>,
}

/// What [`record`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub id: i64,
    /// Rules not queued: they sent their hourly maximum.
    pub held_back: Vec<HeldBack>,
}

/// Where event pictures are kept: `pictures/{id}.jpg` (`pictures` is `DATA_DIR/events`).
pub fn picture_path(pictures: &Path, id: i64) -> PathBuf {
    pictures.join(format!("{id}.jpg"))
}

/// Records `event` (started now), keeps its picture in `pictures`, and queues it for `alerts`.
pub fn record(
    db: &mut Db<'_>,
    event: &NewEvent,
    pictures: &Path,
    alerts: &[AlertQueue<'_>],
) -> Result<Recorded, StoreError> {
    let now = db.now();
    let tx = db.conn_mut().transaction()?;
    tx.execute(
        "INSERT INTO events (camera, kind, started_at, details) VALUES (?1, ?2, ?3, ?4)",
        params![
            event.camera,
            event.kind.as_str(),
            now,
            event.details.to_string()
        ],
    )?;
    let id = tx.last_insert_rowid();
    // The picture is on disk before the alert can be queued (mails attach it).
    if let Some(jpeg) = &event.snapshot {
        let path = picture_path(pictures, id);
        // Pictures of people's homes: 0700 folder, 0600 files, whatever the umask.
        let written =
            files::create_private_dir(pictures).and_then(|()| files::write_private(&path, jpeg));
        match written {
            Ok(()) => {
                tx.execute(
                    "UPDATE events SET snapshot = ?1 WHERE id = ?2",
                    params![format!("{id}.jpg"), id],
                )?;
            }
            Err(e) => tracing::warn!(
                "cannot keep the picture of event {id} in {}: {e}",
                path.display()
            ),
        }
    }
    let held_back = outbox::queue(&tx, id, now, alerts)?;
    tx.commit()?;
    Ok(Recorded { id, held_back })
}

/// Replaces event `id`'s picture with `jpeg`: a new file renamed over the old, so readers
/// never see half a picture.
pub fn replace_picture(pictures: &Path, id: i64, jpeg: &[u8]) -> std::io::Result<()> {
    let path = picture_path(pictures, id);
    let tmp = path.with_extension("jpg.tmp");
    files::write_private(&tmp, jpeg)?;
    std::fs::rename(&tmp, &path)
}

/// Completes a motion event: when it ended (seconds since the Unix epoch) and its peak score.
pub fn finish(db: &Db<'_>, id: i64, ended_at: i64, peak_score: f32) -> Result<(), StoreError> {
    db.conn().execute(
        "UPDATE events SET ended_at = ?1, peak_score = ?2 WHERE id = ?3",
        params![ended_at, f64::from(peak_score), id],
    )?;
    Ok(())
}

/// The address of the newest `public_address_changed` event, if there is one and it says.
pub fn last_public_address(db: &Db<'_>) -> Result<Option<String>, StoreError> {
    let details: Option<String> = db
        .conn()
        .query_row(
            "SELECT details FROM events WHERE kind = ?1 ORDER BY id DESC LIMIT 1",
            [EventKind::PublicAddressChanged.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(details
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .and_then(|d| d["address"].as_str().map(str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use crate::event_list::{self, EventScope};

    #[test]
    fn an_event_keeps_its_picture_and_completes_with_its_peak() {
        let store = Store::open_in_memory().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pictures = dir.path().join("events");
        let event = NewEvent {
            camera: Some("front".into()),
            kind: EventKind::Motion,
            details: serde_json::json!({ "score": 0.2 }),
            snapshot: Some(bytes::Bytes::from_static(b"first")),
        };
        let id = store
            .blocking(|db| record(db, &event, &pictures, &[]))
            .unwrap()
            .id;
        assert_eq!(
            std::fs::read(picture_path(&pictures, id)).unwrap(),
            b"first"
        );
        replace_picture(&pictures, id, b"peak").unwrap();
        assert_eq!(std::fs::read(picture_path(&pictures, id)).unwrap(), b"peak");
        store.blocking(|db| finish(db, id, 1234, 0.75)).unwrap();
        let page = store
            .blocking(|db| event_list::list(db, &EventScope::All, None, 10))
            .unwrap();
        let e = &page.events[0];
        assert_eq!((e.ended_at, e.peak_score), (Some(1234), Some(0.75)));
        assert_eq!(
            e.snapshot_url.as_deref(),
            Some("/api/events/1/snapshot.jpg")
        );
    }

    #[test]
    fn the_last_public_address_is_the_newest_events() {
        let store = Store::open_in_memory().unwrap();
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(store.blocking(|db| last_public_address(db)).unwrap(), None);
        for address in ["192.0.2.1", "192.0.2.2"] {
            let e = NewEvent {
                camera: None,
                kind: EventKind::PublicAddressChanged,
                details: serde_json::json!({ "address": address }),
                snapshot: None,
            };
            store
                .blocking(|db| record(db, &e, dir.path(), &[]))
                .unwrap();
        }
        assert_eq!(
            store
                .blocking(|db| last_public_address(db))
                .unwrap()
                .as_deref(),
            Some("192.0.2.2")
        );
    }
}
