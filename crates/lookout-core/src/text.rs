//! Text drawn into frames (the test pattern's clock, "no signal" cards) with the public-domain
//! 8x8 bitmap font of the font8x8 crate, scaled by whole pixels.

use crate::RgbImage;

/// Width in pixels of `text` drawn at `scale`.
pub fn text_width(text: &str, scale: u32) -> u32 {
    text.chars().count() as u32 * 8 * scale
}

/// Draws `text` with its top-left corner at (x, y); pixels outside the image are clipped.
/// Characters the font lacks are drawn as `?`.
pub fn draw_text(img: &mut RgbImage, x: i64, y: i64, text: &str, scale: u32, rgb: [u8; 3]) {
    let scale = scale.max(1);
    for (n, ch) in text.chars().enumerate() {
        let code = if ch.is_ascii() {
            ch as usize
        } else {
            '?' as usize
        };
        let glyph = font8x8::legacy::BASIC_LEGACY[code];
        let gx = x + (n as i64) * 8 * i64::from(scale);
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    img.fill_rect(
                        gx + col * i64::from(scale),
                        y + row as i64 * i64::from(scale),
                        scale,
                        scale,
                        rgb,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_inside_its_box_only() {
        let mut img = RgbImage::new(40, 20);
        draw_text(&mut img, 4, 2, "H1", 2, [255, 255, 255]);
        let lit: Vec<(u32, u32)> = (0..20)
            .flat_map(|y| (0..40).map(move |x| (x, y)))
            .filter(|&(x, y)| img.pixel(x, y) == [255, 255, 255])
            .collect();
        assert!(!lit.is_empty());
        assert!(
            lit.iter()
                .all(|&(x, y)| (4..4 + 32).contains(&x) && (2..18).contains(&y))
        );
        assert_eq!(text_width("H1", 2), 32);
    }

    #[test]
    fn text_past_the_edges_is_clipped() {
        let mut img = RgbImage::new(10, 10);
        draw_text(&mut img, -20, -3, "WIDE TEXT €", 3, [1, 2, 3]);
        draw_text(&mut img, 5, 5, "XYZ", 9, [1, 2, 3]);
    }
}
