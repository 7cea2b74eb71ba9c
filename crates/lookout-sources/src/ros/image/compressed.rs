//! `sensor_msgs/CompressedImage`: JPEG passed through untouched, PNG decoded to RGB.
//!
//! The `format` field decides. image_transport writes it as `"<encoding>; <codec> compressed
//! <encoding>"` (e.g. `"rgb8; jpeg compressed bgr8"`, `"mono16; png compressed"`), older
//! publishers as just `"jpeg"` or `"png"`; when it names neither, the data's first bytes do.
//! `compressedDepth` (a private header before a PNG or RVL stream) is refused: subscribe to
//! the raw depth topic instead.

use super::converted::{Converted, check_size};
use super::depth;
use crate::ros::messages::RosCompressedImage;
use bytes::Bytes;
use lookout_core::{Error, RgbImage};

const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// A decoded interlaced PNG is held whole before conversion (a progressive row order);
/// cameras never send one, so a modest cap keeps a small file from claiming gigabytes.
const MAX_INTERLACED_BYTES: usize = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Jpeg,
    Png,
}

/// Converts a compressed image: JPEG data as it came (checked when published), PNG as pixels.
pub fn decode_compressed(msg: RosCompressedImage) -> Result<Converted, Error> {
    let format = msg.format.to_ascii_lowercase();
    if format.contains("compresseddepth") {
        return Err(Error::invalid(format!(
            "compressed format {:?} is not supported (compressedDepth): subscribe to the raw \
             depth topic instead",
            msg.format
        )));
    }
    // "rgb8; jpeg compressed bgr8": the codec follows the original encoding.
    let (original, codec_part) = match format.split_once(';') {
        Some((original, rest)) => (original.trim(), rest),
        None => ("", format.as_str()),
    };
    let named = if codec_part.contains("jpeg") || codec_part.contains("jpg") {
        Some(Codec::Jpeg)
    } else if codec_part.contains("png") {
        Some(Codec::Png)
    } else {
        None
    };
    let sniffed = if msg.data.starts_with(JPEG_MAGIC) {
        Some(Codec::Jpeg)
    } else if msg.data.starts_with(PNG_MAGIC) {
        Some(Codec::Png)
    } else {
        None
    };
    match named.or(sniffed) {
        Some(Codec::Jpeg) => Ok(Converted::Jpeg(Bytes::from(msg.data))),
        Some(Codec::Png) => {
            // A 16-bit grey PNG of a depth image is stretched like the raw one.
            let depth = original == "16uc1";
            png_to_rgb(&msg.data, depth).map(Converted::Rgb)
        }
        None => Err(Error::invalid(format!(
            "compressed format {:?} is neither JPEG nor PNG, and neither is the data",
            msg.format
        ))),
    }
}

/// Decodes a PNG of any colour type and bit depth to RGB. Alpha is dropped (not blended), as
/// OpenCV's colour read does; 16-bit samples are scaled to 8 bits (`v / 257`), or stretched
/// as depth when `depth` and the image is grey.
pub fn png_to_rgb(data: &[u8], depth: bool) -> Result<RgbImage, Error> {
    let bad = |e: png::DecodingError| Error::corrupt(format!("PNG: {e}")).with_source(e);
    let mut decoder = png::Decoder::new(data);
    // Palette to RGB(A), 1/2/4-bit grey to 8-bit, tRNS to an alpha channel.
    decoder.set_transformations(png::Transformations::EXPAND);
    decoder.set_ignore_text_chunk(true);
    let header = decoder.read_header_info().map_err(bad)?;
    let (width, height, interlaced) = (header.width, header.height, header.interlaced);
    // Refused before the decoder allocates anything for the image.
    check_size("PNG", width, height)?;
    let mut reader = decoder.read_info().map_err(bad)?;
    let (colour, bit_depth) = reader.output_color_type();
    let channels = match colour {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(Error::internal("internal: PNG: palette was not expanded"));
        }
    };
    let sample_bytes = if bit_depth == png::BitDepth::Sixteen {
        2
    } else {
        1
    };
    let (w, h) = (width as usize, height as usize);
    let row_bytes = w * channels * sample_bytes;
    let mut pixels = Pixels::new(w * h, depth && channels <= 2 && sample_bytes == 2);
    let mut rows = 0;
    let mut take = |row: &[u8]| -> Result<(), Error> {
        let row = row.get(..row_bytes).ok_or_else(|| {
            Error::corrupt(format!("PNG: a row is shorter than {row_bytes} bytes"))
        })?;
        pixels.push_row(row, channels, sample_bytes);
        Ok(())
    };
    if interlaced {
        let size = reader.output_buffer_size();
        if size > MAX_INTERLACED_BYTES {
            return Err(Error::exhausted(format!(
                "PNG: interlaced {width}x{height} is too large ({size} bytes decoded, limit \
                 {MAX_INTERLACED_BYTES}); send it without interlacing"
            )));
        }
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf).map_err(bad)?;
        for row in buf.chunks_exact(info.line_size.max(1)).take(h) {
            take(row)?;
            rows += 1;
        }
    } else {
        while rows < h {
            let Some(row) = reader.next_row().map_err(bad)? else {
                break;
            };
            take(row.data())?;
            rows += 1;
        }
    }
    if rows != h {
        return Err(Error::corrupt(format!(
            "PNG: {rows} rows of {height} decoded"
        )));
    }
    let data = pixels.finish();
    RgbImage::from_raw(width, height, data).ok_or_else(|| {
        Error::internal(format!(
            "internal: decoded PNG of {width}x{height} has the wrong size"
        ))
    })
}

/// The decoded picture as it grows: RGB bytes, or 16-bit depth samples kept whole until the
/// frame's range is known.
enum Pixels {
    Rgb(Vec<u8>),
    Depth(Vec<u16>),
}

impl Pixels {
    fn new(pixels: usize, depth: bool) -> Self {
        if depth {
            Self::Depth(Vec::with_capacity(pixels))
        } else {
            Self::Rgb(Vec::with_capacity(pixels * 3))
        }
    }

    /// One row of `channels` samples a pixel, each `sample_bytes` big-endian bytes (PNG's order).
    fn push_row(&mut self, row: &[u8], channels: usize, sample_bytes: usize) {
        let sample = |px: &[u8], c: usize| -> u16 {
            if sample_bytes == 2 {
                u16::from_be_bytes([px[2 * c], px[2 * c + 1]])
            } else {
                u16::from(px[c])
            }
        };
        let to8 = |v: u16| -> u8 {
            if sample_bytes == 2 {
                ((u32::from(v) + 128) / 257) as u8
            } else {
                v as u8
            }
        };
        for px in row.chunks_exact(channels * sample_bytes) {
            match self {
                Self::Depth(values) => values.push(sample(px, 0)),
                Self::Rgb(out) => {
                    let rgb = if channels >= 3 {
                        [sample(px, 0), sample(px, 1), sample(px, 2)].map(to8)
                    } else {
                        [to8(sample(px, 0)); 3]
                    };
                    out.extend_from_slice(&rgb);
                }
            }
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            Self::Rgb(out) => out,
            Self::Depth(values) => depth::stretch_u16(&values),
        }
    }
}
