//! A data directory on a tiny tmpfs that fills up: recording stops with a
//! `recording_stopped` event while live view goes on, `/metrics` counts the segments it
//! could not write, and recording resumes (`recording_resumed`) once space is back.
//!
//! The server runs in its own user and mount namespace (`unshare -rm`), where a 32 MiB tmpfs
//! is mounted on its data directory; a helper shell in the same namespace fills the tmpfs
//! with a file, and later deletes it, when the test touches a file outside the tmpfs.

use crate::h264::{curl_for, probe, x264_camera};
use crate::support::{BIN, Running, free_port, require};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The tmpfs's size, the floor and the filler: after the filler, deleting every segment
/// cannot bring the free space back above the floor (8 MiB + 10 %), so recording stops.
const TMPFS: &str = "size=32m,mode=0700";
const FLOOR_GIB: f64 = 8.0 / 1024.0;
const FILLER: &str = "24M";

/// The wrapper run inside `unshare -rm`: mounts the tmpfs, starts the filler loop (bounded,
/// so it ends even if the test fails), then becomes the server.
const WRAPPER: &str = r#"set -e
mount -t tmpfs -o "$TMPFS" tmpfs "$DATA"
(
  i=0
  while [ ! -e "$CTL/fill" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
  fallocate -l "$FILLER" "$DATA/filler" && touch "$CTL/filled"
  while [ ! -e "$CTL/free" ] && [ $i -lt 2400 ]; do sleep 0.1; i=$((i+1)); done
  rm -f "$DATA/filler"
) &
exec "$BIN" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA"
"#;

async fn get(url: String) -> String {
    tokio::task::spawn_blocking(move || {
        let o = Command::new("curl")
            .args(["-sS", "--max-time", "5"])
            .arg(&url)
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&o.stdout).into_owned()
    })
    .await
    .unwrap()
}

/// The value of a `/metrics` line starting with `series` (0 when absent).
fn metric(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Polls `/metrics` until `ok` holds (60 s at most).
async fn wait_metrics(base: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = get(format!("{base}/metrics")).await;
        if ok(&m) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "waited for {what}; /metrics:\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Polls `/api/events` until an event of `kind` is there; returns it.
async fn wait_event(base: &str, kind: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = get(format!("{base}/api/events")).await;
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body)
            && let Some(e) = v["events"]
                .as_array()
                .and_then(|a| a.iter().find(|e| e["kind"] == kind))
        {
            return e.clone();
        }
        assert!(Instant::now() < deadline, "no {kind} event: {body}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn touch(dir: &Path, name: &str) {
    std::fs::write(dir.join(name), b"").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_tmpfs_stops_recording_with_an_event_live_view_goes_on_and_recording_resumes() {
    if !(require("ffmpeg", "ffmpeg")
        && require("ffprobe", "ffmpeg")
        && require("curl", "curl")
        && require("unshare", "util-linux")
        && require("fallocate", "util-linux"))
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (data, ctl) = (dir.path().join("data"), dir.path().join("ctl"));
    std::fs::create_dir(&data).unwrap();
    std::fs::create_dir(&ctl).unwrap();
    let cam = "[camera.recording]\nmode = \"continuous\"\n";
    std::fs::write(
        dir.path().join("lookout.toml"),
        format!(
            "[auth]\nmode = \"none\"\n[recording]\nsegment_seconds = 1\nmin_free_gib = {FLOOR_GIB}\nmin_free_percent = 0\n{}",
            x264_camera("rec", cam)
        ),
    )
    .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _server = Running(
        Command::new("unshare")
            .args(["-rm", "sh", "-c", WRAPPER])
            .env("TMPFS", TMPFS)
            .env("FILLER", FILLER)
            .env("DATA", &data)
            .env("CTL", &ctl)
            .env("BIN", BIN)
            .env("PORT", port.to_string())
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start unshare"),
    );
    let written = "lookout_recording_segments_written_total{camera=\"rec\"}";
    let below_floor =
        "lookout_recording_segments_dropped_total{camera=\"rec\",reason=\"below_floor\"}";
    wait_metrics(&base, "two segments written", |m| metric(m, written) >= 2).await;
    assert!(
        !data.join("lookout.db").exists(),
        "the data directory is the namespace's tmpfs, not the directory the test sees"
    );

    touch(&ctl, "fill");
    let stopped = wait_event(&base, "recording_stopped").await;
    assert!(ctl.join("filled").exists(), "the filler was written");
    assert!(stopped["camera"].is_null(), "{stopped}");
    let m = wait_metrics(&base, "a segment dropped below the floor", |m| {
        metric(m, below_floor) >= 1
    })
    .await;
    assert_eq!(metric(&m, "lookout_recording_stopped"), 1, "{m}");
    let written_when_stopped = metric(&m, written);

    // Live view goes on without recording.
    let out = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    curl_for(format!("{base}/cameras/rec/stream.mp4"), 3, out.path(), &[]).await;
    let (codec, _, _, packets) = probe(out.path());
    assert_eq!(codec, "h264");
    assert!(packets.len() > 10, "{} frames of live view", packets.len());
    let m = get(format!("{base}/metrics")).await;
    assert_eq!(
        metric(&m, written),
        written_when_stopped,
        "nothing written while full"
    );

    // Space comes back: recording resumes.
    touch(&ctl, "free");
    wait_event(&base, "recording_resumed").await;
    let m = wait_metrics(&base, "segments written again", |m| {
        metric(m, written) >= written_when_stopped + 2
    })
    .await;
    assert_eq!(metric(&m, "lookout_recording_stopped"), 0, "{m}");
}
