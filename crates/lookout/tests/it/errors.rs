//! Refusals and limits: every bad request gets a 4xx with a reason, the connection limit a 503.

use crate::support::{TestServer, login_config, read_parts, testpattern};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_4xx_with_a_reason() {
    let srv = TestServer::start(&testpattern("a", 160, 120, 10)).await;
    for (path, status, reason) in [
        (
            "/cameras/nope/stream.mjpeg",
            404,
            "no camera with id \"nope\"",
        ),
        ("/cameras/nope/snapshot.jpg", 404, "no camera with id"),
        ("/api/cameras/nope", 404, "no camera with id"),
        ("/cameras/a/stream.mjpeg?fps=abc", 400, "fps must be"),
        ("/cameras/a/snapshot.jpg?width=0", 400, "width must be"),
        (
            "/cameras/a/snapshot.jpg?quality=500",
            400,
            "quality must be",
        ),
        ("/?action=explode", 400, "unknown action"),
        ("/stream?camera=zzz", 404, "no camera"),
        // web_video_server's URLs on a server without ROS.
        (
            "/stream?topic=/camera/image_raw",
            404,
            "serves no ROS topics",
        ),
        (
            "/snapshot?topic=/camera/image_raw",
            404,
            "serves no ROS topics",
        ),
        ("/api/ros/topics", 404, "serves no ROS topics"),
        // Controls belong to V4L2 cameras.
        (
            "/api/cameras/a/controls",
            404,
            "only kind = \"v4l2\" cameras",
        ),
        ("/no/such/page", 404, "no such page"),
        ("/assets/../../etc/passwd", 404, ""),
    ] {
        let r = srv.get(path).await;
        assert_eq!(
            r.status,
            status,
            "{path}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let body: serde_json::Value =
            serde_json::from_slice(&r.body).unwrap_or_else(|_| panic!("{path}: not JSON"));
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(reason)),
            "{path}: {body}"
        );
    }
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if srv.get("/healthz").await.status == 200 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "slot never freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metrics = String::from_utf8_lossy(&srv.get("/metrics").await.body).into_owned();
    assert!(
        metrics.contains("lookout_connections_refused_total 1")
            || metrics.contains("lookout_connections_refused_total 2"),
        "{metrics}"
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
async fn configured_names_are_escaped_in_pages() {
    let config =
        crate::support::testpattern_with("a", 160, 120, 10, "name = \"<script>alert(1)</script>\"");
    let srv = TestServer::start(&config).await;
    let html = String::from_utf8_lossy(&srv.get("/").await.body).into_owned();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
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
        html.matches("snapshot.jpg?width=640\" data-refresh")
            .count(),
        2,
        "{html}"
    );
    assert!(html.contains("/cameras/c6/snapshot.jpg"));
    srv.stop().await;
}

/// What Chromium sends when it opens a page (an address typed, a link followed).
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8";
/// What it sends for an `<img>`.
const IMAGE_ACCEPT: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";

/// A browser opening a page it cannot have gets an HTML page in the site's look, with the
/// reason escaped and a link back; the API, streams and snapshots answer JSON to programs and
/// `<img>` elements, and the API to browsers too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_answer_html_errors_and_the_api_stays_json() {
    let s = TestServer::start(&format!(
        "{}{}{}",
        login_config(""),
        testpattern("front", 160, 120, 5),
        testpattern("back", 160, 120, 5)
    ))
    .await;
    // The server has opened its database once it answers: `lookout user add` run before
    // could race its first migration ("table users already exists").
    assert_eq!(s.get("/healthz").await.status, 200);
    s.add_user("kid", "correct horse", &["--cameras", "front"]);
    let session = s.login("kid", "correct horse", false).await;
    let cookie = session.split(';').next().unwrap().to_owned();
    for (path, status, reason) in [
        (
            "/cameras/back",
            403,
            "you may not watch camera &quot;back&quot;",
        ),
        (
            "/cameras/%3Cb%3Enope",
            404,
            "no camera with id &quot;&lt;b&gt;nope&quot;",
        ),
        ("/ros/topics", 404, "serves no ROS topics"),
        ("/no/such/page", 404, "no such page: /no/such/page"),
        ("/metrics", 403, "user &quot;kid&quot; is not an admin"),
        ("/cameras/back/snapshot.jpg", 403, "you may not watch"),
    ] {
        let r = s
            .get_with(path, &[("Cookie", &cookie), ("Accept", BROWSER_ACCEPT)])
            .await;
        let html = String::from_utf8_lossy(&r.body).into_owned();
        assert_eq!(r.status, status, "{path}: {html}");
        assert_eq!(
            r.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}: {html}"
        );
        assert!(html.starts_with("<!doctype html>"), "{path}: {html}");
        assert!(
            html.contains("href=\"/assets/app.css\""),
            "{path}: the other pages' style: {html}"
        );
        assert!(html.contains(reason), "{path}: {html}");
        assert!(
            html.contains("<a href=\"/\">"),
            "{path}: no way back: {html}"
        );
        assert!(!html.contains("<b>"), "{path}: not escaped: {html}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
    }
    // The API answers JSON even to a browser; streams and snapshots to programs and pictures.
    for (path, accept, status) in [
        ("/api/cameras/back", BROWSER_ACCEPT, 403),
        ("/api/cameras/nope", BROWSER_ACCEPT, 404),
        ("/api/ros/topics", BROWSER_ACCEPT, 404),
        ("/api/no/such/thing", BROWSER_ACCEPT, 404),
        ("/cameras/back/snapshot.jpg", IMAGE_ACCEPT, 403),
        ("/cameras/back/stream.mjpeg", IMAGE_ACCEPT, 403),
        ("/cameras/back/stream.mjpeg", "*/*", 403),
        ("/cameras/nope/snapshot.jpg", "", 404),
        ("/cameras/back", "application/json", 403),
    ] {
        let mut headers = vec![("Cookie", cookie.as_str())];
        if !accept.is_empty() {
            headers.push(("Accept", accept));
        }
        let r = s.get_with(path, &headers).await;
        assert_eq!(r.status, status, "{path} ({accept})");
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "{path} ({accept})"
        );
        let body: serde_json::Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|_| panic!("{path} ({accept}): not JSON"));
        assert_eq!(body["status"], status, "{path}: {body}");
    }
    s.stop().await;
}
