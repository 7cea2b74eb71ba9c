//! The two image messages as they travel over DDS (CDR, field order of the `.msg` files), and
//! their conversion to the transport-neutral [`RosImage`] / [`RosCompressedImage`].
//!
//! Public so that tests and benchmarks can publish with the same definitions. `data` goes
//! through `serde_bytes`: as a plain `Vec<u8>` serde reads one element at a time, which took
//! 7.7 s for ten 720p frames in a debug build against 1.2 s this way.

use crate::ros::{RosCompressedImage, RosImage};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `builtin_interfaces/msg/Time`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Time {
    pub sec: i32,
    pub nanosec: u32,
}

impl Time {
    /// `None` for a zero stamp (the publisher did not set it) or one that does not fit.
    pub fn to_system_time(self) -> Option<SystemTime> {
        if self.sec == 0 && self.nanosec == 0 {
            return None;
        }
        let whole = Duration::from_secs(u64::from(self.sec.unsigned_abs()));
        let at = if self.sec >= 0 {
            UNIX_EPOCH.checked_add(whole)?
        } else {
            UNIX_EPOCH.checked_sub(whole)?
        };
        at.checked_add(Duration::from_nanos(u64::from(self.nanosec)))
    }

    /// The stamp a publisher writes for `t` (tests and benchmarks); `None` outside ROS's range.
    pub fn from_system_time(t: SystemTime) -> Option<Self> {
        let since = t.duration_since(UNIX_EPOCH).ok()?;
        Some(Self {
            sec: i32::try_from(since.as_secs()).ok()?,
            nanosec: since.subsec_nanos(),
        })
    }
}

/// `std_msgs/msg/Header`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub stamp: Time,
    pub frame_id: String,
}

/// `sensor_msgs/msg/Image`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub header: Header,
    pub height: u32,
    pub width: u32,
    pub encoding: String,
    /// A CDR boolean is one byte; read as a number so a stray value other than 0 or 1 is
    /// not a decoding error.
    pub is_bigendian: u8,
    pub step: u32,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// `sensor_msgs/msg/CompressedImage`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompressedImage {
    pub header: Header,
    pub format: String,
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

impl ros2_client::Message for Image {}
impl ros2_client::Message for CompressedImage {}

impl From<Image> for RosImage {
    fn from(m: Image) -> Self {
        Self {
            stamp: m.header.stamp.to_system_time(),
            width: m.width,
            height: m.height,
            encoding: m.encoding,
            is_bigendian: m.is_bigendian != 0,
            step: m.step,
            data: m.data,
        }
    }
}

impl From<CompressedImage> for RosCompressedImage {
    fn from(m: CompressedImage) -> Self {
        Self {
            stamp: m.header.stamp.to_system_time(),
            format: m.format,
            data: m.data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ros2_client::dds::rustdds::no_key::{DeserializerAdapter, SerializerAdapter};
    use ros2_client::dds::rustdds::{
        CDRDeserializerAdapter, CDRSerializerAdapter, RepresentationIdentifier,
    };

    fn sample() -> Image {
        Image {
            header: Header {
                stamp: Time { sec: 5, nanosec: 6 },
                frame_id: "cam".into(),
            },
            height: 2,
            width: 3,
            encoding: "rgb8".into(),
            is_bigendian: 0,
            step: 9,
            data: (0..18).collect(),
        }
    }

    #[test]
    fn image_survives_a_cdr_round_trip() {
        let bytes = CDRSerializerAdapter::<Image>::to_bytes(&sample()).expect("serialize");
        let back: Image =
            CDRDeserializerAdapter::from_bytes(&bytes, RepresentationIdentifier::CDR_LE)
                .expect("deserialize");
        assert_eq!(back, sample());
    }

    #[test]
    fn truncated_or_lying_samples_are_errors_not_panics() {
        let bytes = CDRSerializerAdapter::<Image>::to_bytes(&sample()).expect("serialize");
        for len in 0..bytes.len() {
            let r: Result<Image, _> =
                CDRDeserializerAdapter::from_bytes(&bytes[..len], RepresentationIdentifier::CDR_LE);
            assert!(r.is_err(), "{len} of {} bytes decoded", bytes.len());
        }
        // A data length far beyond the sample: refused without allocating it.
        let mut lying = bytes.to_vec();
        let at = lying.len() - 18 - 4;
        lying[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let r: Result<Image, _> =
            CDRDeserializerAdapter::from_bytes(&lying, RepresentationIdentifier::CDR_LE);
        assert!(r.is_err());
    }

    #[test]
    fn zero_stamp_means_unset() {
        assert_eq!(Time::default().to_system_time(), None);
    }

    #[test]
    fn stamp_converts_both_ways() {
        let t = Time {
            sec: 1_700_000_000,
            nanosec: 250_000_000,
        };
        let st = t.to_system_time();
        assert_eq!(
            st,
            Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_250))
        );
        assert_eq!(st.and_then(Time::from_system_time), Some(t));
    }

    #[test]
    fn stamp_before_1970_and_huge_nanos_do_not_panic() {
        let before = Time {
            sec: -10,
            nanosec: 0,
        };
        assert_eq!(
            before.to_system_time(),
            UNIX_EPOCH.checked_sub(Duration::from_secs(10))
        );
        let odd = Time {
            sec: i32::MIN,
            nanosec: u32::MAX,
        };
        let _ = odd.to_system_time();
    }

    #[test]
    fn image_fields_carry_over() {
        let m = Image {
            header: Header {
                stamp: Time { sec: 5, nanosec: 6 },
                frame_id: "cam".into(),
            },
            height: 2,
            width: 3,
            encoding: "rgb8".into(),
            is_bigendian: 7,
            step: 9,
            data: vec![1; 18],
        };
        let r = RosImage::from(m);
        assert_eq!((r.width, r.height, r.step), (3, 2, 9));
        assert!(r.is_bigendian);
        assert_eq!(r.encoding, "rgb8");
        assert_eq!(r.data, vec![1; 18]);
        assert_eq!(
            r.stamp,
            Some(UNIX_EPOCH + Duration::from_secs(5) + Duration::from_nanos(6))
        );
    }
}
