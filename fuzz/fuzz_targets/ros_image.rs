//! ROS image messages to pictures (`lookout_sources::ros::image::convert`), the step every
//! ROS 1 and ROS 2 message goes through: raw `sensor_msgs/Image` in every encoding we read
//! (8-bit colour, mono, 16-bit, depth, packed YUV, Bayer) and `CompressedImage` (JPEG passed
//! through, PNG decoded).
//!
//! The input is a message's fields, so that mutations hit sizes and steps as well as pixels:
//! - raw: encoding (1 byte, an index in `ENCODINGS`; past its end an unknown name), width and
//!   height (u16 LE), step (u32 LE), is_bigendian (1 byte), then the data;
//! - compressed: 0xFF, format (1 byte, an index in `FORMATS`, past its end an unknown one),
//!   then the data.
//!
//! Checks: no panic; a picture holds exactly its width x height pixels and, from a raw image,
//! never more than 3 bytes for each byte of data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_sources::ros::image::{Converted, convert};
use lookout_sources::ros::{RosCompressedImage, RosImage, RosMessage};

const ENCODINGS: &[&str] = &[
    "rgb8",
    "bgr8",
    "rgba8",
    "bgra8",
    "mono8",
    "mono16",
    "16UC1",
    "32FC1",
    "8UC1",
    "8UC3",
    "yuv422",
    "uyvy",
    "yuyv",
    "yuv422_yuy2",
    "bayer_rggb8",
    "bayer_bggr8",
    "bayer_gbrg8",
    "bayer_grbg8",
    "BGR8",
    "Mono16",
];

const FORMATS: &[&str] = &[
    "jpeg",
    "png",
    "rgb8; jpeg compressed bgr8",
    "mono8; png compressed",
    "16UC1; png compressed",
    "mono16; png compressed",
    "16UC1; compressedDepth png",
    "",
];

const COMPRESSED: u8 = 0xFF;

fn message(data: &[u8]) -> Option<RosMessage> {
    let (&first, rest) = data.split_first()?;
    if first == COMPRESSED {
        let (&format, data) = rest.split_first()?;
        return Some(RosMessage::Compressed(RosCompressedImage {
            stamp: None,
            format: FORMATS
                .get(usize::from(format))
                .map_or("tiff", |f| f)
                .to_owned(),
            data: data.to_vec(),
        }));
    }
    let (head, data) = rest.split_first_chunk::<9>()?;
    Some(RosMessage::Image(RosImage {
        stamp: None,
        encoding: ENCODINGS
            .get(usize::from(first))
            .map_or("rgb16", |e| e)
            .to_owned(),
        width: u32::from(u16::from_le_bytes([head[0], head[1]])),
        height: u32::from(u16::from_le_bytes([head[2], head[3]])),
        step: u32::from_le_bytes([head[4], head[5], head[6], head[7]]),
        is_bigendian: head[8] != 0,
        data: data.to_vec(),
    }))
}

fuzz_target!(|data: &[u8]| {
    let Some(msg) = message(data) else {
        return;
    };
    let raw_bytes = match &msg {
        RosMessage::Image(img) => Some(img.data.len()),
        RosMessage::Compressed(_) => None,
    };
    if let Ok(Converted::Rgb(img)) = convert(msg) {
        assert_eq!(img.data.len(), img.width as usize * img.height as usize * 3);
        if let Some(n) = raw_bytes {
            assert!(
                img.data.len() <= 3 * n,
                "{} bytes of RGB from {n} bytes",
                img.data.len()
            );
        }
    }
});
