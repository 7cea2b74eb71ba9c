//! The per-camera H.264 encoder for cameras that send JPEG or pixels: it runs while somebody
//! watches H.264 (`stream.mp4`), once per camera whatever the number of viewers, on a thread
//! of its own (an encode takes milliseconds: never on the async runtime), and publishes into
//! the camera's `VideoTrack`. Feature `openh264`; without it only [`EncodeConfig`] exists, so
//! the configuration reads the same in every build.

use std::time::Duration;

/// Whether this build can encode H.264 (feature `openh264`).
pub const AVAILABLE: bool = cfg!(feature = "openh264");

/// A camera's encoder settings (`[camera.h264]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncodeConfig {
    /// `None`: from the picture size and rate (1280×720 at 30 fps → 2 Mbit/s).
    pub bitrate_bps: Option<u32>,
    pub keyframe_interval: Duration,
    /// Pictures per second expected (the source's, else 30): the rate control's frame budget.
    pub fps: f32,
    /// Keep encoding this long after the last H.264 viewer left (a page reload reconnects).
    pub linger: Duration,
}

impl Default for EncodeConfig {
    fn default() -> Self {
        Self {
            bitrate_bps: None,
            keyframe_interval: Duration::from_secs(2),
            fps: 30.0,
            linger: Duration::from_secs(5),
        }
    }
}

/// Most one forced key frame per second: late joiners that come in a burst share one IDR,
/// and the bitrate does not collapse under many joins (an IDR is ~10× a P frame).
pub const MIN_FORCED_KEY_INTERVAL: Duration = Duration::from_secs(1);

#[cfg(feature = "openh264")]
pub use task::encode_while_wanted;

#[cfg(feature = "openh264")]
mod task {
    use super::{EncodeConfig, MIN_FORCED_KEY_INTERVAL};
    use lookout_core::h264::{EncoderSettings, H264Encoder};
    use lookout_core::log_limiter::LogLimiter;
    use lookout_core::{CameraHub, FrameKind, RgbImage, jpeg};
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};
    use tokio::runtime::Handle;
    use tokio_util::sync::CancellationToken;

    /// After the encoder thread failed, wait this long before starting it again.
    const RESTART_DELAY: Duration = Duration::from_secs(5);

    /// Encodes `hub`'s pictures to H.264 while it has H.264 demand, until `cancel`. Does
    /// nothing for a camera that sends H.264 itself.
    pub async fn encode_while_wanted(
        hub: Arc<CameraHub>,
        cfg: EncodeConfig,
        cancel: CancellationToken,
    ) {
        hub.set_encodes_h264(true);
        // One clock for every run: the track's times keep rising across restarts.
        let epoch = Instant::now();
        let camera = hub.id().to_owned();
        loop {
            tokio::select! {
                () = hub.wait_for_h264_demand() => {}
                () = cancel.cancelled() => return,
            }
            if hub.sends_h264_only() {
                tokio::select! {
                    () = hub.wait_h264_idle_for(cfg.linger) => continue,
                    () = cancel.cancelled() => return,
                }
            }
            let stop = CancellationToken::new();
            let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
            let thread = std::thread::Builder::new()
                .name(format!("h264-enc-{camera}"))
                .spawn({
                    let (hub, stop, rt) = (hub.clone(), stop.clone(), Handle::current());
                    move || {
                        run(&hub, cfg, epoch, &stop, &rt);
                        let _ = done_tx.send(());
                    }
                });
            let thread = match thread {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(camera, "could not start the H.264 encoder thread: {e}");
                    tokio::select! {
                        () = tokio::time::sleep(RESTART_DELAY) => continue,
                        () = cancel.cancelled() => return,
                    }
                }
            };
            tracing::info!(camera, "H.264 encoder started (a stream.mp4 viewer)");
            let failed = tokio::select! {
                () = hub.wait_h264_idle_for(cfg.linger) => false,
                _ = done_rx => true,
                () = cancel.cancelled() => false,
            };
            stop.cancel();
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            if cancel.is_cancelled() {
                return;
            }
            if failed {
                tokio::select! {
                    () = tokio::time::sleep(RESTART_DELAY) => {}
                    () = cancel.cancelled() => return,
                }
            } else {
                tracing::info!(camera, "nobody watches H.264: encoder stopped");
            }
        }
    }

    /// The encoder thread: the newest live picture each time one comes, until `stop`. Returns
    /// early only when the encoder cannot be made.
    fn run(
        hub: &CameraHub,
        cfg: EncodeConfig,
        epoch: Instant,
        stop: &CancellationToken,
        rt: &Handle,
    ) {
        let camera = hub.id();
        let mut frames = hub.subscribe();
        let mut key_requests = hub.video().key_requests();
        let bad = LogLimiter::new(Duration::from_secs(10));
        let mut encoder: Option<(H264Encoder, (u32, u32))> = None;
        let mut last_forced: Option<Instant> = None;
        let stats = hub.stats();
        loop {
            let changed = rt.block_on(async {
                tokio::select! {
                    r = frames.changed() => r.is_ok(),
                    () = stop.cancelled() => false,
                }
            });
            if !changed {
                return;
            }
            let Some(frame) = frames.borrow_and_update().clone() else {
                continue;
            };
            // Stale repeats and "no signal" cards are not pictures of the camera: viewers keep
            // the last one (the fMP4 timeline simply waits).
            if frame.kind != FrameKind::Live {
                continue;
            }
            let started = Instant::now();
            let decoded;
            let img: &RgbImage = match &frame.raw {
                Some(raw) => raw,
                None => match jpeg::decode_rgb(&frame.jpeg) {
                    Ok(img) => {
                        decoded = img;
                        &decoded
                    }
                    Err(e) => {
                        if let Some(held_back) = bad.allow() {
                            tracing::warn!(
                                camera,
                                held_back,
                                "H.264 encoder: a JPEG did not decode: {e}"
                            );
                        }
                        continue;
                    }
                },
            };
            let size = (img.width & !1, img.height & !1);
            let same_size = encoder.as_ref().is_some_and(|(_, s)| *s == size);
            if !same_size {
                let settings = EncoderSettings {
                    fps: cfg.fps,
                    bitrate_bps: cfg.bitrate_bps.unwrap_or_else(|| {
                        lookout_core::h264::encoder::default_bitrate_bps(size.0, size.1, cfg.fps)
                    }),
                    keyframe_interval: cfg.keyframe_interval,
                };
                match H264Encoder::new(settings) {
                    Ok(e) => encoder = Some((e, size)),
                    Err(e) => {
                        tracing::error!(camera, "H.264 encoder: {e}");
                        return;
                    }
                }
            }
            let Some((enc, _)) = encoder.as_mut() else {
                continue;
            };
            // A late joiner asked for a key frame: at most one forced per second.
            let wants_key = key_requests.has_changed().unwrap_or(false);
            let force_key =
                wants_key && last_forced.is_none_or(|t| t.elapsed() >= MIN_FORCED_KEY_INTERVAL);
            if force_key {
                key_requests.mark_unchanged();
                last_forced = Some(Instant::now());
            }
            let time = frame.published.saturating_duration_since(epoch);
            // Milliseconds since `epoch` fit u64 for 584 million years.
            let time_ms = time.as_millis() as u64;
            let pts_90k = (time.as_micros() * 9 / 100) as u64;
            match enc.encode_rgb(img, time_ms, force_key) {
                Ok(Some(au)) => {
                    stats.h264_encoded.fetch_add(1, Ordering::Relaxed);
                    stats
                        .h264_encode_nanos
                        .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    if let Err(e) = hub.publish_encoded_h264(au, frame.captured_at, pts_90k)
                        && let Some(held_back) = bad.allow()
                    {
                        tracing::warn!(camera, held_back, "H.264 encoder: unit refused: {e}");
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    if let Some(held_back) = bad.allow() {
                        tracing::warn!(camera, held_back, "H.264 encoder: {e}");
                    }
                    // Start over with a fresh encoder (and a key frame) on the next picture.
                    encoder = None;
                }
            }
        }
    }
}
