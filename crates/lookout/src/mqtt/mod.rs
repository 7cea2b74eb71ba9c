//! MQTT: Lookout's cameras, motion and camera states on a broker, where Home Assistant and
//! robots already look. One connection ([`connection`]) with a last will (`PREFIX/status` =
//! `offline`, retained) and a retained `online` on every connect; camera states and viewer
//! counts as retained state ([`state`]); events from the durable outbox, in order, at QoS 1
//! ([`outbox`]); Home Assistant discovery ([`discovery`]); optional commands ([`commands`]).

pub mod commands;
pub mod connection;
pub mod discovery;
pub mod outbox;
pub mod state;

use crate::alerts::Arming;
use lookout_core::CameraHub;
use lookout_store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// `[mqtt]` as `config/` resolves it.
#[derive(Clone)]
pub struct MqttSettings {
    pub host: String,
    pub port: u16,
    /// `mqtts://`: TLS, with the system's roots or `ca_file`.
    pub tls: bool,
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_id: String,
    pub topic_prefix: String,
    /// Home Assistant's discovery prefix; `None`: no discovery messages.
    pub discovery_prefix: Option<String>,
    /// The device's name in Home Assistant.
    pub device_name: String,
    /// The link from Home Assistant's device page to Lookout's.
    pub configuration_url: Option<String>,
    /// Subscribe to the snapshot and arm/disarm command topics.
    pub commands: bool,
    /// Viewer counts are published at most this often.
    pub viewers_every: Duration,
    pub keep_alive: Duration,
}

impl std::fmt::Debug for MqttSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password (architecture invariant 5).
        f.debug_struct("MqttSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("client_id", &self.client_id)
            .field("topic_prefix", &self.topic_prefix)
            .finish_non_exhaustive()
    }
}

/// The topics under the prefix; camera ids are `[A-Za-z0-9_-]` (config checks), so they
/// are safe in topic levels and in Home Assistant's object ids.
#[derive(Debug, Clone)]
pub struct Topics {
    prefix: String,
}

impl Topics {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }
    /// `online` / `offline` (the last will), retained.
    pub fn status(&self) -> String {
        format!("{}/status", self.prefix)
    }
    /// Every event as JSON, not retained.
    pub fn events(&self) -> String {
        format!("{}/events", self.prefix)
    }
    /// The last public address seen, retained.
    pub fn public_address(&self) -> String {
        format!("{}/public_address", self.prefix)
    }
    /// `PREFIX/camera/ID/LEAF`: `state`, `motion`, `picture`, `viewers`, `alerts`,
    /// `alerts/set`, `snapshot/set`.
    pub fn camera(&self, camera: &str, leaf: &str) -> String {
        format!("{}/camera/{camera}/{leaf}", self.prefix)
    }
    /// The filter matching `leaf` of every camera.
    pub fn every_camera(&self, leaf: &str) -> String {
        format!("{}/camera/+/{leaf}", self.prefix)
    }
    /// The camera of a `PREFIX/camera/ID/LEAF` topic.
    pub fn camera_of<'t>(&self, topic: &'t str, leaf: &str) -> Option<&'t str> {
        let rest = topic.strip_prefix(&self.prefix)?.strip_prefix("/camera/")?;
        let camera = rest.strip_suffix(leaf)?.strip_suffix('/')?;
        (!camera.is_empty() && !camera.contains('/')).then_some(camera)
    }
}

/// A camera as MQTT shows it.
#[derive(Debug, Clone)]
pub struct MqttCamera {
    pub id: String,
    pub name: String,
    pub hub: Arc<CameraHub>,
}

/// Where events are: the store, its pictures (`DATA_DIR/events`) and the wake-up of the
/// MQTT outbox worker, which recording an event rings.
#[derive(Debug, Clone)]
pub struct EventSource {
    pub store: Store,
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
