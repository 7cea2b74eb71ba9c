//! Recording against the real server and a real H.264 camera (ffmpeg's libx264 as a
//! `command` camera): every segment the index lists plays in ffprobe and ffmpeg, an event's
//! `clip.mp4` is one playable file, `kill -9` during recording leaves every indexed segment
//! playable and the next start cleans up, a data-directory size cap deletes oldest first,
//! and a free-space floor above the disk's free space stops recording with an event while
//! live view goes on.

use crate::h264::{curl_for, decode_errors, probe, x264_camera};
use crate::support::{BIN, Running, TestServer, require};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One row of `recording_segments`, as the test reads it from the database.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) seq: i64,
    pub(crate) path: String,
    pub(crate) init_path: String,
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
    pub(crate) frames: i64,
    pub(crate) bytes: i64,
}

pub(crate) fn rows(data_dir: &Path) -> Vec<Row> {
    let path = data_dir.join("lookout.db");
    if !path.exists() {
        return Vec::new();
    }
    let db = rusqlite::Connection::open(path).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let has_table: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'recording_segments'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if has_table == 0 {
        return Vec::new();
    }
    let mut stmt = db
        .prepare(
            "SELECT s.camera_seq, s.path, i.path, s.start_ms, s.end_ms, s.frames, s.bytes
             FROM recording_segments s JOIN recording_inits i ON i.id = s.init_id ORDER BY s.camera_seq",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Row {
            seq: r.get(0)?,
            path: r.get(1)?,
            init_path: r.get(2)?,
            start_ms: r.get(3)?,
            end_ms: r.get(4)?,
            frames: r.get(5)?,
            bytes: r.get(6)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// Waits until the index lists at least `n` segments.
pub(crate) async fn wait_rows(data_dir: &Path, n: usize) -> Vec<Row> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let r = rows(data_dir);
        if r.len() >= n {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "only {} segments after 90 s",
            r.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `init + segment` as a file ffprobe and ffmpeg check: H.264 640x360, the row's frame
/// count, a key frame first, rising times, every frame decodes.
fn check_playable(data_dir: &Path, row: &Row) {
    let mut file = std::fs::read(data_dir.join(&row.init_path)).unwrap();
    let seg = std::fs::read(data_dir.join(&row.path)).unwrap();
    assert_eq!(seg.len() as i64, row.bytes, "segment {}", row.seq);
    file.extend_from_slice(&seg);
    let tmp = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    std::fs::write(tmp.path(), &file).unwrap();
    let (codec, w, h, packets) = probe(tmp.path());
    assert_eq!((codec.as_str(), w, h), ("h264", 640, 360));
    assert_eq!(packets.len() as i64, row.frames, "segment {}", row.seq);
    assert!(packets[0].1, "segment {} starts with a key frame", row.seq);
    assert!(
        packets.windows(2).all(|p| p[1].0 > p[0].0),
        "segment {}: times rise",
        row.seq
    );
    assert_eq!(decode_errors(tmp.path()), "", "segment {}", row.seq);
}

/// Every file under `recordings/` (relative to the data directory).
fn files(data_dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![data_dir.join("recordings")];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(
                    p.strip_prefix(data_dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}

/// `[recording]` with no free-space floor (the test machine's disk may be nearly full) and
/// 1 s segments, then an x264 camera recording continuously.
pub(crate) fn config(recording: &str, camera_keys: &str) -> String {
    format!(
        "[recording]\nsegment_seconds = 1\nmin_free_gib = 0\nmin_free_percent = 0\n{recording}\n{}",
        x264_camera(
            "rec",
            &format!("[camera.recording]\nmode = \"continuous\"\n{camera_keys}")
        )
    )
}

/// A server with `extra` (TOML) before [`config`]`("", "")`, once the index lists at least
/// `segments` segments: the server and those rows.
pub(crate) async fn recording_server(extra: &str, segments: usize) -> (TestServer, Vec<Row>) {
    let server = TestServer::start(&format!("{extra}{}", config("", ""))).await;
    let rows = wait_rows(&server.state_dir, segments).await;
    (server, rows)
}

/// Unix milliseconds as the Unix seconds playback URLs take (`1796606795.951`).
pub(crate) fn unix_secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

pub(crate) fn have_ffmpeg() -> bool {
    require("ffmpeg", "ffmpeg") && require("ffprobe", "ffmpeg") && require("curl", "curl")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continuous_segments_play_and_an_event_clip_is_one_playable_mp4() {
    if !have_ffmpeg() {
        return;
    }
    let (server, segs) = recording_server("", 4).await;
    let dir = server.state_dir.clone();
    for r in &segs {
        check_playable(&dir, r);
        // `-g 30` at 30 fps and a 1 s target: one key frame a second, one segment each.
        assert!((25..=35).contains(&r.frames), "{r:?}");
        assert!((900..=1200).contains(&(r.end_ms - r.start_ms)), "{r:?}");
    }
    assert!(
        segs.windows(2).all(|w| w[1].seq == w[0].seq + 1),
        "{segs:?}"
    );
    let cam = server.json("/api/cameras/rec").await;
    assert_eq!(
        cam["recording"],
        serde_json::json!({"mode": "continuous"}),
        "{cam}"
    );
    // An event whose clip covers parts of segments 2 and 3 (as a motion event's would).
    let (start, end) = (segs[1].start_ms + 300, segs[2].end_ms - 300);
    let db = rusqlite::Connection::open(dir.join("lookout.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db.execute(
        "INSERT INTO events (camera, kind, started_at, details, clip_start_ms, clip_end_ms) VALUES ('rec', 'motion', ?1, '{}', ?2, ?3)",
        rusqlite::params![start / 1000, start, end],
    )
    .unwrap();
    let id = db.last_insert_rowid();
    let listed = server.json("/api/events").await;
    let clip = &listed["events"][0]["clip"];
    assert_eq!(clip["state"], "ready", "{listed}");
    assert_eq!(clip["mp4_url"], format!("/api/events/{id}/clip.mp4"));
    let out = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    let url = format!("http://{}/api/events/{id}/clip.mp4?download=1", server.addr);
    let headers = curl_for(url, 30, out.path(), &[]).await;
    assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
    assert!(
        headers.contains(&format!("filename=\"rec-{start}.mp4\"")),
        "{headers}"
    );
    let (codec, _, _, packets) = probe(out.path());
    assert_eq!(codec, "h264");
    assert_eq!(packets.len() as i64, segs[1].frames + segs[2].frames);
    assert!(packets[0].1, "the clip starts with a key frame");
    assert!(
        packets[0].0 < 0.1,
        "the clip's time starts at 0: {packets:?}"
    );
    assert!(packets.windows(2).all(|p| p[1].0 > p[0].0), "times rise");
    let last = packets.last().unwrap().0;
    assert!((1.8..2.2).contains(&last), "two 1 s segments: {last}");
    assert_eq!(decode_errors(out.path()), "");
    // An event without a clip says so.
    db.execute(
        "INSERT INTO events (camera, kind, started_at, details) VALUES ('rec', 'motion', 0, '{}')",
        [],
    )
    .unwrap();
    let plain = db.last_insert_rowid();
    let r = server.get(&format!("/api/events/{plain}/clip.mp4")).await;
    assert_eq!(r.status, 404);
    server.stop().await;
}

/// `lookout serve` as its own process (so it can be killed), recording into `data`.
fn spawn_server(dir: &Path, data: &Path) -> std::process::Child {
    Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lookout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_recording_leaves_every_indexed_segment_playable() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    std::fs::write(
        dir.path().join("lookout.toml"),
        format!("[auth]\nmode = \"none\"\n{}", config("", "")),
    )
    .unwrap();
    let mut seen = 0;
    // Kill at moments spread over a segment's second (some during a write).
    for (round, delay_ms) in [1300u64, 2150, 2700, 3450].into_iter().enumerate() {
        // Killed on drop too, should an assertion fail first.
        let mut child = Running(spawn_server(dir.path(), &data));
        wait_rows(&data, seen + 1).await;
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        child.0.kill().unwrap(); // SIGKILL
        child.0.wait().unwrap();
        let rows = rows(&data);
        assert!(rows.len() > seen, "round {round}: recording went on");
        for r in &rows {
            check_playable(&data, r);
        }
        seen = rows.len();
    }
    // A clean run: start-up recovery deletes what the kills left; a clean stop leaves nothing
    // half-written.
    let mut child = Running(spawn_server(dir.path(), &data));
    wait_rows(&data, seen + 2).await;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    child.0.wait().unwrap();
    let rows = rows(&data);
    let on_disk = files(&data);
    assert!(on_disk.iter().all(|f| !f.ends_with(".tmp")), "{on_disk:?}");
    let mut indexed: Vec<String> = rows.iter().map(|r| r.path.clone()).collect();
    indexed.extend(rows.iter().map(|r| r.init_path.clone()));
    indexed.sort();
    indexed.dedup();
    assert_eq!(
        on_disk, indexed,
        "every file has a row and every row a file"
    );
    assert!(rows.windows(2).all(|w| w[1].seq > w[0].seq));
    for r in &rows {
        check_playable(&data, r);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_dir_size_cap_deletes_the_oldest_segments_first() {
    if !have_ffmpeg() {
        return;
    }
    // Our own data directory: it outlives the server, to be read after a clean stop.
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_path_buf();
    // About 1 MB: a few of this camera's 1 s segments (~250 KB each).
    let toml = format!(
        "[server]\ndata_dir = \"{}\"\n{}",
        dir.display(),
        config("max_gib = 0.001", "")
    );
    let server = TestServer::start(&toml).await;
    let cap = (0.001 * f64::from(1u32 << 30)) as i64;
    let deadline = Instant::now() + Duration::from_secs(90);
    let rows = loop {
        let r = rows(&dir);
        if r.first().is_some_and(|r| r.seq > 3) {
            break r;
        }
        assert!(Instant::now() < deadline, "nothing deleted: {r:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    server.stop().await;
    let rows_now = self::rows(&dir);
    let total: i64 = rows_now.iter().map(|r| r.bytes).sum();
    // Retention runs after each write, so the cap holds but for the segment just written.
    let biggest = rows_now.iter().map(|r| r.bytes).max().unwrap_or(0);
    assert!(
        rows_now.len() >= 2,
        "{rows_now:?} (before the stop: {rows:?})"
    );
    assert!(total <= cap + biggest, "{total} bytes for a cap of {cap}");
    // Oldest first: what is left is the newest, without holes.
    assert!(
        rows_now.windows(2).all(|w| w[1].seq == w[0].seq + 1),
        "{rows_now:?}"
    );
    assert!(rows_now[0].seq >= rows[0].seq);
    let mut indexed: Vec<String> = rows_now.iter().map(|r| r.path.clone()).collect();
    indexed.push(rows_now[0].init_path.clone());
    indexed.sort();
    assert_eq!(files(&dir), indexed, "the files are the rows'");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn below_the_free_space_floor_recording_stops_with_an_event_and_live_view_goes_on() {
    if !have_ffmpeg() {
        return;
    }
    // A floor far above any disk's free space: the floor set by configuration (a disk that
    // really fills is recording_full_disk.rs).
    let toml = format!(
        "[recording]\nsegment_seconds = 1\nmin_free_gib = 1000000\n{}",
        x264_camera("rec", "[camera.recording]\nmode = \"continuous\"\n")
    );
    let server = TestServer::start(&toml).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = server.json("/api/events").await;
        let stopped = events["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "recording_stopped");
        if let Some(e) = stopped {
            assert!(
                e["details"]["floor_bytes"].as_u64().unwrap() > 1 << 40,
                "{e}"
            );
            assert!(e["camera"].is_null());
            break;
        }
        assert!(Instant::now() < deadline, "no recording_stopped: {events}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(rows(&server.state_dir).is_empty(), "nothing was written");
    // Live view goes on.
    let out = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    let url = format!("http://{}/cameras/rec/stream.mp4", server.addr);
    curl_for(url, 3, out.path(), &[]).await;
    let (_, _, _, packets) = probe(out.path());
    assert!(packets.len() > 10, "{} frames of live view", packets.len());
    server.stop().await;
}

/// A JPEG camera records only with an H.264 encoder: the API says whether it can.
#[tokio::test]
async fn the_api_says_why_a_jpeg_camera_cannot_record() {
    let server = TestServer::start(&crate::support::testpattern("tp", 64, 48, 5)).await;
    let cam = server.json("/api/cameras/tp").await;
    assert_eq!(cam["recording"]["mode"], "off", "{cam}");
    let why = &cam["recording"]["why_not"];
    if cfg!(feature = "openh264") {
        assert!(why.is_null(), "it can be encoded: {cam}");
    } else {
        assert!(
            why.as_str().unwrap().contains("without an H.264 encoder"),
            "{cam}"
        );
    }
    server.stop().await;
}
