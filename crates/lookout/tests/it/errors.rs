//! Refusals and limits: every bad request gets a 4xx with a reason, the connection limit a 503.

use crate::support::{TestServer, read_parts, testpattern};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends raw bytes and returns the status line and the rest of the response.
async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> (String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (status, rest) = text.split_once("\r\n").unwrap_or((&text, ""));
    (status.to_owned(), rest.to_owned())
}

// The 4xx JSON shapes of bad requests, the HTML error pages and the escaping of names in
// pages are checked in-process: src/web/tests/{errors,escaping}.rs. Here what needs a socket.

/// A real snapshot over a socket, and a method the route does not take, sent raw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_is_served_and_a_wrong_method_is_405() {
    let srv = TestServer::start(&testpattern("a", 160, 120, 10)).await;
    let r = lookout_bench::get(srv.addr, "/cameras/a/snapshot.jpg", &[])
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let (status, _) = raw(
        srv.addr,
        b"POST /api/cameras HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(status.contains(" 405 "), "{status}");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_or_malformed_requests_are_refused_not_served() {
    let srv = TestServer::start(&testpattern("a", 160, 120, 10)).await;
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(40_000)
    );
    let (status, _) = raw(srv.addr, big.as_bytes()).await;
    assert!(status.contains(" 431 "), "big header: {status:?}");
    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for i in 0..200 {
        many.push_str(&format!("X-H{i}: 1\r\n"));
    }
    many.push_str("\r\n");
    let (status, _) = raw(srv.addr, many.as_bytes()).await;
    assert!(status.contains(" 431 "), "many headers: {status:?}");
    let (status, _) = raw(srv.addr, b"NONSENSE\r\n\r\n").await;
    assert!(status.contains(" 400 "), "garbage: {status:?}");
    // The server is still fine.
    assert_eq!(srv.get("/healthz").await.status, 200);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_limit_clients_get_503_with_a_reason() {
    let srv = TestServer::start(&format!(
        "[server]\nmax_connections = 2\n{}",
        testpattern("a", 160, 120, 10)
    ))
    .await;
    let mut s1 = srv.stream("/cameras/a/stream.mjpeg").await;
    let mut s2 = srv.stream("/cameras/a/stream.mjpeg").await;
    read_parts(&mut s1, 1, Duration::from_secs(20)).await;
    read_parts(&mut s2, 1, Duration::from_secs(20)).await;
    let r = srv.get("/healthz").await;
    assert_eq!(r.status, 503);
    assert!(String::from_utf8_lossy(&r.body).contains("max_connections"));
    assert_eq!(r.header("retry-after"), Some("5"));
    drop(s1);
    // The slot frees once the server notices the closed stream (its next write fails).
    // Each refusal while waiting counts too.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut refused = 1;
    loop {
        match srv.get("/healthz").await.status {
            200 => break,
            503 => refused += 1,
            other => panic!("/healthz answered {other}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "slot never freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = String::from_utf8_lossy(&srv.get("/metrics").await.body).into_owned();
    assert!(
        metrics.contains(&format!("\nlookout_connections_refused_total {refused}\n")),
        "{refused} refused: {metrics}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_compatible_urls_serve_the_first_or_named_camera() {
    let config = format!(
        "{}{}",
        testpattern("a", 160, 120, 10),
        testpattern("b", 64, 48, 10)
    );
    let srv = TestServer::start(&config).await;
    let r = srv.get("/?action=snapshot").await;
    assert_eq!(
        (r.status, crate::support::jpeg_size(&r.body)),
        (200, (160, 120))
    );
    let r = srv.get("/?action=snapshot&camera=b").await;
    assert_eq!(crate::support::jpeg_size(&r.body), (64, 48));
    let r = srv.get("/snapshot?camera=b").await;
    assert_eq!(crate::support::jpeg_size(&r.body), (64, 48));
    for path in ["/?action=stream", "/stream", "/stream?camera=b"] {
        let mut s = srv.stream(path).await;
        assert_eq!(s.status(), 200, "{path}");
        read_parts(&mut s, 2, Duration::from_secs(20)).await;
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_metrics_and_pages_describe_the_cameras() {
    let srv = TestServer::start(&testpattern("a", 160, 120, 10)).await;
    let mut s = srv.stream("/cameras/a/stream.mjpeg").await;
    read_parts(&mut s, 3, Duration::from_secs(20)).await;
    let list = srv.json("/api/cameras").await;
    let cam = &list["cameras"][0];
    assert_eq!(
        (
            cam["id"].as_str(),
            cam["source"].as_str(),
            cam["online"].as_bool()
        ),
        (Some("a"), Some("testpattern"), Some(true)),
        "{cam}"
    );
    assert_eq!(
        (cam["width"].as_u64(), cam["height"].as_u64()),
        (Some(160), Some(120))
    );
    assert_eq!(cam["viewer_count"], 1);
    assert!(
        cam["viewers"][0]["remote"]
            .as_str()
            .is_some_and(|r| r.starts_with("127.0.0.1:")),
        "{cam}"
    );
    let health = srv.json("/healthz").await;
    assert_eq!(health["status"], "ok");
    let metrics = srv.get("/metrics").await;
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain; version=0.0.4"))
    );
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    for series in [
        "lookout_frames_captured_total{camera=\"a\"}",
        "lookout_viewers{camera=\"a\"} 1",
        "lookout_camera_online{camera=\"a\"} 1",
        "# TYPE lookout_bytes_sent_total counter",
    ] {
        assert!(text.contains(series), "{series} missing:\n{text}");
    }
    let page = srv.get("/").await;
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body).into_owned();
    assert!(html.contains(r#"src="/cameras/a/stream.mjpeg""#), "{html}");
    let one = String::from_utf8_lossy(&srv.get("/cameras/a").await.body).into_owned();
    assert!(
        one.contains("snapshot.jpg") && one.contains("download"),
        "{one}"
    );
    for asset in ["/assets/app.css", "/assets/app.js"] {
        assert_eq!(srv.get(asset).await.status, 200);
    }
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grid_streams_four_cameras_and_refreshes_snapshots_of_the_rest() {
    // Browsers allow 6 connections per host: streams on the grid stop at 4.
    let config: String = (1..=6)
        .map(|i| testpattern(&format!("c{i}"), 64, 48, 5))
        .collect();
    let srv = TestServer::start(&config).await;
    let html = String::from_utf8_lossy(&srv.get("/").await.body).into_owned();
    assert_eq!(html.matches("stream.mjpeg\"").count(), 4, "{html}");
    assert_eq!(
        html.matches("snapshot.jpg\" data-fit data-refresh").count(),
        2,
        "{html}"
    );
    assert!(html.contains("/cameras/c6/snapshot.jpg"));
    srv.stop().await;
}
