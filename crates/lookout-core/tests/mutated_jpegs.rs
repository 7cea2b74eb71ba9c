//! Robustness of the JPEG scanner and decoder on damaged input: thousands of mutated JPEGs
//! (bit flips, cut-offs, spliced garbage) must give errors or pictures, never a panic, and
//! the resumable scanner must agree with a one-shot scan at every split point.
//!
//! A fuzzer in miniature that runs on stable Rust in every test run, with a fixed seed so a
//! failure reproduces.

// A panic is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

use lookout_core::RgbImage;
use lookout_core::jpeg::{JpegScanner, Scan, decode_rgb, encode_rgb, inspect};

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn sample() -> Vec<u8> {
    let mut img = RgbImage::new(48, 40);
    for (i, px) in img.data.iter_mut().enumerate() {
        *px = (i * 7 % 251) as u8;
    }
    encode_rgb(&img, 75).unwrap()
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut d = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(5) {
            0 => {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(d.len());
                d[i] = [0x00, 0xFF, 0xD8, 0xD9, 0xDA, 0xC0][rng.below(6)];
            }
            2 => d.truncate(rng.below(d.len()).max(2)),
            3 => {
                let i = rng.below(d.len());
                let junk: Vec<u8> = (0..rng.below(16)).map(|_| rng.next() as u8).collect();
                d.splice(i..i, junk);
            }
            _ => {
                // Corrupt a segment length, the classic way to make parsers read too far.
                if let Some(i) = d
                    .windows(2)
                    .position(|w| w[0] == 0xFF && w[1] >= 0xC0 && w[1] != 0xD8)
                    && i + 3 < d.len()
                {
                    d[i + 2] = rng.next() as u8;
                    d[i + 3] = rng.next() as u8;
                }
            }
        }
    }
    d
}

#[test]
fn mutated_jpegs_give_errors_or_pictures_never_panics() {
    let base = sample();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..3000 {
        let d = mutate(&mut rng, &base);
        let _ = inspect(&d);
        match decode_rgb(&d) {
            Ok(img) => {
                assert_eq!(img.data.len(), img.width as usize * img.height as usize * 3);
                ok += 1;
            }
            Err(_) => {
                refused += 1;
                // A damaged frame must not break the decoder for the next, good one
                // (libjpeg-turbo's decompressor did, until it was replaced after errors).
                assert!(
                    decode_rgb(&base).is_ok(),
                    "a good JPEG failed after a damaged one"
                );
            }
        }
    }
    // Both outcomes happen: the mutations are neither all harmless nor all fatal.
    assert!(ok > 100 && refused > 100, "decoded {ok}, refused {refused}");
}

#[test]
fn resumable_scan_agrees_with_one_shot_scan_on_mutated_input() {
    let base = sample();
    let mut rng = Rng(0x5EED_1234_ABCD_0002);
    for _ in 0..400 {
        let d = mutate(&mut rng, &base);
        let whole = JpegScanner::new().scan(&d);
        let split = rng.below(d.len());
        let mut s = JpegScanner::new();
        let first = s.scan(&d[..split]);
        let resumed = match first {
            Scan::Incomplete => s.scan(&d),
            other => other,
        };
        // A verdict reached on a prefix must be the whole buffer's verdict too (a prefix can
        // only end early when the JPEG completed or broke inside it).
        assert_eq!(resumed, whole, "split at {split} of {}", d.len());
    }
}

#[test]
fn the_unmutated_sample_decodes() {
    let d = sample();
    let img = decode_rgb(&d).unwrap();
    assert_eq!((img.width, img.height), (48, 40));
}
