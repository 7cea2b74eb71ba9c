//! The picture at 1/8 scale straight from a baseline JPEG: the mean of each 8x8 luma block is
//! its DC coefficient (ITU T.81 A.3.3: mean = DC x quantiser / 8, + 128 for the level shift),
//! so Huffman-decoding the luma blocks, skipping their AC coefficients and the chroma blocks,
//! gives it with no IDCT, no upsampling and no colour conversion.
//!
//! The entropy decoding still reads every bit, and it is most of the cost of a JPEG decode:
//! see docs/performance.md for this against zune-jpeg's full luma decode and libjpeg-turbo at
//! 1/8 scale.
//!
//! Baseline and extended sequential Huffman JPEGs with 8-bit samples, 1 or 3 components, luma
//! at full resolution and in the first scan are read here: what cameras and encoders send.
//! Anything else (progressive, arithmetic, lossless, 12-bit, CMYK, Adobe RGB) is reported as
//! unsupported, for a full decode to handle. Damaged data is an error, never a panic; work is
//! bounded by the header's size (at most [`crate::jpeg::MAX_SIDE`] a side).
//!
//! The header parser and the Huffman decoder are `crate::jpeg::decode`'s, shared with the
//! scaled colour decoder behind variants.

use super::gray_image::GrayImage;
use crate::Error;
use crate::jpeg::decode::headers::{self, Headers, Parsed};
use crate::jpeg::decode::huffman::{BitReader, Huffman, RestartCountdown};

/// What [`decode`] made of a JPEG.
#[derive(Debug)]
pub enum DcLuma {
    /// The 8x8 block means: `ceil(width / 8)` x `ceil(height / 8)` pixels.
    Decoded {
        image: GrayImage,
        width: u32,
        height: u32,
    },
    /// A valid-looking JPEG this reader does not handle, and why.
    Unsupported(&'static str),
}

/// One component of a scan: its blocks per MCU, its tables, its DC prediction.
struct ScanComponent<'t> {
    index: usize,
    h: usize,
    v: usize,
    dc: &'t Huffman,
    ac: &'t Huffman,
    pred: i32,
}

/// Decodes one block's coefficients, returning its DC value (prediction applied).
#[inline]
fn decode_block(bits: &mut BitReader<'_>, comp: &mut ScanComponent<'_>) -> Result<i32, Error> {
    comp.pred = comp.pred.wrapping_add(bits.dc_diff(comp.dc)?);
    bits.skip_ac(comp.ac, 1)?;
    Ok(comp.pred)
}

/// Reads a JPEG's headers and, when it is a kind this module handles, its luma block means.
pub fn decode(data: &[u8]) -> Result<DcLuma, Error> {
    match headers::read(data)? {
        Parsed::Supported(f) => decode_scan(data, &f),
        Parsed::Unsupported(why) => Ok(DcLuma::Unsupported(why)),
    }
}

fn decode_scan(data: &[u8], f: &Headers) -> Result<DcLuma, Error> {
    let (width, height) = (f.width, f.height);
    let count = f.scan.len();
    let mut scan = Vec::with_capacity(count);
    for s in &f.scan {
        let (Some(Some(dc)), Some(Some(ac))) = (f.dc_tables.get(s.dc), f.ac_tables.get(s.ac))
        else {
            return Err(Error::corrupt("JPEG scan uses a missing Huffman table"));
        };
        scan.push(ScanComponent {
            index: s.index,
            // A scan of one component codes its blocks one by one (T.81 A.2.2).
            h: if count == 1 {
                1
            } else {
                usize::from(f.comps[s.index].h)
            },
            v: if count == 1 {
                1
            } else {
                usize::from(f.comps[s.index].v)
            },
            dc,
            ac,
            pred: 0,
        });
    }
    if !scan.iter().any(|c| c.index == 0) {
        return Ok(DcLuma::Unsupported("luma not in the first scan"));
    }
    let q = f.quant[usize::from(f.comps[0].quant)]
        .ok_or_else(|| Error::corrupt("JPEG luma quantisation table missing"))?[0];
    let (bw, bh) = (width.div_ceil(8) as usize, height.div_ceil(8) as usize);
    let (mcu_w, mcu_h) = if count == 1 {
        (8, 8)
    } else {
        let (hmax, vmax) = f.max_sampling();
        (8 * hmax, 8 * vmax)
    };
    let (mcus_x, mcus_y) = (
        (width as usize).div_ceil(mcu_w),
        (height as usize).div_ceil(mcu_h),
    );
    // Block mean: DC x q / 8, plus 128 for the level shift (T.81 A.3.1, A.3.3).
    let level = |pred: i32| ((i64::from(pred) * i64::from(q) + 4) >> 3).clamp(-128, 127) + 128;
    let mut out = vec![0u8; bw * bh];
    let mut bits = BitReader::new(data, f.scan_start);
    let mut restarts = RestartCountdown::new(f.restart_interval);
    for my in 0..mcus_y {
        for mx in 0..mcus_x {
            if bits.before_mcu(&mut restarts)? {
                scan.iter_mut().for_each(|c| c.pred = 0);
            }
            for comp in scan.iter_mut() {
                for v in 0..comp.v {
                    for h in 0..comp.h {
                        let dc = decode_block(&mut bits, comp)?;
                        if comp.index == 0 {
                            let (x, y) = (mx * comp.h + h, my * comp.v + v);
                            if x < bw && y < bh {
                                out[y * bw + x] = level(dc) as u8;
                            }
                        }
                    }
                }
            }
        }
        // Once a row: damaged data is found early instead of decoding zeros to the bottom.
        if bits.overran() {
            return Err(Error::corrupt("JPEG image data cut short"));
        }
    }
    let image = GrayImage::from_raw(bw as u32, bh as u32, out)
        .ok_or_else(|| Error::internal("DC image of the wrong size"))?;
    Ok(DcLuma::Decoded {
        image,
        width,
        height,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RgbImage;
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    fn scene(width: u32, height: u32) -> RgbImage {
        let mut img = RgbImage::new(width, height);
        for y in 0..height {
            for x in 0..width {
                let i = (y * width + x) as usize * 3;
                let v = ((x * 7 + y * 3) % 256) as u8;
                img.data[i..i + 3].copy_from_slice(&[v, 255 - v, (x % 64 * 4) as u8]);
            }
        }
        img.fill_rect(30, 20, 40, 30, [250, 240, 10]);
        img
    }

    fn encode(
        img: &RgbImage,
        color: ColorType,
        sampling: SamplingFactor,
        setup: impl FnOnce(&mut Encoder<&mut Vec<u8>>),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        let mut enc = Encoder::new(&mut out, 90);
        enc.set_sampling_factor(sampling);
        setup(&mut enc);
        let data: Vec<u8> = if color == ColorType::Luma {
            img.data
                .chunks(3)
                .map(|p| {
                    ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]) + 128)
                        >> 8) as u8
                })
                .collect()
        } else {
            img.data.clone()
        };
        enc.encode(&data, img.width as u16, img.height as u16, color)
            .expect("encode");
        out
    }

    /// The block means of the fully decoded luma: what the DC image must match.
    /// The 8x8 block means of the source picture's luma: what the DC image must match.
    fn reference(img: &RgbImage) -> GrayImage {
        super::super::gray::box_reduce(&to_gray(img), 8)
    }

    fn to_gray(img: &RgbImage) -> GrayImage {
        let luma = img
            .data
            .chunks(3)
            .map(|p| {
                ((77 * u32::from(p[0]) + 150 * u32::from(p[1]) + 29 * u32::from(p[2]) + 128) >> 8)
                    as u8
            })
            .collect();
        GrayImage::from_raw(img.width, img.height, luma).expect("size")
    }

    /// Decodes `jpeg` (made from `img`) and compares the whole blocks with `img`'s means. Not
    /// with a full decode: zune-jpeg 0.5.15 decodes non-interleaved 4:2:0 scans wrong
    /// (zune-image issue 422), and this reader gets them right.
    fn assert_close(jpeg: &[u8], img: &RgbImage, what: &str) {
        let DcLuma::Decoded { image, .. } = decode(jpeg).expect(what) else {
            panic!("{what}: unsupported");
        };
        let want = reference(img);
        assert_eq!(
            (image.width(), image.height()),
            (want.width(), want.height()),
            "{what}"
        );
        // Partial blocks at the right and bottom edges hold the encoder's padding: skip them.
        let (full_w, full_h) = (img.width / 8, img.height / 8);
        let mut worst = 0;
        for y in 0..full_h {
            for x in 0..full_w {
                worst = worst.max(image.pixel(x, y).abs_diff(want.pixel(x, y)));
            }
        }
        // Quantisation of the DC at quality 90 and the encoder's own RGB to YCbCr: 2 levels.
        assert!(worst <= 2, "{what}: worst block differs by {worst}");
    }

    #[test]
    fn dc_means_match_the_source_for_every_subsampling() {
        let img = scene(131, 77); // not a multiple of 8 or 16
        for (name, sampling) in [
            ("4:2:0", SamplingFactor::R_4_2_0),
            ("4:2:2", SamplingFactor::R_4_2_2),
            ("4:4:4", SamplingFactor::R_4_4_4),
            ("4:4:0", SamplingFactor::R_4_4_0),
        ] {
            assert_close(&encode(&img, ColorType::Rgb, sampling, |_| {}), &img, name);
        }
    }

    #[test]
    fn grayscale_restarts_and_optimised_tables_decode() {
        let img = scene(200, 120);
        let gray = encode(&img, ColorType::Luma, SamplingFactor::R_4_4_4, |_| {});
        assert_close(&gray, &img, "grayscale");
        let rst = encode(&img, ColorType::Rgb, SamplingFactor::R_4_2_0, |e| {
            e.set_restart_interval(3)
        });
        assert_close(&rst, &img, "restart interval 3");
        let opt = encode(&img, ColorType::Rgb, SamplingFactor::R_4_2_0, |e| {
            e.set_optimized_huffman_tables(true)
        });
        assert_close(
            &opt,
            &img,
            "optimised Huffman tables: one scan per component",
        );
    }

    #[test]
    fn progressive_is_unsupported_and_says_so() {
        let img = scene(64, 48);
        let prog = encode(&img, ColorType::Rgb, SamplingFactor::R_4_2_0, |e| {
            e.set_progressive(true)
        });
        match decode(&prog).expect("valid JPEG") {
            DcLuma::Unsupported(why) => assert!(why.contains("progressive"), "{why}"),
            DcLuma::Decoded { .. } => panic!("progressive decoded as baseline"),
        }
    }

    #[test]
    fn cut_short_and_garbage_are_errors() {
        let img = scene(160, 96);
        let jpeg = encode(&img, ColorType::Rgb, SamplingFactor::R_4_2_0, |_| {});
        assert!(decode(&jpeg[..jpeg.len() / 2]).is_err(), "half a JPEG");
        assert!(decode(b"not a jpeg at all").is_err());
        assert!(decode(&[0xFF, 0xD8, 0xFF]).is_err());
        assert!(decode(&[]).is_err());
    }

    #[test]
    fn overfull_huffman_table_is_an_error_not_a_panic() {
        let mut counts = [0u8; 16];
        counts[0] = 3; // three 1-bit codes
        assert!(Huffman::new(&counts, &[1, 2, 3]).is_err());
        counts[0] = 2;
        assert!(
            Huffman::new(&counts, &[1]).is_err(),
            "fewer symbols than codes"
        );
        assert!(Huffman::new(&counts, &[1, 2]).is_ok());
    }

    /// A fuzzer in miniature, as tests/mutated_jpegs.rs does for the full decoder: thousands
    /// of damaged JPEGs of every layout this reader handles give errors or pictures, never a
    /// panic (overflow checks are on in test builds), and the reduction behind it neither.
    #[test]
    fn mutated_jpegs_never_panic() {
        let img = scene(72, 40);
        let bases = [
            encode(&img, ColorType::Rgb, SamplingFactor::R_4_2_0, |e| {
                e.set_restart_interval(2)
            }),
            encode(&img, ColorType::Rgb, SamplingFactor::R_4_2_2, |e| {
                e.set_optimized_huffman_tables(true)
            }),
            encode(&img, ColorType::Luma, SamplingFactor::R_4_4_4, |_| {}),
        ];
        let mut damage = crate::jpeg::test_pictures::Damage::new();
        let mut decoded = 0;
        for base in &bases {
            for _ in 0..1500 {
                let d = damage.damaged(base);
                if decode(&d).is_ok() {
                    decoded += 1;
                }
                let _ = super::super::gray::reduce_jpeg(&d, 16);
            }
        }
        // Many mutations land in entropy data and still decode to something: the test reached
        // the decoder, not only the header checks.
        assert!(decoded > 500, "{decoded}");
    }
}
