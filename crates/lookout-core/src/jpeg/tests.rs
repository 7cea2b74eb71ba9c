use super::test_pictures::{encode_with, gradient, psnr_db, with_blocks_and_disc};
use super::*;

#[test]
fn encode_then_decode_keeps_size_and_colours() {
    let img = gradient(64, 48);
    let jpeg = encode_rgb(&img, 90).unwrap();
    let info = inspect(&jpeg).unwrap();
    assert_eq!((info.width, info.height, info.len), (64, 48, jpeg.len()));
    let back = decode_rgb(&jpeg).unwrap();
    assert_eq!((back.width, back.height), (64, 48));
    let [r, g, b] = back.pixel(60, 40);
    assert!(r > 200 && g > 180 && (110..150).contains(&b), "{r} {g} {b}");
}

#[test]
fn scanner_resumes_across_every_split_point() {
    let jpeg = encode_rgb(&gradient(40, 30), 80).unwrap();
    for split in 0..jpeg.len() {
        let mut s = JpegScanner::new();
        let first = s.scan(&jpeg[..split]);
        assert!(
            matches!(first, Scan::Incomplete),
            "split {split}: {first:?}"
        );
        assert_eq!(s.scan(&jpeg), Scan::Complete(jpeg.len()), "split {split}");
        assert_eq!(s.size(), Some((40, 30)));
    }
}

#[test]
fn scanner_ignores_eoi_inside_an_app_segment() {
    let jpeg = encode_rgb(&gradient(16, 16), 80).unwrap();
    // An APP1 segment holding FF D9 (as an EXIF thumbnail would) right after SOI.
    let mut with_app = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9];
    with_app.extend_from_slice(&jpeg[2..]);
    assert_eq!(inspect(&with_app).unwrap().len, with_app.len());
}

#[test]
fn damaged_jpegs_are_errors_not_panics() {
    let jpeg = encode_rgb(&gradient(32, 32), 80).unwrap();
    assert_eq!(
        inspect(b"hello"),
        Err("does not start with a JPEG SOI marker")
    );
    assert_eq!(inspect(&jpeg[..jpeg.len() - 2]), Err("JPEG is truncated"));
    assert_eq!(
        inspect(&[0xFF, 0xD8, 0xFF, 0xD9]),
        Err("JPEG ends before its image data")
    );
    assert!(decode_rgb(&jpeg[..jpeg.len() / 2]).is_err());
    // Flip bytes all over the entropy data: decode may fail or give garbage, never panic.
    for i in (jpeg.len() / 2..jpeg.len() - 2).step_by(7) {
        let mut bad = jpeg.clone();
        bad[i] ^= 0x5A;
        let _ = decode_rgb(&bad);
    }
}

/// Both compiled backends give the same sizes and close colours for the same input.
#[test]
fn every_backend_round_trips() {
    let img = gradient(96, 64);
    type Encode = fn(&RgbImage, u8) -> Result<Vec<u8>, crate::Error>;
    type Decode = fn(&[u8]) -> Result<RgbImage, crate::Error>;
    #[cfg_attr(not(feature = "turbojpeg"), allow(unused_mut))]
    let mut backends: Vec<(&str, Encode, Decode)> = vec![(
        "rust",
        super::rust_backend::encode_rgb,
        super::rust_backend::decode_rgb,
    )];
    #[cfg(feature = "turbojpeg")]
    backends.push((
        "turbo",
        super::turbo_backend::encode_rgb,
        super::turbo_backend::decode_rgb,
    ));
    for (name, enc, dec) in backends {
        let jpeg = enc(&img, 90).unwrap();
        assert_eq!(inspect(&jpeg).unwrap().width, 96, "{name}");
        let back = dec(&jpeg).unwrap();
        assert_eq!((back.width, back.height), (96, 64), "{name}");
        for (x, y) in [(5, 5), (50, 30), (90, 60)] {
            let (a, b) = (img.pixel(x, y), back.pixel(x, y));
            let diff = a
                .iter()
                .zip(b)
                .map(|(p, q)| (i32::from(*p) - i32::from(q)).abs())
                .max()
                .unwrap();
            assert!(diff < 24, "{name} at ({x},{y}): {a:?} vs {b:?}");
        }
    }
}

#[test]
fn refuses_to_encode_empty_or_huge_images() {
    assert_eq!(
        encode_rgb(&RgbImage::new(0, 10), 80).unwrap_err().kind(),
        crate::ErrorKind::InvalidInput
    );
    let huge = RgbImage {
        width: MAX_SIDE + 1,
        height: 1,
        data: vec![0; (MAX_SIDE as usize + 1) * 3],
    };
    assert!(encode_rgb(&huge, 80).is_err());
}

/// A camera-like picture: gradients, hard-edged blocks and a soft disc.
fn scene(w: u32, h: u32) -> RgbImage {
    with_blocks_and_disc(gradient(w, h))
}

#[test]
fn scaled_decode_matches_a_full_decode_and_resize() {
    use jpeg_encoder::SamplingFactor::{R_4_2_0, R_4_2_2, R_4_4_4};
    // (source size, variant size, the size decoded at when the scaled IDCT applies)
    let sizes = [
        ((1280, 720), (640, 360), (640, 360)),
        ((1280, 720), (480, 270), (640, 360)),
        ((1280, 720), (200, 113), (320, 180)),
        ((1280, 720), (100, 100), (320, 180)),
        ((1281, 721), (320, 180), (321, 181)),
        ((333, 217), (41, 27), (42, 28)),
        ((640, 480), (600, 450), (640, 480)),
    ];
    for ((w, h), (vw, vh), (dw, dh)) in sizes {
        let img = scene(w, h);
        for (sampling, grey, progressive, restarts) in [
            (R_4_2_0, false, false, 0),
            (R_4_2_2, false, false, 0),
            (R_4_4_4, false, false, 0),
            (R_4_2_0, true, false, 0),
            (R_4_2_0, false, false, 7),
            (R_4_2_0, false, true, 0),
            (R_4_2_2, false, true, 5),
        ] {
            let what = format!(
                "{w}x{h} → {vw}x{vh}, {sampling:?}, grey {grey}, progressive {progressive}, \
                 restart interval {restarts}"
            );
            let jpeg = encode_with(&img, 90, sampling, grey, |e| {
                e.set_progressive(progressive);
                e.set_restart_interval(restarts);
            });
            let full = crate::scale::resize(&decode_rgb(&jpeg).unwrap(), vw, vh);
            let decoded = decode_rgb_at_least(&jpeg, vw, vh).unwrap();
            assert_eq!((decoded.width, decoded.height), (dw, dh), "{what}");
            let variant = crate::scale::resize(&decoded, vw, vh);
            let db = psnr_db(&variant, &full);
            // Both are proper downscales (a box of 2, 4 or 8 then a triangle, against one
            // wide triangle), so they differ a little at hard edges: measured 34-55 dB (with
            // a scaled IDCT), and 26-28 dB at 41x27, where each output pixel spans a whole
            // 8x8 square. Red and blue swapped in the reduced picture gave 9 dB.
            let min_db = if vw < 64 { 24.0 } else { 32.0 };
            assert!(db > min_db, "{what}: PSNR {db:.1} dB against a full decode");
        }
    }
}

#[test]
fn scaled_decode_of_damaged_data_is_an_error() {
    let jpeg = encode_rgb(&scene(320, 240), 80).unwrap();
    let mut cut = jpeg[..jpeg.len() / 2].to_vec();
    cut.extend_from_slice(&[0xFF, 0xD9]);
    // Half the entropy-coded data: an error or a picture, never a panic.
    let _ = decode_rgb_at_least(&cut, 80, 60);
    assert!(decode_rgb_at_least(&jpeg[..20], 80, 60).is_err());
    let mut garbled = jpeg.clone();
    for b in garbled.iter_mut().skip(600).step_by(7) {
        *b ^= 0x5A;
    }
    let _ = decode_rgb_at_least(&garbled, 80, 60);
}

/// PSNR of `jpeg` decoded by zune-jpeg against `img`.
fn round_trip_db(img: &RgbImage, jpeg: &[u8]) -> f64 {
    psnr_db(img, &rust_backend::decode_rgb(jpeg).unwrap())
}

#[test]
fn our_encoder_is_as_good_as_jpeg_encoder_at_every_size() {
    for (w, h) in [(1, 1), (2, 3), (17, 9), (333, 217), (640, 360), (1280, 720)] {
        let img = scene(w, h);
        for q in [10, 50, 80, 95, 100] {
            let ours = encode::encode_rgb(&img, q);
            let theirs = encode_with(
                &img,
                q,
                jpeg_encoder::SamplingFactor::R_4_2_0,
                false,
                |_| {},
            );
            let (ours_db, theirs_db) = (round_trip_db(&img, &ours), round_trip_db(&img, &theirs));
            // A second decoder (they differ only in how they upsample chroma).
            let other = jpeg_decoder::Decoder::new(ours.as_slice())
                .decode()
                .unwrap();
            let other = RgbImage::from_raw(w, h, other).unwrap();
            assert!(
                psnr_db(&img, &other) > ours_db - 1.0,
                "{w}x{h} q{q}: jpeg-decoder"
            );
            // jpeg-encoder picks one pixel of each 2x2 for chroma; we average them, which
            // is better at edges. Same tables, so about the same size. (A picture of a few
            // pixels is all edge: compared only from 17x9 on.)
            assert!(
                ours_db > theirs_db - 0.5 || w < 16,
                "{w}x{h} q{q}: {ours_db:.1} dB, jpeg-encoder {theirs_db:.1} dB"
            );
            if w >= 333 {
                let ratio = ours.len() as f64 / theirs.len() as f64;
                // Smaller at q100 (0.64 at 333x217): averaged chroma has less noise to code.
                assert!(ratio < 1.1, "{w}x{h} q{q}: size ratio {ratio:.2}");
            }
            assert_eq!(estimate_quality(&ours), estimate_quality(&theirs));
        }
    }
}

/// Found by the `jpeg_scaled_decode` fuzz target: a second frame header after the first scan
/// makes the scanner's size (what the server and the rest of this module go by) differ from
/// the first one, which the scaled decoder reads. The picture must never disagree with
/// `inspect`: the full decode (which checks it) decides.
#[test]
fn a_second_frame_header_after_the_scan_does_not_give_a_wrong_size() {
    let jpeg = encode_rgb(&scene(32, 24), 80).unwrap();
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    let len = usize::from(u16::from_be_bytes([jpeg[sof + 2], jpeg[sof + 3]]));
    let mut second = jpeg[sof..sof + 2 + len].to_vec();
    second[5..9].copy_from_slice(&[0, 48, 0, 64]); // height 48, width 64
    let mut damaged = jpeg[..jpeg.len() - 2].to_vec();
    damaged.extend_from_slice(&second);
    damaged.extend_from_slice(&[0xFF, 0xD9]);
    let info = inspect(&damaged).expect("the scanner reads it");
    for (min_w, min_h) in [(16, 12), (8, 6), (4, 3)] {
        if let Ok(img) = decode_rgb_at_least(&damaged, min_w, min_h) {
            let f = crate::scale::reduction_for(info.width, info.height, min_w, min_h);
            let f = f.unwrap_or(1);
            assert_eq!(
                (img.width, img.height),
                (info.width.div_ceil(f), info.height.div_ceil(f)),
                "asked for {min_w}x{min_h}, the header says {}x{}",
                info.width,
                info.height
            );
        }
    }
}
