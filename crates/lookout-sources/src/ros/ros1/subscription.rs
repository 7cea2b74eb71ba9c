//! One subscription: a TCPROS connection to each publisher of the topic, kept in step with
//! the master's publisher list, feeding the newest message to the subscriber's channel.
//!
//! Viewers want the newest picture, not every picture: connections overwrite one slot and
//! a forwarder moves the slot's content into the channel (capacity 1) whenever there is
//! room, so a slow consumer gets at most one message older than the newest.

use super::Shared;
use super::msg::{self, MessageType};
use super::tcpros::{self, MAX_HEADER_BYTES, MAX_MESSAGE_BYTES};
use crate::Backoff;
use crate::ros::{ImageType, RosMessage};
use lookout_core::Error;
use lookout_core::log_limiter::LogLimiter;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc, watch};
use tokio_util::task::AbortOnDropHandle;

/// Registering again every so often repairs what a missed publisherUpdate or a restarted
/// master (which forgets every registration) would otherwise break for good.
const REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// Connecting and exchanging headers with a live publisher takes milliseconds.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// What one subscription needs to know, shared with its connections.
pub(super) struct Topic {
    pub shared: Arc<Shared>,
    pub name: String,
    pub image_type: ImageType,
    /// Messages that could not be read, for the log.
    pub malformed: AtomicU64,
    pub malformed_log: LogLimiter,
}

/// The newest message not yet forwarded.
#[derive(Default)]
struct Latest {
    slot: Mutex<Option<RosMessage>>,
    notify: Notify,
}

impl Latest {
    fn put(&self, m: RosMessage) {
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(m);
        self.notify.notify_one();
    }

    async fn take(&self) -> RosMessage {
        loop {
            if let Some(m) = self.slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                return m;
            }
            // notify_one stores a wake-up when nobody waits, so a put between the check
            // above and this wait is not missed.
            self.notify.notified().await;
        }
    }
}

/// Runs until the receiver is dropped or the node shuts down, then unregisters.
pub(super) async fn run(
    topic: Arc<Topic>,
    id: u64,
    mut publishers: watch::Receiver<Option<Vec<String>>>,
    tx: mpsc::Sender<RosMessage>,
) {
    let latest = Arc::new(Latest::default());
    let cancel = topic.shared.cancel.clone();
    tokio::select! {
        () = forward(&tx, &latest) => {}
        () = follow_publishers(&topic, &mut publishers, &latest) => {}
        () = cancel.cancelled() => {}
    }
    topic.shared.unregister(&topic.name, id).await;
}

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

/// Keeps one connection per publisher the master lists, from its updates and our refreshes.
async fn follow_publishers(
    topic: &Arc<Topic>,
    publishers: &mut watch::Receiver<Option<Vec<String>>>,
    latest: &Arc<Latest>,
) {
    let mut connections: HashMap<String, AbortOnDropHandle<()>> = HashMap::new();
    let mut current = publishers.borrow_and_update().clone().unwrap_or_default();
    let mut refresh = tokio::time::interval_at(
        tokio::time::Instant::now() + REFRESH_INTERVAL,
        REFRESH_INTERVAL,
    );
    loop {
        connections.retain(|uri, _| current.contains(uri));
        for uri in &current {
            connections.entry(uri.clone()).or_insert_with(|| {
                AbortOnDropHandle::new(tokio::spawn(connection(
                    topic.clone(),
                    uri.clone(),
                    latest.clone(),
                )))
            });
        }
        tokio::select! {
            changed = publishers.changed() => {
                if changed.is_err() {
                    return;
                }
                current = publishers.borrow_and_update().clone().unwrap_or_default();
            }
            _ = refresh.tick() => {
                let ty = msg::message_type(topic.image_type).name;
                match topic.shared.master.register_subscriber(&topic.name, ty).await {
                    Ok(list) => current = list,
                    Err(e) => tracing::debug!("ros1: refreshing {}: {e}", topic.name),
                }
            }
        }
    }
}

/// Streams from one publisher, reconnecting with backoff while the master lists it.
async fn connection(topic: Arc<Topic>, publisher_api: String, latest: Arc<Latest>) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let log = LogLimiter::new(LOG_INTERVAL);
    loop {
        match stream(&topic, &publisher_api, &latest, &mut backoff).await {
            Ok(()) => tracing::debug!(
                "ros1: {publisher_api} closed its connection for {}",
                topic.name
            ),
            Err(e) => {
                if let Some(held_back) = log.allow() {
                    tracing::warn!(
                        "ros1: receiving {} from {publisher_api}: {e} ({held_back} more \
                         failures not logged); retrying",
                        topic.name
                    );
                }
            }
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// One connection: handshake, then messages until the publisher goes away.
async fn stream(
    topic: &Topic,
    publisher_api: &str,
    latest: &Latest,
    backoff: &mut Backoff,
) -> Result<(), Error> {
    let ty = msg::message_type(topic.image_type);
    let handshake = async {
        let (host, port) = topic
            .shared
            .master
            .request_topic(publisher_api, &topic.name)
            .await?;
        let mut conn = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| unavailable(format!("connecting to {host}:{port}: {e}")))?;
        // One picture is many segments; without this the last one can wait for an ACK.
        let _ = conn.set_nodelay(true);
        let header = tcpros::encode_header(&[
            ("callerid", &topic.shared.caller_id),
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
        match msg::decode(topic.image_type, &body) {
            Ok(m) => {
                backoff.reset();
                latest.put(m);
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
    Error::new(lookout_core::ErrorKind::Unavailable, msg)
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
