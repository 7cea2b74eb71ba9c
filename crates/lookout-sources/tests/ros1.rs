//! The ROS 1 transport against a real master and publishers from Debian: `roscore` and a
//! rospy node (tests/ros/ros1_publisher.py), all on 127.0.0.1.
//!
//! Needs python3-rospy, python3-rosmaster, python3-roslaunch, python3-sensor-msgs, rosout
//! (scripts/test.sh installs them). Under LOOKOUT_TEST_STRICT=1 or CI=true their absence
//! fails the tests; otherwise the tests say so and pass.
#![cfg(feature = "ros1")]

use lookout_core::ErrorKind;
use lookout_sources::ros::ros1::Ros1Node;
use lookout_sources::ros::{ImageType, Reliability, RosMessage, RosNode, TopicInfo};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc::Receiver;

const PYTHON: &str = "/usr/bin/python3";
const PUBLISHER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ros/ros1_publisher.py");
/// roscore is ready in about 5 s here; a loaded machine can take several times that.
const STARTUP: Duration = Duration::from_secs(60);
/// The header stamp ros1_publisher.py puts on every message.
const STAMP: Duration = Duration::new(1_700_000_000, 123);

fn strict() -> bool {
    std::env::var("LOOKOUT_TEST_STRICT").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// roscore and rospy are there, or the test is skipped (or fails when strict).
fn ros_installed() -> bool {
    let roscore = Path::new("/usr/bin/roscore").exists();
    let rospy = Command::new(PYTHON)
        .args(["-c", "import rospy, rosmaster, sensor_msgs.msg"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if roscore && rospy {
        return true;
    }
    let what = "roscore or rospy (Debian python3-rospy python3-rosmaster python3-roslaunch \
                python3-sensor-msgs rosout ros-sensor-msgs ros-std-msgs)";
    if strict() {
        panic!("{what} is missing; scripts/test.sh installs it");
    }
    eprintln!("SKIPPED: {what} is missing; scripts/test.sh installs it");
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A process group stopped with SIGINT on drop (roscore stops its master and rosout, rospy
/// unregisters), killed if it does not end within 10 s.
struct Group(Child);

impl Group {
    fn spawn(mut cmd: Command) -> Self {
        Group(cmd.process_group(0).spawn().expect("spawn"))
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
    }

    /// SIGINT, then waits for the leader to exit.
    fn stop(&mut self) {
        self.signal("-INT");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                // Children may outlive the leader by a moment.
                self.signal("-KILL");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.signal("-KILL");
        let _ = self.0.wait();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running roscore on a free port with its own ROS_HOME, and our node on it. Fields drop
/// in order: the node, roscore, then its home.
struct Ros {
    node: std::sync::Arc<Ros1Node>,
    uri: String,
    port: u16,
    roscore: Group,
    home: tempfile::TempDir,
}

impl Ros {
    async fn start() -> Option<Ros> {
        if !ros_installed() {
            return None;
        }
        let home = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let uri = format!("http://127.0.0.1:{port}");
        let roscore = roscore(port, &uri, home.path());
        let node = Ros1Node::start(&uri, "/lookout_test", Some("127.0.0.1"))
            .await
            .expect("node");
        let started = Instant::now();
        // The master answers once it is up; our node asks it through the same API.
        let n = &node;
        eventually("roscore to answer", || async move {
            n.image_topics().await.ok()
        })
        .await;
        eprintln!("roscore ready in {:?}", started.elapsed());
        Some(Ros {
            node,
            uri,
            port,
            roscore,
            home,
        })
    }

    /// Stops roscore and starts a new one on the same port, which knows nothing of the
    /// running nodes; returns once it answers.
    async fn restart_roscore(&mut self) {
        self.roscore.stop();
        self.roscore = roscore(self.port, &self.uri, self.home.path());
        let n = &self.node;
        eventually("the new roscore to answer", || async move {
            n.image_topics().await.ok()
        })
        .await;
    }

    /// The TCPROS connections the publishers of `topic` hold for it: `(connection id,
    /// subscriber)`, from each publisher's own getBusInfo (rospy numbers connections in the
    /// order they are made).
    fn publisher_connections(&self, topic: &str) -> Vec<(i64, String)> {
        let script = "import sys, xmlrpc.client as x\n\
            m = x.ServerProxy(sys.argv[1])\n\
            pubs = m.getSystemState('/test')[2][0]\n\
            for n in [n for t, ns in pubs if t == sys.argv[2] for n in ns]:\n\
            \x20   uri = m.lookupNode('/test', n)[2]\n\
            \x20   for c in x.ServerProxy(uri).getBusInfo('/test')[2]:\n\
            \x20       if c[4] == sys.argv[2]: print(c[0], c[1])";
        let out = Command::new(PYTHON)
            .args(["-c", script, &self.uri, topic])
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

    fn publish(&self, args: &[&str]) -> Group {
        let mut cmd = Command::new(PYTHON);
        cmd.arg(PUBLISHER)
            .args(args)
            .stdout(Stdio::null())
            .stderr(log_file(self.home.path(), "publisher"));
        ros_env(&mut cmd, &self.uri, self.home.path());
        Group::spawn(cmd)
    }

    /// Waits until the master lists `topic`.
    async fn wait_for_topic(&self, topic: &str) {
        eventually(&format!("{topic} to be published"), || async move {
            let topics = self.node.image_topics().await.ok()?;
            topics.iter().any(|t| t.name == topic).then_some(())
        })
        .await;
    }

    /// The subscribers of `topic` in the master's getSystemState, asked with Python's own
    /// XML-RPC client.
    fn subscribers(&self, topic: &str) -> Vec<String> {
        let script = "import sys, xmlrpc.client as x\n\
            subs = x.ServerProxy(sys.argv[1]).getSystemState('/test')[2][1]\n\
            print('\\n'.join(n for t, ns in subs if t == sys.argv[2] for n in ns))";
        let out = Command::new(PYTHON)
            .args(["-c", script, &self.uri, topic])
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// roscore on `port`, its output in `home`.
fn roscore(port: u16, uri: &str, home: &Path) -> Group {
    let mut cmd = Command::new("roscore");
    cmd.args(["-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(log_file(home, "roscore"));
    ros_env(&mut cmd, uri, home);
    Group::spawn(cmd)
}

fn ros_env(cmd: &mut Command, uri: &str, home: &Path) {
    cmd.env("ROS_MASTER_URI", uri)
        .env("ROS_IP", "127.0.0.1")
        .env_remove("ROS_HOSTNAME")
        .env("ROS_HOME", home)
        .env("ROS_LOG_DIR", home.join("log"));
}

/// A new file in `dir` for a child's stderr, kept with the test's ROS_HOME.
fn log_file(dir: &Path, name: &str) -> Stdio {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path: PathBuf = dir.join(format!("{name}-{n}.log"));
    std::fs::File::create(path).map_or(Stdio::null(), Stdio::from)
}

/// Polls `f` until it gives a value, failing after [`STARTUP`].
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + STARTUP;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn next(rx: &mut Receiver<RosMessage>) -> RosMessage {
    tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("a message within 30 s")
        .expect("the subscription is open")
}

/// The bytes ros1_publisher.py fills raw images with.
fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + seed) % 256) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rgb8_mono16_and_jpeg_topics_are_listed_and_arrive_byte_for_byte() {
    let Some(ros) = Ros::start().await else {
        return;
    };
    let jpeg = {
        let mut img = lookout_core::RgbImage::new(32, 16);
        img.fill_rect(0, 0, 16, 16, [250, 20, 20]);
        lookout_core::jpeg::encode_rgb(&img, 85).expect("jpeg")
    };
    let jpeg_path = ros.home.path().join("picture.jpg");
    std::fs::write(&jpeg_path, &jpeg).expect("write jpeg");
    let _rgb = ros.publish(&["/camera/rgb", "raw", "rgb8", "4", "3", "1"]);
    let _depth = ros.publish(&["/camera/depth", "raw", "mono16", "5", "2", "2"]);
    let _jpeg = ros.publish(&[
        "/camera/image_raw/compressed",
        "compressed",
        jpeg_path.to_str().expect("utf-8 path"),
    ]);
    for t in [
        "/camera/rgb",
        "/camera/depth",
        "/camera/image_raw/compressed",
    ] {
        ros.wait_for_topic(t).await;
    }

    let topics = ros.node.image_topics().await.expect("topics");
    let info = |name: &str, image_type| TopicInfo {
        name: name.into(),
        image_type,
    };
    // Sorted, images only (not /rosout_agg).
    assert_eq!(
        topics,
        [
            info("/camera/depth", ImageType::Raw),
            info("/camera/image_raw/compressed", ImageType::Compressed),
            info("/camera/rgb", ImageType::Raw),
        ]
    );
    assert_eq!(ros.node.kind(), "ros1");

    let stamp = Some(SystemTime::UNIX_EPOCH + STAMP);
    let mut rgb = ros
        .node
        .subscribe("/camera/rgb", Reliability::BestEffort)
        .await
        .expect("rgb");
    let RosMessage::Image(img) = next(&mut rgb).await else {
        panic!("/camera/rgb gave a compressed image")
    };
    assert_eq!(
        (
            img.width,
            img.height,
            img.encoding.as_str(),
            img.step,
            img.is_bigendian
        ),
        (4, 3, "rgb8", 12, false)
    );
    assert_eq!(img.data, pattern(36, 1));
    assert_eq!(img.stamp, stamp);

    // A relative name is the same topic: our node lives in the root namespace.
    let mut depth = ros
        .node
        .subscribe("camera/depth", Reliability::Reliable)
        .await
        .expect("depth");
    let RosMessage::Image(img) = next(&mut depth).await else {
        panic!("/camera/depth gave a compressed image")
    };
    assert_eq!(
        (img.width, img.height, img.encoding.as_str(), img.step),
        (5, 2, "mono16", 10)
    );
    assert_eq!(img.data, pattern(20, 2));

    let mut compressed = ros
        .node
        .subscribe("/camera/image_raw/compressed", Reliability::BestEffort)
        .await
        .expect("compressed");
    let RosMessage::Compressed(c) = next(&mut compressed).await else {
        panic!("the compressed topic gave a raw image")
    };
    assert_eq!(c.format, "jpeg");
    assert_eq!(c.data, jpeg, "the JPEG changed on the way");
    assert_eq!(c.stamp, stamp);

    // Messages keep coming on every subscription.
    for rx in [&mut rgb, &mut depth, &mut compressed] {
        next(rx).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_publisher_is_followed_and_a_dropped_subscription_unregisters() {
    let Some(ros) = Ros::start().await else {
        return;
    };
    let topic = "/camera/image_raw";
    let mut first = ros.publish(&[topic, "raw", "mono8", "3", "2", "10"]);
    ros.wait_for_topic(topic).await;
    let mut rx = ros
        .node
        .subscribe(topic, Reliability::BestEffort)
        .await
        .expect("subscribe");
    let RosMessage::Image(img) = next(&mut rx).await else {
        panic!("not an image")
    };
    assert_eq!(img.data, pattern(6, 10));
    assert_eq!(ros.subscribers(topic), ["/lookout_test"]);

    // The publisher goes away and another one comes: the master's publisherUpdate calls
    // on our node API lead us to it.
    first.stop();
    let _second = ros.publish(&[topic, "raw", "mono8", "3", "2", "20"]);
    let deadline = Instant::now() + STARTUP;
    loop {
        let msg = next(&mut rx).await;
        if matches!(msg, RosMessage::Image(img) if img.data == pattern(6, 20)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no picture from the new publisher"
        );
    }

    drop(rx);
    let r = &ros;
    eventually("the master to forget our subscription", || async move {
        r.subscribers(topic).is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_to_one_topic_share_one_connection() {
    let Some(ros) = Ros::start().await else {
        return;
    };
    let topic = "/camera/shared";
    let _pub = ros.publish(&[topic, "raw", "rgb8", "64", "48", "5", "30"]);
    ros.wait_for_topic(topic).await;
    // A configured camera, an on-demand viewer and one asking another QoS profile: three
    // subscriptions of one node to one topic.
    let mut subscriptions = Vec::new();
    for reliability in [
        Reliability::BestEffort,
        Reliability::BestEffort,
        Reliability::Reliable,
    ] {
        let mut rx = ros
            .node
            .subscribe(topic, reliability)
            .await
            .expect("subscribe");
        next(&mut rx).await;
        subscriptions.push(rx);
    }
    let first = ros.publisher_connections(topic);
    assert_eq!(
        first
            .iter()
            .map(|(_, who)| who.as_str())
            .collect::<Vec<_>>(),
        ["/lookout_test"],
        "the publisher's connections: {first:?}"
    );
    // Every subscription keeps receiving, and the publisher's one connection stays: two
    // connections from one caller id would replace each other every ~110 ms.
    let window = Duration::from_secs(3);
    let start = Instant::now();
    let mut counts = vec![0u32; subscriptions.len()];
    while start.elapsed() < window {
        for (rx, n) in subscriptions.iter_mut().zip(&mut counts) {
            while let Ok(m) = rx.try_recv() {
                let RosMessage::Image(img) = m else {
                    panic!("not an image")
                };
                assert_eq!(img.data, pattern(64 * 48 * 3, 5));
                *n += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rates: Vec<String> = counts
        .iter()
        .map(|n| format!("{:.1}/s", f64::from(*n) / window.as_secs_f64()))
        .collect();
    eprintln!("ros1: three subscriptions of a 30 Hz topic received {rates:?}");
    assert!(counts.iter().all(|n| *n > 0), "{counts:?}");
    let last = ros.publisher_connections(topic);
    assert_eq!(
        last, first,
        "the publisher's connection to us was replaced while three subscriptions shared it"
    );
    // The last subscription to leave unregisters; the others leaving changes nothing.
    let last_rx = subscriptions.pop().expect("three");
    drop(subscriptions);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ros.subscribers(topic), ["/lookout_test"]);
    assert_eq!(ros.publisher_connections(topic), first);
    drop(last_rx);
    let r = &ros;
    eventually("the master to forget our subscription", || async move {
        r.subscribers(topic).is_empty().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roscore_restart_keeps_a_working_stream() {
    let Some(mut ros) = Ros::start().await else {
        return;
    };
    let topic = "/camera/image_raw";
    let _pub = ros.publish(&[topic, "raw", "mono8", "3", "2", "10", "30"]);
    ros.wait_for_topic(topic).await;
    let mut rx = ros
        .node
        .subscribe(topic, Reliability::BestEffort)
        .await
        .expect("subscribe");
    next(&mut rx).await;

    // The new master knows no publishers: rospy registers only when it starts.
    ros.restart_roscore().await;
    // Long enough for our node to register again with the new master, which answers with an
    // empty publisher list; pictures must keep coming all along.
    let watch = Duration::from_secs(15);
    let restarted = Instant::now();
    let mut n = 0u32;
    while restarted.elapsed() < watch {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            Ok(Some(_)) => n += 1,
            Ok(None) => panic!("the subscription ended"),
            Err(_) => panic!(
                "no picture for 5 s, {:?} after roscore restarted ({n} before)",
                restarted.elapsed()
            ),
        }
    }
    eprintln!("ros1: {n} pictures in the {watch:?} after roscore restarted");
    // Registered with the new master too, so a publisher that starts there reaches us.
    let r = &ros;
    eventually("the new master to list our subscription", || async move {
        (r.subscribers(topic) == ["/lookout_test"]).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_720p_rgb8_stream_arrives_whole_and_its_rate_is_reported() {
    let Some(ros) = Ros::start().await else {
        return;
    };
    let topic = "/camera/hd";
    // As fast as rospy can: the rate printed is the transport's, not a camera's.
    let _pub = ros.publish(&[topic, "raw", "rgb8", "1280", "720", "3", "1000"]);
    ros.wait_for_topic(topic).await;
    let mut rx = ros
        .node
        .subscribe(topic, Reliability::BestEffort)
        .await
        .expect("subscribe");
    let expected = pattern(1280 * 720 * 3, 3);
    let RosMessage::Image(img) = next(&mut rx).await else {
        panic!("not an image")
    };
    assert!(img.data == expected, "the 720p picture changed on the way");
    let window = Duration::from_secs(3);
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < window {
        if let Ok(Some(_)) = tokio::time::timeout(window, rx.recv()).await {
            n += 1;
        }
    }
    eprintln!(
        "ros1: {n} 1280x720 rgb8 messages in {:?} ({:.1}/s)",
        start.elapsed(),
        f64::from(n) / start.elapsed().as_secs_f64()
    );
    assert!(n >= 1, "the stream stopped after its first picture");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_nobody_publishes_is_unavailable_and_other_types_are_refused() {
    let Some(ros) = Ros::start().await else {
        return;
    };
    let e = ros
        .node
        .subscribe("/nobody/publishes/this", Reliability::BestEffort)
        .await
        .expect_err("a topic without publisher");
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.message().contains("/nobody/publishes/this"), "{e}");
    // roscore's rosout publishes /rosout_agg, a rosgraph_msgs/Log.
    ros.wait_for_rosout().await;
    let e = ros
        .node
        .subscribe("/rosout_agg", Reliability::BestEffort)
        .await
        .expect_err("not an image topic");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("rosgraph_msgs/Log"), "{e}");
    let e = ros
        .node
        .subscribe("/bad name", Reliability::BestEffort)
        .await
        .expect_err("an invalid name");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

impl Ros {
    async fn wait_for_rosout(&self) {
        eventually("rosout to publish /rosout_agg", || async move {
            let e = self
                .node
                .subscribe("/rosout_agg", Reliability::BestEffort)
                .await
                .err()?;
            (e.kind() == ErrorKind::InvalidInput).then_some(())
        })
        .await;
    }
}

/// Needs no roscore: nothing listens on the port.
#[tokio::test]
async fn an_unreachable_master_is_unavailable_and_says_to_start_roscore() {
    let uri = format!("http://127.0.0.1:{}", free_port());
    let node = Ros1Node::start(&uri, "/lookout_test", None)
        .await
        .expect("node");
    if std::env::var_os("ROS_HOSTNAME").is_none() && std::env::var_os("ROS_IP").is_none() {
        // A master on this machine is reached over loopback.
        assert!(
            node.uri().starts_with("http://127.0.0.1:"),
            "{}",
            node.uri()
        );
    }
    for e in [
        node.image_topics().await.expect_err("no master"),
        node.subscribe("/camera/image_raw", Reliability::BestEffort)
            .await
            .expect_err("no master"),
    ] {
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(
            e.message().contains(&uri) && e.message().contains("roscore"),
            "{e}"
        );
    }
}
