//! Motion mask zones drawn on the camera page: the admin API with its CSRF rule, storage
//! across restarts, the running detector taking them at once, and the drawing itself in
//! headless Chromium.

use crate::support::{TestServer, basic, browser_scripts, login_config, set_cookies};
use std::time::{Duration, Instant};

fn config(data: &std::path::Path) -> String {
    format!(
        "[server]\ndata_dir = {data:?}\n{}\
         [[camera]]\nid = \"yard\"\n[camera.source]\nkind = \"testpattern\"\nwidth = 320\nheight = 240\nfps = 10\n\
         [camera.motion]\nanalyse_fps = 10\n\
         [[camera]]\nid = \"plain\"\n[camera.source]\nkind = \"testpattern\"\nwidth = 64\nheight = 48\nfps = 1\n",
        login_config("")
    )
}

const ZONE: &str = r#"{"zones":[{"kind":"exclude","points":[[0,0],[1,0],[1,1],[0,1]]}]}"#;

async fn motion_events_since(s: &TestServer, auth: &str, since: i64) -> usize {
    let r = s.get_with("/api/events", &[("Authorization", auth)]).await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "motion" && e["started_at"].as_i64().unwrap() >= since)
        .count()
}

#[tokio::test]
async fn admins_set_zones_through_the_api_and_the_detector_obeys_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = TestServer::start(&config(&data)).await;
    s.cli(
        &["user", "add", "root", "--role", "admin", "--password-stdin"],
        "admin password\n",
    );
    s.cli(
        &["user", "add", "guest", "--password-stdin"],
        "guest password\n",
    );
    let admin = basic("root", "admin password");
    let guest = basic("guest", "guest password");
    let json = [("Content-Type", "application/json")];
    let url = "/api/cameras/yard/motion/zones";
    // The moving test pattern is motion...
    let deadline = Instant::now() + Duration::from_secs(20);
    while motion_events_since(&s, &admin, 0).await == 0 {
        assert!(Instant::now() < deadline, "no motion before the zones");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let put = |auth: String, body: &'static str, extra: Vec<(&'static str, String)>| {
        let s = &s;
        async move {
            let mut h: Vec<(&str, &str)> = vec![("Authorization", auth.as_str()), json[0]];
            h.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
            s.request("PUT", url, &h, Some(body.as_bytes())).await
        }
    };
    assert_eq!(
        put(guest.clone(), ZONE, vec![]).await.status,
        403,
        "viewers may not"
    );
    let bad = put(
        admin.clone(),
        r#"{"zones":[{"kind":"exclude","points":[[0,0],[1,1]]}]}"#,
        vec![],
    )
    .await;
    assert_eq!(bad.status, 400, "{}", String::from_utf8_lossy(&bad.body));
    assert!(String::from_utf8_lossy(&bad.body).contains("3 points"));
    let none = s
        .request(
            "PUT",
            "/api/cameras/plain/motion/zones",
            &[("Authorization", &admin), json[0]],
            Some(ZONE.as_bytes()),
        )
        .await;
    assert_eq!(none.status, 404, "no motion detection on that camera");
    // A browser session needs the page's CSRF token.
    let cookie = s.login("root", "admin password", false).await;
    let pair = cookie.split(';').next().unwrap().to_owned();
    let origin = s.origin();
    let r = s
        .request(
            "PUT",
            url,
            &[("Cookie", &pair), ("Origin", &origin), json[0]],
            Some(ZONE.as_bytes()),
        )
        .await;
    assert_eq!(r.status, 403, "session without X-CSRF-Token");
    // ...excluded everywhere, it no longer is (after the event going on ends).
    let r = put(admin.clone(), ZONE, vec![]).await;
    assert_eq!(r.status, 200);
    let changed_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 1;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        motion_events_since(&s, &admin, changed_at).await,
        0,
        "motion inside an exclude zone"
    );
    let got = s.get_with(url, &[("Authorization", &admin)]).await;
    let got: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(got["zones"][0]["kind"], "exclude");
    s.stop().await;

    // Stored: a restart keeps them.
    let s = TestServer::start(&config(&data)).await;
    let got = s.get_with(url, &[("Authorization", &admin)]).await;
    let got: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(
        got["zones"][0]["points"].as_array().unwrap().len(),
        4,
        "{got}"
    );
    let _ = set_cookies;
    s.stop().await;
}

#[tokio::test]
async fn an_admin_draws_a_zone_on_the_camera_page_in_chromium() {
    let Some(scripts) = browser_scripts() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = TestServer::start(&config(&data)).await;
    s.cli(
        &["user", "add", "root", "--role", "admin", "--password-stdin"],
        "admin password\n",
    );
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("chromium-zones.png");
    let base = s.origin();
    let shot_arg = shot.to_str().expect("a UTF-8 target path");
    let report = crate::support::run_browser_script(
        &scripts,
        "zones.mjs",
        &[&base, "yard", "root", "admin password", shot_arg],
    )
    .await;
    assert_eq!(report["status"], "saved", "{report}");
    assert_eq!(report["polygons"], 1, "{report}");
    let got = s
        .get_with(
            "/api/cameras/yard/motion/zones",
            &[("Authorization", &basic("root", "admin password"))],
        )
        .await;
    let got: serde_json::Value = serde_json::from_slice(&got.body).unwrap();
    let points = got["zones"][0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 3, "{got}");
    let x0 = points[0][0].as_f64().unwrap();
    let x1 = points[1][0].as_f64().unwrap();
    assert!(
        (x0 - 0.1).abs() < 0.03 && (x1 - 0.6).abs() < 0.03,
        "corners where they were clicked: {got}"
    );
    eprintln!("screenshot of the zone editor: {}", shot.display());
    s.stop().await;
}
