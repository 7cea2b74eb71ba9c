//! The camera grid in Chromium: each tile asks for a variant as wide as it is drawn (CSS width
//! times devicePixelRatio, rounded up to a shared width), not the camera's full resolution.

use crate::support::{TestServer, camera};

/// 1000 px wide: the grid (columns of at least 360 px, 16 px padding, 12 px gaps) has 2 columns
/// of 478 px, so tiles ask for 480 at ratio 1 and 960 at ratio 2 (956 device pixels).
const VIEWPORT_WIDTH: u32 = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grid_tiles_ask_for_variants_as_wide_as_they_are_drawn() {
    let Some(scripts) = crate::support::browser_scripts() else {
        return;
    };
    // Three 720p cameras, as in issue 17; the MJPEG <img> is under test, so no H.264 (with
    // `--features openh264` the grid could play it instead).
    let config: String = ["a", "b", "c"]
        .iter()
        .map(|id| {
            camera(
                id,
                "[camera.h264]\nmode = \"off\"",
                "kind = \"testpattern\"\nwidth = 1280\nheight = 720\nfps = 5\n",
            )
        })
        .collect();
    let srv = TestServer::start(&config).await;
    let url = format!("http://{}/", srv.addr);
    let runs = crate::support::run_browser_script(
        &scripts,
        "grid_tiles.mjs",
        &[&url, "4000", &VIEWPORT_WIDTH.to_string(), "1,2"],
    )
    .await;
    eprintln!("Chromium on the grid: {runs}");
    for (run, (width, height)) in runs
        .as_array()
        .unwrap()
        .iter()
        .zip([(480u32, 270u32), (960, 540)])
    {
        let tiles = run["tiles"].as_array().unwrap();
        assert_eq!(tiles.len(), 3, "{run}");
        for t in tiles {
            let src = t["src"].as_str().unwrap();
            let camera = t["camera"].as_str().unwrap();
            assert_eq!(
                src,
                format!(
                    "http://{}/cameras/{camera}/stream.mjpeg?width={width}",
                    srv.addr
                ),
                "{run}"
            );
            let css = t["css_width"].as_f64().unwrap();
            let dpr = run["dpr"].as_f64().unwrap();
            assert!(
                f64::from(width) >= css * dpr && f64::from(width) < css * dpr * 1.5,
                "width {width} for a {css} px tile at ratio {dpr}: {run}"
            );
            // What the tile draws is that variant, from the stream it asked for.
            assert_eq!(
                (t["natural_width"].as_u64(), t["natural_height"].as_u64()),
                (Some(u64::from(width)), Some(u64::from(height))),
                "{run}"
            );
            assert!(t["bytes"].as_u64().unwrap() > 0, "{run}");
        }
    }
    srv.stop().await;
}
