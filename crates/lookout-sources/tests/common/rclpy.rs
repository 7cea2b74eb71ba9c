//! A real rclpy publisher that reports how many subscriptions its middleware has matched, and
//! loopback's byte counter: what a closed or idle subscription still costs the robot, seen
//! from the robot's side. Shared (through `#[path]`) by the ROS 2 tests of `lookout-sources`
//! and of `lookout`; run inside the test's network namespace (see `netns.rs`).

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// tests/ros/ros2_publisher.py with `--report`: how many subscriptions the publisher's own
/// middleware has matched, as it says each time the number changes.
pub struct ReportingPublisher {
    child: std::process::Child,
    subscriptions: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl ReportingPublisher {
    /// `script` is tests/ros/ros2_publisher.py of lookout-sources.
    pub fn start(python: &Path, script: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(python)
            .arg(script)
            .args(args)
            .arg("--report")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the rclpy publisher");
        let stdout = child.stdout.take().expect("piped stdout");
        let subscriptions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(usize::MAX));
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let count = subscriptions.clone();
        // Reads to the end: a closed pipe would kill the publisher at its next report.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.trim() == "ready" {
                    let _ = ready_tx.send(());
                } else if let Some(n) = line.strip_prefix("subscriptions ")
                    && let Ok(n) = n.trim().parse()
                {
                    count.store(n, std::sync::atomic::Ordering::SeqCst);
                }
            }
        });
        let publisher = Self {
            child,
            subscriptions,
        };
        assert!(
            ready.recv_timeout(Duration::from_secs(60)).is_ok(),
            "the rclpy publisher {args:?} did not start; its error is above"
        );
        publisher
    }

    /// The publisher's last report (`usize::MAX` before its first).
    pub fn subscriptions(&self) -> usize {
        self.subscriptions.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until the reported number satisfies `done`, at most `patience`.
    pub async fn wait_for(&self, done: impl Fn(usize) -> bool, patience: Duration, what: &str) {
        let deadline = Instant::now() + patience;
        loop {
            let n = self.subscriptions();
            if n != usize::MAX && done(n) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gave up after {patience:?} waiting for {what}; the publisher reports {n} subscriptions"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Bytes received on loopback in this network namespace so far. From /proc/net/dev, which
/// is the reading process's namespace; /sys/class/net is the namespace that mounted /sys
/// (the host's, here).
pub fn loopback_rx_bytes() -> u64 {
    let dev = std::fs::read_to_string("/proc/net/dev").expect("read /proc/net/dev");
    dev.lines()
        .find_map(|l| l.trim_start().strip_prefix("lo:"))
        .and_then(|counters| counters.split_whitespace().next()?.parse().ok())
        .expect("lo's received bytes in /proc/net/dev")
}

impl Drop for ReportingPublisher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
