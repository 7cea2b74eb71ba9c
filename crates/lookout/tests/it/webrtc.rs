//! WebRTC over WHEP against the real server: a WebRTC client (str0m, the server's own stack
//! on the other side, run as a full ICE agent) posts its offer, connects over UDP on loopback
//! and receives the `command` camera's H.264 (ffmpeg's libx264); DELETE, logins, revocation,
//! limits and the refusals. Chromium plays the camera page in tests/browser/webrtc.mjs.

use crate::h264::x264_camera;
use crate::support::{TestServer, basic, login_config, require};
use crate::webrtc_client::{Seen, Viewer, nal_types, peers, post_offer, until_no_peers};
use std::time::Duration;

/// The whole exchange: 201 with the answer and Location, a connection, the first frame a key
/// frame with its SPS and PPS, frames whose RTP times rise by about a frame, and DELETE ends
/// the peer on both sides.
#[tokio::test]
async fn a_whep_client_receives_the_cameras_h264_and_delete_ends_it() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let srv = TestServer::start(&x264_camera("x264", "keep_warm = true")).await;
    let mut viewer = Viewer::new().await;
    let r = post_offer(&srv, "x264", &viewer.offer, &[]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("application/sdp"));
    let location = r.header("location").expect("Location").to_owned();
    assert!(location.starts_with("/cameras/x264/whep/"), "{location}");
    viewer.accept(std::str::from_utf8(&r.body).unwrap());

    let mut seen = Seen::default();
    viewer
        .run(&mut seen, Duration::from_secs(20), |s| s.frames.len() >= 45)
        .await;
    assert!(seen.connected, "no DTLS connection");
    assert!(seen.frames.len() >= 45, "{} frames", seen.frames.len());
    // Started on a key frame that carries its parameter sets.
    let first = nal_types(&seen.frames[0].1);
    assert!(
        first.starts_with(&[7, 8]) && first.contains(&5),
        "first frame's NAL units: {first:?}"
    );
    for w in seen.frames.windows(2) {
        let step = w[1].0.wrapping_sub(w[0].0);
        // 30 fps: 3000 ticks; generous for a busy machine's pipe.
        assert!((1..=90_000).contains(&step), "RTP time step {step}");
    }
    assert_eq!(peers(&srv, "x264", &[]).await, 1);
    let metrics = srv.get("/metrics").await;
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(
        text.contains("lookout_webrtc_peers{camera=\"x264\"} 1"),
        "{text}"
    );

    let r = srv.request("DELETE", &location, &[], None).await;
    assert_eq!(r.status, 200);
    let took = until_no_peers(&srv, "x264", &[], Duration::from_secs(10)).await;
    assert!(took < Duration::from_secs(10), "the peer outlived DELETE");
    // The viewer stopped reading at 45 frames: what the peer sent until DELETE still waits
    // in its socket. Read that first; after it, nothing more comes.
    viewer
        .run(&mut seen, Duration::from_secs(1), |_| false)
        .await;
    let frames = seen.frames.len();
    viewer
        .run(&mut seen, Duration::from_secs(1), |_| false)
        .await;
    assert_eq!(seen.frames.len(), frames, "frames after DELETE");
    let r = srv.request("DELETE", &location, &[], None).await;
    assert_eq!(r.status, 404);
    srv.stop().await;
}

#[tokio::test]
async fn bad_offers_get_clear_refusals() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let srv = TestServer::start(&x264_camera("x264", "keep_warm = true")).await;
    let error = |r: &lookout_bench::Response| {
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("a JSON error");
        v["error"].as_str().unwrap_or_default().to_owned()
    };
    let r = srv
        .request(
            "POST",
            "/cameras/x264/whep",
            &[("content-type", "text/plain")],
            Some(b"v=0"),
        )
        .await;
    assert_eq!(r.status, 415, "{}", error(&r));
    let r = post_offer(&srv, "x264", "hello", &[]).await;
    assert_eq!(r.status, 400);
    assert!(error(&r).contains("SDP"), "{}", error(&r));
    let big = "a".repeat(70_000);
    let r = post_offer(&srv, "x264", &big, &[]).await;
    assert_eq!(r.status, 413, "{}", error(&r));
    let r = post_offer(&srv, "nope", &Viewer::new().await.offer, &[]).await;
    assert_eq!(r.status, 404);
    // PATCH (trickle ICE, ICE restart) is not supported (WHIP 4.3.1: 405).
    let r = srv
        .request("PATCH", "/cameras/x264/whep/abc", &[], None)
        .await;
    assert_eq!(r.status, 405);
    srv.stop().await;
}

/// Logins as for stream.mp4: none → 401, Basic works, a browser session needs the page's
/// CSRF token; revoking the token in use ends the peer within a second; the per-user limit.
#[tokio::test]
async fn whep_needs_a_login_and_revocation_ends_the_peer() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let srv = TestServer::start(&format!(
        "{}[webrtc]\nudp_port = 0\nmax_peers_per_user = 1\n{}",
        login_config(""),
        x264_camera("x264", "keep_warm = true")
    ))
    .await;
    srv.add_user("ann", "s3cret pass", &[]);
    let offer = Viewer::new().await.offer;
    assert_eq!(post_offer(&srv, "x264", &offer, &[]).await.status, 401);
    let cookie = srv.login("ann", "s3cret pass", false).await;
    let r = post_offer(&srv, "x264", &offer, &[("cookie", &cookie)]).await;
    assert_eq!(r.status, 403, "a session without X-CSRF-Token");

    let token = srv
        .cli(&["token", "create", "viewer", "--user", "ann"], "")
        .trim()
        .to_owned();
    let bearer = format!("Bearer {token}");
    let mut viewer = Viewer::new().await;
    let r = post_offer(&srv, "x264", &viewer.offer, &[("authorization", &bearer)]).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    viewer.accept(std::str::from_utf8(&r.body).unwrap());
    let mut seen = Seen::default();
    viewer
        .run(&mut seen, Duration::from_secs(20), |s| !s.frames.is_empty())
        .await;
    assert!(!seen.frames.is_empty(), "no frames with a token");

    // One peer per user here: the second is refused with the reason.
    let auth = basic("ann", "s3cret pass");
    let r = post_offer(
        &srv,
        "x264",
        &Viewer::new().await.offer,
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, 503);
    assert!(String::from_utf8_lossy(&r.body).contains("max_peers_per_user"));

    srv.cli(&["token", "revoke", "viewer", "--user", "ann"], "");
    // Ended within a second (LiveStreams polls every 0.4 s); generous on a busy machine.
    let took = until_no_peers(
        &srv,
        "x264",
        &[("authorization", &auth)],
        Duration::from_secs(10),
    )
    .await;
    assert!(
        took < Duration::from_secs(3),
        "peer ended {took:?} after the revocation"
    );
    // Basic credentials work too, now that the slot is free.
    let r = post_offer(
        &srv,
        "x264",
        &Viewer::new().await.offer,
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    srv.stop().await;
}

/// Runs tests/browser/webrtc.mjs on `url`; its JSON report.
async fn page_report(scripts: std::path::PathBuf, url: String, mode: &str) -> serde_json::Value {
    crate::support::run_browser_script(&scripts, "webrtc.mjs", &[&url, mode, "3000"]).await
}

/// Chromium plays the camera page over WebRTC: frames decoded keep growing without freezes,
/// the picture on a canvas moves, a second page joining mid-stream decodes; without
/// RTCPeerConnection the page plays stream.mp4 and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_the_camera_page_over_webrtc() {
    let Some(scripts) = crate::support::browser_scripts() else {
        return;
    };
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let srv = TestServer::start(&x264_camera("x264", "keep_warm = true")).await;
    srv.wait_camera("x264", Duration::from_secs(30), |c| !c["h264"].is_null())
        .await;
    let url = format!("{}/cameras/x264", srv.origin());
    let seen = page_report(scripts.clone(), url.clone(), "rtc").await;
    eprintln!("Chromium over WebRTC: {seen}");
    let (a, b) = (&seen["first"], &seen["second"]);
    assert_eq!(b["playing"], "webrtc", "{seen}");
    assert!(
        b["label"]
            .as_str()
            .unwrap_or_default()
            .starts_with("WebRTC · "),
        "{seen}"
    );
    assert_eq!(b["connection"], "connected", "{seen}");
    assert_eq!(
        (b["frame_width"].as_u64(), b["frame_height"].as_u64()),
        (Some(640), Some(360)),
        "{seen}"
    );
    assert!(
        b["frames_decoded"].as_u64() > a["frames_decoded"].as_u64(),
        "no new frames decoded: {seen}"
    );
    // At least 10 fps decoded over the 3 s between the two looks (the camera sends 30).
    // Freezes (getStats' freezeCount) depend on the machine's load: printed above, not asserted.
    let decoded =
        b["frames_decoded"].as_u64().unwrap_or(0) - a["frames_decoded"].as_u64().unwrap_or(0);
    assert!(decoded >= 30, "{decoded} frames decoded in 3 s: {seen}");
    assert!(
        seen["changed"].as_u64().unwrap() > 100,
        "the picture did not change: {seen}"
    );
    // The late joiner: the camera sends a key frame every second (-g 30); the bound is
    // generous for a busy machine, the time itself is printed above.
    let join_ms = seen["join_ms"]
        .as_u64()
        .expect("the second page decoded nothing");
    assert!(join_ms < 10_000, "{seen}");

    let seen = page_report(scripts, url, "nortc").await;
    eprintln!("Chromium without RTCPeerConnection: {seen}");
    let b = &seen["second"];
    assert_eq!(b["playing"], "h264", "{seen}");
    let label = b["label"].as_str().unwrap_or_default();
    assert!(
        label.starts_with("H.264 · ") && label.contains("not WebRTC: no WebRTC in this browser"),
        "{seen}"
    );
    srv.stop().await;
}

/// Where UDP is blocked (here: Lookout offers no UDP candidate, `udp = false`), Chromium
/// connects to the ICE-TCP passive candidate (RFC 6544) and plays: the selected candidate
/// pair is TCP, to Lookout's TCP port, and frames keep being decoded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_over_ice_tcp_when_udp_is_off() {
    let Some(scripts) = crate::support::browser_scripts() else {
        return;
    };
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let srv = TestServer::start(&format!(
        "[webrtc]\nudp = false\n{}",
        x264_camera("x264", "keep_warm = true")
    ))
    .await;
    srv.wait_camera("x264", Duration::from_secs(30), |c| !c["h264"].is_null())
        .await;
    let api = srv.get("/api/cameras/x264").await;
    let api: serde_json::Value = serde_json::from_slice(&api.body).unwrap();
    assert!(api["webrtc"]["udp_port"].is_null(), "{api}");
    let tcp_port = api["webrtc"]["tcp_port"].as_u64().expect("a TCP port");
    let seen = page_report(scripts, format!("{}/cameras/x264", srv.origin()), "rtc").await;
    eprintln!("Chromium over ICE-TCP: {seen}");
    let (a, b) = (&seen["first"], &seen["second"]);
    assert_eq!(b["playing"], "webrtc", "{seen}");
    assert_eq!(b["connection"], "connected", "{seen}");
    assert_eq!(b["protocol"], "tcp", "{seen}");
    assert_eq!(b["remote_port"].as_u64(), Some(tcp_port), "{seen}");
    let decoded =
        b["frames_decoded"].as_u64().unwrap_or(0) - a["frames_decoded"].as_u64().unwrap_or(0);
    assert!(decoded >= 30, "{decoded} frames decoded in 3 s: {seen}");
    assert!(
        seen["changed"].as_u64().unwrap() > 100,
        "the picture did not change: {seen}"
    );
    srv.stop().await;
}
