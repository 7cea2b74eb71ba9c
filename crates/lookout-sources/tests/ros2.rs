//! The ROS 2 node against real publishers: rclpy (PyPI wheels, Fast DDS underneath) and
//! ros2-client (RustDDS). DDS discovers peers by multicast, so every test re-runs itself inside
//! a fresh network namespace holding only loopback, and every participant (ours, the Python
//! publishers, the Rust publisher) lives in it: nothing leaves the machine, and parallel tests
//! cannot see each other.
#![cfg(feature = "ros2")]

#[path = "common/netns.rs"]
mod netns;
#[path = "common/rclpy.rs"]
mod rclpy;

use lookout_core::ErrorKind;
use lookout_sources::ros::ros2::{Ros2Node, msg};
use lookout_sources::ros::{ImageType, Reliability, RosMessage, RosNode, TopicInfo};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Set in the inner run, inside the namespace.
const INSIDE: &str = "LOOKOUT_TEST_ROS2_NETNS";
/// Not 0: proves the domain id reaches the participant (a node on 0 would see nothing).
const DOMAIN: u16 = 7;
/// Discovery over loopback takes about a second; generous for 2 busy cores.
const PATIENCE: Duration = Duration::from_secs(30);
/// A closed subscription is forgotten by its publishers in milliseconds; generous, and still
/// well below the 50 s a participant's lease lasts (RustDDS announces 5 × its 10 s SPDP
/// period), after which a publisher forgets everything of a participant that went away.
const FORGET_PATIENCE: Duration = Duration::from_secs(15);
/// The stamp the publishers write: 1700000000.5.
const STAMP: msg::Time = msg::Time {
    sec: 1_700_000_000,
    nanosec: 500_000_000,
};

// ---------------------------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclpy_image_and_compressed_are_listed_and_arrive_byte_exact() {
    const NAME: &str = "rclpy_image_and_compressed_are_listed_and_arrive_byte_exact";
    let Some(python) = ros_python() else { return };
    if !inside_netns(NAME) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // 5x3 rgb8 with two bytes of padding per row: the step must come through, not be recomputed.
    let raw = pattern(17 * 3);
    let raw_file = write(dir.path(), "raw.bin", &raw);
    let jpeg = small_jpeg();
    let jpeg_file = write(dir.path(), "image.jpg", &jpeg);
    let _raw_pub = rclpy_publisher(
        &python,
        &[
            "/camera/image_raw",
            "raw",
            path_str(&raw_file),
            "--size",
            "5x3",
            "--step",
            "17",
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
    let node = Ros2Node::start(DOMAIN).expect("start the ROS 2 node");
    assert_eq!(node.kind(), "ros2");
    let expected = vec![
        topic("/camera/compressed", ImageType::Compressed),
        topic("/camera/image_raw", ImageType::Raw),
    ];
    wait_for_topics(&node, &expected).await;

    let mut rx = subscribe(&node, "/camera/image_raw", Reliability::BestEffort).await;
    let RosMessage::Image(img) = recv(&mut rx).await else {
        panic!("/camera/image_raw should carry sensor_msgs/msg/Image")
    };
    assert_eq!((img.width, img.height, img.step), (5, 3, 17));
    assert_eq!(img.encoding, "rgb8");
    assert!(!img.is_bigendian);
    assert_eq!(img.data, raw, "the pixels as published");
    assert_eq!(img.stamp, STAMP.to_system_time());

    let mut rx = subscribe(&node, "/camera/compressed", Reliability::BestEffort).await;
    let RosMessage::Compressed(c) = recv(&mut rx).await else {
        panic!("/camera/compressed should carry sensor_msgs/msg/CompressedImage")
    };
    assert_eq!(c.format, "jpeg");
    assert_eq!(c.data, jpeg, "the JPEG as published, untouched");
    assert_eq!(c.stamp, STAMP.to_system_time());
    assert_eq!(node.stats().malformed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn best_effort_subscription_receives_reliable_and_sensor_data_publishers() {
    const NAME: &str = "best_effort_subscription_receives_reliable_and_sensor_data_publishers";
    let Some(python) = ros_python() else { return };
    if !inside_netns(NAME) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // 640x480 rgb8 is 900 KiB: DDS fragments it into hundreds of datagrams.
    let (width, height) = (640, 480);
    let raw = pattern(width * height * 3);
    let raw_file = write(dir.path(), "raw.bin", &raw);
    let size = format!("{width}x{height}");
    let publisher = |topic: &str, qos: &str| {
        rclpy_publisher(
            &python,
            &[
                topic,
                "raw",
                path_str(&raw_file),
                "--size",
                &size,
                "--qos",
                qos,
                "--rate",
                "30",
                "--sequence",
            ],
        )
    };
    let _reliable = publisher("/reliable/image", "reliable");
    let _sensor = publisher("/sensor/image", "sensor");
    let node = Ros2Node::start(DOMAIN).expect("start the ROS 2 node");
    wait_for_topics(
        &node,
        &[
            topic("/reliable/image", ImageType::Raw),
            topic("/sensor/image", ImageType::Raw),
        ],
    )
    .await;

    // The last message number each topic's previous subscription got.
    let mut last_seen = std::collections::HashMap::new();
    for (name, reliability) in [
        ("/reliable/image", Reliability::BestEffort),
        ("/sensor/image", Reliability::BestEffort),
        ("/reliable/image", Reliability::Reliable),
    ] {
        let mut rx = subscribe(&node, name, reliability).await;
        let RosMessage::Image(first) = recv(&mut rx).await else {
            panic!("{name} should carry sensor_msgs/msg/Image")
        };
        // RustDDS keeps a topic's last samples after its reader goes: a new subscription must
        // not start with them.
        if let Some(&last) = last_seen.get(name) {
            assert!(
                sequence(first.stamp) > last,
                "{name} ({reliability:?}) began with message {}, older than {last} which the \
                 previous subscription already had",
                sequence(first.stamp)
            );
        }
        assert_eq!(
            first.data, raw,
            "{name} ({reliability:?}): the pixels as published"
        );
        // A rate for the report, not an assertion: the machine is shared. The publisher
        // numbers its messages in the stamp's nanoseconds.
        let window = Duration::from_secs(3);
        let start = Instant::now();
        let mut seen = Vec::new();
        while start.elapsed() < window {
            match tokio::time::timeout(window, rx.recv()).await {
                Ok(Some(RosMessage::Image(m))) => {
                    assert_eq!(m.data, raw, "{name} ({reliability:?})");
                    seen.push(sequence(m.stamp));
                }
                Ok(other) => panic!("{name}: unexpected {:?}", other.map(|_| "message")),
                Err(_) => break,
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        if let Some(&max) = seen.iter().max() {
            last_seen.insert(name, max);
        }
        let mut distinct = seen.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let span = match (distinct.first(), distinct.last()) {
            (Some(a), Some(b)) => b - a + 1,
            _ => 0,
        };
        eprintln!(
            "{name} ({reliability:?}, {size} rgb8 published at 30 Hz): {:.1} msg/s received, \
             {} messages, {} distinct, numbers {:?}..{:?} ({} not delivered)",
            seen.len() as f64 / elapsed,
            seen.len(),
            distinct.len(),
            distinct.first(),
            distinct.last(),
            span as usize - distinct.len(),
        );
        assert!(
            !seen.is_empty(),
            "{name} ({reliability:?}): nothing after the first message"
        );
        assert_eq!(
            seen.len(),
            distinct.len(),
            "{name} ({reliability:?}): a message came twice"
        );
    }
    eprintln!("node stats: {:?}", node.stats());
    assert_eq!(node.stats().malformed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ros2_client_publisher_arrives_and_dropping_the_receiver_ends_the_reader() {
    const NAME: &str = "ros2_client_publisher_arrives_and_dropping_the_receiver_ends_the_reader";
    if !inside_netns(NAME) {
        return;
    }
    let node = Ros2Node::start(DOMAIN).expect("start the ROS 2 node");
    let mut peer = RustPeer::new();

    // Nobody publishes yet: Unavailable, which the supervisor retries.
    let err = node
        .subscribe("/rust/image", Reliability::BestEffort)
        .await
        .expect_err("no publisher yet");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().contains("/rust/image"), "{err}");

    let image = msg::Image {
        header: msg::Header {
            stamp: STAMP,
            frame_id: "rust".into(),
        },
        width: 4,
        height: 2,
        encoding: "mono16".into(),
        is_bigendian: 1,
        step: 8,
        data: pattern(16),
    };
    let compressed = msg::CompressedImage {
        header: msg::Header {
            stamp: msg::Time::default(),
            frame_id: "rust".into(),
        },
        format: "png".into(),
        data: pattern(100),
    };
    let _image_pub = peer.publish("image", "Image", image.clone());
    let _compressed_pub = peer.publish("image/compressed", "CompressedImage", compressed.clone());
    // A topic of another type is not listed and cannot be subscribed to as an image.
    let _chatter_pub = peer.publish("chatter", "String", String::from("hello"));
    wait_for_topics(
        &node,
        &[
            topic("/rust/image", ImageType::Raw),
            topic("/rust/image/compressed", ImageType::Compressed),
        ],
    )
    .await;
    let listed = node.image_topics().await.expect("topics");
    assert!(
        listed.iter().all(|t| t.name != "/rust/chatter"),
        "{listed:?}"
    );
    let err = subscribe_error_once_discovered(&node, "/rust/chatter").await;
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("std_msgs/msg/String"), "{err}");
    let err = node
        .subscribe("/not a topic", Reliability::BestEffort)
        .await
        .expect_err("a malformed name");
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    let mut rx = subscribe(&node, "/rust/image", Reliability::BestEffort).await;
    let RosMessage::Image(got) = recv(&mut rx).await else {
        panic!("/rust/image should carry sensor_msgs/msg/Image")
    };
    assert_eq!(
        (got.width, got.height, got.step, got.encoding.as_str()),
        (4, 2, 8, "mono16")
    );
    assert!(got.is_bigendian);
    assert_eq!(got.data, image.data);
    assert_eq!(got.stamp, STAMP.to_system_time());

    let mut crx = subscribe(&node, "rust/image/compressed", Reliability::BestEffort).await;
    let RosMessage::Compressed(got) = recv(&mut crx).await else {
        panic!("/rust/image/compressed should carry sensor_msgs/msg/CompressedImage")
    };
    assert_eq!(got.format, "png");
    assert_eq!(got.data, compressed.data);
    assert_eq!(got.stamp, None, "a zero stamp means unset");

    // Our reader is visible to the publisher's participant until the receiver goes.
    wait_until("the publisher to see our reader", || {
        peer.readers_on("rt/rust/image") > 0
    })
    .await;
    drop(rx);
    wait_until("our reader to leave after its receiver was dropped", || {
        peer.readers_on("rt/rust/image") == 0
    })
    .await;
    // The other subscription is untouched.
    assert!(matches!(recv(&mut crx).await, RosMessage::Compressed(_)));
    assert_eq!(node.stats().malformed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_samples_are_counted_and_the_subscription_survives() {
    const NAME: &str = "malformed_samples_are_counted_and_the_subscription_survives";
    if !inside_netns(NAME) {
        return;
    }
    let node = Ros2Node::start(DOMAIN).expect("start the ROS 2 node");
    let mut peer = RustPeer::new();
    // Announced as sensor_msgs/msg/Image but only a header: the reader runs out of bytes.
    let _bad = peer.publish(
        "image",
        "Image",
        msg::Header {
            stamp: STAMP,
            frame_id: "x".into(),
        },
    );
    wait_for_topics(&node, &[topic("/rust/image", ImageType::Raw)]).await;
    let mut rx = subscribe(&node, "/rust/image", Reliability::BestEffort).await;
    wait_until("a malformed sample to be counted", || {
        node.stats().malformed > 0
    })
    .await;
    let good = msg::Image {
        width: 1,
        height: 1,
        encoding: "mono8".into(),
        step: 1,
        data: vec![42],
        ..msg::Image::default()
    };
    let _good = peer.publish("image", "Image", good);
    let RosMessage::Image(got) = recv(&mut rx).await else {
        panic!("expected an Image")
    };
    assert_eq!(got.data, vec![42]);
    eprintln!("node stats: {:?}", node.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_subscription_stops_costing_the_rclpy_publisher() {
    const NAME: &str = "a_closed_subscription_stops_costing_the_rclpy_publisher";
    let Some(python) = ros_python() else { return };
    if !inside_netns(NAME) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // 640x480 rgb8 at 30 Hz: 27 MB/s to each subscription the publisher believes in.
    let (width, height) = (640, 480);
    let raw_file = write(dir.path(), "raw.bin", &pattern(width * height * 3));
    let size = format!("{width}x{height}");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ros/ros2_publisher.py");
    let publisher = rclpy::ReportingPublisher::start(
        &python,
        &script,
        &[
            "/camera/image_raw",
            "raw",
            path_str(&raw_file),
            "--size",
            &size,
            "--qos",
            "sensor",
            "--rate",
            "30",
        ],
    );
    let node = Ros2Node::start(DOMAIN).expect("start the ROS 2 node");
    wait_for_topics(&node, &[topic("/camera/image_raw", ImageType::Raw)]).await;
    publisher
        .wait_for(|n| n == 0, PATIENCE, "the publisher's first report")
        .await;

    // A viewer comes and goes, three times: each time the publisher sees exactly one
    // subscription while it watches and none soon after.
    for round in 1..=3 {
        let asked = Instant::now();
        let mut rx = subscribe(&node, "/camera/image_raw", Reliability::BestEffort).await;
        recv(&mut rx).await;
        // For the report: a subscription joins the domain with a participant of its own.
        eprintln!(
            "round {round}: first picture {:?} after subscribing",
            asked.elapsed()
        );
        publisher
            .wait_for(
                |n| n > 0,
                PATIENCE,
                &format!("round {round}: our subscription to be matched"),
            )
            .await;
        assert_eq!(
            publisher.subscriptions(),
            1,
            "round {round}: the publisher sends to subscriptions that were closed"
        );
        drop(rx);
        let closed = Instant::now();
        publisher
            .wait_for(
                |n| n == 0,
                FORGET_PATIENCE,
                &format!("round {round}: the publisher to forget our closed subscription"),
            )
            .await;
        eprintln!(
            "round {round}: the publisher forgot the subscription {:?} after it closed",
            closed.elapsed()
        );
    }

    // Idle: the publisher sends nothing to us, so loopback carries discovery only (a few
    // hundred bytes every few seconds), not pictures (900 KiB each, 30 a second).
    let window = Duration::from_secs(3);
    let before = rclpy::loopback_rx_bytes();
    tokio::time::sleep(window).await;
    let idle_bytes = rclpy::loopback_rx_bytes() - before;
    eprintln!(
        "idle: {idle_bytes} bytes on lo in {window:?} ({:.1} KB/s)",
        idle_bytes as f64 / window.as_secs_f64() / 1000.0
    );
    assert!(
        idle_bytes < 300_000,
        "{idle_bytes} bytes crossed loopback in {window:?} with no subscription open"
    );
    // Nothing came back: the participants that left stay gone.
    assert_eq!(publisher.subscriptions(), 0);
}

// ---------------------------------------------------------------------------------------------
// The namespace

/// In the outer run: runs test `name` of this binary again inside `unshare -n` with loopback
/// up, checks that it ran and passed, and returns false. In the inner run: returns true.
fn inside_netns(name: &str) -> bool {
    if std::env::var_os(INSIDE).is_some() {
        return true;
    }
    if !require("unshare", "util-linux") || !require("ip", "iproute2") {
        return false;
    }
    if !netns::can_unshare() {
        missing("permission to create a network namespace (`unshare -n`; run as root)");
        return false;
    }
    netns::run_test_inside(name, INSIDE, &[("ROS_DOMAIN_ID", DOMAIN.to_string())]);
    false
}

fn strict() -> bool {
    std::env::var("LOOKOUT_TEST_STRICT").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Under scripts/test.sh or CI a missing dependency fails the test; elsewhere it is skipped.
fn missing(what: &str) -> bool {
    assert!(!strict(), "{what} is missing; scripts/test.sh installs it");
    eprintln!("SKIPPED: {what} is missing; scripts/test.sh installs it");
    false
}

fn require(program: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()));
    found || missing(&format!("{program} (Debian package `{package}`)"))
}

/// The test venv's Python when it has rclpy and sensor_msgs (scripts/test.sh installs them).
fn ros_python() -> Option<PathBuf> {
    let python = std::env::var_os("LOOKOUT_TEST_PYTHON").map(PathBuf::from);
    let ok = python.as_ref().is_some_and(|p| {
        Command::new(p)
            .args(["-c", "import rclpy, sensor_msgs.msg"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if ok {
        python
    } else {
        missing(
            "rclpy in the test Python venv (LOOKOUT_TEST_PYTHON; PyPI ros-jazzy-rclpy[fastrtps] \
             ros-jazzy-sensor-msgs)",
        );
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Publishers

/// A child process killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts tests/ros/ros2_publisher.py and waits for its "ready".
fn rclpy_publisher(python: &Path, args: &[&str]) -> Running {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ros/ros2_publisher.py");
    let mut child = Command::new(python)
        .arg(script)
        .args(args)
        .args(["--stamp", "1700000000.5"])
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

/// A second participant in this process, publishing with ros2-client under `/rust`.
struct RustPeer {
    context: ros2_client::Context,
    node: ros2_client::Node,
}

impl RustPeer {
    fn new() -> Self {
        let context = ros2_client::Context::with_options(
            ros2_client::ContextOptions::new().domain_id(DOMAIN),
        )
        .expect("peer context");
        let node = context
            .new_node(
                ros2_client::NodeName::new("/rust", "publisher").expect("node name"),
                ros2_client::NodeOptions::new()
                    .enable_rosout(false)
                    .start_parameter_services(false),
            )
            .expect("peer node");
        Self { context, node }
    }

    /// Publishes `message` on `/rust/<name>` as type `sensor_msgs/<ty>` (`std_msgs/String` for
    /// "String"), sensor-data QoS, every 50 ms until the handle is dropped.
    fn publish<M>(
        &mut self,
        name: &str,
        ty: &str,
        message: M,
    ) -> tokio_util::task::AbortOnDropHandle<()>
    where
        M: serde::Serialize + Clone + Send + Sync + 'static,
    {
        let package = if ty == "String" {
            "std_msgs"
        } else {
            "sensor_msgs"
        };
        let qos = ros2_client::QosProfile::subscription_default()
            .history(ros2_client::qos::History::KeepLast { depth: 5 });
        let topic = self
            .node
            .create_topic(
                &ros2_client::Name::parse(&format!("/rust/{name}")).expect("topic name"),
                ros2_client::MessageTypeName::new(package, ty),
                &qos,
            )
            .expect("topic");
        let publisher = self
            .node
            .create_publisher::<M>(&topic, Some(qos))
            .expect("publisher");
        tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            loop {
                tick.tick().await;
                let _ = publisher.publish(message.clone());
            }
        }))
    }

    /// How many readers of DDS topic `dds_topic` this participant sees.
    fn readers_on(&self, dds_topic: &str) -> usize {
        self.context
            .domain_participant()
            .discovered_readers()
            .iter()
            .filter(|r| r.subscription_topic_data.topic_name() == dds_topic)
            .count()
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/// The message number a `--sequence` publisher put in the stamp.
fn sequence(stamp: Option<std::time::SystemTime>) -> u32 {
    let since = stamp
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default();
    since.subsec_nanos()
}

fn topic(name: &str, image_type: ImageType) -> TopicInfo {
    TopicInfo {
        name: name.into(),
        image_type,
    }
}

/// Bytes that differ from their neighbours, so a shift or a truncation shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn small_jpeg() -> Vec<u8> {
    let mut img = lookout_core::image::RgbImage::new(32, 24);
    img.fill_rect(8, 4, 12, 10, [200, 40, 90]);
    lookout_core::jpeg::encode_rgb(&img, 85).expect("encode a JPEG")
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write test data");
    path
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// The error subscribing to `name` gives once its publisher is known (not Unavailable).
async fn subscribe_error_once_discovered(node: &Ros2Node, name: &str) -> lookout_core::Error {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match node.subscribe(name, Reliability::BestEffort).await {
            Ok(_) => panic!("{name} should not be subscribable as an image"),
            Err(e) if e.kind() == ErrorKind::Unavailable => {
                assert!(
                    Instant::now() < deadline,
                    "{name} was never discovered: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return e,
        }
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until every topic of `expected` is listed (others may be too).
async fn wait_for_topics(node: &Ros2Node, expected: &[TopicInfo]) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let listed = node.image_topics().await.expect("list topics");
        if expected.iter().all(|t| listed.contains(t)) {
            let mut sorted = listed.clone();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            assert_eq!(listed, sorted, "topics are sorted by name");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {expected:?}, discovery lists {listed:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn subscribe(node: &Ros2Node, name: &str, r: Reliability) -> mpsc::Receiver<RosMessage> {
    node.subscribe(name, r)
        .await
        .unwrap_or_else(|e| panic!("subscribe to {name}: {e}"))
}

async fn recv(rx: &mut mpsc::Receiver<RosMessage>) -> RosMessage {
    match tokio::time::timeout(PATIENCE, rx.recv()).await {
        Ok(Some(m)) => m,
        Ok(None) => panic!("the subscription ended"),
        Err(_) => panic!("no message within {PATIENCE:?}"),
    }
}
