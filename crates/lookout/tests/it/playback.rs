//! Playback against the real server recording a real H.264 camera (ffmpeg's libx264 as a
//! `command` camera): the recordings list (runs, event marks, refusals), a time range
//! exported as one MP4 that ffprobe and ffmpeg read (frames, duration, rising times, clean
//! decode), a range across a format change refused with its parts, and the camera page's
//! timeline in Chromium (click a run, the recording plays, "Live" returns).

use crate::h264::{curl_for, decode_errors, probe};
use crate::recording::{Row, have_ffmpeg, recording_server, unix_secs, wait_rows};
use crate::support::{TestServer, run_browser_script};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn db(dir: &Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(dir.join("lookout.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db
}

/// A motion event of camera `rec` whose finished clip runs from `first`'s start to `last`'s
/// end, as the motion detector would write it; its id.
fn insert_clip_event(dir: &Path, first: &Row, last: &Row) -> i64 {
    let db = db(dir);
    db.execute(
        "INSERT INTO events (camera, kind, started_at, details, clip_start_ms, clip_end_ms) VALUES ('rec', 'motion', ?1, '{}', ?2, ?3)",
        rusqlite::params![first.start_ms / 1000, first.start_ms, last.end_ms],
    )
    .unwrap();
    db.last_insert_rowid()
}

async fn status_and_error(server: &TestServer, path: &str) -> (u16, String) {
    let r = server.get(path).await;
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
    (r.status, body["error"].as_str().unwrap_or("").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recordings_list_shows_runs_and_events_and_a_range_exports_as_one_playable_mp4() {
    if !have_ffmpeg() {
        return;
    }
    let (server, segs) = recording_server("", 5).await;
    let dir = server.state_dir.clone();

    // An event with a clip inside the recording, as a motion event's would be.
    let event = insert_clip_event(&dir, &segs[1], &segs[2]);

    // The list, default window (the last 24 h): one run holding every segment so far.
    let list = server.json("/api/cameras/rec/recordings").await;
    let runs = list["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "one continuous run: {list}");
    let run = &runs[0];
    assert_eq!(run["start_ms"].as_i64(), Some(segs[0].start_ms), "{list}");
    assert!(run["end_ms"].as_i64().unwrap() >= segs[4].end_ms, "{list}");
    assert!(run["segments"].as_i64().unwrap() >= 5, "{list}");
    assert_eq!(
        (
            run["codec"].as_str().map(|c| c.starts_with("avc1.")),
            run["width"].as_u64(),
            run["height"].as_u64()
        ),
        (Some(true), Some(640), Some(360)),
        "{list}"
    );
    assert_eq!(list["bytes"], run["bytes"], "{list}");
    assert!(list["bytes"].as_i64().unwrap() >= segs.iter().map(|s| s.bytes).sum::<i64>());
    assert_eq!(list["mode"], "continuous");
    assert_eq!(list["recording_url"], "/cameras/rec/recording.mp4");
    let events = list["events"].as_array().unwrap();
    let mark = events
        .iter()
        .find(|e| e["id"] == event)
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(mark["kind"], "motion");
    assert_eq!(mark["clip"]["start_ms"].as_i64(), Some(segs[1].start_ms));
    assert_eq!(
        mark["clip"]["mp4_url"],
        format!("/api/events/{event}/clip.mp4")
    );

    // A window of the second and third segments only, in RFC 3339: the runs are cut to the
    // segments overlapping it.
    let rfc = |ms: i64| {
        let t = std::time::UNIX_EPOCH + Duration::from_millis(ms as u64);
        humantime::format_rfc3339_millis(t).to_string()
    };
    let part = server
        .json(&format!(
            "/api/cameras/rec/recordings?from={}&to={}",
            rfc(segs[1].start_ms + 100),
            rfc(segs[2].end_ms - 100)
        ))
        .await;
    assert_eq!(
        part["runs"][0]["start_ms"].as_i64(),
        Some(segs[1].start_ms),
        "{part}"
    );
    assert_eq!(
        part["runs"][0]["end_ms"].as_i64(),
        Some(segs[2].end_ms),
        "{part}"
    );
    assert_eq!(part["runs"][0]["segments"], 2, "{part}");
    // Long ago: nothing.
    let empty = server
        .json("/api/cameras/rec/recordings?from=1000&to=2000")
        .await;
    assert_eq!(empty["runs"], serde_json::json!([]), "{empty}");
    assert_eq!(empty["bytes"], 0);

    // Bad input: 400 with the reason.
    for (query, says) in [
        ("from=yesterday", "from must be a time"),
        ("from=1796606795951", "from must be a time"),
        ("from=2000&to=1000", "must be after from"),
        ("from=0&to=864000", "more than the list covers"),
    ] {
        let (status, error) =
            status_and_error(&server, &format!("/api/cameras/rec/recordings?{query}")).await;
        assert_eq!(status, 400, "{query}: {error}");
        assert!(error.contains(says), "{query}: {error}");
    }
    let (status, _) = status_and_error(&server, "/api/cameras/nope/recordings").await;
    assert_eq!(status, 404);

    // Export from inside segment 2 to inside segment 4: segments 2, 3 and 4, from the key
    // frame at or before the start.
    let (start, end) = (segs[1].start_ms + 300, segs[3].start_ms + 200);
    let out = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    let url = format!(
        "http://{}/cameras/rec/recording.mp4?start={}&end={}&download=1",
        server.addr,
        unix_secs(start),
        unix_secs(end)
    );
    let headers = curl_for(url, 30, out.path(), &[]).await;
    assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
    assert!(
        headers.contains(&format!("filename=\"rec-{start}.mp4\"")),
        "{headers}"
    );
    let size = std::fs::metadata(out.path()).unwrap().len();
    assert!(
        headers
            .to_ascii_lowercase()
            .contains(&format!("content-length: {size}")),
        "{headers}"
    );
    assert!(
        headers.contains(&format!(
            "x-lookout-start: {}.{:03}000",
            segs[1].start_ms / 1000,
            segs[1].start_ms % 1000
        )),
        "media time 0 is the first segment's start: {headers}"
    );
    let (codec, w, h, packets) = probe(out.path());
    assert_eq!((codec.as_str(), w, h), ("h264", 640, 360));
    let frames: i64 = segs[1..=3].iter().map(|s| s.frames).sum();
    assert_eq!(
        packets.len() as i64,
        frames,
        "every frame of segments 2 to 4"
    );
    assert!(packets[0].1, "it starts with a key frame");
    assert!(
        packets[0].0 < 0.1,
        "its time starts at 0: {:?}",
        &packets[..3]
    );
    assert!(packets.windows(2).all(|p| p[1].0 > p[0].0), "times rise");
    let covered_s = (segs[3].end_ms - segs[1].start_ms) as f64 / 1000.0;
    let last = packets.last().unwrap().0;
    assert!(
        (covered_s - 0.3..covered_s + 0.1).contains(&last),
        "about the three segments' {covered_s} s: last frame at {last}"
    );
    assert_eq!(decode_errors(out.path()), "", "ffmpeg decodes it cleanly");
    // ffmpeg reads its duration as the segments' (what players show).
    let duration = ffprobe_duration(out.path());
    assert!(
        (duration - covered_s).abs() < 0.15,
        "{duration} s for {covered_s} s of segments"
    );

    // Refusals: 400 for bad ranges, 404 when nothing is on disk.
    for (query, says) in [
        (String::from("start=100"), "start and end are needed"),
        (
            format!("start={}&end={}", unix_secs(start), unix_secs(start)),
            "must be after start",
        ),
        (
            format!(
                "start={}&end={}",
                unix_secs(start),
                unix_secs(start + 6 * 3600 * 1000 + 1000)
            ),
            "export it in parts",
        ),
        (String::from("start=soon&end=later"), "start must be a time"),
    ] {
        let (status, error) =
            status_and_error(&server, &format!("/cameras/rec/recording.mp4?{query}")).await;
        assert_eq!(status, 400, "{query}: {error}");
        assert!(error.contains(says), "{query}: {error}");
    }
    let (status, error) =
        status_and_error(&server, "/cameras/rec/recording.mp4?start=1000&end=1060").await;
    assert_eq!(status, 404, "{error}");
    assert!(error.contains("no video of camera"), "{error}");

    // A change of the video format (a second init, as a new resolution makes) after the
    // last segment: a range across it is refused with its two parts; the list splits it.
    let last = wait_rows(&dir, 6).await.last().cloned().unwrap();
    let db = db(&dir);
    db.execute(
        "INSERT INTO recording_inits (camera, sha256, codec, width, height, path) VALUES ('rec', 'other', 'avc1.640028', 1280, 720, 'recordings/rec/init-other.mp4')",
        [],
    )
    .unwrap();
    let init = db.last_insert_rowid();
    let (t0, t1) = (last.end_ms + 60_000, last.end_ms + 61_000);
    db.execute(
        "INSERT INTO recording_segments (camera, camera_seq, run, init_id, start_ms, end_ms, start_90k, duration_90k, frames, bytes, path, reason)
         VALUES ('rec', 1000000, 1000000, ?1, ?2, ?3, 0, 90000, 30, 1000, 'recordings/rec/other.m4s', 'continuous')",
        rusqlite::params![init, t0, t1],
    )
    .unwrap();
    let r = server
        .get(&format!(
            "/cameras/rec/recording.mp4?start={}&end={}",
            unix_secs(last.start_ms),
            unix_secs(t1)
        ))
        .await;
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let parts = body["runs"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{body}");
    assert_eq!(
        parts[1],
        serde_json::json!({"start_ms": t0, "end_ms": t1}),
        "{body}"
    );
    let list = server
        .json(&format!(
            "/api/cameras/rec/recordings?from={}&to={}",
            unix_secs(segs[0].start_ms),
            unix_secs(t1 + 1000)
        ))
        .await;
    let runs = list["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{list}");
    assert_eq!(
        (runs[1]["width"].as_u64(), runs[1]["start_ms"].as_i64()),
        (Some(1280), Some(t0)),
        "{list}"
    );
    server.stop().await;
}

/// The container's duration as ffprobe reads it, in seconds.
fn ffprobe_duration(file: &Path) -> f64 {
    let o = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .expect("run ffprobe");
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("ffprobe duration: {}", String::from_utf8_lossy(&o.stdout)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_a_recording_from_the_timeline_and_returns_to_live() {
    let Some(scripts) = crate::support::browser_scripts() else {
        return;
    };
    if !have_ffmpeg() {
        return;
    }
    // MSE for the live picture (WebRTC builds would use a peer; not what this is about).
    let (server, _) = recording_server("[webrtc]\nenabled = false\n", 4).await;
    let url = format!("{}/cameras/rec", server.origin());
    let seen = run_browser_script(&scripts, "timeline.mjs", &[&url]).await;
    eprintln!("Chromium timeline: {seen}");
    assert!(seen["failure"].is_null(), "{seen}");
    assert!(seen["runs"].as_u64() >= Some(1), "{seen}");
    let label = &seen["bar_label"];
    assert_eq!(
        (label["role"].as_str(), label["tabindex"].as_str()),
        (Some("slider"), Some("0")),
        "{seen}"
    );
    assert_eq!(label["labelled"], "Recordings", "{seen}");
    let (a, b) = (&seen["click_first"], &seen["click_second"]);
    assert_eq!(
        (a["recorded_hidden"].as_bool(), a["live_hidden"].as_bool()),
        (Some(false), Some(true)),
        "{seen}"
    );
    assert!(
        a["src"]
            .as_str()
            .unwrap()
            .starts_with("/cameras/rec/recording.mp4?start="),
        "{seen}"
    );
    assert_eq!(
        (b["width"].as_u64(), b["height"].as_u64()),
        (Some(640), Some(360)),
        "{seen}"
    );
    assert!(
        b["current_time"].as_f64() > a["current_time"].as_f64(),
        "the recording plays: {seen}"
    );
    assert!(b["error"].is_null(), "{seen}");
    assert_eq!(a["live_disabled"], false, "{seen}");
    let live = &seen["after_live"];
    assert_eq!(
        (
            live["recorded_hidden"].as_bool(),
            live["live_hidden"].as_bool()
        ),
        (Some(true), Some(false)),
        "{seen}"
    );
    assert!(live["src"].is_null(), "the recording stops: {seen}");
    assert_eq!(live["live_disabled"], true, "{seen}");
    let k = &seen["keyboard"];
    assert_eq!(k["recorded_hidden"], false, "{seen}");
    assert!(k["width"].as_u64() > Some(0), "{seen}");
    assert!(
        seen["export_href"]
            .as_str()
            .unwrap()
            .contains("/cameras/rec/recording.mp4?start="),
        "{seen}"
    );
    assert_eq!(seen["export_hidden"], false, "{seen}");
    assert_eq!(seen["export_status"], 200, "{seen}");
    assert_eq!(seen["export_type"], "video/mp4", "{seen}");
    assert!(
        seen["export_disposition"]
            .as_str()
            .unwrap()
            .starts_with("attachment"),
        "{seen}"
    );
    assert!(seen["export_bytes"].as_u64() > Some(10_000), "{seen}");
    assert_eq!(seen["errors"], serde_json::json!([]), "{seen}");
    server.stop().await;
}

/// Recordings are a camera's: a viewer limited to other cameras is refused them (403), as
/// for the live picture, and a camera without recordings lists nothing.
#[tokio::test]
async fn recordings_follow_the_cameras_a_viewer_may_watch() {
    use crate::support::{basic, login_config, testpattern};
    let s = TestServer::start(&format!(
        "{}{}{}",
        login_config(""),
        testpattern("a", 160, 120, 5),
        testpattern("b", 160, 120, 5)
    ))
    .await;
    s.add_user("ann", "pw", &["--cameras", "a"]);
    let ann = basic("ann", "pw");
    let get = |path: &'static str| {
        let (s, ann) = (&s, ann.clone());
        async move { s.get_with(path, &[("Authorization", &ann)]).await }
    };
    let r = get("/api/cameras/a/recordings").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        (v["runs"].clone(), v["mode"].clone()),
        (serde_json::json!([]), "off".into()),
        "{v}"
    );
    for path in [
        "/api/cameras/b/recordings",
        "/cameras/b/recording.mp4?start=100&end=160",
    ] {
        let r = s.get_with(path, &[("Authorization", &ann)]).await;
        assert_eq!(
            r.status,
            403,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(s.get(path).await.status, 401, "{path} without credentials");
    }
    let r = get("/cameras/a/recording.mp4?start=100&end=160").await;
    assert_eq!(
        r.status,
        404,
        "nothing recorded: {}",
        String::from_utf8_lossy(&r.body)
    );
    s.stop().await;
}

/// The events page plays an event's clip (`clip.mp4`) in Chromium's own `<video>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_an_event_clip_on_the_events_page() {
    let Some(scripts) = crate::support::browser_scripts() else {
        return;
    };
    if !have_ffmpeg() {
        return;
    }
    let (server, segs) = recording_server("", 4).await;
    // An event with a finished clip over segments 1 and 2, as a motion event's would be.
    let event = insert_clip_event(&server.state_dir, &segs[1], &segs[2]);
    let url = format!("{}/events", server.origin());
    let seen = run_browser_script(&scripts, "event_clip.mjs", &[&url, &event.to_string()]).await;
    eprintln!("Chromium event clip: {seen}");
    assert!(seen["failure"].is_null(), "{seen}");
    assert_eq!(
        seen["src"].as_str(),
        Some(format!("/api/events/{event}/clip.mp4").as_str()),
        "{seen}"
    );
    assert!(seen["error"].is_null(), "{seen}");
    assert_eq!(
        (seen["width"].as_u64(), seen["height"].as_u64()),
        (Some(640), Some(360)),
        "{seen}"
    );
    assert!(
        seen["current_time"].as_f64() > Some(0.5),
        "the clip plays: {seen}"
    );
    assert_eq!(seen["errors"], serde_json::json!([]), "{seen}");
    server.stop().await;
}
