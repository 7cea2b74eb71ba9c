//! RGB to YCbCr (JFIF: ITU-R BT.601, full range) for one row of MCUs, with 4:2:0 chroma as the
//! average of each 2x2 of pixels, and the edges past the picture filled by repeating its last
//! column and row (what libjpeg does; it keeps padding from adding edges to code).

use crate::RgbImage;

/// One row of MCUs (16 rows of pixels) as the blocks are read: luma 16 x `width`, chroma
/// 8 x `width / 2`, samples already minus 128 (T.81 A.3.1's level shift; chroma is centred
/// on 0 as it is).
pub struct McuRow {
    /// Padded to a multiple of 16.
    pub width: usize,
    pub y: Vec<f32>,
    pub cb: Vec<f32>,
    pub cr: Vec<f32>,
}

impl McuRow {
    pub fn new(image_width: u32) -> Self {
        let width = (image_width as usize).div_ceil(16) * 16;
        Self {
            width,
            y: vec![0.0; 16 * width],
            cb: vec![0.0; 8 * width / 2],
            cr: vec![0.0; 8 * width / 2],
        }
    }

    /// Fills the row of MCUs whose first pixel row is `top`.
    #[inline(always)]
    pub fn fill(&mut self, img: &RgbImage, top: usize) {
        let (w, h) = (img.width as usize, img.height as usize);
        let stride = w * 3;
        let row = |y: usize| &img.data[y.min(h - 1) * stride..][..stride];
        for r in 0..16 {
            let src = row(top + r);
            let out = &mut self.y[r * self.width..][..self.width];
            for (o, p) in out.iter_mut().zip(src.chunks_exact(3)) {
                let (r, g, b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
                *o = 0.299 * r + 0.587 * g + 0.114 * b - 128.0;
            }
            let last = out[w - 1];
            out[w..].fill(last);
        }
        let half = self.width / 2;
        for r in 0..8 {
            let (a, b) = (row(top + 2 * r), row(top + 2 * r + 1));
            let (cb, cr) = (
                &mut self.cb[r * half..][..half],
                &mut self.cr[r * half..][..half],
            );
            // Pairs of whole pixels; an odd last column pairs with itself.
            let pairs = w / 2;
            for x in 0..pairs {
                let i = x * 6;
                let sum = |c: usize| {
                    f32::from(a[i + c])
                        + f32::from(a[i + 3 + c])
                        + f32::from(b[i + c])
                        + f32::from(b[i + 3 + c])
                };
                let (r, g, bl) = (sum(0) * 0.25, sum(1) * 0.25, sum(2) * 0.25);
                cb[x] = -0.168_735_9 * r - 0.331_264_1 * g + 0.5 * bl;
                cr[x] = 0.5 * r - 0.418_687_6 * g - 0.081_312_4 * bl;
            }
            let mut filled = pairs;
            if w % 2 == 1 {
                let i = (w - 1) * 3;
                let avg = |c: usize| (f32::from(a[i + c]) + f32::from(b[i + c])) * 0.5;
                let (r, g, bl) = (avg(0), avg(1), avg(2));
                cb[pairs] = -0.168_735_9 * r - 0.331_264_1 * g + 0.5 * bl;
                cr[pairs] = 0.5 * r - 0.418_687_6 * g - 0.081_312_4 * bl;
                filled += 1;
            }
            let (lb, lr) = (cb[filled - 1], cr[filled - 1]);
            cb[filled..].fill(lb);
            cr[filled..].fill(lr);
        }
    }
}
