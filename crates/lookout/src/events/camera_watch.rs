//! Turns a camera's source state into events: `camera_offline` when it fails after having
//! worked (or fails at start), `camera_online` when frames come back after that. A source
//! that flaps is one offline event until it is back, and alert rules limit the rest.

use super::{EventKind, EventLog, NewEvent};
use lookout_core::{CameraHub, SourceState};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub async fn watch(
    hub: Arc<CameraHub>,
    camera: String,
    log: EventLog,
    shutdown: CancellationToken,
) {
    let mut status = hub.watch_status();
    let mut offline = false;
    loop {
        tokio::select! {
            changed = status.changed() => if changed.is_err() { return },
            () = shutdown.cancelled() => return,
        }
        let now = status.borrow_and_update().clone();
        let event = match now.state {
            SourceState::Offline if !offline => {
                offline = true;
                Some((EventKind::CameraOffline, now.last_error.clone()))
            }
            SourceState::Online if offline => {
                offline = false;
                Some((EventKind::CameraOnline, None))
            }
            _ => None,
        };
        if let Some((kind, error)) = event {
            let details = serde_json::json!({ "error": error });
            // Offline: the last picture it sent; online: the first new one.
            let snapshot = hub.latest_live().map(|f| f.jpeg.clone());
            if let Err(e) = log
                .record(NewEvent {
                    camera: Some(camera.clone()),
                    kind,
                    details,
                    snapshot,
                })
                .await
            {
                tracing::warn!(camera, "cannot record a {} event: {e}", kind.as_str());
            }
        }
    }
}
