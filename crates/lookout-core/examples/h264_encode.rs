//! Measures openh264 encoding per 720p frame (docs/performance.md "H.264 encoding"): the
//! encoding thread's CPU time (/proc/thread-self/schedstat) per frame, wall time, and bytes,
//! for a plain scene (bars and a moving block) and a noisy one (the same plus sensor-like
//! noise), 1280x720 at the default 2 Mbit/s, RGB input (the RGB→YUV conversion included).
//!
//! `cargo run --release -p lookout-core --features openh264 --example h264_encode [frames]`

use lookout_core::RgbImage;
use lookout_core::h264::{EncoderSettings, H264Encoder};

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn scene(w: u32, h: u32, n: u32, noise: bool, seed: &mut u32) -> RgbImage {
    let mut img = RgbImage::new(w, h);
    let (bx, by) = ((n * 8) % (w - 160), (n * 3) % (h - 120));
    for y in 0..h {
        for x in 0..w {
            let bar = (x * 8 / w) as u8;
            let mut px: [u8; 3] = [
                if bar & 1 != 0 { 200 } else { 30 },
                if bar & 2 != 0 { 200 } else { 30 },
                if bar & 4 != 0 { 200 } else { 30 },
            ];
            if x >= bx && x < bx + 160 && y >= by && y < by + 120 {
                px = [240, 240, 240];
            }
            if noise {
                for c in &mut px {
                    // xorshift32: cheap noise of ±8 levels, like a sensor's.
                    *seed ^= *seed << 13;
                    *seed ^= *seed >> 17;
                    *seed ^= *seed << 5;
                    *c = (*c).saturating_add((*seed % 17) as u8).saturating_sub(8);
                }
            }
            let i = (y * w + x) as usize * 3;
            img.data[i..i + 3].copy_from_slice(&px);
        }
    }
    img
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let frames: u32 = std::env::args().nth(1).map_or(Ok(150), |a| a.parse())?;
    let (w, h) = (1280, 720);
    for noise in [false, true] {
        let mut seed: u32 = 0x1234_5678;
        let pictures: Vec<RgbImage> = (0..frames)
            .map(|n| scene(w, h, n, noise, &mut seed))
            .collect();
        let mut enc = H264Encoder::new(EncoderSettings::for_size(w, h, 30.0))?;
        let mut wall_ms = Vec::with_capacity(frames as usize);
        let mut bytes = 0usize;
        // The kernel accounts CPU time in scheduler ticks (4 ms here), too coarse for one
        // frame: the mean over all frames is exact enough; wall time per frame is precise.
        let cpu_start = thread_cpu_ns();
        for (n, img) in pictures.iter().enumerate() {
            let t = std::time::Instant::now();
            let au = enc.encode_rgb(img, n as u64 * 33, false)?;
            wall_ms.push(t.elapsed().as_secs_f64() * 1e3);
            bytes += au.map_or(0, |a| a.nal_bytes());
        }
        let cpu_ms = (thread_cpu_ns() - cpu_start) as f64 / 1e6 / f64::from(frames);
        wall_ms.sort_by(f64::total_cmp);
        let at = |q: f64| wall_ms[((wall_ms.len() - 1) as f64 * q) as usize];
        println!(
            "{}: {frames} frames 1280x720, CPU per frame mean {cpu_ms:.2} ms; wall median {:.2} ms, p90 {:.2} ms; {:.1} KB a frame ({:.2} Mbit/s at 30 fps)",
            if noise { "noisy" } else { "plain" },
            at(0.5),
            at(0.9),
            bytes as f64 / f64::from(frames) / 1000.0,
            bytes as f64 * 8.0 * 30.0 / f64::from(frames) / 1e6,
        );
    }
    Ok(())
}
