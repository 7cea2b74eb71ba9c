//! A small grayscale picture: what the motion detector analyses, made by the reductions in
//! `gray` (and by `jpeg_dc` from a JPEG's block means).

/// Tightly packed 8-bit luma, rows top to bottom, at least 1x1 (so a detector never divides by
/// an empty area).
#[derive(Clone, PartialEq, Eq)]
pub struct GrayImage {
    // Visible to the reductions next door, which build pictures row by row.
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) data: Vec<u8>,
}

impl std::fmt::Debug for GrayImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrayImage({}x{})", self.width, self.height)
    }
}

impl GrayImage {
    /// A black image; sides of 0 become 1.
    pub fn new(width: u32, height: u32) -> Self {
        let (width, height) = (width.max(1), height.max(1));
        Self {
            width,
            height,
            data: vec![0; width as usize * height as usize],
        }
    }

    /// Wraps pixels; `None` when a side is 0 or `data` is not exactly `width * height` bytes.
    pub fn from_raw(width: u32, height: u32, data: Vec<u8>) -> Option<Self> {
        (width > 0 && height > 0 && data.len() == width as usize * height as usize).then_some(
            Self {
                width,
                height,
                data,
            },
        )
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels, `width` to a row.
    pub fn pixels(&self) -> &[u8] {
        &self.data
    }

    pub fn pixels_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    pub fn into_pixels(self) -> Vec<u8> {
        self.data
    }

    /// The pixel at (`x`, `y`); 0 outside the image.
    pub fn pixel(&self, x: u32, y: u32) -> u8 {
        if x >= self.width || y >= self.height {
            return 0;
        }
        self.data[y as usize * self.width as usize + x as usize]
    }

    /// Fills a rectangle, clipped to the image.
    pub fn fill_rect(&mut self, x: i64, y: i64, w: u32, h: u32, value: u8) {
        let x0 = x.clamp(0, i64::from(self.width)) as usize;
        let y0 = y.clamp(0, i64::from(self.height)) as usize;
        let x1 = (x + i64::from(w)).clamp(0, i64::from(self.width)) as usize;
        let y1 = (y + i64::from(h)).clamp(0, i64::from(self.height)) as usize;
        let stride = self.width as usize;
        for row in y0..y1 {
            self.data[row * stride + x0..row * stride + x1].fill(value);
        }
    }
}
