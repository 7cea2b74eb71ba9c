//! The H.264 → JPEG decoder task against real H.264 (ffmpeg's libx264): the first picture
//! comes from the GOP the track keeps (its key frame is long past) and is its newest picture,
//! for the ffmpeg child and (feature `openh264`) for openh264. ffmpeg is needed
//! (scripts/test.sh installs it); under LOOKOUT_TEST_STRICT=1 or CI=true its absence fails.

// A panic is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

#[path = "common/x264.rs"]
mod x264;

use lookout_core::h264::AccessUnit;
use lookout_core::{CameraHub, FrameKind};
use lookout_sources::decode::{DecodeConfig, JpegDecoder, decode_while_wanted, find_program};
use std::time::{Duration, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;
use x264::x264_access_units;

fn strict() -> bool {
    std::env::var("LOOKOUT_TEST_STRICT").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// 12 pictures of 320x240, one key frame (a GOP longer than the clip), no B-frames.
fn x264_units() -> Vec<AccessUnit> {
    let units = x264_access_units(12, &["-g", "250"]);
    assert!(units[0].is_key && units[1..].iter().all(|u| !u.is_key));
    units
}

/// The first 12 - `live` pictures are the track's GOP when the decoder starts; `live` more
/// come from the camera 1 s later (ffmpeg holds its newest picture until more input comes:
/// one or two frame intervals on a live camera).
async fn first_picture_comes_from_the_kept_gop(decoder: JpegDecoder, live: usize) {
    let hub = CameraHub::new("cam", 80);
    hub.set_sends_h264_only(true);
    let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let captured = move |i: usize| t0 + Duration::from_millis(33 * i as u64);
    let mut units = x264_units();
    let later = units.split_off(12 - live);
    for (i, au) in units.into_iter().enumerate() {
        hub.publish_h264(au, captured(i), 3000 * i as u64).unwrap();
    }
    let gop_last = captured(11 - live);
    assert_eq!(hub.video().gop_len().0, 12 - live);
    let mut frames = hub.subscribe();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(decode_while_wanted(
        hub.clone(),
        DecodeConfig {
            decoder: decoder.clone(),
            always: true,
            linger: Duration::from_secs(5),
        },
        cancel.clone(),
    ));
    let camera = {
        let hub = hub.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            for (i, au) in later.into_iter().enumerate() {
                let i = 12 - live + i;
                hub.publish_h264(au, captured(i), 3000 * i as u64).unwrap();
                tokio::time::sleep(Duration::from_millis(33)).await;
            }
        })
    };
    let frame = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            frames.changed().await.unwrap();
            if let Some(f) = frames.borrow_and_update().clone() {
                return f;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{decoder:?}: no picture from the kept GOP"));
    assert_eq!(frame.kind, FrameKind::Live);
    assert_eq!((frame.width, frame.height), (320, 240));
    assert_eq!(
        lookout_core::jpeg::decode_rgb(&frame.jpeg)
            .map(|i| (i.width, i.height))
            .unwrap(),
        (320, 240)
    );
    // Older pictures of the GOP are decoded for their references, not published.
    assert!(
        frame.captured_at >= gop_last,
        "{decoder:?}: picture {:?} is older than the GOP's newest",
        frame.captured_at.duration_since(t0)
    );
    if live == 0 {
        assert_eq!(
            frame.captured_at, gop_last,
            "{decoder:?}: not the GOP's newest"
        );
    }
    camera.await.unwrap();
    assert_eq!(
        hub.stats()
            .frames_captured
            .load(std::sync::atomic::Ordering::Relaxed),
        12,
        "decoded pictures are not captures"
    );
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_decodes_the_kept_gop_at_once() {
    let Some(ffmpeg) = find_program("ffmpeg") else {
        assert!(!strict(), "ffmpeg is missing; scripts/test.sh installs it");
        eprintln!("SKIPPED: ffmpeg is missing");
        return;
    };
    first_picture_comes_from_the_kept_gop(JpegDecoder::Ffmpeg(ffmpeg), 2).await;
}

#[cfg(feature = "openh264")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openh264_decodes_the_kept_gop_at_once() {
    if find_program("ffmpeg").is_none() {
        assert!(!strict(), "ffmpeg is missing; scripts/test.sh installs it");
        return;
    }
    first_picture_comes_from_the_kept_gop(JpegDecoder::OpenH264, 0).await;
}
