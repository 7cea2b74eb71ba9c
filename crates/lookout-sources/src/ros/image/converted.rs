//! What a message becomes, and the checks and helpers every conversion shares (the size
//! limit, grey pixels). Its own file because the raw, compressed and depth conversions all
//! use it and `image` uses them.

use bytes::Bytes;
use lookout_core::{Error, RgbImage};

/// Largest side we convert: the JPEG encoder's limit, so a frame we could not publish is
/// refused before its pixels are converted. 8192 × 8192 is 67 M pixels (201 MB of RGB).
pub const MAX_SIDE: u32 = lookout_core::jpeg::MAX_SIDE;

/// What a message becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Converted {
    /// A JPEG as the publisher compressed it; not yet checked (the sink does that).
    Jpeg(Bytes),
    /// Pixels to encode.
    Rgb(RgbImage),
}

/// Checks a picture's sides against [`MAX_SIDE`]; `what` names it in the error.
pub(crate) fn check_size(what: &str, width: u32, height: u32) -> Result<(), Error> {
    if width == 0 || height == 0 {
        return Err(Error::corrupt(format!(
            "{what} {width}x{height}: empty image"
        )));
    }
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(Error::exhausted(format!(
            "{what} {width}x{height}: larger than {MAX_SIDE} pixels on a side"
        )));
    }
    Ok(())
}

/// Grey RGB of grey levels.
pub(crate) fn grey_values(levels: impl ExactSizeIterator<Item = u8>) -> Vec<u8> {
    let mut out = vec![0; levels.len() * 3];
    for (o, g) in out.chunks_exact_mut(3).zip(levels) {
        o.copy_from_slice(&[g, g, g]);
    }
    out
}
