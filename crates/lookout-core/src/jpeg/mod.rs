//! JPEG encode and decode behind one interface; the backend is chosen at build time:
//! pure Rust (our own encoder, zune-jpeg) by default, libjpeg-turbo with the `turbojpeg` feature.

pub mod decode;
// The default build's encoder; with `turbojpeg` only its tables are used (by `quality`).
#[cfg_attr(feature = "turbojpeg", allow(dead_code))]
mod encode;
mod limits;
mod quality;
mod scan;
#[cfg(test)]
pub(crate) mod test_pictures;
#[cfg(test)]
mod tests;

// The pure-Rust backend is always built (its crates are in the default build anyway), so
// tests can hold both backends to the same checks when `turbojpeg` is on.
#[cfg_attr(feature = "turbojpeg", allow(dead_code))]
mod rust_backend;
#[cfg(not(feature = "turbojpeg"))]
use rust_backend as backend;
#[cfg(feature = "turbojpeg")]
mod turbo_backend;
#[cfg(feature = "turbojpeg")]
use turbo_backend as backend;

pub use limits::MAX_SIDE;
pub use quality::estimate_quality;
pub use scan::{JpegInfo, JpegScanner, Scan, inspect};

use crate::{Error, RgbImage};

/// The name of the compiled-in backend, for logs and `/metrics`.
pub const BACKEND: &str = backend::NAME;

/// Encodes RGB pixels at `quality` (1..=100) with 4:2:0 chroma subsampling.
pub fn encode_rgb(img: &RgbImage, quality: u8) -> Result<Vec<u8>, Error> {
    if img.width == 0 || img.height == 0 || img.width > MAX_SIDE || img.height > MAX_SIDE {
        return Err(Error::invalid(format!(
            "cannot encode a {}x{} image (sides must be 1..={MAX_SIDE})",
            img.width, img.height
        )));
    }
    backend::encode_rgb(img, quality.clamp(1, 100))
}

/// Decodes a JPEG to RGB pixels. Damaged data gives an error of kind `Corrupt`, never a panic.
pub fn decode_rgb(data: &[u8]) -> Result<RgbImage, Error> {
    let info = checked_info(data)?;
    decode_full(&data[..info.len], &info)
}

/// Decodes a JPEG to at least `min_w`x`min_h` pixels (on both sides), or to its full size if
/// smaller, at the least cost: when 1/2, 1/4 or 1/8 of the size (rounded up) is still large
/// enough, the largest such reduction straight from the coefficients ([`decode::scaled`]: no
/// full-size IDCT, chroma upsampling or colour conversion), so a variant resizes only the
/// rest. A JPEG that decoder does not handle (progressive, one scan per component, 12-bit,
/// CMYK...) or finds damaged is decoded in full and averaged down by the same factor
/// (`scale::reduce`); so is every JPEG with the `turbojpeg` backend. Damaged data gives an
/// error of kind `Corrupt`, never a panic. Costs: docs/performance.md, Round 2.
pub fn decode_rgb_at_least(data: &[u8], min_w: u32, min_h: u32) -> Result<RgbImage, Error> {
    let info = checked_info(data)?;
    let data = &data[..info.len];
    let Some(factor) = crate::scale::reduction_for(info.width, info.height, min_w, min_h) else {
        return decode_full(data, &info);
    };
    #[cfg(not(feature = "turbojpeg"))]
    if let Ok(decode::scaled::Scaled::Decoded(img)) = decode::scaled::decode(data, factor) {
        // A second frame header after the first scan can make the scanner's size differ
        // (found by fuzzing): then the full decode decides, as for any damaged JPEG.
        if (img.width, img.height) == (info.width.div_ceil(factor), info.height.div_ceil(factor)) {
            return Ok(img);
        }
    }
    Ok(crate::scale::reduce(&decode_full(data, &info)?, factor))
}

/// The JPEG's structure and size, refused past [`MAX_SIDE`].
fn checked_info(data: &[u8]) -> Result<JpegInfo, Error> {
    let info = inspect(data).map_err(Error::corrupt)?;
    if info.width > MAX_SIDE || info.height > MAX_SIDE {
        return Err(Error::corrupt(format!(
            "JPEG of {}x{} is larger than {MAX_SIDE} on a side",
            info.width, info.height
        )));
    }
    Ok(info)
}

fn decode_full(data: &[u8], info: &JpegInfo) -> Result<RgbImage, Error> {
    let img = backend::decode_rgb(data)?;
    if img.width != info.width || img.height != info.height {
        return Err(Error::corrupt("decoded size differs from the JPEG header"));
    }
    Ok(img)
}
