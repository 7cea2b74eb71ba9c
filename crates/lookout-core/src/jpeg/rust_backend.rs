//! Pure-Rust JPEG: jpeg-encoder (with its runtime-detected AVX2 path) and zune-jpeg.

use crate::{Error, RgbImage};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

pub const NAME: &str = "rust (jpeg-encoder + zune-jpeg)";

pub fn encode_rgb(img: &RgbImage, quality: u8) -> Result<Vec<u8>, Error> {
    // A 4:2:0 JPEG of a camera frame is usually 1/10 of the raw size or less.
    let mut out = Vec::with_capacity(img.data.len() / 8);
    let mut enc = Encoder::new(&mut out, quality);
    enc.set_sampling_factor(SamplingFactor::R_4_2_0);
    // Sides were checked against MAX_SIDE (8192) by the caller, so they fit in u16.
    enc.encode(
        &img.data,
        img.width as u16,
        img.height as u16,
        ColorType::Rgb,
    )
    .map_err(|e| Error::internal(format!("JPEG encode failed: {e}")))?;
    Ok(out)
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
