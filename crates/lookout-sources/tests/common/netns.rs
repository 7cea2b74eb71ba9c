//! Running one test again inside a fresh network namespace with only loopback up, so DDS
//! multicast never leaves it. Shared (through `#[path]`) by the ROS 2 tests of
//! `lookout-sources` and of `lookout`.

use std::process::{Command, Stdio};

/// Whether this process may create a network namespace (root, or user namespaces allowed).
pub fn can_unshare() -> bool {
    Command::new("unshare")
        .args(["-n", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs the test `name` of this test binary inside a new network namespace with `inside` set
/// (the test sees it and does its work) and `env`, and fails unless it ran and passed there.
pub fn run_test_inside(name: &str, inside: &str, env: &[(&str, String)]) {
    let exe = std::env::current_exe().expect("own test binary");
    let out = Command::new("unshare")
        .args(["-n", "sh", "-c", "ip link set lo up && exec \"$@\"", "sh"])
        .arg(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(inside, "1")
        // What ROS 2 Jazzy's own nodes use to stay on this host; all there is here anyway.
        .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .output()
        .expect("run unshare");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "--- inside the network namespace ---\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{name} failed inside its network namespace"
    );
    // A misspelt name would run nothing and pass.
    assert!(
        stdout.contains("1 passed"),
        "{name} did not run inside the namespace"
    );
}
