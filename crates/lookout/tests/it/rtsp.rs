//! `kind = "rtsp"` in a real `lookout serve`, from the cameras guide's own example: GStreamer's
//! RTSP server (x264enc and jpegenc, Basic auth) as the camera, `stream.mp4` read by curl and
//! checked by ffprobe and ffmpeg, MJPEG over RTSP as JPEG pictures, and a wrong password whose
//! advice reaches the API while the password reaches neither the API nor the log.
//! (crates/lookout-sources/tests/rtsp.rs covers UDP, restarts and 404s at the source.)

use crate::cameras_guide::{Lookout, example, gstreamer_rtsp_available, start_rtsp_camera, swap};
use crate::support::require;
use std::path::Path;
use std::process::Command;

const PASSWORD: &str = "s3cret/p@ss";
const WRONG: &str = "not-the-password";

/// ffprobe's codec, size, frame count and first packet's flags of `file`.
fn probe(file: &Path) -> (String, usize, bool) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-count_frames"])
        .args([
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
        ])
        .args(["-show_entries", "packet=flags", "-of", "json"])
        .arg(file)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["streams"][0];
    let described = format!("{}/{}x{}", s["codec_name"], s["width"], s["height"]);
    let frames = s["nb_read_frames"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let first_key = v["packets"][0]["flags"]
        .as_str()
        .is_some_and(|f| f.starts_with('K'));
    (described, frames, first_key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_rtsp_example_plays_as_stream_mp4_and_never_shows_the_password() {
    if !require("ffprobe", "ffmpeg") || !require("curl", "curl") || !gstreamer_rtsp_available() {
        return;
    }
    let (camera, port) = start_rtsp_camera(&format!("viewer:{PASSWORD}"), (640, 360));
    let dir = tempfile::tempdir().unwrap();
    let right = dir.path().join("frontdoor.password");
    std::fs::write(&right, format!("{PASSWORD}\n")).unwrap();
    let wrong = dir.path().join("wrong.password");
    std::fs::write(&wrong, format!("{WRONG}\n")).unwrap();
    let frontdoor = swap(
        &swap(
            &example("frontdoor"),
            "192.168.1.34:554/stream1",
            &format!("127.0.0.1:{port}/cam"),
        ),
        "/etc/lookout/frontdoor.password",
        right.to_str().unwrap(),
    );
    let others = format!(
        "[[camera]]\nid = \"gate\"\n[camera.source]\nkind = \"rtsp\"\n\
         url = \"rtsp://127.0.0.1:{port}/mjpeg\"\nusername = \"viewer\"\npassword_env = \"GATE_PASSWORD\"\n\n\
         [[camera]]\nid = \"wrong\"\nkeep_warm = true\n[camera.source]\nkind = \"rtsp\"\n\
         url = \"rtsp://127.0.0.1:{port}/cam\"\nusername = \"viewer\"\npassword_file = {wrong:?}\n"
    );
    let lookout = Lookout::start(
        &format!("{frontdoor}\n{others}"),
        &[("GATE_PASSWORD", PASSWORD)],
        None,
    );

    // keep_warm: the camera connects at once, and the API learns that it sends H.264.
    lookout
        .wait_camera("frontdoor", |c| {
            c["codecs"]
                .as_array()
                .is_some_and(|l| l.iter().any(|c| c == "h264"))
        })
        .await;
    // H.264, passed through: 4 s of stream.mp4 as a player gets it.
    let file = dir.path().join("frontdoor.mp4");
    let url = format!("http://{}/cameras/frontdoor/stream.mp4", lookout.addr);
    let curl = tokio::task::spawn_blocking({
        let file = file.clone();
        move || {
            Command::new("curl")
                .args(["-sS", "--fail", "--max-time", "4", "-o"])
                .arg(&file)
                .arg(&url)
                .status()
                .expect("run curl")
        }
    })
    .await
    .unwrap();
    // 28: stopped by --max-time, as intended for an endless stream.
    assert!(
        matches!(curl.code(), Some(0 | 28)),
        "{curl}\n{}",
        lookout.log()
    );
    let (described, frames, first_key) = probe(&file);
    assert_eq!(described, "\"h264\"/640x360", "{}", lookout.log());
    // 15 fps for up to 4 s, less the RTSP start: at least a second's worth.
    assert!(frames >= 15, "{frames} frames\n{}", lookout.log());
    assert!(first_key, "the stream does not start on a key frame");
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        decode.status.success() && decode.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&decode.stderr)
    );

    // MJPEG over RTSP: the camera's own JPEGs, as a stream and a snapshot.
    lookout.check_camera("gate", (640, 360)).await;

    // A wrong password: the advice in the API, the password nowhere.
    lookout
        .wait_camera("wrong", |c| {
            c["last_error"].as_str().is_some_and(|e| {
                e.starts_with(
                    "RTSP camera refused the credentials (401): check username/password_file",
                )
            })
        })
        .await;
    let api = lookout.get("/api/cameras").await;
    let api = String::from_utf8_lossy(&api.body).into_owned();
    let log = lookout.log();
    lookout.stop();
    for secret in [PASSWORD, WRONG] {
        assert!(!api.contains(secret), "{secret} in the API: {api}");
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    assert!(log.contains("RTSP camera refused the credentials"), "{log}");
    drop(camera);
}

/// Before its first connect an RTSP camera may send H.264: stream.mp4 starts the idle camera
/// and waits for its first key frame (it used to answer 404 until something else had
/// connected it, which the guide worked around with keep_warm). Its snapshot is decoded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_rtsp_camera_starts_for_stream_mp4_and_its_snapshot_is_decoded() {
    if !require("ffprobe", "ffmpeg") || !require("curl", "curl") || !gstreamer_rtsp_available() {
        return;
    }
    let (camera, port) = start_rtsp_camera(&format!("viewer:{PASSWORD}"), (640, 360));
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("p");
    std::fs::write(&pass, PASSWORD).unwrap();
    let cams = format!(
        "[server]\nsnapshot_timeout_ms = 10000\n\n\
         [[camera]]\nid = \"h264\"\n[camera.source]\nkind = \"rtsp\"\n\
         url = \"rtsp://127.0.0.1:{port}/cam\"\nusername = \"viewer\"\npassword_file = {pass:?}\n\n\
         [[camera]]\nid = \"mjpeg\"\n[camera.source]\nkind = \"rtsp\"\n\
         url = \"rtsp://127.0.0.1:{port}/mjpeg\"\nusername = \"viewer\"\npassword_file = {pass:?}\n"
    );
    let lookout = Lookout::start(&cams, &[], None);
    for id in ["h264", "mjpeg"] {
        let r = lookout.get(&format!("/api/cameras/{id}")).await;
        let cam: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(cam["state"], "idle", "{cam}");
        assert_eq!(cam["codecs"], serde_json::json!(["jpeg", "h264"]), "{cam}");
    }
    let file = dir.path().join("idle.mp4");
    let url = format!("http://{}/cameras/h264/stream.mp4", lookout.addr);
    let curl = tokio::task::spawn_blocking({
        let file = file.clone();
        move || {
            Command::new("curl")
                .args(["-sS", "--fail", "--max-time", "6", "-o"])
                .arg(&file)
                .arg(&url)
                .status()
                .expect("run curl")
        }
    })
    .await
    .unwrap();
    assert!(
        matches!(curl.code(), Some(0 | 28)),
        "{curl}\n{}",
        lookout.log()
    );
    let (described, frames, first_key) = probe(&file);
    assert_eq!(described, "\"h264\"/640x360", "{}", lookout.log());
    assert!(frames >= 15, "{frames} frames\n{}", lookout.log());
    assert!(first_key, "the stream does not start on a key frame");

    // Its snapshot and MJPEG come from the decoder.
    lookout.check_camera("h264", (640, 360)).await;
    let r = lookout.get("/api/cameras/h264").await;
    let cam: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(cam["jpeg"]["origin"], "decoded", "{cam}");
    assert!(cam["jpeg"]["decoder"].is_string(), "{cam}");

    // The MJPEG camera, once it has said so, has no stream.mp4 (404 with the reason) unless
    // this build encodes JPEG cameras to H.264.
    lookout.check_camera("mjpeg", (640, 360)).await;
    if !cfg!(feature = "openh264") {
        let r = lookout.get("/cameras/mjpeg/stream.mp4").await;
        assert_eq!(r.status, 404, "{}", String::from_utf8_lossy(&r.body));
        assert!(String::from_utf8_lossy(&r.body).contains("stream.mjpeg"));
    }
    lookout.stop();
    drop(camera);
}
