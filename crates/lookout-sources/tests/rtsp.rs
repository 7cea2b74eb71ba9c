//! The RTSP source against a real camera stand-in: GStreamer's RTSP server
//! (tests/rtsp/rtsp_server.py, x264enc and jpegenc) on 127.0.0.1, under the real supervisor.
//! What Lookout makes of the H.264 stream is checked by ffprobe and ffmpeg on the fragmented
//! MP4 the hub's video track writes.
//!
//! Needs gir1.2-gst-rtsp-server-1.0, python3-gi, gstreamer1.0-plugins-good/-ugly and ffmpeg
//! (scripts/test.sh installs them). Under LOOKOUT_TEST_STRICT=1 or CI=true their absence fails
//! the tests; otherwise the tests say so and pass.
#![allow(clippy::unwrap_used)]

use lookout_core::{CameraHub, FrameKind, SourceState, VideoFrame};
use lookout_sources::rtsp::{Credentials, RtspSource, RtspTransport};
use lookout_sources::{SupervisorConfig, supervise};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

const PYTHON: &str = "/usr/bin/python3";
const SERVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/rtsp/rtsp_server.py"
);
/// Generous: GStreamer starts in well under a second, but the machine is shared.
const PATIENCE: Duration = Duration::from_secs(60);
const SIZE: (u32, u32) = (640, 360);

fn strict() -> bool {
    std::env::var("LOOKOUT_TEST_STRICT").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// GStreamer's RTSP server with x264enc and jpegenc for /usr/bin/python3, and ffprobe.
fn installed() -> bool {
    let probe = "import gi\n\
        gi.require_version('Gst', '1.0')\n\
        gi.require_version('GstRtspServer', '1.0')\n\
        from gi.repository import Gst, GstRtspServer\n\
        Gst.init(None)\n\
        missing = [e for e in ('videotestsrc', 'x264enc', 'rtph264pay', 'jpegenc', 'rtpjpegpay')\n\
                   if Gst.ElementFactory.find(e) is None]\n\
        assert not missing, missing\n";
    let gst = Command::new(PYTHON)
        .args(["-c", probe])
        .output()
        .is_ok_and(|o| o.status.success());
    let ffprobe = Command::new("ffprobe")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if gst && ffprobe {
        return true;
    }
    let what = "GStreamer's RTSP server or ffprobe (Debian gir1.2-gst-rtsp-server-1.0 python3-gi \
                gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly ffmpeg)";
    if strict() {
        panic!("{what} is missing; scripts/test.sh installs it");
    }
    eprintln!("SKIPPED: {what} is missing; scripts/test.sh installs it");
    false
}

/// rtsp_server.py, killed on drop.
struct Camera {
    child: Child,
    port: u16,
}

impl Camera {
    /// On `port` (0: any free one), with `USER:PASSWORD` Basic auth when given.
    fn start(port: u16, credentials: Option<&str>) -> Self {
        Self::start_with(port, credentials, &[])
    }

    fn start_with(port: u16, credentials: Option<&str>, extra: &[&str]) -> Self {
        let mut cmd = Command::new(PYTHON);
        cmd.arg(SERVER)
            .args(["--mjpeg", "--fps", "15", "--port", &port.to_string()])
            .args([
                "--width",
                &SIZE.0.to_string(),
                "--height",
                &SIZE.1.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if let Some(c) = credentials {
            cmd.args(["--credentials", c]);
        }
        cmd.args(extra);
        let mut child = cmd.spawn().expect("start rtsp_server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("READY rtsp://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("rtsp_server.py said {line:?}"));
        Self { child, port }
    }

    fn url(&self, path: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A source under the real supervisor, as Lookout runs it; stops on drop.
struct Running {
    hub: Arc<CameraHub>,
    cancel: CancellationToken,
}

impl Running {
    fn start(source: RtspSource) -> Self {
        let hub = CameraHub::new("cam", 80);
        let cancel = CancellationToken::new();
        let cfg = SupervisorConfig {
            keep_warm: true,
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(1),
            ..SupervisorConfig::default()
        };
        tokio::spawn(supervise(
            hub.clone(),
            Arc::new(source),
            cfg,
            cancel.clone(),
        ));
        Self { hub, cancel }
    }

    async fn wait_state(&self, state: SourceState) -> lookout_core::SourceStatus {
        let mut status = self.hub.watch_status();
        let wait = status.wait_for(|s| s.state == state);
        match tokio::time::timeout(PATIENCE, wait).await {
            Ok(Ok(s)) => s.clone(),
            _ => panic!("not {state:?} within {PATIENCE:?}: {:?}", self.hub.status()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The next `n` H.264 frames.
async fn frames(rx: &mut broadcast::Receiver<Arc<VideoFrame>>, n: usize) -> Vec<Arc<VideoFrame>> {
    let mut out = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while out.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(f)) => out.push(f),
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!("{} of {n} H.264 frames, then {other:?}", out.len()),
        }
    }
    out
}

/// `frames` as a fragmented MP4 file (the init segment of the first, each one's fragment),
/// checked by ffprobe: H.264, the camera's size, every frame there; ffmpeg decodes it cleanly.
fn check_with_ffprobe(frames: &[Arc<VideoFrame>], dir: &Path) {
    let path = dir.join("rtsp.mp4");
    let mut file = frames[0].init.to_vec();
    for f in frames {
        assert_eq!(f.epoch, frames[0].epoch, "the codec parameters changed");
        file.extend_from_slice(&f.fragment);
    }
    std::fs::write(&path, file).unwrap();
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
        ])
        .args(["-of", "csv=p=0"])
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    let expected = format!("h264,{},{},{}", SIZE.0, SIZE.1, frames.len());
    assert_eq!(
        said.trim(),
        expected,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        decode.status.success() && decode.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&decode.stderr)
    );
}

fn source(url: &str, credentials: Option<(&str, &str)>, transport: RtspTransport) -> RtspSource {
    let credentials = credentials.map(|(u, p)| Credentials {
        username: u.to_owned(),
        password: p.to_owned(),
    });
    RtspSource::new(url, credentials, transport).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_passes_through_over_tcp_and_udp() {
    if !installed() {
        return;
    }
    let camera = Camera::start(0, None);
    let dir = tempfile::tempdir().unwrap();
    for transport in [RtspTransport::Tcp, RtspTransport::Udp] {
        let running = Running::start(source(&camera.url("cam"), None, transport));
        let (_, mut rx) = running.hub.video().join();
        let got = frames(&mut rx, 30).await;
        // The track starts on a key frame; the camera sends one a second (15 frames).
        assert!(
            got[0].is_key(),
            "{transport:?}: first frame not a key frame"
        );
        assert!(
            got.iter().filter(|f| f.is_key()).count() >= 2,
            "{transport:?}"
        );
        assert!(
            got.windows(2).all(|w| w[1].pts_90k > w[0].pts_90k),
            "{transport:?}: RTP times not rising"
        );
        let params = &got[0].params;
        assert_eq!((params.width(), params.height()), SIZE, "{transport:?}");
        check_with_ffprobe(&got, dir.path());
        assert_eq!(running.hub.status().state, SourceState::Online);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_credentials_open_the_stream_and_wrong_ones_say_what_to_check() {
    if !installed() {
        return;
    }
    let camera = Camera::start(0, Some("viewer:s3cret/p@ss"));
    let right = Running::start(source(
        &camera.url("cam"),
        Some(("viewer", "s3cret/p@ss")),
        RtspTransport::Tcp,
    ));
    let (_, mut rx) = right.hub.video().join();
    assert!(frames(&mut rx, 5).await[0].is_key());
    drop(right);

    let wrong = Running::start(source(
        &camera.url("cam"),
        Some(("viewer", "not-the-password")),
        RtspTransport::Tcp,
    ));
    let status = wrong.wait_state(SourceState::Offline).await;
    let said = status.last_error.unwrap_or_default();
    assert!(
        said.starts_with("RTSP camera refused the credentials (401): check username/password_file"),
        "{said}"
    );
    assert!(
        !said.contains("not-the-password") && !said.contains("s3cret"),
        "{said}"
    );

    // Without credentials at all: the same advice.
    let none = Running::start(source(&camera.url("cam"), None, RtspTransport::Tcp));
    let said = none.wait_state(SourceState::Offline).await.last_error;
    assert!(said.is_some_and(|e| e.contains("(401)")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_credentials_open_the_stream_and_wrong_ones_are_refused() {
    if !installed() {
        return;
    }
    let camera = Camera::start_with(0, Some("viewer:s3cret"), &["--digest"]);
    let right = Running::start(source(
        &camera.url("cam"),
        Some(("viewer", "s3cret")),
        RtspTransport::Tcp,
    ));
    let (_, mut rx) = right.hub.video().join();
    assert!(frames(&mut rx, 5).await[0].is_key());
    drop(right);
    let wrong = Running::start(source(
        &camera.url("cam"),
        Some(("viewer", "s3cret2")),
        RtspTransport::Tcp,
    ));
    let said = wrong.wait_state(SourceState::Offline).await.last_error;
    assert!(
        said.as_deref()
            .is_some_and(|e| e.contains("refused the credentials (401)") && !e.contains("s3cret")),
        "{said:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_that_restarts_goes_offline_then_online_and_resumes_on_a_key_frame() {
    if !installed() {
        return;
    }
    let mut camera = Camera::start(0, None);
    let port = camera.port;
    let running = Running::start(source(&camera.url("cam"), None, RtspTransport::Tcp));
    let (_, mut rx) = running.hub.video().join();
    let before = frames(&mut rx, 20).await;
    let last_before = before.last().unwrap().clone();

    // The camera dies mid-stream (power cut: no TEARDOWN, the connection just ends).
    camera.child.kill().unwrap();
    camera.child.wait().unwrap();
    let status = running.wait_state(SourceState::Offline).await;
    let said = status.last_error.unwrap_or_default();
    assert!(said.starts_with("RTSP camera rtsp://127.0.0.1:"), "{said}");

    let camera = Camera::start(port, None);
    running.wait_state(SourceState::Online).await;
    let after = frames(&mut rx, 20).await;
    assert!(
        after[0].is_key(),
        "the first picture after the restart is not a key frame"
    );
    assert!(after[0].seq > last_before.seq);
    // The track's time goes on rising across the restart (players see no jump back).
    assert!(after[0].track_time_90k > last_before.track_time_90k);
    assert!(running.hub.status().restarts >= 1);
    drop(camera);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mjpeg_over_rtsp_becomes_jpeg_frames() {
    if !installed() {
        return;
    }
    let camera = Camera::start(0, None);
    let running = Running::start(source(&camera.url("mjpeg"), None, RtspTransport::Tcp));
    let mut latest = running.hub.subscribe();
    let wait = latest.wait_for(|f| f.as_ref().is_some_and(|f| f.kind == FrameKind::Live));
    let frame = match tokio::time::timeout(PATIENCE, wait).await {
        Ok(Ok(f)) => f.clone().unwrap(),
        _ => panic!("no JPEG within {PATIENCE:?}: {:?}", running.hub.status()),
    };
    assert_eq!((frame.width, frame.height), SIZE);
    let info = lookout_core::jpeg::inspect(&frame.jpeg).unwrap();
    assert_eq!((info.width, info.height), SIZE);
    // And a real decoder agrees.
    let decoded = lookout_core::jpeg::decode_rgb(&frame.jpeg);
    assert!(decoded.is_ok(), "{:?}", decoded.err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_the_camera_does_not_have_is_not_found() {
    if !installed() {
        return;
    }
    let camera = Camera::start(0, None);
    let running = Running::start(source(
        &camera.url("nothing-here"),
        None,
        RtspTransport::Tcp,
    ));
    let said = running
        .wait_state(SourceState::Offline)
        .await
        .last_error
        .unwrap_or_default();
    assert!(
        said.contains("has no stream at") && said.contains("(404)"),
        "{said}"
    );
}
