//! Test pictures and measures shared by the JPEG tests (`jpeg::tests`, `jpeg::decode::tests`):
//! camera-like scenes, JPEGs from jpeg-encoder in the layouts our own encoder does not make,
//! and PSNR.

use crate::RgbImage;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// Red across, green down, blue at 128.
pub(crate) fn gradient(w: u32, h: u32) -> RgbImage {
    let mut img = RgbImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let i = ((y * w + x) * 3) as usize;
            img.data[i] = (x * 255 / w) as u8;
            img.data[i + 1] = (y * 255 / h) as u8;
            img.data[i + 2] = 128;
        }
    }
    img
}

/// Draws over `img` what a camera's picture has besides its background: two hard-edged colour
/// blocks and a soft disc (in green), so a wrong subsampling, IDCT scale or colour conversion
/// shows up as a large error.
pub(crate) fn with_blocks_and_disc(mut img: RgbImage) -> RgbImage {
    let (w, h) = (img.width, img.height);
    let blocks = [
        (w / 5, h / 4, w / 4, h / 3, [230, 40, 30]),
        (w / 2, h / 2, w / 3, h / 4, [20, 60, 220]),
    ];
    for (x, y, block_w, block_h, colour) in blocks {
        img.fill_rect(i64::from(x), i64::from(y), block_w, block_h, colour);
    }
    let (cx, cy, r) = (
        f64::from(w) * 0.7,
        f64::from(h) * 0.3,
        f64::from(w.min(h)) / 5.0,
    );
    for y in 0..h {
        for x in 0..w {
            let d = ((f64::from(x) - cx).powi(2) + (f64::from(y) - cy).powi(2)).sqrt();
            if d < r {
                let i = ((y * w + x) * 3) as usize;
                img.data[i + 1] = (255.0 * (1.0 - d / r)) as u8;
            }
        }
    }
    img
}

/// `img` encoded by jpeg-encoder at `quality` with `sampling`, as grey (its green channel) if
/// `grey`; `setup` sets the rest (progressive, restart interval, Huffman tables…).
pub(crate) fn encode_with(
    img: &RgbImage,
    quality: u8,
    sampling: SamplingFactor,
    grey: bool,
    setup: impl FnOnce(&mut Encoder<&mut Vec<u8>>),
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, quality);
    enc.set_sampling_factor(sampling);
    setup(&mut enc);
    let (w, h) = (img.width as u16, img.height as u16);
    let result = if grey {
        let luma: Vec<u8> = img.data.chunks(3).map(|p| p[1]).collect();
        enc.encode(&luma, w, h, ColorType::Luma)
    } else {
        enc.encode(&img.data, w, h, ColorType::Rgb)
    };
    result.expect("encode");
    out
}

/// Peak signal-to-noise ratio of `b` against `a` over all three channels, in dB (about 90 for
/// identical pictures).
pub(crate) fn psnr_db(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let sum: f64 = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    let mse = sum / a.data.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

/// Damaged copies of a JPEG for the decoders' robustness tests: a seeded xorshift generator
/// (the same sequence every run) flips a bit, writes a marker byte, truncates or overwrites a
/// byte, one to four times per copy.
pub(crate) struct Damage {
    state: u64,
}

impl Damage {
    pub(crate) fn new() -> Self {
        Self {
            state: 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// A number below `n` (0 for `n` = 0).
    fn below(&mut self, n: usize) -> usize {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state % n.max(1) as u64) as usize
    }

    pub(crate) fn damaged(&mut self, base: &[u8]) -> Vec<u8> {
        let mut d = base.to_vec();
        for _ in 0..1 + self.below(4) {
            let i = self.below(d.len());
            match self.below(4) {
                0 => d[i] ^= 1 << self.below(8),
                1 => d[i] = [0x00, 0xFF, 0xD0, 0xD9, 0xDA, 0xC4, 0xDD][self.below(7)],
                2 => d.truncate(i.max(2)),
                _ => d[i] = self.below(256) as u8,
            }
        }
        d
    }
}
