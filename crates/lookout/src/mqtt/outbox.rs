//! Events on the broker, from the durable outbox: rows of the MQTT target are taken strictly
//! in the order they were queued (a motion `OFF` never overtakes its `ON`), one at a time, and
//! a row is marked delivered only when the broker acknowledged (QoS 1 PUBACK) every message
//! of it. While the broker is away nothing is tried; a row that fails is tried again after
//! 1 s doubling to 10 s, and given up after a day or 20 failed tries. So an event is published at least once:
//! a second time only if Lookout stops between the broker's acknowledgement and recording it
//! (the JSON on `PREFIX/events` carries the event id to tell).
//!
//! Row `mqtt` (queued with the event): `PREFIX/camera/ID/motion` = `ON`, the picture on
//! `picture` (retained), the event on `PREFIX/events`, a new public address on
//! `PREFIX/public_address` (retained). Row `mqtt-end` (queued when motion ends): the peak
//! picture, the event with its end, `motion` = `OFF`; also queued at start for motion events
//! a killed process left open (their `ended_at` is then `null`).

use super::connection::{Broker, Message};
use super::topics::Topics;
use lookout_core::Error;
use lookout_store::Store;
use lookout_store::outbox::{self, Due, InOrder, Target};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The row queued with each event.
pub const START: &str = "mqtt";
/// The row queued when a motion event ends.
pub const END: &str = "mqtt-end";

const ACK_TIMEOUT: Duration = Duration::from_secs(15);
const RETRY_FIRST_SECS: i64 = 1;
const RETRY_MAX_SECS: i64 = 10;
const GIVE_UP_SECS: i64 = 24 * 3600;
/// Tries are made only while connected, so this many failures say the message itself is
/// refused (a picture over the broker's size limit): given up after about 3 minutes, so that
/// it does not hold back the events after it for a day.
const GIVE_UP_ATTEMPTS: i64 = 20;
const IDLE_LOOK: Duration = Duration::from_secs(30);

pub async fn run(
    store: Store,
    started_at: i64,
    snapshots: PathBuf,
    topics: Topics,
    broker: Broker,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    // The only MQTT worker of this data directory: a row leased by a process that was killed
    // in the middle of publishing it goes first, now.
    match store.run(|db| outbox::due_now(db, Target::Mqtt)).await {
        Ok(0) => {}
        Ok(n) => tracing::info!("MQTT: {n} event message(s) waiting from before, publishing"),
        Err(e) => tracing::warn!("MQTT outbox: {}", e.chain()),
    }
    // Motion a killed process announced as ON and never ended: OFF, after its ON.
    let ended = store
        .run(move |db| outbox::end_abandoned(db, Target::Mqtt, START, END, started_at))
        .await;
    match ended {
        Ok(0) => {}
        Ok(n) => tracing::info!("MQTT: {n} motion event(s) left open by the last run end now"),
        Err(e) => tracing::warn!("MQTT outbox: {}", e.chain()),
    }
    let mut connected = broker.connected();
    loop {
        tokio::select! {
            up = connected.wait_for(|c| *c != 0) => if up.is_err() { return },
            () = shutdown.cancelled() => return,
        }
        let wait = match store
            .run(|db| outbox::take_next_in_order(db, Target::Mqtt))
            .await
        {
            Ok(InOrder::Due(due)) => {
                if let Err(e) = deliver_one(&store, &snapshots, &topics, &broker, due).await {
                    tracing::warn!("MQTT outbox: {}", e.chain());
                }
                continue;
            }
            Ok(InOrder::NotBefore(at)) => {
                Duration::from_secs(u64::try_from(at - store.now()).unwrap_or(0)).min(IDLE_LOOK)
            }
            Ok(InOrder::Nothing) => IDLE_LOOK,
            Err(e) => {
                tracing::warn!("MQTT outbox: {}", e.chain());
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait.max(Duration::from_millis(200))) => {}
            () = wake.notified() => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// Publishes one row and records the outcome.
async fn deliver_one(
    store: &Store,
    snapshots: &Path,
    topics: &Topics,
    broker: &Broker,
    due: Due,
) -> Result<(), Error> {
    let (id, attempts, event) = (due.id, due.attempts + 1, due.event.id);
    let mut result = Ok(());
    for message in messages(&due, topics, snapshots) {
        result = broker.publish_acked(message, ACK_TIMEOUT).await;
        if result.is_err() {
            break;
        }
    }
    match result {
        Ok(()) => {
            tracing::debug!(event, rule = due.rule, "published on MQTT");
            store
                .run(move |db| outbox::delivered(db, id, attempts))
                .await
        }
        Err(e) => {
            let now = store.now();
            let shift = u32::try_from(attempts - 1).unwrap_or(u32::MAX).min(10);
            let backoff = (RETRY_FIRST_SECS << shift).min(RETRY_MAX_SECS);
            let give_up = now - due.event.started_at > GIVE_UP_SECS || attempts >= GIVE_UP_ATTEMPTS;
            let next = if give_up {
                tracing::error!(
                    event,
                    "MQTT: event given up after {attempts} attempts: {}",
                    e.chain()
                );
                i64::MAX
            } else {
                tracing::info!(
                    event,
                    "MQTT: event not published yet (attempt {attempts}): {}",
                    e.chain()
                );
                now + backoff
            };
            let error = e.chain().to_string();
            store
                .run(move |db| outbox::failed(db, id, attempts, next, &error))
                .await
        }
    }
}

/// The messages of one row, in the order they are published.
pub fn messages(due: &Due, topics: &Topics, snapshots: &Path) -> Vec<Message> {
    let e = &due.event;
    let end = due.rule == END;
    let motion = e.kind == "motion";
    let mut out = Vec::new();
    let message = |topic: String, payload: Vec<u8>, retain: bool| Message {
        topic,
        payload: payload.into(),
        retain,
    };
    let picture = || {
        e.has_picture
            .then(|| std::fs::read(lookout_store::events::picture_path(snapshots, e.id)).ok())
            .flatten()
    };
    if let (Some(camera), true) = (&e.camera, motion) {
        if !end {
            out.push(message(
                topics.camera(camera, "motion"),
                b"ON".to_vec(),
                false,
            ));
        }
        if let Some(jpeg) = picture() {
            out.push(message(topics.camera(camera, "picture"), jpeg, true));
        }
    }
    let mut json = serde_json::json!({
        "id": e.id,
        "camera": e.camera,
        "kind": e.kind,
        "phase": if end { "end" } else { "start" },
        "started_at": lookout_store::timestamp::rfc3339(e.started_at),
        "details": e.details,
        "has_picture": e.has_picture,
    });
    if end {
        json["ended_at"] = e.ended_at.map(lookout_store::timestamp::rfc3339).into();
        json["peak_score"] = e.peak_score.into();
    }
    out.push(message(
        topics.events(),
        json.to_string().into_bytes(),
        false,
    ));
    if e.kind == "public_address_changed"
        && let Some(address) = e.details["address"].as_str()
    {
        out.push(message(
            topics.public_address(),
            address.as_bytes().to_vec(),
            true,
        ));
    }
    if let (Some(camera), true, true) = (&e.camera, motion, end) {
        out.push(message(
            topics.camera(camera, "motion"),
            b"OFF".to_vec(),
            false,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_store::outbox::DueEvent;

    fn due(rule: &str, kind: &str, camera: Option<&str>, details: serde_json::Value) -> Due {
        Due {
            id: 1,
            rule: rule.into(),
            attempts: 0,
            event: DueEvent {
                id: 7,
                camera: camera.map(String::from),
                kind: kind.into(),
                started_at: 1_700_000_000,
                details,
                has_picture: true,
                ended_at: (rule == END).then_some(1_700_000_009),
                peak_score: (rule == END).then_some(0.25),
                has_clip: false,
            },
        }
    }

    fn shown(messages: &[Message]) -> Vec<(&str, bool)> {
        messages
            .iter()
            .map(|m| (m.topic.as_str(), m.retain))
            .collect()
    }

    #[test]
    fn motion_is_on_picture_event_then_event_picture_off() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("7.jpg"), b"\xff\xd8jpeg").unwrap();
        let topics = Topics::new("home/lookout");
        let start = messages(
            &due(
                START,
                "motion",
                Some("yard"),
                serde_json::json!({"score": 0.1}),
            ),
            &topics,
            dir.path(),
        );
        assert_eq!(
            shown(&start),
            [
                ("home/lookout/camera/yard/motion", false),
                ("home/lookout/camera/yard/picture", true),
                ("home/lookout/events", false),
            ]
        );
        assert_eq!(&start[0].payload[..], b"ON");
        assert_eq!(&start[1].payload[..], b"\xff\xd8jpeg");
        let json: serde_json::Value = serde_json::from_slice(&start[2].payload).unwrap();
        assert_eq!(
            (json["id"].as_i64(), json["phase"].as_str()),
            (Some(7), Some("start"))
        );
        assert_eq!(json["started_at"], "2023-11-14T22:13:20Z");
        let end = messages(
            &due(END, "motion", Some("yard"), serde_json::json!({})),
            &topics,
            dir.path(),
        );
        assert_eq!(
            shown(&end),
            [
                ("home/lookout/camera/yard/picture", true),
                ("home/lookout/events", false),
                ("home/lookout/camera/yard/motion", false),
            ]
        );
        assert_eq!(&end[2].payload[..], b"OFF");
        let json: serde_json::Value = serde_json::from_slice(&end[1].payload).unwrap();
        assert_eq!(
            (json["phase"].as_str(), json["peak_score"].as_f64()),
            (Some("end"), Some(0.25))
        );
    }

    #[test]
    fn a_new_public_address_is_an_event_and_retained_state() {
        let dir = tempfile::tempdir().unwrap();
        let topics = Topics::new("lookout");
        let m = messages(
            &due(
                START,
                "public_address_changed",
                None,
                serde_json::json!({"address": "203.0.113.7", "previous": null}),
            ),
            &topics,
            dir.path(),
        );
        assert_eq!(
            shown(&m),
            [("lookout/events", false), ("lookout/public_address", true)]
        );
        assert_eq!(&m[1].payload[..], b"203.0.113.7");
        // A camera going offline: the event only (its state has its own retained topic).
        let m = messages(
            &due(
                START,
                "camera_offline",
                Some("gate"),
                serde_json::json!({"error": "x"}),
            ),
            &topics,
            dir.path(),
        );
        assert_eq!(shown(&m), [("lookout/events", false)]);
    }
}
