//! Packed 8-bit RGB images: what sources render or decode into and what encoders take.

/// Tightly packed RGB, 3 bytes a pixel, rows top to bottom, no padding.
#[derive(Clone, PartialEq, Eq)]
pub struct RgbImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for RgbImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RgbImage({}x{})", self.width, self.height)
    }
}

impl RgbImage {
    /// A black image.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![0; width as usize * height as usize * 3],
        }
    }

    /// Wraps pixels; `None` when `data` is not exactly `width * height * 3` bytes.
    pub fn from_raw(width: u32, height: u32, data: Vec<u8>) -> Option<Self> {
        (data.len() == width as usize * height as usize * 3).then_some(Self {
            width,
            height,
            data,
        })
    }

    /// Turns the picture 180° in place: the pixel order reversed.
    pub fn rotate_180(&mut self) {
        let pixels = self.data.len() / 3;
        for i in 0..pixels / 2 {
            let j = pixels - 1 - i;
            for c in 0..3 {
                self.data.swap(i * 3 + c, j * 3 + c);
            }
        }
    }

    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Fills a rectangle, clipped to the image.
    pub fn fill_rect(&mut self, x: i64, y: i64, w: u32, h: u32, rgb: [u8; 3]) {
        let x0 = x.clamp(0, self.width as i64) as usize;
        let y0 = y.clamp(0, self.height as i64) as usize;
        let x1 = (x + w as i64).clamp(0, self.width as i64) as usize;
        let y1 = (y + h as i64).clamp(0, self.height as i64) as usize;
        let stride = self.width as usize * 3;
        for row in y0..y1 {
            let line = &mut self.data[row * stride + x0 * 3..row * stride + x1 * 3];
            for px in line.chunks_exact_mut(3) {
                px.copy_from_slice(&rgb);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate_180_reverses_pixels_and_twice_is_identity() {
        let mut img = RgbImage::from_raw(3, 1, vec![1, 1, 1, 2, 2, 2, 3, 3, 3]).unwrap();
        img.rotate_180();
        assert_eq!(img.data, vec![3, 3, 3, 2, 2, 2, 1, 1, 1]);
        let original = RgbImage::from_raw(2, 2, (0..12).collect()).unwrap();
        let mut twice = original.clone();
        twice.rotate_180();
        assert_eq!(twice.pixel(0, 0), original.pixel(1, 1));
        twice.rotate_180();
        assert_eq!(twice, original);
    }
}
