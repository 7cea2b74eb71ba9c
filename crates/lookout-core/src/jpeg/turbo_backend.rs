//! libjpeg-turbo through the turbojpeg crate (feature `turbojpeg`).

use crate::{Error, RgbImage};
use std::cell::RefCell;

pub const NAME: &str = "libjpeg-turbo";

thread_local! {
    // A compressor holds libjpeg state worth reusing: creating one per frame costs more than
    // encoding a small variant. One per thread keeps it free of locks.
    static COMPRESSOR: RefCell<Option<turbojpeg::Compressor>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<turbojpeg::Decompressor>> = const { RefCell::new(None) };
}

pub fn encode_rgb(img: &RgbImage, quality: u8) -> Result<Vec<u8>, Error> {
    let image = turbojpeg::Image {
        pixels: img.data.as_slice(),
        width: img.width as usize,
        pitch: img.width as usize * 3,
        height: img.height as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(
                turbojpeg::Compressor::new()
                    .map_err(|e| Error::internal(format!("libjpeg-turbo init: {e}")))?,
            );
        }
        let Some(c) = slot.as_mut() else {
            return Err(Error::internal("libjpeg-turbo compressor missing"));
        };
        let out = c
            .set_quality(i32::from(quality))
            .and_then(|()| c.set_subsamp(turbojpeg::Subsamp::Sub2x2))
            .and_then(|()| c.compress_to_vec(image));
        if out.is_err() {
            // libjpeg state after an error is not to be trusted: start afresh next time.
            *slot = None;
        }
        out.map_err(|e| Error::internal(format!("JPEG encode failed: {e}")))
    })
}

pub fn decode_rgb(data: &[u8]) -> Result<RgbImage, Error> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(
                turbojpeg::Decompressor::new()
                    .map_err(|e| Error::internal(format!("libjpeg-turbo init: {e}")))?,
            );
        }
        let Some(d) = slot.as_mut() else {
            return Err(Error::internal("libjpeg-turbo decompressor missing"));
        };
        let result = d.read_header(data).and_then(|header| {
            let mut img = RgbImage::new(header.width as u32, header.height as u32);
            let out = turbojpeg::Image {
                pixels: img.data.as_mut_slice(),
                width: header.width,
                pitch: header.width * 3,
                height: header.height,
                format: turbojpeg::PixelFormat::RGB,
            };
            d.decompress(data, out).map(|()| img)
        });
        if result.is_err() {
            // After a damaged JPEG the decompressor refuses every later one (seen with
            // libjpeg-turbo 3.1): replace it, or one bad frame would break all decoding.
            *slot = None;
        }
        result.map_err(|e| Error::corrupt(format!("JPEG decode failed: {e}")))
    })
}
