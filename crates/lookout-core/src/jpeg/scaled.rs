//! Decoding a JPEG straight to 1/2, 1/4 or 1/8 of its size with a scaled IDCT (jpeg-decoder,
//! pure Rust): a variant much smaller than its camera skips most of the IDCT, the colour
//! conversion and the resize a full decode would cost (docs/performance.md, "Variants").

use crate::{Error, RgbImage};
use jpeg_decoder::{Decoder, PixelFormat};

/// `side` decoded at `eighths`/8, as the decoder rounds it: up, so every pixel is covered.
pub fn scaled_side(side: u32, eighths: u32) -> u32 {
    (side * eighths).div_ceil(8)
}

/// The smallest IDCT scale (eighths: 1, 2 or 4) at which a `w`x`h` JPEG still decodes to at
/// least `min_w`x`min_h`; `None` when only the full size (8/8) is that large.
pub fn scale_for(w: u32, h: u32, min_w: u32, min_h: u32) -> Option<u32> {
    [1, 2, 4]
        .into_iter()
        .find(|&e| scaled_side(w, e) >= min_w && scaled_side(h, e) >= min_h)
}

/// Decodes `data` (a whole JPEG of `w`x`h`) at `eighths`/8 of its size. `Ok(None)` when this
/// decoder cannot (a CMYK or 16-bit JPEG, or it would pick another scale): the caller then
/// decodes at full size. Damaged data is an error of kind `Corrupt`.
pub fn decode_scaled(
    data: &[u8],
    w: u32,
    h: u32,
    eighths: u32,
) -> Result<Option<RgbImage>, Error> {
    let corrupt = |e: jpeg_decoder::Error| Error::corrupt(format!("JPEG decode failed: {e}"));
    let (want_w, want_h) = (scaled_side(w, eighths), scaled_side(h, eighths));
    let mut dec = Decoder::new(data);
    // Sides are at most MAX_SIDE (8192; checked by the caller), so they fit in u16.
    let (got_w, got_h) = dec.scale(want_w as u16, want_h as u16).map_err(corrupt)?;
    if (u32::from(got_w), u32::from(got_h)) != (want_w, want_h) {
        // Tiny pictures, where two scales round to the same size: keep to the plain path.
        return Ok(None);
    }
    let Some(format) = dec.info().map(|i| i.pixel_format) else {
        return Ok(None);
    };
    let pixels = match format {
        PixelFormat::RGB24 => dec.decode().map_err(corrupt)?,
        PixelFormat::L8 => {
            let grey = dec.decode().map_err(corrupt)?;
            grey.iter().flat_map(|&v| [v, v, v]).collect()
        }
        PixelFormat::L16 | PixelFormat::CMYK32 => return Ok(None),
    };
    RgbImage::from_raw(want_w, want_h, pixels)
        .map(Some)
        .ok_or_else(|| Error::corrupt("scaled JPEG decode gave a wrong pixel count"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_smallest_scale_that_is_still_large_enough() {
        assert_eq!(scale_for(1280, 720, 640, 360), Some(4));
        assert_eq!(scale_for(1280, 720, 641, 360), None);
        assert_eq!(scale_for(1280, 720, 480, 270), Some(4));
        assert_eq!(scale_for(1280, 720, 320, 180), Some(2));
        assert_eq!(scale_for(1280, 720, 160, 90), Some(1));
        assert_eq!(scale_for(1280, 720, 100, 200), Some(4));
        // Odd sides round up: 1281 at 1/2 is 641.
        assert_eq!(scale_for(1281, 721, 641, 361), Some(4));
        assert_eq!(scale_for(1, 1, 1, 1), Some(1));
    }
}
