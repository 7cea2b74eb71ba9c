//! ROS 2 image samples off DDS: the CDR bytes of `sensor_msgs/msg/Image` and
//! `CompressedImage` read into `lookout_sources::ros::ros2::msg` with the deserializer
//! ros2-client's readers use, then converted to pictures (`ros::image::convert`) as the
//! subscription does.
//!
//! The first byte picks the type (even: Image, odd: CompressedImage) and the byte order the
//! reader would have taken from the sample's representation identifier; the rest is the
//! sample's data. Checks: no panic; what reads writes back as the same bytes' value; a
//! converted picture holds exactly its width x height pixels.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_sources::ros::image::{Converted, convert};
use lookout_sources::ros::ros2::msg::{CompressedImage, Image};
use lookout_sources::ros::{RosCompressedImage, RosImage, RosMessage};
use ros2_client::dds::rustdds::no_key::{DeserializerAdapter, SerializerAdapter};
use ros2_client::dds::rustdds::{
    CDRDeserializerAdapter, CDRSerializerAdapter, RepresentationIdentifier,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Reads a sample; what reads must write and read back to the same value.
fn read<M>(bytes: &[u8], order: RepresentationIdentifier) -> Option<M>
where
    M: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let m: M = CDRDeserializerAdapter::from_bytes(bytes, order).ok()?;
    if order == RepresentationIdentifier::CDR_LE {
        let again = CDRSerializerAdapter::<M>::to_bytes(&m).expect("a sample that read writes");
        let back: M =
            CDRDeserializerAdapter::from_bytes(&again, order).expect("written sample reads");
        assert_eq!(back, m);
    }
    Some(m)
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, sample)) = data.split_first() else {
        return;
    };
    let order = if kind & 2 == 0 {
        RepresentationIdentifier::CDR_LE
    } else {
        RepresentationIdentifier::CDR_BE
    };
    let msg = if kind & 1 == 0 {
        let Some(m) = read::<Image>(sample, order) else {
            return;
        };
        RosMessage::Image(RosImage::from(m))
    } else {
        let Some(m) = read::<CompressedImage>(sample, order) else {
            return;
        };
        RosMessage::Compressed(RosCompressedImage::from(m))
    };
    if let Ok(Converted::Rgb(img)) = convert(msg) {
        assert_eq!(img.data.len(), img.width as usize * img.height as usize * 3);
    }
});
