//! The messages as plain values, the topics and delivery a subscription names, and the
//! [`RosNode`] contract a transport fulfils. Its own file because the source, the image
//! conversions and both transports use it.

use crate::BoxFuture;
use lookout_core::Error;
use std::time::SystemTime;

/// `sensor_msgs/Image` without the header's frame id: what a transport hands over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosImage {
    /// The header stamp; `None` when the publisher left it zero.
    pub stamp: Option<SystemTime>,
    pub width: u32,
    pub height: u32,
    /// As published: "rgb8", "bgr8", "mono16", "bayer_rggb8"...
    pub encoding: String,
    pub is_bigendian: bool,
    /// Bytes per row, padding included.
    pub step: u32,
    pub data: Vec<u8>,
}

/// `sensor_msgs/CompressedImage`: `format` is e.g. "jpeg", "png" or "rgb8; jpeg compressed bgr8".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosCompressedImage {
    pub stamp: Option<SystemTime>,
    pub format: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RosMessage {
    Image(RosImage),
    Compressed(RosCompressedImage),
}

/// The two image message types; the topic's advertised type decides which one is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageType {
    Raw,
    Compressed,
}

impl ImageType {
    /// Recognises both spellings: `sensor_msgs/msg/Image` (ROS 2) and `sensor_msgs/Image` (ROS 1).
    pub fn from_type_name(name: &str) -> Option<Self> {
        match name {
            "sensor_msgs/msg/Image" | "sensor_msgs/Image" => Some(Self::Raw),
            "sensor_msgs/msg/CompressedImage" | "sensor_msgs/CompressedImage" => {
                Some(Self::Compressed)
            }
            _ => None,
        }
    }
}

/// A topic being published now with an image type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Absolute name, e.g. "/camera/image_raw".
    pub name: String,
    pub image_type: ImageType,
}

/// How a subscription asks for delivery (ROS 2 QoS; ROS 1 ignores it, TCPROS is reliable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reliability {
    /// Sensor-data QoS: best effort, keep last few. What camera drivers publish with.
    #[default]
    BestEffort,
    Reliable,
}

/// A running ROS transport: one per process, shared by every camera and on-demand topic.
pub trait RosNode: Send + Sync + 'static {
    /// "ros1" or "ros2", for logs and the API.
    fn kind(&self) -> &'static str;

    /// The image topics published right now (both message types), sorted by name.
    fn image_topics(&self) -> BoxFuture<'_, Result<Vec<TopicInfo>, Error>>;

    /// Subscribes to `topic`, whose type is looked up (`Unavailable` error while nobody
    /// publishes it yet; the supervisor retries). Messages arrive on the receiver; dropping it
    /// ends the subscription.
    fn subscribe<'a>(
        &'a self,
        topic: &'a str,
        reliability: Reliability,
    ) -> BoxFuture<'a, Result<tokio::sync::mpsc::Receiver<RosMessage>, Error>>;
}
