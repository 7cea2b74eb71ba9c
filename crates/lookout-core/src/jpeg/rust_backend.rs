//! Pure-Rust JPEG: Lookout's own encoder ([`super::encode`]) and zune-jpeg.

use crate::{Error, RgbImage};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

pub const NAME: &str = "rust (lookout encoder + zune-jpeg)";

pub fn encode_rgb(img: &RgbImage, quality: u8) -> Result<Vec<u8>, Error> {
    Ok(super::encode::encode_rgb(img, quality))
}

pub fn decode_rgb(data: &[u8]) -> Result<RgbImage, Error> {
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut dec = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(data), options);
    let pixels = dec
        .decode()
        .map_err(|e| Error::corrupt(format!("JPEG decode failed: {e}")))?;
    let (w, h) = dec
        .dimensions()
        .ok_or_else(|| Error::corrupt("JPEG decode gave no dimensions"))?;
    RgbImage::from_raw(w as u32, h as u32, pixels)
        .ok_or_else(|| Error::corrupt("JPEG decode gave a wrong pixel count"))
}
