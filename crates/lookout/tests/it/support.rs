//! Test fixtures: an in-process server on a port-0 listener that stops on drop, config
//! snippets, and the check for external programs (a failure under CI, a skip elsewhere).

use lookout_bench::{MjpegStream, Response};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub struct TestServer {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    /// The data directory (database) of this server.
    pub data_dir: tempfile::TempDir,
    task: Option<JoinHandle<Result<(), String>>>,
}

/// Cheap Argon2 for tests: the OWASP cost (~27 ms a hash) would make login tests slow.
pub const CHEAP_AUTH: &str = "argon2_memory_kib = 64\nargon2_iterations = 1\n";

impl TestServer {
    /// A server without logins (`auth.mode = "none"`) unless `toml` has an `[auth]` table.
    pub async fn start(toml: &str) -> Self {
        let toml = if toml.contains("[auth]") {
            toml.to_owned()
        } else {
            format!("[auth]\nmode = \"none\"\n{toml}")
        };
        let mut config = lookout::config::parse(&toml, "test.toml")
            .unwrap_or_else(|e| panic!("test config: {e}"));
        let data_dir = tempfile::tempdir().expect("temp dir");
        config.data_dir = data_dir.path().to_path_buf();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(lookout::app::run(vec![listener], config, shutdown.clone()));
        Self {
            addr,
            shutdown,
            data_dir,
            task: Some(task),
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        lookout_bench::get(self.addr, path, &[])
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn json(&self, path: &str) -> serde_json::Value {
        let r = self.get(path).await;
        assert_eq!(
            r.status,
            200,
            "GET {path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        serde_json::from_slice(&r.body).expect("JSON body")
    }

    pub async fn stream(&self, path: &str) -> MjpegStream {
        lookout_bench::open_stream(self.addr, path, &[])
            .await
            .unwrap_or_else(|e| panic!("stream {path}: {e}"))
    }

    /// Polls the camera's API entry until `pred` holds; panics with the last state after `within`.
    pub async fn wait_camera(
        &self,
        id: &str,
        within: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let cam = self.json(&format!("/api/cameras/{id}")).await;
            if pred(&cam) {
                return cam;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "camera {id} never reached the expected state: {cam}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Shuts down and waits for `app::run` to return.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("server did not stop within 15 s")
                .expect("server task panicked")
                .expect("server failed");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A test-pattern camera.
pub fn testpattern(id: &str, width: u32, height: u32, fps: u32) -> String {
    testpattern_with(id, width, height, fps, "")
}

/// A test-pattern camera with extra camera keys (`keep_warm = true`...).
pub fn testpattern_with(id: &str, width: u32, height: u32, fps: u32, camera_keys: &str) -> String {
    let source =
        format!("kind = \"testpattern\"\nwidth = {width}\nheight = {height}\nfps = {fps}\n");
    camera(id, camera_keys, &source)
}

/// A camera table with `camera_keys` and a source table.
pub fn camera(id: &str, camera_keys: &str, source: &str) -> String {
    format!("[[camera]]\nid = \"{id}\"\n{camera_keys}\n[camera.source]\n{source}\n")
}

/// True if `program` is on PATH. Missing under CI (`CI=true`) is a failure naming the Debian
/// package, so a broken install step cannot pass as a skip; elsewhere the test is skipped.
pub fn require(program: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()));
    if found {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{program} is not installed: install the Debian package `{package}` (scripts/test.sh does)"
        );
    }
    eprintln!("SKIPPED: {program} is not installed (Debian package `{package}`)");
    false
}

/// Width and height of a JPEG, checking it is complete and decodes.
pub fn jpeg_size(data: &[u8]) -> (u32, u32) {
    let img = lookout_core::jpeg::decode_rgb(data)
        .unwrap_or_else(|e| panic!("not a valid JPEG ({} bytes): {e}", data.len()));
    (img.width, img.height)
}

/// Reads `n` parts, checking each is a complete JPEG with consistent headers.
pub async fn read_parts(
    s: &mut MjpegStream,
    n: usize,
    within: Duration,
) -> Vec<lookout_bench::Part> {
    let deadline = tokio::time::Instant::now() + within;
    let mut parts = Vec::with_capacity(n);
    while parts.len() < n {
        let Ok(next) = tokio::time::timeout_at(deadline, s.next_part()).await else {
            panic!("only {} of {n} parts within {within:?}", parts.len());
        };
        let p = next.expect("stream read").expect("stream ended early");
        assert_eq!(p.header("content-type"), Some("image/jpeg"));
        assert_eq!(
            p.header("content-length").and_then(|v| v.parse().ok()),
            Some(p.body.len())
        );
        assert!(p.x_timestamp().is_some(), "X-Timestamp missing");
        parts.push(p);
    }
    parts
}
