//! MQTT: Lookout's cameras, motion and camera states on a broker, where Home Assistant and
//! robots already look. One connection ([`connection`]) with a last will (`PREFIX/status` =
//! `offline`, retained) and a retained `online` on every connect; camera states and viewer
//! counts as retained state ([`state`]); events from the durable outbox, in order, at QoS 1
//! ([`outbox`]); Home Assistant discovery ([`discovery`]); optional commands ([`commands`]).

mod camera;
pub mod commands;
pub mod connection;
pub mod discovery;
pub mod outbox;
mod settings;
pub mod state;
mod topics;

pub use camera::MqttCamera;
pub use settings::MqttSettings;
pub use topics::Topics;

use crate::alerts::Arming;
use lookout_store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Where events are: the store, its pictures (`DATA_DIR/events`) and the wake-up of the
/// MQTT outbox worker, which recording an event rings.
#[derive(Debug, Clone)]
pub struct EventSource {
    pub store: Store,
    /// When this server started (store time): motion events of MQTT that began before and
    /// never ended were left open by a process that was killed.
    pub started_at: i64,
    pub snapshots: PathBuf,
    pub wake: Arc<Notify>,
}

/// Starts the connection and its workers on `tasks`.
pub fn start(
    settings: Arc<MqttSettings>,
    cameras: Vec<MqttCamera>,
    events: EventSource,
    arming: Arc<Arming>,
    tasks: &TaskTracker,
    shutdown: CancellationToken,
) {
    let topics = Topics::new(&settings.topic_prefix);
    let (broker, commands, conn) = match connection::Connection::new(&settings, &topics) {
        Ok(parts) => parts,
        Err(e) => {
            tracing::error!("MQTT cannot start: {}", e.chain());
            return;
        }
    };
    tasks.spawn(conn.run(shutdown.clone()));
    tasks.spawn(outbox::run(
        events.store.clone(),
        events.started_at,
        events.snapshots,
        topics.clone(),
        broker.clone(),
        events.wake,
        shutdown.clone(),
    ));
    tasks.spawn(discovery::announce(
        settings.clone(),
        cameras.clone(),
        events.store,
        broker.clone(),
        shutdown.clone(),
    ));
    for camera in &cameras {
        tasks.spawn(state::publish(
            camera.clone(),
            topics.clone(),
            settings.viewers_every,
            settings.commands.then(|| arming.clone()),
            broker.clone(),
            shutdown.clone(),
        ));
    }
    if settings.commands {
        tasks.spawn(commands::run(
            commands, cameras, topics, arming, broker, shutdown,
        ));
    }
}
