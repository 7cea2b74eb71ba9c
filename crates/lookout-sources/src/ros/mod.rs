//! ROS image topics as a source: the messages as plain values ([`RosImage`],
//! [`RosCompressedImage`]), their conversion to frames ([`image`]), the [`RosNode`] contract a
//! transport fulfils (ROS 2 over DDS with feature `ros2`, ROS 1 over TCPROS with feature
//! `ros1`) and the [`RosTopicSource`] that turns a subscription into a camera.
//!
//! One node per transport serves every configured camera and every on-demand topic
//! (web_video_server's `/stream?topic=`); a subscription lives as long as its receiver.

pub mod image;
pub mod messages;
#[cfg(feature = "ros1")]
pub mod ros1;
#[cfg(feature = "ros2")]
pub mod ros2;
pub mod source;

pub use messages::{
    ImageType, Reliability, RosCompressedImage, RosImage, RosMessage, RosNode, TopicInfo,
};
pub use source::RosTopicSource;
