//! The scaled decoder against a full decode (zune-jpeg) box-averaged by the same factor, on
//! JPEGs from our encoder and jpeg-encoder in every layout it handles; and damaged data.

use super::scaled::{Scaled, decode};
use crate::jpeg::rust_backend;
use crate::jpeg::test_pictures::{encode_with as encode, psnr_db, with_blocks_and_disc};
use crate::{RgbImage, scale};
use jpeg_encoder::SamplingFactor;

/// Gradients, hard-edged colour blocks, a soft disc and fine stripes (a 6-pixel period, some
/// of a camera's texture): what a wrong IDCT weight, subsampling or colour conversion shows
/// up in. Noise is left out: its detail above 1/2 of the sampling rate is what a scaled
/// decode drops by design (the benchmark's noisy frame is that case, measured there).
fn scene(w: u32, h: u32) -> RgbImage {
    let mut img = RgbImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let i = ((y * w + x) * 3) as usize;
            let stripes = if (x / 3) % 2 == 0 { 30 } else { 0 };
            img.data[i] = ((x * 200) / w.max(1)) as u8 + stripes;
            img.data[i + 1] = ((y * 255) / h.max(1)) as u8;
            img.data[i + 2] = (((x + 2 * y) * 255) / (w + 2 * h).max(1)) as u8;
        }
    }
    with_blocks_and_disc(img)
}

/// Decodes `jpeg` at 1/`factor` and returns its PSNR against zune-jpeg's full decode
/// box-averaged by `factor`.
fn db_against_full(jpeg: &[u8], factor: u32, what: &str) -> f64 {
    let full = rust_backend::decode_rgb(jpeg).expect(what);
    let want = scale::reduce(&full, factor);
    let got = match decode(jpeg, factor).expect(what) {
        Scaled::Decoded(got) => got,
        Scaled::Unsupported(why) => panic!("{what}: unsupported: {why}"),
    };
    assert_eq!(
        (got.width, got.height),
        (full.width.div_ceil(factor), full.height.div_ceil(factor)),
        "{what}"
    );
    psnr_db(&got, &want)
}

#[test]
fn every_layout_and_size_matches_a_full_decode_box_averaged() {
    use SamplingFactor::{R_4_2_0, R_4_2_2, R_4_4_0, R_4_4_4};
    let mut worst = f64::INFINITY;
    for (w, h) in [(1, 1), (17, 9), (333, 217), (1281, 721)] {
        let img = scene(w, h);
        for quality in [95, 50] {
            for (sampling, grey, restarts) in [
                (R_4_2_0, false, 0),
                (R_4_2_2, false, 0),
                (R_4_4_4, false, 0),
                (R_4_4_0, false, 0),
                (R_4_4_4, true, 0),
                (R_4_2_0, false, 3),
            ] {
                let jpeg = encode(&img, quality, sampling, grey, |e| {
                    e.set_restart_interval(restarts)
                });
                for factor in [2, 4, 8] {
                    let what = format!(
                        "{w}x{h} q{quality} {sampling:?} grey {grey} restarts {restarts} 1/{factor}"
                    );
                    let db = db_against_full(&jpeg, factor, &what);
                    eprintln!("{what}: {db:.1} dB");
                    // Measured (2026-12-07): 35.6-54 dB for 4:2:0, 4:4:4 and grey, 32.6-40
                    // dB for 4:2:2 and 4:4:0 (chroma halved one way only is upsampled at the
                    // reduced size, losing some of its detail). 17x9 is nothing but edges
                    // and stripes: 18-52 dB there, and 1x1 exact. A wrong IDCT weight or
                    // chroma placement fails: swapping the two IDCT rotation constants gave 30.8.
                    let min_db = match (w, sampling) {
                        (..20, _) => 15.0,
                        (_, R_4_2_2 | R_4_4_0) => 32.0,
                        _ => 35.0,
                    };
                    assert!(db >= min_db, "{what}: PSNR {db:.1} dB");
                    if w >= 20 {
                        worst = worst.min(db);
                    }
                }
            }
        }
    }
    eprintln!("worst PSNR against a full decode, box-averaged: {worst:.1} dB");
}

#[test]
fn our_own_encoders_frames_match_at_every_scale() {
    for (w, h) in [(1280, 720), (640, 480), (17, 9)] {
        let img = scene(w, h);
        for quality in [90, 30] {
            let jpeg = crate::jpeg::encode::encode_rgb(&img, quality);
            for factor in [2, 4, 8] {
                let what = format!("{w}x{h} ours q{quality} 1/{factor}");
                let db = db_against_full(&jpeg, factor, &what);
                eprintln!("{what}: {db:.1} dB");
                // Measured: 39.3-49.6 dB; 26.9-45 at 17x9 (all edges).
                assert!(db >= if w < 20 { 22.0 } else { 37.0 }, "{what}: {db:.1} dB");
            }
        }
    }
}

#[test]
fn what_it_does_not_handle_is_unsupported_not_an_error() {
    let img = scene(64, 48);
    let progressive = encode(&img, 80, SamplingFactor::R_4_2_0, false, |e| {
        e.set_progressive(true)
    });
    let separate_scans = encode(&img, 80, SamplingFactor::R_4_2_0, false, |e| {
        e.set_optimized_huffman_tables(true)
    });
    for (what, jpeg) in [
        ("progressive", progressive),
        ("one scan each", separate_scans),
    ] {
        match decode(&jpeg, 2).expect(what) {
            Scaled::Unsupported(why) => eprintln!("{what}: {why}"),
            Scaled::Decoded(_) => panic!("{what} decoded"),
        }
    }
    let baseline = encode(&img, 80, SamplingFactor::R_4_2_0, false, |_| {});
    assert!(matches!(decode(&baseline, 3), Ok(Scaled::Unsupported(_))));
}

#[test]
fn cut_short_and_garbage_are_errors() {
    let img = scene(160, 96);
    let jpeg = encode(&img, 80, SamplingFactor::R_4_2_0, false, |_| {});
    for factor in [2, 4, 8] {
        assert!(decode(&jpeg[..jpeg.len() / 2], factor).is_err(), "half");
        let mut ended = jpeg[..jpeg.len() * 2 / 3].to_vec();
        ended.extend_from_slice(&[0xFF, 0xD9]);
        assert!(decode(&ended, factor).is_err(), "EOI two thirds in");
        assert!(decode(b"not a jpeg at all", factor).is_err());
        assert!(decode(&[0xFF, 0xD8, 0xFF], factor).is_err());
        assert!(decode(&[], factor).is_err());
    }
}

/// Found by the `jpeg_scaled_decode` fuzz target: a scan naming a chroma component twice and
/// luma not at all made the decoder read a half-width chroma plane as luma, out of bounds.
#[test]
fn a_scan_that_names_a_component_twice_is_an_error() {
    let img = scene(64, 48);
    let mut jpeg = encode(&img, 80, SamplingFactor::R_4_2_2, false, |_| {});
    let sos = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("a scan");
    // Marker, length (2), count, then (id, tables) per component: Y's id becomes Cr's.
    assert_eq!(jpeg[sos + 4], 3, "three components in the scan");
    jpeg[sos + 5] = jpeg[sos + 9];
    for factor in [2, 4, 8] {
        let Err(e) = decode(&jpeg, factor) else {
            panic!("decoded at 1/{factor}");
        };
        assert!(e.to_string().contains("twice"), "{e}");
    }
}

/// A fuzzer in miniature (fuzz/fuzz_targets/jpeg_scaled_decode.rs is the real one): damaged
/// JPEGs of every layout give errors or pictures of the header's size, never a panic
/// (overflow checks are on in test builds).
#[test]
fn mutated_jpegs_never_panic() {
    let img = scene(72, 40);
    let bases = [
        encode(&img, 90, SamplingFactor::R_4_2_0, false, |e| {
            e.set_restart_interval(2)
        }),
        encode(&img, 20, SamplingFactor::R_4_2_2, false, |_| {}),
        encode(&img, 100, SamplingFactor::R_4_4_4, true, |_| {}),
        crate::jpeg::encode::encode_rgb(&img, 100),
    ];
    let mut damage = crate::jpeg::test_pictures::Damage::new();
    let mut decoded = 0;
    for base in &bases {
        for round in 0..1500 {
            let d = damage.damaged(base);
            let factor = [2, 4, 8][round % 3];
            if let Ok(Scaled::Decoded(img)) = decode(&d, factor) {
                assert_eq!(img.data.len(), (img.width * img.height * 3) as usize);
                decoded += 1;
            }
        }
    }
    assert!(decoded > 500, "{decoded}");
}
