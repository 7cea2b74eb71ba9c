//! Lookout against real V4L2 devices: Debian's kernel in a qemu VM (scripts/v4l2-vm/run.sh)
//! with the vivid test camera at /dev/video0, a v4l2loopback device fed by ffmpeg at
//! /dev/video10 and a second one at /dev/video11 that the H.264 test feeds. `in_vm` runs on the host and runs this same test binary inside the VM, where
//! the `device_*` tests do the work; outside the VM those return at once.
//!
//! Everything inside the VM runs under software emulation, 5–20 times slower than here: the
//! waits are long, and they bound hangs rather than measure anything.

use crate::support::{BIN, TestServer, camera, jpeg_size, missing, read_parts, require};
use std::process::{Command, Output};
use std::time::Duration;

/// Set (to 1) inside the VM by `in_vm`.
const IN_VM: &str = "LOOKOUT_IN_VM";
const WAIT: Duration = Duration::from_secs(180);
const VIVID: &str = "/dev/video0";
const LOOPBACK: &str = "/dev/video10";
const H264_LOOPBACK: &str = "/dev/video11";

fn inside_vm() -> bool {
    std::env::var_os(IN_VM).is_some()
}

#[test]
fn in_vm() {
    if inside_vm() {
        return;
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/v4l2-vm/run.sh")
        .canonicalize()
        .expect("scripts/v4l2-vm/run.sh");
    // run.sh checks the rest itself and names what is missing.
    if !require("qemu-system-x86_64", "qemu-system-x86") {
        return;
    }
    let exe = std::env::current_exe().expect("this test binary's path");
    let out = Command::new(&script)
        .arg("env")
        .arg(format!("{IN_VM}=1"))
        .arg(&exe)
        .args(["v4l2::device_", "--test-threads=1", "--nocapture"])
        .output()
        .expect("run scripts/v4l2-vm/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("v4l2-vm: missing") {
        missing(stderr.trim());
        return;
    }
    assert!(
        out.status.success(),
        "the V4L2 tests in the VM failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // The filter must have matched: a renamed module would otherwise pass with no test run.
    assert!(
        stdout.contains("test v4l2::device_") && stdout.contains(" 0 failed"),
        "no V4L2 test ran in the VM:\n{stdout}\n{stderr}"
    );
    println!("{stdout}");
}

/// `lookout ARGS` with no config (device paths given directly).
fn lookout(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run lookout")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A program inside the VM (v4l2-ctl, v4l2-vm-replug); panics unless it exits 0.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of a control as v4l2-ctl (not Lookout) reads it from the device.
fn device_control(device: &str, name: &str) -> i64 {
    let out = run("v4l2-ctl", &["-d", device, &format!("--get-ctrl={name}")]);
    out.rsplit(':')
        .next()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("v4l2-ctl --get-ctrl={name} printed {out:?}"))
}

/// A kind = "v4l2" camera kept capturing without viewers, so it opens at start.
fn v4l2_camera(id: &str, source_keys: &str, controls: &str) -> String {
    let cam = camera(
        id,
        "keep_warm = true",
        &format!("kind = \"v4l2\"\n{source_keys}\n"),
    );
    if controls.is_empty() {
        cam
    } else {
        format!("{cam}[camera.controls]\n{controls}\n")
    }
}

async fn snapshot_size(srv: &TestServer, id: &str) -> (u32, u32) {
    let r = srv.get(&format!("/cameras/{id}/snapshot.jpg")).await;
    assert_eq!(
        r.status,
        200,
        "snapshot of {id}: {}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        r.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str()),
        Some("image/jpeg")
    );
    jpeg_size(&r.body)
}

#[test]
fn device_lookout_devices_lists_vivid_and_the_loopback_with_formats_and_sizes() {
    if !inside_vm() {
        return;
    }
    let out = lookout(&["devices", "--json"]);
    assert!(out.status.success(), "lookout devices: {}", text(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().expect("a JSON array of devices");
    let find = |path: &str| {
        list.iter()
            .find(|d| d["path"] == path)
            .unwrap_or_else(|| panic!("{path} not listed: {list:?}"))
    };
    let vivid = find(VIVID);
    assert_eq!(vivid["driver"], "vivid", "{vivid}");
    assert!(vivid["error"].is_null(), "{vivid}");
    let formats = vivid["formats"].as_array().expect("formats");
    for f in formats {
        assert!(
            f["width"].as_u64() > Some(0) && f["height"].as_u64() > Some(0),
            "{f}"
        );
    }
    // vivid offers dozens of raw formats; these are the ones webcams send.
    for fourcc in ["YUYV", "NV12", "RGB3", "GREY"] {
        assert!(
            formats.iter().any(|f| f["format"] == fourcc),
            "{fourcc} missing from {vivid}"
        );
    }
    assert!(
        formats
            .iter()
            .any(|f| f["format"] == "YUYV" && f["width"] == 640 && f["height"] == 480),
        "YUYV 640x480 missing from {vivid}"
    );

    let loopback = find(LOOPBACK);
    assert_eq!(loopback["card"], "Lookout loopback", "{loopback}");
    assert!(
        loopback["formats"].as_array().is_some_and(|f| f
            .iter()
            .any(|f| f["format"] == "YUYV" && f["width"] == 640 && f["height"] == 480)),
        "the loopback device offers what ffmpeg writes, YUYV 640x480: {loopback}"
    );

    // The text form says the same, one offer a line, as v4l2-ctl --list-formats-ext does.
    let out = lookout(&["devices"]);
    assert!(out.status.success(), "lookout devices: {}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains(VIVID) && listing.contains(LOOPBACK),
        "{listing}"
    );
    assert!(listing.contains("YUYV 640x480"), "{listing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_v4l2_cameras_serve_snapshots_at_the_configured_sizes() {
    if !inside_vm() {
        return;
    }
    // vivid streams to one reader at a time: one server per size.
    for (w, h, extra) in [(640, 480, ""), (320, 240, "fps = 10\nformat = \"NV12\"\n")] {
        let source = format!("device = \"{VIVID}\"\nwidth = {w}\nheight = {h}\n{extra}");
        let srv = TestServer::start(&v4l2_camera("vivid", &source, "")).await;
        let cam = srv
            .wait_camera("vivid", WAIT, |c| c["online"] == true)
            .await;
        assert_eq!(cam["source"], "v4l2", "{cam}");
        assert_eq!(snapshot_size(&srv, "vivid").await, (w, h), "{source}");
        let mut s = srv.stream("/cameras/vivid/stream.mjpeg").await;
        for p in read_parts(&mut s, 3, WAIT).await {
            assert_eq!(p.header("x-lookout-no-signal"), None);
            assert_eq!(jpeg_size(&p.body), (w, h));
        }
        let cam = srv.json("/api/cameras/vivid").await;
        assert_eq!(
            (cam["width"].as_u64(), cam["height"].as_u64()),
            (Some(w.into()), Some(h.into())),
            "{cam}"
        );
        drop(s);
        srv.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_controls_are_listed_set_read_back_and_refused_out_of_range() {
    if !inside_vm() {
        return;
    }
    let source = format!("device = \"{VIVID}\"\nwidth = 640\nheight = 480\n");
    let srv = TestServer::start(&v4l2_camera("vivid", &source, "brightness = 90")).await;
    srv.wait_camera("vivid", WAIT, |c| c["online"] == true)
        .await;

    // The config's value was applied at open.
    assert_eq!(device_control(VIVID, "brightness"), 90);
    let listing = srv.cli(&["controls", "vivid"], "");
    let line = listing
        .lines()
        .find(|l| l.starts_with("brightness "))
        .unwrap_or_else(|| panic!("no brightness in:\n{listing}"));
    assert!(
        line.contains("0 to 255") && line.contains("current 90"),
        "{line}"
    );
    for name in ["contrast", "saturation", "hue"] {
        assert!(
            listing.contains(&format!("{name} (")),
            "{name} missing:\n{listing}"
        );
    }

    // Set from the CLI and read back, by Lookout and by v4l2-ctl.
    srv.cli(&["controls", "vivid", "brightness=200"], "");
    let json: serde_json::Value =
        serde_json::from_str(&srv.cli(&["controls", "vivid", "--json"], "")).unwrap();
    let brightness = json
        .as_array()
        .and_then(|l| l.iter().find(|c| c["name"] == "brightness"))
        .unwrap_or_else(|| panic!("no brightness in {json}"));
    assert_eq!(brightness["value"], 200, "{brightness}");
    assert_eq!(
        (brightness["min"].as_i64(), brightness["max"].as_i64()),
        (Some(0), Some(255))
    );
    assert_eq!(device_control(VIVID, "brightness"), 200);

    // Out of range: refused with the valid range, nothing changed, even the valid one beside it.
    let contrast = device_control(VIVID, "contrast");
    let out = srv.cli_output(&["controls", "vivid", "contrast=100", "brightness=999"], "");
    assert!(!out.status.success(), "brightness=999 was accepted");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("brightness") && err.contains("0 to 255"),
        "the error names the valid range: {err}"
    );
    assert_eq!(device_control(VIVID, "brightness"), 200);
    assert_eq!(device_control(VIVID, "contrast"), contrast);

    // The JSON API lists and sets the same controls (auth none: the local user is admin).
    let api = srv.json("/api/cameras/vivid/controls").await;
    assert_eq!(api["device"], VIVID, "{api}");
    let r = srv
        .request(
            "POST",
            "/api/cameras/vivid/controls",
            &[("Content-Type", "application/json")],
            Some(br#"{"brightness": 150}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(device_control(VIVID, "brightness"), 150);
    let r = srv
        .request(
            "POST",
            "/api/cameras/vivid/controls",
            &[("Content-Type", "application/json")],
            Some(br#"{"brightness": 999}"#),
        )
        .await;
    assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
    assert!(String::from_utf8_lossy(&r.body).contains("0 to 255"));
    assert_eq!(device_control(VIVID, "brightness"), 150);

    // The camera streamed on through all of it.
    assert_eq!(snapshot_size(&srv, "vivid").await, (640, 480));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_unplugged_camera_goes_offline_and_comes_back_with_its_controls() {
    if !inside_vm() {
        return;
    }
    let source = format!("device = \"{VIVID}\"\nwidth = 640\nheight = 480\n");
    let srv = TestServer::start(&v4l2_camera("vivid", &source, "brightness = 90")).await;
    srv.wait_camera("vivid", WAIT, |c| c["online"] == true)
        .await;
    let mut s = srv.stream("/cameras/vivid/stream.mjpeg").await;
    read_parts(&mut s, 2, WAIT).await;
    // Someone changes the device behind Lookout's back; a reconnect puts the config back.
    run("v4l2-ctl", &["-d", VIVID, "--set-ctrl=brightness=10"]);

    run("v4l2-vm-replug", &["out"]);
    let cam = srv
        .wait_camera("vivid", WAIT, |c| c["online"] == false)
        .await;
    assert!(cam["last_error"].is_string(), "{cam}");
    // Viewers keep getting frames: "no signal" ones.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let p = read_parts(&mut s, 1, WAIT).await.remove(0);
        if p.header("x-lookout-no-signal") == Some("1") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no no-signal frame");
    }
    assert_eq!(srv.get("/cameras/vivid/snapshot.jpg").await.status, 503);

    let node = run("v4l2-vm-replug", &["in"]);
    assert_eq!(node.trim(), VIVID, "Lookout still held the old device open");
    srv.wait_camera("vivid", WAIT, |c| c["online"] == true)
        .await;
    assert_eq!(device_control(VIVID, "brightness"), 90);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let p = read_parts(&mut s, 1, WAIT).await.remove(0);
        if p.header("x-lookout-no-signal").is_none() {
            assert_eq!(jpeg_size(&p.body), (640, 480));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only no-signal frames"
        );
    }

    // A value set through the API sticks across the next reconnect too.
    let r = srv
        .request(
            "POST",
            "/api/cameras/vivid/controls",
            &[("Content-Type", "application/json")],
            Some(br#"{"brightness": 120}"#),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    run("v4l2-vm-replug", &["out"]);
    srv.wait_camera("vivid", WAIT, |c| c["online"] == false)
        .await;
    run("v4l2-vm-replug", &["in"]);
    srv.wait_camera("vivid", WAIT, |c| c["online"] == true)
        .await;
    assert_eq!(device_control(VIVID, "brightness"), 120);
    assert_eq!(snapshot_size(&srv, "vivid").await, (640, 480));
    drop(s);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_loopback_fed_by_ffmpeg_streams() {
    if !inside_vm() {
        return;
    }
    let source = format!("device = \"{LOOPBACK}\"\n");
    let srv = TestServer::start(&v4l2_camera("loop", &source, "")).await;
    srv.wait_camera("loop", WAIT, |c| c["online"] == true).await;
    let mut s = srv.stream("/cameras/loop/stream.mjpeg").await;
    let parts = read_parts(&mut s, 5, WAIT).await;
    for p in &parts {
        assert_eq!(p.header("x-lookout-no-signal"), None);
        assert_eq!(jpeg_size(&p.body), (640, 480));
    }
    // ffmpeg's testsrc moves: the frames are not all the same picture.
    assert!(
        parts.windows(2).any(|w| w[0].body != w[1].body),
        "five identical frames"
    );
    drop(s);
    srv.stop().await;
}

/// A UVC camera with an H.264 encoder, as v4l2loopback plays one: ffmpeg writes libx264's
/// access units to /dev/video11 in V4L2's `H264` format, one buffer each. The camera offers
/// only H.264, so Lookout captures it as H.264 and passes it through to `stream.mp4`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_h264_camera_is_passed_through_to_stream_mp4() {
    if !inside_vm() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("clip.h264");
    let clip_arg = clip.to_str().unwrap();
    // Encoded first (20 s), then played at its rate: x264 under software emulation would not
    // keep up live, and ffmpeg's -stream_loop fails to seek back in a raw H.264 file here.
    run(
        "ffmpeg",
        &[
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=15",
            "-frames:v",
            "300",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
            "-bf",
            "0",
            "-g",
            "15",
            "-f",
            "h264",
            clip_arg,
        ],
    );
    let _feeder = crate::support::Running(
        Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
            .args(["-f", "h264", "-framerate", "15", "-i", clip_arg])
            .args(["-c", "copy", "-f", "v4l2", H264_LOOPBACK])
            .spawn()
            .expect("run ffmpeg"),
    );
    // With exclusive_caps the device becomes a capture device once the writer streams.
    let format = "/sys/class/video4linux/video11/format";
    let deadline = std::time::Instant::now() + WAIT;
    while std::fs::read_to_string(format)
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "ffmpeg did not start writing H.264 to {H264_LOOPBACK}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let source = format!("device = \"{H264_LOOPBACK}\"\n");
    let srv = TestServer::start(&v4l2_camera("h264", &source, "")).await;
    srv.wait_camera("h264", WAIT, |c| c["online"] == true).await;
    let list = srv.json("/api/cameras").await;
    let cam = &list["cameras"][0];
    assert!(
        cam["codecs"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c == "h264")),
        "{cam}"
    );
    let out = dir.path().join("stream.mp4");
    let url = format!("http://{}/cameras/h264/stream.mp4", srv.addr);
    let headers = crate::h264::curl_for(url, 8, &out, &[]).await;
    assert!(headers.contains("video/mp4"), "{headers}");
    let (codec, w, h, packets) = crate::h264::probe(&out);
    assert_eq!((codec.as_str(), w, h), ("h264", 320, 240));
    assert!(packets.len() >= 10, "{} frames", packets.len());
    assert!(packets[0].1, "the first frame is not a key frame");
    assert!(
        packets.windows(2).all(|p| p[1].0 > p[0].0),
        "pts not rising: {packets:?}"
    );
    let errors = crate::h264::decode_errors(&out);
    assert!(errors.is_empty(), "ffmpeg decode errors: {errors}");
    // Snapshots and MJPEG come from the H.264 decoder.
    let snap = srv.get("/cameras/h264/snapshot.jpg").await;
    assert_eq!(
        snap.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&snap.body)
    );
    assert_eq!(jpeg_size(&snap.body), (320, 240));
    srv.stop().await;
}
