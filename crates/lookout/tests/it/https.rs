//! Listeners beyond plain TCP: HTTPS with HTTP/2 (checked with curl), certificate reload,
//! the redirect to HTTPS with ACME challenges left alone, unix sockets, and which forwarded
//! headers are believed.

use crate::support::{TestServer, read_parts, require, testpattern};
use lookout::listen::{Bound, ListenSpec, SocketPermissions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tokio::net::TcpListener;

/// A self-signed certificate for 127.0.0.1 and localhost made by openssl: (cert, key).
fn make_cert(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", &format!("/CN={name}")])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// `curl` with a CA file: (exit code, stdout).
async fn curl(ca: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = tokio::process::Command::new("curl");
    cmd.args(["--silent", "--show-error", "--max-time", "5", "--cacert"])
        .arg(ca)
        .args(args);
    let out = cmd.output().await.expect("run curl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn tls_listener() -> (Bound, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    (
        Bound::Tcp {
            listener: l,
            tls: true,
        },
        port,
    )
}

fn tls_config(cert: &Path, key: &Path, extra: &str) -> String {
    format!(
        "[tls]\ncert = {:?}\nkey = {:?}\nreload_check_seconds = 1\n{extra}\n{}",
        cert,
        key,
        testpattern("cam", 160, 120, 10)
    )
}

#[tokio::test]
async fn https_speaks_http2_and_http1_and_picks_up_a_renewed_certificate() {
    if !require("curl", "curl") || !require("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path(), "first");
    let (listener, port) = tls_listener().await;
    let s = TestServer::start_on(&tls_config(&cert, &key, ""), vec![listener]).await;
    let url = format!("https://127.0.0.1:{port}");
    let first_ca = dir.path().join("first-ca.crt");
    std::fs::copy(&cert, &first_ca).unwrap();

    let health = format!("{url}/healthz");
    let (code, version) = curl(
        &first_ca,
        &[
            "--http2",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            &health,
        ],
    )
    .await;
    assert_eq!((code, version.as_str()), (0, "2"), "HTTP/2 through ALPN");
    let (code, version) = curl(
        &first_ca,
        &[
            "--http1.1",
            "-o",
            "/dev/null",
            "-w",
            "%{http_version}",
            &health,
        ],
    )
    .await;
    assert_eq!((code, version.as_str()), (0, "1.1"));
    // A live stream over HTTP/2: some bytes of multipart JPEG arrive before curl gives up.
    let stream = format!("{url}/cameras/cam/stream.mjpeg");
    let (_, body) = curl(
        &first_ca,
        &["--http2", "--max-time", "2", "--output", "-", &stream],
    )
    .await;
    assert!(body.contains("Content-Type: image/jpeg"), "stream over h2");

    // certbot renews: new key and certificate written over the old files.
    let (new_cert, new_key) = make_cert(dir.path(), "second");
    std::fs::copy(&new_key, &key).unwrap();
    std::fs::copy(&new_cert, &cert).unwrap();
    let mut served_new = false;
    for _ in 0..40 {
        if curl(&new_cert, &["-o", "/dev/null", &health]).await.0 == 0 {
            served_new = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        served_new,
        "the renewed certificate was not served within 10 s"
    );
    let (code, _) = curl(&first_ca, &["-o", "/dev/null", &health]).await;
    assert_ne!(code, 0, "the old certificate is no longer served");
    s.stop().await;
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_a_config_error() {
    if !require("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = make_cert(dir.path(), "a");
    let (_, other_key) = make_cert(dir.path(), "b");
    let text = tls_config(&cert, &other_key, "");
    let e = lookout::config::parse(&text, "lookout.toml").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("lookout.toml:2"), "{msg}");
    assert!(msg.contains("does not belong to the certificate"), "{msg}");
    // And an https:// listener without any certificate is refused up front.
    let e = lookout::config::parse(
        &format!(
            "[server]\nlisten = [\"https://127.0.0.1:8443\"]\n{}",
            testpattern("cam", 64, 48, 1)
        ),
        "lookout.toml",
    )
    .unwrap_err();
    assert!(e.to_string().contains("no certificate"), "{e}");
}

#[tokio::test]
async fn plain_http_redirects_to_https_but_answers_acme_challenges() {
    if !require("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path(), "site");
    let webroot = dir.path().join("webroot");
    let challenges = webroot.join(".well-known/acme-challenge");
    std::fs::create_dir_all(&challenges).unwrap();
    std::fs::write(challenges.join("tok-EN_123"), "tok-EN_123.thumbprint").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "not for you").unwrap();
    let (tls, port) = tls_listener().await;
    let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let extra = format!("redirect_http = \"all\"\nacme_webroot = {webroot:?}");
    let s = TestServer::start_on(&tls_config(&cert, &key, &extra), vec![plain.into(), tls]).await;

    let r = s.get("/cameras/cam?x=1").await;
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(format!("https://127.0.0.1:{port}/cameras/cam?x=1").as_str())
    );
    let r = s.get("/.well-known/acme-challenge/tok-EN_123").await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"tok-EN_123.thumbprint");
    // The Host goes into Location only when it is a plain host[:port].
    let r = get_with_host(s.addr, "cam.example:8080", "/cameras/cam").await;
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location"),
        Some(format!("https://cam.example:{port}/cameras/cam").as_str())
    );
    let r = get_with_host(s.addr, "[::1]", "/").await;
    assert_eq!(
        r.header("location"),
        Some(format!("https://[::1]:{port}/").as_str())
    );
    for host in [
        "evil.example/foo?",
        "evil.example/",
        "user@evil.example",
        "evil.example#",
        "cam.example:80x",
        "[::1]evil.example",
    ] {
        let r = get_with_host(s.addr, host, "/cameras/cam").await;
        assert_eq!(r.status, 400, "Host: {host}");
        assert_eq!(r.header("location"), None, "Host: {host}");
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(
            body["error"]
                .as_str()
                .is_some_and(|e| e.contains("not a valid host[:port]")),
            "Host: {host}: {body}"
        );
    }
    for probe in [
        "/.well-known/acme-challenge/..%2F..%2Fsecret.txt",
        "/.well-known/acme-challenge/../../secret.txt",
        "/.well-known/acme-challenge/",
        "/.well-known/acme-challenge/missing",
    ] {
        let r = s.get(probe).await;
        assert!(r.status == 404 || r.status == 301, "{probe}: {}", r.status);
        assert!(!String::from_utf8_lossy(&r.body).contains("not for you"));
    }
    s.stop().await;
}

/// `GET path` to `addr` with the given `Host` header, sent as is.
async fn get_with_host(
    addr: std::net::SocketAddr,
    host: &str,
    path: &str,
) -> lookout_bench::Response {
    let io = tokio::net::TcpStream::connect(addr).await.unwrap();
    lookout_bench::get_on(io, host, path, &[]).await.unwrap()
}

/// A client that finishes the TLS handshake and then sends nothing (no request, no HTTP/2
/// preface) is closed after `server.header_read_timeout_ms`, as a silent plain one is.
#[tokio::test]
async fn a_client_silent_after_the_tls_handshake_is_closed() {
    if !require("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path(), "silent");
    let (listener, port) = tls_listener().await;
    let toml = format!(
        "[server]\nheader_read_timeout_ms = 1500\n{}",
        tls_config(&cert, &key, "")
    );
    let s = TestServer::start_on(&toml, vec![listener]).await;
    for alpn in ["http/1.1", "h2"] {
        // stdin stays open and empty: s_client says nothing after the handshake and exits
        // when the server closes the connection.
        let mut client = tokio::process::Command::new("openssl")
            .args(["s_client", "-brief", "-alpn", alpn, "-connect"])
            .arg(format!("127.0.0.1:{port}"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("run openssl s_client");
        let stdin = client.stdin.take();
        let started = tokio::time::Instant::now();
        let out = tokio::time::timeout(Duration::from_secs(15), client.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("ALPN {alpn}: the silent TLS client was not closed"))
            .unwrap();
        drop(stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("CONNECTION ESTABLISHED"),
            "ALPN {alpn}: no handshake: {stderr}"
        );
        eprintln!(
            "ALPN {alpn}: closed {:.2} s after connecting",
            started.elapsed().as_secs_f64()
        );
    }
    s.stop().await;
}

/// `Strict-Transport-Security` on HTTPS answers: off on loopback listeners unless
/// `server.hsts_max_age_s` is set, never on plain HTTP.
#[tokio::test]
async fn https_answers_carry_hsts_as_configured() {
    if !require("curl", "curl") || !require("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path(), "hsts");
    let headers = |url: String, version: &'static str| {
        let cert = cert.clone();
        async move {
            let (code, head) = curl(&cert, &[version, "-D", "-", "-o", "/dev/null", &url]).await;
            assert_eq!(code, 0, "{url}");
            head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("strict-transport-security")
                    .then(|| v.trim().to_owned())
            })
        }
    };
    // The default on a loopback listener: none (HSTS binds a host name for every port).
    let (listener, port) = tls_listener().await;
    let s = TestServer::start_on(&tls_config(&cert, &key, ""), vec![listener]).await;
    let url = format!("https://127.0.0.1:{port}/healthz");
    assert_eq!(headers(url, "--http2").await, None);
    s.stop().await;

    let (tls, port) = tls_listener().await;
    let plain = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let toml = format!(
        "[server]\nhsts_max_age_s = 600\n{}",
        tls_config(&cert, &key, "redirect_http = \"none\"")
    );
    let s = TestServer::start_on(&toml, vec![plain.into(), tls]).await;
    for version in ["--http2", "--http1.1"] {
        for path in ["/healthz", "/cameras/cam/snapshot.jpg", "/no/such/page"] {
            let url = format!("https://127.0.0.1:{port}{path}");
            assert_eq!(
                headers(url, version).await.as_deref(),
                Some("max-age=600"),
                "{version} {path}"
            );
        }
    }
    let r = s.get("/healthz").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("strict-transport-security"), None, "plain HTTP");
    s.stop().await;
}

#[test]
fn auth_none_is_refused_on_a_socket_a_proxy_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[auth]\nmode = \"none\"\n[server]\nlisten = [\"unix:{}/s.sock\"]\n{}",
        dir.path().display(),
        testpattern("cam", 64, 48, 1)
    );
    let config = dir.path().join("lookout.toml");
    std::fs::write(&config, toml).unwrap();
    let out = Command::new(crate::support::BIN)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("serve")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a proxy publishes it"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn unix_socket_serves_streams_and_its_proxy_names_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run/http.sock");
    let spec: ListenSpec = format!("unix:{}", path.display()).parse().unwrap();
    let listeners = lookout::listen::bind_all(
        &[spec],
        &SocketPermissions {
            mode: 0o660,
            group: None,
        },
        &mut lookout::listen::systemd::SystemdSockets::none(),
    )
    .await
    .unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut all = listeners;
    all.push(tcp.into());
    // A proxied socket publishes Lookout: logins are required (auth "none" is refused).
    let s = TestServer::start_on(
        &format!(
            "{}{}",
            crate::support::login_config(""),
            testpattern("cam", 160, 120, 10)
        ),
        all,
    )
    .await;
    s.add_user("root", "admin password", &["--role", "admin"]);
    let auth = crate::support::basic("root", "admin password");

    // Through the socket, as nginx would connect, saying who the client is.
    let io = tokio::net::UnixStream::connect(&path).await.unwrap();
    let mut stream = lookout_bench::open_stream_on(
        io,
        "cam.example.org",
        "/cameras/cam/stream.mjpeg",
        &[
            ("X-Forwarded-For", "198.51.100.7"),
            ("X-Forwarded-Proto", "https"),
            ("Authorization", &auth),
        ],
    )
    .await
    .unwrap();
    assert_eq!(stream.status(), 200);
    read_parts(&mut stream, 2, Duration::from_secs(5)).await;
    // The same claim straight over TCP from 127.0.0.1, which is not a trusted proxy.
    let mut direct = s
        .stream_with(
            "/cameras/cam/stream.mjpeg",
            &[
                ("X-Forwarded-For", "203.0.113.66"),
                ("Authorization", &auth),
            ],
        )
        .await;
    read_parts(&mut direct, 1, Duration::from_secs(5)).await;
    let cam = s
        .get_with("/api/cameras/cam", &[("Authorization", &auth)])
        .await;
    let cam: serde_json::Value = serde_json::from_slice(&cam.body).unwrap();
    let remotes: Vec<&str> = cam["viewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["remote"].as_str().unwrap())
        .collect();
    assert!(remotes.contains(&"198.51.100.7"), "{remotes:?}");
    assert!(
        remotes.iter().any(|r| r.starts_with("127.0.0.1:")),
        "the untrusted peer is itself the client: {remotes:?}"
    );
    assert!(!remotes.contains(&"203.0.113.66"), "{remotes:?}");
    drop(stream);
    s.stop().await;
    assert!(!path.exists(), "the socket file is removed at shutdown");
}

/// Browsers speak HTTP/2 to an HTTPS listener, where the host comes in `:authority`, not in
/// a Host header: signing in must work there too (the Origin check needs the host).
#[tokio::test]
async fn signing_in_over_http2_works() {
    if !require("curl", "curl") || !require("openssl", "openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_cert(dir.path(), "h2");
    let (listener, port) = tls_listener().await;
    let toml = format!(
        "{}{}",
        crate::support::login_config(""),
        tls_config(&cert, &key, "")
    );
    let s = TestServer::start_on(&toml, vec![listener]).await;
    s.add_user("alice", "correct horse", &[]);
    let jar = dir.path().join("cookies.txt");
    let jar_arg = jar.to_str().unwrap();
    let base = format!("https://127.0.0.1:{port}");
    let (code, page) = curl(&cert, &["--http2", "-c", jar_arg, &format!("{base}/login")]).await;
    assert_eq!(code, 0);
    let token = crate::support::hidden_field(&page, "csrf").expect("csrf field");
    let form = format!("csrf={token}&user=alice&password=correct+horse&next=/");
    let origin = format!("Origin: {base}");
    let (code, status) = curl(
        &cert,
        &[
            "--http2",
            "-b",
            jar_arg,
            "-c",
            jar_arg,
            "-H",
            &origin,
            "--data",
            &form,
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
            &format!("{base}/login"),
        ],
    )
    .await;
    assert_eq!(
        (code, status.as_str()),
        (0, "2 303"),
        "signed in over HTTP/2"
    );
    let cookies = std::fs::read_to_string(&jar).unwrap();
    assert!(
        cookies.contains("__Host-lookout_session"),
        "over HTTPS the session cookie is __Host-: {cookies}"
    );
    let (code, status) = curl(
        &cert,
        &[
            "--http2",
            "-b",
            jar_arg,
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{base}/api/cameras"),
        ],
    )
    .await;
    assert_eq!((code, status.as_str()), (0, "200"));
    s.stop().await;
}
