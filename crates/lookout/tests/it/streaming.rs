//! Fan-out: many viewers, slow viewers, per-viewer rate and size, fresh snapshots, shutdown.

use crate::support::{TestServer, jpeg_size, read_parts, testpattern, testpattern_with};
use std::time::{Duration, SystemTime};
use tokio::io::AsyncWriteExt;

const SECS: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_viewers_all_receive_complete_frames() {
    let srv = TestServer::start(&testpattern("a", 320, 240, 30)).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let mut s = srv.stream("/cameras/a/stream.mjpeg").await;
        assert_eq!(s.status(), 200);
        assert!(
            s.header("content-type")
                .is_some_and(|c| c.contains("boundary=boundarydonotcross"))
        );
        tasks.push(tokio::spawn(async move {
            let parts = read_parts(&mut s, 10, SECS).await;
            for p in &parts {
                assert_eq!(jpeg_size(&p.body), (320, 240));
            }
            s
        }));
    }
    let mut open = Vec::new();
    for t in tasks {
        open.push(t.await.unwrap());
    }
    let cam = srv.json("/api/cameras/a").await;
    assert_eq!(cam["viewer_count"], 20, "{cam}");
    assert_eq!(cam["viewers"].as_array().map(Vec::len), Some(20));
    drop(open);
    srv.wait_camera("a", SECS, |c| c["viewer_count"] == 0).await;
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_capture_and_one_encode_per_variant_whatever_the_viewer_count() {
    let srv = TestServer::start(&testpattern("a", 320, 240, 20)).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let path = if i % 2 == 0 {
            "/cameras/a/stream.mjpeg"
        } else {
            "/cameras/a/stream.mjpeg?width=160"
        };
        let mut s = srv.stream(path).await;
        tasks.push(tokio::spawn(async move {
            let parts = read_parts(&mut s, 15, SECS).await;
            let want = if i % 2 == 0 { (320, 240) } else { (160, 120) };
            assert_eq!(jpeg_size(&parts[0].body), want);
            s
        }));
    }
    let mut open = Vec::new();
    for t in tasks {
        open.push(t.await.unwrap());
    }
    let metrics = String::from_utf8(srv.get("/metrics").await.body.to_vec()).unwrap();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{camera=\"a\"}}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from:\n{metrics}"))
    };
    let captured = value("lookout_frames_captured_total");
    let encodes = value("lookout_jpeg_encode_seconds_count");
    let sent = value("lookout_frames_sent_total");
    // Each captured frame: one test-pattern encode, plus at most one for the 160-wide variant.
    assert!(
        encodes <= 2.0 * captured + 2.0,
        "encodes {encodes} for {captured} frames"
    );
    // Sixteen viewers were served from those frames: far more sent than captured.
    assert!(
        sent >= 16.0 * 15.0 && sent > 5.0 * captured,
        "sent {sent}, captured {captured}"
    );
    drop(open);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_viewer_does_not_slow_others_and_is_dropped_after_the_write_timeout() {
    // Quality 95 makes big frames, so the stalled socket's buffers fill quickly.
    let config = format!(
        "[server]\nwrite_timeout_ms = 1000\n{}",
        testpattern_with("a", 640, 480, 30, "quality = 95")
    );
    let srv = TestServer::start(&config).await;
    // A client with a tiny receive buffer that asks for the stream and never reads.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut stalled = sock.connect(srv.addr).await.unwrap();
    stalled
        .write_all(b"GET /cameras/a/stream.mjpeg HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    srv.wait_camera("a", SECS, |c| c["viewer_count"] == 1).await;
    // Meanwhile a normal viewer keeps the full rate: 30 fps for 3 s.
    let mut s = srv.stream("/cameras/a/stream.mjpeg").await;
    read_parts(&mut s, 3, SECS).await;
    let started = tokio::time::Instant::now();
    let parts = read_parts(&mut s, 60, SECS).await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(6),
        "60 frames at 30 fps took {took:?} next to a stalled viewer"
    );
    assert!(
        parts
            .windows(2)
            .all(|w| w[0].x_timestamp() < w[1].x_timestamp())
    );
    // The stalled one is dropped once its writes block for the write timeout.
    srv.wait_camera("a", SECS, |c| {
        c["viewer_count"] == 1 && c["viewers"][0]["frames_sent"].as_u64() > Some(60)
    })
    .await;
    drop(stalled);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fps_parameter_caps_one_viewer_only() {
    let srv = TestServer::start(&testpattern("a", 160, 120, 30)).await;
    let mut capped = srv.stream("/cameras/a/stream.mjpeg?fps=4").await;
    let mut full = srv.stream("/cameras/a/stream.mjpeg").await;
    read_parts(&mut capped, 1, SECS).await;
    let started = tokio::time::Instant::now();
    let parts = read_parts(&mut capped, 8, SECS).await;
    let took = started.elapsed();
    // 8 frames at 4 fps: 2 s (each frame waits at least 250 ms after the previous).
    assert!(
        took >= Duration::from_millis(1900),
        "8 frames at fps=4 in {took:?}"
    );
    let gaps: Vec<f64> = parts
        .windows(2)
        .map(|w| {
            w[1].received_at
                .duration_since(w[0].received_at)
                .unwrap_or_default()
                .as_secs_f64()
        })
        .collect();
    assert!(gaps.iter().all(|g| *g >= 0.2), "gaps {gaps:?}");
    // The uncapped viewer got its frames meanwhile.
    let many = read_parts(&mut full, 30, SECS).await;
    assert_eq!(many.len(), 30);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn width_height_and_quality_make_variants() {
    let srv = TestServer::start(&testpattern("a", 640, 480, 15)).await;
    let r = srv.get("/cameras/a/snapshot.jpg?width=160").await;
    assert_eq!((r.status, jpeg_size(&r.body)), (200, (160, 120)));
    let r = srv.get("/cameras/a/snapshot.jpg?height=48").await;
    assert_eq!(jpeg_size(&r.body), (64, 48));
    let mut s = srv
        .stream("/cameras/a/stream.mjpeg?width=100&height=50")
        .await;
    let parts = read_parts(&mut s, 2, SECS).await;
    assert_eq!(jpeg_size(&parts[1].body), (100, 50));
    let low = srv.get("/cameras/a/snapshot.jpg?quality=10").await;
    let high = srv.get("/cameras/a/snapshot.jpg?quality=95").await;
    assert_eq!(jpeg_size(&low.body), (640, 480));
    assert!(
        low.body.len() * 2 < high.body.len(),
        "q10 {} bytes, q95 {} bytes",
        low.body.len(),
        high.body.len()
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_waits_for_a_frame_captured_after_the_request() {
    // 2 fps: the latest frame is up to 500 ms old, so a stale answer would show.
    let srv = TestServer::start(&testpattern_with("a", 160, 120, 2, "keep_warm = true")).await;
    srv.wait_camera("a", SECS, |c| c["online"] == true).await;
    for _ in 0..3 {
        let asked = SystemTime::now();
        let r = srv.get("/cameras/a/snapshot.jpg").await;
        assert_eq!(r.status, 200);
        let ts = r
            .header("x-timestamp")
            .and_then(lookout_bench::parse_unix_timestamp)
            .expect("X-Timestamp");
        assert!(
            ts >= asked,
            "snapshot captured {:?} before the request",
            asked.duration_since(ts).unwrap_or_default()
        );
        assert_eq!(jpeg_size(&r.body), (160, 120));
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams_and_returns() {
    let srv = TestServer::start(&testpattern("a", 160, 120, 30)).await;
    let mut s = srv.stream("/cameras/a/stream.mjpeg").await;
    read_parts(&mut s, 2, SECS).await;
    srv.shutdown.cancel();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = s.next_part().await {}
    })
    .await;
    assert!(ended.is_ok(), "stream still open 5 s after shutdown");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_camera_stops_capturing_and_restarts_on_demand() {
    let srv = TestServer::start(&testpattern_with("a", 160, 120, 30, "idle_linger_ms = 300")).await;
    let cam = srv.json("/api/cameras/a").await;
    assert_eq!(
        (cam["state"].as_str(), cam["frames_captured"].as_u64()),
        (Some("idle"), Some(0)),
        "{cam}"
    );
    let mut s = srv.stream("/cameras/a/stream.mjpeg").await;
    read_parts(&mut s, 3, SECS).await;
    drop(s);
    let idle = srv.wait_camera("a", SECS, |c| c["state"] == "idle").await;
    let before = idle["frames_captured"].as_u64().unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = srv.json("/api/cameras/a").await["frames_captured"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(before, after, "frames captured while nobody watched");
    let r = srv.get("/cameras/a/snapshot.jpg").await;
    assert_eq!(r.status, 200);
    srv.stop().await;
}

/// web_video_server's `invert`: the picture turned 180°, on snapshots and streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invert_turns_the_picture_upside_down() {
    let dir = tempfile::tempdir().unwrap();
    // Left half black, right half white, in blocks of 16 so JPEG keeps the edge sharp.
    let mut img = lookout_core::RgbImage::new(64, 32);
    for y in 0..32 {
        for x in 32..64 {
            let i = (y * 64 + x) * 3;
            img.data[i..i + 3].copy_from_slice(&[255, 255, 255]);
        }
    }
    std::fs::write(
        dir.path().join("a.jpg"),
        lookout_core::jpeg::encode_rgb(&img, 95).unwrap(),
    )
    .unwrap();
    let source = format!(
        "kind = \"files\"\ndir = \"{}\"\nfps = 10\n",
        dir.path().display()
    );
    let srv = TestServer::start(&crate::support::camera("f", "", &source)).await;
    let left_and_right = |jpeg: &[u8]| {
        let rgb = lookout_core::jpeg::decode_rgb(jpeg).unwrap();
        (rgb.pixel(4, 16)[0], rgb.pixel(60, 16)[0])
    };
    let plain = srv.get("/cameras/f/snapshot.jpg").await;
    let (l, r) = left_and_right(&plain.body);
    assert!(l < 30 && r > 225, "original: left {l}, right {r}");
    let turned = srv.get("/snapshot?camera=f&invert").await;
    assert_eq!(turned.status, 200);
    let (l, r) = left_and_right(&turned.body);
    assert!(l > 225 && r < 30, "inverted: left {l}, right {r}");
    let mut s = srv
        .stream("/cameras/f/stream.mjpeg?invert=1&width=32")
        .await;
    let parts = read_parts(&mut s, 1, Duration::from_secs(10)).await;
    let rgb = lookout_core::jpeg::decode_rgb(&parts[0].body).unwrap();
    assert_eq!((rgb.width, rgb.height), (32, 16));
    assert!(rgb.pixel(2, 8)[0] > 225 && rgb.pixel(30, 8)[0] < 30);
    srv.stop().await;
}

/// The multipart framing, byte for byte: each part's delimiter follows its JPEG at once, not
/// with the next frame. Browsers (`Sec-Fetch-Dest`, or `?advance_headers=1`) also get the next
/// part's header lines at once, since Chromium draws a part only when those arrive; programs
/// get them, with `Content-Length`, when the next frame comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_parts_delimiter_comes_right_after_its_jpeg() {
    use tokio::io::AsyncReadExt;
    // One frame every 10 s: what comes after the first JPEG comes before the second frame.
    let srv = TestServer::start(
        "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\nwidth = 64\nheight = 48\nfps = 0.1\n",
    )
    .await;
    const DELIMITER: &[u8] = b"\r\n--boundarydonotcross\r\n";
    const PART_TYPE: &[u8] = b"Content-Type: image/jpeg\r\n";
    for (path, extra, advance) in [
        ("/cameras/a/stream.mjpeg", "", false),
        ("/cameras/a/stream.mjpeg", "Sec-Fetch-Dest: image\r\n", true),
        ("/cameras/a/stream.mjpeg?advance_headers=1", "", true),
        (
            "/cameras/a/stream.mjpeg?advance_headers=0",
            "Sec-Fetch-Dest: image\r\n",
            false,
        ),
    ] {
        // HTTP/1.0: the body is not chunked, so the bytes read are the body's own.
        let mut conn = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
        conn.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n{extra}\r\n").as_bytes())
            .await
            .unwrap();
        let mut got = Vec::new();
        let tail: &[u8] = if advance {
            b"\r\n--boundarydonotcross\r\nContent-Type: image/jpeg\r\n\r\n"
        } else {
            DELIMITER
        };
        let read = tokio::time::timeout(Duration::from_secs(8), async {
            let mut buf = [0u8; 65536];
            // Until a JPEG's end and what follows it.
            while !got.windows(2).any(|w| w == [0xff, 0xd9]) || !got.ends_with(tail) {
                let n = conn.read(&mut buf).await.unwrap();
                assert!(n > 0, "the stream ended");
                got.extend_from_slice(&buf[..n]);
            }
        })
        .await;
        let text = String::from_utf8_lossy(&got).into_owned();
        assert!(
            read.is_ok(),
            "{path} {extra:?}: the part was not closed before the next frame: {text:?}"
        );
        let head = text.split_once("\r\n\r\n").unwrap().0;
        assert!(head.starts_with("HTTP/1.0 200"), "{head}");
        let body = &got[head.len() + 4..];
        let mut want_start = b"--boundarydonotcross\r\n".to_vec();
        want_start.extend_from_slice(PART_TYPE);
        assert!(body.starts_with(&want_start), "{path}: {text:?}");
        let rest = &body[want_start.len()..];
        let jpeg = if advance {
            // No Content-Length or X-Timestamp: the JPEG runs to the delimiter.
            let jpeg = rest.strip_prefix(b"\r\n").expect("the blank line");
            &jpeg[..jpeg.len() - tail.len()]
        } else {
            let fields = String::from_utf8_lossy(&rest[..rest.len().min(200)]).into_owned();
            let len: usize = fields
                .strip_prefix("Content-Length: ")
                .and_then(|f| f.split("\r\n").next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{path}: no Content-Length: {fields:?}"));
            assert!(fields.contains("\r\nX-Timestamp: "), "{fields:?}");
            let start = rest.len() - tail.len() - len;
            assert!(rest[..start].ends_with(b"\r\n\r\n"), "{fields:?}");
            assert_eq!(rest.len(), start + len + tail.len());
            &rest[start..start + len]
        };
        assert_eq!(jpeg_size(jpeg), (64, 48), "{path} {extra:?}");
        assert!(
            !jpeg.ends_with(b"\r\n"),
            "the CRLF belongs to the delimiter"
        );
    }
    srv.stop().await;
}
