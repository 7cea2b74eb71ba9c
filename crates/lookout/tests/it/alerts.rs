//! Events and webhook alerts with a receiver we did not write against our code (Python's
//! standard library checking the documented HMAC signature): a camera going offline is an
//! event; its alert waits while the receiver is down, survives `kill -9` of Lookout, and is
//! delivered exactly once afterwards; `lookout alerts test` reports each rule's answer.

use crate::support::{BIN, Running, ca_signed_cert, free_port};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn receiver(port: u16, secret: &Path, out: &Path) -> Running {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/alerts/webhook_receiver.py");
    let child = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(port.to_string())
        .arg(secret)
        .arg(out)
        .stdout(Stdio::null())
        .spawn()
        .expect("run the Python receiver");
    // Ready when the port accepts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the receiver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Running(child)
}

/// `lookout serve` on `port`, returning once it answers.
fn lookout(config: &Path, data: &Path, port: u16, log: &Path) -> Running {
    let child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log).unwrap()))
        .spawn()
        .expect("run lookout");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "lookout did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Running(child)
}

fn deliveries(out: &Path) -> Vec<serde_json::Value> {
    let Ok(f) = std::fs::File::open(out) else {
        return Vec::new();
    };
    BufReader::new(f)
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect()
}

fn get(port: u16, path: &str) -> lookout_bench::Response {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    rt.block_on(lookout_bench::get(addr, path, &[])).unwrap()
}

fn events(port: u16) -> Vec<serde_json::Value> {
    let r = get(port, "/api/events");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v["events"].as_array().cloned().unwrap_or_default()
}

struct Setup {
    _dir: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
    secret: PathBuf,
    out: PathBuf,
    hook_port: u16,
    dir: PathBuf,
}

fn setup(extra_rule: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef\n").unwrap();
    let hook_port = free_port();
    // A camera whose upstream never answers: it goes offline at once (keep_warm captures
    // with nobody watching).
    let dead = free_port();
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nmode = \"none\"\n[alerts]\nretry_initial_seconds = 1\nretry_max_seconds = 2\n\
             [[alert]]\nname = \"hook\"\nkinds = [\"camera_offline\", \"camera_online\"]\n\
             [alert.webhook]\nurl = \"http://127.0.0.1:{hook_port}/lookout\"\nsecret_file = {secret:?}\n\
             {extra_rule}\n\
             [[camera]]\nid = \"door\"\nkeep_warm = true\n[camera.source]\nkind = \"http\"\n\
             url = \"http://127.0.0.1:{dead}/video\"\n"
        ),
    )
    .unwrap();
    Setup {
        config,
        data: dir.path().join("data"),
        secret,
        out: dir.path().join("received.jsonl"),
        hook_port,
        dir: dir.path().to_path_buf(),
        _dir: dir,
    }
}

#[test]
fn an_offline_alert_waits_for_the_receiver_survives_kill_9_and_arrives_once() {
    let s = setup("");
    let port = free_port();
    let first = lookout(&s.config, &s.data, port, &s.dir.join("first.log"));
    // The event is recorded while the receiver is down...
    let deadline = Instant::now() + Duration::from_secs(15);
    let event_id = loop {
        if let Some(e) = events(port).iter().find(|e| e["kind"] == "camera_offline") {
            assert_eq!(e["camera"], "door");
            break e["id"].as_i64().unwrap();
        }
        assert!(Instant::now() < deadline, "no camera_offline event");
        std::thread::sleep(Duration::from_millis(100));
    };
    // ...its delivery fails at least once, then Lookout dies without any cleanup.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = std::fs::read_to_string(s.dir.join("first.log")).unwrap_or_default();
        if log.contains("alert not delivered") {
            break;
        }
        assert!(Instant::now() < deadline, "a failed attempt first: {log}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut first = first;
    unsafe {
        libc::kill(first.0.id() as i32, libc::SIGKILL);
    }
    let _ = first.0.wait();

    let _hook = receiver(s.hook_port, &s.secret, &s.out);
    let _second = lookout(&s.config, &s.data, port, &s.dir.join("second.log"));
    let deadline = Instant::now() + Duration::from_secs(20);
    let of_event = |d: &serde_json::Value| d["payload"]["event"]["id"].as_i64() == Some(event_id);
    while !deliveries(&s.out).iter().any(of_event) {
        assert!(
            Instant::now() < deadline,
            "not delivered after the restart: {}",
            std::fs::read_to_string(s.dir.join("second.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Give a duplicate every chance to show up: several retry periods.
    std::thread::sleep(Duration::from_secs(3));
    let got: Vec<_> = deliveries(&s.out).into_iter().filter(of_event).collect();
    assert_eq!(got.len(), 1, "delivered exactly once: {got:?}");
    assert_eq!(got[0]["payload"]["event"]["kind"], "camera_offline");
    assert_eq!(got[0]["payload"]["rule"], "hook");
    assert_eq!(got[0]["delivery"], format!("{event_id}-hook"));
}

#[test]
fn alerts_test_reports_each_rule_and_a_bad_signature_is_refused() {
    let wrong = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(wrong.path(), "a-different-secret-of-enough-length").unwrap();
    let s = setup("");
    // A second rule signing with another secret: the receiver must refuse it.
    let config = std::fs::read_to_string(&s.config).unwrap().replacen(
        "[[camera]]",
        &format!(
            "[[alert]]\nname = \"forged\"\n[alert.webhook]\nurl = \"http://127.0.0.1:{}/lookout\"\nsecret_file = {:?}\n[[camera]]",
            s.hook_port,
            wrong.path()
        ),
        1,
    );
    std::fs::write(&s.config, config).unwrap();
    let _hook = receiver(s.hook_port, &s.secret, &s.out);
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&s.config)
        .arg("--data-dir")
        .arg(&s.data)
        .args(["alerts", "test"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("hook: delivered"), "{text}");
    assert!(
        text.contains("forged: NOT delivered (the receiver answered 401"),
        "{text}"
    );
    let got = deliveries(&s.out);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["payload"]["event"]["kind"], "test");
}

fn smtp_server(port: u16, mode: &str, cert: &Path, key: &Path, out: &Path) -> Running {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/alerts/smtp_server.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(port.to_string())
        .arg(mode)
        .arg(cert)
        .arg(key)
        .args(["lookout-mailer", "mail pass 123"])
        .arg(out)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run aiosmtpd");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "aiosmtpd did not start");
    Running(child)
}

/// A camera that sends a second of frames (ffmpeg) and then stops: an offline event with
/// the last picture; mailed through `mode` to aiosmtpd with AUTH, which is down at first
/// when `start_late`.
fn mail_an_offline_camera(mode: &str, start_late: bool) {
    if !crate::support::require("ffmpeg", "ffmpeg")
        || !crate::support::require("openssl", "openssl")
        || !crate::support::require("aiosmtpd", "python3-aiosmtpd")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = ca_signed_cert(dir.path(), "smtp");
    // The camera's program sends a second of frames once, then fails at every restart: one
    // offline event, never back online.
    let once = dir.path().join("ran-once");
    let smtp_port = free_port();
    let password = dir.path().join("smtp-password");
    std::fs::write(&password, "mail pass 123\n").unwrap();
    let mails = dir.path().join("mails.jsonl");
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        format!(
            "[auth]\nmode = \"none\"\n[alerts]\nretry_initial_seconds = 1\nretry_max_seconds = 1\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\nsecurity = \"{mode}\"\n\
             username = \"lookout-mailer\"\npassword_file = {password:?}\nfrom = \"Lookout <cam@lookout.test>\"\n\
             ca_file = {ca:?}\n\
             [[alert]]\nname = \"mail\"\nkinds = [\"camera_offline\"]\n[alert.email]\nto = [\"Owner <owner@lookout.test>\"]\n\
             [[camera]]\nid = \"porch\"\nkeep_warm = true\n[camera.source]\nkind = \"command\"\n\
             command = [\"sh\", \"-c\", \"test -e {once} && exit 1; touch {once}; exec ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=10 -t 1 -f mjpeg -\"]\n",
            once = once.display()
        ),
    )
    .unwrap();
    let server = (!start_late).then(|| smtp_server(smtp_port, mode, &cert, &key, &mails));
    let port = free_port();
    let _lookout = lookout(
        &config,
        &dir.path().join("data"),
        port,
        &dir.path().join("lookout.log"),
    );
    let server = server.unwrap_or_else(|| {
        // Let the first delivery fail against the closed port.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !std::fs::read_to_string(dir.path().join("lookout.log"))
            .unwrap_or_default()
            .contains("alert not delivered")
        {
            assert!(
                Instant::now() < deadline,
                "no failed delivery while the mail server was down"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        smtp_server(smtp_port, mode, &cert, &key, &mails)
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while deliveries(&mails).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no mail: {}",
            std::fs::read_to_string(dir.path().join("lookout.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let got = deliveries(&mails);
    drop(server);
    let offline: Vec<_> = got
        .iter()
        .filter(|m| {
            m["subject"]
                .as_str()
                .unwrap_or("")
                .contains("porch is offline")
        })
        .collect();
    assert_eq!(offline.len(), 1, "exactly one mail for the event: {got:?}");
    let m = offline[0];
    assert_eq!(m["rcpt"], serde_json::json!(["owner@lookout.test"]));
    assert_eq!(m["tls"], true, "{m}");
    assert_eq!(m["authenticated"], true, "{m}");
    let att = &m["attachments"][0];
    assert_eq!(att["content_type"], "image/jpeg", "{m}");
    assert_eq!(att["jpeg"], true, "the last picture, whole: {m}");
    // The event keeps its picture, in the API and on the events page.
    let event = events(port)
        .into_iter()
        .find(|e| e["kind"] == "camera_offline")
        .expect("the event");
    let url = event["snapshot_url"].as_str().expect("a snapshot_url");
    let pic = get(port, url);
    assert_eq!(pic.status, 200);
    let (w, h) = crate::support::jpeg_size(&pic.body);
    assert_eq!((w, h), (320, 240));
    let page = String::from_utf8_lossy(&get(port, "/events").body).into_owned();
    assert!(
        page.contains("camera offline") && page.contains(url),
        "{page}"
    );
}

#[test]
fn email_through_starttls_with_auth_arrives_once_after_the_server_comes_up() {
    mail_an_offline_camera("starttls", true);
}

#[test]
fn email_through_implicit_tls_with_auth_carries_the_picture() {
    mail_an_offline_camera("tls", false);
}

/// The public address watcher against a plain HTTP service (Python's http.server serving a
/// file): the first answer and every change are events; an unchanged answer is not.
#[tokio::test]
async fn a_new_public_address_is_an_event() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ip"), "203.0.113.7\n").unwrap();
    let port = free_port();
    let _service = Running(
        Command::new("/usr/bin/python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let s = crate::support::TestServer::start(&format!(
        "[public_address]\nurl = \"http://127.0.0.1:{port}/ip\"\ncheck_every_seconds = 1\n{}",
        crate::support::testpattern("cam", 64, 48, 1)
    ))
    .await;
    let changes = |s: &crate::support::TestServer| {
        let s = s.clone_addr();
        async move {
            let r = lookout_bench::get(s, "/api/events", &[]).await.unwrap();
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            v["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "public_address_changed")
                .map(|e| e["details"].clone())
                .collect::<Vec<_>>()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while changes(&s).await.is_empty() {
        assert!(Instant::now() < deadline, "no public address event");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Several more checks with the same answer: still one event.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(changes(&s).await.len(), 1);
    std::fs::write(dir.path().join("ip"), "2001:db8::42\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = changes(&s).await;
        if got.len() == 2 {
            assert_eq!(got[0]["address"], "2001:db8::42");
            assert_eq!(got[0]["previous"], "203.0.113.7");
            break;
        }
        assert!(Instant::now() < deadline, "the change was missed: {got:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    s.stop().await;
}

/// Motion detection on live cameras: the test pattern's moving block starts a motion event
/// with a picture; a camera whose picture never changes has none.
#[tokio::test]
async fn the_moving_test_pattern_is_motion_and_a_still_picture_is_not() {
    let still = tempfile::tempdir().unwrap();
    let jpeg = lookout_core::jpeg::encode_rgb(&lookout_core::RgbImage::new(320, 240), 80).unwrap();
    std::fs::write(still.path().join("a.jpg"), &jpeg).unwrap();
    let motion = "[camera.motion]\nanalyse_fps = 10\n";
    let s = crate::support::TestServer::start(&format!(
        "[[camera]]\nid = \"moving\"\n[camera.source]\nkind = \"testpattern\"\nwidth = 320\nheight = 240\nfps = 10\n{motion}\
         [[camera]]\nid = \"still\"\n[camera.source]\nkind = \"files\"\ndir = {:?}\nfps = 10\n{motion}",
        still.path()
    ))
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let event = loop {
        let r = lookout_bench::get(s.clone_addr(), "/api/events", &[])
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        if let Some(e) = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "motion")
        {
            break e.clone();
        }
        assert!(Instant::now() < deadline, "no motion event: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(event["camera"], "moving", "{event}");
    assert!(
        event["details"]["score"].as_f64().unwrap() > 0.005,
        "{event}"
    );
    let pic = s.get(event["snapshot_url"].as_str().unwrap()).await;
    assert_eq!(crate::support::jpeg_size(&pic.body), (320, 240));
    // Both cameras were analysed for as long: the still one never moved.
    let v = s.json("/api/events").await;
    assert!(
        !v["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["camera"] == "still"),
        "{v}"
    );
    s.stop().await;
}

/// docs/guide/alerts.md's AWS SES example is a whole config that `lookout config check`
/// accepts, so the documented setup cannot rot.
#[test]
fn the_aws_ses_example_in_the_guide_passes_config_check() {
    let guide = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/guide/alerts.md"),
    )
    .unwrap();
    let example = guide
        .split("```toml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.starts_with("# AWS SES (SMTP interface)"))
        .expect("an AWS SES example in docs/guide/alerts.md");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ses.toml");
    std::fs::write(&path, example).unwrap();
    let out = Command::new(BIN)
        .args(["config", "check"])
        .arg(&path)
        .env("LOOKOUT_SMTP_PASSWORD", "the SES SMTP password")
        .output()
        .unwrap();
    let resolved = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(resolved.contains("amazonaws.com"), "{resolved}");
    // Without the password in the environment the same file is refused, naming the variable.
    let out = Command::new(BIN)
        .args(["config", "check"])
        .arg(&path)
        .env_remove("LOOKOUT_SMTP_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("LOOKOUT_SMTP_PASSWORD"));
}
