//! WHEP behind nginx, as `lookout nginx-site` prints the site for a Lookout under
//! `server.base_path`: the offer, the answer and DELETE pass nginx below the base path; the
//! media does not (nginx proxies no UDP) and goes straight to Lookout's UDP port.

use crate::remote::{http_only, lookout, run, start_nginx, start_serving};
use crate::support::{CHEAP_AUTH, basic, free_port, require};
use crate::webrtc_client::{Seen, Viewer};
use std::net::SocketAddr;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whep_through_nginx_under_a_base_path_with_media_over_udp_direct() {
    if !require("nginx", "nginx") || !require("ffmpeg", "ffmpeg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let data = dir.join("data");
    let config = dir.join("lookout.toml");
    let (lookout_port, udp_port, tcp_port) = (free_port(), free_udp_port(), free_port());
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = [\"127.0.0.1:{lookout_port}\"]\nbase_path = \"/cams\"\n\
             trusted_proxies = [\"127.0.0.1\"]\n[auth]\nmode = \"login\"\n{CHEAP_AUTH}\
             [webrtc]\nudp_port = {udp_port}\ntcp_port = {tcp_port}\n{}",
            crate::h264::x264_camera("x264", "keep_warm = true")
        ),
    )
    .unwrap();
    run(
        lookout(&config, &data, &["user", "add", "ada", "--password-stdin"]),
        "correct horse\n",
    );
    let auth = basic("ada", "correct horse");
    let (site, _warnings) = run(
        lookout(
            &config,
            &data,
            &[
                "nginx-site",
                "--server-name",
                "127.0.0.1",
                "--webroot",
                dir.join("acme").to_str().unwrap(),
            ],
        ),
        "",
    );
    assert!(
        site.contains(&format!("UDP port {udp_port},")),
        "the site says where WebRTC's media goes:\n{site}"
    );
    let (https_port, http_port) = (free_port(), free_port());
    let runnable = http_only(&site, https_port, http_port);
    let (_lookout, _) = start_serving(lookout(&config, &data, &["serve"]), dir.join("lookout.log"));
    let _nginx = start_nginx(dir, &runnable, https_port);
    let nginx: SocketAddr = ([127, 0, 0, 1], https_port).into();

    let mut viewer = Viewer::new().await;
    let r = lookout_bench::request(
        nginx,
        "POST",
        "/cams/cameras/x264/whep",
        &[
            ("content-type", "application/sdp"),
            ("authorization", &auth),
        ],
        Some(viewer.offer.as_bytes()),
    )
    .await
    .unwrap();
    let answer = String::from_utf8_lossy(&r.body).into_owned();
    assert_eq!(r.status, 201, "{answer}");
    let location = r.header("location").expect("Location").to_owned();
    assert!(
        location.starts_with("/cams/cameras/x264/whep/"),
        "{location}"
    );
    // The candidate is Lookout's own UDP port, not nginx's.
    let candidate = format!("127.0.0.1 {udp_port} typ host");
    assert!(answer.contains(&candidate), "{answer}");
    viewer.accept(&answer);
    let mut seen = Seen::default();
    viewer
        .run(&mut seen, Duration::from_secs(20), |s| s.frames.len() >= 30)
        .await;
    assert!(seen.frames.len() >= 30, "{} frames", seen.frames.len());

    let r = lookout_bench::request(
        nginx,
        "DELETE",
        &location,
        &[("authorization", &auth)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = lookout_bench::request(
        nginx,
        "DELETE",
        &location,
        &[("authorization", &auth)],
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 404);
}

/// A UDP port free now on 127.0.0.1.
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .unwrap()
}
