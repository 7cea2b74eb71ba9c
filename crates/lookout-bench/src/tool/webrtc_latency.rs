//! `lookout-bench webrtc-latency`: glass-to-glass latency over WebRTC on loopback, with the time
//! in the picture. The bench draws the wall-clock time into 640x360 frames as cells
//! ([`time_cells`]) and writes them at 30 fps (`--fps`) into a FIFO; the server's camera is a `command`
//! source whose ffmpeg encodes the FIFO with libx264 (passed through by Lookout, no re-encode).
//! Headless Chromium plays the camera page with its own WebRTC player
//! (tests/browser/bench_latency.mjs) and reads the cells of every frame it presents; the
//! latency is the frame's display time minus the time in its cells (one machine, one clock).

use super::runtime;
use super::server::Server;
use super::stamped_fifo::{Fifo, FrameWriter};
use super::stats::quantile;
use super::time_cells::{self, CELL_PX, CELLS, COLUMNS, HEIGHT, LEFT_PX, ROWS, TOP_PX, WIDTH};
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct WebRtcLatencyArgs {
    /// The `lookout` binary to measure, built with `--features webrtc`.
    #[arg(long, value_name = "PATH")]
    pub server_bin: PathBuf,
    /// Measurement runs, each with a fresh server, ffmpeg and browser.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Length of each run's window, after the warm-up.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Seconds of playing before the window starts.
    #[arg(long, default_value_t = 3)]
    pub warmup_seconds: u64,
    /// Frames per second the bench writes (and libx264's key frame interval, 1 s).
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// libx264's bit rate, kbit/s.
    #[arg(long, default_value_t = 2000)]
    pub bitrate_kbit: u32,
    /// The browser half; it needs playwright-core (tests/browser/node_modules) and Chromium
    /// (`CHROMIUM`, else /usr/bin/chromium).
    #[arg(long, default_value = "tests/browser/bench_latency.mjs")]
    pub script: PathBuf,
}

/// A latency outside 0..this is not a latency but a misread that passed the CRC (1 in 65536)
/// or a broken clock: counted apart, never in the quantiles.
const PLAUSIBLE_MS: f64 = 10_000.0;

pub fn run(args: &WebRtcLatencyArgs) -> io::Result<()> {
    if args.runs == 0 || args.seconds == 0 || !(1..=120).contains(&args.fps) {
        return Err(io::Error::other(
            "--runs and --seconds must be above 0, --fps from 1 to 120",
        ));
    }
    let script = args.script.canonicalize().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot find {}: {e} (run from the repository's root or pass --script)",
                args.script.display()
            ),
        )
    })?;
    let rt = runtime::single_thread()?;
    println!(
        "| run | load avg 1 min (start, end) | frames read | rejected | display − stamp p50 | p90 | p99 | max | received − stamp p50 | presented − stamp p50 | jitter buffer ms/frame | decode ms/frame | frames written (late) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut all = Vec::new();
    for run in 1..=args.runs {
        eprintln!("webrtc-latency: run {run} of {}…", args.runs);
        let (line, latencies) = rt.block_on(run_one(args, &script, run))?;
        println!("{line}");
        all.extend(latencies);
    }
    all.sort_by(f64::total_cmp);
    let q = |p| quantile(&all, p).map_or("-".to_owned(), |v| format!("{v:.1}"));
    println!(
        "\nall runs: {} frames, display − stamp p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        all.len(),
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0)
    );
    Ok(())
}

fn config_toml(fifo: &Path, fps: u32, bitrate_kbit: u32) -> String {
    // `-flush_packets 1`: each access unit leaves ffmpeg as soon as x264 made it, not when
    // ffmpeg's output buffer is full.
    format!(
        "[auth]\nmode = \"none\"\n[webrtc]\nudp_port = 0\ntcp = false\n\
         [[camera]]\nid = \"bench\"\nkeep_warm = true\n[camera.source]\nkind = \"command\"\n\
         format = \"h264\"\ncommand = [\"ffmpeg\", \"-hide_banner\", \"-loglevel\", \"error\", \
         \"-f\", \"rawvideo\", \"-pix_fmt\", \"yuv420p\", \"-video_size\", \"{WIDTH}x{HEIGHT}\", \
         \"-framerate\", \"{fps}\", \"-i\", {fifo:?}, \"-c:v\", \"libx264\", \"-preset\", \
         \"veryfast\", \"-tune\", \"zerolatency\", \"-bf\", \"0\", \"-g\", \"{fps}\", \
         \"-b:v\", \"{bitrate_kbit}k\", \"-flush_packets\", \"1\", \"-f\", \"h264\", \"-\"]\n",
        fifo = fifo.display().to_string()
    )
}

/// The 1-minute load average, as `/proc/loadavg` says.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

async fn run_one(
    args: &WebRtcLatencyArgs,
    script: &Path,
    run: u32,
) -> io::Result<(String, Vec<f64>)> {
    let load_start = load_average();
    let fifo = Fifo::new(run)?;
    let writer = FrameWriter::start(fifo.path.clone(), args.fps);
    let server = Server::start(
        &args.server_bin,
        &config_toml(&fifo.path, args.fps, args.bitrate_kbit),
    )
    .await;
    let mut server = match server {
        Ok(s) => s,
        Err(e) => {
            writer.stop();
            return Err(e);
        }
    };
    let url = format!("http://{}/cameras/bench", server.addr);
    eprintln!("  server on {}, browser playing {url}…", server.addr);
    let grid = format!("{LEFT_PX},{TOP_PX},{CELL_PX},{COLUMNS},{ROWS}");
    let node = tokio::process::Command::new("node")
        .arg(script)
        .arg(&url)
        .arg((args.warmup_seconds * 1000).to_string())
        .arg((args.seconds * 1000).to_string())
        .arg(&grid)
        .current_dir(script.parent().unwrap_or(Path::new(".")))
        .kill_on_drop(true)
        .output();
    // Starting Chromium and connecting takes seconds on a busy machine; 60 s is "it hung".
    let limit = Duration::from_secs(args.warmup_seconds + args.seconds + 60);
    let out = tokio::time::timeout(limit, node).await;
    let exited = server.exited()?;
    server.stop().await?;
    let (written, late) = writer.stop();
    let load_end = load_average();
    let out =
        out.map_err(|_| io::Error::other(format!("the browser script took over {limit:?}")))??;
    if let Some(status) = exited {
        return Err(io::Error::other(format!("the server exited: {status}")));
    }
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "node {} failed ({}): {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let report = Report::parse(&String::from_utf8_lossy(&out.stdout))?;
    for (k, v) in &report.stats {
        eprintln!("  {k}: {v}");
    }
    let stat = |k: &str| {
        report
            .stats
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse::<f64>().ok())
    };
    let mut display = report.latencies(|f| f.expected_ms);
    let mut received = report.latencies(|f| f.received_ms.unwrap_or(f64::NAN));
    let mut presented = report.latencies(|f| f.presented_ms);
    for v in [&mut display, &mut received, &mut presented] {
        v.retain(|x| x.is_finite());
        v.sort_by(f64::total_cmp);
    }
    let ms = |v: &[f64], p: f64| quantile(v, p).map_or("-".to_owned(), |x| format!("{x:.1}"));
    let opt = |v: Option<f64>| v.map_or("-".to_owned(), |x| format!("{x:.1}"));
    eprintln!(
        "  frames: {} read, {} unreadable, {} bad check, {} implausible, {} repeated",
        display.len(),
        report.unsure,
        report.bad_check,
        report.implausible,
        report.repeated
    );
    let line = format!(
        "| {run} | {load_start}, {load_end} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {written} ({late}) |",
        display.len(),
        report.unsure + report.bad_check + report.implausible,
        ms(&display, 0.5),
        ms(&display, 0.9),
        ms(&display, 0.99),
        ms(&display, 1.0),
        ms(&received, 0.5),
        ms(&presented, 0.5),
        opt(stat("jitter_buffer_ms_per_frame")),
        opt(stat("decode_ms_per_frame")),
    );
    Ok((line, display))
}

/// One frame as the browser saw it: Unix times in ms and the cells' brightness.
struct SeenFrame {
    expected_ms: f64,
    presented_ms: f64,
    received_ms: Option<f64>,
    stamp_ms: u32,
}

#[derive(Default)]
struct Report {
    frames: Vec<SeenFrame>,
    stats: Vec<(String, String)>,
    unsure: usize,
    bad_check: usize,
    implausible: usize,
    repeated: usize,
}

impl Report {
    /// Reads the script's lines (see tests/browser/bench_latency.mjs).
    fn parse(text: &str) -> io::Result<Self> {
        let mut report = Self::default();
        let mut seen = HashSet::new();
        let mut ended = false;
        let bad = |line: &str| io::Error::other(format!("the browser script wrote {line:?}"));
        for line in text.lines() {
            let mut words = line.split(' ');
            match words.next() {
                Some("frame") => {
                    let mut time = || -> Option<f64> { words.next()?.parse().ok() };
                    let (Some(expected_ms), Some(presented_ms)) = (time(), time()) else {
                        return Err(bad(line));
                    };
                    let received_ms = time();
                    let cells: Vec<u8> = words
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()
                        .map_err(|_| bad(line))?;
                    match time_cells::read(&cells) {
                        Ok(stamp_ms) => {
                            let frame = SeenFrame {
                                expected_ms,
                                presented_ms,
                                received_ms,
                                stamp_ms,
                            };
                            if !(0.0..PLAUSIBLE_MS)
                                .contains(&latency_ms(frame.expected_ms, stamp_ms))
                            {
                                report.implausible += 1;
                            } else if !seen.insert(stamp_ms) {
                                report.repeated += 1;
                            } else {
                                report.frames.push(frame);
                            }
                        }
                        Err(time_cells::Unread::BadCheck) => report.bad_check += 1,
                        Err(_) => report.unsure += 1,
                    }
                }
                Some("stat") => {
                    let name = words.next().unwrap_or("").to_owned();
                    report
                        .stats
                        .push((name, words.collect::<Vec<_>>().join(" ")));
                }
                Some("end") => ended = true,
                _ => return Err(bad(line)),
            }
        }
        if !ended {
            return Err(io::Error::other("the browser script's output has no `end`"));
        }
        debug_assert_eq!(CELLS, COLUMNS * ROWS);
        Ok(report)
    }

    /// `time(frame)` minus the frame's stamp, ms, for every frame.
    fn latencies(&self, time: impl Fn(&SeenFrame) -> f64) -> Vec<f64> {
        self.frames
            .iter()
            .map(|f| latency_ms(time(f), f.stamp_ms))
            .collect()
    }
}

/// `unix_ms` (a browser's time, fractional ms) minus a stamp of the low 32 bits of Unix ms.
fn latency_ms(unix_ms: f64, stamp_ms: u32) -> f64 {
    if !unix_ms.is_finite() || unix_ms < 0.0 {
        return f64::NAN;
    }
    let whole = unix_ms.floor();
    // Unix ms are below 2^53 for 285,000 years: exact in f64 and in u64; the low 32 bits wrap
    // every 49.7 days, and the difference of two such times is small and exact as i32.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let low = (whole as u64 & 0xFFFF_FFFF) as u32;
    #[allow(clippy::cast_possible_wrap)]
    let diff = low.wrapping_sub(stamp_ms) as i32;
    f64::from(diff) + (unix_ms - whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_the_difference_of_the_low_32_bits() {
        // 2026-12-07, when the low 32 bits are 3_593_657_840.
        let now_ms = 1_796_601_600_000.0_f64;
        let stamp = (1_796_601_600_000_u64 & 0xFFFF_FFFF) as u32;
        assert_eq!(latency_ms(now_ms + 45.25, stamp), 45.25);
        // Across the 32-bit wrap.
        let before_wrap = u32::MAX - 9;
        let after = (1_796_601_600_000_u64 | 0xFFFF_FFFF) as f64 + 21.0;
        assert_eq!(latency_ms(after, before_wrap), 30.0);
        assert!(latency_ms(f64::NAN, 1).is_nan());
    }

    #[test]
    fn the_report_counts_misreads_apart() {
        let stamp = 1_000_000u32;
        let cell = |t: u32| {
            let mut f = vec![0u8; WIDTH * HEIGHT * 3 / 2];
            time_cells::draw_yuv420p(&mut f, &time_cells::Backgrounds::generate(), t, 0);
            time_cells::cell_corners()
                .map(|(x, y)| {
                    if f[(y + 20) * WIDTH + x + 20] > 128 {
                        "255"
                    } else {
                        "0"
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        let good = cell(stamp);
        let mut flipped: Vec<&str> = good.split(',').collect();
        flipped[3] = if flipped[3] == "0" { "255" } else { "0" };
        let text = format!(
            "frame 1000050.5 1000040 1000030 {good}\n\
             frame 1000090 1000080 - {good}\n\
             frame 1000100 1000090 - {}\n\
             frame 1000100 1000090 - {}\n\
             frame 999000 999000 - {}\n\
             stat decode_ms_per_frame 2.5\nend\n",
            flipped.join(","),
            vec!["128"; CELLS].join(","),
            cell(stamp + 1)
        );
        let r = Report::parse(&text).unwrap();
        assert_eq!(r.frames.len(), 1);
        assert_eq!(
            (r.repeated, r.bad_check, r.unsure, r.implausible),
            (1, 1, 1, 1)
        );
        assert_eq!(r.latencies(|f| f.expected_ms), vec![50.5]);
        assert_eq!(
            r.latencies(|f| f.received_ms.unwrap_or(f64::NAN)),
            vec![30.0]
        );
        assert!(Report::parse("frame 1 2 - 0\n").is_err());
    }
}
