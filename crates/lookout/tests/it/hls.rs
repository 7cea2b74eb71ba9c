//! HLS against the real server and real players: ffmpeg reads the live playlist of an x264
//! `command` camera and the recorded playlist of a continuously recording one, Chromium plays
//! the live playlist in a `<video>` with its own HLS player, `?token=` in the URL is carried
//! into the segment URIs, and nginx with the cache config from docs/guide/hls.md serves a
//! segment's second fetch from its cache.

use crate::h264::{decode_errors, probe, x264_camera};
use crate::recording::{config, recording_server, unix_secs, wait_rows};
use crate::support::{TestServer, basic, login_config, require, run_browser_script, testpattern};
use lookout_bench::Response;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn have_ffmpeg() -> bool {
    require("ffmpeg", "ffmpeg") && require("ffprobe", "ffmpeg")
}

/// The playlist's URI lines (segments), in order.
fn segment_uris(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The `#EXT-X-MAP` URIs, in order.
fn map_uris(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .map(|l| l.trim_end_matches('"'))
        .collect()
}

fn tag_number(text: &str, tag: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(tag))
        .unwrap_or_else(|| panic!("no {tag} in\n{text}"))
        .parse()
        .unwrap()
}

fn body(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// A 200 playlist with its type; its text.
fn check_playlist(r: &Response, cache: &str) -> String {
    assert_eq!(r.status, 200, "{}", body(r));
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    assert_eq!(r.header("cache-control"), Some(cache));
    let text = body(r);
    assert!(text.starts_with("#EXTM3U\n#EXT-X-VERSION:7\n"), "{text}");
    text
}

/// ffmpeg copies `secs` seconds of `url` into an MP4 file.
async fn ffmpeg_copy(url: String, secs: u32) -> tempfile::NamedTempFile {
    let out = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    let path = out.path().to_owned();
    let o = tokio::task::spawn_blocking(move || {
        Command::new("timeout")
            .arg("90")
            .args(["ffmpeg", "-hide_banner", "-v", "error", "-y", "-i"])
            .arg(&url)
            .args(["-t", &secs.to_string(), "-c", "copy"])
            .arg(&path)
            .output()
            .expect("run ffmpeg")
    })
    .await
    .unwrap();
    assert!(
        o.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// H.264 640x360 from a key frame, times rising; the number of frames.
fn check_video(file: &Path) -> usize {
    let (codec, w, h, packets) = probe(file);
    assert_eq!((codec.as_str(), w, h), ("h264", 640, 360));
    assert!(!packets.is_empty());
    assert!(packets[0].1, "starts with a key frame");
    assert!(
        packets.windows(2).all(|p| p[1].0 > p[0].0),
        "times rise: {packets:?}"
    );
    assert_eq!(decode_errors(file), "", "every frame decodes");
    packets.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_hls_plays_in_ffmpeg_and_its_window_slides() {
    if !have_ffmpeg() {
        return;
    }
    let srv = TestServer::start(&format!(
        "{}{}{}",
        x264_camera("cam", ""),
        testpattern("tp", 320, 240, 10),
        // With the openh264 feature a JPEG camera is encoded; "off" keeps it JPEG only.
        if cfg!(feature = "openh264") {
            "\n[camera.h264]\nmode = \"off\"\n"
        } else {
            ""
        }
    ))
    .await;
    // The first request starts the camera and waits for a segment.
    let r = srv.get("/cameras/cam/hls/index.m3u8").await;
    let text = check_playlist(&r, "public, max-age=1");
    for tag in [
        "#EXT-X-TARGETDURATION:2\n",
        "#EXT-X-INDEPENDENT-SEGMENTS\n",
        "#EXT-X-PROGRAM-DATE-TIME:20",
        "#EXTINF:",
    ] {
        assert!(text.contains(tag), "{tag} in\n{text}");
    }
    assert!(!text.contains("#EXT-X-ENDLIST"), "{text}");
    let first_seq = tag_number(&text, "#EXT-X-MEDIA-SEQUENCE:");
    let uris = segment_uris(&text);
    assert!(!uris.is_empty(), "{text}");
    let maps = map_uris(&text);
    assert_eq!(maps.len(), 1, "{text}");
    assert!(maps[0].starts_with("init-") && maps[0].ends_with(".mp4"));

    let seg = srv.get(&format!("/cameras/cam/hls/{}", uris[0])).await;
    assert_eq!(seg.status, 200, "{}", body(&seg));
    assert_eq!(seg.header("content-type"), Some("video/mp4"));
    assert_eq!(
        seg.header("cache-control"),
        Some("public, max-age=86400, immutable")
    );
    assert_eq!(&seg.body[4..8], b"moof");
    let init = srv.get(&format!("/cameras/cam/hls/{}", maps[0])).await;
    assert_eq!(init.status, 200);
    assert_eq!(
        init.header("cache-control"),
        Some("public, max-age=86400, immutable")
    );
    assert_eq!(&init.body[4..8], b"ftyp");
    // Another session's segment, a made-up one, an unknown file: 404 with a reason.
    for path in [
        "/cameras/cam/hls/0000000000000000-1.m4s",
        "/cameras/cam/hls/init-0000000000000000.mp4",
        "/cameras/cam/hls/x.ts",
    ] {
        let r = srv.get(path).await;
        assert_eq!(r.status, 404, "{path}");
        assert!(body(&r).contains("m3u8"), "{path}: {}", body(&r));
    }

    // ffmpeg's HLS player follows the live playlist for 6 s of video.
    let url = format!("http://{}/cameras/cam/hls/index.m3u8", srv.addr);
    let out = ffmpeg_copy(url, 6).await;
    let frames = check_video(out.path());
    // 6 s at 30 fps; whole segments, so a little more or less.
    assert!((120..=240).contains(&frames), "{frames} frames");

    // Meanwhile the window moved on.
    let later = check_playlist(
        &srv.get("/cameras/cam/hls/index.m3u8").await,
        "public, max-age=1",
    );
    let later_seq = tag_number(&later, "#EXT-X-MEDIA-SEQUENCE:");
    let later_uris = segment_uris(&later);
    assert!(
        later_seq + later_uris.len() as u64 > first_seq + uris.len() as u64,
        "no new segment:\n{text}\n{later}"
    );
    assert!(later_uris.len() <= 6, "{later}");

    // Counted: the segment and init fetched above, and ffmpeg's; one session runs.
    let metrics = body(&srv.get("/metrics").await);
    let served: u64 = tag_number(&metrics, "lookout_hls_segments_served_total ");
    assert!(served >= 4, "{metrics}");
    assert!(
        metrics.contains("\nlookout_hls_live_sessions 1\n"),
        "{metrics}"
    );

    // A JPEG camera has no HLS, and says why.
    let r = srv.get("/cameras/tp/hls/index.m3u8").await;
    assert_eq!(r.status, 404);
    assert!(body(&r).contains("JPEG"), "{}", body(&r));
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_hls_plays_every_recorded_frame_of_a_range() {
    if !have_ffmpeg() {
        return;
    }
    let (srv, rows) = recording_server("", 5).await;
    // Segments 1 to 4: the range starts inside the first and ends inside the fourth.
    let (start, end) = (rows[0].start_ms + 100, rows[3].end_ms - 100);
    let expected: i64 = rows[..4].iter().map(|r| r.frames).sum();
    let path = format!(
        "/cameras/rec/hls/recorded.m3u8?start={}&end={}",
        unix_secs(start),
        unix_secs(end)
    );
    let text = check_playlist(&srv.get(&path).await, "public, max-age=1");
    for tag in [
        "#EXT-X-PLAYLIST-TYPE:VOD\n",
        "#EXT-X-MEDIA-SEQUENCE:1\n",
        "#EXT-X-MAP:URI=\"rec/init-",
    ] {
        assert!(text.contains(tag), "{tag} in\n{text}");
    }
    assert!(text.ends_with("#EXT-X-ENDLIST\n"), "{text}");
    assert!(!text.contains("DISCONTINUITY"), "one run: {text}");
    let uris = segment_uris(&text);
    assert_eq!(uris.len(), 4, "{text}");

    // ffmpeg plays it end to end: every frame of the four segments.
    let url = format!("http://{}{path}", srv.addr);
    let (codec, w, h, packets) = probe(Path::new(&url));
    assert_eq!((codec.as_str(), w, h), ("h264", 640, 360));
    assert_eq!(packets.len() as i64, expected, "{packets:?}");
    assert!(packets[0].1, "starts with a key frame");
    assert!(packets.windows(2).all(|p| p[1].0 > p[0].0), "times rise");
    assert_eq!(decode_errors(Path::new(&url)), "");

    // The same range in RFC 3339; files are immutable; a made-up URL is 404.
    let rfc = |ms: i64| {
        humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + Duration::from_millis(ms as u64))
            .to_string()
    };
    let same = srv
        .get(&format!(
            "/cameras/rec/hls/recorded.m3u8?start={}&end={}",
            rfc(start),
            rfc(end)
        ))
        .await;
    assert_eq!(segment_uris(&body(&same)), uris);
    let seg = srv.get(&format!("/cameras/rec/hls/{}", uris[1])).await;
    assert_eq!(seg.status, 200, "{}", body(&seg));
    assert_eq!(
        seg.header("cache-control"),
        Some("public, max-age=86400, immutable")
    );
    let map = map_uris(&text)[0].to_owned();
    let init = srv.get(&format!("/cameras/rec/hls/{map}")).await;
    assert_eq!(init.status, 200);
    assert_eq!(&init.body[4..8], b"ftyp");
    // The segment's id with another start time: not these bytes.
    let (id, _) = uris[1].trim_start_matches("rec/").split_once('-').unwrap();
    for path in [
        format!("/cameras/rec/hls/rec/{id}-1.m4s"),
        "/cameras/rec/hls/rec/init-..%2F..%2Flookout.mp4".to_owned(),
        "/cameras/rec/hls/recorded.m3u8?start=1000&end=2000".to_owned(),
    ] {
        assert_eq!(srv.get(&path).await.status, 404, "{path}");
    }
    // Refusals say why.
    for (query, why) in [
        ("start=0&end=86400.001", "24 hours"),
        ("start=5", "needs ?start="),
        ("start=soon&end=5", "must be a time"),
        ("start=9&end=5", "after start"),
    ] {
        let r = srv
            .get(&format!("/cameras/rec/hls/recorded.m3u8?{query}"))
            .await;
        assert_eq!(r.status, 400, "{query}");
        assert!(body(&r).contains(why), "{query}: {}", body(&r));
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_the_url_is_carried_into_segment_uris_and_makes_answers_shareable() {
    if !have_ffmpeg() {
        return;
    }
    let srv = TestServer::start(&format!("{}{}", login_config(""), x264_camera("cam", ""))).await;
    srv.add_user("viewer", "correct horse battery", &[]);
    let token = srv
        .cli(&["token", "create", "cdn", "--user", "viewer"], "")
        .trim()
        .to_owned();
    assert_eq!(srv.get("/cameras/cam/hls/index.m3u8").await.status, 401);
    let wrong = srv
        .get(&format!("/cameras/cam/hls/index.m3u8?token={token}x"))
        .await;
    assert_eq!(wrong.status, 401, "a wrong token is refused");

    let r = srv
        .get(&format!("/cameras/cam/hls/index.m3u8?token={token}"))
        .await;
    let text = check_playlist(&r, "public, max-age=1");
    let suffix = format!("?token={token}");
    let uris = segment_uris(&text);
    assert!(uris.iter().all(|u| u.ends_with(&suffix)), "{text}");
    assert!(
        map_uris(&text).iter().all(|u| u.ends_with(&suffix)),
        "{text}"
    );
    let seg_path = format!("/cameras/cam/hls/{}", uris[0]);
    let seg = srv.get(&seg_path).await;
    assert_eq!(seg.status, 200);
    assert_eq!(
        seg.header("cache-control"),
        Some("public, max-age=86400, immutable")
    );
    let bare = seg_path.split('?').next().unwrap();
    assert_eq!(srv.get(bare).await.status, 401, "a segment needs it too");

    // A Bearer header with any `?token=` beside it: the header counts, the answer is private
    // and the URL's token is not passed on (it may be wrong: a cache must not serve it).
    let r = srv
        .get_with(
            "/cameras/cam/hls/index.m3u8?token=lk_wrong",
            &[("Authorization", &format!("Bearer {token}"))],
        )
        .await;
    let text = check_playlist(&r, "private, max-age=1");
    assert!(!text.contains("token="), "{text}");

    // HTTP Basic: only the browser or player that sent it may keep the answer.
    let auth = basic("viewer", "correct horse battery");
    let r = srv
        .get_with("/cameras/cam/hls/index.m3u8", &[("Authorization", &auth)])
        .await;
    let text = check_playlist(&r, "private, max-age=1");
    assert!(!text.contains("token="), "{text}");
    let seg = srv
        .get_with(
            &format!("/cameras/cam/hls/{}", segment_uris(&text)[0]),
            &[("Authorization", &auth)],
        )
        .await;
    assert_eq!(
        seg.header("cache-control"),
        Some("private, max-age=86400, immutable")
    );

    // A player that can send no header follows the tokened URIs.
    let url = format!(
        "http://{}/cameras/cam/hls/index.m3u8?token={token}",
        srv.addr
    );
    let out = ffmpeg_copy(url, 3).await;
    assert!(check_video(out.path()) >= 60);
    srv.stop().await;
}

/// Runs tests/browser/hls.mjs; its JSON report, checked: no error, 640 wide, and the video's
/// time moved on by more than a second in 3 s (generous: a busy machine may stall a little).
async fn plays_in_chromium(scripts: &Path, page: &str, playlist: &str, mode: &'static str) {
    let seen = run_browser_script(scripts, "hls.mjs", &[page, playlist, mode, "5000"]).await;
    eprintln!("Chromium ({mode}): {seen}");
    assert_eq!(seen["error"], serde_json::Value::Null, "{mode}: {seen}");
    assert_eq!(seen["errors"], serde_json::json!([]), "{mode}: {seen}");
    assert_eq!(seen["width"], 640, "{mode}: {seen}");
    let (t0, t1) = (
        seen["time_before"].as_f64().unwrap(),
        seen["time_after"].as_f64().unwrap(),
    );
    assert!(t1 > t0 + 1.0, "{mode}: {seen}");
}

/// Chromium 156 answers `canPlayType('application/vnd.apple.mpegurl')` with "maybe", but its
/// own new HLS player stalls after a few seconds of Lookout's live playlists (at a segment
/// edge, buffer ahead, no error) and sometimes of recorded ones, while ffmpeg and hls.js play
/// them through: the test plays both with hls.js, the player most sites use on Media Source
/// Extensions (a test-only npm dependency; Lookout does not ship it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_live_and_recorded_hls_with_hls_js() {
    let Some(scripts) = crate::support::browser_scripts() else {
        return;
    };
    if !have_ffmpeg() {
        return;
    }
    if !scripts.join("node_modules/hls.js").is_dir() {
        crate::support::missing("hls.js in tests/browser/node_modules (npm ci in tests/browser)");
        return;
    }
    let srv = TestServer::start(&config("", "")).await;
    let page = format!("{}/hls-test", srv.origin());
    plays_in_chromium(&scripts, &page, "/cameras/rec/hls/index.m3u8", "hlsjs").await;
    // By now more than 5 s are recorded.
    let rows = wait_rows(&srv.state_dir, 6).await;
    let playlist = format!(
        "/cameras/rec/hls/recorded.m3u8?start={}&end={}",
        unix_secs(rows[0].start_ms),
        unix_secs(rows.last().unwrap().end_ms)
    );
    plays_in_chromium(&scripts, &page, &playlist, "hlsjs").await;
    srv.stop().await;
}

/// The two nginx blocks of docs/guide/hls.md (`http { }` and `server { }` parts), with the
/// cache, log and upstream put where this test wants them.
fn documented_nginx_config(dir: &Path, upstream: std::net::SocketAddr) -> (String, String) {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/guide/hls.md"),
    )
    .unwrap();
    let blocks: Vec<&str> = doc
        .split("```nginx\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert_eq!(blocks.len(), 2, "docs/guide/hls.md has two nginx blocks");
    let fix = |b: &str| {
        b.replace(
            "/var/cache/nginx/lookout",
            &dir.join("cache").display().to_string(),
        )
        .replace(
            "/var/log/nginx/lookout.log",
            &dir.join("hls.log").display().to_string(),
        )
        .replace("http://127.0.0.1:8080", &format!("http://{upstream}"))
    };
    (fix(blocks[0]), fix(blocks[1]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_caches_segments_by_the_documented_config() {
    if !require("nginx", "nginx") {
        return;
    }
    if !have_ffmpeg() {
        return;
    }
    let srv = TestServer::start(&format!("{}{}", login_config(""), x264_camera("cam", ""))).await;
    srv.add_user("viewer", "correct horse battery", &[]);
    let token = srv
        .cli(&["token", "create", "cdn", "--user", "viewer"], "")
        .trim()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let port = crate::support::free_port();
    let (http, server) = documented_nginx_config(dir.path(), srv.addr);
    let site = format!("{http}\nserver {{\nlisten 127.0.0.1:{port};\n{server}\n}}\n");
    let _nginx = crate::remote::start_nginx(dir.path(), &site, port);
    let nginx: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let get = |path: String, headers: Vec<(&'static str, String)>| async move {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        lookout_bench::request(nginx, "GET", &path, &h, None)
            .await
            .unwrap()
    };

    let playlist = get(format!("/cameras/cam/hls/index.m3u8?token={token}"), vec![]).await;
    let text = check_playlist(&playlist, "public, max-age=1");
    let seg = format!("/cameras/cam/hls/{}", segment_uris(&text)[0]);
    let first = get(seg.clone(), vec![]).await;
    assert_eq!(first.status, 200, "{}", body(&first));
    assert_eq!(first.header("x-cache-status"), Some("MISS"));
    let second = get(seg.clone(), vec![]).await;
    assert_eq!(second.status, 200);
    assert_eq!(
        second.header("x-cache-status"),
        Some("HIT"),
        "the second fetch is the cache's"
    );
    assert_eq!(first.body, second.body);

    // An answer to HTTP Basic is private: nginx passes it on and does not keep it.
    let auth = basic("viewer", "correct horse battery");
    let bare = seg.split('?').next().unwrap().to_owned();
    for _ in 0..2 {
        let r = get(bare.clone(), vec![("Authorization", auth.clone())]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-cache-status"), Some("MISS"), "never cached");
    }
    // Without credentials: Lookout's 401, not a cached copy.
    assert_eq!(get(bare.clone(), vec![]).await.status, 401);

    // The documented log format keeps tokens out of nginx's log.
    let log = std::fs::read_to_string(dir.path().join("hls.log")).unwrap();
    assert!(log.contains("/hls/index.m3u8"), "{log}");
    assert!(!log.contains(&token), "the token is logged:\n{log}");
    srv.stop().await;
}

/// Demand: the session holds the camera only while requests come; 30 s after the last one it
/// stops, and the camera, which nobody else watches, stops capturing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_session_ends_without_requests_and_the_camera_goes_idle() {
    if !have_ffmpeg() {
        return;
    }
    let srv = TestServer::start(&x264_camera("cam", "")).await;
    let r = srv.get("/cameras/cam/hls/index.m3u8").await;
    check_playlist(&r, "public, max-age=1");
    assert_eq!(srv.json("/api/cameras/cam").await["state"], "online");
    let asked = Instant::now();
    let deadline = asked + Duration::from_secs(90);
    loop {
        let metrics = body(&srv.get("/metrics").await);
        let cam = srv.json("/api/cameras/cam").await;
        if metrics.contains("\nlookout_hls_live_sessions 0\n") && cam["state"] == "idle" {
            break;
        }
        assert!(Instant::now() < deadline, "still running after 90 s: {cam}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        asked.elapsed() >= Duration::from_secs(29),
        "stopped after {:?}, before 30 s without requests",
        asked.elapsed()
    );
    srv.stop().await;
}
