//! docs/guide/cameras.md, run: every `toml` block passes `lookout config check`, and the RTSP,
//! HTTP and Raspberry Pi examples stream through a real `lookout serve` with the guide's own
//! command lines, only the camera's address, path and password swapped for the test's.

use crate::support::{BIN, Running, free_port, jpeg_size, missing, read_parts, require};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The guide, read at build time so a changed example rebuilds and reruns these tests.
const GUIDE: &str = include_str!("../../../../docs/guide/cameras.md");
const SECS: Duration = Duration::from_secs(60);

/// The body of every ```toml block of the guide.
fn toml_blocks() -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in GUIDE.lines() {
        let fence = line.trim_start();
        match &mut current {
            None if fence == "```toml" => current = Some(String::new()),
            Some(body) if fence == "```" => {
                blocks.push(std::mem::take(body));
                current = None;
            }
            Some(body) => {
                // Blocks inside list items are indented as the item is.
                body.push_str(line.trim_start());
                body.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```toml block in the guide");
    blocks
}

/// The guide's example for camera `id`.
pub(crate) fn example(id: &str) -> String {
    let needle = format!("id = \"{id}\"");
    let found: Vec<String> = toml_blocks()
        .into_iter()
        .filter(|b| b.lines().any(|l| l.trim() == needle))
        .collect();
    assert_eq!(found.len(), 1, "the guide should have one example {needle}");
    found.into_iter().next().unwrap()
}

/// `text` with `from` replaced by `to`; `from` must be there, so a reworded example fails
/// here instead of silently testing something else.
pub(crate) fn swap(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "{from:?} is not in the example:\n{text}"
    );
    text.replace(from, to)
}

/// `lookout config check FILE` with extra environment variables.
fn config_check(file: &Path, env: &[(String, String)]) -> std::process::Output {
    Command::new(BIN)
        .args(["config", "check"])
        .arg(file)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run lookout config check")
}

#[test]
fn every_toml_example_in_the_guide_passes_config_check() {
    let blocks = toml_blocks();
    assert!(blocks.len() >= 8, "only {} toml blocks found", blocks.len());
    let dir = tempfile::tempdir().unwrap();
    let mut skipped = Vec::new();
    for (n, block) in blocks.iter().enumerate() {
        // Files the examples name under /etc/lookout are made in a temporary folder, and each
        // variable named by password_env is set, as a user would before the check.
        let etc = dir.path().join(format!("etc-{n}"));
        std::fs::create_dir_all(&etc).unwrap();
        let text = block.replace("/etc/lookout/", &format!("{}/", etc.display()));
        let table: toml::Table = toml::from_str(&text)
            .unwrap_or_else(|e| panic!("toml block {n} does not parse: {e}\n{block}"));
        let mut env = Vec::new();
        for cam in table["camera"].as_array().expect("a [[camera]] table") {
            let source = &cam["source"];
            if let Some(file) = source.get("password_file").and_then(|f| f.as_str()) {
                std::fs::write(file, "secret\n").unwrap();
            }
            if let Some(var) = source.get("password_env").and_then(|v| v.as_str()) {
                env.push((var.to_owned(), "secret".to_owned()));
            }
        }
        let file = dir.path().join(format!("example-{n}.toml"));
        std::fs::write(&file, &text).unwrap();
        let out = config_check(&file, &env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let v4l2_missing = stderr.contains("unknown variant `v4l2`")
            || stderr.contains("unknown field `controls`");
        if !out.status.success() && block.contains("kind = \"v4l2\"") && v4l2_missing {
            // The v4l2 source is being added next to this guide (issue 5): until its keys
            // exist, only its example may fail, and only because they are unknown.
            eprintln!("SKIPPED: v4l2 example {n} (the v4l2 source is not there yet): {stderr}");
            skipped.push(n);
            continue;
        }
        assert!(
            out.status.success(),
            "lookout config check refuses toml block {n}:\n{stderr}\n{block}"
        );
    }
    assert!(skipped.len() <= 1, "skipped {skipped:?}");
}

#[test]
fn the_rtsp_example_without_its_password_variable_says_so() {
    // The guide promises a clear line in the log instead of a try with an empty password.
    let table: toml::Table = toml::from_str(&example("driveway")).unwrap();
    let command = table["camera"][0]["source"]["command"].as_str().unwrap();
    let out = Command::new("sh")
        .args(["-c", command])
        .env_remove("DRIVEWAY_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DRIVEWAY_PASSWORD: is not set"), "{stderr}");
}

/// `lookout serve` in its own process, as a user runs it, killed on drop.
pub(crate) struct Lookout {
    pub(crate) addr: SocketAddr,
    child: Running,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Lookout {
    /// Serves `cameras` (the guide's examples) without logins on 127.0.0.1, port 0, with extra
    /// environment variables and `path_first` put in front of `PATH`.
    pub(crate) fn start(cameras: &str, env: &[(&str, &str)], path_first: Option<&Path>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("lookout.toml");
        std::fs::write(&config, format!("[auth]\nmode = \"none\"\n\n{cameras}")).unwrap();
        let log = dir.path().join("lookout.log");
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .env("LOOKOUT_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(first) = path_first {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let paths = std::iter::once(first.to_path_buf()).chain(std::env::split_paths(&path));
            cmd.env("PATH", std::env::join_paths(paths).unwrap());
        }
        let mut child = Running(cmd.spawn().expect("start lookout serve"));
        let stdout = child.0.stdout.take().unwrap();
        let line = first_line_with(stdout, "listening on ", SECS)
            .unwrap_or_else(|| panic!("lookout did not listen:\n{}", read_log(&log)));
        let addr = line
            .trim_start_matches("listening on http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("{line}: {e}"));
        Self {
            addr,
            child,
            log,
            _dir: dir,
        }
    }

    pub(crate) fn log(&self) -> String {
        read_log(&self.log)
    }

    /// Reads `n` frames of camera `id`'s stream and its snapshot; checks they are `size`.
    pub(crate) async fn check_camera(&self, id: &str, size: (u32, u32)) {
        let path = format!("/cameras/{id}/stream.mjpeg");
        let mut s = lookout_bench::open_stream(self.addr, &path, &[])
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        // "No signal" pictures may come first, while the program starts (an RTSP camera
        // takes about 2 s); once the camera's own pictures flow, every one must be its own.
        let mut live = 0;
        while live < 5 {
            let part = read_parts(&mut s, 1, SECS).await.remove(0);
            if part.header("x-lookout-no-signal").is_some() {
                assert_eq!(live, 0, "no signal after live pictures\n{}", self.log());
                continue;
            }
            assert_eq!(jpeg_size(&part.body), size);
            live += 1;
        }
        let r = self.get(&format!("/cameras/{id}/snapshot.jpg")).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.header("content-type"), Some("image/jpeg"));
        assert_eq!(jpeg_size(&r.body), size);
    }

    pub(crate) async fn get(&self, path: &str) -> lookout_bench::Response {
        tokio::time::timeout(SECS, lookout_bench::get(self.addr, path, &[]))
            .await
            .unwrap_or_else(|_| panic!("GET {path} timed out"))
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Polls `/api/cameras/ID` until `pred` holds.
    pub(crate) async fn wait_camera(&self, id: &str, pred: impl Fn(&serde_json::Value) -> bool) {
        let deadline = Instant::now() + SECS;
        loop {
            let r = self.get(&format!("/api/cameras/{id}")).await;
            let cam: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            if pred(&cam) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "camera {id}: {cam}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// SIGTERM, as systemd stops the service; waits for the exit.
    pub(crate) fn stop(mut self) {
        let pid = i32::try_from(self.child.0.id()).unwrap();
        // SAFETY: kill(2) on our own child, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.0.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "lookout ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_log(path: &Path) -> String {
    format!(
        "--- lookout's log ---\n{}",
        std::fs::read_to_string(path).unwrap_or_default()
    )
}

/// The first line of `out` starting with `prefix`, read on a thread (a child that hangs must
/// not hang the test); the rest of `out` is drained, so the child never writes to a closed
/// pipe.
fn first_line_with(
    out: impl std::io::Read + Send + 'static,
    prefix: &str,
    within: Duration,
) -> Option<String> {
    let (tx, rx) = mpsc::channel();
    let prefix = prefix.to_owned();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if !sent && line.starts_with(&prefix) {
                let _ = tx.send(line);
                sent = true;
            }
        }
    });
    rx.recv_timeout(within).ok()
}

/// Whether /usr/bin/python3 has GStreamer's RTSP server and the elements rtsp_server.py uses.
pub(crate) fn gstreamer_rtsp_available() -> bool {
    let probe = "import gi\n\
        gi.require_version('Gst', '1.0')\n\
        gi.require_version('GstRtspServer', '1.0')\n\
        from gi.repository import Gst, GstRtspServer\n\
        Gst.init(None)\n\
        missing = [e for e in ('videotestsrc', 'x264enc', 'rtph264pay', 'jpegenc', 'rtpjpegpay')\n\
                   if Gst.ElementFactory.find(e) is None]\n\
        assert not missing, missing\n";
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", probe])
        .output()
        .is_ok_and(|o| o.status.success());
    ok || missing(
        "GStreamer's RTSP server for /usr/bin/python3 (Debian packages `gir1.2-gst-rtsp-server-1.0` \
         `python3-gi` `gstreamer1.0-plugins-good` `gstreamer1.0-plugins-ugly`)",
    )
}

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// tests/rtsp/rtsp_server.py with a user and password; returns it and its port.
pub(crate) fn start_rtsp_camera(credentials: &str, size: (u32, u32)) -> (Running, u16) {
    let mut child = Running(
        Command::new("/usr/bin/python3")
            .arg(repo_path("tests/rtsp/rtsp_server.py"))
            .args(["--mjpeg", "--fps", "15", "--credentials", credentials])
            .args([
                "--width",
                &size.0.to_string(),
                "--height",
                &size.1.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start rtsp_server.py"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let ready = first_line_with(stdout, "READY ", SECS).expect("rtsp_server.py never got ready");
    let port = ready
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{ready}"));
    (child, port)
}

/// Processes whose command line contains `needle` (the children Lookout may leave behind).
fn processes_with(needle: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(needle))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtsp_examples_stream_from_gstreamers_rtsp_server_and_survive_a_stalled_camera() {
    if !require("ffmpeg", "ffmpeg") || !gstreamer_rtsp_available() {
        return;
    }
    let started = Instant::now();
    // A password with characters that must be percent-encoded in the URL, as the guide says.
    let (mut camera, port) = start_rtsp_camera("viewer:s3cret/p@ss", (640, 360));
    let encoded = "s3cret%2Fp%40ss";
    let address = format!("127.0.0.1:{port}");
    let driveway = swap(
        &example("driveway"),
        "192.168.1.30:554/stream1",
        &format!("{address}/cam"),
    );
    let gate = swap(
        &example("gate"),
        "192.168.1.31:554/mjpeg",
        &format!("{address}/mjpeg"),
    );
    // The password file that systemd's LoadCredential= would hand over.
    let terrace = swap(
        &example("terrace"),
        "192.168.1.33:554/stream1",
        &format!("{address}/cam"),
    );
    let credentials = tempfile::tempdir().unwrap();
    std::fs::write(credentials.path().join("terrace"), encoded).unwrap();
    let lookout = Lookout::start(
        &format!("{driveway}\n{gate}\n{terrace}"),
        &[
            ("DRIVEWAY_PASSWORD", encoded),
            ("GATE_PASSWORD", encoded),
            (
                "CREDENTIALS_DIRECTORY",
                credentials.path().to_str().unwrap(),
            ),
        ],
        None,
    );
    let t0 = Instant::now();
    lookout.check_camera("driveway", (640, 360)).await;
    let h264_first = t0.elapsed();
    let t1 = Instant::now();
    lookout.check_camera("gate", (640, 360)).await;
    let mjpeg_first = t1.elapsed();
    lookout.check_camera("terrace", (640, 360)).await;

    // The camera hangs without closing the connection: ffmpeg's -timeout and -xerror make it
    // exit, or Lookout's stall_timeout_ms ends it (both about 10 s), Lookout restarts it, and
    // once the camera answers again the pictures come back.
    let mut s = lookout_bench::open_stream(lookout.addr, "/cameras/driveway/stream.mjpeg", &[])
        .await
        .unwrap();
    read_parts(&mut s, 2, SECS).await;
    let camera_pid = i32::try_from(camera.0.id()).unwrap();
    // SAFETY: kill(2) on our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(camera_pid, libc::SIGSTOP) }, 0);
    let t2 = Instant::now();
    lookout
        .wait_camera("driveway", |c| {
            c["restarts"].as_u64() >= Some(1)
                && c["last_error"]
                    .as_str()
                    .is_some_and(|e| e.contains("exited") || e.contains("sent no frame"))
        })
        .await;
    let noticed = t2.elapsed();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(camera_pid, libc::SIGCONT) }, 0);
    let t3 = Instant::now();
    lookout
        .wait_camera("driveway", |c| c["online"] == true)
        .await;
    let back = t3.elapsed();
    let deadline = tokio::time::Instant::now() + SECS;
    // The open stream goes on: "no signal" pictures while it was down, the camera's after.
    loop {
        let p = tokio::time::timeout_at(deadline, s.next_part())
            .await
            .expect("no live picture after the camera came back")
            .unwrap()
            .expect("the stream ended");
        if p.header("x-lookout-no-signal").is_none() {
            assert_eq!(jpeg_size(&p.body), (640, 360));
            break;
        }
    }
    drop(s);

    // Stopping Lookout stops every ffmpeg it started (the examples `exec` it).
    lookout.stop();
    let needle = format!("@{address}/");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_with(&needle).is_empty() {
        assert!(
            Instant::now() < deadline,
            "left running: {:?}",
            processes_with(&needle)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = camera.0.kill();
    eprintln!(
        "timings: H.264 camera first 5 frames + snapshot {h264_first:?}, MJPEG camera {mjpeg_first:?}, \
         stall noticed after {noticed:?}, back after {back:?}, whole test {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_examples_read_ffmpegs_mjpeg_server_and_pythons_snapshot_server() {
    let python = Path::new("/usr/bin/python3").is_file()
        || missing("/usr/bin/python3 (Debian package `python3`)");
    if !require("ffmpeg", "ffmpeg") || !python {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The stream: ffmpeg's own HTTP server, one viewer, as a camera with one stream.
    let stream_port = free_port();
    let _stream_camera = Running(
        Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi"])
            .args([
                "-i",
                "testsrc2=size=640x360:rate=15",
                "-f",
                "mpjpeg",
                "-q:v",
                "5",
            ])
            .args([
                "-listen",
                "1",
                "-content_type",
                "multipart/x-mixed-replace;boundary=ffmpeg",
            ])
            .arg(format!("http://127.0.0.1:{stream_port}/video.mjpg"))
            .stdin(Stdio::null())
            // It complains of a broken pipe when Lookout leaves.
            .stderr(Stdio::null())
            .spawn()
            .expect("start ffmpeg"),
    );
    // The snapshot: a JPEG file served by Python's http.server (Content-Type image/jpeg).
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let made = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
        .args(["testsrc2=size=800x600", "-frames:v", "1"])
        .arg(www.join("snapshot.jpg"))
        .status()
        .unwrap();
    assert!(made.success());
    let snapshot_port = free_port();
    let _snapshot_camera = Running(
        Command::new("/usr/bin/python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(snapshot_port.to_string())
            .arg("--directory")
            .arg(&www)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server"),
    );
    // ffmpeg ignores the credentials; the http source's Basic auth is tested in `sources`.
    let password = dir.path().join("porch.password");
    std::fs::write(&password, "secret\n").unwrap();
    let porch = swap(
        &example("porch"),
        "192.168.1.20",
        &format!("127.0.0.1:{stream_port}"),
    );
    let porch = swap(
        &porch,
        "/etc/lookout/porch.password",
        &password.display().to_string(),
    );
    let garage = swap(
        &example("garage"),
        "192.168.1.21",
        &format!("127.0.0.1:{snapshot_port}"),
    );
    let lookout = Lookout::start(
        &format!("{porch}\n{garage}"),
        &[("GARAGE_PASSWORD", "secret")],
        None,
    );
    lookout.check_camera("porch", (640, 360)).await;
    lookout.check_camera("garage", (800, 600)).await;
    lookout.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raspberry_pi_example_streams_through_a_stand_in_rpicam_vid() {
    // The real rpicam-vid needs a Pi and a camera module: tests/cameras/rpicam-vid accepts the
    // same options (and refuses others) and writes ffmpeg's test picture at the asked size.
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let lookout = Lookout::start(&example("pi"), &[], Some(&repo_path("tests/cameras")));
    lookout.check_camera("pi", (1280, 720)).await;
    lookout.stop();
}
