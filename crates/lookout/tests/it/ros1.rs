//! ROS 1 end to end: a real roscore and rospy publishers from Debian, and the whole server
//! with its `kind = "ros1"` camera and web_video_server's URLs, all on 127.0.0.1.

use super::ros_common::{HEIGHT, WIDTH, assert_close, get_ok, quadrants, wait_for_topics};
use super::support::{self, TestServer};
use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PYTHON: &str = "/usr/bin/python3";
/// roscore is up in 1–5 s here; generous for 2 busy cores.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rospy_topics_reach_camera_stream_snapshot_and_topic_list() {
    if !ros_installed() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let port = support::free_port();
    let master = format!("http://127.0.0.1:{port}");
    let _roscore = Group::spawn(
        Command::new("roscore")
            .args(["-p", &port.to_string()])
            .stdout(Stdio::null()),
        &master,
        dir.path(),
    );
    let raw = quadrants();
    let raw_file = dir.path().join("raw.bin");
    std::fs::write(&raw_file, &raw.data).expect("write raw pixels");
    let jpeg = lookout_core::jpeg::encode_rgb(&quadrants(), 90).expect("encode a JPEG");
    let jpeg_file = dir.path().join("image.jpg");
    std::fs::write(&jpeg_file, &jpeg).expect("write JPEG");
    let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
    // rospy waits for the master itself, so the publishers can start with roscore.
    let _raw_pub = rospy_publisher(
        &master,
        dir.path(),
        &[
            "/camera/image_raw",
            "rawfile",
            "rgb8",
            &w,
            &h,
            path_str(&raw_file),
        ],
    );
    let _jpeg_pub = rospy_publisher(
        &master,
        dir.path(),
        &[
            "/camera/image_raw/compressed",
            "compressed",
            path_str(&jpeg_file),
        ],
    );
    let server = TestServer::start(&format!(
        "[ros1]\nmaster_uri = \"{master}\"\n{}",
        support::camera(
            "robot",
            "",
            "kind = \"ros1\"\ntopic = \"/camera/image_raw\"\n"
        )
    ))
    .await;

    // The topic list, as JSON.
    wait_for_topics(
        &server,
        "ros1",
        "/camera/image_raw",
        "/camera/image_raw/compressed",
        PATIENCE,
    )
    .await;

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
    let body = get_ok(
        &server,
        "/snapshot?topic=/camera/image_raw/compressed",
        PATIENCE,
    )
    .await;
    assert!(
        body == jpeg,
        "/snapshot?topic=/camera/image_raw/compressed: {} bytes, not the {} published",
        body.len(),
        jpeg.len()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_and_topic_viewers_share_one_subscription_behind_logins() {
    if !ros_installed() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let port = support::free_port();
    let master = format!("http://127.0.0.1:{port}");
    let _roscore = Group::spawn(
        Command::new("roscore")
            .args(["-p", &port.to_string()])
            .stdout(Stdio::null()),
        &master,
        dir.path(),
    );
    let raw = quadrants();
    let raw_file = dir.path().join("raw.bin");
    std::fs::write(&raw_file, &raw.data).expect("write raw pixels");
    let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
    let topic = "/camera/image_raw";
    let _raw_pub = rospy_publisher(
        &master,
        dir.path(),
        &[topic, "rawfile", "rgb8", &w, &h, path_str(&raw_file), "30"],
    );
    let server = TestServer::start(&format!(
        "{}[ros1]\nmaster_uri = \"{master}\"\n[ros_topics]\nallow_origins = [\"https://dash.example.org\"]\n{}",
        support::login_config(""),
        support::camera(
            "robot",
            "",
            "kind = \"ros1\"\ntopic = \"/camera/image_raw\"\n"
        )
    ))
    .await;
    // Once it answers, the server has made its database: `user add` must not race it.
    assert_eq!(server.get("/healthz").await.status, 200);
    server.add_user("admin", "admin password", &["--role", "admin"]);
    let cookie = server.login("admin", "admin password", false).await;
    let cookie = cookie.split(';').next().expect("cookie pair").to_owned();
    let with_cookie = [("Cookie", cookie.as_str())];

    // The configured camera, web_video_server's URL and its ros_compressed fallback (no
    // /compressed is published), all watched at once: one subscription of our node.
    let paths = [
        "/cameras/robot/stream.mjpeg".to_owned(),
        format!("/stream?topic={topic}"),
        format!("/stream?topic={topic}&type=ros_compressed&qos_profile=default"),
    ];
    let mut streams = Vec::new();
    for p in &paths {
        let mut s = server.stream_with(p, &with_cookie).await;
        let deadline = Instant::now() + PATIENCE;
        loop {
            let part = support::read_parts(&mut s, 1, PATIENCE).await.remove(0);
            if part.header("x-lookout-no-signal").is_none() {
                assert_close(&part.body, &raw, p);
                break;
            }
            assert!(Instant::now() < deadline, "{p}: no picture");
        }
        streams.push(s);
    }
    let first = publisher_connections(&master, topic);
    assert_eq!(first.len(), 1, "the publisher's connections: {first:?}");
    // Each stream is read at the same time for 3 s: the rates are for the report.
    let window = Duration::from_secs(3);
    let counts = futures_util::future::join_all(streams.iter_mut().map(|s| async move {
        let start = Instant::now();
        let mut n = 0u32;
        while let Ok(part) = tokio::time::timeout_at((start + window).into(), s.next_part()).await {
            assert!(matches!(part, Ok(Some(_))), "a stream ended");
            n += 1;
        }
        n
    }))
    .await;
    eprintln!(
        "ros1: {paths:?} at once got {:?} frames/s from a 30 Hz topic",
        counts
            .iter()
            .map(|n| f64::from(*n) / window.as_secs_f64())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        publisher_connections(&master, topic),
        first,
        "the publisher's one connection to us was replaced while three viewers watched"
    );
    drop(streams);

    // The ROS pages carry the sign-out bar; the grid links to them.
    for page in [
        "/ros/topics".to_owned(),
        format!("/stream_viewer?topic={topic}"),
    ] {
        let r = server.get_with(&page, &with_cookie).await;
        assert_eq!(r.status, 200, "{page}");
        let html = String::from_utf8_lossy(&r.body);
        assert!(html.contains("Sign out"), "{page}: {html}");
    }
    let grid = server.get_with("/", &with_cookie).await;
    assert!(String::from_utf8_lossy(&grid.body).contains("href=\"/ros/topics\""));

    // Only the listed origin may read topics from its pages and frame the viewer.
    let from = |origin: &'static str| [("Cookie", cookie.as_str()), ("Origin", origin)];
    let allowed = server
        .get_with(
            &format!("/snapshot?topic={topic}"),
            &from("https://dash.example.org"),
        )
        .await;
    assert_eq!(allowed.status, 200);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://dash.example.org")
    );
    assert!(
        allowed
            .header("vary")
            .is_some_and(|v| v.to_ascii_lowercase().contains("origin"))
    );
    let other = server
        .get_with(
            &format!("/snapshot?topic={topic}"),
            &from("https://elsewhere.example"),
        )
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.header("access-control-allow-origin"), None);
    let viewer = server
        .get_with(&format!("/stream_viewer?topic={topic}"), &with_cookie)
        .await;
    let csp = viewer.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("frame-ancestors 'self' https://dash.example.org"),
        "{csp}"
    );
    assert_eq!(viewer.header("x-frame-options"), None);
    // Other pages stay unframeable.
    let grid_csp = grid.header("content-security-policy").unwrap_or_default();
    assert!(grid_csp.contains("frame-ancestors 'none'"), "{grid_csp}");
    assert_eq!(grid.header("x-frame-options"), Some("DENY"));
    server.stop().await;
}

/// The TCPROS connections the publishers of `topic` hold for it, `(connection id,
/// subscriber)`, from each publisher's own getBusInfo (rospy numbers connections in the order
/// it makes them).
fn publisher_connections(master: &str, topic: &str) -> Vec<(i64, String)> {
    let script = "import sys, xmlrpc.client as x\n\
        m = x.ServerProxy(sys.argv[1])\n\
        pubs = m.getSystemState('/test')[2][0]\n\
        for n in [n for t, ns in pubs if t == sys.argv[2] for n in ns]:\n\
        \x20   uri = m.lookupNode('/test', n)[2]\n\
        \x20   for c in x.ServerProxy(uri).getBusInfo('/test')[2]:\n\
        \x20       if c[4] == sys.argv[2]: print(c[0], c[1])";
    let out = Command::new(PYTHON)
        .args(["-c", script, master, topic])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (id, who) = l.split_once(' ')?;
            Some((id.parse().ok()?, who.to_owned()))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// roscore and the publisher (as in lookout-sources/tests/ros1.rs)

/// roscore and rospy from Debian's packages (scripts/test.sh installs them).
fn ros_installed() -> bool {
    let rospy = Command::new(PYTHON)
        .args(["-c", "import rospy, rosmaster, sensor_msgs.msg"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !rospy {
        return support::missing(
            "rospy (Debian python3-rospy python3-rosmaster python3-sensor-msgs)",
        );
    }
    support::require("roscore", "python3-roslaunch, rosout")
}

/// A process group with the ROS environment for `master`, stopped with SIGINT on drop
/// (roscore then stops its master and rosout; rospy unregisters), killed after 10 s.
struct Group(Child);

impl Group {
    fn spawn(cmd: &mut Command, master: &str, home: &Path) -> Self {
        let child = cmd
            .env("ROS_MASTER_URI", master)
            .env("ROS_IP", "127.0.0.1")
            .env_remove("ROS_HOSTNAME")
            .env("ROS_HOME", home)
            .env("ROS_LOG_DIR", home.join("log"))
            .process_group(0)
            .spawn()
            .expect("spawn");
        Group(child)
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal("-INT");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.signal("-KILL");
        let _ = self.0.wait();
    }
}

/// Starts lookout-sources' tests/ros/ros1_publisher.py and waits for its "ready". rospy
/// prints to stdout too ("master may not be running yet"), so a thread reads it to the end:
/// a closed pipe would kill the publisher at its next line.
fn rospy_publisher(master: &str, home: &Path, args: &[&str]) -> Group {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lookout-sources/tests/ros/ros1_publisher.py");
    let mut child = Group::spawn(
        Command::new(PYTHON)
            .arg(script)
            .args(args)
            .stdout(Stdio::piped()),
        master,
        home,
    );
    let stdout = child.0.stdout.take().expect("piped stdout");
    let (ready_tx, ready) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.trim() == "ready" {
                let _ = ready_tx.send(());
            }
        }
    });
    assert!(
        ready.recv_timeout(PATIENCE).is_ok(),
        "the rospy publisher {args:?} did not start; its error is above"
    );
    child
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}
