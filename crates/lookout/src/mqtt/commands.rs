//! Commands (off by default, `[mqtt] commands = true`): `PREFIX/camera/ID/snapshot/set`
//! publishes a fresh picture on the camera's `picture` topic (Home Assistant's camera entity
//! shows it); `PREFIX/camera/ID/alerts/set` with `ON`/`OFF` arms or disarms the camera's
//! motion alerts (events are still recorded and published), answered on `alerts`. Arming is
//! kept in memory: every camera is armed at start.

use super::camera::MqttCamera;
use super::connection::{Broker, Message};
use super::topics::Topics;
use crate::alerts::Arming;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long a snapshot command waits for a new frame (a camera nobody watched starts).
const SNAPSHOT_WAIT: Duration = Duration::from_secs(10);

pub async fn run(
    mut commands: mpsc::Receiver<rumqttc::Publish>,
    cameras: Vec<MqttCamera>,
    topics: Topics,
    arming: Arc<Arming>,
    broker: Broker,
    shutdown: CancellationToken,
) {
    loop {
        let command = tokio::select! {
            c = commands.recv() => match c { Some(c) => c, None => return },
            () = shutdown.cancelled() => return,
        };
        let payload = String::from_utf8_lossy(&command.payload)
            .trim()
            .to_ascii_uppercase();
        if let Some(id) = topics.camera_of(&command.topic, "alerts/set") {
            let Some(camera) = cameras.iter().find(|c| c.id == id) else {
                continue;
            };
            let armed = match payload.as_str() {
                "ON" => true,
                "OFF" => false,
                other => {
                    tracing::warn!(
                        camera = id,
                        "MQTT: {} wants ON or OFF, not {other:?}",
                        command.topic
                    );
                    continue;
                }
            };
            arming.set(&camera.id, armed);
            tracing::info!(
                camera = id,
                armed,
                "MQTT: motion alerts {}",
                if armed { "armed" } else { "disarmed" }
            );
            broker.publish_state(Message {
                topic: topics.camera(id, "alerts"),
                payload: payload.into_bytes().into(),
                retain: true,
            });
        } else if let Some(id) = topics.camera_of(&command.topic, "snapshot/set") {
            let Some(camera) = cameras.iter().find(|c| c.id == id) else {
                continue;
            };
            let hub = camera.hub.clone();
            let (topic, broker) = (topics.camera(id, "picture"), broker.clone());
            // Waiting for a frame must not hold up other commands.
            tokio::spawn(async move {
                let _demand = hub.demand();
                let mut frames = hub.subscribe();
                frames.borrow_and_update();
                let _ = tokio::time::timeout(SNAPSHOT_WAIT, frames.changed()).await;
                let Some(frame) = hub.latest_live() else {
                    tracing::warn!(
                        camera = hub.id(),
                        "MQTT snapshot: the camera has no picture"
                    );
                    return;
                };
                broker.publish_state(Message {
                    topic,
                    payload: frame.jpeg.clone(),
                    retain: true,
                });
            });
        }
    }
}
