//! The built-in test pattern: colour bars, a moving block, a frame counter and a clock.
//! Everything but the clock is a function of the frame number, so tests can predict it.

use crate::pacer::Pacer;
use crate::{BoxFuture, FrameSink, Source};
use lookout_core::text::draw_text;
use lookout_core::{Error, RgbImage};
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone)]
pub struct TestPattern {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
}

/// SMPTE-like bars, left to right.
const BARS: [[u8; 3]; 8] = [
    [235, 235, 235],
    [235, 235, 16],
    [16, 235, 235],
    [16, 235, 16],
    [235, 16, 235],
    [235, 16, 16],
    [16, 16, 235],
    [16, 16, 16],
];

/// Draws frame `n` with `clock` as its timestamp text.
pub fn render(width: u32, height: u32, n: u64, clock: &str) -> RgbImage {
    let mut img = RgbImage::new(width, height);
    let bars_h = height * 2 / 3;
    let bar_w = width.div_ceil(8);
    for (i, rgb) in BARS.iter().enumerate() {
        img.fill_rect(i64::from(bar_w) * i as i64, 0, bar_w, bars_h, *rgb);
    }
    // A grey ramp below the bars shows scaling and compression artefacts.
    for x in 0..width {
        let v = (x * 255 / width.max(1)) as u8;
        img.fill_rect(
            i64::from(x),
            i64::from(bars_h),
            1,
            height - bars_h,
            [v, v, v],
        );
    }
    // The block crosses the picture in 4 s at 30 fps; its position is a function of `n` only.
    let block = (height / 6).max(4);
    let travel = u64::from(width.saturating_sub(block).max(1));
    let pos = (n * u64::from(width) / 120) % (2 * travel);
    let x = if pos < travel { pos } else { 2 * travel - pos };
    img.fill_rect(
        x as i64,
        i64::from(bars_h / 2) - i64::from(block / 2),
        block,
        block,
        [255, 128, 0],
    );
    let scale = (height / 180).max(1);
    let band = 8 * scale + 8;
    img.fill_rect(
        0,
        i64::from(height.saturating_sub(band)),
        width,
        band,
        [0, 0, 0],
    );
    let label = format!("{clock}  #{n}");
    draw_text(
        &mut img,
        8,
        i64::from(height.saturating_sub(band) + 4),
        &label,
        scale,
        [255, 255, 255],
    );
    img
}

impl Source for TestPattern {
    fn kind(&self) -> &'static str {
        "testpattern"
    }

    fn frame_interval(&self) -> Option<Duration> {
        Some(Duration::from_secs_f64(1.0 / self.fps))
    }

    fn run<'a>(&'a self, sink: &'a FrameSink) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut tick = Pacer::new(Duration::from_secs_f64(1.0 / self.fps));
            let mut n: u64 = 0;
            loop {
                tick.tick().await;
                let now = SystemTime::now();
                let clock = humantime::format_rfc3339_millis(now).to_string();
                let (w, h) = (self.width, self.height);
                let img = tokio::task::spawn_blocking(move || render(w, h, n, &clock))
                    .await
                    .map_err(|e| Error::internal(format!("renderer stopped: {e}")))?;
                sink.publish_rgb(img, now).await?;
                n += 1;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_frame_number_same_picture_and_the_block_moves() {
        let a = render(320, 180, 10, "clock");
        assert_eq!(a, render(320, 180, 10, "clock"));
        assert_ne!(a, render(320, 180, 11, "clock"));
        assert_eq!(a.pixel(5, 5), BARS[0]);
        assert_eq!(a.pixel(319, 5), BARS[7]);
    }

    #[test]
    fn odd_and_tiny_sizes_render() {
        for (w, h) in [(1, 1), (7, 3), (33, 641)] {
            let img = render(w, h, 99, "x");
            assert_eq!((img.width, img.height), (w, h));
        }
    }
}
