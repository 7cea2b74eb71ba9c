//! WebRTC on IPv6 HTTP listeners: `::1` gets its UDP port on `::1`; a dual-stack `[::]` one
//! serves IPv4 and IPv6 viewers, each with a candidate of its own family.

use crate::support::{TestServer, basic, login_config, require};
use crate::webrtc_client::{Seen, Viewer, post_offer};
use std::time::Duration;

/// Posts `viewer`'s offer to the server at `addr`, connects; the frames seen and the
/// answer's candidate addresses.
async fn play_from(
    addr: std::net::SocketAddr,
    auth: &str,
    viewer: &mut Viewer,
) -> (Seen, Vec<String>) {
    let r = lookout_bench::request(
        addr,
        "POST",
        "/cameras/x264/whep",
        &[("content-type", "application/sdp"), ("authorization", auth)],
        Some(viewer.offer.as_bytes()),
    )
    .await
    .unwrap();
    let answer = String::from_utf8_lossy(&r.body).into_owned();
    assert_eq!(r.status, 201, "{answer}");
    viewer.accept(&answer);
    let mut seen = Seen::default();
    viewer
        .run(&mut seen, Duration::from_secs(20), |s| s.frames.len() >= 10)
        .await;
    (seen, candidate_ips(&answer))
}

/// The UDP candidates' addresses of an SDP answer.
fn candidate_ips(answer_sdp: &str) -> Vec<String> {
    answer_sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a=candidate:"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.get(2).is_some_and(|p| p.eq_ignore_ascii_case("udp")))
        .filter_map(|f| f.get(4).map(|a| (*a).to_owned()))
        .collect()
}

/// A server on `listen` (logins on: Lookout serves anything but loopback only with logins)
/// and user ann.
async fn ipv6_server(listen: &str) -> Option<TestServer> {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        // No IPv6 on this machine; under CI it has ::1.
        assert!(
            std::env::var_os("LOOKOUT_TEST_STRICT").is_none(),
            "no ::1 on this machine"
        );
        return None;
    }
    let listener = tokio::net::TcpListener::bind(listen).await.unwrap();
    let srv = TestServer::start_on(
        &format!(
            "{}{}",
            login_config(""),
            crate::h264::x264_camera("x264", "keep_warm = true")
        ),
        vec![listener.into()],
    )
    .await;
    srv.add_user("ann", "s3cret pass", &[]);
    Some(srv)
}

/// An HTTP listener on ::1 gets WebRTC's UDP on ::1: an IPv6 viewer plays.
#[tokio::test]
async fn an_ipv6_loopback_listener_serves_webrtc_over_ipv6() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let Some(srv) = ipv6_server("[::1]:0").await else {
        return;
    };
    let mut viewer = Viewer::on("[::1]:0").await;
    let auth = basic("ann", "s3cret pass");
    let r = post_offer(&srv, "x264", &viewer.offer, &[("authorization", &auth)]).await;
    let answer = String::from_utf8_lossy(&r.body).into_owned();
    assert_eq!(r.status, 201, "{answer}");
    assert_eq!(candidate_ips(&answer), ["::1"], "{answer}");
    viewer.accept(&answer);
    let mut seen = Seen::default();
    viewer
        .run(&mut seen, Duration::from_secs(20), |s| s.frames.len() >= 10)
        .await;
    assert!(
        seen.frames.len() >= 10,
        "{} frames over IPv6",
        seen.frames.len()
    );
    srv.stop().await;
}

/// A `[::]` listener takes IPv4 and IPv6 viewers over HTTP, and so does its WebRTC: each
/// gets a candidate of its own family and plays.
#[tokio::test]
async fn a_dual_stack_listener_serves_webrtc_to_ipv4_and_ipv6_viewers() {
    if !require("ffmpeg", "ffmpeg") {
        return;
    }
    let Some(srv) = ipv6_server("[::]:0").await else {
        return;
    };
    let port = srv.addr.port();
    let auth = basic("ann", "s3cret pass");
    for (http, bind, candidate) in [
        (format!("127.0.0.1:{port}"), "127.0.0.1:0", "127.0.0.1"),
        (format!("[::1]:{port}"), "[::1]:0", "::1"),
    ] {
        let mut viewer = Viewer::on(bind).await;
        let (seen, candidates) = play_from(http.parse().unwrap(), &auth, &mut viewer).await;
        assert_eq!(candidates, [candidate]);
        assert!(
            seen.frames.len() >= 10,
            "{} frames for a viewer on {bind}",
            seen.frames.len()
        );
    }
    srv.stop().await;
}
