//! One topic's subscription as the node keeps it: its publishers (the master's list) and its
//! consumers, each with a slot for the newest message. Its own file because the node's shared
//! state holds topics and the subscription code runs them.

use crate::ros::{ImageType, RosMessage};
use lookout_core::log_limiter::LogLimiter;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// One topic's subscription: its publishers and its consumers.
pub(super) struct Topic {
    pub(super) name: String,
    pub(super) image_type: ImageType,
    /// The master's publisher list; `None` until its first answer.
    pub(super) publishers: watch::Sender<Option<Vec<String>>>,
    pub(super) consumers: Mutex<Vec<Consumer>>,
    /// Ends the connections when the last consumer leaves.
    pub(super) stop: CancellationToken,
    /// Messages that could not be read, for the log.
    pub(super) malformed: AtomicU64,
    pub(super) malformed_log: LogLimiter,
}

pub(super) struct Consumer {
    pub(super) id: u64,
    pub(super) latest: Arc<Latest>,
}

impl Topic {
    pub(super) fn set_publishers(&self, list: Vec<String>) {
        self.publishers.send_replace(Some(list));
    }

    pub(super) fn is_listed(&self, publisher_api: &str) -> bool {
        self.publishers
            .borrow()
            .as_ref()
            .is_some_and(|l| l.iter().any(|u| u == publisher_api))
    }

    pub(super) fn lock_consumers(&self) -> std::sync::MutexGuard<'_, Vec<Consumer>> {
        self.consumers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands `m` to every consumer: a copy each, the last one takes it.
    pub(super) fn deliver(&self, m: RosMessage) {
        let consumers = self.lock_consumers();
        if let Some((last, others)) = consumers.split_last() {
            for c in others {
                c.latest.put(m.clone());
            }
            last.latest.put(m);
        }
    }
}

/// The newest message not yet forwarded to one consumer.
#[derive(Default)]
pub(super) struct Latest {
    slot: Mutex<Option<RosMessage>>,
    notify: Notify,
}

impl Latest {
    pub(super) fn put(&self, m: RosMessage) {
        *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(m);
        self.notify.notify_one();
    }

    pub(super) async fn take(&self) -> RosMessage {
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
