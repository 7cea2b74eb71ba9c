//! Every encoding pixel by pixel on small images, with padding in `step`, and every way a
//! message can be malformed.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::ros::RosCompressedImage;
use bytes::Bytes;

const PAD: u8 = 0xEE;

/// A little-endian message; `step` may be longer than the rows in `rows`, which are then
/// padded with `PAD`.
fn image(encoding: &str, width: u32, step: u32, rows: &[Vec<u8>]) -> RosImage {
    let mut data = Vec::new();
    for row in rows {
        assert!(row.len() <= step as usize, "test row longer than step");
        data.extend_from_slice(row);
        data.resize(data.len() + step as usize - row.len(), PAD);
    }
    RosImage {
        stamp: None,
        width,
        height: rows.len() as u32,
        encoding: encoding.into(),
        is_bigendian: false,
        step,
        data,
    }
}

fn convert_ok(msg: RosImage) -> RgbImage {
    let what = format!("{} {}x{}", msg.encoding, msg.width, msg.height);
    raw_to_rgb(msg).unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn convert_err(msg: RosImage) -> String {
    let what = format!("{} {}x{}", msg.encoding, msg.width, msg.height);
    match raw_to_rgb(msg) {
        Ok(_) => panic!("{what}: converted, expected an error"),
        Err(e) => e.to_string(),
    }
}

/// The image as rows of pixels.
fn pixels(img: &RgbImage) -> Vec<Vec<[u8; 3]>> {
    (0..img.height)
        .map(|y| (0..img.width).map(|x| img.pixel(x, y)).collect())
        .collect()
}

fn grey(g: u8) -> [u8; 3] {
    [g, g, g]
}

/// 4x2 of distinct colours.
const COLOURS: [[[u8; 3]; 4]; 2] = [
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [1, 2, 3]],
    [[10, 20, 30], [200, 100, 50], [0, 0, 0], [255, 255, 255]],
];

fn want_colours() -> Vec<Vec<[u8; 3]>> {
    COLOURS.iter().map(|r| r.to_vec()).collect()
}

/// COLOURS laid out with `order` giving where R, G, B go in a pixel of `bytes` bytes.
fn colour_rows(order: [usize; 3], bytes: usize) -> Vec<Vec<u8>> {
    COLOURS
        .iter()
        .map(|row| {
            row.iter()
                .flat_map(|rgb| {
                    let mut px = vec![0x77; bytes];
                    for c in 0..3 {
                        px[order[c]] = rgb[c];
                    }
                    px
                })
                .collect()
        })
        .collect()
}

#[test]
fn rgb8_tight_is_the_data_and_padding_is_skipped() {
    let rows = colour_rows([0, 1, 2], 3);
    let tight = convert_ok(image("rgb8", 4, 12, &rows));
    assert_eq!(tight.data, rows.concat());
    let padded = convert_ok(image("rgb8", 4, 17, &rows));
    assert_eq!(pixels(&padded), want_colours());
    // Data longer than step × height (some publishers round up) is fine.
    let mut long = image("rgb8", 4, 12, &rows);
    long.data.extend_from_slice(&[1, 2, 3]);
    assert_eq!(convert_ok(long), tight);
}

#[test]
fn bgr8_and_8uc3_swap_red_and_blue() {
    let rows = colour_rows([2, 1, 0], 3);
    for enc in ["bgr8", "8UC3"] {
        assert_eq!(
            pixels(&convert_ok(image(enc, 4, 12, &rows))),
            want_colours()
        );
        assert_eq!(
            pixels(&convert_ok(image(enc, 4, 14, &rows))),
            want_colours()
        );
    }
}

#[test]
fn rgba8_and_bgra8_drop_alpha() {
    for (enc, order) in [("rgba8", [0, 1, 2]), ("bgra8", [2, 1, 0])] {
        let rows = colour_rows(order, 4);
        assert_eq!(
            pixels(&convert_ok(image(enc, 4, 16, &rows))),
            want_colours()
        );
        assert_eq!(
            pixels(&convert_ok(image(enc, 4, 19, &rows))),
            want_colours()
        );
    }
}

#[test]
fn mono8_and_8uc1_are_grey() {
    let rows = vec![vec![0, 1, 128, 255], vec![7, 70, 170, 254]];
    for enc in ["mono8", "8UC1"] {
        let img = convert_ok(image(enc, 4, 6, &rows));
        let want: Vec<Vec<[u8; 3]>> = rows
            .iter()
            .map(|r| r.iter().map(|&g| grey(g)).collect())
            .collect();
        assert_eq!(pixels(&img), want);
    }
}

/// 16-bit rows in the given byte order.
fn rows16(values: &[[u16; 4]; 2], big_endian: bool) -> Vec<Vec<u8>> {
    values
        .iter()
        .map(|r| {
            r.iter()
                .flat_map(|v| {
                    if big_endian {
                        v.to_be_bytes()
                    } else {
                        v.to_le_bytes()
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn mono16_scales_to_8_bits_in_either_byte_order() {
    let values = [[0, 128, 129, 257], [32896, 65278, 65535, 1000]];
    let want = vec![
        vec![grey(0), grey(0), grey(1), grey(1)],
        vec![grey(128), grey(254), grey(255), grey(4)],
    ];
    let le = image("mono16", 4, 10, &rows16(&values, false));
    assert_eq!(pixels(&convert_ok(le)), want);
    let mut be = image("mono16", 4, 10, &rows16(&values, true));
    be.is_bigendian = true;
    assert_eq!(pixels(&convert_ok(be.clone())), want);
    // The flag is what decides: the same bytes read little-endian are other values.
    be.is_bigendian = false;
    assert_ne!(pixels(&convert_ok(be)), want);
}

#[test]
fn depth16_is_stretched_over_its_valid_range_and_zero_is_black() {
    // Valid 1000..3000 mm: 1000 → 32, 3000 → 255, 2000 → 32 + 111.5, 1500 → 32 + 55.75.
    let values = [[0, 1000, 2000, 3000], [1500, 0, 3000, 1000]];
    let want = vec![
        vec![grey(0), grey(32), grey(144), grey(255)],
        vec![grey(88), grey(0), grey(255), grey(32)],
    ];
    for big_endian in [false, true] {
        let mut msg = image("16UC1", 4, 9, &rows16(&values, big_endian));
        msg.is_bigendian = big_endian;
        assert_eq!(pixels(&convert_ok(msg)), want, "big endian {big_endian}");
    }
    // One valid value shows white; no valid value at all, black.
    let flat = image("16UC1", 4, 8, &rows16(&[[0, 500, 500, 0], [500; 4]], false));
    let img = convert_ok(flat);
    assert_eq!(img.pixel(0, 0), grey(0));
    assert_eq!(img.pixel(1, 0), grey(255));
    let empty = convert_ok(image("16UC1", 4, 8, &rows16(&[[0; 4]; 2], false)));
    assert!(empty.data.iter().all(|&b| b == 0));
}

#[test]
fn depth32f_ignores_nan_inf_and_zero() {
    let values: [[f32; 4]; 2] = [
        [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0],
        [0.5, 1.0, 1.5, 2.5],
    ];
    let want = vec![
        vec![grey(0); 4],
        vec![grey(32), grey(88), grey(144), grey(255)],
    ];
    for big_endian in [false, true] {
        let rows: Vec<Vec<u8>> = values
            .iter()
            .map(|r| {
                r.iter()
                    .flat_map(|v| {
                        if big_endian {
                            v.to_be_bytes()
                        } else {
                            v.to_le_bytes()
                        }
                    })
                    .collect()
            })
            .collect();
        let mut msg = image("32FC1", 4, 20, &rows);
        msg.is_bigendian = big_endian;
        assert_eq!(pixels(&convert_ok(msg)), want, "big endian {big_endian}");
    }
    // The widest range a float holds stretches without overflowing.
    let rows = vec![
        [-f32::MAX, 0.0, f32::MAX]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
    ];
    let img = convert_ok(image("32FC1", 3, 12, &rows));
    assert_eq!(pixels(&img), vec![vec![grey(32), grey(0), grey(255)]]);
}

/// BT.601 limited-range YUV and the RGB it stands for.
const YUV_WHITE: ([u8; 3], [u8; 3]) = ([235, 128, 128], [255, 255, 255]);
const YUV_BLACK: ([u8; 3], [u8; 3]) = ([16, 128, 128], [0, 0, 0]);
const YUV_RED: ([u8; 3], [u8; 3]) = ([81, 90, 240], [255, 0, 0]);
const YUV_BLUE: ([u8; 3], [u8; 3]) = ([41, 240, 110], [0, 0, 255]);

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
fn packed_yuv_in_both_byte_orders() {
    // 4x2, one colour per 2-pixel group: white, red / blue, black.
    let groups = [[YUV_WHITE, YUV_RED], [YUV_BLUE, YUV_BLACK]];
    // Positions of Y0, U, Y1, V in a group.
    let uyvy = [1, 0, 3, 2];
    let yuyv = [0, 1, 2, 3];
    for (enc, order) in [
        ("yuv422", uyvy),
        ("uyvy", uyvy),
        ("yuyv", yuyv),
        ("yuv422_yuy2", yuyv),
    ] {
        let rows: Vec<Vec<u8>> = groups
            .iter()
            .map(|row| {
                row.iter()
                    .flat_map(|(yuv, _)| {
                        let mut g = [0; 4];
                        g[order[0]] = yuv[0];
                        g[order[2]] = yuv[0];
                        g[order[1]] = yuv[1];
                        g[order[3]] = yuv[2];
                        g
                    })
                    .collect()
            })
            .collect();
        for step in [8, 11] {
            let img = convert_ok(image(enc, 4, step, &rows));
            for (y, row) in groups.iter().enumerate() {
                for (g, (_, rgb)) in row.iter().enumerate() {
                    for x in [2 * g, 2 * g + 1] {
                        let at = format!("{enc} step {step} ({x},{y})");
                        assert_near(img.pixel(x as u32, y as u32), *rgb, &at);
                    }
                }
            }
        }
    }
    // Luma differs within a group: black then white.
    let img = convert_ok(image("yuv422", 2, 4, &[vec![128, 16, 128, 235]]));
    assert_near(img.pixel(0, 0), [0, 0, 0], "left");
    assert_near(img.pixel(1, 0), [255, 255, 255], "right");
}

const R: usize = 0;
const G: usize = 1;
const B: usize = 2;
const BAYER: [(&str, [usize; 4]); 4] = [
    ("bayer_rggb8", [R, G, G, B]),
    ("bayer_bggr8", [B, G, G, R]),
    ("bayer_gbrg8", [G, B, R, G]),
    ("bayer_grbg8", [G, R, B, G]),
];

/// The mosaic a sensor with `pattern` would give of a picture where `rgb(x, y)` is the colour.
fn mosaic(
    pattern: [usize; 4],
    width: usize,
    height: usize,
    rgb: impl Fn(usize, usize) -> [u8; 3],
) -> Vec<Vec<u8>> {
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| rgb(x, y)[pattern[(y % 2) * 2 + x % 2]])
                .collect()
        })
        .collect()
}

#[test]
fn bayer_of_a_flat_colour_is_that_colour_everywhere() {
    let colour = [200, 120, 40];
    for (enc, pattern) in BAYER {
        for (w, h) in [(6, 4), (5, 3), (2, 2)] {
            let rows = mosaic(pattern, w, h, |_, _| colour);
            let img = convert_ok(image(enc, w as u32, w as u32 + 3, &rows));
            assert_eq!((img.width, img.height), (w as u32, h as u32));
            for y in 0..h {
                for x in 0..w {
                    assert_eq!(
                        img.pixel(x as u32, y as u32),
                        colour,
                        "{enc} {w}x{h} at ({x},{y})"
                    );
                }
            }
        }
    }
}

#[test]
fn bayer_patterns_are_not_interchangeable() {
    // An RGGB mosaic read as BGGR comes out with red and blue swapped.
    let rows = mosaic([R, G, G, B], 6, 4, |_, _| [200, 120, 40]);
    let img = convert_ok(image("bayer_bggr8", 6, 6, &rows));
    assert_eq!(img.pixel(2, 2), [40, 120, 200]);
    // Read as GRBG, the greens are taken for red and blue.
    let img = convert_ok(image("bayer_grbg8", 6, 6, &rows));
    assert_ne!(img.pixel(2, 2), [200, 120, 40]);
}

#[test]
fn bayer_interpolates_bilinearly_inside() {
    // RGGB 4x4 with distinct samples:
    //   y0: R10 G20 R30 G40
    //   y1: G50 B60 G70 B80
    //   y2: R90 G100 R110 G120
    //   y3: G130 B140 G150 B160
    let rows: Vec<Vec<u8>> = (0..4)
        .map(|y| (0..4).map(|x| (10 * (y * 4 + x + 1)) as u8).collect())
        .collect();
    let img = convert_ok(image("bayer_rggb8", 4, 4, &rows));
    // (1,1) is blue 60: red from its corners 10 30 90 110, green from its edges 20 50 70 100.
    assert_eq!(img.pixel(1, 1), [60, 60, 60]);
    // (2,1) is green 70 on a blue row: blue from left/right 60 80, red from up/down 30 110.
    assert_eq!(img.pixel(2, 1), [70, 70, 70]);
    // (1,2) is green 100 on a red row: red from left/right 90 110, blue from up/down 60 140.
    assert_eq!(img.pixel(1, 2), [100, 100, 100]);
    // (2,2) is red 110: green from 70 100 120 150 (110), blue from 60 80 140 160 (110).
    assert_eq!(img.pixel(2, 2), [110, 110, 110]);
    // A corner takes the means of the neighbours it has: (0,0) red 10, green (20+50)/2 = 35,
    // blue 60.
    assert_eq!(img.pixel(0, 0), [10, 35, 60]);
}

#[test]
fn malformed_messages_are_errors_not_panics() {
    let ok = image("rgb8", 4, 12, &colour_rows([0, 1, 2], 3));
    assert!(raw_to_rgb(ok.clone()).is_ok());

    let mut m = ok.clone();
    m.encoding = "rgb16".into();
    let e = convert_err(m);
    assert!(
        e.contains("unsupported encoding \"rgb16\"") && e.contains("bayer_rggb8"),
        "{e}"
    );

    let mut m = ok.clone();
    m.width = 0;
    assert!(convert_err(m).contains("empty"));
    let mut m = ok.clone();
    m.height = 0;
    m.data.clear();
    assert!(convert_err(m).contains("empty"));

    // Data shorter than step × height by one byte; exactly enough is fine.
    let mut m = ok.clone();
    m.data.pop();
    let e = convert_err(m);
    assert!(
        e.contains("data is 23 bytes, step 12 × height 2 needs 24"),
        "{e}"
    );

    let mut m = ok.clone();
    m.step = 11;
    let e = convert_err(m);
    assert!(
        e.contains("step 11 is shorter than a row (12 bytes)"),
        "{e}"
    );
    let mut m = ok.clone();
    m.step = 0;
    assert!(convert_err(m).contains("step 0"));

    // Absurd sizes are refused from the header alone, before any allocation.
    for (w, h) in [(MAX_SIDE + 1, 1), (1, MAX_SIDE + 1), (u32::MAX, u32::MAX)] {
        let mut m = ok.clone();
        (m.width, m.height, m.step) = (w, h, u32::MAX);
        let e = convert_err(m);
        assert!(e.contains("larger than 8192"), "{e}");
    }
    // Within the limit but with the data missing: refused on length.
    for enc in ["rgb8", "32FC1", "bayer_rggb8", "yuv422", "mono16"] {
        let mut m = ok.clone();
        m.encoding = enc.into();
        (m.width, m.height, m.step) = (MAX_SIDE, MAX_SIDE, u32::MAX);
        let e = convert_err(m);
        assert!(e.contains("needs"), "{enc}: {e}");
    }
    // Packed YUV needs an even width; Bayer at least 2x2.
    let e = convert_err(image("yuyv", 3, 6, &[vec![0; 6]]));
    assert!(e.contains("yuyv") && e.contains("even"), "{e}");
    let e = convert_err(image("bayer_rggb8", 1, 1, &[vec![0], vec![0]]));
    assert!(e.contains("2x2"), "{e}");
    let e = convert_err(image("bayer_gbrg8", 4, 4, &[vec![0; 4]]));
    assert!(e.contains("2x2"), "{e}");
}

// ---- CompressedImage ----

fn compressed(format: &str, data: Vec<u8>) -> RosCompressedImage {
    RosCompressedImage {
        stamp: None,
        format: format.into(),
        data,
    }
}

fn decoded_rgb(format: &str, data: Vec<u8>) -> RgbImage {
    match decode_compressed(compressed(format, data)) {
        Ok(Converted::Rgb(img)) => img,
        other => panic!("{format:?}: expected pixels, got {other:?}"),
    }
}

fn a_jpeg() -> Vec<u8> {
    let img = RgbImage::from_raw(4, 2, COLOURS.concat().concat()).unwrap();
    lookout_core::jpeg::encode_rgb(&img, 90).unwrap()
}

#[test]
fn jpeg_is_passed_through_byte_for_byte() {
    let jpeg = a_jpeg();
    for format in [
        "jpeg",
        "JPEG",
        "jpg",
        "rgb8; jpeg compressed bgr8",
        "mono8; jpeg compressed mono8",
        "",
        "whatever",
    ] {
        let out = decode_compressed(compressed(format, jpeg.clone())).unwrap();
        assert_eq!(
            out,
            Converted::Jpeg(Bytes::from(jpeg.clone())),
            "{format:?}"
        );
    }
    // The format decides: data that is not a JPEG still goes to the sink, which checks it.
    let out = decode_compressed(compressed("jpeg", b"not a jpeg".to_vec())).unwrap();
    assert_eq!(out, Converted::Jpeg(Bytes::from_static(b"not a jpeg")));
}

/// Encodes a PNG with the png crate.
fn png_bytes(
    width: u32,
    height: u32,
    colour: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
    palette: Option<(&[u8], Option<&[u8]>)>,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(colour);
        enc.set_depth(depth);
        if let Some((plte, trns)) = palette {
            enc.set_palette(plte.to_vec());
            if let Some(t) = trns {
                enc.set_trns(t.to_vec());
            }
        }
        let mut w = enc.write_header().unwrap();
        w.write_image_data(data).unwrap();
    }
    out
}

#[test]
fn png_every_colour_type_and_depth() {
    use png::{BitDepth::*, ColorType::*};
    let want = want_colours();
    let rgb: Vec<u8> = COLOURS.concat().concat();
    let rgba: Vec<u8> = COLOURS
        .concat()
        .iter()
        .flat_map(|p| [p[0], p[1], p[2], 9])
        .collect();
    // 16 bits a sample, big-endian: v * 257 scales back to v exactly.
    let rgb16: Vec<u8> = rgb
        .iter()
        .flat_map(|&v| (u16::from(v) * 257).to_be_bytes())
        .collect();
    let rgba16: Vec<u8> = rgba
        .iter()
        .flat_map(|&v| (u16::from(v) * 257).to_be_bytes())
        .collect();
    for (name, colour, depth, data) in [
        ("RGB 8", Rgb, Eight, &rgb),
        ("RGBA 8", Rgba, Eight, &rgba),
        ("RGB 16", Rgb, Sixteen, &rgb16),
        ("RGBA 16", Rgba, Sixteen, &rgba16),
    ] {
        let png = png_bytes(4, 2, colour, depth, data, None);
        assert_eq!(pixels(&decoded_rgb("png", png)), want, "{name}");
    }

    let greys = [0u8, 1, 128, 255, 7, 70, 170, 254];
    let want_grey: Vec<Vec<[u8; 3]>> = greys
        .chunks(4)
        .map(|r| r.iter().map(|&g| grey(g)).collect())
        .collect();
    let ga: Vec<u8> = greys.iter().flat_map(|&g| [g, 0]).collect();
    let grey16: Vec<u8> = greys
        .iter()
        .flat_map(|&g| (u16::from(g) * 257).saturating_add(100).to_be_bytes())
        .collect();
    let ga16: Vec<u8> = greys
        .iter()
        .flat_map(|&g| {
            let [a, b] = (u16::from(g) * 257).to_be_bytes();
            [a, b, 0, 0]
        })
        .collect();
    for (name, colour, depth, data) in [
        ("grey 8", Grayscale, Eight, &greys[..]),
        ("grey+alpha 8", GrayscaleAlpha, Eight, &ga[..]),
        ("grey 16", Grayscale, Sixteen, &grey16[..]),
        ("grey+alpha 16", GrayscaleAlpha, Sixteen, &ga16[..]),
    ] {
        let png = png_bytes(4, 2, colour, depth, data, None);
        assert_eq!(
            pixels(&decoded_rgb("mono16; png compressed", png)),
            want_grey,
            "{name}"
        );
    }

    // 1-bit grey expands to 0 and 255: rows 1010, 0110 (each row padded to a byte).
    let png = png_bytes(4, 2, Grayscale, One, &[0b1010_0000, 0b0110_0000], None);
    assert_eq!(
        pixels(&decoded_rgb("png", png)),
        vec![
            vec![grey(255), grey(0), grey(255), grey(0)],
            vec![grey(0), grey(255), grey(255), grey(0)]
        ]
    );

    // Palette (4 bits an index), with and without transparency: the colours, alpha dropped.
    let plte: Vec<u8> = COLOURS.concat().concat();
    let indices = [0x01, 0x23, 0x45, 0x67];
    for trns in [None, Some(&[0u8, 128, 255][..])] {
        let png = png_bytes(4, 2, Indexed, Four, &indices, Some((&plte, trns)));
        assert_eq!(
            pixels(&decoded_rgb("bgr8; png compressed", png)),
            want,
            "trns {trns:?}"
        );
    }
}

#[test]
fn png_of_16uc1_depth_is_stretched_like_raw_depth() {
    let values: [u16; 8] = [0, 1000, 2000, 3000, 1500, 0, 3000, 1000];
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let png = png_bytes(
        4,
        2,
        png::ColorType::Grayscale,
        png::BitDepth::Sixteen,
        &data,
        None,
    );
    let img = decoded_rgb("16UC1; png compressed", png.clone());
    assert_eq!(
        pixels(&img),
        vec![
            vec![grey(0), grey(32), grey(144), grey(255)],
            vec![grey(88), grey(0), grey(255), grey(32)],
        ]
    );
    // Named mono16 (or nothing), the same PNG is plain 16-bit grey: mostly black.
    let img = decoded_rgb("png", png);
    assert_eq!(img.pixel(3, 0), grey(12));
}

#[test]
fn format_string_decides_and_magic_bytes_settle_vague_ones() {
    let png = png_bytes(
        1,
        1,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        &[1, 2, 3],
        None,
    );
    for format in [
        "png",
        "PNG",
        "bgr8; png compressed",
        "rgb8; png compressed ",
        "",
        "image",
    ] {
        assert_eq!(
            decoded_rgb(format, png.clone()).pixel(0, 0),
            [1, 2, 3],
            "{format:?}"
        );
    }
    // Said to be PNG, it is decoded as PNG even if it is something else.
    let e = decode_compressed(compressed("png", a_jpeg()))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("PNG:"), "{e}");

    let e = decode_compressed(compressed("16UC1; compressedDepth png", png.clone()))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("compressedDepth") && e.contains("raw depth topic"),
        "{e}"
    );
    let e = decode_compressed(compressed("32FC1; compressedDepth rvl", vec![0; 20]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not supported"), "{e}");

    let e = decode_compressed(compressed("tiff", vec![0x49, 0x49, 0x2A, 0]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("neither JPEG nor PNG"), "{e}");
    assert!(decode_compressed(compressed("", Vec::new())).is_err());
}

#[test]
fn damaged_and_huge_pngs_are_errors() {
    let data: Vec<u8> = (0..6 * 4 * 3).map(|i| i as u8).collect();
    let png = png_bytes(6, 4, png::ColorType::Rgb, png::BitDepth::Eight, &data, None);
    assert_eq!(decoded_rgb("png", png.clone()).data, data);
    // Cut anywhere: an error each time, never a panic.
    // Cut anywhere before the last pixel is in: an error each time, never a panic. (The
    // last 20 bytes are the zlib checksum, IDAT's CRC and IEND; the decoder stops at the
    // last row, so a cut there still gives the whole picture.)
    for len in 0..png.len() {
        let out = decode_compressed(compressed("png", png[..len].to_vec()));
        if len < png.len() - 20 {
            assert!(out.is_err(), "cut at {len}");
        } else {
            assert_eq!(
                out.ok(),
                Some(Converted::Rgb(
                    RgbImage::from_raw(6, 4, data.clone()).unwrap()
                ))
            );
        }
    }
    // A flipped byte anywhere: an error or a picture of the right size, never a panic.
    for at in 0..png.len() {
        let mut bad = png.clone();
        bad[at] ^= 0x5A;
        if let Ok(Converted::Rgb(img)) = decode_compressed(compressed("png", bad)) {
            assert_eq!((img.width, img.height), (6, 4), "flipped at {at}");
        }
    }
    // The IHDR's checksum is checked: its width, say, cannot change unnoticed.
    let mut bad = png.clone();
    bad[19] ^= 0x01;
    assert!(decode_compressed(compressed("png", bad)).is_err());
    // Too wide to publish: refused from the header.
    let wide = png_bytes(
        MAX_SIDE + 1,
        1,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        &vec![0; MAX_SIDE as usize + 1],
        None,
    );
    let e = decode_compressed(compressed("png", wide))
        .unwrap_err()
        .to_string();
    assert!(e.contains("larger than 8192"), "{e}");
}

#[test]
fn convert_dispatches_on_the_message_type() {
    let rows = colour_rows([0, 1, 2], 3);
    let out = convert(RosMessage::Image(image("rgb8", 4, 12, &rows))).unwrap();
    assert_eq!(
        out,
        Converted::Rgb(RgbImage::from_raw(4, 2, rows.concat()).unwrap())
    );
    let jpeg = a_jpeg();
    let out = convert(RosMessage::Compressed(compressed("jpeg", jpeg.clone()))).unwrap();
    assert_eq!(out, Converted::Jpeg(Bytes::from(jpeg)));
}
