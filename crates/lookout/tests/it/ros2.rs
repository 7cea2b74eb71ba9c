//! ROS 2 end to end: real rclpy publishers (PyPI wheels, Fast DDS) and the whole server, its
//! `kind = "ros2"` camera and web_video_server's URLs. DDS discovers by multicast, so the test
//! re-runs itself inside a fresh network namespace with only loopback, where the publishers
//! and the server both live: nothing leaves the machine.

#[path = "../../../lookout-sources/tests/common/netns.rs"]
mod netns;
#[path = "../../../lookout-sources/tests/common/rclpy.rs"]
mod rclpy;

use super::ros_common::{HEIGHT, WIDTH, assert_close, get_ok, quadrants, wait_for_topics};
use super::support::{self, Running, TestServer};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the inner run, inside the namespace.
const INSIDE: &str = "LOOKOUT_TEST_ROS2_NETNS";
/// Not 0, so the config's domain id is what connects us to the publishers.
const DOMAIN: u16 = 7;
/// Discovery takes about a second; generous for 2 busy cores.
const PATIENCE: Duration = Duration::from_secs(30);
/// An on-demand topic is closed 5 s after its last viewer (ros::topics' LINGER); its
/// publisher then forgets it in milliseconds. Generous, and below the 50 s lease after which
/// a publisher forgets a participant that left without a word.
const FORGET_PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclpy_topics_reach_camera_stream_snapshot_and_topic_list() {
    const NAME: &str = "ros2::rclpy_topics_reach_camera_stream_snapshot_and_topic_list";
    let Some(python) = ros_python() else { return };
    if !inside_netns(NAME) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = quadrants();
    let raw_file = dir.path().join("raw.bin");
    std::fs::write(&raw_file, &raw.data).expect("write raw pixels");
    let jpeg = lookout_core::jpeg::encode_rgb(&quadrants(), 90).expect("encode a JPEG");
    let jpeg_file = dir.path().join("image.jpg");
    std::fs::write(&jpeg_file, &jpeg).expect("write JPEG");
    let size = format!("{WIDTH}x{HEIGHT}");
    let _raw_pub = rclpy_publisher(
        &python,
        &[
            "/camera/image_raw",
            "raw",
            path_str(&raw_file),
            "--size",
            &size,
            "--encoding",
            "rgb8",
        ],
    );
    let _jpeg_pub = rclpy_publisher(
        &python,
        &[
            "/camera/compressed",
            "compressed",
            path_str(&jpeg_file),
            "--encoding",
            "jpeg",
            "--qos",
            "sensor",
        ],
    );
    let server = TestServer::start(&format!(
        "[ros2]\ndomain_id = {DOMAIN}\n{}",
        support::camera(
            "robot",
            "",
            "kind = \"ros2\"\ntopic = \"/camera/image_raw\"\n"
        )
    ))
    .await;

    // The topic list, as JSON.
    wait_for_topics(
        &server,
        "ros2",
        "/camera/image_raw",
        "/camera/compressed",
        PATIENCE,
    )
    .await;
    // The same list as JSON on the page's URL, and as the page with links to the viewer.
    let same = server.json("/ros/topics?format=json").await;
    assert_eq!(same["transport"], "ros2", "{same}");
    let page = server.get("/ros/topics").await;
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        html.contains("/stream_viewer?topic=%2Fcamera%2Fimage_raw"),
        "{html}"
    );
    let viewer = server
        .get("/stream_viewer?topic=/camera/image_raw&width=320")
        .await;
    let html = String::from_utf8_lossy(&viewer.body);
    assert!(
        html.contains("src=\"/stream?topic=/camera/image_raw&amp;width=320\""),
        "{html}"
    );

    // The configured camera: the published pixels, through our JPEG encoder.
    let snapshot = get_ok(&server, "/cameras/robot/snapshot.jpg", PATIENCE).await;
    assert_close(&snapshot, &raw, "/cameras/robot/snapshot.jpg");

    // web_video_server's stream of the raw topic: MJPEG frames of the same picture.
    let mut stream = server.stream("/stream?topic=/camera/image_raw").await;
    let parts = support::read_parts(&mut stream, 3, PATIENCE).await;
    for p in &parts {
        assert_close(&p.body, &raw, "/stream?topic=/camera/image_raw");
    }
    drop(stream);

    // A CompressedImage's JPEG goes out as published.
    let body = get_ok(&server, "/snapshot?topic=/camera/compressed", PATIENCE).await;
    assert!(
        body == jpeg,
        "/snapshot?topic=/camera/compressed: {} bytes, not the {} published",
        body.len(),
        jpeg.len()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_topic_costs_the_publisher_nothing() {
    const NAME: &str = "ros2::an_idle_topic_costs_the_publisher_nothing";
    let Some(python) = ros_python() else { return };
    if !inside_netns(NAME) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // 640x480 rgb8 at 30 Hz: 27 MB/s to every subscription the publisher believes in.
    let raw_file = dir.path().join("raw.bin");
    std::fs::write(&raw_file, vec![90u8; 640 * 480 * 3]).expect("write raw pixels");
    let publisher = rclpy::ReportingPublisher::start(
        &python,
        &publisher_script(),
        &[
            "/camera/image_raw",
            "raw",
            path_str(&raw_file),
            "--size",
            "640x480",
            "--qos",
            "sensor",
            "--rate",
            "30",
        ],
    );
    let server = TestServer::start(&format!(
        "[ros2]\ndomain_id = {DOMAIN}\n{}",
        support::camera(
            "robot",
            "idle_linger_ms = 1000\n",
            "kind = \"ros2\"\ntopic = \"/camera/image_raw\"\n"
        )
    ))
    .await;
    publisher
        .wait_for(|n| n == 0, PATIENCE, "the publisher's first report")
        .await;
    // Viewers come and go: web_video_server's URL twice and the configured camera. Each time
    // the publisher sends to exactly one subscription while somebody watches, and to none
    // once the topic or camera stopped after its last viewer.
    for path in [
        "/stream?topic=/camera/image_raw",
        "/cameras/robot/stream.mjpeg",
        "/stream?topic=/camera/image_raw",
    ] {
        let mut stream = server.stream(path).await;
        live_part(&mut stream, path).await;
        publisher
            .wait_for(|n| n == 1, PATIENCE, &format!("{path}: one subscription"))
            .await;
        drop(stream);
        let left = Instant::now();
        publisher
            .wait_for(
                |n| n == 0,
                FORGET_PATIENCE,
                &format!("{path}: the publisher to forget the subscription after the viewer left"),
            )
            .await;
        eprintln!(
            "{path}: the publisher stopped sending {:?} after the last viewer left (a topic \
             lingers 5 s, this camera 1 s)",
            left.elapsed()
        );
    }
    // Idle: what the robot's loopback carries now is discovery, not pictures.
    let window = Duration::from_secs(10);
    let before = rclpy::loopback_rx_bytes();
    tokio::time::sleep(window).await;
    let idle = rclpy::loopback_rx_bytes() - before;
    eprintln!(
        "idle: {idle} bytes on loopback in {window:?} ({:.2} KB/s) with the camera and the topic \
         closed",
        idle as f64 / window.as_secs_f64() / 1000.0
    );
    assert!(
        idle < 1_000_000,
        "{idle} bytes crossed loopback in {window:?} while nobody watched (a picture is 921,600)"
    );
    // Nothing came back: the participants that left stay gone.
    assert_eq!(publisher.subscriptions(), 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_video_server_urls_behave_as_its_own() {
    const NAME: &str = "ros2::web_video_server_urls_behave_as_its_own";
    let Some(python) = ros_python() else { return };
    if !inside_netns(NAME) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = quadrants();
    let raw_file = dir.path().join("raw.bin");
    std::fs::write(&raw_file, &raw.data).expect("write raw pixels");
    let jpeg = lookout_core::jpeg::encode_rgb(&quadrants(), 90).expect("encode a JPEG");
    let jpeg_file = dir.path().join("image.jpg");
    std::fs::write(&jpeg_file, &jpeg).expect("write JPEG");
    let size = format!("{WIDTH}x{HEIGHT}");
    let raw_args = |topic: &'static str, rate: &'static str| {
        vec![
            topic,
            "raw",
            path_str(&raw_file),
            "--size",
            &size,
            "--qos",
            "sensor",
            "--rate",
            rate,
        ]
    };
    let _raw_pub = rclpy_publisher(&python, &raw_args("/camera/image_raw", "20"));
    // One picture every 5 s: quiet for most of the time.
    let _slow_pub = rclpy_publisher(&python, &raw_args("/slow/image", "0.2"));
    let _jpeg_pub = rclpy_publisher(
        &python,
        &[
            "/jpeg/image/compressed",
            "compressed",
            path_str(&jpeg_file),
            "--encoding",
            "jpeg",
            "--qos",
            "sensor",
        ],
    );
    let server = TestServer::start(&format!(
        "[ros2]\ndomain_id = {DOMAIN}\n{}",
        support::testpattern("pattern", 64, 48, 5)
    ))
    .await;
    wait_for_topics(
        &server,
        "ros2",
        "/camera/image_raw",
        "/jpeg/image/compressed",
        PATIENCE,
    )
    .await;

    // A name without its leading slash is the same topic; the download name has no slash.
    let r = server
        .get_with(
            "/snapshot?topic=camera/image_raw",
            &[("Origin", "https://dash.example.org")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_close(&r.body, &raw, "/snapshot?topic=camera/image_raw");
    let disposition = r.header("content-disposition").unwrap_or_default();
    assert!(
        disposition.contains("filename=\"camera_image_raw-"),
        "{disposition}"
    );
    // Logins are off: any page may read it, as from web_video_server.
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));

    // type=ros_compressed reads T/compressed, passed through...
    let body = get_ok(
        &server,
        "/snapshot?topic=/jpeg/image&type=ros_compressed",
        PATIENCE,
    )
    .await;
    assert!(
        body == jpeg,
        "ros_compressed: {} bytes, not the {} published",
        body.len(),
        jpeg.len()
    );
    // ...and a topic without one is streamed itself.
    let body = get_ok(
        &server,
        "/snapshot?topic=/camera/image_raw&type=ros_compressed",
        PATIENCE,
    )
    .await;
    assert_close(&body, &raw, "ros_compressed without /compressed");

    // A reliable subscription to a best-effort publisher says why nothing comes.
    let r = server
        .get("/snapshot?topic=/jpeg/image/compressed&qos_profile=default")
        .await;
    assert_eq!(r.status, 503, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        String::from_utf8_lossy(&r.body).contains("QoS mismatch"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let page = server.get("/ros/topics").await;
    assert!(
        String::from_utf8_lossy(&page.body).contains("QoS mismatch"),
        "{}",
        String::from_utf8_lossy(&page.body)
    );

    // Open topics, with their viewers, in the API and the metrics.
    let mut stream = server.stream("/stream?topic=/camera/image_raw").await;
    live_part(&mut stream, "/stream?topic=/camera/image_raw").await;
    let list = server.json("/api/ros/topics").await;
    let entry = list["topics"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["name"] == "/camera/image_raw"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["viewer_count"], 1, "{list}");
    let open = list["open"].as_array().cloned().unwrap_or_default();
    let find = |topic: &str, qos: &str| {
        open.iter()
            .find(|o| o["camera"]["id"] == topic && o["qos_profile"] == qos)
            .cloned()
    };
    let camera = find("/camera/image_raw", "sensor_data").expect("the open topic");
    assert_eq!(camera["camera"]["viewer_count"], 1, "{camera}");
    assert_eq!(camera["camera"]["state"], "online", "{camera}");
    let mismatch = find("/jpeg/image/compressed", "default").expect("the reliable one");
    assert!(
        mismatch["camera"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("QoS mismatch")),
        "{mismatch}"
    );
    let metrics = String::from_utf8_lossy(&server.get("/metrics").await.body).into_owned();
    assert!(
        metrics.contains("lookout_viewers{camera=\"/camera/image_raw\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "lookout_camera_online{camera=\"/jpeg/image/compressed\",qos_profile=\"default\"} 0"
        ),
        "{metrics}"
    );
    drop(stream);

    // A quiet topic keeps its last picture, marked stale, instead of "no signal".
    let mut stream = server.stream("/stream?topic=/slow/image").await;
    let live = live_part(&mut stream, "/stream?topic=/slow/image").await;
    let next = support::read_parts(&mut stream, 1, Duration::from_secs(10))
        .await
        .remove(0);
    assert_eq!(
        next.header("x-lookout-no-signal"),
        None,
        "a quiet topic got a no-signal card"
    );
    if next.header("x-lookout-stale").is_some() {
        assert!(
            next.body == live.body,
            "the stale part is not the last picture"
        );
        let api = server.json("/api/ros/topics").await;
        eprintln!("a quiet topic: {api}");
    } else {
        // The next picture came first (a busy machine); it is live then.
        assert_close(&next.body, &raw, "/slow/image");
    }
    let stale = support::read_parts(&mut stream, 3, Duration::from_secs(15)).await;
    assert!(
        stale
            .iter()
            .any(|p| p.header("x-lookout-stale") == Some("1")),
        "no stale part in {:?}",
        stale.iter().map(|p| &p.headers).collect::<Vec<_>>()
    );
    assert!(
        stale
            .iter()
            .all(|p| p.header("x-lookout-no-signal").is_none())
    );
    drop(stream);

    // The viewer may be framed by other sites' pages here (logins are off), and the grid
    // links to the topics.
    let viewer = server.get("/stream_viewer?topic=/camera/image_raw").await;
    let csp = viewer.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'self' *"), "{csp}");
    assert_eq!(viewer.header("x-frame-options"), None);
    let grid = server.get("/").await;
    assert!(String::from_utf8_lossy(&grid.body).contains("href=\"/ros/topics\""));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rustdds_log_lines_are_lowered_and_rate_limited() {
    const NAME: &str = "ros2::rustdds_log_lines_are_lowered_and_rate_limited";
    let Some(python) = ros_python() else { return };
    if !inside_netns(NAME) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let raw_file = dir.path().join("raw.bin");
    std::fs::write(&raw_file, quadrants().data).expect("write raw pixels");
    let size = format!("{WIDTH}x{HEIGHT}");
    let _pub = rclpy_publisher(
        &python,
        &[
            "/camera/image_raw",
            "raw",
            path_str(&raw_file),
            "--size",
            &size,
            "--qos",
            "sensor",
        ],
    );
    // The binary, with its own log set-up, as `lookout serve` runs.
    let port = support::free_port();
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = [\"127.0.0.1:{port}\"]\ndata_dir = \"{}\"\n[auth]\nmode = \"none\"\n[ros2]\ndomain_id = {DOMAIN}\n{}",
            dir.path().join("data").display(),
            support::camera("robot", "", "kind = \"ros2\"\ntopic = \"/camera/image_raw\"\n")
        ),
    )
    .expect("write config");
    let log = dir.path().join("lookout.log");
    let lookout = Running(
        Command::new(support::BIN)
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env("LOOKOUT_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start lookout"),
    );
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
    // RustDDS's first seconds in a domain are its loudest.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let r = lookout_bench::get(addr, "/cameras/robot/snapshot.jpg", &[]).await;
        if r.as_ref().is_ok_and(|r| r.status == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no snapshot: {:?}",
            r.map(|r| r.status)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    drop(lookout);
    let text = std::fs::read_to_string(&log).expect("read the log");
    let from_dds: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("rustdds") || l.contains("ros2_client"))
        .collect();
    let warnings = from_dds.iter().filter(|l| l.contains("WARN")).count();
    eprintln!(
        "{} lines in the log, {} of them from RustDDS or ros2-client ({warnings} warnings):\n{}",
        text.lines().count(),
        from_dds.len(),
        from_dds.join("\n")
    );
    // Unlowered, RustDDS wrote ~240 warnings in its first 12 s here.
    assert!(
        from_dds.len() <= 20 && warnings <= 5,
        "{} lines from RustDDS or ros2-client",
        from_dds.len()
    );
}

// ---------------------------------------------------------------------------------------------
// The namespace and the publisher (as in lookout-sources/tests/ros2.rs)

/// In the outer run: runs test `name` of this binary again inside `unshare -n` with loopback
/// up, checks that it ran and passed, and returns false. In the inner run: returns true.
fn inside_netns(name: &str) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    if !support::require("unshare", "util-linux") || !support::require("ip", "iproute2") {
        return false;
    }
    if !netns::can_unshare() {
        support::missing("permission to create a network namespace (`unshare -n`; run as root)");
        return false;
    }
    netns::run_test_inside(name, INSIDE, &[("ROS_DOMAIN_ID", DOMAIN.to_string())]);
    false
}

/// The test venv's Python when it has rclpy and sensor_msgs (scripts/test.sh installs them).
fn ros_python() -> Option<PathBuf> {
    let python = support::test_python()?;
    let ok = Command::new(&python)
        .args(["-c", "import rclpy, sensor_msgs.msg"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some(python)
    } else {
        support::missing(
            "rclpy in the test Python venv (PyPI ros-jazzy-rclpy[fastrtps] ros-jazzy-sensor-msgs)",
        );
        None
    }
}

/// lookout-sources' tests/ros/ros2_publisher.py.
fn publisher_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../lookout-sources/tests/ros/ros2_publisher.py")
}

/// The first part of `stream` that is a live picture (a topic opens with "no signal" cards
/// until its first message).
async fn live_part(stream: &mut lookout_bench::MjpegStream, what: &str) -> lookout_bench::Part {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let part = support::read_parts(stream, 1, PATIENCE).await.remove(0);
        if part.header("x-lookout-no-signal").is_none() && part.header("x-lookout-stale").is_none()
        {
            return part;
        }
        assert!(Instant::now() < deadline, "{what}: no live picture");
    }
}

/// Starts lookout-sources' tests/ros/ros2_publisher.py and waits for its "ready".
fn rclpy_publisher(python: &Path, args: &[&str]) -> Running {
    let mut child = Command::new(python)
        .arg(publisher_script())
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the rclpy publisher");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut child = Running(child);
    let mut line = String::new();
    let _ = std::io::BufReader::new(stdout).read_line(&mut line);
    if line.trim() != "ready" {
        let status = child.0.wait();
        panic!("the rclpy publisher {args:?} did not start ({status:?}); its error is above");
    }
    child
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}
