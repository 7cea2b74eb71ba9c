//! The bytes of an MJPEG stream: the multipart delimiters and each frame's part, made once per
//! frame and output and shared by every viewer of it, whichever path writes them (a viewer's
//! own body in [`super::stream`], or its output's writer in [`super::stream_writer`]).
//!
//! Each part's delimiter goes out right after its JPEG, not with the next frame. Chromium
//! draws a part only once the *next* part's header lines have arrived (crbug.com/527446), so
//! browsers (requests with `Sec-Fetch-Dest`, or `?advance_headers=1`) also get those lines at
//! once, as µStreamer's `advance_headers` does: `JPEG, "\r\n--boundary\r\nContent-Type:
//! image/jpeg\r\n\r\n"`. The next frame's `Content-Length` and `X-Timestamp` are not known
//! then, so those parts carry neither. Programs (ffmpeg, VLC, mjpg-streamer clients, the
//! bench), which read `Content-Length`, get `head, JPEG, "\r\n--boundary\r\n"`, the head
//! holding all the part's header lines.

use super::unix_time::unix_timestamp;
use bytes::{Bytes, BytesMut};
use lookout_core::{CameraHub, ErrorKind, Frame, FrameKind, VariantRequest};
use std::sync::Arc;

/// What opens the body: the first part's delimiter (RFC 2046 §5.1.1 lets the body start with
/// it, without the CRLF that belongs to every later one).
const FIRST_DELIMITER: &[u8] = b"--boundarydonotcross\r\n";

/// What follows each JPEG: the CRLF and `--boundary` that end its part and open the next.
const DELIMITER: &[u8] = b"\r\n--boundarydonotcross\r\n";

/// For browsers, the first delimiter with the first part's header lines.
const FIRST_DELIMITER_ADVANCE: &[u8] = b"--boundarydonotcross\r\nContent-Type: image/jpeg\r\n\r\n";

/// For browsers, what follows each JPEG: the delimiter and the next part's header lines.
const DELIMITER_ADVANCE: &[u8] = b"\r\n--boundarydonotcross\r\nContent-Type: image/jpeg\r\n\r\n";

/// What a viewer is sent of a frame.
pub enum Part {
    Bytes(Bytes),
    /// Nothing: the frame cannot be scaled (the next may be fine).
    Skip,
    /// The stream ends: the camera cannot serve this output.
    End,
}

/// The part for `frame` in the `variant` asked for, made once per frame and output: every
/// viewer of that output but the first finds it made.
pub async fn part_for(
    frame: &Arc<Frame>,
    hub: &CameraHub,
    variant: &VariantRequest,
    advance_headers: bool,
) -> Part {
    let encoder = hub.variant_encoder();
    let format = if advance_headers {
        "mjpeg part, advance headers"
    } else {
        "mjpeg part"
    };
    // Every viewer but the first of a frame finds its part made: it takes neither the JPEG
    // (a shared reference count) nor a lock, cache lines that viewers on both runtime
    // threads would pass back and forth.
    if let Some(part) = frame.package(format, variant, encoder) {
        return Part::Bytes(part);
    }
    let jpeg = match frame.jpeg_for(variant, encoder).await {
        Ok(j) => j,
        Err(e) if e.kind() == ErrorKind::Unavailable => {
            tracing::warn!(camera = hub.id(), "ending a stream: {e}");
            return Part::End;
        }
        Err(e) => {
            // A frame that cannot be decoded for scaling: skip it, the next may be fine.
            // (The source already counted frames that were not valid JPEG.)
            tracing::debug!(camera = hub.id(), "skipping a frame for a viewer: {e}");
            return Part::Skip;
        }
    };
    // One body chunk per frame: the part's head, its JPEG and the delimiter after it, put
    // together once per frame and variant and shared by every viewer of that output (one
    // copy of the JPEG per frame, none per viewer). Three chunks cost each viewer three
    // trips through the body stream and hyper's chunked encoder, and nine iovecs a writev.
    Part::Bytes(frame.packaged(format, variant, encoder, || {
        part_of(frame, &jpeg, advance_headers)
    }))
}

/// What opens the body.
pub fn first_delimiter(advance_headers: bool) -> &'static [u8] {
    if advance_headers {
        FIRST_DELIMITER_ADVANCE
    } else {
        FIRST_DELIMITER
    }
}

/// A multipart part for `jpeg` of `frame`: for browsers the JPEG and the next part's delimiter
/// and header lines; for programs the part's header lines, the JPEG and the delimiter.
fn part_of(frame: &Frame, jpeg: &Bytes, advance_headers: bool) -> Bytes {
    if advance_headers {
        let mut b = BytesMut::with_capacity(jpeg.len() + DELIMITER_ADVANCE.len());
        b.extend_from_slice(jpeg);
        b.extend_from_slice(DELIMITER_ADVANCE);
        return b.freeze();
    }
    let head = format!(
        "Content-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: {}\r\n{}\r\n",
        jpeg.len(),
        unix_timestamp(frame.captured_at),
        match frame.kind {
            FrameKind::Live => "",
            FrameKind::NoSignal => "X-Lookout-No-Signal: 1\r\n",
            FrameKind::Stale => "X-Lookout-Stale: 1\r\n",
        },
    );
    let mut b = BytesMut::with_capacity(head.len() + jpeg.len() + DELIMITER.len());
    b.extend_from_slice(head.as_bytes());
    b.extend_from_slice(jpeg);
    b.extend_from_slice(DELIMITER);
    b.freeze()
}
