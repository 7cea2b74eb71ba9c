//! A WebRTC peer's life against the real server, with the str0m client of `webrtc_client`:
//! the source killed and restarted under a live peer, a peer that stops answering (ICE
//! consent, RFC 7675), one that never connects, the per-camera and total limits.

use crate::support::{TestServer, camera, require};
use crate::webrtc_client::{Seen, Viewer, nal_types, peers, post_offer, until_no_peers};
use std::time::{Duration, Instant};

/// The libx264 camera of `h264::x264_camera`, whose ffmpeg writes its pid to `pid_file`
/// (`exec` makes the shell's pid ffmpeg's).
fn x264_camera_with_pid(id: &str, pid_file: &std::path::Path) -> String {
    camera(
        id,
        "keep_warm = true",
        &format!(
            "kind = \"command\"\nformat = \"h264\"\ncommand = \"echo $$ > {}; exec ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 -c:v libx264 -preset ultrafast -tune zerolatency -bf 0 -g 30 -f h264 -\"\n",
            pid_file.display()
        ),
    )
}

/// The value of one sample of `/metrics` (0 when absent).
async fn metric(srv: &TestServer, sample: &str) -> u64 {
    let r = srv.get("/metrics").await;
    let text = String::from_utf8_lossy(&r.body).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or(0)
}

async fn read_pid(path: &std::path::Path, not: Option<i32>) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            && Some(pid) != not
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "no (new) pid in {path:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The camera's ffmpeg is killed under a connected peer: the supervisor starts a new one and
/// the same peer gets video again, starting on a key frame that carries its SPS and PPS.
#[tokio::test]
async fn killing_the_source_and_bringing_it_back_resumes_the_video() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("ffmpeg.pid");
    let srv = TestServer::start(&x264_camera_with_pid("x264", &pid_file)).await;
    let first_pid = read_pid(&pid_file, None).await;
    let mut viewer = Viewer::new().await;
    let r = post_offer(&srv, "x264", &viewer.offer, &[]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    viewer.accept(std::str::from_utf8(&r.body).unwrap());
    let mut seen = Seen::default();
    viewer
        .run(&mut seen, Duration::from_secs(20), |s| s.frames.len() >= 30)
        .await;
    assert!(seen.frames.len() >= 30, "{} frames", seen.frames.len());

    // SAFETY: kill has no memory preconditions; the pid is the camera's ffmpeg.
    assert_eq!(unsafe { libc::kill(first_pid, libc::SIGKILL) }, 0);
    let killed_at = Instant::now();
    let before = seen.frames.len();
    viewer
        .run(&mut seen, Duration::from_secs(30), |s| {
            s.arrived.iter().filter(|t| **t > killed_at).count() >= 60
        })
        .await;
    let second_pid = read_pid(&pid_file, Some(first_pid)).await;
    assert_ne!(first_pid, second_pid);
    let after = seen.frames.len() - before;
    assert!(
        after >= 60,
        "{after} frames after the source was killed and restarted"
    );
    assert!(!seen.disconnected, "the peer ended with the source");
    // The first frame of the new ffmpeg: after the longest pause (restart backoff ≥ 1 s),
    // counted from the last frame before the kill.
    let resumed = (before..seen.frames.len())
        .max_by_key(|i| seen.arrived[*i] - seen.arrived[i - 1])
        .expect("frames");
    let pause = seen.arrived[resumed] - seen.arrived[resumed - 1];
    assert!(pause >= Duration::from_millis(500), "no pause: {pause:?}");
    let types = nal_types(&seen.frames[resumed].1);
    assert!(
        types.starts_with(&[7, 8]) && types.contains(&5),
        "the first frame after the restart: NAL units {types:?}"
    );
    assert_eq!(peers(&srv, "x264", &[]).await, 1);
    srv.stop().await;
}

/// A connected viewer that goes silent (no consent checks) is ended after consent_timeout_ms;
/// while it answers, the same timeout does not end it.
#[tokio::test]
async fn a_peer_that_stops_answering_is_freed() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let srv = TestServer::start(&format!(
        "[webrtc]\nudp_port = 0\nconsent_timeout_ms = 4500\n{}",
        crate::h264::x264_camera("x264", "keep_warm = true")
    ))
    .await;
    let mut viewer = Viewer::new().await;
    let r = post_offer(&srv, "x264", &viewer.offer, &[]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    viewer.accept(std::str::from_utf8(&r.body).unwrap());
    let mut seen = Seen::default();
    // Twice the consent timeout with the viewer answering: still there. (str0m's client
    // checks every ~3 s, its STUN max RTO, so the timeout leaves it half that as slack.)
    viewer
        .run(&mut seen, Duration::from_secs(9), |_| false)
        .await;
    assert!(seen.connected, "never connected");
    assert!(!seen.disconnected);
    assert_eq!(peers(&srv, "x264", &[]).await, 1, "a live peer was ended");
    let frames = seen.frames.len();
    assert!(frames >= 90, "{frames} frames in 9 s");

    // Silent from now on (the socket stays open, nothing answers).
    let took = until_no_peers(&srv, "x264", &[], Duration::from_secs(30)).await;
    assert!(
        took < Duration::from_secs(30),
        "a silent peer was still there after {took:?}"
    );
    eprintln!("silent peer freed after {took:?}");
    let consent = metric(
        &srv,
        "lookout_webrtc_ended_total{reason=\"consent timeout\"}",
    )
    .await
        + metric(&srv, "lookout_webrtc_ended_total{reason=\"consent lost\"}").await;
    assert_eq!(consent, 1);
    assert_eq!(
        metric(&srv, "lookout_webrtc_peers{camera=\"x264\"}").await,
        0
    );
    drop(viewer);
    srv.stop().await;
}

/// An answered offer whose viewer never does ICE holds its slot only for connect_timeout_ms.
#[tokio::test]
async fn a_peer_that_never_connects_is_freed() {
    let srv = TestServer::start(&format!(
        "[webrtc]\nudp_port = 0\nconnect_timeout_ms = 2000\n{}",
        h264_camera_sending_nothing("quiet")
    ))
    .await;
    let viewer = Viewer::new().await;
    let r = post_offer(&srv, "quiet", &viewer.offer, &[]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(peers(&srv, "quiet", &[]).await, 1);
    let took = until_no_peers(&srv, "quiet", &[], Duration::from_secs(30)).await;
    assert!(took < Duration::from_secs(30), "still there after {took:?}");
    eprintln!("unconnected peer freed after {took:?}");
    assert_eq!(
        metric(
            &srv,
            "lookout_webrtc_ended_total{reason=\"connect timeout\"}"
        )
        .await,
        1
    );
    srv.stop().await;
}

/// A camera that says it sends H.264 and sends nothing: a slot is taken at the answer, so
/// the limits need no video.
fn h264_camera_sending_nothing(id: &str) -> String {
    camera(
        id,
        "",
        "kind = \"command\"\nformat = \"h264\"\ncommand = \"exec sleep 600\"\n",
    )
}

/// Over a limit the offer gets 503, a Retry-After and the limit's name; a slot freed by
/// DELETE can be taken again.
#[tokio::test]
async fn peers_per_camera_and_in_total_are_bounded_with_the_reason() {
    let srv = TestServer::start(&format!(
        "[webrtc]\nudp_port = 0\nmax_peers = 2\nmax_peers_per_camera = 1\n{}{}{}",
        h264_camera_sending_nothing("a"),
        h264_camera_sending_nothing("b"),
        h264_camera_sending_nothing("c"),
    ))
    .await;
    let offer = Viewer::new().await.offer;
    let reason = |r: &lookout_bench::Response| {
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("a JSON error");
        v["error"].as_str().unwrap_or_default().to_owned()
    };
    let first = post_offer(&srv, "a", &offer, &[]).await;
    assert_eq!(
        first.status,
        201,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let r = post_offer(&srv, "a", &offer, &[]).await;
    assert_eq!(r.status, 503);
    assert!(
        reason(&r).contains("max_peers_per_camera"),
        "{}",
        reason(&r)
    );
    assert!(r.header("retry-after").is_some());
    let r = post_offer(&srv, "b", &offer, &[]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let r = post_offer(&srv, "c", &offer, &[]).await;
    assert_eq!(r.status, 503);
    let why = reason(&r);
    assert!(
        why.contains("webrtc.max_peers)") && why.contains("2 WebRTC viewers"),
        "{why}"
    );
    assert_eq!(
        metric(&srv, "lookout_webrtc_peer_setups_total{result=\"refused\"}").await,
        2
    );

    let location = first.header("location").expect("Location").to_owned();
    assert_eq!(
        srv.request("DELETE", &location, &[], None).await.status,
        200
    );
    until_no_peers(&srv, "a", &[], Duration::from_secs(10)).await;
    let r = post_offer(&srv, "c", &offer, &[]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    srv.stop().await;
}

/// A viewer on a lossy path (one datagram in 5 lost): its NACKs and the losses its receiver
/// reports are counted in /metrics, and the seconds it was congested too.
#[tokio::test]
async fn a_lossy_viewers_rtcp_is_counted() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let srv = TestServer::start(&crate::h264::x264_camera("x264", "keep_warm = true")).await;
    let mut viewer = Viewer::new().await;
    viewer.drop_every = 5;
    let r = post_offer(&srv, "x264", &viewer.offer, &[]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    viewer.accept(std::str::from_utf8(&r.body).unwrap());
    let mut seen = Seen::default();
    viewer
        .run(&mut seen, Duration::from_secs(8), |_| false)
        .await;
    assert!(seen.connected, "never connected");
    let nacks = metric(&srv, "lookout_webrtc_nacks_total").await;
    let lost = metric(&srv, "lookout_webrtc_packets_lost_total").await;
    let congested = metric(&srv, "lookout_webrtc_congested_seconds_total").await;
    eprintln!("{nacks} NACKs, {lost} lost, {congested} congested seconds");
    assert!(nacks > 0, "no NACK counted");
    assert!(congested > 0, "never congested");
    srv.stop().await;
}
