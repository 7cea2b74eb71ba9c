//! One subscription: a DDS reader whose samples go, newest first, to the subscriber's channel.
//!
//! The channel holds one message and the task one more (the newest not yet delivered), so a
//! slow consumer gets at most one message older than the newest, never a growing queue. The
//! task ends when the receiver is dropped: it deletes the reader, leaves the domain with the
//! reader's participant and tells the publishers so ([`super::farewell`]).

use super::farewell;
use crate::ros::RosMessage;
use futures_util::StreamExt;
use lookout_core::log_limiter::LogLimiter;
use ros2_client::dds::rustdds::no_key::SimpleDataReaderCdr;
use ros2_client::dds::rustdds::{DomainParticipant, RTPSEntity};
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Counts shared by a node's subscriptions, for the log and tests.
#[derive(Debug, Default)]
pub struct Counters {
    pub received: AtomicU64,
    /// Samples that did not decode as the topic's type (or other read errors).
    pub malformed: AtomicU64,
    /// Messages replaced by a newer one before the consumer took them.
    pub skipped: AtomicU64,
}

/// A reader and the participant it was made in, for it alone. A fresh participant also has
/// a fresh topic cache: RustDDS keeps a topic's last samples in a cache shared by the
/// participant's readers, so a reader made later in the same participant would begin with
/// pictures an earlier one left there.
pub struct Reader<M: 'static> {
    pub reader: SimpleDataReaderCdr<M>,
    pub participant: DomainParticipant,
    pub domain_id: u16,
}

/// Runs until `tx`'s receiver is dropped. `M` is the wire message, `convert` makes it ours.
pub async fn run<M>(
    topic: String,
    reader: Reader<M>,
    convert: fn(M) -> RosMessage,
    tx: mpsc::Sender<RosMessage>,
    counters: Arc<Counters>,
) where
    M: DeserializeOwned + Send + Sync + 'static,
{
    let log = LogLimiter::new(LOG_INTERVAL);
    let Reader {
        reader,
        participant,
        domain_id,
    } = reader;
    read(&topic, &reader, convert, &tx, &counters, &log).await;
    drop(tx);
    // The participants whose writers could send to us, before ours forgets them.
    let peers: BTreeSet<SocketAddrV4> = participant
        .discovered_writers()
        .iter()
        .flat_map(|w| &w.writer_proxy.unicast_locator_list)
        .filter_map(|l| match SocketAddr::from(*l) {
            SocketAddr::V4(addr) => farewell::spdp_address(domain_id, addr),
            SocketAddr::V6(_) => None,
        })
        .collect();
    // Deleting the reader and leaving the domain join RustDDS's threads: off the runtime.
    let left = tokio::task::spawn_blocking(move || {
        let prefix = participant.guid().prefix;
        drop(reader);
        drop(participant);
        let mut guid_prefix = [0u8; 12];
        guid_prefix.copy_from_slice(prefix.as_ref());
        farewell::send(guid_prefix, &peers);
    })
    .await;
    if let Err(e) = left {
        tracing::warn!("ros2: leaving the domain after {topic}: {e}");
    }
    tracing::debug!("ros2: unsubscribed from {topic}");
}

/// Delivers samples until the receiver is dropped.
async fn read<M>(
    topic: &str,
    reader: &SimpleDataReaderCdr<M>,
    convert: fn(M) -> RosMessage,
    tx: &mpsc::Sender<RosMessage>,
    counters: &Counters,
    log: &LogLimiter,
) where
    M: DeserializeOwned + Send + Sync + 'static,
{
    let stream = reader.as_async_stream();
    tokio::pin!(stream);
    let mut pending: Option<RosMessage> = None;
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
}
