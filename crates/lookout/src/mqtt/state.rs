//! A camera's retained state on the broker: `state` (JSON: `state` idle/starting/online/
//! offline, `since`, `last_error`, `restarts`) whenever it changes, the viewer count at most
//! once per `viewers_every`, and with commands whether motion alerts are armed. All again at
//! every connect, so the broker's retained copy is never older than the connection.

use super::camera::MqttCamera;
use super::connection::{Broker, Message};
use super::topics::Topics;
use crate::alerts::Arming;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub async fn publish(
    camera: MqttCamera,
    topics: Topics,
    viewers_every: Duration,
    arming: Option<Arc<Arming>>,
    broker: Broker,
    shutdown: CancellationToken,
) {
    let mut status = camera.hub.watch_status();
    let mut connected = broker.connected();
    let mut tick = tokio::time::interval(viewers_every.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut viewers_sent: Option<usize> = None;
    let state_topic = topics.camera(&camera.id, "state");
    let viewers_topic = topics.camera(&camera.id, "viewers");
    let retained = |topic: &str, payload: Vec<u8>| Message {
        topic: topic.to_owned(),
        payload: payload.into(),
        retain: true,
    };
    loop {
        let mut everything = false;
        tokio::select! {
            changed = status.changed() => if changed.is_err() { return },
            changed = connected.changed() => {
                if changed.is_err() {
                    return;
                }
                everything = *connected.borrow_and_update() != 0;
                if !everything {
                    continue;
                }
            }
            _ = tick.tick() => {
                let now = camera.hub.viewer_count();
                if viewers_sent != Some(now) && *connected.borrow() != 0 {
                    viewers_sent = Some(now);
                    broker.publish_state(retained(&viewers_topic, now.to_string().into_bytes()));
                }
                continue;
            }
            () = shutdown.cancelled() => return,
        }
        if *connected.borrow() == 0 {
            continue;
        }
        let now = status.borrow_and_update().clone();
        match serde_json::to_vec(&now) {
            Ok(json) => broker.publish_state(retained(&state_topic, json)),
            Err(e) => tracing::warn!(camera = camera.id, "MQTT: cannot encode the state: {e}"),
        }
        if everything {
            let count = camera.hub.viewer_count();
            viewers_sent = Some(count);
            broker.publish_state(retained(&viewers_topic, count.to_string().into_bytes()));
            if let Some(arming) = &arming {
                let on = if arming.armed(&camera.id) {
                    "ON"
                } else {
                    "OFF"
                };
                broker.publish_state(retained(
                    &topics.camera(&camera.id, "alerts"),
                    on.as_bytes().to_vec(),
                ));
            }
        }
    }
}
