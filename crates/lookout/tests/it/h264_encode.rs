//! H.264 encoded by Lookout (feature `openh264`) for a camera that sends pixels: the test
//! pattern's `stream.mp4` read by curl and checked by ffprobe and ffmpeg; the encoder runs only
//! while somebody reads it, and once for any number of readers.

use crate::h264::{curl_for, decode_errors, probe};
use crate::support::{TestServer, require, testpattern_with};
use std::time::Duration;

const SECS: Duration = Duration::from_secs(30);

fn counter(cam: &serde_json::Value, key: &str) -> u64 {
    cam[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {cam}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_testpattern_camera_is_encoded_to_h264_only_while_watched_and_once_for_two_readers() {
    if !require("ffmpeg", "ffmpeg") || !require("curl", "curl") {
        return;
    }
    // keep_warm: the camera captures all along, so a stopped encoder shows as captured
    // frames growing while encoded ones do not.
    let srv = TestServer::start(&testpattern_with("tp", 640, 360, 15, "keep_warm = true")).await;
    let cam = srv.wait_camera("tp", SECS, |c| c["online"] == true).await;
    assert_eq!(cam["codecs"], serde_json::json!(["jpeg", "h264"]), "{cam}");
    assert_eq!(
        counter(&cam, "h264_frames_encoded"),
        0,
        "nobody watches yet: {cam}"
    );

    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/cameras/tp/stream.mp4", srv.origin());
    let (a, b) = (dir.path().join("a.mp4"), dir.path().join("b.mp4"));
    // Two readers at once, the second joining 1 s later; counters sampled while both read
    // (both read until 6 s, so a slow request for the second sample still finds them).
    let (head, _, window) = tokio::join!(
        curl_for(url.clone(), 6, &a, &[]),
        async {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            curl_for(url.clone(), 5, &b, &[]).await
        },
        async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let before = srv.json("/api/cameras/tp").await;
            tokio::time::sleep(Duration::from_millis(2000)).await;
            let after = srv.json("/api/cameras/tp").await;
            (before, after)
        }
    );
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("x-lookout-codec: avc1.42"), "{head}");

    for file in [&a, &b] {
        let (codec, w, h, packets) = probe(file);
        assert_eq!((codec.as_str(), w, h), ("h264", 640, 360), "{file:?}");
        // 5–6 s at 15 fps, less start-up (and the encoder being slow on a busy machine).
        assert!(packets.len() >= 15, "{file:?}: {} frames", packets.len());
        assert!(packets[0].1, "{file:?}: the first frame is not a key frame");
        for pair in packets.windows(2) {
            assert!(pair[1].0 > pair[0].0, "{file:?}: pts not rising: {pair:?}");
        }
        let errors = decode_errors(file);
        assert!(
            errors.is_empty(),
            "{file:?}: ffmpeg decode errors: {errors}"
        );
    }

    // One encoder for both readers: it encodes each captured picture at most once.
    let (before, after) = window;
    assert_eq!(after["h264"]["origin"], "encoded", "{after}");
    assert_eq!(after["viewer_count"], 2, "both readers listed: {after}");
    let captured = counter(&after, "frames_captured") - counter(&before, "frames_captured");
    let encoded = counter(&after, "h264_frames_encoded") - counter(&before, "h264_frames_encoded");
    assert!(encoded > 0, "the encoder ran: {after}");
    assert!(
        encoded <= captured + 2,
        "{encoded} pictures encoded for {captured} captured: more than one encoder"
    );

    // Readers gone: after the encoder's 5 s linger it stops, while the camera still captures.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let idle_a = srv.json("/api/cameras/tp").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_b = srv.json("/api/cameras/tp").await;
    assert_eq!(idle_b["viewer_count"], 0, "{idle_b}");
    assert!(
        counter(&idle_b, "frames_captured") > counter(&idle_a, "frames_captured"),
        "the camera keeps capturing: {idle_b}"
    );
    assert_eq!(
        counter(&idle_b, "h264_frames_encoded"),
        counter(&idle_a, "h264_frames_encoded"),
        "the encoder still runs with nobody watching H.264"
    );

    // And it starts again for a new reader.
    let c = dir.path().join("c.mp4");
    curl_for(url, 2, &c, &[]).await;
    let (codec, ..) = probe(&c);
    assert_eq!(codec, "h264");
    let again = srv.json("/api/cameras/tp").await;
    assert!(
        counter(&again, "h264_frames_encoded") > counter(&idle_b, "h264_frames_encoded"),
        "{again}"
    );
    srv.stop().await;
}

/// MJPEG viewers are no H.264 demand: the encoder does not run for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mjpeg_viewers_do_not_start_the_encoder() {
    let srv = TestServer::start(&testpattern_with("tp", 320, 240, 15, "")).await;
    let r = srv.get("/cameras/tp/snapshot.jpg").await;
    assert_eq!(r.status, 200);
    let mut stream = srv.stream("/cameras/tp/stream.mjpeg").await;
    assert_eq!(stream.status(), 200);
    for _ in 0..10 {
        stream.next_part().await.unwrap().expect("a part");
    }
    let cam = srv.json("/api/cameras/tp").await;
    assert!(counter(&cam, "frames_captured") >= 10, "{cam}");
    assert_eq!(counter(&cam, "h264_frames_encoded"), 0, "{cam}");
    srv.stop().await;
}
