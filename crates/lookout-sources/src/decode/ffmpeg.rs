//! The decoder without openh264: an `ffmpeg` child process per camera, fed the track's access
//! units as Annex B on its standard input, writing MJPEG on its standard output, which the
//! JPEG splitter cuts into frames.
//!
//! ffmpeg makes one JPEG per access unit, in order, so each output takes the capture time of
//! the oldest unit written and not yet answered; the GOP backlog a decoder starts with is
//! decoded for its references but only its newest picture is published.

use super::feed::{Feed, annex_b};
use crate::splitter::JpegSplitter;
use lookout_core::log_limiter::LogLimiter;
use lookout_core::{CameraHub, Error, ErrorKind, FrameKind, FrameParts};
use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

/// Largest JPEG accepted from ffmpeg: a 4K picture at `-q:v 4` is ~2 MB.
const MAX_JPEG_BYTES: usize = 16 << 20;
/// Most units written and not yet answered before the oldest are taken as lost: ffmpeg
/// answers within a frame or two, and a unit it could not decode gets no answer.
const MAX_IN_FLIGHT: usize = 64;

/// One unit written to ffmpeg: when it was captured, whether its picture is published.
struct Pending {
    captured_at: SystemTime,
    written: Instant,
    publish: bool,
}

/// The arguments: raw H.264 in, one JPEG per picture out, as soon as it is decoded.
pub fn args() -> Vec<&'static str> {
    vec![
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostats",
        // Decode each unit at once: no probing ahead, no frame threading (it holds pictures
        // back by one per thread), no reordering delay (cameras send no B-frames).
        "-flags",
        "low_delay",
        "-probesize",
        "32",
        "-analyzeduration",
        "0",
        "-threads",
        "1",
        "-f",
        "h264",
        "-i",
        "pipe:0",
        "-map",
        "0:v:0",
        "-fps_mode",
        "passthrough",
        "-c:v",
        "mjpeg",
        // ~ quality 80 of Lookout's own encoder.
        "-q:v",
        "4",
        "-f",
        "mjpeg",
        "-flush_packets",
        "1",
        "pipe:1",
    ]
}

/// Decodes until `stop` (`Ok`) or ffmpeg fails (an error with its last words).
pub(super) async fn run(
    hub: &Arc<CameraHub>,
    program: &Path,
    stop: &CancellationToken,
) -> Result<(), Error> {
    let shown = program.display().to_string();
    let mut child = Command::new(program)
        .args(args())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Dropped (nobody wants JPEG, shutdown): ffmpeg ends with it.
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("cannot start the H.264 decoder `{shown}`: {e}"),
            )
        })?;
    let (Some(mut stdin), Some(mut stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(Error::internal("ffmpeg's pipes are missing"));
    };
    let last_words = Arc::new(Mutex::new(String::new()));
    let camera = hub.id().to_owned();
    let stderr_task = {
        let (last_words, camera) = (last_words.clone(), camera.clone());
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let limit = LogLimiter::new(Duration::from_secs(10));
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(held_back) = limit.allow() {
                    tracing::warn!(camera, held_back, "H.264 decoder (ffmpeg): {line}");
                }
                let mut w = last_words.lock().unwrap_or_else(|e| e.into_inner());
                // The last line only, cut to a size an error message can carry.
                *w = line.chars().take(300).collect();
            }
        })
    };
    let pending: Arc<Mutex<VecDeque<Pending>>> = Arc::default();
    let writer = {
        let (pending, hub) = (pending.clone(), hub.clone());
        async move {
            let mut feed = Feed::join(hub.video());
            let mut buf = Vec::with_capacity(256 * 1024);
            while let Some((frame, newest)) = feed.next().await {
                buf.clear();
                annex_b(&frame.au, true, &mut buf);
                {
                    let mut p = pending.lock().unwrap_or_else(|e| e.into_inner());
                    if p.len() >= MAX_IN_FLIGHT {
                        p.pop_front();
                    }
                    p.push_back(Pending {
                        captured_at: frame.captured_at,
                        written: Instant::now(),
                        publish: newest,
                    });
                }
                if let Err(e) = stdin.write_all(&buf).await {
                    return e;
                }
            }
            std::io::Error::other("the camera's H.264 track ended")
        }
    };
    let reader = async {
        let mut splitter = JpegSplitter::new(MAX_JPEG_BYTES);
        let bad = LogLimiter::new(Duration::from_secs(10));
        let stats = hub.stats();
        loop {
            let buf = splitter.buffer_mut();
            buf.reserve(64 * 1024);
            match stdout.read_buf(buf).await {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(e),
            }
            while let Some(next) = splitter.next_frame() {
                let frame = match next {
                    Ok(f) => f,
                    Err(why) => {
                        if let Some(held_back) = bad.allow() {
                            tracing::warn!(
                                camera,
                                held_back,
                                "H.264 decoder (ffmpeg) wrote a bad JPEG: {why}"
                            );
                        }
                        continue;
                    }
                };
                let unit = pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .pop_front();
                let (captured_at, publish) = unit.as_ref().map_or((SystemTime::now(), true), |u| {
                    stats.h264_decoded.fetch_add(1, Ordering::Relaxed);
                    stats
                        .h264_decode_nanos
                        .fetch_add(u.written.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    (u.captured_at, u.publish)
                });
                if publish {
                    hub.publish_decoded(FrameParts {
                        jpeg: frame.jpeg,
                        width: frame.width,
                        height: frame.height,
                        captured_at,
                        raw: None,
                        kind: FrameKind::Live,
                    });
                }
            }
        }
    };
    let outcome = tokio::select! {
        e = writer => format!("writing to it: {e}"),
        e = reader => e.map_or_else(|| "it closed its output".to_owned(), |e| format!("reading it: {e}")),
        () = stop.cancelled() => return Ok(()),
    };
    let _ = child.start_kill();
    let status = child
        .wait()
        .await
        .map(|s| s.to_string())
        .unwrap_or_default();
    let _ = tokio::time::timeout(Duration::from_secs(1), stderr_task).await;
    let said = last_words.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Err(Error::new(
        ErrorKind::Unavailable,
        format!(
            "`{shown}` stopped ({outcome}, {status}){}",
            if said.is_empty() {
                String::new()
            } else {
                format!("; it said: {said}")
            }
        ),
    ))
}
