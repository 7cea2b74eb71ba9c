//! What the node's XML-RPC server, its subscriptions and the node handle share: the master,
//! our caller id and the table of subscribed topics.

use super::master::Master;
use super::msg;
use super::topic::Topic;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// What the server, the subscriptions and the node handle share.
pub(super) struct Shared {
    pub(super) master: Master,
    pub(super) caller_id: String,
    /// The subscription of each topic, shared by its consumers; for publisherUpdate and
    /// getSubscriptions too.
    pub(super) topics: Mutex<HashMap<String, Arc<Topic>>>,
    /// Serialises subscribing and unsubscribing (each calls the master), so that the last
    /// consumer of a topic leaving while a new one comes cannot leave the master, or the
    /// table above, with the wrong state. A tokio mutex: it is held across the master call.
    pub(super) registering: tokio::sync::Mutex<()>,
    pub(super) next_id: AtomicU64,
    pub(super) cancel: CancellationToken,
}

impl Shared {
    pub(super) fn lock_topics(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Topic>>> {
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn publisher_update(&self, topic: &str, publishers: Vec<String>) {
        if let Some(t) = self.lock_topics().get(topic) {
            t.set_publishers(publishers);
        }
    }

    pub(super) fn subscriptions(&self) -> Vec<(String, &'static str)> {
        self.lock_topics()
            .values()
            .map(|t| (t.name.clone(), msg::message_type(t.image_type).name))
            .collect()
    }
}
