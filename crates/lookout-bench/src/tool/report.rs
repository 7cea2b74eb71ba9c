//! The fan-out report: raw per-run measurements summarized into one markdown table row each,
//! with the machine and the exact command line above it and what went wrong below it.

use super::procfs;
use super::stats::quantile;
use super::viewer::ViewerReport;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;
use tokio::time::Instant;

/// Everything measured in one server start.
#[derive(Debug)]
pub struct RunResult {
    pub viewers: usize,
    pub seconds: f64,
    pub reports: Vec<ViewerReport>,
    /// When the first viewer started connecting, and how long the ramp of joins was meant to
    /// take (viewers join in batches).
    pub ramp_start: Instant,
    pub ramp: Duration,
    /// The server's own CPU time (its threads; not its children).
    pub server_cpu_s: f64,
    /// The same, split into user and system time.
    pub server_split: procfs::CpuSplit,
    /// CPU time of the server's child processes (a `command` source's ffmpeg).
    pub children: ChildrenCpu,
    pub client_cpu_s: f64,
    pub peak_rss_kib: u64,
    pub stop_time: Duration,
    /// The server ignored SIGTERM for 10 s and was killed.
    pub killed: bool,
}

/// What the server's child processes used during the window.
#[derive(Debug, Default)]
pub struct ChildrenCpu {
    /// Summed over those alive at the window's end: CPU time since the window's start (all of
    /// it for those started during the window).
    pub cpu_s: f64,
    /// Their distinct names, e.g. `ffmpeg`.
    pub names: Vec<String>,
    /// Children that appeared during the window (a restarted source).
    pub started: usize,
    /// Children that were gone by the window's end; their CPU is not counted.
    pub ended: usize,
}

impl ChildrenCpu {
    /// From the server's descendants at the window's start and at its end.
    pub fn between(before: &[procfs::ProcessCpu], after: &[procfs::ProcessCpu]) -> Self {
        let mut s = Self::default();
        for p in after {
            match before.iter().find(|b| b.pid == p.pid) {
                Some(b) => s.cpu_s += p.cpu_s - b.cpu_s,
                None => {
                    s.cpu_s += p.cpu_s;
                    s.started += 1;
                }
            }
            if !s.names.contains(&p.name) {
                s.names.push(p.name.clone());
            }
        }
        s.ended = before
            .iter()
            .filter(|b| !after.iter().any(|p| p.pid == b.pid))
            .count();
        s
    }

    fn is_empty(&self) -> bool {
        self.names.is_empty() && self.ended == 0
    }
}

/// What the table is about.
#[derive(Debug)]
pub struct Header {
    machine: String,
    command: String,
    server: String,
    camera: String,
}

impl Header {
    /// The machine, our command line and `server_bin --version`, with `camera`, what was
    /// measured, as the run's arguments describe it.
    pub fn capture(server_bin: &Path, camera: String) -> Self {
        let version = std::process::Command::new(server_bin)
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map_or_else(|| "version unknown".into(), |v| v.trim().to_owned());
        Self {
            machine: procfs::machine(),
            command: command_line(),
            server: format!("{} ({version})", server_bin.display()),
            camera,
        }
    }

    /// What the server line says, when it is not `lookout --version`.
    pub fn with_server(mut self, server: &str) -> Self {
        self.server = server.to_owned();
        self
    }
}

/// Our arguments, quoted where a shell would need it.
fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=,:".contains(&b))
            {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One table row, computed from a run.
struct Row {
    fps_min: f64,
    fps_median: f64,
    frames: u64,
    cpu_per_1000: Option<f64>,
    /// User and system time per 1000 frames, in ms.
    split_ms_per_1000: Option<[f64; 2]>,
    peak_rss_mb: f64,
    latency_ms: [Option<f64>; 2],
    first_frame_ms: [Option<f64>; 2],
    /// Viewers that got no frame at all.
    never: usize,
}

impl Row {
    fn of(run: &RunResult) -> Self {
        let mut fps: Vec<f64> = run
            .reports
            .iter()
            .map(|r| f64::from(r.frames) / run.seconds)
            .collect();
        fps.sort_by(f64::total_cmp);
        let frames: u64 = run.reports.iter().map(|r| u64::from(r.frames)).sum();
        let mut lat: Vec<u32> = Vec::with_capacity(frames as usize);
        for r in &run.reports {
            lat.extend_from_slice(&r.latencies_us);
        }
        lat.sort_unstable();
        let mut first: Vec<Duration> = run.reports.iter().filter_map(|r| r.first_frame).collect();
        first.sort_unstable();
        let us_to_ms = |q: f64| quantile(&lat, q).map(|us| f64::from(us) / 1e3);
        let d_to_ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e3);
        Self {
            fps_min: fps.first().copied().unwrap_or(0.0),
            fps_median: quantile(&fps, 0.5).unwrap_or(0.0),
            frames,
            cpu_per_1000: (frames > 0).then(|| run.server_cpu_s / frames as f64 * 1000.0),
            split_ms_per_1000: (frames > 0).then(|| {
                let per = |s: f64| s / frames as f64 * 1e6;
                [per(run.server_split.user_s), per(run.server_split.system_s)]
            }),
            peak_rss_mb: run.peak_rss_kib as f64 / 1024.0,
            latency_ms: [us_to_ms(0.5), us_to_ms(0.99)],
            first_frame_ms: [
                d_to_ms(quantile(&first, 0.5)),
                d_to_ms(first.last().copied()),
            ],
            never: run.reports.len() - first.len(),
        }
    }
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.decimals$}"))
}

/// A progress line for stderr.
pub fn one_line(run: &RunResult) -> String {
    let row = Row::of(run);
    let children = if run.children.is_empty() {
        String::new()
    } else {
        format!(" (+ {:.2} s in child processes)", run.children.cpu_s)
    };
    format!(
        "fps median {:.1}, min {:.1}; latency p50 {} ms; server CPU {:.2} s{children}; \
         client CPU {:.2} s; {} viewer error(s)",
        row.fps_median,
        row.fps_min,
        opt(row.latency_ms[0], 1),
        run.server_cpu_s,
        run.client_cpu_s,
        run.reports.iter().filter(|r| r.error.is_some()).count()
    )
}

pub fn print(header: &Header, idle_rss_kib: Option<u64>, runs: &[RunResult]) {
    let mut out = String::new();
    // Writing to a String cannot fail, hence the ignored results below.
    let _ = writeln!(out, "machine: {}", header.machine);
    let _ = writeln!(out, "command: {}", header.command);
    let _ = writeln!(out, "server: {}", header.server);
    let _ = writeln!(out, "camera: {}", header.camera);
    if let Some(kib) = idle_rss_kib {
        let _ = writeln!(
            out,
            "idle RSS (no viewer, 2 s after start): {:.1} MB",
            kib as f64 / 1024.0
        );
    }
    out.push('\n');
    out.push_str(
        "| viewers | fps per viewer min | fps median | server CPU s per 1000 frames \
         | of which user / system ms | peak RSS MB \
         | latency p50 ms | latency p99 ms | first frame median ms | first frame max ms |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for run in runs {
        let r = Row::of(run);
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {} | {} | {:.1} | {} | {} | {} | {} |",
            run.viewers,
            r.fps_min,
            r.fps_median,
            opt(r.cpu_per_1000, 3),
            r.split_ms_per_1000
                .map_or_else(|| "n/a".into(), |[u, s]| format!("{u:.1} / {s:.1}")),
            r.peak_rss_mb,
            opt(r.latency_ms[0], 1),
            opt(r.latency_ms[1], 1),
            opt(r.first_frame_ms[0], 0),
            if r.never > 0 {
                format!("none for {}", r.never)
            } else {
                opt(r.first_frame_ms[1], 0)
            },
        );
    }
    out.push('\n');
    for run in runs {
        let _ = writeln!(out, "- {} viewer(s): {}", run.viewers, notes(run));
    }
    print!("{out}");
}

/// Client load, sizes, shutdown and errors of one run.
fn notes(run: &RunResult) -> String {
    let row = Row::of(run);
    let bytes: u64 = run.reports.iter().map(|r| r.bytes).sum();
    let share = |cpu_s: f64| cpu_s / run.seconds * 100.0;
    let mut s = format!(
        "{} frames in the window, mean frame {:.1} KB, server CPU {:.2} s ({:.0}% of a core; \
         user {:.2} s, system {:.2} s)",
        row.frames,
        if row.frames > 0 {
            bytes as f64 / row.frames as f64 / 1024.0
        } else {
            0.0
        },
        run.server_cpu_s,
        share(run.server_cpu_s),
        run.server_split.user_s,
        run.server_split.system_s,
    );
    let c = &run.children;
    if !c.is_empty() {
        let _ = write!(
            s,
            ", its child processes ({}) {:.2} s ({:.0}% of a core)",
            c.names.join(", "),
            c.cpu_s,
            share(c.cpu_s)
        );
        if c.started > 0 || c.ended > 0 {
            let _ = write!(
                s,
                " with {} started and {} ended during the window (CPU of ended ones not counted)",
                c.started, c.ended
            );
        }
    }
    let _ = write!(
        s,
        ", client CPU {:.2} s ({:.0}% of a core), server stopped in {} ms{}",
        run.client_cpu_s,
        share(run.client_cpu_s),
        run.stop_time.as_millis(),
        if run.killed {
            " (SIGKILL after 10 s)"
        } else {
            ""
        },
    );
    let mut connected: Vec<Duration> = run.reports.iter().filter_map(|r| r.connected).collect();
    connected.sort_unstable();
    if let (Some(median), Some(max)) = (quantile(&connected, 0.5), connected.last()) {
        let _ = write!(
            s,
            ", connect to response headers median {:.1} ms, max {:.1} ms",
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );
    }
    if let Some(last) = run.reports.iter().filter_map(|r| r.first_frame_at).max() {
        let _ = write!(
            s,
            ", last first frame {:.2} s after the first connect (joins spread over {:.2} s)",
            last.duration_since(run.ramp_start).as_secs_f64(),
            run.ramp.as_secs_f64()
        );
    }
    let untimed: u64 = run.reports.iter().map(|r| u64::from(r.untimed)).sum();
    if untimed > 0 {
        let _ = write!(s, ", {untimed} frames without a capture time");
    }
    let errors: Vec<&str> = run
        .reports
        .iter()
        .filter_map(|r| r.error.as_deref())
        .collect();
    if let Some(first) = errors.first() {
        let _ = write!(s, ", {} viewer error(s), first: {first}", errors.len());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use procfs::ProcessCpu;

    fn p(pid: u32, name: &str, cpu_s: f64) -> ProcessCpu {
        ProcessCpu {
            pid,
            name: name.into(),
            cpu_s,
        }
    }

    #[test]
    fn children_cpu_counts_the_window_only() {
        let before = [p(5, "ffmpeg", 10.0), p(6, "sh", 1.0)];
        let after = [p(5, "ffmpeg", 12.5), p(7, "ffmpeg", 0.5)];
        let c = ChildrenCpu::between(&before, &after);
        assert!((c.cpu_s - 3.0).abs() < 1e-9, "{}", c.cpu_s);
        assert_eq!(c.names, ["ffmpeg"]);
        assert_eq!((c.started, c.ended), (1, 1));
        assert!(ChildrenCpu::between(&[], &[]).is_empty());
    }
}
