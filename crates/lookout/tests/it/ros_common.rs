//! What the ROS end-to-end tests (`ros1`, `ros2`) share: the published picture and how the
//! server's JPEGs of it are checked.

use super::support::TestServer;
use lookout_core::image::RgbImage;
use std::time::{Duration, Instant};

/// Four flat quadrants: survive JPEG with small errors, and a swap or flip shows.
pub const QUADRANTS: [[u8; 3]; 4] = [[220, 30, 30], [30, 200, 40], [40, 50, 210], [230, 230, 60]];
pub const WIDTH: u32 = 64;
pub const HEIGHT: u32 = 48;

/// GETs `path` until it answers 200 (a topic's first frame takes a moment), returns the body.
pub async fn get_ok(server: &TestServer, path: &str, patience: Duration) -> Vec<u8> {
    let deadline = Instant::now() + patience;
    loop {
        let r = server.get(path).await;
        if r.status == 200 {
            return r.body.to_vec();
        }
        assert!(
            Instant::now() < deadline,
            "GET {path}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn quadrants() -> RgbImage {
    let mut img = RgbImage::new(WIDTH, HEIGHT);
    let (w, h) = (WIDTH / 2, HEIGHT / 2);
    for (i, rgb) in QUADRANTS.iter().enumerate() {
        let (x, y) = ((i as u32 % 2) * w, (i as u32 / 2) * h);
        img.fill_rect(i64::from(x), i64::from(y), w, h, *rgb);
    }
    img
}

/// `jpeg` decodes to `expected`'s size with every quadrant's centre within JPEG's error.
pub fn assert_close(jpeg: &[u8], expected: &RgbImage, what: &str) {
    let got =
        lookout_core::jpeg::decode_rgb(jpeg).unwrap_or_else(|e| panic!("{what}: not a JPEG ({e})"));
    assert_eq!((got.width, got.height), (WIDTH, HEIGHT), "{what}");
    for (x, y) in [(16, 12), (48, 12), (16, 36), (48, 36)] {
        let (a, b) = (got.pixel(x, y), expected.pixel(x, y));
        let off = a.iter().zip(b).map(|(p, q)| p.abs_diff(q)).max();
        assert!(
            off.is_some_and(|d| d <= 12),
            "{what}: pixel ({x}, {y}) is {a:?}, published {b:?}"
        );
    }
}

/// Waits until `/api/ros/topics` lists both topics, then checks the transport and their types;
/// returns the list.
pub async fn wait_for_topics(
    server: &TestServer,
    transport: &str,
    raw: &str,
    compressed: &str,
    patience: Duration,
) -> serde_json::Value {
    let deadline = Instant::now() + patience;
    let topics = loop {
        let list = server.json("/api/ros/topics").await;
        let names: Vec<_> = list["topics"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t["name"].as_str()).collect())
            .unwrap_or_default();
        if names.contains(&raw) && names.contains(&compressed) {
            break list;
        }
        assert!(Instant::now() < deadline, "topics never listed: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(topics["transport"], transport, "{topics}");
    let type_of = |name: &str| {
        topics["topics"]
            .as_array()
            .and_then(|a| a.iter().find(|t| t["name"] == name))
            .map(|t| t["type"].clone())
    };
    assert_eq!(type_of(raw), Some("sensor_msgs/Image".into()));
    assert_eq!(
        type_of(compressed),
        Some("sensor_msgs/CompressedImage".into())
    );
    topics
}
