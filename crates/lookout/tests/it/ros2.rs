//! ROS 2 end to end: real rclpy publishers (PyPI wheels, Fast DDS) and the whole server, its
//! `kind = "ros2"` camera and web_video_server's URLs. DDS discovers by multicast, so the test
//! re-runs itself inside a fresh network namespace with only loopback, where the publishers
//! and the server both live: nothing leaves the machine.

#[path = "../../../lookout-sources/tests/common/netns.rs"]
mod netns;

use super::ros_common::{HEIGHT, WIDTH, assert_close, get_ok, quadrants, wait_for_topics};
use super::support::{self, Running, TestServer};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Set in the inner run, inside the namespace.
const INSIDE: &str = "LOOKOUT_TEST_ROS2_NETNS";
/// Not 0, so the config's domain id is what connects us to the publishers.
const DOMAIN: u16 = 7;
/// Discovery takes about a second; generous for 2 busy cores.
const PATIENCE: Duration = Duration::from_secs(30);

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

/// Starts lookout-sources' tests/ros/ros2_publisher.py and waits for its "ready".
fn rclpy_publisher(python: &Path, args: &[&str]) -> Running {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lookout-sources/tests/ros/ros2_publisher.py");
    let mut child = Command::new(python)
        .arg(script)
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
