//! ROS 1: a subscriber-only node speaking the master's XML-RPC API and TCPROS, in Rust with
//! no ROS install (the two message definitions live in `ros1_msgs/`).
//!
//! Why our own small client rather than roslibrust 0.26: it cannot be told which address
//! to announce (it reads ROS_HOSTNAME/ROS_IP from the environment itself, and setting
//! variables in a threaded program is unsound), it listens on every interface, and its
//! ros1 backend pulls OpenSSL (reqwest 0.11's default TLS) and a second hyper. A subscriber
//! needs four master calls, one publisher call, the node API and TCPROS: this module.

mod address;
mod master;
// The three wire formats a peer controls are public for the fuzz targets (fuzz/, see
// docs/fuzzing.md); nothing else outside this module uses them.
pub mod msg;
mod rpc;
mod shared;
mod slave;
mod subscription;
pub mod tcpros;
mod topic;
pub mod xmlrpc;

use crate::BoxFuture;
use crate::ros::{ImageType, Reliability, RosMessage, RosNode, TopicInfo};
use lookout_core::{Error, ErrorKind};
use master::Master;
use rpc::RpcClient;
use shared::Shared;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The master ROS tools use when ROS_MASTER_URI is not set.
pub const DEFAULT_MASTER_URI: &str = "http://localhost:11311";
pub const DEFAULT_NODE_NAME: &str = "/lookout";

/// `ROS_MASTER_URI`, else [`DEFAULT_MASTER_URI`].
pub fn master_uri_from_env() -> String {
    std::env::var("ROS_MASTER_URI")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_MASTER_URI.to_owned())
}

/// Our ROS 1 node. Dropping it stops its server and every subscription (each unregisters).
pub struct Ros1Node {
    shared: Arc<Shared>,
    uri: String,
}

impl std::fmt::Debug for Ros1Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ros1Node")
            .field("name", &self.shared.caller_id)
            .field("master", &self.shared.master.uri())
            .field("uri", &self.uri)
            .finish()
    }
}

impl Ros1Node {
    /// Starts the node's XML-RPC server; the master is contacted only when topics are
    /// listed or subscribed, so a master that starts later is fine.
    ///
    /// - `master_uri`: e.g. `http://localhost:11311` (see [`master_uri_from_env`]).
    /// - `node_name`: e.g. `/lookout`, as `rosnode list` will show it.
    /// - `hostname`: what the master should call us at; `None` takes ROS_HOSTNAME, then
    ///   ROS_IP, then 127.0.0.1 for a master on this machine, else the address of the
    ///   interface that routes to the master.
    pub async fn start(
        master_uri: &str,
        node_name: &str,
        hostname: Option<&str>,
    ) -> Result<Arc<Self>, Error> {
        let master_parsed = address::parse_master_uri(master_uri)?;
        let caller_id = address::graph_name(node_name, "node name")?;
        let host =
            address::advertise_host(hostname, |k| std::env::var(k).ok(), &master_parsed).await?;
        let bind = address::bind_addr(&host);
        let listener = tokio::net::TcpListener::bind((bind, 0))
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Unavailable,
                    format!("ros1: cannot listen on {bind} for the node API: {e}"),
                )
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::internal(format!("ros1: listener address: {e}")))?
            .port();
        let uri = address::node_uri(&host, port);
        let rpc = RpcClient::new();
        let shared = Arc::new(Shared {
            master: Master::new(master_uri.to_owned(), caller_id.clone(), uri.clone(), rpc),
            caller_id,
            topics: Mutex::new(HashMap::new()),
            registering: tokio::sync::Mutex::new(()),
            next_id: AtomicU64::new(0),
            cancel: CancellationToken::new(),
        });
        let weak = Arc::downgrade(&shared);
        let handler: rpc::Handler =
            Arc::new(move |method, params| slave::handle(&weak, method, params));
        tokio::spawn(rpc::serve(listener, handler, shared.cancel.clone()));
        tracing::info!(
            "ros1: node {} at {uri}, master {}",
            shared.caller_id,
            lookout_core::redact::mask_url_secrets(master_uri)
        );
        Ok(Arc::new(Self { shared, uri }))
    }

    /// Our node API's URI as announced to the master, e.g. `http://127.0.0.1:40123/`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    pub fn name(&self) -> &str {
        &self.shared.caller_id
    }

    pub fn master_uri(&self) -> &str {
        self.shared.master.uri()
    }
}

impl Drop for Ros1Node {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

impl RosNode for Ros1Node {
    fn kind(&self) -> &'static str {
        "ros1"
    }

    fn image_topics(&self) -> BoxFuture<'_, Result<Vec<TopicInfo>, Error>> {
        Box::pin(async move {
            let mut topics: Vec<TopicInfo> = self
                .shared
                .master
                .published_topics()
                .await?
                .into_iter()
                .filter_map(|(name, ty)| {
                    ImageType::from_type_name(&ty).map(|image_type| TopicInfo { name, image_type })
                })
                .collect();
            topics.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(topics)
        })
    }

    /// TCPROS is always reliable: `Reliability` has nothing to choose here. Every
    /// subscription to a topic shares one TCPROS connection per publisher: a publisher keeps
    /// one connection per caller id and drops the older of two.
    fn subscribe<'a>(
        &'a self,
        topic: &'a str,
        _reliability: Reliability,
    ) -> BoxFuture<'a, Result<mpsc::Receiver<RosMessage>, Error>> {
        Box::pin(async move {
            let name = address::graph_name(topic, "topic")?;
            let published = self.shared.master.published_topics().await?;
            let Some((_, ty)) = published.iter().find(|(n, _)| *n == name) else {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "nobody publishes {name} on the ROS master at {} yet",
                        self.shared.master.uri()
                    ),
                ));
            };
            let Some(image_type) = ImageType::from_type_name(ty) else {
                return Err(Error::invalid(format!(
                    "{name} carries {ty}, not sensor_msgs/Image or sensor_msgs/CompressedImage"
                )));
            };
            subscription::subscribe(&self.shared, name, image_type).await
        })
    }
}
