//! `lookout-bench fanout`: for each viewer count, start a fresh server with one camera (the
//! built-in test pattern, ffmpeg's `testsrc2` as a `command` source sending MJPEG or H.264, or a
//! `files` source replaying a folder of `testsrc2` JPEGs), open that many viewers of
//! `stream.mjpeg` or `stream.mp4`, and measure delivered frame rates, latency, time to first
//! frame, server CPU per frame (user and system) and peak memory. `--server floor` measures the
//! bench's own minimal sender instead of Lookout; `--netns` puts the viewers in a network
//! namespace apart from the server's.

use super::credentials::Credentials;
use super::jpeg_folder::{self, JpegFolder};
use super::netns::Namespaces;
use super::report::{self, ChildrenCpu, RunResult};
use super::server::{self, Launch, Server};
use super::viewer::{self, StreamKind, Window};
use super::{procfs, runtime};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Viewers are opened `--ramp-batch` at a time (10 by default), one batch every
/// `RAMP_INTERVAL`: 1000 viewers join over one second, not in one burst the listen backlog
/// would have to absorb.
const RAMP_INTERVAL: Duration = Duration::from_millis(10);

/// How long after start the idle server's memory is read.
const IDLE_SETTLE: Duration = Duration::from_secs(2);

/// Sockets we keep for ourselves beyond one per viewer (stdio, the health probe, slack).
const SPARE_FDS: u64 = 64;

/// Connections the server accepts beyond one per viewer: the health probes while it starts.
const SPARE_CONNECTIONS: usize = 64;

#[derive(Debug, clap::Args)]
pub struct FanoutArgs {
    /// The `lookout` binary to measure, e.g. target/release/lookout (not needed with `--server
    /// floor`).
    #[arg(long, value_name = "PATH", required_unless_present = "server")]
    pub server_bin: Option<PathBuf>,
    /// What serves the viewers: Lookout (`--server-bin`), or `floor`, the least work any server
    /// must do to send the same bytes (`lookout-bench floor-server`: one thread, one `send` per
    /// viewer per frame; `--source files` only).
    #[arg(long, value_enum, default_value_t = ServerKind::Lookout)]
    pub server: ServerKind,
    /// Put the viewers in a network namespace of their own, joined to the server's by a veth
    /// pair (10.77.17.0/24), instead of on loopback. Lookout then runs with logins (it refuses
    /// `auth.mode = "none"` off loopback): the bench makes a user and token with the server's
    /// CLI and the viewers send it. Needs root (or run inside `unshare -r`), `ip` and `nsenter`.
    #[arg(long)]
    pub netns: bool,
    /// With `--netns`: a hex CPU mask for Receive Packet Steering on both veths (e.g. `2`), so
    /// the receive work runs on those CPUs' softirqs instead of in the sender's context.
    #[arg(long, value_name = "MASK", requires = "netns")]
    pub rps_cpus: Option<String>,
    /// Run the server on these CPUs only (`taskset -c LIST`, e.g. `0`): with `--rps-cpus` on the
    /// others, the receive work cannot land on the server's own CPU.
    #[arg(long, value_name = "LIST")]
    pub server_cpus: Option<String>,
    /// Viewer counts to measure, comma-separated; each gets a freshly started server.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100,500,1000")]
    pub viewers: Vec<usize>,
    /// Length of each measurement window, after the warm-up.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Seconds discarded after the last viewer joined, before measuring.
    #[arg(long, default_value_t = 2)]
    pub warmup_seconds: u64,
    /// The camera: Lookout's own test pattern (encoded by the server, ~25 KB at 720p), or
    /// ffmpeg's `testsrc2` piped in as MJPEG by a `command` source (passed through, ~50 KB at
    /// 720p; ffmpeg's CPU is reported apart from the server's), or a `files` source replaying
    /// 60 `testsrc2` JPEGs the bench writes with ffmpeg before the runs (passed through, no
    /// child process: the server's CPU is all of it).
    #[arg(long, value_enum, default_value_t = SourceKind::Testpattern)]
    pub source: SourceKind,
    /// What every viewer reads: the MJPEG stream, or the H.264 fragmented MP4 (for the test
    /// pattern and `ffmpeg`, the server then encodes H.264: build it with `--features openh264`).
    #[arg(long, value_enum, default_value_t = StreamKind::Mjpeg)]
    pub stream: StreamKind,
    /// Camera width.
    #[arg(long, default_value_t = 1280)]
    pub width: u32,
    /// Camera height.
    #[arg(long, default_value_t = 720)]
    pub height: u32,
    /// Camera frame rate.
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// MJPEG quality of the `ffmpeg` and `files` sources (ffmpeg's `-q:v`, 2 best to 31
    /// worst): 4 gives ~22 KB at 640x480 and ~50 KB at 1280x720; 25 at 320x240 about 4 KB.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(2..=31))]
    pub jpeg_quality: u32,
    /// Viewers that start connecting together, one batch every 10 ms: 10 lets 1000 viewers join
    /// in a second; more tests how fast the server accepts (the report gives each run's time
    /// from the first connect to the last viewer's first frame).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub ramp_batch: u64,
    /// Threads of the bench's own client. One reads 1000 viewers with room to spare; 10,000
    /// viewers at 10 fps (100,000 parts a second) need more, or the client is what limits.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub client_threads: u64,
}

/// Which server the viewers watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServerKind {
    /// `lookout serve`, the binary given by `--server-bin`.
    Lookout,
    /// `lookout-bench floor-server`: the same bytes with the least work (see `tool/floor.rs`).
    Floor,
}

/// What the bench camera is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceKind {
    /// `kind = "testpattern"`: the server draws and encodes each frame.
    Testpattern,
    /// `kind = "command"` running ffmpeg's `testsrc2` at `-q:v 4`: the server only splits and
    /// forwards JPEGs, as with a camera that sends MJPEG.
    Ffmpeg,
    /// `kind = "command"`, `format = "h264"`: ffmpeg's `testsrc2` through libx264 (veryfast,
    /// zerolatency, no B-frames, a key frame every 2 s), passed through as with an H.264 camera.
    FfmpegH264,
    /// `kind = "files"`: a folder of 60 `testsrc2` JPEGs (`-q:v` as `--jpeg-quality`), each read
    /// from disk and forwarded at `--fps`, as the issue 17 measurements did.
    Files,
}

impl SourceKind {
    /// For the report's header.
    pub fn describe(self, args: &FanoutArgs) -> String {
        let (w, h, fps) = (args.width, args.height, args.fps);
        match self {
            Self::Testpattern => format!("testpattern {w}x{h} at {fps} fps"),
            Self::Ffmpeg => format!(
                "command source: ffmpeg testsrc2 {w}x{h} at {fps} fps, MJPEG -q:v {}",
                args.jpeg_quality
            ),
            Self::Files => format!(
                "files source: {} JPEGs of ffmpeg testsrc2 {w}x{h} -q:v {}, replayed at {fps} fps",
                jpeg_folder::FRAME_COUNT,
                args.jpeg_quality
            ),
            Self::FfmpegH264 => format!(
                "command source: ffmpeg testsrc2 {w}x{h} at {fps} fps, H.264 libx264 veryfast CRF 23, \
                 key frame every 2 s"
            ),
        }
    }
}

/// The config before the camera, for `viewers` viewers: see [`config_toml`]. With `data_dir`
/// (the lines naming the data directory that holds the viewers' account), logins are on.
fn server_toml(viewers: usize, data_dir: Option<&str>) -> String {
    let most = viewers + SPARE_CONNECTIONS;
    // No logins on loopback (the server listens on 127.0.0.1 only, and a password check per
    // viewer is not what is measured); every viewer comes from one address: no per-address
    // limit (a per-address limit above `max_connections` turns it off, docs/ref/config.md).
    let auth = if data_dir.is_some() {
        ""
    } else {
        "[auth]\nmode = \"none\"\n\n"
    };
    format!(
        "{auth}[server]\n{}max_connections = {most}\nmax_connections_per_address = {}\n\n",
        data_dir.unwrap_or(""),
        most + 1
    )
}

pub fn run(args: &FanoutArgs) -> io::Result<()> {
    if args.viewers.is_empty() || args.viewers.contains(&0) || args.seconds == 0 {
        return Err(io::Error::other(
            "--viewers must be counts above 0 and --seconds above 0",
        ));
    }
    if args.server == ServerKind::Floor
        && (args.source != SourceKind::Files || args.stream != StreamKind::Mjpeg)
    {
        return Err(io::Error::other(
            "--server floor sends a files source's JPEGs as MJPEG only: add --source files",
        ));
    }
    let lookout_bin = args.server_bin.as_deref();
    // Viewers off loopback need an account on Lookout; the floor checks no credential.
    let credentials = match (args.netns, args.server, lookout_bin) {
        (true, ServerKind::Lookout, Some(bin)) => Some(Credentials::create(bin)?),
        (true, ServerKind::Lookout, None) => {
            return Err(io::Error::other("--server lookout needs --server-bin"));
        }
        _ => None,
    };
    let most = args.viewers.iter().copied().max().unwrap_or(0) as u64;
    let limit = procfs::raise_open_files_limit()?;
    if limit < most + SPARE_FDS {
        return Err(io::Error::other(format!(
            "the open-files limit is {limit}, too low for {most} viewers; raise the hard limit \
             (ulimit -Hn) to at least {}",
            most + SPARE_FDS
        )));
    }
    let mut camera = format!(
        "{}, viewers read {}, {} s measured after {} s warm-up",
        args.source.describe(args),
        args.stream.path(),
        args.seconds,
        args.warmup_seconds
    );
    let folder = match args.source {
        SourceKind::Files => {
            let f = JpegFolder::write(args.width, args.height, args.fps, args.jpeg_quality)?;
            camera.push_str(&format!(
                ", mean file {:.1} KB",
                f.mean_bytes as f64 / 1024.0
            ));
            Some(f)
        }
        _ => None,
    };
    if args.netns {
        camera.push_str(&format!(
            "; viewers in a network namespace of their own, over a veth pair{}",
            args.rps_cpus
                .as_deref()
                .map(|m| format!(" with RPS to CPU mask {m}"))
                .unwrap_or_default()
        ));
    }
    if let Some(cpus) = &args.server_cpus {
        camera.push_str(&format!("; server pinned to CPUs {cpus}"));
    }
    let header = match (args.server, lookout_bin) {
        (ServerKind::Lookout, Some(bin)) => report::Header::capture(bin, camera),
        (ServerKind::Lookout, None) => {
            return Err(io::Error::other("--server lookout needs --server-bin"));
        }
        (ServerKind::Floor, _) => report::Header::capture(&std::env::current_exe()?, camera)
            .with_server("lookout-bench floor-server (one thread; see tool/floor.rs)"),
    };
    // Before the runtime: its threads must start in the viewers' namespace.
    let namespaces = if args.netns {
        Some(Namespaces::create(args.rps_cpus.as_deref())?)
    } else {
        None
    };
    let mut wrapper = namespaces
        .as_ref()
        .map(Namespaces::wrapper)
        .unwrap_or_default();
    if let Some(cpus) = &args.server_cpus {
        // taskset execs the server too, so the child's pid stays the server's.
        wrapper.extend(["taskset".into(), "-c".into(), cpus.into()]);
    }
    let setup = Setup {
        wrapper,
        netns: namespaces.is_some(),
        token: credentials.as_ref().map(|c| Arc::from(c.token.as_str())),
        folder: folder.as_ref().map(|f| f.path().to_path_buf()),
    };
    let data_dir = credentials
        .as_ref()
        .map(Credentials::data_dir_toml)
        .transpose()?;
    let rt = runtime::with_threads(usize::try_from(args.client_threads).unwrap_or(1))?;
    let mut runs = Vec::new();
    let mut idle_rss_kib = None;
    for (i, &n) in args.viewers.iter().enumerate() {
        eprintln!("fanout: {n} viewer(s)…");
        let config = config_toml(
            args,
            n,
            folder.as_ref().map(JpegFolder::path),
            data_dir.as_deref(),
        )?;
        let (run, idle) = rt.block_on(run_one(args, &setup, &config, n, i))?;
        idle_rss_kib = idle_rss_kib.or(idle);
        eprintln!("fanout: {n} viewer(s): {}", report::one_line(&run));
        runs.push(run);
    }
    report::print(&header, idle_rss_kib, &runs);
    Ok(())
}

/// The server's config for `viewers` viewers; `files_dir` is the folder a `files` source plays;
/// `data_dir` as for [`server_toml`].
fn config_toml(
    args: &FanoutArgs,
    viewers: usize,
    files_dir: Option<&Path>,
    data_dir: Option<&str>,
) -> io::Result<String> {
    let (w, h, fps) = (args.width, args.height, args.fps);
    let source = match args.source {
        SourceKind::Testpattern => {
            format!("kind = \"testpattern\"\nwidth = {w}\nheight = {h}\nfps = {fps}\n")
        }
        SourceKind::Files => {
            let dir = files_dir
                .ok_or_else(|| io::Error::other("--source files needs its folder of JPEGs"))?;
            let dir = dir.to_str().ok_or_else(|| {
                io::Error::other(format!(
                    "{} is not UTF-8: TOML cannot hold it",
                    dir.display()
                ))
            })?;
            format!(
                "kind = \"files\"\ndir = {}\nfps = {fps}\n",
                jpeg_folder::toml_string(dir)
            )
        }
        SourceKind::Ffmpeg | SourceKind::FfmpegH264 => {
            let lavfi = format!("testsrc2=size={w}x{h}:rate={fps}");
            let quality = args.jpeg_quality.to_string();
            let gop = (fps * 2).to_string();
            let mut argv = vec![
                "ffmpeg",
                "-hide_banner",
                "-loglevel",
                "error",
                "-re",
                "-f",
                "lavfi",
                "-i",
                &lavfi,
            ];
            let format = if args.source == SourceKind::Ffmpeg {
                argv.extend(["-f", "mjpeg", "-q:v", &quality, "-"]);
                ""
            } else {
                argv.extend([
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    "-tune",
                    "zerolatency",
                    "-bf",
                    "0",
                    "-g",
                    &gop,
                    "-f",
                    "h264",
                    "-",
                ]);
                "format = \"h264\"\n"
            };
            let quoted: Vec<String> = argv.iter().map(|a| format!("\"{a}\"")).collect();
            format!(
                "kind = \"command\"\ncommand = [{}]\n{format}",
                quoted.join(", ")
            )
        }
    };
    Ok(format!(
        "{}[[camera]]\nid = \"bench\"\n[camera.source]\n{source}",
        server_toml(viewers, data_dir)
    ))
}

/// What every run of one bench shares.
struct Setup {
    /// How the server is started in its network namespace (empty on loopback).
    wrapper: Vec<std::ffi::OsString>,
    netns: bool,
    /// The viewers' API token, when the server wants logins.
    token: Option<Arc<str>>,
    /// The `files` source's folder.
    folder: Option<PathBuf>,
}

/// The `index`th server start, with `viewers` viewers; the first measures its memory at rest.
async fn run_one(
    args: &FanoutArgs,
    setup: &Setup,
    config_toml: &str,
    viewers: usize,
    index: usize,
) -> io::Result<(RunResult, Option<u64>)> {
    let addr = if setup.netns {
        // Our own namespace: nobody else holds its ports. A fresh port per run keeps the last
        // run's connections in TIME_WAIT out of the way.
        Namespaces::server_addr(20_000 + u16::try_from(index % 10_000).unwrap_or(0))
    } else {
        server::free_port()?
    };
    let launch = Launch {
        wrapper: setup.wrapper.clone(),
        addr,
        env: Vec::new(),
    };
    let mut server = match (args.server, args.server_bin.as_deref(), &setup.folder) {
        (ServerKind::Lookout, Some(bin), _) => {
            Server::start_lookout(bin, config_toml, &launch).await?
        }
        (ServerKind::Floor, _, Some(folder)) => {
            Server::start_floor(folder, args.fps, &launch).await?
        }
        _ => return Err(io::Error::other("no server to start")),
    };
    let measure_idle = index == 0;
    let pid = server.pid();
    let idle_rss_kib = if measure_idle {
        tokio::time::sleep(IDLE_SETTLE).await;
        Some(procfs::memory(pid)?.rss_kib)
    } else {
        None
    };

    let ramp_start = Instant::now();
    let ramp_batch = usize::try_from(args.ramp_batch).unwrap_or(usize::MAX);
    let batches = viewers.div_ceil(ramp_batch) as u32;
    let ramp_end = ramp_start + RAMP_INTERVAL * batches;
    let start = ramp_end + Duration::from_secs(args.warmup_seconds);
    let window = Window {
        start,
        end: start + Duration::from_secs(args.seconds),
    };
    let mut tasks = JoinSet::new();
    for batch in 0..batches {
        tokio::time::sleep_until(ramp_start + RAMP_INTERVAL * batch).await;
        let first = batch as usize * ramp_batch;
        for _ in first..viewers.min(first.saturating_add(ramp_batch)) {
            tasks.spawn(viewer::run(
                server.addr,
                args.stream,
                window,
                args.fps,
                setup.token.clone(),
            ));
        }
    }

    tokio::time::sleep_until(window.start).await;
    // The server's own utime + stime counts none of its children (ffmpeg), which are read apart.
    let server_cpu0 = procfs::cpu_split(pid)?;
    let children0 = procfs::descendants(pid);
    let client_cpu0 = procfs::cpu_seconds(std::process::id())?;
    tokio::time::sleep_until(window.end).await;
    let server_split = procfs::cpu_split(pid)? - server_cpu0;
    let children = procfs::descendants(pid);
    let client_cpu = procfs::cpu_seconds(std::process::id())? - client_cpu0;
    let peak_rss_kib = procfs::memory(pid)?.peak_kib;
    let children = ChildrenCpu::between(&children0, &children);

    let mut reports = Vec::with_capacity(viewers);
    while let Some(r) = tasks.join_next().await {
        reports.push(r.map_err(io::Error::other)?);
    }
    if let Some(status) = server.exited()? {
        return Err(server.failure(&format!("the server exited ({status}) during the run")));
    }
    let (stop_time, killed) = server.stop().await?;
    let run = RunResult {
        viewers,
        seconds: args.seconds as f64,
        reports,
        ramp_start,
        ramp: RAMP_INTERVAL * batches.saturating_sub(1),
        server_cpu_s: server_split.user_s + server_split.system_s,
        server_split,
        children,
        client_cpu_s: client_cpu,
        peak_rss_kib,
        stop_time,
        killed,
    };
    Ok((run, idle_rss_kib))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: FanoutArgs,
    }

    fn args(extra: &[&str]) -> FanoutArgs {
        let argv = ["fanout", "--server-bin", "lookout"].iter().chain(extra);
        Cli::try_parse_from(argv).expect("valid arguments").args
    }

    #[test]
    fn testpattern_is_the_default_source() {
        let a = args(&["--width", "640", "--height", "480", "--fps", "15"]);
        assert_eq!(a.source, SourceKind::Testpattern);
        assert_eq!(
            config_toml(&a, 100, None, None).expect("config"),
            format!(
                "{}[[camera]]\nid = \"bench\"\n[camera.source]\nkind = \"testpattern\"\n\
             width = 640\nheight = 480\nfps = 15\n",
                server_toml(100, None)
            )
        );
    }

    #[test]
    fn ffmpeg_source_is_a_command_with_the_size_and_rate() {
        let a = args(&["--source", "ffmpeg", "--width", "1920", "--height", "1080"]);
        assert_eq!(
            config_toml(&a, 1, None, None).expect("config"),
            format!(
                "{}[[camera]]\nid = \"bench\"\n[camera.source]\nkind = \"command\"\n\
             command = [\"ffmpeg\", \"-hide_banner\", \"-loglevel\", \"error\", \"-re\", \
             \"-f\", \"lavfi\", \"-i\", \"testsrc2=size=1920x1080:rate=30\", \"-f\", \"mjpeg\", \
             \"-q:v\", \"4\", \"-\"]\n",
                server_toml(1, None)
            )
        );
        assert!(Cli::try_parse_from(["fanout", "--server-bin", "x", "--source", "v4l2"]).is_err());
    }

    #[test]
    fn ffmpeg_h264_source_passes_libx264_annex_b_through() {
        let a = args(&["--source", "ffmpeg-h264", "--stream", "mp4", "--fps", "25"]);
        assert_eq!(a.stream.path(), "/cameras/bench/stream.mp4");
        let toml = config_toml(&a, 1, None, None).expect("config");
        assert!(
            toml.contains("\"libx264\", \"-preset\", \"veryfast\"")
                && toml.contains("\"-g\", \"50\", \"-f\", \"h264\", \"-\"]\nformat = \"h264\"\n"),
            "{toml}"
        );
    }

    #[test]
    fn files_source_plays_the_folder_at_the_rate() {
        let a = args(&["--source", "files", "--width", "640", "--height", "480"]);
        assert_eq!(a.jpeg_quality, 4);
        let toml =
            config_toml(&a, 1, Some(Path::new("/tmp/lookout-bench-1-0")), None).expect("config");
        assert_eq!(
            toml,
            format!(
                "{}[[camera]]\nid = \"bench\"\n[camera.source]\nkind = \"files\"\n\
                 dir = \"/tmp/lookout-bench-1-0\"\nfps = 30\n",
                server_toml(1, None)
            )
        );
        assert!(
            config_toml(&a, 1, None, None).is_err(),
            "no folder, no config"
        );
        assert!(a.source.describe(&a).starts_with("files source: 60 JPEGs"));
        let low = args(&["--source", "files", "--jpeg-quality", "25", "--fps", "10"]);
        assert_eq!(low.jpeg_quality, 25);
        assert!(
            Cli::try_parse_from(["fanout", "--server-bin", "x", "--jpeg-quality", "1"]).is_err()
        );
    }

    #[test]
    fn the_connection_limit_follows_the_viewer_count() {
        let toml = server_toml(10_000, None);
        assert!(
            toml.contains("max_connections = 10064\nmax_connections_per_address = 10065\n"),
            "{toml}"
        );
        assert!(server_toml(1, None).contains("max_connections = 65\n"));
    }

    #[test]
    fn logins_are_on_with_the_accounts_data_dir() {
        let toml = server_toml(10, Some("data_dir = \"/tmp/x\"\n"));
        assert_eq!(
            toml,
            "[server]\ndata_dir = \"/tmp/x\"\nmax_connections = 74\n\
             max_connections_per_address = 75\n\n"
        );
        assert!(server_toml(10, None).starts_with("[auth]\nmode = \"none\"\n"));
    }

    #[test]
    fn the_floor_needs_no_lookout_binary_but_lookout_does() {
        let floor = Cli::try_parse_from(["fanout", "--server", "floor", "--source", "files"])
            .expect("valid")
            .args;
        assert_eq!(floor.server, ServerKind::Floor);
        assert!(floor.server_bin.is_none() && !floor.netns);
        assert!(
            Cli::try_parse_from(["fanout"]).is_err(),
            "lookout needs --server-bin"
        );
        assert!(
            Cli::try_parse_from(["fanout", "--server-bin", "x", "--rps-cpus", "2"]).is_err(),
            "RPS only with --netns"
        );
        let ns = args(&["--netns", "--rps-cpus", "2"]);
        assert_eq!((ns.netns, ns.rps_cpus.as_deref()), (true, Some("2")));
    }
}
