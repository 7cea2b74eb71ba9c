//! Camera-like test images for the JPEG bench. [`camera_like`]: gradients, hard-edged blocks
//! and strong per-pixel noise, a worst case (a dim, noisy webcam picture) that is hard to
//! compress. [`smooth_camera_like`]: gradients, soft shapes and mild noise, closer to a
//! well-lit camera picture. And [`read_image`] for a real picture from a file.

use lookout_core::RgbImage;

/// A deterministic image of `width`x`height`; `seed` varies the noise.
pub fn camera_like(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut img = RgbImage::new(width, height);
    // xorshift64: fast, and good enough to look like noise to a DCT.
    let mut state = seed | 1;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (w, h) = (width.max(1), height.max(1));
    let row_len = width as usize * 3;
    for (y, row) in img.data.chunks_exact_mut(row_len).enumerate() {
        let y = y as u32;
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            let x = x as u32;
            // Gradients across and down, and 64-pixel blocks of a darker shade for edges.
            let block = if ((x / 64) + (y / 64)).is_multiple_of(3) {
                40
            } else {
                0
            };
            let base = [
                (x * 255 / w) as i32 - block,
                (y * 255 / h) as i32,
                ((x + y) * 255 / (w + h)) as i32 + block,
            ];
            let n = noise();
            for (c, (out, b)) in px.iter_mut().zip(base).enumerate() {
                // About ±12 of noise per channel, as a webcam in indoor light gives.
                let jitter = ((n >> (c * 8)) & 0x1f) as i32 - 16;
                *out = (b + jitter * 3 / 4).clamp(0, 255) as u8;
            }
        }
    }
    img
}

/// A smoother picture of `width`x`height`: gradients, large soft-edged discs and bands, and
/// about ±2 of noise per channel; `seed` varies the noise.
pub fn smooth_camera_like(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut img = RgbImage::new(width, height);
    let mut state = seed | 1;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    // Discs as (centre x, centre y, radius) in fractions of the height, and their colour shift.
    let discs = [
        (0.3, 0.45, 0.25, [60, 30, -20]),
        (1.2, 0.6, 0.3, [-40, 20, 50]),
        (1.5, 0.25, 0.12, [30, 60, 10]),
    ];
    let row_len = width as usize * 3;
    for (y, row) in img.data.chunks_exact_mut(row_len).enumerate() {
        let fy = y as f64 / h;
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            let fx = x as f64 / h; // in heights, so discs stay round
            let mut c = [
                70.0 + 120.0 * fy,
                90.0 + 80.0 * (x as f64 / w),
                140.0 - 60.0 * fy,
            ];
            // A soft horizontal band, like a table edge or a horizon.
            let band = 1.0 / (1.0 + ((fy - 0.7) * 40.0).exp());
            for v in &mut c {
                *v -= 35.0 * band;
            }
            for &(cx, cy, r, shift) in &discs {
                let d = ((fx - cx).powi(2) + (fy - cy).powi(2)).sqrt();
                // 1 inside, 0 outside, a soft edge ~1% of the height wide.
                let inside = 1.0 / (1.0 + ((d - r) * 300.0).exp());
                for (v, s) in c.iter_mut().zip(shift) {
                    *v += f64::from(s) * inside;
                }
            }
            let n = noise();
            for (ch, (out, v)) in px.iter_mut().zip(c).enumerate() {
                let jitter = ((n >> (ch * 8)) & 0x7) as f64 - 3.5; // about ±2 after rounding
                *out = (v + jitter * 0.6).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    img
}

/// A picture from a file: binary PPM (`P6`, maxval 255, as `ffmpeg -frames:v 1 x.ppm` writes)
/// or a JPEG (decoded with the compiled-in backend).
pub fn read_image(path: &std::path::Path) -> std::io::Result<RgbImage> {
    let data = std::fs::read(path)?;
    let bad = |why: &str| std::io::Error::other(format!("{}: {why}", path.display()));
    if data.starts_with(b"P6") {
        parse_ppm(&data).ok_or_else(|| bad("not a binary PPM with maxval 255"))
    } else {
        lookout_core::jpeg::decode_rgb(&data).map_err(|e| bad(&format!("not a JPEG or PPM: {e}")))
    }
}

/// A `P6` PPM with maxval 255; comments (`#` to the line end) allowed in the header.
fn parse_ppm(data: &[u8]) -> Option<RgbImage> {
    let mut pos = 2; // after "P6"
    let mut header = [0u32; 3];
    for value in &mut header {
        loop {
            match data.get(pos)? {
                b if b.is_ascii_whitespace() => pos += 1,
                b'#' => pos += data[pos..].iter().position(|&b| b == b'\n')?,
                _ => break,
            }
        }
        let digits = data[pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        *value = std::str::from_utf8(&data[pos..pos + digits])
            .ok()?
            .parse()
            .ok()?;
        pos += digits;
    }
    let [width, height, maxval] = header;
    if maxval != 255 || !data.get(pos)?.is_ascii_whitespace() {
        return None;
    }
    let pixels = data.get(pos + 1..)?;
    let len = width as usize * height as usize * 3;
    RgbImage::from_raw(width, height, pixels.get(..len)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smooth_image_is_smooth_but_not_flat() {
        let a = smooth_camera_like(320, 180, 3);
        assert_eq!(a, smooth_camera_like(320, 180, 3));
        // Neighbours differ little on average, much less than in the noisy image.
        let step = |img: &RgbImage| {
            let d: u64 = img
                .data
                .windows(4)
                .step_by(3)
                .map(|w| u64::from(w[0].abs_diff(w[3])))
                .sum();
            d as f64 / (img.data.len() / 3) as f64
        };
        let noisy = camera_like(320, 180, 3);
        assert!(step(&a) < 2.5, "{}", step(&a));
        assert!(
            step(&noisy) > 2.0 * step(&a),
            "{} vs {}",
            step(&noisy),
            step(&a)
        );
        let (lo, hi) = a
            .data
            .iter()
            .fold((255, 0), |(lo, hi), &v| (v.min(lo), v.max(hi)));
        assert!(hi - lo > 100, "{lo}..{hi}");
    }

    #[test]
    fn ppm_is_read_with_comments() {
        let mut ppm = b"P6\n# by ffmpeg\n2 1\n255\n".to_vec();
        ppm.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        let img = parse_ppm(&ppm).expect("a valid PPM");
        assert_eq!((img.width, img.height), (2, 1));
        assert_eq!(img.pixel(1, 0), [4, 5, 6]);
        assert!(
            parse_ppm(&ppm[..ppm.len() - 1]).is_none(),
            "short pixel data"
        );
        assert!(parse_ppm(b"P6 2 1 65535\n123456789012").is_none(), "16-bit");
    }

    #[test]
    fn same_seed_same_image_and_it_is_not_flat() {
        let a = camera_like(64, 48, 7);
        assert_eq!(a, camera_like(64, 48, 7));
        assert_ne!(a, camera_like(64, 48, 8));
        let distinct: std::collections::HashSet<&[u8]> = a.data.chunks_exact(3).collect();
        assert!(distinct.len() > 1000, "{} colours", distinct.len());
    }
}
