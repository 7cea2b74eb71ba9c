//! The "no signal" card viewers see while a camera's source is down.

use lookout_core::text::{draw_text, text_width};
use lookout_core::{RgbImage, SourceStatus, jpeg};
use std::time::SystemTime;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;

/// Renders and encodes the card: the camera, what state it is in and the last error, and the
/// time, so a viewer can tell a frozen page from a camera that is down.
pub fn render(camera: &str, status: &SourceStatus) -> Option<Vec<u8>> {
    let mut img = RgbImage::new(WIDTH, HEIGHT);
    img.fill_rect(0, 0, WIDTH, HEIGHT, [32, 32, 40]);
    centered(&mut img, 110, "NO SIGNAL", 4, [240, 240, 240]);
    centered(
        &mut img,
        170,
        &format!("camera {camera}"),
        2,
        [200, 200, 200],
    );
    let state = format!("{:?}", status.state).to_lowercase();
    centered(&mut img, 205, &state, 2, [230, 180, 80]);
    if let Some(err) = &status.last_error {
        let shown: String = err.chars().take(76).collect();
        centered(&mut img, 240, &shown, 1, [230, 120, 120]);
    }
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    centered(&mut img, 300, &now, 2, [160, 160, 160]);
    jpeg::encode_rgb(&img, 70).ok()
}

fn centered(img: &mut RgbImage, y: i64, text: &str, scale: u32, rgb: [u8; 3]) {
    let x = (i64::from(WIDTH) - i64::from(text_width(text, scale))) / 2;
    draw_text(img, x.max(0), y, text, scale, rgb);
}

pub const SIZE: (u32, u32) = (WIDTH, HEIGHT);
