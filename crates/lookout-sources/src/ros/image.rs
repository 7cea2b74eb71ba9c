//! ROS image messages to what the hub takes: `sensor_msgs/Image` pixels to [`RgbImage`] in
//! every encoding we show, and `sensor_msgs/CompressedImage` to a JPEG passed through or
//! pixels decoded from PNG ([`compressed`]).
//!
//! Everything here is a pure function over a message and never panics: a message whose
//! sizes, `step` or data length do not add up, or whose encoding we do not know, gives an
//! error (`Corrupt`, or `InvalidInput` for an encoding we do not read) that the source logs (rate-limited) and counts as a dropped frame. Sizes are
//! checked before anything is allocated, and the output is never more than 3 bytes for each
//! pixel the message really carries.
//!
//! How values become grey levels:
//! - `mono16` is an intensity image: 0..65535 maps to 0..255 (as cv_bridge does, `v / 257`).
//! - `16UC1` (millimetres) and `32FC1` (metres) are depth (REP 118). Their range depends on
//!   the scene, so each frame is stretched over its own valid range: the smallest value
//!   shows dark grey (32), the largest white (255). 0, NaN and ±inf mean "no data" and show
//!   black, so holes stay apart from the nearest surfaces. A frame with one valid value
//!   shows it white. The mapping grows with the value, as in rqt_image_view, so a thermal
//!   camera publishing 16UC1 still shows hot as bright.
//! - `8UC1` and `8UC3` are read as `mono8` and `bgr8`, as cv_bridge reads them.

mod bayer;
pub mod compressed;
mod converted;
mod depth;
#[cfg(test)]
mod tests;

use super::messages::{RosImage, RosMessage};
use converted::check_size;
use lookout_core::pixels::{uyvy_to_rgb, yuyv_to_rgb};
use lookout_core::{Error, RgbImage};

pub use compressed::decode_compressed;
pub use converted::{Converted, MAX_SIDE};

/// Converts any image message.
pub fn convert(msg: RosMessage) -> Result<Converted, Error> {
    match msg {
        RosMessage::Image(img) => raw_to_rgb(img).map(Converted::Rgb),
        RosMessage::Compressed(c) => decode_compressed(c),
    }
}

/// The raw encodings we read, by their `sensor_msgs/image_encodings` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// 8-bit colour: bytes per pixel and the positions of R, G and B within a pixel.
    Colour8 {
        bytes: usize,
        rgb: [usize; 3],
    },
    Mono8,
    Mono16,
    Depth16,
    Depth32F,
    /// ROS's `yuv422` is UYVY.
    Uyvy,
    Yuyv,
    /// The colour (0 R, 1 G, 2 B) at even row even column, even/odd, odd/even, odd/odd.
    Bayer([usize; 4]),
}

/// For error messages.
const SUPPORTED: &str = "rgb8, bgr8, rgba8, bgra8, mono8, mono16, 16UC1, 32FC1, 8UC1, 8UC3, \
                         yuv422, uyvy, yuyv, yuv422_yuy2, bayer_rggb8, bayer_bggr8, \
                         bayer_gbrg8, bayer_grbg8";

impl Encoding {
    fn parse(name: &str) -> Option<Self> {
        const R: usize = 0;
        const G: usize = 1;
        const B: usize = 2;
        let e = match name.to_ascii_lowercase().as_str() {
            "rgb8" => Self::Colour8 {
                bytes: 3,
                rgb: [0, 1, 2],
            },
            "bgr8" | "8uc3" => Self::Colour8 {
                bytes: 3,
                rgb: [2, 1, 0],
            },
            "rgba8" => Self::Colour8 {
                bytes: 4,
                rgb: [0, 1, 2],
            },
            "bgra8" => Self::Colour8 {
                bytes: 4,
                rgb: [2, 1, 0],
            },
            "mono8" | "8uc1" => Self::Mono8,
            "mono16" => Self::Mono16,
            "16uc1" => Self::Depth16,
            "32fc1" => Self::Depth32F,
            "yuv422" | "uyvy" => Self::Uyvy,
            "yuyv" | "yuv422_yuy2" => Self::Yuyv,
            "bayer_rggb8" => Self::Bayer([R, G, G, B]),
            "bayer_bggr8" => Self::Bayer([B, G, G, R]),
            "bayer_gbrg8" => Self::Bayer([G, B, R, G]),
            "bayer_grbg8" => Self::Bayer([G, R, B, G]),
            _ => return None,
        };
        Some(e)
    }

    fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Colour8 { bytes, .. } => bytes,
            Self::Mono8 | Self::Bayer(_) => 1,
            Self::Mono16 | Self::Depth16 | Self::Uyvy | Self::Yuyv => 2,
            Self::Depth32F => 4,
        }
    }
}

/// A raw image whose sizes, step and data length were checked against its encoding: every
/// row `y` is `data[y * step..][..row_bytes]`.
struct Layout<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    step: usize,
    row_bytes: usize,
}

impl<'a> Layout<'a> {
    fn check(msg: &'a RosImage, bytes_per_pixel: usize) -> Result<Self, Error> {
        let what = &msg.encoding;
        let (w, h) = (msg.width, msg.height);
        check_size(what, w, h)?;
        // u64: a 32-bit step times a 32-bit height cannot overflow it.
        let row = u64::from(w) * bytes_per_pixel as u64;
        let step = u64::from(msg.step);
        if step < row {
            return Err(Error::corrupt(format!(
                "{what} {w}x{h}: step {step} is shorter than a row ({row} bytes)"
            )));
        }
        let needed = step * u64::from(h);
        if (msg.data.len() as u64) < needed {
            return Err(Error::corrupt(format!(
                "{what} {w}x{h}: data is {} bytes, step {step} × height {h} needs {needed}",
                msg.data.len()
            )));
        }
        // Both fit in usize now: they are at most the length of a slice.
        Ok(Self {
            data: &msg.data,
            width: w as usize,
            height: h as usize,
            step: step as usize,
            row_bytes: row as usize,
        })
    }

    fn rows(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.height).map(|y| &self.data[y * self.step..][..self.row_bytes])
    }

    fn finish(&self, data: Vec<u8>) -> Result<RgbImage, Error> {
        layout_finish(self.width, self.height, data)
    }
}

/// Converts a raw image message to packed RGB. Takes the message so that `rgb8` without
/// padding becomes the image without a copy, and other 8-bit colour in place.
pub fn raw_to_rgb(msg: RosImage) -> Result<RgbImage, Error> {
    let encoding = Encoding::parse(&msg.encoding).ok_or_else(|| {
        Error::invalid(format!(
            "unsupported encoding {:?} (supported: {SUPPORTED})",
            msg.encoding
        ))
    })?;
    let layout = Layout::check(&msg, encoding.bytes_per_pixel())?;
    let big_endian = msg.is_bigendian;
    match encoding {
        Encoding::Colour8 { bytes, rgb } => {
            let (w, h, step) = (layout.width, layout.height, layout.step);
            colour8_in_place(msg.data, w, h, step, bytes, rgb)
                .ok_or_else(|| {
                    Error::internal(format!("internal: {w}x{h} colour conversion failed"))
                })
                .and_then(|data| layout_finish(w, h, data))
        }
        Encoding::Mono8 => layout.finish(grey_rows(&layout, 1, |px| px[0])),
        Encoding::Mono16 => layout.finish(grey_rows(&layout, 2, |px| {
            // Rounded v * 255 / 65535.
            ((u32::from(u16_at(px, big_endian)) + 128) / 257) as u8
        })),
        Encoding::Depth16 => {
            let mut values = Vec::with_capacity(layout.width * layout.height);
            for row in layout.rows() {
                values.extend(row.chunks_exact(2).map(|px| u16_at(px, big_endian)));
            }
            layout.finish(depth::stretch_u16(&values))
        }
        Encoding::Depth32F => {
            let mut values = Vec::with_capacity(layout.width * layout.height);
            for row in layout.rows() {
                values.extend(row.chunks_exact(4).map(|px| f32_at(px, big_endian)));
            }
            layout.finish(depth::stretch_f32(&values))
        }
        Encoding::Uyvy | Encoding::Yuyv => {
            let convert = if encoding == Encoding::Uyvy {
                uyvy_to_rgb
            } else {
                yuyv_to_rgb
            };
            convert(&msg.data, msg.width, msg.height, layout.step)
                .map_err(|e| Error::corrupt(format!("{}: {e}", msg.encoding)))
        }
        Encoding::Bayer(pattern) => {
            if layout.width < 2 || layout.height < 2 {
                return Err(Error::corrupt(format!(
                    "{} {}x{}: a Bayer image needs at least 2x2 pixels",
                    msg.encoding, msg.width, msg.height
                )));
            }
            let out = bayer::demosaic(
                layout.data,
                layout.width,
                layout.height,
                layout.step,
                pattern,
            );
            layout.finish(out)
        }
    }
}

fn layout_finish(width: usize, height: usize, data: Vec<u8>) -> Result<RgbImage, Error> {
    RgbImage::from_raw(width as u32, height as u32, data).ok_or_else(|| {
        Error::internal(format!(
            "internal: converted {width}x{height} image has the wrong size"
        ))
    })
}

/// Grey RGB of a one-channel image, each pixel's `bytes` taken to a grey level by `level`.
fn grey_rows(layout: &Layout<'_>, bytes: usize, level: impl Fn(&[u8]) -> u8) -> Vec<u8> {
    let mut out = vec![0; layout.width * layout.height * 3];
    let mut dst = out.chunks_exact_mut(3);
    for row in layout.rows() {
        for (px, o) in row.chunks_exact(bytes).zip(&mut dst) {
            let g = level(px);
            o.copy_from_slice(&[g, g, g]);
        }
    }
    out
}

fn u16_at(px: &[u8], big_endian: bool) -> u16 {
    let b = [px[0], px[1]];
    if big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    }
}

fn f32_at(px: &[u8], big_endian: bool) -> f32 {
    let b = [px[0], px[1], px[2], px[3]];
    if big_endian {
        f32::from_be_bytes(b)
    } else {
        f32::from_le_bytes(b)
    }
}

/// Packs 8-bit colour pixels of `bytes` bytes (3 or 4) as RGB within the message's own
/// buffer: each output pixel lands at or before where its input pixel starts, so reading a
/// pixel before writing it never overwrites input still to be read. `None` if the buffer is
/// shorter than the layout (the caller checked it is not).
fn colour8_in_place(
    mut data: Vec<u8>,
    width: usize,
    height: usize,
    step: usize,
    bytes: usize,
    [r, g, b]: [usize; 3],
) -> Option<Vec<u8>> {
    let needed = (height - 1) * step + width * bytes;
    if data.len() < needed {
        return None;
    }
    let already_packed = bytes == 3 && [r, g, b] == [0, 1, 2] && step == width * 3;
    if !already_packed {
        let mut dst = 0;
        for y in 0..height {
            for x in 0..width {
                let s = y * step + x * bytes;
                let px = [data[s + r], data[s + g], data[s + b]];
                data[dst..dst + 3].copy_from_slice(&px);
                dst += 3;
            }
        }
    }
    data.truncate(width * height * 3);
    Some(data)
}
