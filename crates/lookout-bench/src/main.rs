//! `lookout-bench`: measures Lookout. `fanout` starts the server (or `floor-server`, the least
//! any server must do to send the same MJPEG) and opens 1 to 10,000 MJPEG viewers on it; `jpeg` times the JPEG encode, decode and resize that every frame costs;
//! `memory` reads the server's memory at rest, with 1000 stalled viewers and after they were
//! dropped; `motion` times motion detection per frame; `record` measures a recording camera's CPU;
//! `ros` times ROS image messages to JPEG; `watch` reads any MJPEG stream and prints its rate, as
//! a smoke test of the client; `webrtc` (feature `webrtc`) measures the server's CPU per WebRTC peer;
//! `webrtc-latency` measures glass-to-glass latency into headless Chromium.

mod tool;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "lookout-bench",
    version,
    about = "Benchmarks for the Lookout camera server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start `lookout serve` with a test-pattern or ffmpeg camera and measure it under 1 to 1000
    /// viewers.
    Fanout(tool::fanout::FanoutArgs),
    /// The least work any server must do to deliver the same MJPEG bytes as Lookout (one
    /// thread, one send per viewer per frame): what `fanout --server floor` runs.
    #[command(hide = true)]
    FloorServer(tool::floor::FloorArgs),
    /// Time JPEG encode, decode and resize at 720p and 1080p with the compiled-in backend, on
    /// noisy and smooth synthetic images and optionally a picture from a file.
    Jpeg(tool::jpeg::JpegArgs),
    /// Start `lookout serve` with a test-pattern camera and read its memory at rest, with 1000
    /// stalled viewers, and after the server dropped them.
    Memory(tool::memory::MemoryArgs),
    /// Time motion detection per frame at 720p and 1080p: reducing the JPEG (block means or a
    /// luma decode), the detector alone, and both together.
    Motion(tool::motion::MotionArgs),
    /// The server's CPU for one camera recording a pass-through H.264 source continuously
    /// (reading the camera included), and the bytes it writes per hour.
    Record(tool::record::RecordArgs),
    /// Time a 1280x720 ROS image message to JPEG per frame, and the latency through a ROS
    /// topic source at 30 Hz.
    Ros(tool::ros::RosArgs),
    /// Read an MJPEG stream and print frames per second, sizes and latency.
    Watch(tool::watch::WatchArgs),
    /// Start `lookout serve` (built with `--features webrtc`) with an H.264 camera and
    /// measure its CPU with 1 to 50 WebRTC peers (build this tool with `--features webrtc`).
    #[cfg(feature = "webrtc")]
    Webrtc(tool::webrtc::WebRtcArgs),
    /// Glass-to-glass latency over WebRTC: frames with the time drawn in them, through ffmpeg's
    /// libx264 and `lookout serve` (built with `--features webrtc`) into headless Chromium
    /// playing the camera page, which reads the time back from each frame it shows.
    WebrtcLatency(tool::webrtc_latency::WebRtcLatencyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fanout(args) => tool::fanout::run(&args),
        Command::FloorServer(args) => tool::floor::run(&args),
        Command::Jpeg(args) => tool::jpeg::run(&args),
        Command::Memory(args) => tool::memory::run(&args),
        Command::Motion(args) => tool::motion::run(&args),
        Command::Record(args) => tool::record::run(&args),
        Command::Ros(args) => tool::ros::run(&args),
        Command::Watch(args) => tool::watch::run(&args),
        #[cfg(feature = "webrtc")]
        Command::Webrtc(args) => tool::webrtc::run(&args),
        Command::WebrtcLatency(args) => tool::webrtc_latency::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lookout-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
