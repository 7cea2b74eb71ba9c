//! sensor_msgs/Image and sensor_msgs/CompressedImage as ROS 1 puts them on the wire: the
//! type names, md5sums and definitions a subscriber announces, and a bounds-checked reader
//! of message bytes into [`RosMessage`] values.
//!
//! Written by hand rather than generated: two messages of plain fields do not justify a
//! code generator, and the md5sums are the ROS 1 wire check of the definitions anyway (a
//! publisher refuses a subscriber whose md5sum differs, so the tests against rospy prove them).

use crate::ros::{ImageType, RosCompressedImage, RosImage, RosMessage};
use lookout_core::Error;
use std::time::{Duration, SystemTime};

/// What a subscriber announces in its TCPROS connection header for one message type.
#[derive(Debug, Clone, Copy)]
pub struct MessageType {
    pub name: &'static str,
    /// genmsg's md5 of the definition with its dependencies (rospy's `_md5sum`).
    pub md5sum: &'static str,
    /// The definition with its dependencies, as `gendeps --cat` prints it.
    pub definition: &'static str,
}

/// How `gendeps --cat` separates a message's dependencies from it.
macro_rules! with_header {
    ($msg:literal) => {
        concat!(
            include_str!($msg),
            "\n================================================================================\n",
            "MSG: std_msgs/Header\n",
            include_str!("../../../ros1_msgs/std_msgs/msg/Header.msg"),
        )
    };
}

pub const IMAGE: MessageType = MessageType {
    name: "sensor_msgs/Image",
    md5sum: "060021388200f6f0f447d0fcd9c64743",
    definition: with_header!("../../../ros1_msgs/sensor_msgs/msg/Image.msg"),
};

pub const COMPRESSED_IMAGE: MessageType = MessageType {
    name: "sensor_msgs/CompressedImage",
    md5sum: "8f7a12909da2c9d3332d540a0977563f",
    definition: with_header!("../../../ros1_msgs/sensor_msgs/msg/CompressedImage.msg"),
};

pub fn message_type(t: ImageType) -> MessageType {
    match t {
        ImageType::Raw => IMAGE,
        ImageType::Compressed => COMPRESSED_IMAGE,
    }
}

/// Reads one message body (without TCPROS's length prefix). Every length is checked against
/// what is left, and the body must be consumed exactly: a mismatch means a different type.
pub fn decode(t: ImageType, body: &[u8]) -> Result<RosMessage, Error> {
    let mut r = Reader { rest: body };
    let stamp = r.header()?;
    let msg = match t {
        ImageType::Raw => {
            let height = r.u32("height")?;
            let width = r.u32("width")?;
            let encoding = r.string("encoding")?;
            let is_bigendian = r.u8("is_bigendian")? != 0;
            let step = r.u32("step")?;
            let data = r.bytes("data")?.to_vec();
            RosMessage::Image(RosImage {
                stamp,
                width,
                height,
                encoding,
                is_bigendian,
                step,
                data,
            })
        }
        ImageType::Compressed => {
            let format = r.string("format")?;
            let data = r.bytes("data")?.to_vec();
            RosMessage::Compressed(RosCompressedImage {
                stamp,
                format,
                data,
            })
        }
    };
    if !r.rest.is_empty() {
        return Err(Error::corrupt(format!(
            "{} message has {} bytes after its last field",
            message_type(t).name,
            r.rest.len()
        )));
    }
    Ok(msg)
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], Error> {
        if n > self.rest.len() {
            return Err(Error::corrupt(format!(
                "message cut short in `{field}`: it needs {n} bytes, {} remain",
                self.rest.len()
            )));
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn u8(&mut self, field: &str) -> Result<u8, Error> {
        Ok(self.take(1, field)?[0])
    }

    fn u32(&mut self, field: &str) -> Result<u32, Error> {
        let b = self.take(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self, field: &str) -> Result<&'a [u8], Error> {
        let n = self.u32(field)? as usize;
        self.take(n, field)
    }

    fn string(&mut self, field: &str) -> Result<String, Error> {
        let b = self.bytes(field)?;
        String::from_utf8(b.to_vec()).map_err(|_| Error::corrupt(format!("`{field}` is not UTF-8")))
    }

    /// std_msgs/Header: seq, stamp (secs, nsecs), frame_id. Only the stamp is kept; a zero
    /// stamp means the publisher did not set one.
    fn header(&mut self) -> Result<Option<SystemTime>, Error> {
        let _seq = self.u32("header.seq")?;
        let secs = self.u32("header.stamp.secs")?;
        let nsecs = self.u32("header.stamp.nsecs")?;
        // The frame id names a coordinate frame; it may be any bytes, and nothing reads it.
        let _frame_id = self.bytes("header.frame_id")?;
        if secs == 0 && nsecs == 0 {
            return Ok(None);
        }
        // nsecs above 1e9 is not normalised by every publisher: Duration carries it over.
        let since_epoch =
            Duration::from_secs(u64::from(secs)) + Duration::from_nanos(u64::from(nsecs));
        Ok(SystemTime::UNIX_EPOCH.checked_add(since_epoch))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Serialises an Image as rospy does, for tests.
    pub(crate) fn image_bytes(img: &RosImage, seq: u32, secs: u32, nsecs: u32) -> Vec<u8> {
        let mut b = header_bytes(seq, secs, nsecs, "camera");
        b.extend_from_slice(&img.height.to_le_bytes());
        b.extend_from_slice(&img.width.to_le_bytes());
        put_bytes(&mut b, img.encoding.as_bytes());
        b.push(u8::from(img.is_bigendian));
        b.extend_from_slice(&img.step.to_le_bytes());
        put_bytes(&mut b, &img.data);
        b
    }

    fn header_bytes(seq: u32, secs: u32, nsecs: u32, frame: &str) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&seq.to_le_bytes());
        b.extend_from_slice(&secs.to_le_bytes());
        b.extend_from_slice(&nsecs.to_le_bytes());
        put_bytes(&mut b, frame.as_bytes());
        b
    }

    fn put_bytes(b: &mut Vec<u8>, data: &[u8]) {
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
    }

    fn sample() -> RosImage {
        RosImage {
            stamp: Some(SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 5)),
            width: 2,
            height: 1,
            encoding: "rgb8".into(),
            is_bigendian: false,
            step: 6,
            data: vec![1, 2, 3, 4, 5, 6],
        }
    }

    #[test]
    fn an_image_reads_back_with_its_stamp() {
        let img = sample();
        let bytes = image_bytes(&img, 7, 1_700_000_000, 5);
        assert_eq!(
            decode(ImageType::Raw, &bytes).unwrap(),
            RosMessage::Image(img)
        );
    }

    #[test]
    fn a_zero_stamp_is_none_and_unnormalised_nanoseconds_carry() {
        let bytes = image_bytes(&sample(), 0, 0, 0);
        let RosMessage::Image(img) = decode(ImageType::Raw, &bytes).unwrap() else {
            panic!("not an image")
        };
        assert_eq!(img.stamp, None);
        let bytes = image_bytes(&sample(), 0, 1, 1_500_000_000);
        let RosMessage::Image(img) = decode(ImageType::Raw, &bytes).unwrap() else {
            panic!("not an image")
        };
        assert_eq!(
            img.stamp,
            Some(SystemTime::UNIX_EPOCH + Duration::from_millis(2500))
        );
    }

    #[test]
    fn a_compressed_image_reads_back() {
        let mut b = header_bytes(1, 2, 3, "");
        put_bytes(&mut b, b"jpeg");
        put_bytes(&mut b, &[0xff, 0xd8, 0xff, 0xd9]);
        assert_eq!(
            decode(ImageType::Compressed, &b).unwrap(),
            RosMessage::Compressed(RosCompressedImage {
                stamp: Some(SystemTime::UNIX_EPOCH + Duration::new(2, 3)),
                format: "jpeg".into(),
                data: vec![0xff, 0xd8, 0xff, 0xd9],
            })
        );
    }

    #[test]
    fn every_truncation_and_any_trailing_byte_is_an_error() {
        let bytes = image_bytes(&sample(), 7, 1, 2);
        for end in 0..bytes.len() {
            assert!(decode(ImageType::Raw, &bytes[..end]).is_err(), "{end}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(ImageType::Raw, &longer).is_err());
        // The same bytes read as the other type do not fit either.
        assert!(decode(ImageType::Compressed, &bytes).is_err());
    }

    #[test]
    fn huge_lengths_and_bad_text_are_errors() {
        let mut b = header_bytes(0, 0, 0, "");
        b.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]);
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(ImageType::Raw, &b).is_err());
        let mut b = header_bytes(0, 0, 0, "");
        put_bytes(&mut b, &[0xff, 0xfe]);
        put_bytes(&mut b, &[]);
        assert!(decode(ImageType::Compressed, &b).is_err());
    }

    #[test]
    fn definitions_hold_the_messages_and_their_header() {
        assert!(
            IMAGE
                .definition
                .starts_with("# This message contains an uncompressed image")
        );
        assert!(IMAGE.definition.contains("uint8[] data"));
        assert!(IMAGE.definition.contains("\nMSG: std_msgs/Header\n"));
        assert!(COMPRESSED_IMAGE.definition.contains("string format"));
        assert!(COMPRESSED_IMAGE.definition.ends_with("string frame_id\n"));
    }
}
