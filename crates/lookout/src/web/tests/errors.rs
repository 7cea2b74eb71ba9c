//! Refusals in-process: every bad request gets a 4xx with a JSON reason; a browser opening a
//! page it cannot have gets an HTML page instead, and the API stays JSON.

use super::site;
use crate::auth::Role;

#[tokio::test]
async fn bad_requests_get_a_4xx_with_a_reason() {
    let s = site(&[("a", "A")], false);
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
        // A camera no source feeds has no frame to give.
        ("/cameras/a/snapshot.jpg", 503, "sent no frame within"),
    ] {
        let r = s.get(path).await;
        assert_eq!(r.status, status, "{path}: {}", r.body);
        let body = r.json();
        assert_eq!(body["status"], status, "{path}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(reason)),
            "{path}: {body}"
        );
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
    }
    let r = s.request("POST", "/api/cameras", &[]).await;
    assert_eq!(r.status, 405);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap_or("")
            .contains("POST is not allowed")
    );
}

/// Under a base path, what is outside it is 404 with the base named.
#[tokio::test]
async fn outside_the_base_path_is_404_naming_it() {
    let s = super::site_under("/cam", &[("a", "A")], false);
    let r = s.get("/api/cameras").await;
    assert_eq!(r.status, 404);
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("this Lookout lives under /cam/")),
        "{}",
        r.body
    );
    assert_eq!(s.get("/cam/api/cameras").await.status, 200);
}

/// What Chromium sends when it opens a page (an address typed, a link followed).
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8";
/// What it sends for an `<img>`.
const IMAGE_ACCEPT: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";

/// A browser opening a page it cannot have gets an HTML page in the site's look, with the
/// reason escaped and a link back; the API, streams and snapshots answer JSON to programs and
/// `<img>` elements, and the API to browsers too.
#[tokio::test]
async fn pages_answer_html_errors_and_the_api_stays_json() {
    let s = site(&[("front", "Front"), ("back", "Back")], true);
    let cookie = s.session_of("kid", Role::Viewer, Some(&["front".to_owned()]));
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
        let html = &r.body;
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
        assert_eq!(r.json()["status"], status, "{path}: {}", r.body);
    }
}

/// 401, 403 and 429 come from error kinds: each with its JSON reason, 401 with a Basic
/// challenge, 429 with `Retry-After` in whole seconds matching the message.
#[tokio::test]
async fn refusals_by_kind_have_their_status_reason_and_headers() {
    let s = site(&[("front", "Front")], true);
    let r = s.get("/api/cameras").await;
    assert_eq!(r.status, 401);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap_or("")
            .starts_with("sign in:")
    );
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"Lookout\", charset=\"UTF-8\"")
    );
    let viewer = s.session_of("kid", Role::Viewer, Some(&[]));
    let r = s
        .get_with("/api/cameras/front", &[("Cookie", &viewer)])
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json()["error"],
        "you may not watch camera \"front\"; an admin can change that"
    );
    // Lock the address: the limiter answers 429 with Retry-After before any check.
    let auth = s.state.auth.as_ref().expect("logins are on");
    let ip = Some(std::net::IpAddr::from([127, 0, 0, 1]));
    for _ in 0..1001 {
        let _ = auth.limiter.begin(ip, "nobody", None);
    }
    let r = s
        .get_with("/api/cameras", &[("Authorization", "Basic a2lkOndyb25n")])
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    let secs = r.header("retry-after").unwrap_or("").to_owned();
    assert!(secs.parse::<u64>().is_ok_and(|s| s >= 1), "{secs:?}");
    assert_eq!(
        r.json()["error"],
        format!("too many failed logins; try again in {secs} s")
    );
}
