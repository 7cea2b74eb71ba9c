//! Remote access with real programs: nginx in front of the `lookout` binary using the site
//! `lookout nginx-site` prints, the unit `lookout systemd-unit` prints checked by
//! `systemd-analyze verify`, and the systemd protocols (sd_notify, socket activation) spoken
//! to the binary the way systemd speaks them.

use crate::support::{
    BIN, CHEAP_AUTH, cookie_pair, free_port, hidden_field, jpeg_size, read_parts, require,
    set_cookies,
};
use lookout_bench::Response;
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const CAMERA: &str = "cam";

/// A child process stopped on drop: SIGTERM (nginx and Lookout both stop cleanly on it),
/// then SIGKILL if it is still there after 5 s.
pub(crate) struct Running {
    child: Child,
    name: &'static str,
    /// Where its diagnostics go, for failure messages.
    log: PathBuf,
}

impl Running {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics, with its log, if it has exited.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("{} exited ({status}):\n{}", self.name, self.log());
        }
    }

    fn wait(&mut self, within: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < within {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn terminate(&self) {
        // SAFETY: signalling our own child, which has not been reaped (we hold it).
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        self.terminate();
        if self.wait(Duration::from_secs(5)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `lookout --config CONFIG --data-dir DATA ARGS`.
pub(crate) fn lookout(config: &Path, data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(args);
    c
}

/// Runs a command to completion with `stdin`; panics unless it succeeds. Returns stdout and
/// stderr.
pub(crate) fn run(mut cmd: Command, stdin: &str) -> (String, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run lookout");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    (stdout, stderr)
}

/// Starts `cmd` (a `lookout ... serve`) and waits for its "listening on" line; returns the
/// process and the address it printed. Standard output is drained by a thread afterwards.
pub(crate) fn start_serving(mut cmd: Command, log: PathBuf) -> (Running, String) {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start lookout serve");
    let mut running = Running {
        child,
        name: "lookout serve",
        log,
    };
    let mut lines = BufReader::new(running.child.stdout.take().unwrap()).lines();
    let listening = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    break addr.to_owned();
                }
            }
            _ => {
                running.wait(Duration::from_secs(5));
                panic!("lookout exited before listening:\n{}", running.log());
            }
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (running, listening)
}

/// `http://127.0.0.1:PORT/` → the address.
fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|_| panic!("not an address: {url}"))
}

/// How Lookout listens behind nginx, and whom it trusts for forwarded headers.
struct Upstream {
    /// The one entry of `server.listen`.
    listen: String,
    trusted_proxies: &'static str,
}

/// The printed site made runnable without a certificate: the HTTPS server listens on
/// 127.0.0.1:`https_port` in plain HTTP, the port-80 server on 127.0.0.1:`http_port`, the
/// `ssl_*` lines go. Nothing else changes, the proxy `location` least of all.
pub(crate) fn http_only(site: &str, https_port: u16, http_port: u16) -> String {
    let mut rewritten = [0; 4];
    let mut out = String::new();
    for line in site.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        match line.trim() {
            "listen 443 ssl http2;" => {
                rewritten[0] += 1;
                out.push_str(&format!("{indent}listen 127.0.0.1:{https_port};\n"));
            }
            "listen [::]:443 ssl http2;" => rewritten[1] += 1,
            "listen 80;" => {
                rewritten[2] += 1;
                out.push_str(&format!("{indent}listen 127.0.0.1:{http_port};\n"));
            }
            "listen [::]:80;" => rewritten[3] += 1,
            t if t.starts_with("ssl_") => {}
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    assert_eq!(
        rewritten, [1; 4],
        "the site's listen lines changed; update this test:\n{site}"
    );
    out
}

/// The `location / { ... }` block of the HTTPS server, as text.
fn proxy_location(site: &str) -> &str {
    let https = &site[site.find("listen ").unwrap()..];
    let https = &https[https.find("\nserver {").expect("two servers")..];
    let start = https.find("location / {").expect("a location / block");
    let end = start + https[start..].find("\n    }").expect("its end");
    &https[start..end]
}

/// Writes `dir/nginx.conf`, which includes `site` in an `http {}` of its own and keeps every
/// file nginx writes under `dir`.
fn write_nginx_conf(dir: &Path, site: &str) {
    std::fs::write(dir.join("site.conf"), site).unwrap();
    let d = dir.display();
    // Workers run as nobody unless told otherwise; as root they could not enter our 0700
    // temp dir (nor write the socket).
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root;\n"
    } else {
        ""
    };
    let conf = format!(
        "{user}worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n\
         access_log {d}/access.log;\n\
         client_body_temp_path {d}/client_body;\nproxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\nuwsgi_temp_path {d}/uwsgi;\nscgi_temp_path {d}/scgi;\n\
         include {d}/site.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
}

/// Starts nginx with `site` (see [`write_nginx_conf`]) and waits until it accepts on `port`.
pub(crate) fn start_nginx(dir: &Path, site: &str, port: u16) -> Running {
    write_nginx_conf(dir, site);
    let d = dir.display();
    let log = dir.join("error.log");
    let child = Command::new("nginx")
        .arg("-p")
        .arg(format!("{d}/"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(&log)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("nginx.stderr")).unwrap())
        .spawn()
        .expect("start nginx");
    let mut nginx = Running {
        child,
        name: "nginx",
        log,
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if nginx.child.try_wait().unwrap().is_some() {
            panic!(
                "nginx exited:\n{}\n{}",
                std::fs::read_to_string(dir.join("nginx.stderr")).unwrap_or_default(),
                nginx.log()
            );
        }
        assert!(Instant::now() < deadline, "nginx never listened on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    nginx
}

async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Response {
    lookout_bench::request(addr, method, path, headers, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// Signs in through the login form as a browser on `origin` does; returns the session
/// cookie (`name=value`).
async fn login(addr: SocketAddr, origin: &str, user: &str, password: &str) -> String {
    let page = request(addr, "GET", "/login", &[], None).await;
    assert_eq!(page.status, 200, "GET /login through nginx");
    let csrf_cookie = cookie_pair(&set_cookies(&page), "lookout_csrf").expect("csrf cookie");
    let token = hidden_field(&String::from_utf8_lossy(&page.body), "csrf").expect("csrf field");
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("user", user)
        .append_pair("password", password)
        .append_pair("csrf", &token)
        .append_pair("next", "/")
        .finish();
    let r = request(
        addr,
        "POST",
        "/login",
        &[
            ("Cookie", &csrf_cookie),
            ("Origin", origin),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!(
        r.status,
        303,
        "login through nginx: {}",
        String::from_utf8_lossy(&r.body)
    );
    cookie_pair(&set_cookies(&r), "lookout_session").expect("a session cookie")
}

/// The `remote` of every viewer of the camera, as an admin sees them.
async fn viewer_remotes(addr: SocketAddr, cookie: &str) -> Vec<String> {
    let r = request(
        addr,
        "GET",
        &format!("/api/cameras/{CAMERA}"),
        &[("Cookie", cookie)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let mut remotes: Vec<String> = json["viewers"]
        .as_array()
        .expect("viewers")
        .iter()
        .map(|v| v["remote"].as_str().expect("remote").to_owned())
        .collect();
    remotes.sort();
    remotes
}

/// The whole path a remote viewer takes: nginx (with the printed site) → Lookout (the
/// binary) on `upstream`, logins, streams, snapshots, and the client address Lookout sees.
async fn through_nginx(upstream: impl FnOnce(&Path) -> Upstream) {
    if !require("nginx", "nginx") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let data = dir.join("data");
    let webroot = dir.join("acme");
    let up = upstream(dir);
    let config = dir.join("lookout.toml");
    // socket_mode 0666: nginx's workers are another user when the test does not run as root.
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = [\"{}\"]\ntrusted_proxies = {}\nsocket_mode = \"0666\"\n\
             [auth]\nmode = \"login\"\n{CHEAP_AUTH}\
             [[camera]]\nid = \"{CAMERA}\"\n[camera.source]\nkind = \"testpattern\"\nwidth = 320\nheight = 240\nfps = 10\n{}",
            up.listen,
            up.trusted_proxies,
            crate::h264::x264_camera("x264", "")
        ),
    )
    .unwrap();
    run(
        lookout(
            &config,
            &data,
            &["user", "add", "ada", "--password-stdin", "--role", "admin"],
        ),
        "correct horse\n",
    );

    let (site, warnings) = run(
        lookout(
            &config,
            &data,
            &[
                "nginx-site",
                "--server-name",
                "127.0.0.1",
                "--webroot",
                webroot.to_str().unwrap(),
            ],
        ),
        "",
    );
    assert_eq!(warnings, "", "this config is what the site asks for");
    let (https_port, http_port) = (free_port(), free_port());
    let runnable = http_only(&site, https_port, http_port);
    assert!(runnable.contains(proxy_location(&site)));

    let (_lookout, listening) =
        start_serving(lookout(&config, &data, &["serve"]), dir.join("lookout.log"));
    assert!(
        listening.contains(up.listen.trim_start_matches("unix:")),
        "{listening}"
    );
    let _nginx = start_nginx(dir, &runnable, https_port);
    let nginx: SocketAddr = ([127, 0, 0, 1], https_port).into();
    let origin = format!("http://{nginx}");

    // Port 80: challenges from the webroot, everything else to HTTPS.
    let challenges = webroot.join(".well-known/acme-challenge");
    std::fs::create_dir_all(&challenges).unwrap();
    std::fs::write(challenges.join("token-1"), "token-1.thumbprint").unwrap();
    let plain: SocketAddr = ([127, 0, 0, 1], http_port).into();
    let r = request(
        plain,
        "GET",
        "/.well-known/acme-challenge/token-1",
        &[],
        None,
    )
    .await;
    assert_eq!((r.status, &r.body[..]), (200, &b"token-1.thumbprint"[..]));
    let r = request(plain, "GET", "/cameras/cam?x=1", &[], None).await;
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some("https://127.0.0.1/cameras/cam?x=1")
    );

    // Logins apply through the proxy: a stranger gets no stream.
    let stream_path = format!("/cameras/{CAMERA}/stream.mjpeg");
    let stranger = request(
        nginx,
        "GET",
        &format!("/cameras/{CAMERA}/snapshot.jpg"),
        &[],
        None,
    )
    .await;
    // (Lookout's refusal, not nginx's 502.)
    assert!(
        matches!(stranger.status, 401 | 403),
        "a stranger got {}",
        stranger.status
    );
    let session = login(nginx, &origin, "ada", "correct horse").await;
    let auth = [("Cookie", session.as_str())];

    let mut stream = lookout_bench::open_stream(nginx, &stream_path, &auth)
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    for part in read_parts(&mut stream, 2, Duration::from_secs(10)).await {
        assert_eq!(jpeg_size(&part.body), (320, 240));
    }
    let snap = request(
        nginx,
        "GET",
        &format!("/cameras/{CAMERA}/snapshot.jpg"),
        &auth,
        None,
    )
    .await;
    assert_eq!(snap.status, 200);
    assert_eq!(snap.header("content-type"), Some("image/jpeg"));
    assert_eq!(jpeg_size(&snap.body), (320, 240));

    // H.264 as fragmented MP4 passes nginx as it is (a streamed response, like MJPEG).
    if require("ffmpeg", "ffmpeg") && require("curl", "curl") {
        let mp4 = dir.join("through-nginx.mp4");
        let head = crate::h264::curl_for(
            format!("{origin}/cameras/x264/stream.mp4"),
            3,
            &mp4,
            &["-H", &format!("Cookie: {session}")],
        )
        .await
        .to_ascii_lowercase();
        assert!(head.contains("content-type: video/mp4"), "{head}");
        let (codec, width, _, packets) = crate::h264::probe(&mp4);
        assert_eq!((codec.as_str(), width), ("h264", 640));
        assert!(
            packets.len() >= 30,
            "{} frames through nginx",
            packets.len()
        );
    }

    // A second viewer from 127.0.0.2 (loopback too, but not nginx's address) claims to be
    // somebody else in both headers Lookout reads. nginx appends the real address and drops
    // Forwarded, so Lookout must see 127.0.0.2: the claims are the client's to invent.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(([127, 0, 0, 2], 0).into()).unwrap();
    let io = socket.connect(nginx).await.unwrap();
    let mut spoofer = lookout_bench::open_stream_on(
        io,
        &nginx.to_string(),
        &stream_path,
        &[
            ("Cookie", &session),
            ("X-Forwarded-For", "203.0.113.5"),
            ("Forwarded", "for=198.51.100.1;proto=https"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(spoofer.status(), 200);
    spoofer.next_part().await.unwrap().expect("a frame");
    assert_eq!(
        viewer_remotes(nginx, &session).await,
        ["127.0.0.1", "127.0.0.2"],
        "Lookout must see each viewer's own address (not \"local\", not nginx's, not a claimed one)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_in_front_over_a_unix_socket_streams_and_sees_the_real_client() {
    through_nginx(|dir| Upstream {
        listen: format!("unix:{}", dir.join("http.sock").display()),
        trusted_proxies: "[\"unix\"]",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_in_front_over_loopback_tcp_streams_and_sees_the_real_client() {
    let port = free_port();
    through_nginx(move |_| Upstream {
        listen: format!("127.0.0.1:{port}"),
        trusted_proxies: "[\"127.0.0.1\"]",
    })
    .await;
}

/// The site exactly as printed, HTTPS and HTTP/2 included, is valid for the real nginx: only
/// the certificate paths point at a self-signed pair (`nginx -t` binds no port).
#[test]
fn the_printed_site_passes_nginx_t_with_its_tls_lines() {
    if !require("nginx", "nginx") || !require("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let config = dir.join("lookout.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = [\"unix:/run/lookout/http.sock\"]\nsocket_group = \"www-data\"\n\
         [[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n",
    )
    .unwrap();
    let (site, warnings) = run(
        lookout(
            &config,
            dir,
            &["nginx-site", "--server-name", "cam.example.org"],
        ),
        "",
    );
    assert_eq!(warnings, "");
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=cam.example.org"])
        .arg("-keyout")
        .arg(dir.join("privkey.pem"))
        .arg("-out")
        .arg(dir.join("fullchain.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live = "/etc/letsencrypt/live/cam.example.org/";
    assert_eq!(site.matches(live).count(), 2, "{site}");
    write_nginx_conf(dir, &site.replace(live, &format!("{}/", dir.display())));
    let out = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(format!("{}/", dir.display()))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `systemd-analyze verify` on `units` written to a temp dir; panics on any complaint that
/// names one of them (warnings about the host, e.g. no systemd as PID 1, are not ours).
fn verify_units(units: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("systemd-analyze");
    cmd.args(["verify", "--man=no"]);
    for (name, text) in units {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        cmd.arg(path);
    }
    let out = cmd.output().expect("run systemd-analyze");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let complaints: Vec<&str> = said
        .lines()
        .filter(|l| {
            units
                .iter()
                .any(|(name, _)| l.contains(&format!("{name}:")))
        })
        .collect();
    assert!(
        complaints.is_empty(),
        "systemd-analyze verify complains:\n{}\n--- units:\n{}",
        complaints.join("\n"),
        units.iter().map(|u| u.1).collect::<Vec<_>>().join("\n")
    );
}

fn systemd_unit_for(server: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\n{server}\n[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n"
        ),
    )
    .unwrap();
    let (unit, _warnings) = run(lookout(&config, dir.path(), &["systemd-unit"]), "");
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let bin = Path::new(BIN).canonicalize().unwrap();
    assert_eq!(
        exec,
        format!(
            "{} serve --config {} --data-dir /var/lib/lookout",
            bin.display(),
            config.display()
        )
    );
    unit
}

#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    if !require("systemd-analyze", "systemd") {
        return;
    }
    let unit = systemd_unit_for("listen = [\"unix:/run/lookout/http.sock\", \"127.0.0.1:8080\"]");
    assert!(unit.contains("\nCapabilityBoundingSet=\n"), "{unit}");
    verify_units(&[("lookout.service", &unit)]);
    let unit = systemd_unit_for("listen = [\"0.0.0.0:80\"]");
    assert!(
        unit.contains("\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n"),
        "{unit}"
    );
    verify_units(&[("lookout.service", &unit)]);
}

/// The guide's lookout.socket, next to the unit printed for `listen = ["systemd"]`.
#[test]
fn socket_activation_units_from_the_guide_pass_systemd_analyze_verify() {
    if !require("systemd-analyze", "systemd") {
        return;
    }
    let guide = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/guide/remote-access.md"),
    )
    .unwrap();
    let socket = guide
        .split("```ini\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains("[Socket]"))
        .expect("a lookout.socket example in docs/guide/remote-access.md");
    let service = systemd_unit_for("listen = [\"systemd\"]");
    assert!(service.contains("\nRequires=lookout.socket\n"), "{service}");
    verify_units(&[("lookout.service", &service), ("lookout.socket", socket)]);
}

/// Reads datagrams until one has the line `want`, skipping others; panics after `within`.
fn expect_notification(socket: &UnixDatagram, want: &str, within: Duration, skip: &[&str]) {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {want} within {within:?}");
        socket.set_read_timeout(Some(left)).unwrap();
        let n = match socket.recv(&mut buf) {
            Ok(n) => n,
            Err(e) => panic!("waiting for {want}: {e}"),
        };
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        if msg.lines().any(|l| l == want) {
            return;
        }
        assert!(
            msg.lines().all(|l| skip.contains(&l)),
            "unexpected notification {msg:?} while waiting for {want}"
        );
    }
}

/// What systemd sees of `lookout serve` under `Type=notify` and `WatchdogSec=`: READY=1
/// once it serves, WATCHDOG=1 pings, STOPPING=1 on SIGTERM, then a clean exit.
fn notifies_systemd(notify_socket: &str, systemd: &UnixDatagram) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = [\"127.0.0.1:0\"]\n[auth]\nmode = \"none\"\n[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n",
    )
    .unwrap();
    let mut cmd = lookout(&config, dir.path(), &["serve"]);
    // 200 ms: pings every 100 ms.
    cmd.env("NOTIFY_SOCKET", notify_socket)
        .env("WATCHDOG_USEC", "200000")
        .env_remove("WATCHDOG_PID");
    let (mut lookout, url) = start_serving(cmd, dir.path().join("lookout.log"));
    expect_notification(systemd, "READY=1", Duration::from_secs(10), &[]);
    // Ready means serving.
    let mut conn = std::net::TcpStream::connect(addr_of(&url)).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    for _ in 0..3 {
        expect_notification(systemd, "WATCHDOG=1", Duration::from_secs(2), &[]);
    }
    lookout.assert_running();
    lookout.terminate();
    expect_notification(
        systemd,
        "STOPPING=1",
        Duration::from_secs(5),
        &["WATCHDOG=1"],
    );
    let status = lookout.wait(Duration::from_secs(10));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", lookout.log());
}

#[test]
fn serve_notifies_a_path_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let systemd = UnixDatagram::bind(&path).unwrap();
    notifies_systemd(path.to_str().unwrap(), &systemd);
}

#[test]
fn serve_notifies_an_abstract_notify_socket() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!(
        "lookout-it-notify-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let systemd = UnixDatagram::bind_addr(&addr).unwrap();
    notifies_systemd(&format!("@{name}"), &systemd);
}

/// `lookout serve` with `config`, started as systemd starts a socket-activated service:
/// `listener` is file descriptor 3 (inherited, as systemd passes it), `LISTEN_FDS=1`, and
/// `LISTEN_PID` is the pid of the process that execs Lookout.
fn serve_socket_activated(
    config: &str,
    dir: &Path,
    listener: &impl std::os::fd::AsRawFd,
) -> (Running, String) {
    use std::os::unix::process::CommandExt;
    let config_path = dir.join("lookout.toml");
    std::fs::write(&config_path, config).unwrap();
    let fd = listener.as_raw_fd();
    // The shell learns its own pid ($$) and execs Lookout with it, so LISTEN_PID is
    // Lookout's pid, which only the child itself can know before exec.
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(r#"LISTEN_PID=$$ exec "$0" "$@""#)
        .arg(BIN)
        .arg("--config")
        .arg(&config_path)
        .arg("--data-dir")
        .arg(dir)
        .arg("serve")
        .env("LISTEN_FDS", "1")
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDNAMES");
    // SAFETY: runs in the forked child before exec and calls only dup2 and fcntl, which are
    // async-signal-safe; `fd` is the listener, open in the parent until spawn returns.
    unsafe {
        cmd.pre_exec(move || {
            if fd == 3 {
                // Already in place: only drop close-on-exec (dup2 onto itself would not).
                let flags = libc::fcntl(3, libc::F_GETFD);
                if flags < 0 || libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    start_serving(cmd, dir.join("lookout.log"))
}

/// Socket activation as systemd does it (see [`serve_socket_activated`]).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_the_socket_systemd_passes() {
    let dir = tempfile::tempdir().unwrap();
    // A systemd socket may face the network: logins are required.
    let config = format!(
        "[server]\nlisten = [\"systemd\"]\n[auth]\nmode = \"login\"\n{CHEAP_AUTH}[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n"
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (_lookout, url) = serve_socket_activated(&config, dir.path(), &listener);
    drop(listener);
    assert_eq!(
        addr_of(&url),
        addr,
        "Lookout should serve on the passed socket"
    );
    let health = lookout_bench::get(addr, "/healthz", &[]).await.unwrap();
    assert_eq!(health.status, 200);
    // Counted as non-local: a stranger is asked to sign in.
    let page = lookout_bench::get(addr, "/cameras/a/snapshot.jpg", &[])
        .await
        .unwrap();
    assert_ne!(page.status, 200);
}

/// The passed socket is Lookout's alone: a program it starts (a command source here) inherits
/// neither the listening socket, which would keep the port open after Lookout ends, nor the
/// LISTEN_* variables. sd_listen_fds(3) marks the descriptors close-on-exec and unsets the
/// variables; so does Lookout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn programs_lookout_starts_inherit_no_socket_systemd_passed() {
    use std::os::fd::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen.txt");
    // The camera program writes down its open files and its environment, then waits.
    let script = format!(
        "for f in /proc/$$/fd/*; do readlink \"$f\"; done > {seen}.tmp; env >> {seen}.tmp; mv {seen}.tmp {seen}; exec sleep 600",
        seen = seen.display()
    );
    let config = format!(
        "[server]\nlisten = [\"systemd\"]\n[auth]\nmode = \"login\"\n{CHEAP_AUTH}[[camera]]\nid = \"a\"\nkeep_warm = true\n[camera.source]\nkind = \"command\"\ncommand = [\"/bin/sh\", \"-c\", {script:?}]\n"
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // `socket:[INODE]`: how the listening socket shows among a process's open files.
    let socket = std::fs::read_link(format!("/proc/self/fd/{}", listener.as_raw_fd()))
        .unwrap()
        .display()
        .to_string();
    assert!(socket.starts_with("socket:["), "{socket}");
    let (mut lookout, _url) = serve_socket_activated(&config, dir.path(), &listener);
    drop(listener);
    let start = Instant::now();
    while !seen.exists() {
        lookout.assert_running();
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the camera program did not start:\n{}",
            lookout.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = std::fs::read_to_string(&seen).unwrap();
    assert!(
        !seen.lines().any(|l| l == socket),
        "the camera program holds the passed socket {socket}:\n{seen}"
    );
    assert!(
        !seen.lines().any(|l| l.starts_with("LISTEN_")),
        "the camera program sees LISTEN_* variables:\n{seen}"
    );
}

/// A unix socket systemd passed is systemd's: its file stays when Lookout stops, so that the
/// next start (and nginx meanwhile) finds it by its path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_socket_systemd_passed_stays_when_lookout_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lookout.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let config = format!(
        "[server]\nlisten = [\"systemd\"]\n[auth]\nmode = \"login\"\n{CHEAP_AUTH}[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\n"
    );
    let (mut lookout, url) = serve_socket_activated(&config, dir.path(), &listener);
    assert_eq!(url, format!("unix:{}", path.display()));
    lookout.terminate();
    assert!(
        lookout.wait(Duration::from_secs(15)).is_some(),
        "lookout did not stop:\n{}",
        lookout.log()
    );
    assert!(
        path.exists(),
        "the socket file was removed:\n{}",
        lookout.log()
    );
    std::os::unix::net::UnixStream::connect(&path).expect("the socket still takes connections");
}
