//! A live fragmented-MP4 stream (ISO/IEC 14496-12), as Lookout's `stream.mp4` sends it: read
//! box by box (`ftyp`, `moov`, then a `moof` + `mdat` per fragment), with the `moof`'s decode
//! time, so a benchmark can count frames and time them without decoding any picture.

use crate::body::Body;
use crate::conn::Conn;
use crate::headers::{self, invalid};
use crate::{head, request};
use bytes::Bytes;
use std::io;
use std::net::SocketAddr;
use std::time::SystemTime;
use tokio::io::AsyncRead;
use tokio::net::TcpStream;

/// Largest box we accept: a 4K key frame at a high bitrate is a few MB.
const MAX_BOX: u64 = 64 * 1024 * 1024;

/// One top-level box: its type and its payload (the bytes after the size and type).
#[derive(Debug, Clone)]
pub struct Mp4Box {
    pub kind: [u8; 4],
    pub payload: Bytes,
    /// Wall-clock time at which its last byte arrived.
    pub received_at: SystemTime,
}

impl Mp4Box {
    /// For a `moof`: its `traf`'s `tfdt` base media decode time (§8.8.12), in the track's
    /// timescale (90 kHz for Lookout). `None` for other boxes or a `moof` without one.
    pub fn decode_time(&self) -> Option<u64> {
        if &self.kind != b"moof" {
            return None;
        }
        let traf = child(&self.payload, b"traf")?;
        let tfdt = child(traf, b"tfdt")?;
        let (&version, rest) = tfdt.split_first()?;
        let time = rest.get(3..)?; // after the 24-bit flags
        match version {
            1 => Some(u64::from_be_bytes(time.get(..8)?.try_into().ok()?)),
            0 => Some(u64::from(u32::from_be_bytes(
                time.get(..4)?.try_into().ok()?,
            ))),
            _ => None,
        }
    }
}

/// The payload of the first box called `kind` among the boxes laid end to end in `data`.
fn child<'a>(mut data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    while data.len() >= 8 {
        let size = u32::from_be_bytes(data[..4].try_into().ok()?) as usize;
        if size < 8 || size > data.len() {
            return None;
        }
        if &data[4..8] == kind {
            return Some(&data[8..size]);
        }
        data = &data[size..];
    }
    None
}

/// An open `stream.mp4` response.
pub struct Mp4Stream<S = TcpStream> {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body<S>,
}

/// Opens `GET path_and_query` on a new connection to `addr` and reads the response head.
pub async fn open_mp4_stream(
    addr: SocketAddr,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> io::Result<Mp4Stream> {
    let mut io = request::connect(addr).await?;
    request::send_get(&mut io, &addr.to_string(), path_and_query, headers).await?;
    Mp4Stream::read_response(io).await
}

impl<S: AsyncRead + Unpin> Mp4Stream<S> {
    pub(crate) async fn read_response(io: S) -> io::Result<Self> {
        let mut conn = Conn::new(io);
        let head = head::read(&mut conn).await?;
        let body = Body::new(conn, head.framing()?);
        Ok(Self {
            status: head.status,
            headers: head.headers,
            body,
        })
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first response header field called `name`, ASCII case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        headers::find(&self.headers, name)
    }

    /// The next top-level box; `Ok(None)` when the body ends between boxes.
    /// Errors: `InvalidData` for a box size below its header, above 64 MiB, or 0 ("to the end
    /// of the file", which a live stream never sends); `UnexpectedEof` inside a box.
    pub async fn next_box(&mut self) -> io::Result<Option<Mp4Box>> {
        if self.body.fill(1).await? == 0 {
            return Ok(None);
        }
        let header = self.body.read_exact(8).await?;
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = [header[4], header[5], header[6], header[7]];
        let (size, header_len) = match size32 {
            1 => {
                let large = self.body.read_exact(8).await?;
                let mut be = [0u8; 8];
                be.copy_from_slice(&large);
                (u64::from_be_bytes(be), 16)
            }
            n => (u64::from(n), 8),
        };
        if size < header_len || size > MAX_BOX {
            return Err(invalid(format!(
                "box {:?} has size {size}: not between {header_len} and {MAX_BOX}",
                String::from_utf8_lossy(&kind)
            )));
        }
        // At most 64 MiB, so it fits a usize.
        let payload = self.body.read_exact((size - header_len) as usize).await?;
        Ok(Some(Mp4Box {
            kind,
            payload,
            received_at: SystemTime::now(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_io::Pieces;

    fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    fn moof(decode_time: u64) -> Vec<u8> {
        let mut tfdt = vec![1, 0, 0, 0];
        tfdt.extend_from_slice(&decode_time.to_be_bytes());
        let mut traf = boxed(b"tfhd", &[0; 8]);
        traf.extend(boxed(b"tfdt", &tfdt));
        let mut moof = boxed(b"mfhd", &[0; 8]);
        moof.extend(boxed(b"traf", &traf));
        boxed(b"moof", &moof)
    }

    #[tokio::test]
    async fn reads_boxes_across_chunks_with_their_decode_time() {
        let mut body = boxed(b"ftyp", b"isom");
        body.extend(moof(6000));
        body.extend(boxed(b"mdat", &[7; 100]));
        // Chunked in pieces that cut box headers in two.
        let mut wire =
            b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec();
        for piece in body.chunks(13) {
            wire.extend(format!("{:x}\r\n", piece.len()).into_bytes());
            wire.extend_from_slice(piece);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let cuts: Vec<usize> = (7..wire.len()).step_by(11).collect();
        let mut s = Mp4Stream::read_response(Pieces::split(&wire, &cuts))
            .await
            .unwrap();
        assert_eq!(s.status(), 200);
        assert_eq!(s.header("content-type"), Some("video/mp4"));
        let ftyp = s.next_box().await.unwrap().unwrap();
        assert_eq!((&ftyp.kind, ftyp.decode_time()), (b"ftyp", None));
        let m = s.next_box().await.unwrap().unwrap();
        assert_eq!(m.decode_time(), Some(6000));
        let mdat = s.next_box().await.unwrap().unwrap();
        assert_eq!((&mdat.kind, mdat.payload.len()), (b"mdat", 100));
        assert!(s.next_box().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn refuses_a_box_smaller_than_its_header() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n\0\0\0\x04moof".to_vec();
        let mut s = Mp4Stream::read_response(Pieces::split(&wire, &[]))
            .await
            .unwrap();
        let e = s.next_box().await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
