//! `[mqtt]` as `config/` resolves it.

use std::path::PathBuf;
use std::time::Duration;

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
