//! ROS 2 image topics over DDS (feature `ros2`): one RustDDS participant, through ros2-client,
//! serves the topic list and every subscription. No ROS install is needed.
//!
//! The topic list and each topic's type come from DDS discovery (the publications other
//! participants announce), so a topic appears as soon as a publisher does and the type it
//! announces decides how its messages are read.
//!
//! Each subscription reads through a DDS participant of its own, which goes away with it and
//! says so in a form Fast DDS understands ([`farewell`]): RustDDS's own announcement that a
//! reader is gone is lost on Fast DDS, whose publishers would otherwise go on sending every
//! picture to each closed subscription. Readers are not made through a ros2-client `Node`,
//! which records every reader it ever made in the node's graph announcement.

mod farewell;
pub mod msg;
mod names;
mod subscription;

use crate::BoxFuture;
use crate::ros::{ImageType, Reliability, RosMessage, RosNode, TopicInfo};
use lookout_core::{Error, ErrorKind};
use ros2_client::dds::rustdds::no_key::SimpleDataReaderCdr;
use ros2_client::dds::rustdds::policy::ResourceLimits;
use ros2_client::dds::rustdds::{self, DomainParticipant, QosPolicies, TopicKind};
use ros2_client::qos::{History, QosProfile, WhenFull};
use ros2_client::{Context, ContextOptions, Node, NodeName, NodeOptions};
use serde::de::DeserializeOwned;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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

/// A participant learns of the others within a few of their announcements (Fast DDS makes
/// one every 3 s, more at its start): a topic asked for this soon after joining may just not
/// be known yet, so the subscription waits for it instead of failing at once.
const DISCOVERY_GRACE: Duration = Duration::from_secs(3);

/// What every subscription of a node has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ros2Stats {
    /// Messages read from DDS.
    pub received: u64,
    /// Samples that could not be read as their topic's type: dropped.
    pub malformed: u64,
    /// Messages replaced by a newer one before the consumer took them.
    pub skipped: u64,
}

/// A running ROS 2 participant, for discovery; each subscription has its own. Dropping the
/// last `Arc` leaves the DDS domain; subscriptions end when their receivers are dropped.
pub struct Ros2Node {
    domain_id: u16,
    joined: Instant,
    participant: DomainParticipant,
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
        tracing::info!("ros2: joined DDS domain {domain_id} as node /lookout");
        Ok(Arc::new(Self {
            domain_id,
            joined: Instant::now(),
            participant,
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

    /// Checks `topic` against what discovery knows of its publishers.
    fn prepare(
        &self,
        topic: &str,
        reliability: Reliability,
    ) -> Result<(OpenReader, ImageType, mpsc::Receiver<RosMessage>), Error> {
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
            // DDS never matches a reliable reader with a best-effort writer: nothing would
            // come, and the viewer would see "no signal" without knowing why.
            return Err(Error::invalid(format!(
                "QoS mismatch: {topic} is published best effort, a reliable subscription \
                 receives nothing from it; subscribe best effort (qos_profile=sensor_data, \
                 or no `reliable = true`)"
            )));
        }
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let open = OpenReader {
            domain_id: self.domain_id,
            topic: topic.to_owned(),
            dds_name,
            dds_type,
            reliability,
            tx,
            counters: self.counters.clone(),
        };
        Ok((open, image_type, rx))
    }
}

/// What a subscription needs to open its reader, checked against discovery.
struct OpenReader {
    domain_id: u16,
    topic: String,
    dds_name: String,
    /// Exactly as the publishers announced it: DDS matches on it.
    dds_type: String,
    reliability: Reliability,
    tx: mpsc::Sender<RosMessage>,
    counters: Arc<Counters>,
}

impl OpenReader {
    /// Joins the domain with a participant of its own and reads `topic` there until the
    /// receiver is dropped; `convert` makes the wire message ours. Synchronous: it binds the
    /// participant's sockets and starts RustDDS's threads, which takes milliseconds.
    fn start<M>(self, convert: fn(M) -> RosMessage) -> Result<(), Error>
    where
        M: DeserializeOwned + Send + Sync + 'static,
    {
        let Self {
            domain_id,
            topic,
            dds_name,
            dds_type,
            reliability,
            tx,
            counters,
        } = self;
        let participant = DomainParticipant::new(domain_id).map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("subscribing to {topic}: cannot join ROS 2 domain {domain_id}: {e}"),
            )
        })?;
        let qos = reader_qos(reliability);
        let reader: SimpleDataReaderCdr<M> = participant
            .create_subscriber(&qos)
            .and_then(|subscriber| {
                let dds_topic =
                    participant.create_topic(dds_name, dds_type, &qos, TopicKind::NoKey)?;
                subscriber.create_simple_datareader_no_key(&dds_topic, Some(qos))
            })
            .map_err(|e| Error::internal(format!("subscribing to {topic}: {e}")))?;
        tracing::debug!("ros2: subscribed to {topic} ({reliability:?})");
        tokio::spawn(subscription::run(
            topic,
            subscription::Reader {
                reader,
                participant,
                domain_id,
            },
            convert,
            tx,
            counters,
        ));
        Ok(())
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
        Box::pin(async move {
            let (open, image_type, rx) = loop {
                match self.prepare(topic, reliability) {
                    Err(e)
                        if e.kind() == ErrorKind::Unavailable
                            && self.joined.elapsed() < DISCOVERY_GRACE =>
                    {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    prepared => break prepared?,
                }
            };
            // Binding sockets and starting threads: off the async runtime. The reader's task
            // is spawned from there onto this runtime.
            let runtime = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || {
                let _entered = runtime.enter();
                match image_type {
                    ImageType::Raw => open.start(|m: msg::Image| RosMessage::Image(m.into())),
                    ImageType::Compressed => {
                        open.start(|m: msg::CompressedImage| RosMessage::Compressed(m.into()))
                    }
                }
            })
            .await
            .map_err(|e| Error::internal(format!("subscribing to {topic}: {e}")))??;
            Ok(rx)
        })
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
