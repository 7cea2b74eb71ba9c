//! One bench viewer: opens the stream (MJPEG or fragmented MP4), notes its time to first frame,
//! and inside the measurement window counts frames and records each frame's latency.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Which of the camera's streams the viewers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StreamKind {
    /// `stream.mjpeg`: multipart JPEGs.
    Mjpeg,
    /// `stream.mp4`: fragmented MP4 of H.264, a fragment per frame.
    Mp4,
}

impl StreamKind {
    pub fn path(self) -> &'static str {
        match self {
            Self::Mjpeg => "/cameras/bench/stream.mjpeg",
            Self::Mp4 => "/cameras/bench/stream.mp4",
        }
    }
}

/// The measurement window, the same for every viewer of a run.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

#[derive(Debug, Default)]
pub struct ViewerReport {
    /// From just before connecting to the response's headers: how long the server took to
    /// accept the connection and answer.
    pub connected: Option<Duration>,
    /// From just before connecting to the end of the first part.
    pub first_frame: Option<Duration>,
    /// When the first part ended.
    pub first_frame_at: Option<Instant>,
    /// Frames received inside the window.
    pub frames: u32,
    /// Their bytes: JPEG bodies, or each fragment's `moof` and `mdat`.
    pub bytes: u64,
    /// Receipt time minus capture time of each frame in the window, in microseconds. MJPEG:
    /// the part's `X-Timestamp`; MP4: `X-Lookout-Start` plus the fragment's decode time.
    pub latencies_us: Vec<u32>,
    /// Frames in the window without a capture time.
    pub untimed: u32,
    /// Why the viewer stopped before the window ended, if it did.
    pub error: Option<String>,
}

/// Watches the camera's `stream` on `addr` until the window ends; with `token`, sends it as
/// `Authorization: Bearer` (a server off loopback needs logins).
pub async fn run(
    addr: SocketAddr,
    stream: StreamKind,
    window: Window,
    expected_fps: u32,
    token: Option<Arc<str>>,
) -> ViewerReport {
    let seconds = window
        .end
        .saturating_duration_since(window.start)
        .as_secs_f64();
    let mut report = ViewerReport {
        latencies_us: Vec::with_capacity((seconds * f64::from(expected_fps) * 1.1) as usize),
        ..ViewerReport::default()
    };
    let started = Instant::now();
    let path = stream.path();
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .as_deref()
        .map(|b| ("Authorization", b))
        .into_iter()
        .collect();
    let watching = async {
        match stream {
            StreamKind::Mjpeg => watch(addr, path, &headers, window, started, &mut report).await,
            StreamKind::Mp4 => watch_mp4(addr, path, &headers, window, started, &mut report).await,
        }
    };
    match tokio::time::timeout_at(window.end, watching).await {
        Err(_elapsed) => {} // the normal end: still watching when the window closed
        Ok(Ok(())) => report.error = Some("the server ended the stream".into()),
        Ok(Err(e)) => report.error = Some(e.to_string()),
    }
    report
}

async fn watch(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    window: Window,
    started: Instant,
    report: &mut ViewerReport,
) -> io::Result<()> {
    let mut stream = lookout_bench::open_stream(addr, path, headers).await?;
    report.connected = Some(started.elapsed());
    if stream.status() != 200 {
        return Err(io::Error::other(format!("HTTP status {}", stream.status())));
    }
    while let Some(part) = stream.next_part().await? {
        let now = Instant::now();
        if report.first_frame.is_none() {
            report.first_frame = Some(now - started);
            report.first_frame_at = Some(now);
        }
        if now < window.start || now >= window.end {
            continue;
        }
        report.frames += 1;
        report.bytes += part.body.len() as u64;
        match part.latency() {
            Some(l) => report
                .latencies_us
                .push(u32::try_from(l.as_micros()).unwrap_or(u32::MAX)),
            None => report.untimed += 1,
        }
    }
    Ok(())
}

/// 90 kHz: the timescale of Lookout's fragmented MP4 (RTP's video clock).
const MP4_TIMESCALE: u64 = 90_000;

async fn watch_mp4(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    window: Window,
    started: Instant,
    report: &mut ViewerReport,
) -> io::Result<()> {
    let mut stream = lookout_bench::open_mp4_stream(addr, path, headers).await?;
    report.connected = Some(started.elapsed());
    if stream.status() != 200 {
        return Err(io::Error::other(format!("HTTP status {}", stream.status())));
    }
    let start = stream
        .header("x-lookout-start")
        .and_then(lookout_bench::parse_unix_timestamp);
    // A fragment is a `moof` and the `mdat` after it; it counts when its `mdat` has arrived.
    let mut moof: Option<(usize, Option<u64>)> = None;
    while let Some(b) = stream.next_box().await? {
        match &b.kind {
            b"moof" => moof = Some((b.payload.len() + 8, b.decode_time())),
            b"mdat" => {
                let Some((moof_len, decode_time)) = moof.take() else {
                    continue;
                };
                let now = Instant::now();
                if report.first_frame.is_none() {
                    report.first_frame = Some(now - started);
                    report.first_frame_at = Some(now);
                }
                if now < window.start || now >= window.end {
                    continue;
                }
                report.frames += 1;
                report.bytes += (moof_len + b.payload.len() + 8) as u64;
                let captured = start.zip(decode_time).map(|(s, t)| {
                    s + Duration::from_micros(t.saturating_mul(1_000_000) / MP4_TIMESCALE)
                });
                match captured {
                    Some(c) => {
                        let l = b.received_at.duration_since(c).unwrap_or_default();
                        report
                            .latencies_us
                            .push(u32::try_from(l.as_micros()).unwrap_or(u32::MAX));
                    }
                    None => report.untimed += 1,
                }
            }
            _ => {}
        }
    }
    Ok(())
}
