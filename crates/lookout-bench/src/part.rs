//! One part of a multipart MJPEG stream: its header fields, its body (a JPEG), and when the
//! last byte of it arrived.

use crate::headers;
use bytes::Bytes;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone)]
pub struct Part {
    /// The part's header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Exactly `Content-Length` bytes.
    pub body: Bytes,
    /// Wall-clock time at which the body was complete.
    pub received_at: SystemTime,
}

impl Part {
    /// The first header field called `name`, ASCII case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        headers::find(&self.headers, name)
    }

    /// The `X-Timestamp` header: when the server says the frame was captured.
    pub fn x_timestamp(&self) -> Option<SystemTime> {
        crate::parse_unix_timestamp(self.header("x-timestamp")?)
    }

    /// `received_at - X-Timestamp`: capture to receipt. Zero if the clocks disagree and the
    /// frame seems to arrive before it was taken; `None` without an `X-Timestamp`.
    pub fn latency(&self) -> Option<Duration> {
        let captured = self.x_timestamp()?;
        Some(
            self.received_at
                .duration_since(captured)
                .unwrap_or_default(),
        )
    }
}
