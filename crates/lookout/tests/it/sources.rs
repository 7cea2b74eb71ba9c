//! Each source kind against the real server: command (ffmpeg), http (another Lookout), files,
//! and a source that fails.

use crate::support::{BIN, TestServer, camera, jpeg_size, read_parts, require, testpattern};
use std::time::Duration;

const SECS: Duration = Duration::from_secs(30);

fn ffmpeg_command(extra_shell: &str, size: &str, rate: u32) -> String {
    format!(
        "kind = \"command\"\ncommand = [\"sh\", \"-c\", \"{extra_shell}exec ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size={size}:rate={rate} -f mjpeg -q:v 5 -\"]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_source_streams_ffmpeg_and_comes_back_after_a_kill() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let source = ffmpeg_command(&format!("echo $$ > {}; ", pidfile.display()), "320x240", 15);
    let srv = TestServer::start(&camera("cmd", "keep_warm = true", &source)).await;
    srv.wait_camera("cmd", SECS, |c| c["online"] == true).await;
    let mut s = srv.stream("/cameras/cmd/stream.mjpeg").await;
    let parts = read_parts(&mut s, 5, SECS).await;
    assert_eq!(jpeg_size(&parts[4].body), (320, 240));

    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::fs::remove_file(&pidfile).unwrap();
    // SAFETY: kill(2) on a pid we just read; the worst case is ESRCH.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let cam = srv
        .wait_camera("cmd", SECS, |c| c["restarts"].as_u64() >= Some(1))
        .await;
    assert!(
        cam["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("exited")),
        "{cam}"
    );
    srv.wait_camera("cmd", SECS, |c| c["online"] == true).await;
    let new_pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(pid, new_pid);
    // The open stream went on through the restart.
    read_parts(&mut s, 5, SECS).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_gives_503_snapshots_and_no_signal_frames_at_least_once_a_second() {
    let source = "kind = \"command\"\ncommand = [\"/nonexistent/camera-program\"]\n";
    let srv = TestServer::start(&camera("dead", "", source)).await;
    let mut s = srv.stream("/cameras/dead/stream.mjpeg").await;
    let parts = read_parts(&mut s, 3, SECS).await;
    for p in &parts {
        assert_eq!(p.header("x-lookout-no-signal"), Some("1"));
        assert_eq!(jpeg_size(&p.body), (640, 360));
    }
    let gap = parts[2]
        .received_at
        .duration_since(parts[1].received_at)
        .unwrap_or_default();
    assert!(
        gap <= Duration::from_millis(1500),
        "no-signal frames {gap:?} apart"
    );
    let r = srv.get("/cameras/dead/snapshot.jpg").await;
    assert_eq!(r.status, 503);
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["state"], "offline", "{body}");
    assert!(
        body["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot start")),
        "{body}"
    );
    let cam = srv.json("/api/cameras/dead").await;
    assert_eq!(cam["online"], false);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_source_reads_another_lookouts_stream_and_snapshots() {
    let upstream = TestServer::start(&testpattern("up", 320, 180, 15)).await;
    let a = upstream.addr;
    let config = format!(
        "{}{}",
        camera(
            "mjpeg",
            "",
            &format!("kind = \"http\"\nurl = \"http://{a}/cameras/up/stream.mjpeg\"\n")
        ),
        camera(
            "still",
            "",
            &format!(
                "kind = \"http\"\nurl = \"http://{a}/cameras/up/snapshot.jpg\"\npoll_fps = 5\n"
            )
        ),
    );
    let srv = TestServer::start(&config).await;
    let mut s = srv.stream("/cameras/mjpeg/stream.mjpeg").await;
    let parts = read_parts(&mut s, 10, SECS).await;
    assert_eq!(jpeg_size(&parts[9].body), (320, 180));
    let r = srv.get("/cameras/still/snapshot.jpg?width=160").await;
    assert_eq!((r.status, jpeg_size(&r.body)), (200, (160, 90)));
    // The upstream sees one viewer for the stream, however many watch downstream.
    let mut more = Vec::new();
    for _ in 0..3 {
        more.push(srv.stream("/cameras/mjpeg/stream.mjpeg").await);
    }
    for m in &mut more {
        read_parts(m, 2, SECS).await;
    }
    let up = upstream.json("/api/cameras/up").await;
    assert_eq!(up["viewer_count"], 1, "{up}");
    srv.stop().await;
    upstream.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_source_reports_an_unreachable_camera() {
    // A port that was free a moment ago: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let srv = TestServer::start(&camera(
        "gone",
        "keep_warm = true",
        &format!("kind = \"http\"\nurl = \"http://127.0.0.1:{port}/video\"\n"),
    ))
    .await;
    let cam = srv
        .wait_camera("gone", SECS, |c| c["state"] == "offline")
        .await;
    let err = cam["last_error"].as_str().unwrap_or_default();
    assert!(
        err.contains("cannot reach") && err.contains(&port.to_string()),
        "{cam}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_source_loops_over_jpegs_and_counts_broken_ones() {
    let dir = tempfile::tempdir().unwrap();
    for (name, w) in [("a.jpg", 64u32), ("b.JPEG", 32)] {
        let img = lookout_core::RgbImage::new(w, 16);
        std::fs::write(
            dir.path().join(name),
            lookout_core::jpeg::encode_rgb(&img, 80).unwrap(),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("c.jpg"), b"not a jpeg at all").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
    let source = format!(
        "kind = \"files\"\ndir = \"{}\"\nfps = 20\n",
        dir.path().display()
    );
    let srv = TestServer::start(&camera("f", "", &source)).await;
    let mut s = srv.stream("/cameras/f/stream.mjpeg").await;
    let parts = read_parts(&mut s, 6, SECS).await;
    let widths: Vec<u32> = parts.iter().map(|p| jpeg_size(&p.body).0).collect();
    assert!(widths.contains(&64) && widths.contains(&32), "{widths:?}");
    let cam = srv.json("/api/cameras/f").await;
    assert!(cam["frames_dropped"].as_u64() >= Some(1), "{cam}");
    srv.stop().await;
}

/// An IP camera that wants HTTP Basic credentials: serves one JPEG to `cam:s3cret` only.
async fn camera_with_basic_auth() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use axum::http::{HeaderMap, StatusCode, header};
    let jpeg = lookout_core::jpeg::encode_rgb(&lookout_core::RgbImage::new(48, 32), 80).unwrap();
    let app = axum::Router::new().route(
        "/snap.jpg",
        axum::routing::get(move |headers: HeaderMap| {
            let jpeg = jpeg.clone();
            async move {
                // base64("cam:s3cret")
                if headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    == Some("Basic Y2FtOnMzY3JldA==")
                {
                    Ok(([(header::CONTENT_TYPE, "image/jpeg")], jpeg))
                } else {
                    Err((
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, "Basic realm=\"cam\"")],
                    ))
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (
        addr,
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_source_sends_basic_credentials_and_never_shows_them() {
    let (cam, server) = camera_with_basic_auth().await;
    let dir = tempfile::tempdir().unwrap();
    let pwfile = dir.path().join("pw");
    std::fs::write(&pwfile, "s3cret\n").unwrap();
    let config = format!(
        "{}{}{}",
        camera(
            "url",
            "",
            &format!("kind = \"http\"\nurl = \"http://cam:s3cret@{cam}/snap.jpg\"\n")
        ),
        camera(
            "file",
            "",
            &format!(
                "kind = \"http\"\nurl = \"http://{cam}/snap.jpg\"\nusername = \"cam\"\npassword_file = \"{}\"\n",
                pwfile.display()
            )
        ),
        camera(
            "wrong",
            "keep_warm = true",
            &format!("kind = \"http\"\nurl = \"http://cam:guess@{cam}/snap.jpg\"\n")
        ),
    );
    let srv = TestServer::start(&config).await;
    for id in ["url", "file"] {
        let r = srv.get(&format!("/cameras/{id}/snapshot.jpg")).await;
        assert_eq!((r.status, jpeg_size(&r.body)), (200, (48, 32)), "{id}");
    }
    let wrong = srv
        .wait_camera("wrong", SECS, |c| c["state"] == "offline")
        .await;
    let text = wrong.to_string();
    assert!(
        text.contains("check the camera's username and password"),
        "{text}"
    );
    assert!(
        !text.contains("guess") && !text.contains("s3cret"),
        "credentials leaked: {text}"
    );
    srv.stop().await;
    server.abort();
}

/// A small JPEG in `dir`, for shell scripts that play a camera with `cat`.
fn jpeg_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("frame.jpg");
    let jpeg = lookout_core::jpeg::encode_rgb(&lookout_core::RgbImage::new(64, 48), 80).unwrap();
    std::fs::write(&path, jpeg).unwrap();
    path
}

/// A `command` source running `script` with `sh -c`, and extra source keys.
fn shell_source(script: &str, extra: &str) -> String {
    let quoted = serde_json::to_string(script).unwrap();
    format!("kind = \"command\"\ncommand = [\"sh\", \"-c\", {quoted}]\n{extra}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpegs_error_line_is_the_cameras_last_error() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let source = "kind = \"command\"\ncommand = [\"ffmpeg\", \"-hide_banner\", \"-loglevel\", \"error\", \"-f\", \"lavfi\", \"-i\", \"testsrc3\", \"-f\", \"mjpeg\", \"-\"]\n";
    let srv = TestServer::start(&camera("typo", "keep_warm = true", source)).await;
    let cam = srv
        .wait_camera("typo", SECS, |c| {
            c["state"] == "offline" && c["last_error"].as_str().is_some()
        })
        .await;
    let err = cam["last_error"].as_str().unwrap_or_default();
    assert!(
        err.contains("`ffmpeg` exited") && err.contains("No such filter: 'testsrc3'"),
        "{cam}"
    );
    // The camera's page shows it too: its script fills the details from the API.
    if require("chromium", "chromium") {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("http://{}/cameras/typo", srv.addr);
        let profile = format!("--user-data-dir={}", dir.path().display());
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("timeout")
                .args([
                    "60",
                    "chromium",
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                ])
                .args([
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                ])
                .args(["--disable-component-update", "--disable-sync"])
                .args([&profile, "--virtual-time-budget=5000", "--dump-dom", &url])
                .output()
        })
        .await
        .unwrap()
        .expect("run chromium");
        let dom = String::from_utf8_lossy(&out.stdout);
        assert!(
            dom.contains("No such filter: 'testsrc3'"),
            "not on the page: {dom}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_bytes_that_are_not_utf8_do_not_kill_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let frame = jpeg_file(dir.path());
    // Before it was read as bytes, the first line ended the reading and the next message
    // killed the shell with SIGPIPE: a restart every few frames, for ever.
    let script = format!(
        "printf '\\377\\376 not UTF-8\\n' >&2; while :; do cat '{}'; printf 'tick \\351\\n' >&2; sleep 0.1; done",
        frame.display()
    );
    let srv = TestServer::start(&camera(
        "bytes",
        "keep_warm = true",
        &shell_source(&script, ""),
    ))
    .await;
    srv.wait_camera("bytes", SECS, |c| c["online"] == true)
        .await;
    let mut s = srv.stream("/cameras/bytes/stream.mjpeg").await;
    // 20 frames, each after a line of stderr.
    let parts = read_parts(&mut s, 20, SECS).await;
    assert!(
        parts
            .iter()
            .all(|p| p.header("x-lookout-no-signal").is_none())
    );
    let cam = srv.json("/api/cameras/bytes").await;
    assert_eq!(
        (cam["restarts"].as_u64(), cam["online"].as_bool()),
        (Some(0), Some(true)),
        "{cam}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_sends_nothing_is_restarted_after_its_stall_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("sleep.pid");
    // The shell waits on a `sleep` of its own: ending the shell alone would leave it behind.
    let script = format!(
        "echo wedged >&2; sleep 600 & echo $! >> '{}'; wait",
        pidfile.display()
    );
    let srv = TestServer::start(&camera(
        "wedged",
        "keep_warm = true",
        &shell_source(&script, "stall_timeout_ms = 1000\n"),
    ))
    .await;
    let cam = srv
        .wait_camera("wedged", SECS, |c| c["restarts"].as_u64() >= Some(1))
        .await;
    let err = cam["last_error"].as_str().unwrap_or_default();
    assert!(
        err.contains("`sh` sent no frame for 1s") && err.contains("it said: wedged"),
        "{cam}"
    );
    let first: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .lines()
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap();
    // The restart ended the program's `sleep` too (gone, or a zombie nobody reaped yet).
    let deadline = std::time::Instant::now() + SECS;
    loop {
        let state = std::fs::read_to_string(format!("/proc/{first}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.chars().next()));
        if matches!(state, None | Some(Some('Z'))) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sleep {first} still runs: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Restarted, with the backoff: a new program, and more restarts as long as it is silent.
    srv.wait_camera("wedged", SECS, |c| c["restarts"].as_u64() >= Some(2))
        .await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_that_closes_its_output_but_lives_on_is_restarted() {
    let srv = TestServer::start(&camera(
        "closed",
        "keep_warm = true",
        &shell_source(
            "exec >&-; echo closed >&2; exec sleep 600",
            "stall_timeout_ms = 1000\n",
        ),
    ))
    .await;
    let cam = srv
        .wait_camera("closed", SECS, |c| c["restarts"].as_u64() >= Some(1))
        .await;
    let err = cam["last_error"].as_str().unwrap_or_default();
    assert!(
        err.contains("`sh` closed its standard output but did not exit")
            && err.contains("it said: closed"),
        "{cam}"
    );
    srv.stop().await;
}

/// The peak resident memory of process `pid` (`VmHWM`), in bytes.
fn peak_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {status}"));
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stderr_flood_keeps_the_servers_memory_bounded_and_its_log_short() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let frame = jpeg_file(dir.path());
    // 5000 lines, then 200 MB with no line end (and bytes that are not UTF-8), then frames.
    // Before the fix the server held the whole line (~256 MB), logged every line and then
    // lost the pipe, so the shell died of SIGPIPE at its next message.
    let flood_bytes = 200_000_000;
    let script = format!(
        "yes 'spam line' | head -n 5000 >&2; head -c {flood_bytes} /dev/urandom | tr -d '\\n\\r' >&2; \
         printf '\\nflood over\\n' >&2; while :; do cat '{}'; sleep 0.1; done",
        frame.display()
    );
    let config = format!(
        "[auth]\nmode = \"none\"\n{}",
        camera("flood", "keep_warm = true", &shell_source(&script, ""))
    );
    let config_path = dir.path().join("lookout.toml");
    std::fs::write(&config_path, config).unwrap();
    let log_path = dir.path().join("lookout.log");
    let mut child = crate::support::Running(
        std::process::Command::new(BIN)
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let addr: std::net::SocketAddr = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("listening on http://")
                .and_then(|a| a.trim_end_matches('/').parse().ok())
        })
        .expect("lookout never listened");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let cam = loop {
        let r = lookout_bench::get(addr, "/api/cameras/flood", &[])
            .await
            .unwrap();
        let cam: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        if cam["online"] == true {
            break cam;
        }
        assert!(std::time::Instant::now() < deadline, "never online: {cam}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(cam["restarts"], 0, "{cam}");
    let peak = peak_rss_bytes(child.0.id());
    eprintln!(
        "peak RSS of lookout after a {flood_bytes}-byte stderr line: {} MiB",
        peak >> 20
    );
    assert!(peak < 100 << 20, "peak RSS {} MiB", peak >> 20);
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    let _ = child.0.wait();
    let log = std::fs::read_to_string(&log_path).unwrap();
    let spam = log.lines().filter(|l| l.contains("spam line")).count();
    assert!(
        (1..=20).contains(&spam),
        "{spam} stderr lines logged:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commands_password_never_shows_in_last_error() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    // A port that was free a moment ago: ffmpeg fails naming the whole URL.
    let port = crate::support::free_port();
    let source = format!(
        "kind = \"command\"\ncommand = [\"ffmpeg\", \"-hide_banner\", \"-loglevel\", \"error\", \"-rtsp_transport\", \"tcp\", \"-i\", \"rtsp://viewer:s3cret@127.0.0.1:{port}/live\", \"-f\", \"mjpeg\", \"-\"]\n"
    );
    let srv = TestServer::start(&camera("rtsp", "keep_warm = true", &source)).await;
    let cam = srv
        .wait_camera("rtsp", SECS, |c| {
            c["last_error"]
                .as_str()
                .is_some_and(|e| e.contains("it said"))
        })
        .await;
    let text = cam.to_string();
    assert!(
        text.contains(&format!("rtsp://viewer:***@127.0.0.1:{port}/live")),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "password shown: {text}");
    srv.stop().await;
}
