//! A camera-like test image for the JPEG bench: gradients, soft-edged blocks and per-pixel
//! noise, so it compresses like a real frame (sensor noise included) and not like a flat card.

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
            let block = if ((x / 64) + (y / 64)) % 3 == 0 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_image_and_it_is_not_flat() {
        let a = camera_like(64, 48, 7);
        assert_eq!(a, camera_like(64, 48, 7));
        assert_ne!(a, camera_like(64, 48, 8));
        let distinct: std::collections::HashSet<&[u8]> = a.data.chunks_exact(3).collect();
        assert!(distinct.len() > 1000, "{} colours", distinct.len());
    }
}
