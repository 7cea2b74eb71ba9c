//! The in-process decoder (feature `openh264`): a thread of its own per camera, since a
//! picture takes milliseconds (never on the async runtime).

use super::feed::Feed;
use lookout_core::h264::H264Decoder;
use lookout_core::log_limiter::LogLimiter;
use lookout_core::{CameraHub, Error, FrameKind, FrameParts, jpeg};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

/// Decodes until `stop` (then `Ok`), or fails when the decoder cannot be made.
pub(super) async fn run(hub: &Arc<CameraHub>, stop: &CancellationToken) -> Result<(), Error> {
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name(format!("h264-dec-{}", hub.id()))
        .spawn({
            let (hub, stop, rt) = (hub.clone(), stop.clone(), Handle::current());
            move || {
                let _ = done_tx.send(decode(&hub, &stop, &rt));
            }
        })
        .map_err(|e| Error::internal(format!("could not start the H.264 decoder thread: {e}")))?;
    // Dropped (idle, shutdown): tell the thread, which ends at its next frame or at once.
    let guard = stop.clone().drop_guard();
    let r = done_rx
        .await
        .unwrap_or_else(|_| Err(Error::internal("the H.264 decoder thread panicked")));
    drop(guard);
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    r
}

fn decode(hub: &CameraHub, stop: &CancellationToken, rt: &Handle) -> Result<(), Error> {
    let camera = hub.id();
    let mut decoder = H264Decoder::new()?;
    let mut feed = Feed::join(hub.video());
    let bad = LogLimiter::new(Duration::from_secs(10));
    let stats = hub.stats();
    loop {
        let next = rt.block_on(async {
            tokio::select! {
                f = feed.next() => f,
                () = stop.cancelled() => None,
            }
        });
        let Some((frame, newest)) = next else {
            return Ok(());
        };
        let started = Instant::now();
        let img = match decoder.decode(&frame.au) {
            Ok(Some(img)) => img,
            Ok(None) => continue,
            Err(e) => {
                if let Some(held_back) = bad.allow() {
                    tracing::warn!(camera, held_back, "H.264 decoder: {e}");
                }
                continue;
            }
        };
        if newest {
            match jpeg::encode_rgb(&img, hub.default_quality()) {
                Ok(data) => {
                    hub.publish_decoded(FrameParts {
                        jpeg: data.into(),
                        width: img.width,
                        height: img.height,
                        captured_at: frame.captured_at,
                        raw: Some(Arc::new(img)),
                        kind: FrameKind::Live,
                    });
                }
                Err(e) => {
                    if let Some(held_back) = bad.allow() {
                        tracing::warn!(camera, held_back, "H.264 decoder: JPEG encode: {e}");
                    }
                }
            }
        }
        stats.h264_decoded.fetch_add(1, Ordering::Relaxed);
        stats
            .h264_decode_nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}
