//! Home Assistant MQTT discovery: a retained config message per entity under
//! `DISCOVERY_PREFIX/COMPONENT/NODE/OBJECT/config`, all entities of one Lookout under one
//! device. Per camera: a `binary_sensor` (device class motion), a `camera` fed by the
//! picture topic, a `sensor` for the camera's state and one for its viewers; with commands,
//! a `switch` arming motion alerts and a `button` taking a snapshot. At every connect the
//! configs are published again; at the first, the cameras announced before (the store keeps
//! the list) that are no longer configured get an empty retained config, which removes their
//! entities.

use super::camera::MqttCamera;
use super::connection::{Broker, Message};
use super::settings::MqttSettings;
use super::topics::Topics;
use lookout_store::Store;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Each entity's component and the object id suffix after the camera's id.
const ENTITIES: [(&str, &str); 6] = [
    ("binary_sensor", "motion"),
    ("camera", "picture"),
    ("sensor", "state"),
    ("sensor", "viewers"),
    ("switch", "alerts"),
    ("button", "snapshot"),
];

/// Home Assistant's node id: the client id in the characters it allows (`[a-zA-Z0-9_-]`).
pub fn node_id(client_id: &str) -> String {
    client_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn config_topic(prefix: &str, component: &str, node: &str, camera: &str, object: &str) -> String {
    format!("{prefix}/{component}/{node}/{camera}_{object}/config")
}

/// The device all entities belong to.
fn device(settings: &MqttSettings, node: &str) -> Value {
    let mut device = json!({
        "identifiers": [format!("lookout_{node}")],
        "name": settings.device_name,
        "manufacturer": "Lookout",
        "model": "Lookout camera server",
        "sw_version": env!("CARGO_PKG_VERSION"),
    });
    if let Some(url) = &settings.configuration_url {
        device["configuration_url"] = json!(url);
    }
    device
}

/// The retained config messages for `cameras`: (topic, payload).
pub fn configs(settings: &MqttSettings, cameras: &[(String, String)]) -> Vec<(String, Value)> {
    let Some(prefix) = &settings.discovery_prefix else {
        return Vec::new();
    };
    let topics = Topics::new(&settings.topic_prefix);
    let node = node_id(&settings.client_id);
    let device = device(settings, &node);
    let mut out = Vec::new();
    for (id, name) in cameras {
        for (component, object) in ENTITIES {
            let mut c = json!({
                "unique_id": format!("lookout_{node}_{id}_{object}"),
                "availability_topic": topics.status(),
                "payload_available": "online",
                "payload_not_available": "offline",
                // Events are published at QoS 1: ask Home Assistant to subscribe so too.
                "qos": 1,
                "device": device,
            });
            let fields = match object {
                "motion" => json!({
                    "name": format!("{name} motion"),
                    "state_topic": topics.camera(id, "motion"),
                    "payload_on": "ON",
                    "payload_off": "OFF",
                    "device_class": "motion",
                }),
                "picture" => json!({
                    "name": name,
                    "topic": topics.camera(id, "picture"),
                }),
                "state" => json!({
                    "name": format!("{name} state"),
                    "state_topic": topics.camera(id, "state"),
                    "value_template": "{{ value_json.state }}",
                    "json_attributes_topic": topics.camera(id, "state"),
                    "device_class": "enum",
                    "options": ["idle", "starting", "online", "offline"],
                }),
                "viewers" => json!({
                    "name": format!("{name} viewers"),
                    "state_topic": topics.camera(id, "viewers"),
                    "state_class": "measurement",
                }),
                "alerts" if settings.commands => json!({
                    "name": format!("{name} motion alerts"),
                    "command_topic": topics.camera(id, "alerts/set"),
                    "state_topic": topics.camera(id, "alerts"),
                    "payload_on": "ON",
                    "payload_off": "OFF",
                }),
                "snapshot" if settings.commands => json!({
                    "name": format!("{name} snapshot"),
                    "command_topic": topics.camera(id, "snapshot/set"),
                    "payload_press": "PRESS",
                }),
                _ => continue,
            };
            if let (Some(c), Some(fields)) = (c.as_object_mut(), fields.as_object()) {
                c.extend(fields.clone());
            }
            out.push((config_topic(prefix, component, &node, id, object), c));
        }
    }
    out
}

/// The config topics to clear: every entity of `gone` cameras, and without commands the
/// command entities of the others (commands were maybe on before).
pub fn removals(settings: &MqttSettings, gone: &[String], kept: &[String]) -> Vec<String> {
    let Some(prefix) = &settings.discovery_prefix else {
        return Vec::new();
    };
    let node = node_id(&settings.client_id);
    let mut out = Vec::new();
    for camera in gone {
        for (component, object) in ENTITIES {
            out.push(config_topic(prefix, component, &node, camera, object));
        }
    }
    if !settings.commands {
        for camera in kept {
            for (component, object) in &ENTITIES[4..] {
                out.push(config_topic(prefix, component, &node, camera, object));
            }
        }
    }
    out
}

/// Publishes the configs at every connect; at the first, removes the cameras gone since the
/// last announcement and records the new list.
pub async fn announce(
    settings: Arc<MqttSettings>,
    cameras: Vec<MqttCamera>,
    store: Store,
    broker: Broker,
    shutdown: CancellationToken,
) {
    if settings.discovery_prefix.is_none() {
        return;
    }
    let node = node_id(&settings.client_id);
    let named: Vec<(String, String)> = cameras
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let ids: Vec<String> = cameras.iter().map(|c| c.id.clone()).collect();
    let mut connected = broker.connected();
    let mut recorded = false;
    loop {
        tokio::select! {
            changed = connected.wait_for(|c| *c != 0) => if changed.is_err() { return },
            () = shutdown.cancelled() => return,
        }
        if let Err(e) = publish(
            &settings,
            &named,
            &ids,
            &node,
            &store,
            &broker,
            &mut recorded,
        )
        .await
        {
            tracing::warn!("MQTT discovery: {}", e.chain());
        }
        // Until this connection ends.
        tokio::select! {
            changed = connected.wait_for(|c| *c == 0) => if changed.is_err() { return },
            () = shutdown.cancelled() => return,
        }
    }
}

async fn publish(
    settings: &MqttSettings,
    named: &[(String, String)],
    ids: &[String],
    node: &str,
    store: &Store,
    broker: &Broker,
    recorded: &mut bool,
) -> Result<(), lookout_core::Error> {
    const ACK: Duration = Duration::from_secs(15);
    if !*recorded {
        let owned = node.to_owned();
        let before = store
            .run(move |db| lookout_store::mqtt::announced(db, &owned))
            .await?;
        let gone: Vec<String> = before.into_iter().filter(|c| !ids.contains(c)).collect();
        for topic in removals(settings, &gone, ids) {
            let message = Message {
                topic,
                payload: bytes::Bytes::new(),
                retain: true,
            };
            broker.publish_acked(message, ACK).await?;
        }
        if !gone.is_empty() {
            tracing::info!(
                ?gone,
                "MQTT: removed the Home Assistant entities of cameras no longer configured"
            );
        }
    }
    for (topic, payload) in configs(settings, named) {
        let message = Message {
            topic,
            payload: payload.to_string().into(),
            retain: true,
        };
        broker.publish_acked(message, ACK).await?;
    }
    if !*recorded {
        let (owned, list) = (node.to_owned(), ids.to_vec());
        store
            .run(move |db| lookout_store::mqtt::set_announced(db, &owned, &list))
            .await?;
        *recorded = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(commands: bool) -> MqttSettings {
        MqttSettings {
            host: "b".into(),
            port: 1883,
            tls: false,
            ca_file: None,
            username: None,
            password: None,
            client_id: "lookout garage.1".into(),
            topic_prefix: "lookout".into(),
            discovery_prefix: Some("homeassistant".into()),
            device_name: "Lookout".into(),
            configuration_url: None,
            commands,
            viewers_every: Duration::from_secs(5),
            keep_alive: Duration::from_secs(30),
        }
    }

    #[test]
    fn command_entities_only_with_commands_and_cleared_without() {
        let cams = [("yard".to_owned(), "Yard".to_owned())];
        let without = configs(&settings(false), &cams);
        assert_eq!(without.len(), 4);
        assert!(
            without[0]
                .0
                .starts_with("homeassistant/binary_sensor/lookout_garage_1/yard_motion")
        );
        assert_eq!(configs(&settings(true), &cams).len(), 6);
        // Without commands, a button and switch announced before are cleared; a camera gone
        // loses all six.
        let gone = removals(&settings(false), &["old".into()], &["yard".into()]);
        assert_eq!(gone.len(), 8);
        assert!(gone.contains(&"homeassistant/switch/lookout_garage_1/yard_alerts/config".into()));
        assert!(removals(&settings(true), &[], &["yard".into()]).is_empty());
    }
}
