//! JPEG of cameras that send H.264 only, against the real server: a `command` camera running
//! ffmpeg's libx264 (`format = "h264"`) gets snapshots, MJPEG and motion detection from the
//! decoder (openh264 with the feature, else an ffmpeg child), which runs only while somebody
//! wants JPEG; without a decoder, JPEG answers 503 naming the fix.

use crate::h264::{curl_for, x264_camera};
use crate::support::{TestServer, jpeg_size, read_parts, require};
use std::time::Duration;

const SECS: Duration = Duration::from_secs(30);

/// The decoder `auto` picks in this build.
fn auto_decoder() -> &'static str {
    if cfg!(feature = "openh264") {
        "openh264"
    } else {
        "ffmpeg"
    }
}

fn frames_decoded(cam: &serde_json::Value) -> u64 {
    cam["jpeg"]["frames_decoded"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h264_only_camera_gets_snapshots_and_mjpeg_from_the_decoder_while_they_are_wanted() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    for (choice, name) in [("auto", auto_decoder()), ("ffmpeg", "ffmpeg")] {
        let srv = TestServer::start(&format!(
            "[server]\nh264_decoder = \"{choice}\"\n{}",
            x264_camera("x264", "idle_linger_ms = 1000")
        ))
        .await;
        let cam = srv.json("/api/cameras/x264").await;
        assert_eq!(cam["codecs"], serde_json::json!(["jpeg", "h264"]), "{cam}");
        assert_eq!(cam["jpeg"]["origin"], "decoded", "{cam}");
        assert_eq!(cam["jpeg"]["decoder"], name, "{cam}");
        assert_eq!(cam["state"], "idle", "{cam}");

        // A snapshot of the idle camera starts it and waits (bounded) for a decoded picture.
        let r = srv.get("/cameras/x264/snapshot.jpg").await;
        assert_eq!(
            r.status,
            200,
            "{choice}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.header("content-type"), Some("image/jpeg"));
        assert_eq!(jpeg_size(&r.body), (640, 360), "{choice}");

        // MJPEG: the moving testsrc2 picture, frame after frame.
        let mut s = srv.stream("/cameras/x264/stream.mjpeg").await;
        let parts = read_parts(&mut s, 10, SECS).await;
        for p in &parts {
            assert_eq!(jpeg_size(&p.body), (640, 360));
        }
        assert!(
            parts.windows(2).any(|w| w[0].body != w[1].body),
            "{choice}: ten identical pictures"
        );
        let metrics = String::from_utf8_lossy(&srv.get("/metrics").await.body).into_owned();
        let line =
            format!("lookout_h264_decode_seconds_count{{camera=\"x264\",decoder=\"{name}\"}}");
        let count: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{line} missing:\n{metrics}"));
        assert!(count >= 10, "{count} decoded");
        drop(s);

        // Nobody wants JPEG: after its linger (5 s) the decoder stops, and stays stopped.
        tokio::time::sleep(Duration::from_secs(7)).await;
        let before = frames_decoded(&srv.json("/api/cameras/x264").await);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = frames_decoded(&srv.json("/api/cameras/x264").await);
        assert_eq!(
            before, after,
            "{choice}: the decoder runs with nobody watching"
        );
        assert!(before >= count);

        // A stream.mp4 viewer wants H.264, not JPEG: the decoder stays off.
        let dir = tempfile::tempdir().unwrap();
        let url = format!("{}/cameras/x264/stream.mp4", srv.origin());
        let file = dir.path().join("x264.mp4");
        let mp4 = tokio::spawn({
            let file = file.clone();
            async move { curl_for(url, 4, &file, &[]).await }
        });
        tokio::time::sleep(Duration::from_secs(3)).await;
        let during = frames_decoded(&srv.json("/api/cameras/x264").await);
        let head = mp4.await.unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(std::fs::metadata(&file).unwrap().len() > 10_000);
        assert_eq!(
            during, after,
            "{choice}: an H.264 viewer started the decoder"
        );
        srv.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn motion_detection_sees_the_moving_picture_of_an_h264_camera() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let srv = TestServer::start(&format!(
        "{}[camera.motion]\nanalyse_fps = 10\n",
        x264_camera("moving", "")
    ))
    .await;
    let deadline = tokio::time::Instant::now() + SECS;
    let event = loop {
        let v = srv.json("/api/events").await;
        if let Some(e) = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "motion")
        {
            break e.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no motion event: {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(event["camera"], "moving", "{event}");
    let pic = srv.get(event["snapshot_url"].as_str().unwrap()).await;
    assert_eq!(jpeg_size(&pic.body), (640, 360));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_decoder_jpeg_answers_503_naming_the_fix() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    // "off", and "auto" where ffmpeg is not found: without openh264 there is no decoder.
    for server in [
        "h264_decoder = \"off\"\n",
        "ffmpeg = \"/nonexistent/ffmpeg\"\n",
    ] {
        let srv =
            TestServer::start(&format!("[server]\n{server}{}", x264_camera("x264", ""))).await;
        let cam = srv.json("/api/cameras/x264").await;
        let has_decoder = server.contains("nonexistent") && cfg!(feature = "openh264");
        if has_decoder {
            assert_eq!(cam["jpeg"]["decoder"], "openh264", "{cam}");
            let r = srv.get("/cameras/x264/snapshot.jpg").await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            assert_eq!(jpeg_size(&r.body), (640, 360));
            srv.stop().await;
            continue;
        }
        assert_eq!(cam["codecs"], serde_json::json!(["h264"]), "{cam}");
        assert!(cam["jpeg"].is_null(), "{cam}");
        for path in ["/cameras/x264/snapshot.jpg", "/cameras/x264/stream.mjpeg"] {
            let r = srv.get(path).await;
            assert_eq!(r.status, 503, "{path}");
            let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            let msg = body["error"].as_str().unwrap_or_default();
            assert!(
                msg.contains("H.264 only")
                    && msg.contains("--features openh264")
                    && msg.contains("install ffmpeg")
                    && msg.contains("stream.mp4"),
                "{body}"
            );
        }
        srv.stop().await;
    }
}
