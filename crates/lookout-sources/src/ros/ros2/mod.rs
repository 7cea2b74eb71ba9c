//! ROS 2 image topics over DDS (feature `ros2`): one RustDDS participant, through ros2-client,
//! serves the topic list and every subscription. No ROS install is needed.
//!
//! The topic list and each topic's type come from DDS discovery (the publications other
//! participants announce), so a topic appears as soon as a publisher does and the type it
//! announces decides how its messages are read. Readers are made directly on our own DDS
//! subscriber rather than through a ros2-client `Node`, which records every reader it ever made
//! in the node's graph announcement and so would grow with each on-demand subscription.

pub mod msg;
mod names;
mod subscription;

use crate::BoxFuture;
use crate::ros::{ImageType, Reliability, RosMessage, RosNode, TopicInfo};
use lookout_core::{Error, ErrorKind};
use ros2_client::dds::rustdds::policy::ResourceLimits;
use ros2_client::dds::rustdds::{self, DomainParticipant, QosPolicies, TopicKind};
use ros2_client::qos::{History, QosProfile, WhenFull};
use ros2_client::{Context, ContextOptions, Node, NodeName, NodeOptions};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use subscription::Counters;
use tokio::sync::mpsc;

/// The highest DDS domain id: the RTPS port formula (7400 + 250 × domain) runs out of UDP
/// ports above it.
pub const MAX_DOMAIN_ID: u16 = 232;

/// Sensor-data QoS keeps the last 5 samples (rmw's `rmw_qos_profile_sensor_data`); we take
/// them as they come, so this only absorbs bursts.
const HISTORY_DEPTH: usize = 5;

/// Capacity of a subscription's channel; the subscription task holds one more message.
const CHANNEL_CAPACITY: usize = 1;

/// What every subscription of a node has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ros2Stats {
    /// Messages read from DDS.
    pub received: u64,
    /// Samples that could not be read as their topic's type: dropped.
    pub malformed: u64,
    /// Messages replaced by a newer one before the consumer took them.
    pub skipped: u64,
    /// Samples an earlier subscription to the same topic left behind, dropped.
    pub stale: u64,
}

/// A running ROS 2 participant. Dropping the last `Arc` leaves the DDS domain once the
/// subscriptions' receivers are gone too.
pub struct Ros2Node {
    domain_id: u16,
    participant: DomainParticipant,
    subscriber: rustdds::Subscriber,
    counters: Arc<Counters>,
    // Held so that `ros2 node list` shows us; the Mutex makes the node shareable whatever
    // ros2-client's own thread-safety.
    _node: Mutex<Node>,
    _context: Context,
}

impl std::fmt::Debug for Ros2Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ros2Node")
            .field("domain_id", &self.domain_id)
            .finish_non_exhaustive()
    }
}

impl Ros2Node {
    /// Joins DDS domain `domain_id` (ROS_DOMAIN_ID) as node `/lookout`. Synchronous: it binds
    /// the RTPS sockets and starts RustDDS's own threads, which takes milliseconds.
    pub fn start(domain_id: u16) -> Result<Arc<Self>, Error> {
        if domain_id > MAX_DOMAIN_ID {
            return Err(Error::invalid(format!(
                "ROS 2 domain id {domain_id} is out of range: use 0 to {MAX_DOMAIN_ID} \
                 (ROS recommends 0 to 101)"
            )));
        }
        let context =
            Context::with_options(ContextOptions::new().domain_id(domain_id)).map_err(|e| {
                Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "cannot join ROS 2 domain {domain_id}: {e}; check that the machine has \
                         a network interface with multicast (loopback is enough for one host)"
                    ),
                )
            })?;
        let name = NodeName::new("/", "lookout")
            .map_err(|e| Error::internal(format!("ROS 2 node name: {e:?}")))?;
        // No rosout logger and no parameter services: both need a spinner task and we have
        // nothing to log or configure over ROS.
        let options = NodeOptions::new()
            .enable_rosout(false)
            .start_parameter_services(false);
        let node = context
            .new_node(name, options)
            .map_err(|e| Error::internal(format!("creating the ROS 2 node: {e:?}")))?;
        let participant = context.domain_participant();
        let subscriber = participant
            .create_subscriber(&reader_qos(Reliability::BestEffort))
            .map_err(|e| Error::internal(format!("creating the DDS subscriber: {e}")))?;
        tracing::info!("ros2: joined DDS domain {domain_id} as node /lookout");
        Ok(Arc::new(Self {
            domain_id,
            participant,
            subscriber,
            counters: Arc::new(Counters::default()),
            _node: Mutex::new(node),
            _context: context,
        }))
    }

    pub fn domain_id(&self) -> u16 {
        self.domain_id
    }

    pub fn stats(&self) -> Ros2Stats {
        Ros2Stats {
            received: self.counters.received.load(Ordering::Relaxed),
            malformed: self.counters.malformed.load(Ordering::Relaxed),
            skipped: self.counters.skipped.load(Ordering::Relaxed),
            stale: self.counters.stale.load(Ordering::Relaxed),
        }
    }

    /// Image topics with at least one publisher now, sorted by name.
    pub fn list_image_topics(&self) -> Vec<TopicInfo> {
        let mut topics: Vec<TopicInfo> = self
            .participant
            .discovered_writers()
            .iter()
            .filter_map(|w| {
                let p = &w.publication_topic_data;
                Some(TopicInfo {
                    name: names::ros_topic_name(&p.topic_name)?,
                    image_type: names::image_type(&p.type_name)?,
                })
            })
            .collect();
        topics.sort_by(|a, b| {
            (a.name.as_str(), type_rank(a.image_type)).cmp(&(&b.name, type_rank(b.image_type)))
        });
        topics.dedup();
        topics
    }

    fn subscribe_now(
        &self,
        topic: &str,
        reliability: Reliability,
    ) -> Result<mpsc::Receiver<RosMessage>, Error> {
        let dds_name = names::dds_topic_name(topic)?;
        let writers: Vec<_> = self
            .participant
            .discovered_writers()
            .into_iter()
            .map(|w| w.publication_topic_data)
            .filter(|p| p.topic_name == dds_name)
            .collect();
        let Some(first) = writers.first() else {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "no publisher for ROS 2 topic {topic} yet (domain {})",
                    self.domain_id
                ),
            ));
        };
        let dds_type = first.type_name.clone();
        if writers.iter().any(|p| p.type_name != dds_type) {
            return Err(Error::invalid(format!(
                "ROS 2 topic {topic} is published with more than one type; fix the publishers"
            )));
        }
        let Some(image_type) = names::image_type(&dds_type) else {
            let shown = names::ros_type_name(&dds_type).unwrap_or_else(|| dds_type.clone());
            return Err(Error::invalid(format!(
                "ROS 2 topic {topic} carries {shown}, not sensor_msgs/msg/Image or \
                 sensor_msgs/msg/CompressedImage"
            )));
        };
        if reliability == Reliability::Reliable
            && writers.iter().all(|p| {
                matches!(
                    p.reliability,
                    Some(rustdds::policy::Reliability::BestEffort)
                )
            })
        {
            // DDS never matches a reliable reader with a best-effort writer: nothing would come.
            tracing::warn!(
                "ros2: {topic} is published best effort; a reliable subscription receives \
                 nothing from it. Subscribe best effort instead"
            );
        }
        let qos = reader_qos(reliability);
        // The type string exactly as the publisher announced it: DDS matches on it.
        let dds_topic = self
            .participant
            .create_topic(dds_name, dds_type, &qos, TopicKind::NoKey)
            .map_err(|e| Error::internal(format!("creating DDS topic for {topic}: {e}")))?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let counters = self.counters.clone();
        let name = topic.to_owned();
        let reader_error =
            |e: rustdds::dds::CreateError| Error::internal(format!("subscribing to {topic}: {e}"));
        // Before the reader exists: anything received earlier is stale.
        let created = rustdds::Timestamp::now();
        match image_type {
            ImageType::Raw => {
                let reader = self
                    .subscriber
                    .create_simple_datareader_no_key(&dds_topic, Some(qos))
                    .map_err(reader_error)?;
                tokio::spawn(subscription::run(
                    name,
                    subscription::Reader { reader, created },
                    |m: msg::Image| RosMessage::Image(m.into()),
                    tx,
                    counters,
                ));
            }
            ImageType::Compressed => {
                let reader = self
                    .subscriber
                    .create_simple_datareader_no_key(&dds_topic, Some(qos))
                    .map_err(reader_error)?;
                tokio::spawn(subscription::run(
                    name,
                    subscription::Reader { reader, created },
                    |m: msg::CompressedImage| RosMessage::Compressed(m.into()),
                    tx,
                    counters,
                ));
            }
        }
        tracing::debug!("ros2: subscribed to {topic} ({image_type:?}, {reliability:?})");
        Ok(rx)
    }
}

impl RosNode for Ros2Node {
    fn kind(&self) -> &'static str {
        "ros2"
    }

    fn image_topics(&self) -> BoxFuture<'_, Result<Vec<TopicInfo>, Error>> {
        Box::pin(async move { Ok(self.list_image_topics()) })
    }

    fn subscribe<'a>(
        &'a self,
        topic: &'a str,
        reliability: Reliability,
    ) -> BoxFuture<'a, Result<mpsc::Receiver<RosMessage>, Error>> {
        Box::pin(async move { self.subscribe_now(topic, reliability) })
    }
}

/// Raw before compressed when a name carries both (it should not).
fn type_rank(t: ImageType) -> u8 {
    match t {
        ImageType::Raw => 0,
        ImageType::Compressed => 1,
    }
}

/// Sensor-data QoS (best effort, keep last 5, volatile), or the same but reliable.
fn reader_qos(reliability: Reliability) -> QosPolicies {
    let profile = QosProfile::subscription_default().history(History::KeepLast {
        depth: HISTORY_DEPTH,
    });
    let profile = match reliability {
        Reliability::BestEffort => profile.reliability_best_effort(),
        Reliability::Reliable => profile.reliability_reliable(WhenFull::DEFAULT),
    };
    // RustDDS keeps a topic's samples in a per-participant cache that outlives the readers,
    // 64 of them unless told otherwise: 170 MB for one 720p rgb8 topic, forever. Five is what
    // the history needs.
    let limits = QosPolicies::builder()
        .resource_limits(ResourceLimits {
            max_samples: HISTORY_DEPTH as i32,
            max_instances: 1,
            max_samples_per_instance: HISTORY_DEPTH as i32,
        })
        .build();
    QosPolicies::from(profile).modify_by(&limits)
}
