//! TCPROS, the ROS 1 topic transport (<https://wiki.ros.org/ROS/TCPROS>): a connection header
//! of `key=value` fields each way, then length-prefixed messages. Encoding and decoding are
//! pure; the readers bound every length before allocating.

use lookout_core::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

/// A connection header holds a few short fields and the message definition (about 3 KB for
/// sensor_msgs/Image); anything near this is not a ROS peer.
pub const MAX_HEADER_BYTES: usize = 1 << 20;

/// An 8K (7680x4320) rgba8 image is 133 MB; nothing larger is a camera picture, and a
/// length beyond this is a broken or hostile peer, not a reason to allocate gigabytes.
pub const MAX_MESSAGE_BYTES: usize = 256 << 20;

/// Encodes header fields as TCPROS wants them: a total length, then each field with its own.
pub fn encode_header(fields: &[(&str, &str)]) -> Vec<u8> {
    let body_len: usize = fields.iter().map(|(k, v)| 4 + k.len() + 1 + v.len()).sum();
    let mut out = Vec::with_capacity(4 + body_len);
    out.extend_from_slice(&len_u32(body_len).to_le_bytes());
    for (k, v) in fields {
        out.extend_from_slice(&len_u32(k.len() + 1 + v.len()).to_le_bytes());
        out.extend_from_slice(k.as_bytes());
        out.push(b'=');
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// Our own fields are short strings: saturating is only a guard against the impossible.
fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Decodes a header's body (after its total length) into its fields, in order.
pub fn decode_header(body: &[u8]) -> Result<Vec<(String, String)>, Error> {
    let mut fields = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let Some((len, after)) = split_u32(rest) else {
            return Err(Error::corrupt("a TCPROS header field is cut short"));
        };
        let len = len as usize;
        if len > after.len() {
            return Err(Error::corrupt(format!(
                "a TCPROS header field claims {len} bytes, {} remain",
                after.len()
            )));
        }
        let (field, after) = after.split_at(len);
        let field = String::from_utf8_lossy(field);
        let Some((k, v)) = field.split_once('=') else {
            return Err(Error::corrupt(format!(
                "a TCPROS header field without '=': {:?}",
                field.chars().take(40).collect::<String>()
            )));
        };
        fields.push((k.to_owned(), v.to_owned()));
        rest = after;
    }
    Ok(fields)
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn split_u32(b: &[u8]) -> Option<(u32, &[u8])> {
    let (head, rest) = b.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*head), rest))
}

/// Reads one length-prefixed block (a header or a message) of at most `max` bytes. The
/// buffer grows as bytes arrive, so a peer announcing a large block and sending nothing
/// costs nothing.
pub async fn read_block<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
    what: &str,
) -> Result<Vec<u8>, std::io::Error> {
    let len = r.read_u32_le().await? as usize;
    if len > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the publisher announced a {len}-byte {what}, more than the {max} accepted"),
        ));
    }
    let mut buf = Vec::with_capacity(len.min(1 << 20));
    let n = r.take(len as u64).read_to_end(&mut buf).await?;
    if n != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("the publisher closed the connection {n} bytes into a {len}-byte {what}"),
        ));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_round_trips_and_splits_at_the_first_equals() {
        let bytes = encode_header(&[("topic", "/a"), ("message_definition", "int8 X=1\n")]);
        assert_eq!(&bytes[..4], &(bytes.len() as u32 - 4).to_le_bytes());
        let fields = decode_header(&bytes[4..]).unwrap();
        assert_eq!(field(&fields, "topic"), Some("/a"));
        assert_eq!(field(&fields, "message_definition"), Some("int8 X=1\n"));
        assert_eq!(field(&fields, "md5sum"), None);
    }

    #[test]
    fn broken_headers_are_errors() {
        for body in [
            &[1u8, 0, 0][..],
            &[9, 0, 0, 0, b'a', b'=', b'b'][..],
            &[3, 0, 0, 0, b'a', b'b', b'c'][..],
            &[0xff, 0xff, 0xff, 0xff][..],
        ] {
            assert!(decode_header(body).is_err(), "{body:?}");
        }
        assert_eq!(decode_header(&[]).unwrap(), vec![]);
    }

    #[tokio::test]
    async fn blocks_are_bounded_and_must_be_complete() {
        let mut ok: &[u8] = &[3, 0, 0, 0, 1, 2, 3, 9];
        assert_eq!(read_block(&mut ok, 3, "message").await.unwrap(), [1, 2, 3]);
        let mut big: &[u8] = &[4, 0, 0, 0, 1, 2, 3, 4];
        let e = read_block(&mut big, 3, "message").await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        let mut short: &[u8] = &[0, 0, 0, 16, 1, 2];
        let e = read_block(&mut short, MAX_MESSAGE_BYTES, "message")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
