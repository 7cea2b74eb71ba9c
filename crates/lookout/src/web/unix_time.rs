//! Capture times as mjpg-streamer's `X-Timestamp` header writes them.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch with microseconds, as mjpg-streamer's X-Timestamp.
pub fn unix_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}
