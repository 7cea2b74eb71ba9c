//! Clients nobody here wrote: ffmpeg reads the stream and the snapshot; headless Chromium
//! renders the page with a live picture.

use crate::support::{TestServer, jpeg_size, require, testpattern};
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_reads_and_decodes_the_stream_and_the_snapshot() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let srv = TestServer::start(&testpattern("a", 320, 240, 15)).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}/cameras/a/stream.mjpeg", srv.addr);
    let out = dir.path().join("frame%02d.jpg");
    let status = tokio::task::spawn_blocking(move || {
        Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-i",
                &url,
                "-frames:v",
                "10",
                "-c:v",
                "copy",
            ])
            .arg(&out)
            .status()
    })
    .await
    .unwrap()
    .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg failed on the stream");
    for i in 1..=10 {
        let data = std::fs::read(dir.path().join(format!("frame{i:02}.jpg"))).expect("frame file");
        assert_eq!(jpeg_size(&data), (320, 240));
    }
    // ffmpeg decodes the snapshot into raw pixels; its size tells it understood the JPEG.
    let url = format!("http://{}/cameras/a/snapshot.jpg?width=160", srv.addr);
    let raw = tokio::task::spawn_blocking(move || {
        Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-i",
                &url,
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-",
            ])
            .output()
    })
    .await
    .unwrap()
    .expect("run ffmpeg");
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    assert_eq!(raw.stdout.len(), 160 * 120 * 3);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_page_with_a_live_picture() {
    if !require("chromium", "chromium") {
        return;
    }
    let srv = TestServer::start(&testpattern("a", 640, 360, 15)).await;
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("page.png");
    let url = format!("http://{}/", srv.addr);
    let profile = dir.path().join("profile");
    let shot_arg = format!("--screenshot={}", shot.display());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1000,700",
                "--timeout=10000",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(&shot_arg)
            .arg(&url)
            .output()
    })
    .await
    .unwrap()
    .expect("run chromium");
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let px = |x: usize, y: usize| {
        let i = (y * info.width as usize + x) * channels;
        (buf[i], buf[i + 1], buf[i + 2])
    };
    // The test pattern's yellow and blue bars must be on screen: a page with a broken or
    // missing image is dark grey and white text only.
    let (mut yellow, mut blue) = (0, 0);
    for y in 0..info.height as usize {
        for x in 0..info.width as usize {
            let (r, g, b) = px(x, y);
            if r > 200 && g > 200 && b < 60 {
                yellow += 1;
            }
            if b > 200 && r < 60 && g < 60 {
                blue += 1;
            }
        }
    }
    assert!(
        yellow > 1000 && blue > 1000,
        "no live picture in the screenshot (yellow {yellow}, blue {blue} pixels)"
    );
    let keep = std::env::var_os("LOOKOUT_KEEP_SCREENSHOT");
    if let Some(path) = keep {
        std::fs::copy(&shot, path).unwrap();
    }
    srv.stop().await;
}

/// Chromium shows a multipart part once the boundary after it arrives. With the boundary sent
/// right after each JPEG, a camera sending one frame every 10 s shows its first frame at once,
/// not when the second one comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_shows_a_slow_cameras_first_frame_before_the_second_comes() {
    let Some(scripts) = crate::support::browser_scripts() else {
        return;
    };
    let srv = TestServer::start(
        // The MJPEG <img> is under test: with `--features openh264` the page would play the
        // camera as encoded H.264 instead.
        "[[camera]]\nid = \"a\"\n[camera.source]\nkind = \"testpattern\"\nwidth = 320\nheight = 240\nfps = 0.1\n[camera.h264]\nmode = \"off\"\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("first-frame.png");
    let url = format!("http://{}/cameras/a", srv.addr);
    let shot_arg = shot.to_str().expect("a UTF-8 temporary path");
    let seen = crate::support::run_browser_script(
        &scripts,
        "first_frame.mjs",
        &[&url, "figure.cam img", "3000", shot_arg],
    )
    .await;
    eprintln!("Chromium at ~3 s: {seen}");
    // The second frame comes 10 s after the first: anything drawn before that is the first.
    assert!(
        seen["elapsed_ms"].as_u64().unwrap() < 9000,
        "the page was read too late to tell: {seen}"
    );
    assert_eq!(
        (
            seen["natural_width"].as_u64(),
            seen["natural_height"].as_u64()
        ),
        (Some(320), Some(240)),
        "the first frame is not drawn: {seen}"
    );
    // The test pattern's yellow and blue bars, not a blank picture.
    assert!(
        seen["yellow"].as_u64().unwrap() > 1000 && seen["blue"].as_u64().unwrap() > 1000,
        "the drawn picture is not the test pattern: {seen}"
    );
    srv.stop().await;
}
