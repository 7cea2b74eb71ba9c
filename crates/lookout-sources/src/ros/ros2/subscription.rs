//! One subscription: a DDS reader whose samples go, newest first, to the subscriber's channel.
//!
//! The channel holds one message and the task one more (the newest not yet delivered), so a
//! slow consumer gets at most one message older than the newest, never a growing queue. The
//! task ends, dropping (and so deleting) the reader, when the receiver is dropped.

use crate::ros::RosMessage;
use futures_util::StreamExt;
use lookout_core::log_limiter::LogLimiter;
use ros2_client::dds::rustdds::Timestamp;
use ros2_client::dds::rustdds::no_key::SimpleDataReaderCdr;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// More than a topic cache can hold (its resource limits say 5), few enough that a system
/// clock stepped back while we wait for the first sample costs only a moment of pictures.
const MAX_STALE: u32 = 16;

/// Counts shared by a node's subscriptions, for the log and tests.
#[derive(Debug, Default)]
pub struct Counters {
    pub received: AtomicU64,
    /// Samples that did not decode as the topic's type (or other read errors).
    pub malformed: AtomicU64,
    /// Messages replaced by a newer one before the consumer took them.
    pub skipped: AtomicU64,
    /// Samples received before the subscription existed, dropped.
    pub stale: AtomicU64,
}

/// A reader just made, and when.
pub struct Reader<M: 'static> {
    pub reader: SimpleDataReaderCdr<M>,
    /// Samples received before this were left in the topic's cache by an earlier
    /// subscription: RustDDS keeps a topic's last samples in a cache its readers share and a
    /// new reader starts at the cache's beginning (a reliable one once the writer's heartbeat
    /// releases them), so without this a subscription made minutes after the previous one on
    /// the same topic would begin with minutes-old pictures.
    pub created: Timestamp,
}

/// Runs until `tx`'s receiver is dropped. `M` is the wire message, `convert` makes it ours.
pub async fn run<M>(
    topic: String,
    reader: Reader<M>,
    convert: fn(M) -> RosMessage,
    tx: mpsc::Sender<RosMessage>,
    counters: Arc<Counters>,
) where
    M: DeserializeOwned + 'static,
{
    let log = LogLimiter::new(LOG_INTERVAL);
    let stream = reader.reader.as_async_stream();
    tokio::pin!(stream);
    let mut pending: Option<RosMessage> = None;
    // Stale samples all come before the first fresh one.
    let mut stale_budget = MAX_STALE;
    loop {
        tokio::select! {
            // Deliver first: the consumer is waiting for exactly this.
            biased;
            () = tx.closed() => break,
            permit = tx.reserve(), if pending.is_some() => {
                let Ok(permit) = permit else { break };
                if let Some(m) = pending.take() {
                    permit.send(m);
                }
            }
            sample = stream.next() => match sample {
                Some(Ok(change)) => {
                    if stale_budget > 0 {
                        if change.receive_instant < reader.created {
                            stale_budget -= 1;
                            counters.stale.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        stale_budget = 0;
                    }
                    counters.received.fetch_add(1, Ordering::Relaxed);
                    if pending.replace(convert(change.into_value())).is_some() {
                        counters.skipped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Some(Err(e)) => {
                    // RustDDS has already moved past the bad sample; the next one may be fine.
                    counters.malformed.fetch_add(1, Ordering::Relaxed);
                    if let Some(held_back) = log.allow() {
                        tracing::warn!(
                            "ros2: dropped a message on {topic} that could not be read: {e} \
                             ({held_back} more not logged)"
                        );
                    }
                }
                // RustDDS's reader streams never end; if one did, the supervisor resubscribes.
                None => break,
            },
        }
    }
    tracing::debug!("ros2: unsubscribed from {topic}");
}
