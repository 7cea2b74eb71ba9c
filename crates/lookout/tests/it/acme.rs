//! Automatic certificates against pebble, Let's Encrypt's test CA (Debian `pebble`): our own
//! ACME client and HTTP-01 responder obtain a certificate that an HTTPS client verifies
//! against pebble's root; a restart serves the stored one at once and renews it when the
//! configured names change. Pebble refuses 20% of good nonces: the two orders make about
//! 25 signed requests, so without `badNonce` retries the test would pass 0.8^25 ≈ 0.4% of
//! the time; passing, it shows them retried.

use crate::support::{Running, TestServer, ca_signed_cert, free_port, require, testpattern};
use lookout::listen::Bound;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio::net::TcpListener;

const NAME: &str = "cam.lookout.test";
const SECOND_NAME: &str = "www.lookout.test";

struct Pebble {
    _dns: Running,
    _pebble: Running,
    /// The CA of pebble's own HTTPS (the directory).
    ca: PathBuf,
    directory: String,
    management: u16,
}

/// Starts pebble-challtestsrv (DNS: every name is 127.0.0.1) and pebble, validating HTTP-01
/// on `http_port`.
async fn start_pebble(dir: &Path, http_port: u16) -> Pebble {
    let (ca, cert, key) = ca_signed_cert(dir, "pebble");
    let (api, management, dns, dns_mgmt) = (free_port(), free_port(), free_port(), free_port());
    let config = serde_json::json!({"pebble": {
        "listenAddress": format!("127.0.0.1:{api}"),
        "managementListenAddress": format!("127.0.0.1:{management}"),
        "certificate": cert,
        "privateKey": key,
        "httpPort": http_port,
        "tlsPort": free_port(),
        "ocspResponderURL": "",
        "externalAccountBindingRequired": false,
    }});
    std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
    let log = |name: &str| Stdio::from(std::fs::File::create(dir.join(name)).unwrap());
    let dns_server = Running(
        Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{dns_mgmt}")])
            .stdout(log("challtestsrv.log"))
            .stderr(log("challtestsrv.err"))
            .spawn()
            .expect("run pebble-challtestsrv"),
    );
    let pebble = Running(
        Command::new("pebble")
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            // One good nonce in five refused (default 5%): the client must retry them.
            .env("PEBBLE_WFE_NONCEREJECT", "20")
            .stdout(log("pebble.log"))
            .stderr(log("pebble.err"))
            .spawn()
            .expect("run pebble"),
    );
    let directory = format!("https://127.0.0.1:{api}/dir");
    for _ in 0..100 {
        if curl_ok(&ca, &directory, &[]).await {
            return Pebble {
                _dns: dns_server,
                _pebble: pebble,
                ca,
                directory,
                management,
            };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "pebble did not start: {}",
        std::fs::read_to_string(dir.join("pebble.log")).unwrap_or_default()
    );
}

async fn curl_ok(ca: &Path, url: &str, extra: &[&str]) -> bool {
    tokio::process::Command::new("curl")
        .args([
            "--silent",
            "--fail",
            "--max-time",
            "5",
            "-o",
            "/dev/null",
            "--cacert",
        ])
        .arg(ca)
        .args(extra)
        .arg(url)
        .status()
        .await
        .is_ok_and(|s| s.success())
}

/// `curl` over HTTPS to `name` at 127.0.0.1:`port`, verified against `root`.
async fn https_ok(root: &Path, name: &str, port: u16) -> bool {
    let resolve = format!("{name}:{port}:127.0.0.1");
    curl_ok(
        root,
        &format!("https://{name}:{port}/healthz"),
        &["--resolve", &resolve],
    )
    .await
}

fn config(p: &Pebble, data_dir: &Path, domains: &[&str]) -> String {
    format!(
        "[server]\ndata_dir = {data_dir:?}\n[acme]\ndomains = {domains:?}\ncontact = \"admin@lookout.test\"\n\
         directory = {:?}\ndirectory_ca = {:?}\n{}",
        p.directory,
        p.ca,
        testpattern("cam", 64, 48, 1)
    )
}

/// Plain listener on `http_port` (for HTTP-01) and an HTTPS listener; the HTTPS port.
async fn listeners(http_port: u16) -> (Vec<Bound>, u16) {
    let plain = TcpListener::bind(("127.0.0.1", http_port)).await.unwrap();
    let tls = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tls.local_addr().unwrap().port();
    (
        vec![
            plain.into(),
            Bound::Tcp {
                listener: tls,
                tls: true,
            },
        ],
        port,
    )
}

/// Polls `/api/cert` until `pred` holds for it.
async fn wait_cert(
    s: &TestServer,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    for _ in 0..600 {
        let r = s.get("/api/cert").await;
        // Plain HTTP on loopback redirects nothing (redirect_http = "public").
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        if pred(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within 60 s");
}

#[tokio::test]
async fn obtains_serves_keeps_and_renews_a_certificate_from_pebble() {
    if !require("pebble", "pebble")
        || !require("pebble-challtestsrv", "pebble")
        || !require("openssl", "openssl")
        || !require("curl", "curl")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let http_port = free_port();
    let pebble = start_pebble(dir.path(), http_port).await;

    let (ls, https_port) = listeners(http_port).await;
    let s = TestServer::start_on(&config(&pebble, &data, &[NAME]), ls).await;
    let state = wait_cert(&s, "first certificate", |v| v["certificate"].is_object()).await;
    assert_eq!(
        state["certificate"]["domains"],
        serde_json::json!([NAME]),
        "{state}"
    );
    let first_serial = state["certificate"]["serial"].as_str().unwrap().to_owned();
    // What an HTTPS client sees, verified against the root pebble issued from.
    let root = dir.path().join("root.pem");
    let out = Command::new("curl")
        .args(["--silent", "--fail", "--cacert"])
        .arg(&pebble.ca)
        .arg(format!("https://127.0.0.1:{}/roots/0", pebble.management))
        .arg("-o")
        .arg(&root)
        .status()
        .unwrap();
    assert!(out.success(), "pebble's root");
    assert!(
        https_ok(&root, NAME, https_port).await,
        "the obtained certificate is served"
    );
    s.stop().await;
    // `lookout cert status` reads what was stored.
    let conf = dir.path().join("lookout.toml");
    std::fs::write(&conf, config(&pebble, &data, &[NAME])).unwrap();
    let out = Command::new(crate::support::BIN)
        .arg("--config")
        .arg(&conf)
        .args(["cert", "status"])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{status}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        status.contains(&format!("certificate: {NAME}")) && status.contains("days left"),
        "{status}"
    );
    let stored = std::fs::metadata(data.join("acme/key.pem")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        stored.permissions().mode() & 0o777,
        0o600,
        "the key is private"
    );

    // A restart serves the stored certificate at once, then renews it for the new name list.
    let (ls, https_port) = listeners(http_port).await;
    let s = TestServer::start_on(&config(&pebble, &data, &[NAME, SECOND_NAME]), ls).await;
    assert!(
        https_ok(&root, NAME, https_port).await,
        "stored certificate served after a restart"
    );
    let state = wait_cert(&s, "renewed certificate", |v| {
        v["certificate"]["domains"]
            .as_array()
            .is_some_and(|d| d.len() == 2)
    })
    .await;
    assert_ne!(
        state["certificate"]["serial"],
        first_serial.as_str(),
        "{state}"
    );
    assert!(state["last_error"].is_null(), "{state}");
    assert!(
        https_ok(&root, SECOND_NAME, https_port).await,
        "the renewed certificate is served"
    );
    s.stop().await;
}
