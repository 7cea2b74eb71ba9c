//! `lookout-bench record`: the server's CPU for one camera that records, with a pass-through
//! H.264 source (ffmpeg's libx264 as a `command` camera, as an IP camera would send it) and
//! nobody watching. Two configurations alternate so the machine's noise hits both alike:
//!
//! - `continuous`: the camera is read, cut into segments, and every segment is written
//!   (tmp + fsync + rename) and indexed: the whole cost of a recording camera;
//! - `events, no motion`: the camera is read and a pre-roll kept in memory, nothing written:
//!   the cost of reading the camera, so the difference is what writing costs.
//!
//! ffmpeg's own CPU (it stands in for the camera) is printed apart, never added to the server's.

use super::server::Server;
use super::{procfs, runtime};
use std::io;
use std::time::Duration;

/// Time for ffmpeg to start and the first segments to be written before measuring.
const WARM_UP: Duration = Duration::from_secs(6);

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The `lookout` binary to measure, e.g. target/release/lookout.
    #[arg(long, value_name = "PATH")]
    pub server_bin: std::path::PathBuf,
    /// Camera width (ffmpeg's testsrc2 encoded by libx264).
    #[arg(long, default_value_t = 1280)]
    pub width: u32,
    /// Camera height.
    #[arg(long, default_value_t = 720)]
    pub height: u32,
    /// Camera frame rate.
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// The camera's bit rate in kbit/s (an IP camera's main stream is typically 2000–4000).
    #[arg(long, default_value_t = 2000)]
    pub kbit: u32,
    /// Seconds measured per run.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Runs of each configuration; medians are reported.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Continuous,
    EventsNoMotion,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Continuous => "continuous",
            Mode::EventsNoMotion => "events, no motion",
        }
    }
}

/// One run's measurements.
#[derive(Debug, Clone, Copy)]
struct Sample {
    server_percent: f64,
    ffmpeg_percent: f64,
    bytes_per_hour: f64,
    dropped: u64,
}

pub fn run(args: &RecordArgs) -> io::Result<()> {
    if args.runs == 0 || args.seconds == 0 {
        return Err(io::Error::other("--runs and --seconds must be above 0"));
    }
    let rt = runtime::single_thread()?;
    rt.block_on(measure(args))
}

fn config_toml(args: &RecordArgs, mode: Mode) -> String {
    let ffmpeg = format!(
        "exec ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size={}x{}:rate={} \
         -c:v libx264 -preset ultrafast -tune zerolatency -bf 0 -g {} -b:v {}k -maxrate {}k \
         -bufsize {}k -f h264 -",
        args.width,
        args.height,
        args.fps,
        args.fps * 2,
        args.kbit,
        args.kbit,
        args.kbit
    );
    let recording = match mode {
        Mode::Continuous => "mode = \"continuous\"",
        // A motion detector would decode pictures (its own cost): without one, an events
        // camera keeps its pre-roll and writes nothing.
        Mode::EventsNoMotion => "mode = \"events\"",
    };
    // The floor off: the bench machine's disk may be fuller than the default floor allows.
    format!(
        "[auth]\nmode = \"none\"\n[server]\ndata_dir = \"data\"\n\
         [recording]\nmin_free_gib = 0\nmin_free_percent = 0\n\
         [[camera]]\nid = \"bench\"\n[camera.source]\nkind = \"command\"\nformat = \"h264\"\n\
         command = \"{ffmpeg}\"\n[camera.recording]\n{recording}\n"
    )
}

async fn measure(args: &RecordArgs) -> io::Result<()> {
    println!(
        "server {}; camera {}x{} at {} fps, {} kbit/s H.264 (libx264), {} s per run, {} runs each; {}",
        args.server_bin.display(),
        args.width,
        args.height,
        args.fps,
        args.kbit,
        args.seconds,
        args.runs,
        procfs::machine()
    );
    println!(
        "| run | recording | server CPU % of a core | ffmpeg CPU % | written MB/hour | dropped segments |\n|---:|---|---:|---:|---:|---:|"
    );
    let mut samples: Vec<(Mode, Sample)> = Vec::new();
    for run in 1..=args.runs {
        for mode in [Mode::Continuous, Mode::EventsNoMotion] {
            let s = one_run(args, mode).await?;
            println!(
                "| {run} | {} | {:.2} | {:.1} | {:.0} | {} |",
                mode.label(),
                s.server_percent,
                s.ffmpeg_percent,
                s.bytes_per_hour / 1e6,
                s.dropped
            );
            samples.push((mode, s));
        }
    }
    let median = |mode: Mode, f: fn(&Sample) -> f64| {
        let mut v: Vec<f64> = samples
            .iter()
            .filter(|(m, _)| *m == mode)
            .map(|(_, s)| f(s))
            .collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let cont = median(Mode::Continuous, |s| s.server_percent);
    let events = median(Mode::EventsNoMotion, |s| s.server_percent);
    println!(
        "\nmedian server CPU: continuous {cont:.2} %, events without motion {events:.2} % of a core; \
         writing costs {:.2} % of a core; {:.0} MB per hour on disk",
        cont - events,
        median(Mode::Continuous, |s| s.bytes_per_hour) / 1e6
    );
    Ok(())
}

async fn one_run(args: &RecordArgs, mode: Mode) -> io::Result<Sample> {
    let mut server = Server::start(&args.server_bin, &config_toml(args, mode)).await?;
    let pid = server.pid();
    tokio::time::sleep(WARM_UP).await;
    let ffmpeg = || {
        procfs::descendants(pid)
            .iter()
            .filter(|p| p.name == "ffmpeg")
            .map(|p| p.cpu_s)
            .sum::<f64>()
    };
    let (cpu0, ff0, bytes0) = (procfs::cpu_seconds(pid)?, ffmpeg(), written(&server).await);
    let start = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let (cpu1, ff1, bytes1) = (procfs::cpu_seconds(pid)?, ffmpeg(), written(&server).await);
    let wall = start.elapsed().as_secs_f64();
    let dropped = metric_sum(
        &metrics(&server).await,
        "lookout_recording_segments_dropped_total",
    );
    if let Some(status) = server.exited()? {
        return Err(server.failure(&format!("the server exited ({status}) while measured")));
    }
    server.stop().await?;
    Ok(Sample {
        server_percent: (cpu1 - cpu0) / wall * 100.0,
        ffmpeg_percent: (ff1 - ff0) / wall * 100.0,
        bytes_per_hour: (bytes1 - bytes0) / wall * 3600.0,
        dropped: dropped as u64,
    })
}

async fn metrics(server: &Server) -> String {
    match lookout_bench::get(server.addr, "/metrics", &[]).await {
        Ok(r) => String::from_utf8_lossy(&r.body).into_owned(),
        Err(_) => String::new(),
    }
}

async fn written(server: &Server) -> f64 {
    metric_sum(
        &metrics(server).await,
        "lookout_recording_bytes_written_total",
    )
}

/// The sum of a family's series in a `/metrics` text (0 when absent).
fn metric_sum(text: &str, family: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let rest = l.strip_prefix(family)?;
            if !(rest.starts_with('{') || rest.starts_with(' ')) {
                return None;
            }
            rest.rsplit(' ').next()?.parse::<f64>().ok()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_a_family_and_not_its_longer_named_neighbours() {
        let text = "# HELP x_total y\nx_total{camera=\"a\"} 3\nx_total{camera=\"b\"} 4\nx_total_more 100\n";
        assert_eq!(metric_sum(text, "x_total"), 7.0);
        assert_eq!(metric_sum(text, "absent"), 0.0);
    }

    #[test]
    fn both_configs_record_a_command_h264_camera_and_only_one_writes() {
        let args = RecordArgs {
            server_bin: "lookout".into(),
            width: 640,
            height: 360,
            fps: 15,
            kbit: 1000,
            seconds: 1,
            runs: 1,
        };
        let c = config_toml(&args, Mode::Continuous);
        assert!(c.contains("mode = \"continuous\""), "{c}");
        assert!(c.contains("testsrc2=size=640x360:rate=15"), "{c}");
        assert!(c.contains("-b:v 1000k"), "{c}");
        let e = config_toml(&args, Mode::EventsNoMotion);
        assert!(e.contains("mode = \"events\""), "{e}");
    }
}
