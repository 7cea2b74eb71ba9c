//! One bench viewer: opens the stream, notes its time to first frame, and inside the
//! measurement window counts frames and records each frame's latency.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::time::Instant;

/// The measurement window, the same for every viewer of a run.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

#[derive(Debug, Default)]
pub struct ViewerReport {
    /// From just before connecting to the end of the first part.
    pub first_frame: Option<Duration>,
    /// Frames received inside the window.
    pub frames: u32,
    /// Their bytes (JPEG bodies only).
    pub bytes: u64,
    /// Receipt time minus `X-Timestamp` of each frame in the window, in microseconds.
    pub latencies_us: Vec<u32>,
    /// Frames in the window without an `X-Timestamp`.
    pub untimed: u32,
    /// Why the viewer stopped before the window ended, if it did.
    pub error: Option<String>,
}

/// Watches `path` on `addr` until the window ends.
pub async fn run(addr: SocketAddr, path: &str, window: Window, expected_fps: u32) -> ViewerReport {
    let seconds = window
        .end
        .saturating_duration_since(window.start)
        .as_secs_f64();
    let mut report = ViewerReport {
        latencies_us: Vec::with_capacity((seconds * f64::from(expected_fps) * 1.1) as usize),
        ..ViewerReport::default()
    };
    let started = Instant::now();
    match tokio::time::timeout_at(window.end, watch(addr, path, window, started, &mut report)).await
    {
        Err(_elapsed) => {} // the normal end: still watching when the window closed
        Ok(Ok(())) => report.error = Some("the server ended the stream".into()),
        Ok(Err(e)) => report.error = Some(e.to_string()),
    }
    report
}

async fn watch(
    addr: SocketAddr,
    path: &str,
    window: Window,
    started: Instant,
    report: &mut ViewerReport,
) -> io::Result<()> {
    let mut stream = lookout_bench::open_stream(addr, path, &[]).await?;
    if stream.status() != 200 {
        return Err(io::Error::other(format!("HTTP status {}", stream.status())));
    }
    while let Some(part) = stream.next_part().await? {
        let now = Instant::now();
        if report.first_frame.is_none() {
            report.first_frame = Some(now - started);
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
