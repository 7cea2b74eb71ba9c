//! A camera's counters for `/metrics` and the API, shared by its hub (frames captured, dropped
//! and sent) and its variant encodes (how many, how long).

use crate::rate::RateMeter;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters for `/metrics` and the API. Atomics: bumped per frame and per viewer write.
#[derive(Debug, Default)]
pub struct CameraStats {
    pub frames_captured: AtomicU64,
    pub frames_dropped: AtomicU64,
    /// Bytes and frames written to viewers that have left; [`crate::CameraHub::sent`] adds
    /// the open viewers'.
    pub bytes_sent: AtomicU64,
    pub frames_sent: AtomicU64,
    pub encodes: AtomicU64,
    pub encode_nanos: AtomicU64,
    /// H.264 access units added to the camera's track.
    pub h264_frames: AtomicU64,
    /// Pictures Lookout encoded to H.264 (JPEG-only cameras, while somebody watches H.264).
    pub h264_encoded: AtomicU64,
    /// CPU time of those encodes (JPEG decode included), for the mean per frame.
    pub h264_encode_nanos: AtomicU64,
    /// Pictures decoded from H.264 to JPEG (H.264-only cameras, while somebody wants JPEG).
    pub h264_decoded: AtomicU64,
    /// Wall time of those decodes and JPEG encodes, for the mean per frame.
    pub h264_decode_nanos: AtomicU64,
    /// GOPs dropped for being over `video::MAX_GOP_BYTES` or `MAX_GOP_FRAMES`.
    pub gop_overflows: AtomicU64,
    pub capture_rate: RateMeter,
}

impl CameraStats {
    pub fn record_encode(&self, took: Duration) {
        self.encodes.fetch_add(1, Ordering::Relaxed);
        self.encode_nanos
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    }
}
