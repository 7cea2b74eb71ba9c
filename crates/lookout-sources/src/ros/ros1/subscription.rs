//! One subscription per topic, shared by every consumer of it: a TCPROS connection to each
//! publisher, kept in step with the master's publisher list, each message handed to every
//! consumer's channel. A publisher keeps one connection per caller id (ours is the node's
//! name) and drops the older of two, so two subscriptions of one node to one topic would take
//! turns, each reconnecting every ~110 ms.
//!
//! Viewers want the newest picture, not every picture: each consumer has one slot that
//! connections overwrite and a forwarder that moves the slot's content into its channel
//! (capacity 1) whenever there is room, so a slow consumer gets at most one message older
//! than the newest and never holds back the others.
//!
//! A connection that delivers is kept even when the master stops listing its publisher: a
//! restarted roscore knows no publishers (rospy and roscpp publishers do not register again),
//! and dropping a working stream for that would end the picture until the publisher restarts.
//! It ends when the publisher closes it, or after [`UNLISTED_SILENCE`] without a message.

use super::msg::{self, MessageType};
use super::shared::Shared;
use super::tcpros::{self, MAX_HEADER_BYTES, MAX_MESSAGE_BYTES};
use super::topic::{Consumer, Latest, Topic};
use crate::Backoff;
use crate::ros::{ImageType, RosMessage};
use lookout_core::log_limiter::LogLimiter;
use lookout_core::{Error, ErrorKind};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_util::task::AbortOnDropHandle;

/// Registering again every so often repairs what a missed publisherUpdate or a restarted
/// master (which forgets every registration) would otherwise break for good.
const REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Connecting and exchanging headers with a live publisher takes milliseconds.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
const LOG_INTERVAL: Duration = Duration::from_secs(60);
/// A connection to a publisher the master no longer lists ends after this long without a
/// message: its publisher is gone without closing it (a frozen process, a lost machine).
pub(super) const UNLISTED_SILENCE: Duration = Duration::from_secs(30);

/// Subscribes to `name`: joins its subscription, making it (and registering with the
/// master) if it is the first.
pub(super) async fn subscribe(
    shared: &Arc<Shared>,
    name: String,
    image_type: ImageType,
) -> Result<mpsc::Receiver<RosMessage>, Error> {
    let _serial = shared.registering.lock().await;
    let existing = shared.lock_topics().get(&name).cloned();
    let topic = match existing {
        Some(t) if t.image_type == image_type => t,
        Some(t) => {
            return Err(Error::invalid(format!(
                "{name} is published as {} now, but this node reads it as {} for its other \
                 viewers; restart Lookout once the publishers agree on one type",
                msg::message_type(image_type).name,
                msg::message_type(t.image_type).name
            )));
        }
        None => start_topic(shared, name, image_type).await?,
    };
    let (tx, rx) = mpsc::channel(1);
    let latest = Arc::new(Latest::default());
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    topic.lock_consumers().push(Consumer {
        id,
        latest: latest.clone(),
    });
    let shared = shared.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = forward(&tx, &latest) => {}
            () = shared.cancel.cancelled() => {}
        }
        leave(&shared, &topic, id).await;
    });
    Ok(rx)
}

/// Makes `name`'s subscription and registers it with the master, which answers with the
/// current publishers. Called with `registering` held.
async fn start_topic(
    shared: &Arc<Shared>,
    name: String,
    image_type: ImageType,
) -> Result<Arc<Topic>, Error> {
    let (publishers, _) = watch::channel(None);
    let topic = Arc::new(Topic {
        name: name.clone(),
        image_type,
        publishers,
        consumers: Mutex::new(Vec::new()),
        stop: shared.cancel.child_token(),
        malformed: AtomicU64::new(0),
        malformed_log: LogLimiter::new(LOG_INTERVAL),
    });
    // Listed before the call: a publisherUpdate may arrive before its answer does.
    shared.lock_topics().insert(name.clone(), topic.clone());
    let ty = msg::message_type(image_type).name;
    match shared.master.register_subscriber(&name, ty).await {
        Ok(list) => {
            // An update that came meanwhile is newer than this answer: keep it.
            topic.publishers.send_if_modified(|p| {
                if p.is_some() {
                    return false;
                }
                *p = Some(list);
                true
            });
        }
        Err(e) => {
            shared.lock_topics().remove(&name);
            return Err(e);
        }
    }
    let (shared, running) = (shared.clone(), topic.clone());
    tokio::spawn(async move {
        tokio::select! {
            () = follow_publishers(&shared, &running) => {}
            () = running.stop.cancelled() => {}
        }
    });
    Ok(topic)
}

/// Removes consumer `id`; with the topic's last one the connections end and the master
/// forgets us for the topic.
async fn leave(shared: &Shared, topic: &Arc<Topic>, id: u64) {
    let _serial = shared.registering.lock().await;
    let last = {
        let mut consumers = topic.lock_consumers();
        consumers.retain(|c| c.id != id);
        consumers.is_empty()
    };
    if !last {
        return;
    }
    topic.stop.cancel();
    {
        let mut topics = shared.lock_topics();
        if topics
            .get(&topic.name)
            .is_some_and(|t| Arc::ptr_eq(t, topic))
        {
            topics.remove(&topic.name);
        }
    }
    if let Err(e) = shared.master.unregister_subscriber(&topic.name).await {
        tracing::warn!("ros1: unsubscribing from {}: {e}", topic.name);
    }
}

/// Until the receiver is dropped.
async fn forward(tx: &mpsc::Sender<RosMessage>, latest: &Latest) {
    loop {
        let Ok(permit) = tx.reserve().await else {
            return;
        };
        tokio::select! {
            m = latest.take() => permit.send(m),
            () = tx.closed() => return,
        }
    }
}

/// Starts a connection to each publisher the master lists, from its updates and our
/// refreshes; a connection ends by itself (see [`connection`]).
async fn follow_publishers(shared: &Arc<Shared>, topic: &Arc<Topic>) {
    let mut listed = topic.publishers.subscribe();
    let mut connections: HashMap<String, AbortOnDropHandle<()>> = HashMap::new();
    let mut refresh = tokio::time::interval_at(
        tokio::time::Instant::now() + REFRESH_INTERVAL,
        REFRESH_INTERVAL,
    );
    loop {
        let current = listed.borrow_and_update().clone().unwrap_or_default();
        connections.retain(|_, c| !c.is_finished());
        for uri in current {
            connections.entry(uri.clone()).or_insert_with(|| {
                AbortOnDropHandle::new(tokio::spawn(connection(shared.clone(), topic.clone(), uri)))
            });
        }
        tokio::select! {
            changed = listed.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = refresh.tick() => {
                let ty = msg::message_type(topic.image_type).name;
                match shared.master.register_subscriber(&topic.name, ty).await {
                    Ok(list) => topic.set_publishers(list),
                    Err(e) => tracing::debug!("ros1: refreshing {}: {e}", topic.name),
                }
            }
        }
    }
}

/// Streams from one publisher, reconnecting with backoff while the master lists it.
async fn connection(shared: Arc<Shared>, topic: Arc<Topic>, publisher_api: String) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let log = LogLimiter::new(LOG_INTERVAL);
    loop {
        let last_message = Mutex::new(Instant::now());
        let outcome = tokio::select! {
            r = stream(&shared, &topic, &publisher_api, &mut backoff, &last_message) => Some(r),
            () = unlisted_and_silent(&topic, &publisher_api, &last_message) => None,
        };
        match outcome {
            Some(Ok(())) => tracing::debug!(
                "ros1: {publisher_api} closed its connection for {}",
                topic.name
            ),
            Some(Err(e)) => {
                if let Some(held_back) = log.allow() {
                    tracing::warn!(
                        "ros1: receiving {} from {publisher_api}: {e} ({held_back} more \
                         failures not logged); retrying",
                        topic.name
                    );
                }
            }
            None => tracing::info!(
                "ros1: {publisher_api} sent nothing on {} for {}s and the master no longer \
                 lists it: closing the connection",
                topic.name,
                UNLISTED_SILENCE.as_secs()
            ),
        }
        if !topic.is_listed(&publisher_api) {
            return;
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Completes when the master no longer lists the publisher and nothing came from it for
/// [`UNLISTED_SILENCE`].
async fn unlisted_and_silent(topic: &Topic, publisher_api: &str, last_message: &Mutex<Instant>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let silent_for = last_message
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed();
        if silent_for >= UNLISTED_SILENCE && !topic.is_listed(publisher_api) {
            return;
        }
    }
}

/// One connection: handshake, then messages until the publisher goes away.
async fn stream(
    shared: &Shared,
    topic: &Topic,
    publisher_api: &str,
    backoff: &mut Backoff,
    last_message: &Mutex<Instant>,
) -> Result<(), Error> {
    let ty = msg::message_type(topic.image_type);
    let handshake = async {
        let (host, port) = shared
            .master
            .request_topic(publisher_api, &topic.name)
            .await?;
        let mut conn = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| unavailable(format!("connecting to {host}:{port}: {e}")))?;
        // One picture is many segments; without this the last one can wait for an ACK.
        let _ = conn.set_nodelay(true);
        let header = tcpros::encode_header(&[
            ("callerid", &shared.caller_id),
            ("topic", &topic.name),
            ("type", ty.name),
            ("md5sum", ty.md5sum),
            ("message_definition", ty.definition),
            ("tcp_nodelay", "1"),
        ]);
        conn.write_all(&header)
            .await
            .map_err(|e| unavailable(format!("sending the connection header: {e}")))?;
        let reply = tcpros::read_block(&mut conn, MAX_HEADER_BYTES, "connection header")
            .await
            .map_err(|e| unavailable(format!("reading the connection header: {e}")))?;
        check_reply(&tcpros::decode_header(&reply)?, ty)?;
        Ok::<_, Error>(conn)
    };
    let mut conn = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .map_err(|_| {
            unavailable("the publisher did not complete the handshake in time".into())
        })??;
    tracing::debug!("ros1: receiving {} from {publisher_api}", topic.name);
    loop {
        let body = match tcpros::read_block(&mut conn, MAX_MESSAGE_BYTES, "message").await {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(unavailable(format!("reading a message: {e}"))),
        };
        *last_message.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        match msg::decode(topic.image_type, &body) {
            Ok(m) => {
                backoff.reset();
                topic.deliver(m);
            }
            Err(e) => {
                let n = topic.malformed.fetch_add(1, Ordering::Relaxed) + 1;
                if topic.malformed_log.allow().is_some() {
                    tracing::warn!(
                        "ros1: dropped a malformed {} message on {} ({n} so far): {e}",
                        ty.name,
                        topic.name
                    );
                }
            }
        }
    }
}

/// A publisher answers with its own header, or one holding only `error`.
fn check_reply(fields: &[(String, String)], ty: MessageType) -> Result<(), Error> {
    if let Some(e) = tcpros::field(fields, "error") {
        return Err(unavailable(format!(
            "the publisher refused the connection: {e}"
        )));
    }
    match tcpros::field(fields, "md5sum") {
        Some(m) if m == ty.md5sum || m == "*" => Ok(()),
        other => Err(Error::invalid(format!(
            "the publisher's {} has md5sum {}, ours is {} (a different message definition)",
            tcpros::field(fields, "type").unwrap_or(ty.name),
            other.unwrap_or("(none)"),
            ty.md5sum
        ))),
    }
}

fn unavailable(msg: String) -> Error {
    Error::new(ErrorKind::Unavailable, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ros::RosCompressedImage;

    fn msg(n: u8) -> RosMessage {
        RosMessage::Compressed(RosCompressedImage {
            stamp: None,
            format: "jpeg".into(),
            data: vec![n],
        })
    }

    #[tokio::test]
    async fn a_slow_consumer_gets_the_newest_message() {
        let latest = Arc::new(Latest::default());
        let (tx, mut rx) = mpsc::channel(1);
        let fwd = {
            let latest = latest.clone();
            tokio::spawn(async move { forward(&tx, &latest).await })
        };
        latest.put(msg(1));
        tokio::task::yield_now().await;
        // 1 waits in the full channel; 2 to 5 overwrite each other in the slot.
        for n in 2..=5 {
            latest.put(msg(n));
        }
        assert_eq!(rx.recv().await, Some(msg(1)));
        assert_eq!(rx.recv().await, Some(msg(5)));
        latest.put(msg(6));
        assert_eq!(rx.recv().await, Some(msg(6)));
        drop(rx);
        fwd.await.unwrap();
    }

    #[test]
    fn a_reply_is_checked_for_errors_and_the_md5sum() {
        let f = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let ok = f(&[("md5sum", msg::IMAGE.md5sum), ("type", "sensor_msgs/Image")]);
        assert!(check_reply(&ok, msg::IMAGE).is_ok());
        assert!(check_reply(&f(&[("md5sum", "*")]), msg::IMAGE).is_ok());
        let e = check_reply(&f(&[("error", "topic types do not match")]), msg::IMAGE).unwrap_err();
        assert!(e.message().contains("topic types do not match"));
        let e = check_reply(&ok, msg::COMPRESSED_IMAGE).unwrap_err();
        assert!(e.message().contains("md5sum"), "{e}");
    }
}
