//! A motion event's clip end to end, with the real detector: an H.264 `command` camera
//! (ffmpeg: a still grey picture in which a box moves for 3 s), its picture decoded for the
//! detector by the `ffmpeg` fallback decoder (no openh264 needed), recording in `events` mode.
//! The event gets a clip that covers pre-roll, event and post-roll, and ffmpeg plays it.

use crate::h264::{curl_for, decode_errors, probe};
use crate::support::{TestServer, camera};
use std::time::{Duration, Instant};

/// Pre- and post-roll of the test camera, seconds.
const PRE_ROLL_S: i64 = 2;
const POST_ROLL_S: i64 = 2;

/// A still picture with a white box that moves from 8 s to 11 s after the camera starts
/// (enough time before it for the detector's background and the pre-roll to fill).
fn moving_box_camera() -> String {
    let source = r#"kind = "command"
format = "h264"
command = '''exec ffmpeg -hide_banner -loglevel error -re -f lavfi -i color=c=gray:size=640x360:rate=30 -f lavfi -i color=c=white:size=80x80:rate=30 -filter_complex "[0][1]overlay=x='if(between(t,8,11),50+150*(t-8),50)':y=140,format=yuv420p" -c:v libx264 -preset ultrafast -tune zerolatency -bf 0 -g 30 -f h264 -'''
"#;
    let keys = format!(
        "[camera.motion]\nanalyse_fps = 10\nmin_frames = 2\ncooldown_seconds = 1\n[camera.recording]\nmode = \"events\"\npre_roll_seconds = {PRE_ROLL_S}\npost_roll_seconds = {POST_ROLL_S}\n"
    );
    format!(
        "[recording]\nsegment_seconds = 1\nmin_free_gib = 0\nmin_free_percent = 0\n{}",
        camera("box", &keys, source)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_motion_event_gets_a_playable_clip_with_pre_and_post_roll() {
    if !crate::recording::have_ffmpeg() {
        return;
    }
    let server = TestServer::start(&moving_box_camera()).await;
    // The event, once its clip is complete (the motion ended and the post-roll is written).
    let deadline = Instant::now() + Duration::from_secs(90);
    let event = loop {
        let v = server.json("/api/events").await;
        let motion: Vec<_> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "motion")
            .cloned()
            .collect();
        if let Some(e) = motion.iter().find(|e| e["clip"]["state"] == "ready") {
            assert_eq!(motion.len(), 1, "one movement, one event: {v}");
            break e.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no motion event with a ready clip: {v}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(event["camera"], "box", "{event}");
    let started_ms = event["started_at"].as_i64().unwrap() * 1000;
    let ended_ms = event["ended_at"].as_i64().expect("the event ended") * 1000;
    let clip = &event["clip"];
    let (start_ms, end_ms) = (
        clip["start_ms"].as_i64().unwrap(),
        clip["end_ms"].as_i64().unwrap(),
    );
    // started_at and ended_at are whole seconds (rounded down): 1 s of slack each.
    assert!(
        start_ms <= started_ms + 1000 - PRE_ROLL_S * 1000,
        "the clip starts a pre-roll before the event: {event}"
    );
    assert!(
        end_ms >= ended_ms + POST_ROLL_S * 1000,
        "the clip ends a post-roll after the event: {event}"
    );
    // The file: what the clip's range says, from a key frame, playable.
    let out = tempfile::Builder::new().suffix(".mp4").tempfile().unwrap();
    let url = format!(
        "http://{}{}",
        server.addr,
        clip["mp4_url"].as_str().unwrap()
    );
    let headers = curl_for(url, 30, out.path(), &[]).await;
    assert!(headers.starts_with("HTTP/1.1 200"), "{headers}");
    let (codec, w, h, packets) = probe(out.path());
    assert_eq!((codec.as_str(), w, h), ("h264", 640, 360));
    assert!(packets[0].1, "the clip starts with a key frame");
    assert!(packets.windows(2).all(|p| p[1].0 > p[0].0), "times rise");
    let last_s = packets.last().unwrap().0;
    let want_s = (end_ms - start_ms) as f64 / 1000.0;
    // Whole segments: the file may begin up to a segment before the clip's start and end up
    // to one after its end.
    assert!(
        last_s >= want_s - 1.0 && last_s <= want_s + 2.5,
        "{last_s} s of video for a clip of {want_s} s: {event}"
    );
    assert!(
        want_s >= (PRE_ROLL_S + POST_ROLL_S) as f64 + 2.0,
        "pre-roll, 3 s of motion and post-roll: {want_s} s"
    );
    eprintln!(
        "motion event {event}: {last_s} s of video, {} frames",
        packets.len()
    );
    assert_eq!(decode_errors(out.path()), "", "ffmpeg decodes it cleanly");
    // The timeline lists it, clip and all.
    let list = server.json("/api/cameras/box/recordings").await;
    let mark = list["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == event["id"]);
    assert_eq!(
        mark.map(|m| m["clip"]["start_ms"].clone()),
        Some(clip["start_ms"].clone()),
        "{list}"
    );
    assert!(!list["runs"].as_array().unwrap().is_empty(), "{list}");
    server.stop().await;
}
