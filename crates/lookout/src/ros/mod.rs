//! The ROS transports this process runs — one node per transport, shared by every camera and
//! on-demand topic — and web_video_server's on-demand topics ([`topics`]).
//!
//! A node starts at its first use and, if that fails (no master yet, say), again at the next:
//! Lookout must come up and serve its other cameras while the robot's ROS graph is down.

pub mod settings;
pub mod topics;

use lookout_core::{Error, ErrorKind};
use lookout_sources::BoxFuture;
use lookout_sources::ros::{Reliability, RosMessage, RosNode, TopicInfo};
use settings::{Ros1Settings, Ros2Settings, RosSettings, RosTransport};
use std::sync::Arc;
use tokio::sync::OnceCell;

type Starter = Box<dyn Fn() -> BoxFuture<'static, Result<Arc<dyn RosNode>, Error>> + Send + Sync>;

/// A node started on first use, retried after a failed start.
pub struct LazyNode {
    transport: RosTransport,
    node: OnceCell<Arc<dyn RosNode>>,
    start: Starter,
}

impl std::fmt::Debug for LazyNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LazyNode({})", self.transport.name())
    }
}

impl LazyNode {
    async fn node(&self) -> Result<&Arc<dyn RosNode>, Error> {
        self.node.get_or_try_init(|| (self.start)()).await
    }
}

impl RosNode for LazyNode {
    fn kind(&self) -> &'static str {
        self.transport.name()
    }

    fn image_topics(&self) -> BoxFuture<'_, Result<Vec<TopicInfo>, Error>> {
        Box::pin(async move { self.node().await?.image_topics().await })
    }

    fn subscribe<'a>(
        &'a self,
        topic: &'a str,
        reliability: Reliability,
    ) -> BoxFuture<'a, Result<tokio::sync::mpsc::Receiver<RosMessage>, Error>> {
        Box::pin(async move { self.node().await?.subscribe(topic, reliability).await })
    }
}

/// The configured transports.
#[derive(Debug, Default, Clone)]
pub struct RosNodes {
    pub ros1: Option<Arc<LazyNode>>,
    pub ros2: Option<Arc<LazyNode>>,
}

impl RosNodes {
    /// Prepares (does not yet start) the transports `cfg` names.
    pub fn new(cfg: &RosSettings) -> Self {
        Self {
            ros1: cfg.ros1.clone().map(|s| {
                Arc::new(LazyNode {
                    transport: RosTransport::Ros1,
                    node: OnceCell::new(),
                    start: Box::new(move || start_ros1(s.clone())),
                })
            }),
            ros2: cfg.ros2.clone().map(|s| {
                Arc::new(LazyNode {
                    transport: RosTransport::Ros2,
                    node: OnceCell::new(),
                    start: Box::new(move || start_ros2(s.clone())),
                })
            }),
        }
    }

    pub fn get(&self, transport: RosTransport) -> Result<Arc<dyn RosNode>, Error> {
        let node = match transport {
            RosTransport::Ros1 => self.ros1.clone(),
            RosTransport::Ros2 => self.ros2.clone(),
        };
        node.map(|n| n as Arc<dyn RosNode>).ok_or_else(|| {
            Error::new(
                ErrorKind::Unavailable,
                format!("{} is not configured", transport.name()),
            )
        })
    }
}

#[cfg(feature = "ros1")]
fn start_ros1(s: Ros1Settings) -> BoxFuture<'static, Result<Arc<dyn RosNode>, Error>> {
    Box::pin(async move {
        let node = lookout_sources::ros::ros1::Ros1Node::start(
            &s.master_uri,
            &s.node_name,
            s.hostname.as_deref(),
        )
        .await?;
        Ok(node as Arc<dyn RosNode>)
    })
}

#[cfg(not(feature = "ros1"))]
fn start_ros1(_: Ros1Settings) -> BoxFuture<'static, Result<Arc<dyn RosNode>, Error>> {
    Box::pin(async { Err(not_built(RosTransport::Ros1)) })
}

#[cfg(feature = "ros2")]
fn start_ros2(s: Ros2Settings) -> BoxFuture<'static, Result<Arc<dyn RosNode>, Error>> {
    Box::pin(async move {
        let node = lookout_sources::ros::ros2::Ros2Node::start(s.domain_id)?;
        Ok(node as Arc<dyn RosNode>)
    })
}

#[cfg(not(feature = "ros2"))]
fn start_ros2(_: Ros2Settings) -> BoxFuture<'static, Result<Arc<dyn RosNode>, Error>> {
    Box::pin(async { Err(not_built(RosTransport::Ros2)) })
}

#[cfg(not(all(feature = "ros1", feature = "ros2")))]
fn not_built(t: RosTransport) -> Error {
    let name = t.name();
    Error::new(
        ErrorKind::Unavailable,
        format!("this Lookout was built without {name}; build with `--features {name}`"),
    )
}
