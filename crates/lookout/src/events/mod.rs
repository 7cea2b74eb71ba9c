//! Events: what happened to a camera (motion, offline, back online), stored in the database
//! with their times and, for motion, the peak score and a snapshot. Recording an event also
//! queues its alerts in the same transaction, so an event is never stored without them.

pub mod camera_watch;
pub mod motion_watch;
pub mod public_address;
pub mod retention;
pub mod zones;

use crate::alerts::{self, AlertConfig};
pub use crate::store::events::Event;
use crate::store::{Store, StoreError, files, now_secs};
use rusqlite::{Connection, params};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Motion,
    CameraOffline,
    CameraOnline,
    /// The public address watcher saw a new address.
    PublicAddressChanged,
    /// `lookout alerts test`.
    Test,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::Motion,
        EventKind::CameraOffline,
        EventKind::CameraOnline,
        EventKind::PublicAddressChanged,
        EventKind::Test,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Motion => "motion",
            EventKind::CameraOffline => "camera_offline",
            EventKind::CameraOnline => "camera_online",
            EventKind::PublicAddressChanged => "public_address_changed",
            EventKind::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub camera: Option<String>,
    pub kind: EventKind,
    pub details: serde_json::Value,
    /// A JPEG of the moment (motion), or the last picture before a camera went offline.
    pub snapshot: Option<bytes::Bytes>,
}

/// Where event pictures are kept: `DATA_DIR/events/{id}.jpg` (mode 0600).
pub fn snapshot_path(dir: &std::path::Path, id: i64) -> std::path::PathBuf {
    dir.join(format!("{id}.jpg"))
}

/// Stores events and wakes the alert outbox.
#[derive(Debug, Clone)]
pub struct EventLog {
    pub store: Store,
    /// `DATA_DIR/events`.
    pub snapshots: std::path::PathBuf,
    pub alerts: Arc<AlertConfig>,
    pub outbox_wake: Arc<Notify>,
}

impl EventLog {
    /// Records `event` and queues an alert for each matching rule; returns its id.
    pub async fn record(&self, event: NewEvent) -> Result<i64, StoreError> {
        let alerts = self.alerts.clone();
        let dir = self.snapshots.clone();
        let id = self
            .store
            .run(move |c| record(c, &event, &alerts, &dir))
            .await?;
        self.outbox_wake.notify_one();
        Ok(id)
    }
}

pub fn record(
    conn: &mut Connection,
    event: &NewEvent,
    alerts: &AlertConfig,
    snapshots: &std::path::Path,
) -> Result<i64, StoreError> {
    let now = now_secs();
    let tx = conn.transaction()?;
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
        let path = snapshot_path(snapshots, id);
        // Pictures of people's homes: 0700 folder, 0600 files, whatever the umask.
        let written =
            files::create_private_dir(snapshots).and_then(|()| files::write_private(&path, jpeg));
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
    alerts::enqueue(&tx, id, event, now, alerts)?;
    tx.commit()?;
    Ok(id)
}
