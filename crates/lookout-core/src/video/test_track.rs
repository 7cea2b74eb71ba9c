//! A synthetic H.264 track for tests, here and (with the `test-util` feature) in the crates
//! above: x264's real Baseline parameter sets with two-byte slices, published at 30 fps, so
//! segmenters, muxers and recorders see real [`VideoFrame`]s without an encoder.

use super::{VideoFrame, VideoOrigin, VideoTrack};
use crate::h264::samples::{X264_BASELINE_1278X718, X264_BASELINE_PPS};
use crate::h264::{AccessUnit, CodecParams};
use crate::stats::CameraStats;
use bytes::Bytes;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// One frame at 30 fps: 33 333 µs of wall time, 3000 ticks of the 90 kHz clock.
const FRAME_US: u64 = 33_333;
const FRAME_90K: u64 = 3000;

/// x264's Baseline 1278x718 parameters.
pub fn params() -> Arc<CodecParams> {
    // The samples are real x264 output that lookout-core's own tests parse.
    Arc::new(CodecParams::new(X264_BASELINE_1278X718, &[X264_BASELINE_PPS]).expect("x264's SPS"))
}

/// A one-slice access unit: an IDR slice when `is_key`, else a P slice.
pub fn au(is_key: bool, params: &Arc<CodecParams>) -> AccessUnit {
    AccessUnit {
        nals: vec![Bytes::from_static(if is_key {
            &[0x65, 0x88]
        } else {
            &[0x41, 0x9A]
        })],
        is_key,
        params: Some(params.clone()),
    }
}

/// An empty track with its own statistics.
pub fn track() -> VideoTrack {
    VideoTrack::new(Arc::new(CameraStats::default()))
}

/// Publishes frames `frames` (indices) on `track` at 30 fps: frame `i` is sequence number
/// `i + 1`, captured at `t0 + i / 30 s` with presentation time `i * 3000`, a key frame when
/// `is_key(i)`. The frames the track took (none before its first key frame).
pub fn publish_30fps(
    track: &VideoTrack,
    t0: SystemTime,
    frames: Range<u64>,
    is_key: impl Fn(u64) -> bool,
) -> Vec<Arc<VideoFrame>> {
    let p = params();
    frames
        .filter_map(|i| {
            track
                .publish(
                    i + 1,
                    au(is_key(i), &p),
                    t0 + Duration::from_micros(i * FRAME_US),
                    i * FRAME_90K,
                    VideoOrigin::Native,
                )
                // Frames in order with a constant size never fail to mux.
                .expect("a synthetic frame publishes")
        })
        .collect()
}

/// A wall time far from the epoch (1970-01-12), as cameras' clocks give.
pub fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000)
}
