//! Events: what happened to a camera (motion, offline, back online) or to the server (a new
//! public address), recorded by `lookout_store::events` with their times and, for motion, the
//! peak score and a snapshot. Recording an event also queues the alerts its rules ask for in
//! the same transaction, so an event is never stored without them.

pub mod camera_watch;
pub mod motion_watch;
pub mod public_address;
pub mod retention;
pub mod zones;

use crate::alerts::{self, AlertConfig, Arming};
use lookout_store::Store;
pub use lookout_store::event_kind::EventKind;
pub use lookout_store::event_list::Event;
pub use lookout_store::events::{NewEvent, picture_path as snapshot_path};
use lookout_store::events::{Recorded, record};
use lookout_store::outbox::{AlertQueue, Target};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::Notify;

/// A motion event's start or end, for the recorders (an event's clip follows its edges).
#[derive(Debug, Clone)]
pub enum ClipEdge {
    Start {
        camera: String,
        event: i64,
    },
    End {
        camera: String,
        event: i64,
        /// The last motion.
        at: std::time::SystemTime,
    },
}

/// Stores events and wakes the alert outbox (and MQTT's).
#[derive(Debug, Clone)]
pub struct EventLog {
    pub store: Store,
    /// `DATA_DIR/events`.
    pub snapshots: PathBuf,
    /// The data directory: recordings' paths in the index are relative to it.
    pub data_dir: PathBuf,
    pub alerts: Arc<AlertConfig>,
    pub outbox_wake: Arc<Notify>,
    /// Set when `[mqtt]` is: every event is queued for the broker too.
    pub mqtt_wake: Option<Arc<Notify>>,
    /// Cameras whose motion alerts are disarmed (MQTT commands).
    pub arming: Arc<Arming>,
    /// Motion events' starts and ends, for the recorders.
    pub clip_edges: tokio::sync::broadcast::Sender<ClipEdge>,
    /// Cameras that record, with their pre-roll: a motion event of theirs gets its clip's
    /// start in the same call that queues its alerts, so the alerts can say where it is
    /// (the recorder sets the exact start, its first pre-roll key frame, right after).
    pub clip_pre_roll: Arc<std::collections::HashMap<String, std::time::Duration>>,
}

impl EventLog {
    /// Records `event` and queues an alert for each matching rule; returns its id.
    pub async fn record(&self, event: NewEvent) -> Result<i64, lookout_core::Error> {
        let alerts = self.alerts.clone();
        let dir = self.snapshots.clone();
        let mqtt = self.mqtt_wake.is_some();
        let pre_roll = match (&event.camera, event.kind) {
            (Some(c), EventKind::Motion) => self.clip_pre_roll.get(c).copied(),
            _ => None,
        };
        let disarmed = event.kind == EventKind::Motion
            && event
                .camera
                .as_deref()
                .is_some_and(|c| !self.arming.armed(c));
        let (recorded, quiet) = self
            .store
            .run(move |db| {
                let mut plan = alerts::plan(&alerts, &event);
                if disarmed {
                    plan.queue.clear();
                }
                if mqtt {
                    plan.queue.push(AlertQueue {
                        rule: crate::mqtt::outbox::START,
                        target: Target::Mqtt,
                        max_per_hour: None,
                    });
                }
                let recorded = record(db, &event, &dir, &plan.queue)?;
                if let Some(pre_roll) = pre_roll {
                    let now = std::time::SystemTime::now();
                    let start = now
                        .checked_sub(pre_roll)
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                    lookout_store::recordings::set_clip(db, recorded.id, start, None)?;
                }
                Ok((recorded, plan.quiet_rules()))
            })
            .await?;
        if disarmed {
            tracing::info!(
                "motion alerts disarmed: event {} recorded, not sent",
                recorded.id
            );
        }
        log_unsent(&recorded, &quiet);
        self.outbox_wake.notify_one();
        if let Some(wake) = &self.mqtt_wake {
            wake.notify_one();
        }
        Ok(recorded.id)
    }

    /// Queues the end of motion event `id` for the broker, if there is one.
    pub async fn queue_end(&self, id: i64) -> Result<(), lookout_core::Error> {
        let Some(wake) = &self.mqtt_wake else {
            return Ok(());
        };
        self.store
            .run(move |db| {
                let end = [AlertQueue {
                    rule: crate::mqtt::outbox::END,
                    target: Target::Mqtt,
                    max_per_hour: None,
                }];
                lookout_store::outbox::queue_later(db, id, &end)
            })
            .await?;
        wake.notify_one();
        Ok(())
    }
}

/// Records `event` from a thread that may block (the command line): as [`EventLog::record`],
/// without waking a worker.
pub fn record_blocking(
    store: &Store,
    event: &NewEvent,
    alerts: &AlertConfig,
    snapshots: &Path,
) -> Result<i64, lookout_core::Error> {
    let plan = alerts::plan(alerts, event);
    let recorded = store.blocking(|db| record(db, event, snapshots, &plan.queue))?;
    log_unsent(&recorded, &plan.quiet_rules());
    Ok(recorded.id)
}

/// Says which rules did not queue an alert for the event, and why.
fn log_unsent(recorded: &Recorded, quiet: &[String]) {
    let id = recorded.id;
    for rule in quiet {
        tracing::info!(rule, "quiet hours: event {id} recorded, not sent");
    }
    for held in &recorded.held_back {
        tracing::info!(
            rule = held.rule,
            "{} alerts in the last hour (max_per_hour): event {id} recorded, not sent",
            held.last_hour
        );
    }
}
