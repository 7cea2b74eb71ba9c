//! The reductions that make the motion detector's small grayscale pictures ([`GrayImage`]) from
//! a camera frame: a JPEG (its 8x8 block means, or a full luma decode) or RGB pixels.

use super::gray_image::GrayImage;
use super::jpeg_dc::{self, DcLuma};
use crate::{Error, RgbImage, jpeg};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

/// The reduction factor for a `width`x`height` frame: the largest power of two (1 to 64) that
/// keeps the longer side at least `reduce_to` pixels. 1280x720 with 160 gives 8 (160x90),
/// 1920x1080 gives 8 (240x135), 640x480 gives 4 (160x120), 3840x2160 gives 16 (240x135).
pub fn reduction_factor(width: u32, height: u32, reduce_to: u32) -> u32 {
    let ratio = width.max(height) / reduce_to.max(1);
    let mut factor = 1;
    while factor < 64 && factor * 2 <= ratio {
        factor *= 2;
    }
    factor
}

/// Box-averages `factor`x`factor` blocks of `src` (sides rounded up: a partial block at the
/// right or bottom edge averages the pixels it has).
pub fn box_reduce(src: &GrayImage, factor: u32) -> GrayImage {
    let factor = factor.max(1);
    if factor == 1 {
        return src.clone();
    }
    let (w, h) = (src.width as usize, src.height as usize);
    let f = factor as usize;
    let (dw, dh) = (w.div_ceil(f), h.div_ceil(f));
    let mut out = Vec::with_capacity(dw * dh);
    let mut acc = vec![0u32; dw];
    for by in 0..dh {
        acc.iter_mut().for_each(|a| *a = 0);
        let rows = (by * f..((by + 1) * f).min(h)).len();
        for y in by * f..by * f + rows {
            let row = &src.data[y * w..(y + 1) * w];
            for (a, chunk) in acc.iter_mut().zip(row.chunks(f)) {
                *a += chunk.iter().map(|&v| u32::from(v)).sum::<u32>();
            }
        }
        for (bx, &a) in acc.iter().enumerate() {
            let cols = (bx * f..((bx + 1) * f).min(w)).len();
            let n = (rows * cols) as u32;
            out.push(((a + n / 2) / n) as u8);
        }
    }
    GrayImage {
        width: dw as u32,
        height: dh as u32,
        data: out,
    }
}

/// Luma (ITU-R BT.601, as JPEG's YCbCr uses) of RGB pixels, reduced by
/// [`reduction_factor`]`(.., reduce_to)`.
pub fn reduce_rgb(img: &RgbImage, reduce_to: u32) -> Result<GrayImage, Error> {
    let (w, h) = (img.width as usize, img.height as usize);
    if w == 0 || h == 0 || img.data.len() != w * h * 3 {
        return Err(Error::invalid(format!(
            "an RGB image of {}x{} with {} bytes of pixels",
            img.width,
            img.height,
            img.data.len()
        )));
    }
    let factor = reduction_factor(img.width, img.height, reduce_to) as usize;
    let (dw, dh) = (w.div_ceil(factor), h.div_ceil(factor));
    // Each channel summed down the block's rows first (a plain add of bytes, which
    // vectorises), then weighted into luma once per block: sums of 256 x luma, at most
    // 64 x 64 pixels of 65280, fit in u32.
    let mut out = Vec::with_capacity(dw * dh);
    let mut columns = vec![0u32; w * 3];
    for by in 0..dh {
        columns.iter_mut().for_each(|c| *c = 0);
        let rows = by * factor..((by + 1) * factor).min(h);
        let row_count = rows.len();
        for y in rows {
            let row = &img.data[y * w * 3..(y + 1) * w * 3];
            for (c, &v) in columns.iter_mut().zip(row) {
                *c += u32::from(v);
            }
        }
        for (bx, block) in columns.chunks(factor * 3).enumerate() {
            let sum: u32 = block
                .chunks_exact(3)
                .map(|p| 77 * p[0] + 150 * p[1] + 29 * p[2])
                .sum();
            let cols = (bx * factor..((bx + 1) * factor).min(w)).len();
            let n = (row_count * cols) as u32 * 256;
            out.push(((sum + n / 2) / n) as u8);
        }
    }
    Ok(GrayImage {
        width: dw as u32,
        height: dh as u32,
        data: out,
    })
}

/// Luma of a JPEG, reduced by [`reduction_factor`]`(.., reduce_to)`, as cheaply as the JPEG
/// allows: at a factor of 8 or more a baseline JPEG is read for its 8x8 block means only (no
/// IDCT, no chroma, no colour conversion); otherwise, or for progressive and other rarer JPEGs,
/// the luma is fully decoded and box-averaged. Damaged data is an error of kind `Corrupt`.
pub fn reduce_jpeg(data: &[u8], reduce_to: u32) -> Result<GrayImage, Error> {
    if let DcLuma::Decoded {
        image,
        width,
        height,
    } = jpeg_dc::decode(data)?
    {
        let factor = reduction_factor(width, height, reduce_to);
        if factor >= 8 {
            return Ok(box_reduce(&image, factor / 8));
        }
    }
    let full = decode_luma(data)?;
    let factor = reduction_factor(full.width, full.height, reduce_to);
    Ok(box_reduce(&full, factor))
}

/// The full-size luma of a JPEG through zune-jpeg, whose grayscale output skips chroma
/// upsampling and colour conversion (and the IDCT of chroma); through an RGB decode for the
/// rare JPEGs that are not YCbCr or grayscale.
pub fn decode_luma(data: &[u8]) -> Result<GrayImage, Error> {
    let side = jpeg::MAX_SIDE as usize;
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(side)
        .set_max_height(side)
        // A truncated frame would decode with a grey bottom: that is damage, not motion.
        .set_strict_mode(true);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(data), options);
    let pixels = dec
        .decode()
        .map_err(|e| Error::corrupt(format!("JPEG decode failed: {e}")))?;
    let (w, h) = dec
        .dimensions()
        .ok_or_else(|| Error::corrupt("JPEG decode gave no dimensions"))?;
    match GrayImage::from_raw(w as u32, h as u32, pixels) {
        Some(img) => Ok(img),
        // E.g. an Adobe RGB or CMYK JPEG: let the general decoder convert it.
        None => reduce_rgb(&jpeg::decode_rgb(data)?, u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduction_factor_keeps_the_longer_side_at_least_the_target() {
        assert_eq!(reduction_factor(1280, 720, 160), 8);
        assert_eq!(reduction_factor(720, 1280, 160), 8);
        assert_eq!(reduction_factor(1920, 1080, 160), 8);
        assert_eq!(reduction_factor(3840, 2160, 160), 16);
        assert_eq!(reduction_factor(640, 480, 160), 4);
        assert_eq!(reduction_factor(320, 240, 160), 2);
        assert_eq!(reduction_factor(100, 50, 160), 1);
        assert_eq!(reduction_factor(1280, 720, 0), 64);
        assert_eq!(reduction_factor(0, 0, 160), 1);
    }

    #[test]
    fn box_reduce_averages_and_keeps_partial_edge_blocks() {
        let mut img = GrayImage::new(10, 5);
        img.fill_rect(0, 0, 4, 4, 100);
        img.fill_rect(8, 0, 2, 5, 200);
        let r = box_reduce(&img, 4);
        assert_eq!((r.width(), r.height()), (3, 2));
        assert_eq!(r.pixel(0, 0), 100);
        assert_eq!(r.pixel(1, 0), 0);
        assert_eq!(
            r.pixel(2, 0),
            200,
            "the 2-wide edge block averages its own pixels"
        );
        assert_eq!(r.pixel(2, 1), 200, "the 2x1 corner block too");
    }

    #[test]
    fn rgb_luma_matches_bt601() {
        let mut img = RgbImage::new(16, 8);
        img.fill_rect(0, 0, 8, 8, [255, 255, 255]);
        img.fill_rect(8, 0, 8, 8, [255, 0, 0]);
        let g = reduce_rgb(&img, 2).expect("valid image");
        assert_eq!((g.width(), g.height()), (2, 1));
        assert_eq!(g.pixel(0, 0), 255);
        assert_eq!(g.pixel(1, 0), 77); // 0.299 * 255
        let bad = RgbImage {
            width: 4,
            height: 4,
            data: vec![0; 5],
        };
        assert!(reduce_rgb(&bad, 2).is_err());
    }

    #[test]
    fn gray_image_rejects_wrong_sizes_and_never_reads_outside() {
        assert!(GrayImage::from_raw(2, 2, vec![0; 3]).is_none());
        assert!(GrayImage::from_raw(0, 2, vec![]).is_none());
        let g = GrayImage::new(0, 0);
        assert_eq!((g.width(), g.height()), (1, 1));
        assert_eq!(g.pixel(5, 5), 0);
    }

    #[test]
    fn progressive_jpeg_takes_the_full_decode_and_gives_the_same_picture() {
        let mut img = RgbImage::new(320, 184);
        for (i, px) in img.data.chunks_mut(3).enumerate() {
            let (x, y) = (i % 320, i / 320);
            px.copy_from_slice(&[(x / 2) as u8, (y + 40) as u8, ((x + y) % 200) as u8]);
        }
        img.fill_rect(100, 60, 50, 40, [250, 250, 250]);
        let encode = |progressive: bool| {
            let mut out = Vec::new();
            let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
            enc.set_progressive(progressive);
            enc.encode(&img.data, 320, 184, jpeg_encoder::ColorType::Rgb)
                .expect("encode");
            out
        };
        // 320 / 160 = 2: a baseline JPEG at factor 2 is fully decoded too; use 40 for factor 8.
        let fast = reduce_jpeg(&encode(false), 40).expect("baseline");
        let slow = reduce_jpeg(&encode(true), 40).expect("progressive");
        assert_eq!((fast.width(), fast.height()), (40, 23));
        assert_eq!((slow.width(), slow.height()), (40, 23));
        let worst = fast
            .pixels()
            .iter()
            .zip(slow.pixels())
            .map(|(a, b)| a.abs_diff(*b))
            .max();
        assert!(worst <= Some(3), "{worst:?}");
        assert_eq!(
            reduce_jpeg(&encode(false), 160).expect("factor 2").width(),
            160
        );
    }
}
