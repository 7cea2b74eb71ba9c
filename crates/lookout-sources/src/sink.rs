//! What a source publishes into: checks frames and hands them to the camera's hub.

use bytes::Bytes;
use lookout_core::h264::AccessUnit;
use lookout_core::jpeg::{self, inspect};
use lookout_core::log_limiter::LogLimiter;
use lookout_core::{CameraHub, Error, FrameKind, FrameParts, RgbImage};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// A camera's entry point for frames. Invalid JPEGs are dropped, counted in the camera's
/// stats and logged at most once per 10 s: a broken camera must not flood the log.
#[derive(Debug)]
pub struct FrameSink {
    hub: Arc<CameraHub>,
    bad_frames: LogLimiter,
}

impl FrameSink {
    pub fn new(hub: Arc<CameraHub>) -> Self {
        Self {
            hub,
            bad_frames: LogLimiter::new(Duration::from_secs(10)),
        }
    }

    pub fn hub(&self) -> &Arc<CameraHub> {
        &self.hub
    }

    /// Publishes a JPEG after checking its structure; returns false if it was dropped.
    pub fn publish_jpeg(&self, data: Bytes, captured_at: SystemTime) -> bool {
        match inspect(&data) {
            Ok(info) => {
                let jpeg = if info.len == data.len() {
                    data
                } else {
                    data.slice(..info.len)
                };
                self.publish_checked(jpeg, info.width, info.height, captured_at);
                true
            }
            Err(why) => {
                self.drop_frame(why);
                false
            }
        }
    }

    /// Publishes a JPEG whose structure the caller already checked (the stream splitter does).
    pub fn publish_checked(&self, jpeg: Bytes, width: u32, height: u32, captured_at: SystemTime) {
        self.hub.publish(FrameParts {
            jpeg,
            width,
            height,
            captured_at,
            raw: None,
            kind: FrameKind::Live,
        });
    }

    /// Encodes pixels on a blocking thread and publishes them with the JPEG.
    pub async fn publish_rgb(&self, img: RgbImage, captured_at: SystemTime) -> Result<(), Error> {
        let quality = self.hub.default_quality();
        let stats = self.hub.stats().clone();
        let (img, jpeg) = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let jpeg = jpeg::encode_rgb(&img, quality);
            stats.record_encode(started.elapsed());
            (img, jpeg)
        })
        .await
        .map_err(|e| Error::internal(format!("encoder thread stopped: {e}")))?;
        self.hub.publish(FrameParts {
            jpeg: Bytes::from(jpeg?),
            width: img.width,
            height: img.height,
            captured_at,
            raw: Some(Arc::new(img)),
            kind: FrameKind::Live,
        });
        Ok(())
    }

    /// Publishes an H.264 access unit (passed through) with its capture time and its time on
    /// the source's 90 kHz clock (RTP time, buffer time, arrival). A unit the track cannot
    /// use is dropped, counted and logged like a bad JPEG; returns false then. Units skipped
    /// while waiting for the first key frame are neither.
    pub fn publish_h264(&self, au: AccessUnit, captured_at: SystemTime, pts_90k: u64) -> bool {
        match self.hub.publish_h264(au, captured_at, pts_90k) {
            Ok(_) => true,
            Err(e) => {
                self.drop_frame(e.message());
                false
            }
        }
    }

    /// Counts a frame the source could not use and logs why, rate-limited.
    pub fn drop_frame(&self, why: &str) {
        self.hub.count_dropped();
        if let Some(held_back) = self.bad_frames.allow() {
            tracing::warn!(camera = self.hub.id(), held_back, "dropped a frame: {why}");
        }
    }
}
