//! A camera as MQTT shows it: its id, name and hub.

use lookout_core::CameraHub;
use std::sync::Arc;

/// A camera as MQTT shows it.
#[derive(Debug, Clone)]
pub struct MqttCamera {
    pub id: String,
    pub name: String,
    pub hub: Arc<CameraHub>,
}
