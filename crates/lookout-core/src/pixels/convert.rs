//! Raw camera buffers to packed RGB ([`RgbImage`]), for the formats that are not JPEG already:
//! V4L2 webcams' YUYV, UYVY, NV12, RGB24, BGR24 and GREY, and ROS images in the same layouts.
//!
//! YUV is taken as BT.601 limited range (Y 16–235, U/V 16–240), what UVC webcams send,
//! converted with integer math. Every function checks the buffer against the width, height
//! and stride (V4L2's `bytesperline`; `0` means tightly packed) and returns an error, never
//! panics: `Corrupt` for short buffers, `InvalidInput` for strides shorter than a row, empty
//! sizes, or odd widths (and, for NV12, odd heights) the format cannot hold. Buffers may be
//! longer than needed (drivers round `sizeimage` up) and the last row need not carry its padding.

use super::format::PixelFormat;
use crate::{Error, RgbImage};

/// One BT.601 limited-range YUV sample to RGB.
pub fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = i32::from(y) - 16;
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clip = |x: i32| (x >> 8).clamp(0, 255) as u8;
    [
        clip(298 * c + 409 * e + 128),
        clip(298 * c - 100 * d - 208 * e + 128),
        clip(298 * c + 516 * d + 128),
    ]
}

/// Bytes in one row of pixels (without padding), or `None` for JPEG, H.264 and unknown formats.
/// For NV12 this is the Y plane's row (the UV rows have the same length).
pub fn row_bytes(format: PixelFormat, width: u32) -> Option<usize> {
    let per_pixel = match format {
        PixelFormat::Yuyv | PixelFormat::Uyvy => 2,
        PixelFormat::Rgb24 | PixelFormat::Bgr24 => 3,
        PixelFormat::Nv12 | PixelFormat::Grey => 1,
        PixelFormat::Mjpeg | PixelFormat::Jpeg | PixelFormat::H264 | PixelFormat::Other(_) => {
            return None;
        }
    };
    (width as usize).checked_mul(per_pixel)
}

/// Converts a buffer of `format` to RGB; errors for JPEG and H.264 (passed through, not
/// converted) and unknown formats.
pub fn to_rgb(
    format: PixelFormat,
    src: &[u8],
    width: u32,
    height: u32,
    stride: usize,
) -> Result<RgbImage, Error> {
    match format {
        PixelFormat::Yuyv => yuyv_to_rgb(src, width, height, stride),
        PixelFormat::Uyvy => uyvy_to_rgb(src, width, height, stride),
        PixelFormat::Nv12 => nv12_to_rgb(src, width, height, stride),
        PixelFormat::Rgb24 => rgb24_to_rgb(src, width, height, stride),
        PixelFormat::Bgr24 => bgr24_to_rgb(src, width, height, stride),
        PixelFormat::Grey => grey_to_rgb(src, width, height, stride),
        PixelFormat::Mjpeg | PixelFormat::Jpeg | PixelFormat::H264 | PixelFormat::Other(_) => {
            Err(Error::invalid(format!(
                "{format} frames are not converted to RGB (JPEG and H.264 are passed through; \
                 other formats are unsupported)"
            )))
        }
    }
}

/// Checks the buffer; returns the effective stride.
fn check(
    format: PixelFormat,
    len: usize,
    width: u32,
    height: u32,
    stride: usize,
) -> Result<usize, Error> {
    if width == 0 || height == 0 {
        return Err(Error::invalid(format!(
            "{format} {width}x{height}: empty frame size"
        )));
    }
    let needs_even_width = matches!(
        format,
        PixelFormat::Yuyv | PixelFormat::Uyvy | PixelFormat::Nv12
    );
    if needs_even_width && !width.is_multiple_of(2) {
        return Err(Error::invalid(format!(
            "{format} {width}x{height}: the width must be even for this format"
        )));
    }
    if format == PixelFormat::Nv12 && !height.is_multiple_of(2) {
        return Err(Error::invalid(format!(
            "{format} {width}x{height}: the height must be even for this format"
        )));
    }
    let row = row_bytes(format, width).ok_or_else(|| {
        Error::invalid(format!(
            "{format} {width}x{height}: not a convertible format"
        ))
    })?;
    let stride = if stride == 0 { row } else { stride };
    if stride < row {
        return Err(Error::invalid(format!(
            "{format} {width}x{height}: bytesperline {stride} is shorter than a row ({row} bytes)"
        )));
    }
    let rows = if format == PixelFormat::Nv12 {
        height as usize + height as usize / 2
    } else {
        height as usize
    };
    let needed = stride
        .checked_mul(rows - 1)
        .and_then(|n| n.checked_add(row))
        .ok_or_else(|| too_large(format, width, height))?;
    // The output must fit too.
    (width as usize)
        .checked_mul(height as usize)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| too_large(format, width, height))?;
    if len < needed {
        return Err(Error::corrupt(format!(
            "{format} {width}x{height}: buffer is {len} bytes, needs at least {needed} \
             (bytesperline {stride})"
        )));
    }
    Ok(stride)
}

fn too_large(format: PixelFormat, width: u32, height: u32) -> Error {
    Error::invalid(format!("{format} {width}x{height}: frame size too large"))
}

/// The rows of a packed buffer, each cut to `row` bytes.
fn rows(src: &[u8], stride: usize, row: usize, height: u32) -> impl Iterator<Item = &[u8]> {
    (0..height as usize).map(move |r| &src[r * stride..r * stride + row])
}

fn output(width: u32, height: u32) -> Vec<u8> {
    Vec::with_capacity(width as usize * height as usize * 3)
}

fn finish(width: u32, height: u32, data: Vec<u8>) -> Result<RgbImage, Error> {
    RgbImage::from_raw(width, height, data).ok_or_else(|| {
        Error::internal(format!(
            "converted {width}x{height} frame has the wrong size"
        ))
    })
}

/// Packed 4:2:2 with the byte order given by the positions of Y0, U, Y1, V in each group.
fn packed_422(
    format: PixelFormat,
    [y0, u, y1, v]: [usize; 4],
    src: &[u8],
    width: u32,
    height: u32,
    stride: usize,
) -> Result<RgbImage, Error> {
    let stride = check(format, src.len(), width, height, stride)?;
    let mut out = output(width, height);
    for line in rows(src, stride, width as usize * 2, height) {
        for g in line.chunks_exact(4) {
            out.extend_from_slice(&yuv_to_rgb(g[y0], g[u], g[v]));
            out.extend_from_slice(&yuv_to_rgb(g[y1], g[u], g[v]));
        }
    }
    finish(width, height, out)
}

/// YUYV (`Y0 U Y1 V`) to RGB.
pub fn yuyv_to_rgb(src: &[u8], width: u32, height: u32, stride: usize) -> Result<RgbImage, Error> {
    packed_422(PixelFormat::Yuyv, [0, 1, 2, 3], src, width, height, stride)
}

/// UYVY (`U Y0 V Y1`) to RGB.
pub fn uyvy_to_rgb(src: &[u8], width: u32, height: u32, stride: usize) -> Result<RgbImage, Error> {
    packed_422(PixelFormat::Uyvy, [1, 0, 3, 2], src, width, height, stride)
}

/// NV12 (a Y plane, then a half-height plane of interleaved `U V`, both with `stride`) to RGB.
pub fn nv12_to_rgb(src: &[u8], width: u32, height: u32, stride: usize) -> Result<RgbImage, Error> {
    let stride = check(PixelFormat::Nv12, src.len(), width, height, stride)?;
    let w = width as usize;
    let uv_start = stride * height as usize;
    let mut out = output(width, height);
    for (r, luma) in rows(src, stride, w, height).enumerate() {
        let at = uv_start + (r / 2) * stride;
        let chroma = &src[at..at + w];
        for (ys, uv) in luma.chunks_exact(2).zip(chroma.chunks_exact(2)) {
            out.extend_from_slice(&yuv_to_rgb(ys[0], uv[0], uv[1]));
            out.extend_from_slice(&yuv_to_rgb(ys[1], uv[0], uv[1]));
        }
    }
    finish(width, height, out)
}

/// RGB24 with padding removed.
pub fn rgb24_to_rgb(src: &[u8], width: u32, height: u32, stride: usize) -> Result<RgbImage, Error> {
    let stride = check(PixelFormat::Rgb24, src.len(), width, height, stride)?;
    let mut out = output(width, height);
    for line in rows(src, stride, width as usize * 3, height) {
        out.extend_from_slice(line);
    }
    finish(width, height, out)
}

/// BGR24 to RGB.
pub fn bgr24_to_rgb(src: &[u8], width: u32, height: u32, stride: usize) -> Result<RgbImage, Error> {
    let stride = check(PixelFormat::Bgr24, src.len(), width, height, stride)?;
    let mut out = output(width, height);
    for line in rows(src, stride, width as usize * 3, height) {
        for px in line.chunks_exact(3) {
            out.extend_from_slice(&[px[2], px[1], px[0]]);
        }
    }
    finish(width, height, out)
}

/// 8-bit grey to RGB (each byte copied to R, G and B).
pub fn grey_to_rgb(src: &[u8], width: u32, height: u32, stride: usize) -> Result<RgbImage, Error> {
    let stride = check(PixelFormat::Grey, src.len(), width, height, stride)?;
    let mut out = output(width, height);
    for line in rows(src, stride, width as usize, height) {
        for &g in line {
            out.extend_from_slice(&[g, g, g]);
        }
    }
    finish(width, height, out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    /// BT.601 limited-range YUV of the test colours, and the RGB they stand for.
    const BLACK: ([u8; 3], [u8; 3]) = ([16, 128, 128], [0, 0, 0]);
    const WHITE: ([u8; 3], [u8; 3]) = ([235, 128, 128], [255, 255, 255]);
    const RED: ([u8; 3], [u8; 3]) = ([81, 90, 240], [255, 0, 0]);
    const GREEN: ([u8; 3], [u8; 3]) = ([145, 54, 34], [0, 255, 0]);
    const BLUE: ([u8; 3], [u8; 3]) = ([41, 240, 110], [0, 0, 255]);
    const GREY50: ([u8; 3], [u8; 3]) = ([126, 128, 128], [128, 128, 128]);
    const COLOURS: [([u8; 3], [u8; 3]); 6] = [BLACK, WHITE, RED, GREEN, BLUE, GREY50];

    #[track_caller]
    fn assert_near(got: [u8; 3], want: [u8; 3], what: &str) {
        for c in 0..3 {
            assert!(
                got[c].abs_diff(want[c]) <= 2,
                "{what}: got {got:?}, want {want:?} (±2)"
            );
        }
    }

    #[test]
    fn single_samples() {
        for (yuv, rgb) in COLOURS {
            assert_near(yuv_to_rgb(yuv[0], yuv[1], yuv[2]), rgb, &format!("{yuv:?}"));
        }
        // Out-of-range values clip instead of wrapping.
        assert_eq!(yuv_to_rgb(0, 128, 128), [0, 0, 0]);
        assert_eq!(yuv_to_rgb(255, 128, 128), [255, 255, 255]);
        assert_eq!(yuv_to_rgb(255, 255, 255)[0], 255);
        assert_eq!(yuv_to_rgb(0, 0, 0)[2], 0);
    }

    /// Builds a packed 4:2:2 image, one colour per 2-pixel group, `pad` bytes after each row.
    fn packed(order: [usize; 4], groups: &[&[[u8; 3]]], pad: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        for row in groups {
            for yuv in *row {
                let mut g = [0u8; 4];
                g[order[0]] = yuv[0];
                g[order[2]] = yuv[0];
                g[order[1]] = yuv[1];
                g[order[3]] = yuv[2];
                buf.extend_from_slice(&g);
            }
            buf.extend(std::iter::repeat_n(0xAA, pad));
        }
        buf
    }

    fn check_422(
        order: [usize; 4],
        convert: fn(&[u8], u32, u32, usize) -> Result<RgbImage, Error>,
    ) {
        // 6x2: row 0 black, white, red; row 1 green, blue, grey; 4 bytes of padding a row.
        let rows: [&[[u8; 3]]; 2] = [&[BLACK.0, WHITE.0, RED.0], &[GREEN.0, BLUE.0, GREY50.0]];
        let buf = packed(order, &rows, 4);
        let img = convert(&buf, 6, 2, 16).unwrap();
        assert_eq!((img.width, img.height, img.data.len()), (6, 2, 36));
        let want = [[BLACK.1, WHITE.1, RED.1], [GREEN.1, BLUE.1, GREY50.1]];
        for (y, row) in want.iter().enumerate() {
            for (g, rgb) in row.iter().enumerate() {
                for x in [2 * g, 2 * g + 1] {
                    assert_near(img.pixel(x as u32, y as u32), *rgb, &format!("({x},{y})"));
                }
            }
        }
        // Without the last row's padding is fine; a byte less is not.
        assert!(convert(&buf[..buf.len() - 4], 6, 2, 16).is_ok());
        let err = convert(&buf[..buf.len() - 5], 6, 2, 16).unwrap_err();
        assert!(err.message().contains("needs at least 28"), "{err}");
        assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
        // Tightly packed with stride 0.
        let tight = packed(order, &rows, 0);
        assert_eq!(convert(&tight, 6, 2, 0).unwrap(), img);
    }

    #[test]
    fn yuyv() {
        check_422([0, 1, 2, 3], yuyv_to_rgb);
    }

    #[test]
    fn uyvy() {
        check_422([1, 0, 3, 2], uyvy_to_rgb);
    }

    #[test]
    fn luma_varies_within_a_group() {
        // One YUYV group: black then white, sharing neutral chroma.
        let img = yuyv_to_rgb(&[16, 128, 235, 128], 2, 1, 0).unwrap();
        assert_near(img.pixel(0, 0), [0, 0, 0], "left");
        assert_near(img.pixel(1, 0), [255, 255, 255], "right");
        let img = uyvy_to_rgb(&[128, 16, 128, 235], 2, 1, 0).unwrap();
        assert_near(img.pixel(0, 0), [0, 0, 0], "left");
        assert_near(img.pixel(1, 0), [255, 255, 255], "right");
    }

    #[test]
    fn nv12() {
        // 4x4 with stride 6: 2x2 blocks red, green / blue, white; then the UV plane.
        let blocks = [[RED, GREEN], [BLUE, WHITE]];
        let stride = 6;
        let mut buf = Vec::new();
        for y in 0..4 {
            for x in 0..4 {
                buf.push(blocks[y / 2][x / 2].0[0]);
            }
            buf.extend_from_slice(&[0xAA, 0xAA]);
        }
        for block_row in &blocks {
            for c in block_row {
                buf.extend_from_slice(&[c.0[1], c.0[2]]);
            }
            buf.extend_from_slice(&[0xAA, 0xAA]);
        }
        let img = nv12_to_rgb(&buf, 4, 4, stride).unwrap();
        for y in 0..4 {
            for x in 0..4 {
                let want = blocks[y / 2][x / 2].1;
                assert_near(img.pixel(x as u32, y as u32), want, &format!("({x},{y})"));
            }
        }
        // Luma varies per pixel within a block.
        let mut buf = vec![16, 235, 235, 16, 128, 128];
        let img = nv12_to_rgb(&buf, 2, 2, 0).unwrap();
        assert_near(img.pixel(0, 0), [0, 0, 0], "(0,0)");
        assert_near(img.pixel(1, 0), [255, 255, 255], "(1,0)");
        assert_near(img.pixel(0, 1), [255, 255, 255], "(0,1)");
        assert_near(img.pixel(1, 1), [0, 0, 0], "(1,1)");
        buf.pop();
        let err = nv12_to_rgb(&buf, 2, 2, 0).unwrap_err();
        assert!(err.message().contains("needs at least 6"), "{err}");
        let err = nv12_to_rgb(&[0; 64], 4, 3, 0).unwrap_err();
        assert!(err.message().contains("height must be even"), "{err}");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }

    #[test]
    fn rgb_bgr_grey() {
        // 2x2 with one byte of padding a row.
        let rgb = [255, 0, 0, 0, 255, 0, 9, 0, 0, 255, 1, 2, 3, 9];
        let img = rgb24_to_rgb(&rgb, 2, 2, 7).unwrap();
        assert_eq!(img.data, [255, 0, 0, 0, 255, 0, 0, 0, 255, 1, 2, 3]);

        let bgr = [0, 0, 255, 0, 255, 0, 9, 255, 0, 0, 3, 2, 1, 9];
        let img = bgr24_to_rgb(&bgr, 2, 2, 7).unwrap();
        assert_eq!(img.pixel(0, 0), [255, 0, 0]);
        assert_eq!(img.pixel(1, 0), [0, 255, 0]);
        assert_eq!(img.pixel(0, 1), [0, 0, 255]);
        assert_eq!(img.pixel(1, 1), [1, 2, 3]);

        let grey = [0, 255, 7, 128, 17];
        let img = grey_to_rgb(&grey, 2, 2, 3).unwrap();
        assert_eq!(
            img.data,
            [0, 0, 0, 255, 255, 255, 128, 128, 128, 17, 17, 17]
        );
        // Odd widths are fine for these.
        assert_eq!(grey_to_rgb(&[1, 2, 3], 3, 1, 0).unwrap().width, 3);
        assert!(bgr24_to_rgb(&[0; 9], 3, 1, 0).is_ok());

        assert!(rgb24_to_rgb(&rgb[..12], 2, 2, 7).is_err());
        assert!(bgr24_to_rgb(&bgr[..12], 2, 2, 7).is_err());
        assert!(grey_to_rgb(&grey[..4], 2, 2, 3).is_err());
    }

    #[test]
    fn bad_layouts_are_errors() {
        let buf = [0u8; 64];
        let err = yuyv_to_rgb(&buf, 3, 2, 0).unwrap_err();
        assert!(err.message().contains("width must be even"), "{err}");
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(uyvy_to_rgb(&buf, 5, 1, 0).is_err());
        assert!(nv12_to_rgb(&buf, 3, 2, 0).is_err());
        let err = yuyv_to_rgb(&buf, 4, 2, 6).unwrap_err();
        assert!(
            err.message()
                .contains("bytesperline 6 is shorter than a row (8 bytes)"),
            "{err}"
        );
        let err = grey_to_rgb(&buf, 0, 4, 0).unwrap_err();
        assert!(err.message().contains("empty"), "{err}");
        assert!(grey_to_rgb(&buf, 4, 0, 0).is_err());
        assert!(yuyv_to_rgb(&[], 2, 1, 0).is_err());
        // Huge sizes are refused without overflowing or allocating.
        assert!(yuyv_to_rgb(&buf, u32::MAX - 1, u32::MAX, 0).is_err());
        assert!(nv12_to_rgb(&buf, 2, 2, usize::MAX).is_err());
        assert!(rgb24_to_rgb(&buf, u32::MAX, u32::MAX, 0).is_err());
    }

    #[test]
    fn dispatch() {
        let img = to_rgb(PixelFormat::Yuyv, &[235, 128, 235, 128], 2, 1, 0).unwrap();
        assert_eq!(img.pixel(1, 0), [255, 255, 255]);
        let img = to_rgb(PixelFormat::Grey, &[5], 1, 1, 0).unwrap();
        assert_eq!(img.pixel(0, 0), [5, 5, 5]);
        let err = to_rgb(PixelFormat::Mjpeg, &[0xFF, 0xD8], 1, 1, 0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(to_rgb(PixelFormat::Other(0), &[0; 8], 1, 1, 0).is_err());
        assert_eq!(row_bytes(PixelFormat::Uyvy, 640), Some(1280));
        assert_eq!(row_bytes(PixelFormat::Bgr24, 640), Some(1920));
        assert_eq!(row_bytes(PixelFormat::Nv12, 640), Some(640));
        assert_eq!(row_bytes(PixelFormat::Jpeg, 640), None);
    }
}
