//! ROS 1 TCPROS from a publisher's socket (`lookout_sources::ros::ros1`): its connection
//! header (`tcpros::decode_header`) and its messages (`msg::decode` for sensor_msgs/Image
//! and CompressedImage), then the picture conversion every message goes through
//! (`ros::image::convert`).
//!
//! The first byte picks what the rest is: 0 a header body, 1 an Image body, 2 a
//! CompressedImage body (the seeds are real rospy bytes of each). Checks: no panic; a
//! decoded header of UTF-8 fields encodes back to the same bytes; a converted picture holds
//! exactly its width x height pixels.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lookout_sources::ros::ImageType;
use lookout_sources::ros::image::{Converted, convert};
use lookout_sources::ros::ros1::{msg, tcpros};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 3 {
        0 => {
            if let Ok(fields) = tcpros::decode_header(body) {
                // Fields that were valid UTF-8 (no U+FFFD put in) encode back as they came.
                let lossless = fields
                    .iter()
                    .all(|(k, v)| !k.contains('\u{FFFD}') && !v.contains('\u{FFFD}'));
                if lossless {
                    let pairs: Vec<(&str, &str)> = fields
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let again = tcpros::encode_header(&pairs);
                    assert_eq!(&again[4..], body);
                }
            }
        }
        k => {
            let t = if k == 1 {
                ImageType::Raw
            } else {
                ImageType::Compressed
            };
            if let Ok(message) = msg::decode(t, body) {
                match convert(message) {
                    Ok(Converted::Rgb(img)) => {
                        assert_eq!(img.data.len(), img.width as usize * img.height as usize * 3);
                    }
                    Ok(Converted::Jpeg(_)) | Err(_) => {}
                }
            }
        }
    }
});
