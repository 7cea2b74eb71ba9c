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
    /// A temporary directory: the server's data directory unless its config names one.
    pub data_dir: tempfile::TempDir,
    /// Where the server keeps its database (for `lookout` commands run against it).
    pub state_dir: std::path::PathBuf,
    task: Option<JoinHandle<Result<(), lookout_core::Error>>>,
}

/// The `lookout` binary, for CLI commands against a test server's database.
pub const BIN: &str = env!("CARGO_BIN_EXE_lookout");
const CONFIG_FILE: &str = "lookout.toml";

/// A server that requires logins, with cheap password hashing.
pub fn login_config(extra_auth: &str) -> String {
    format!("[auth]\nmode = \"login\"\n{CHEAP_AUTH}{extra_auth}\n")
}

/// Cheap Argon2 for tests: the OWASP cost (~27 ms a hash) would make login tests slow.
pub const CHEAP_AUTH: &str = "argon2_memory_kib = 64\nargon2_iterations = 1\n";

impl TestServer {
    /// A server without logins (`auth.mode = "none"`) unless `toml` has an `[auth]` table.
    pub async fn start(toml: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        Self::start_on(toml, vec![listener.into()]).await
    }

    /// Like [`TestServer::start`] on the given listeners; `addr` is the first TCP one's.
    pub async fn start_on(toml: &str, listeners: Vec<lookout::listen::Bound>) -> Self {
        let toml = if toml.contains("[auth]") {
            toml.to_owned()
        } else {
            format!("[auth]\nmode = \"none\"\n{toml}")
        };
        let mut config = lookout::config::parse(&toml, "test.toml")
            .unwrap_or_else(|e| panic!("test config: {e}"));
        let data_dir = tempfile::tempdir().expect("temp dir");
        // A config naming its own data directory keeps it (a restart on the same state).
        if config.data_dir_in_file.is_none() {
            config.data_dir = data_dir.path().to_path_buf();
        }
        // Tests run side by side: WebRTC's UDP port is a free one unless the test sets it.
        if !toml.contains("[webrtc]") {
            config.webrtc.udp_port = 0;
        }
        if !toml.contains("tcp_port") {
            config.webrtc.tcp_port = 0;
        }
        // The same config for `lookout user ...` run against this server's database.
        std::fs::write(data_dir.path().join(CONFIG_FILE), &toml).expect("write config");
        let addr = listeners
            .iter()
            .find_map(|l| match l {
                lookout::listen::Bound::Tcp { listener, .. } => listener.local_addr().ok(),
                lookout::listen::Bound::Unix { .. } => None,
            })
            .unwrap_or_else(|| "127.0.0.1:9".parse().expect("address"));
        let shutdown = CancellationToken::new();
        let state_dir = config.data_dir.clone();
        let task = tokio::spawn(lookout::app::run(listeners, config, shutdown.clone()));
        Self {
            addr,
            shutdown,
            state_dir,
            data_dir,
            task: Some(task),
        }
    }

    /// Runs `lookout ARGS` with this server's config and data directory; `stdin` is written
    /// to its standard input. Panics unless it exits 0.
    pub fn cli(&self, args: &[&str], stdin: &str) -> String {
        let out = self.cli_output(args, stdin);
        assert!(
            out.status.success(),
            "lookout {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `lookout ARGS` like [`TestServer::cli`], whatever its exit status.
    pub fn cli_output(&self, args: &[&str], stdin: &str) -> std::process::Output {
        use std::io::Write;
        let dir = self.data_dir.path();
        let mut child = std::process::Command::new(BIN)
            .arg("--config")
            .arg(dir.join(CONFIG_FILE))
            .arg("--data-dir")
            .arg(&self.state_dir)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run lookout");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).expect("write stdin");
        drop(input);
        child.wait_with_output().expect("wait for lookout")
    }

    /// `lookout user add NAME --password-stdin` with extra arguments (`--role admin`...).
    pub fn add_user(&self, name: &str, password: &str, extra: &[&str]) {
        let mut args = vec!["user", "add", name, "--password-stdin"];
        args.extend_from_slice(extra);
        self.cli(&args, &format!("{password}\n"));
    }

    /// The server's own `http://host:port` origin, as a browser sends it.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A request with any method, headers and body.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        lookout_bench::request(self.addr, method, path, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", path, headers, None).await
    }

    pub async fn stream_with(&self, path: &str, headers: &[(&str, &str)]) -> MjpegStream {
        lookout_bench::open_stream(self.addr, path, headers)
            .await
            .unwrap_or_else(|e| panic!("stream {path}: {e}"))
    }

    /// Signs in through the login form as a browser does; returns the `Set-Cookie` of the
    /// session. Panics unless the login succeeds.
    pub async fn login(&self, user: &str, password: &str, remember: bool) -> String {
        let r = self.try_login(user, password, remember).await;
        assert_eq!(r.status, 303, "login: {}", String::from_utf8_lossy(&r.body));
        set_cookies(&r)
            .into_iter()
            .find(|c| c.starts_with("lookout_session="))
            .expect("a session cookie")
    }

    /// Loads the login page and posts the form with its CSRF token and our Origin.
    pub async fn try_login(&self, user: &str, password: &str, remember: bool) -> Response {
        let page = self.get("/login").await;
        assert_eq!(page.status, 200);
        let csrf_cookie = cookie_pair(&set_cookies(&page), "lookout_csrf").expect("csrf cookie");
        let token = hidden_field(&String::from_utf8_lossy(&page.body), "csrf").expect("csrf field");
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("csrf", &token)
            .append_pair("user", user)
            .append_pair("password", password)
            .append_pair("next", "/");
        if remember {
            form.append_pair("remember", "on");
        }
        let body = form.finish();
        let origin = self.origin();
        self.request(
            "POST",
            "/login",
            &[
                ("Cookie", &csrf_cookie),
                ("Origin", &origin),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            Some(body.as_bytes()),
        )
        .await
    }

    /// The server's address, for helpers that outlive a borrow.
    pub fn clone_addr(&self) -> SocketAddr {
        self.addr
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

/// True if `program` is on PATH. Missing under scripts/test.sh or CI is a failure naming the
/// Debian package, so a broken install step cannot pass as a skip; elsewhere (a bare
/// `cargo test`) the test is skipped with a note.
pub fn require(program: &str, package: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()));
    found || missing(&format!("{program} (Debian package `{package}`)"))
}

/// Whether a missing test dependency fails the test: under scripts/test.sh
/// (`LOOKOUT_TEST_STRICT=1`) and CI (`CI=true`).
fn strict() -> bool {
    std::env::var("LOOKOUT_TEST_STRICT").is_ok_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Reports a missing test dependency: panics when [`strict`], else says the test is skipped.
pub fn missing(what: &str) -> bool {
    if strict() {
        panic!("{what} is missing; scripts/test.sh installs it");
    }
    eprintln!("SKIPPED: {what} is missing; scripts/test.sh installs it");
    false
}

/// The Python with the test packages (`bcrypt`) that scripts/test.sh prepares in a venv.
pub fn test_python() -> Option<std::path::PathBuf> {
    match std::env::var_os("LOOKOUT_TEST_PYTHON") {
        Some(p) if std::path::Path::new(&p).is_file() => Some(p.into()),
        _ => {
            missing("the test Python venv (LOOKOUT_TEST_PYTHON)");
            None
        }
    }
}

/// `tests/browser` with playwright-core installed (scripts/test.sh runs `npm ci` there).
pub fn browser_scripts() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    if dir.join("node_modules/playwright-core").is_dir() && require("node", "nodejs") {
        Some(dir)
    } else {
        missing("tests/browser/node_modules (npm ci in tests/browser)");
        None
    }
}

/// Runs `node SCRIPT ARGS…` from `tests/browser` (`scripts`, as [`browser_scripts`] gives it)
/// off the test's runtime; the one JSON line the script prints. It must exit 0.
pub async fn run_browser_script(
    scripts: &std::path::Path,
    script: &str,
    args: &[&str],
) -> serde_json::Value {
    let path = scripts.join(script);
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(path)
            .args(args)
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} prints JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Width and height of a JPEG, checking it is complete and decodes.
pub fn jpeg_size(data: &[u8]) -> (u32, u32) {
    let img = lookout_core::jpeg::decode_rgb(data)
        .unwrap_or_else(|e| panic!("not a valid JPEG ({} bytes): {e}", data.len()));
    (img.width, img.height)
}

/// Reads `n` parts, checking each is a complete JPEG with consistent headers.
pub async fn read_parts<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    s: &mut MjpegStream<S>,
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

/// Every `Set-Cookie` value of a response.
pub fn set_cookies(r: &Response) -> Vec<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.clone())
        .collect()
}

/// `name=value` of cookie `name` among `Set-Cookie` values, ready for a `Cookie` header.
pub fn cookie_pair(set_cookies: &[String], name: &str) -> Option<String> {
    set_cookies
        .iter()
        .filter_map(|c| c.split(';').next())
        .find(|pair| pair.split_once('=').is_some_and(|(k, _)| k == name))
        .map(str::to_owned)
}

/// The value of `<input type="hidden" name="NAME" value="...">` in a page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// `Authorization: Basic` for a user and password.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A free TCP port on 127.0.0.1 (for programs that must be told their port up front).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A child process killed and reaped on drop, so a failing test leaves nothing running.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A CA and a server certificate for 127.0.0.1 and localhost signed by it, made by openssl
/// in `dir` as `ca.crt` and `NAME.crt`/`NAME.key`: (ca, cert, key). rustls and Go want a CA
/// as the trust anchor, not the server's certificate itself.
pub fn ca_signed_cert(
    dir: &std::path::Path,
    name: &str,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let (key, csr, crt) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
    );
    run(&[
        &["req", "-x509"][..],
        &ec,
        &["-days", "2", "-subj", "/CN=test CA"],
        &["-keyout", "ca.key", "-out", "ca.crt"],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec,
        &["-subj", "/CN=localhost", "-keyout", &key, "-out", &csr],
    ]
    .concat());
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .expect("write san.ext");
    run(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        "-out",
        &crt,
    ]);
    (dir.join("ca.crt"), dir.join(crt), dir.join(key))
}
