//! Splits a byte stream carrying JPEGs back to back (a command's MJPEG output, a multipart
//! HTTP body) into frames, without caring about multipart boundaries: part headers are skipped
//! as bytes between one JPEG's EOI and the next SOI, which copes with the many cameras whose
//! boundaries do not match what they announce.

use bytes::{Bytes, BytesMut};
use lookout_core::jpeg::{JpegScanner, Scan};

/// A frame found in the stream, its size read from its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitFrame {
    pub jpeg: Bytes,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug)]
pub struct JpegSplitter {
    buf: BytesMut,
    scanner: Option<JpegScanner>,
    max_frame_bytes: usize,
}

/// Start of a JPEG: SOI followed by the first marker's FF.
const SOI: [u8; 3] = [0xFF, 0xD8, 0xFF];

impl JpegSplitter {
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(256 * 1024),
            scanner: None,
            max_frame_bytes,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The buffer to read into directly, avoiding a copy through [`push`](Self::push).
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// The next complete frame, an error for a damaged one (skipped), or `None` until more
    /// bytes arrive.
    pub fn next_frame(&mut self) -> Option<Result<SplitFrame, &'static str>> {
        if self.scanner.is_none() {
            match self.buf.windows(3).position(|w| w == SOI) {
                Some(start) => {
                    let _ = self.buf.split_to(start);
                    self.scanner = Some(JpegScanner::new());
                }
                None => {
                    // Keep a possible partial SOI at the end.
                    let keep = self.buf.len().min(2);
                    let _ = self.buf.split_to(self.buf.len() - keep);
                    return None;
                }
            }
        }
        let scanner = self.scanner.as_mut()?;
        match scanner.scan(&self.buf) {
            Scan::Complete(len) => {
                let (width, height) = scanner.size().unwrap_or((0, 0));
                self.scanner = None;
                let jpeg = self.buf.split_to(len).freeze();
                Some(Ok(SplitFrame {
                    jpeg,
                    width,
                    height,
                }))
            }
            Scan::Incomplete if self.buf.len() > self.max_frame_bytes => {
                self.resync();
                Some(Err("frame larger than the limit (max_frame_bytes)"))
            }
            Scan::Incomplete => None,
            Scan::Invalid(why) => {
                self.resync();
                Some(Err(why))
            }
        }
    }

    /// Skips the SOI of a bad frame and looks for the next one.
    fn resync(&mut self) {
        self.scanner = None;
        let _ = self.buf.split_to(2.min(self.buf.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::{RgbImage, jpeg};

    fn jpeg_of(w: u32, h: u32) -> Vec<u8> {
        jpeg::encode_rgb(&RgbImage::new(w, h), 80).unwrap()
    }

    #[test]
    fn finds_frames_between_multipart_headers_at_any_chunking() {
        let (a, b) = (jpeg_of(16, 8), jpeg_of(8, 16));
        let mut stream = b"--x\r\nContent-Type: image/jpeg\r\n\r\n".to_vec();
        stream.extend_from_slice(&a);
        stream.extend_from_slice(b"\r\n--x\r\nContent-Type: image/jpeg\r\n\r\n");
        stream.extend_from_slice(&b);
        for chunk in [1, 2, 3, 7, 100, 4096] {
            let mut s = JpegSplitter::new(1 << 20);
            let mut got = Vec::new();
            for c in stream.chunks(chunk) {
                s.push(c);
                while let Some(f) = s.next_frame() {
                    got.push(f.unwrap());
                }
            }
            assert_eq!(got.len(), 2, "chunk {chunk}");
            assert_eq!((got[0].jpeg.as_ref(), got[0].width), (a.as_slice(), 16));
            assert_eq!((got[1].jpeg.as_ref(), got[1].height), (b.as_slice(), 16));
        }
    }

    #[test]
    fn damaged_frame_is_reported_and_the_next_one_found() {
        let good = jpeg_of(8, 8);
        let mut stream = vec![0xFF, 0xD8, 0xFF, 0x00, 0x12];
        stream.extend_from_slice(&good);
        let mut s = JpegSplitter::new(1 << 20);
        s.push(&stream);
        assert!(s.next_frame().unwrap().is_err());
        assert_eq!(
            s.next_frame().unwrap().unwrap().jpeg.as_ref(),
            good.as_slice()
        );
        assert!(s.next_frame().is_none());
    }

    #[test]
    fn oversized_frame_is_refused_not_buffered_forever() {
        let mut s = JpegSplitter::new(1000);
        s.push(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]);
        s.push(&vec![0u8; 2000]);
        assert!(s.next_frame().unwrap().is_err());
        assert!(s.next_frame().is_none());
        assert!(s.buf.len() <= 2);
    }
}
