//! A baseline JPEG decoded straight to 1/2, 1/4 or 1/8 of its size (each side rounded up),
//! for variants: each 8x8 block becomes 4x4, 2x2 or 1 pixel from its lowest 4x4, 2x2 or 1
//! coefficients (the block's high frequencies are Huffman-decoded past, never multiplied),
//! chroma is upsampled at the reduced size, and YCbCr becomes RGB (JFIF).
//!
//! The reduced IDCT is the full 8-point IDCT averaged over 2, 4 or 8 neighbouring pixels,
//! truncated to the coefficients below 8 / factor: averaging pixels 2m and 2m + 1 of the
//! basis cos((2x + 1) u pi / 16) gives cos(u pi / 16) cos((2m + 1) u pi / 8), a 4-point IDCT
//! with its inputs weighted, like libjpeg's `jidctred.c`. The one left-out term that is not
//! zero at 1/2 (u = 4 averages to 0 exactly) shrinks with cos(u pi / 16), so the picture is
//! close to a full decode box-averaged by the same factor (the tests hold it to that).
//!
//! Handles what cameras send: baseline and extended sequential Huffman, 8-bit, 1 or 3 (YCbCr)
//! components in one interleaved scan, any power-of-two chroma subsampling (4:2:0, 4:2:2,
//! 4:4:4, 4:4:0, 4:1:1), restart intervals. Anything else is [`Scaled::Unsupported`], for a
//! full decode to handle. Damaged data is an error, never a panic; work is bounded by the
//! header's size (at most [`crate::jpeg::MAX_SIDE`] a side).

use super::headers::{self, Headers, Parsed};
use super::huffman::{BitReader, Huffman, RestartCountdown};
use crate::{Error, RgbImage};

/// What [`decode`] made of a JPEG.
#[derive(Debug)]
pub enum Scaled {
    /// The picture, `ceil(width / factor)` x `ceil(height / factor)`.
    Decoded(RgbImage),
    /// A valid-looking JPEG this decoder does not handle, and why.
    Unsupported(&'static str),
}

/// Zigzag position (T.81 figure A.6) to row * 8 + column.
const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// Fixed-point bits of the dequantised, weighted coefficients and of the IDCT's values.
const VALUE_BITS: u32 = 6;
/// Fixed-point bits of the prescaled quantisers (shifted down to [`VALUE_BITS`] after use).
const QUANT_BITS: u32 = 8;
/// Fixed-point bits of the 4-point IDCT's rotation constants.
const CONST_BITS: u32 = 11;
/// cos(pi / 8) and cos(3 pi / 8) in [`CONST_BITS`]: round(0.92388 * 2048), round(0.38268 * 2048).
const COS_1_8: i32 = 1892;
const COS_3_8: i32 = 784;
/// A weighted coefficient of a valid JPEG is at most 2048 (T.81 A.3.3: |F| <= 2048 for 8-bit
/// samples) x 0.25 (the largest weight product): clamping at 1024 changes no valid picture
/// and keeps every sum below 2^31 (two IDCT passes: x 2^11 constants, x ~4 terms each).
const VALUE_LIMIT: i64 = 1024 << VALUE_BITS;

/// Decodes `data` at 1/`factor` of its size (2, 4 or 8), or says why it cannot.
pub fn decode(data: &[u8], factor: u32) -> Result<Scaled, Error> {
    let headers = match headers::read(data)? {
        Parsed::Supported(h) => h,
        Parsed::Unsupported(why) => return Ok(Scaled::Unsupported(why)),
    };
    match factor {
        2 | 4 | 8 => decode_scan(data, &headers, 8 / factor as usize),
        _ => Ok(Scaled::Unsupported("a scale other than 1/2, 1/4 or 1/8")),
    }
}

/// One component of the scan and its reduced-size picture.
struct Plane<'t> {
    /// Samples across and down each of its 8x8 blocks becomes: 4, 2 or 1.
    n: usize,
    /// Blocks per MCU across and down (1 and 1 in a scan of one component, T.81 A.2.2).
    h: usize,
    v: usize,
    dc: &'t Huffman,
    ac: &'t Huffman,
    pred: i32,
    /// Dequantiser x the IDCT weights of its row and column, by zigzag position, in
    /// [`QUANT_BITS`].
    weighted_quant: [i32; 64],
    /// The picture at 1/factor, whole blocks: `stride` x `rows`.
    pixels: Vec<u8>,
    stride: usize,
    /// log2 of how many output pixels one of its samples covers across and down (chroma).
    shift_x: u32,
    shift_y: u32,
}

/// The weight of frequency `u` in an `N`-point reduced IDCT (see the module comment): the
/// IDCT's C(u) / 2 times the basis averaged over the 8 / N pixels of the first output
/// pixel, divided by what the butterfly in [`idct_4`] or [`idct_2`] multiplies by itself.
fn weight<const N: usize>(u: usize) -> f64 {
    use std::f64::consts::{FRAC_1_SQRT_2, PI};
    let c = if u == 0 { FRAC_1_SQRT_2 / 2.0 } else { 0.5 };
    let span = 8 / N;
    let mean = (0..span)
        .map(|x| ((2 * x + 1) as f64 * u as f64 * PI / 16.0).cos())
        .sum::<f64>()
        / span as f64;
    // The butterflies take u = 0 and (for N = 4) u = 2 with factor 1 and give u = 1, 3 their
    // cosines themselves; so divide those out. For N = 2 the first output has +F1 exactly.
    let butterfly = match (N, u) {
        // `idct_8` gives its AC inputs sqrt 2 x the cosine at the first pixel.
        (8, 0) => 1.0,
        (8, _) => std::f64::consts::SQRT_2 * (u as f64 * PI / 16.0).cos(),
        (4, 1) => (PI / 8.0).cos(),
        (4, 2) => (PI / 4.0).cos(),
        (4, 3) => (3.0 * PI / 8.0).cos(),
        _ => 1.0,
    };
    c * mean / butterfly
}

fn weighted_quant<const N: usize>(q: &[u16; 64]) -> [i32; 64] {
    let w: [f64; N] = std::array::from_fn(weight::<N>);
    let mut out = [0i32; 64];
    for (k, &pos) in ZIGZAG.iter().enumerate() {
        let (row, col) = (usize::from(pos / 8), usize::from(pos % 8));
        if row < N && col < N {
            // At most 65535 x 0.25 x 256: fits an i32.
            out[k] =
                (f64::from(q[k]) * w[row] * w[col] * f64::from(1 << QUANT_BITS)).round() as i32;
        }
    }
    out
}

/// For zigzag position k, where its coefficient goes in an N x N block, or `NONE`.
const NONE: u8 = 0xFF;
const fn positions<const N: usize>() -> [u8; 64] {
    let mut out = [NONE; 64];
    let mut k = 0;
    while k < 64 {
        let (row, col) = ((ZIGZAG[k] / 8) as usize, (ZIGZAG[k] % 8) as usize);
        if row < N && col < N {
            out[k] = (row * N + col) as u8;
        }
        k += 1;
    }
    out
}

/// The last zigzag position an N x N block needs: 24 for 4x4, 4 for 2x2, 0 for the DC.
const fn last_needed<const N: usize>() -> usize {
    let pos = positions::<N>();
    let mut k = 63;
    while pos[k] == NONE {
        k -= 1;
    }
    k
}

/// Decodes one block: its lowest N x N coefficients, dequantised and weighted, into `out`
/// (row by row); the rest are read past. Returns whether any AC coefficient was stored.
#[inline(always)]
fn decode_block<const N: usize>(
    bits: &mut BitReader<'_>,
    plane: &mut Plane<'_>,
    out: &mut [i32],
) -> Result<bool, Error> {
    let positions: [u8; 64] = const { positions::<N>() };
    let last: usize = const { last_needed::<N>() };
    plane.pred = plane.pred.wrapping_add(bits.dc_diff(plane.dc)?);
    let scale = |coef: i32, k: usize| {
        // A valid DC is within +-1024 and an AC within +-1023: the clamp only tames damage.
        let v = i64::from(coef.clamp(-2048, 2048)) * i64::from(plane.weighted_quant[k]);
        (v >> (QUANT_BITS - VALUE_BITS)).clamp(-VALUE_LIMIT, VALUE_LIMIT) as i32
    };
    out[0] = scale(plane.pred, 0);
    let mut any_ac = false;
    let mut k = 1;
    while k <= last {
        bits.need_32();
        let (advance, value) = match bits.fast_ac(plane.ac) {
            Some(step) => step,
            None => {
                let rs = bits.symbol(plane.ac)?;
                let (run, size) = (usize::from(rs >> 4), u32::from(rs & 15));
                let advance = match (run, size) {
                    (15, 0) => 16,
                    (_, 0) => 0,
                    _ => run + 1,
                };
                (advance, bits.signed(size))
            }
        };
        if advance == 0 {
            return Ok(any_ac); // end of block
        }
        k += advance - 1;
        if let Some(&pos) = positions.get(k).filter(|&&p| p != NONE && value != 0) {
            out[usize::from(pos)] = scale(value, k);
            any_ac = true;
        }
        k += 1;
    }
    if k < 64 {
        bits.skip_ac(plane.ac, k)?;
    }
    Ok(any_ac)
}

/// A [`VALUE_BITS`] value, level-shifted (T.81 A.3.1), as a sample.
#[inline(always)]
fn sample(v: i32) -> u8 {
    ((v + (1 << (VALUE_BITS - 1))) >> VALUE_BITS)
        .saturating_add(128)
        .clamp(0, 255) as u8
}

/// The 4-point IDCT of weighted inputs: out[m] = sum p[u] cos((2m + 1) u pi / 8), with the
/// weights having divided out cos(pi / 4) for u = 2.
#[inline(always)]
fn idct_4(p: [i32; 4]) -> [i32; 4] {
    let round = 1 << (CONST_BITS - 1);
    let (t0, t1) = (p[0] + p[2], p[0] - p[2]);
    let o0 = (COS_1_8 * p[1] + COS_3_8 * p[3] + round) >> CONST_BITS;
    let o1 = (COS_3_8 * p[1] - COS_1_8 * p[3] + round) >> CONST_BITS;
    [t0 + o0, t1 + o1, t1 - o1, t0 - o0]
}

/// Writes a decoded N x N block (`coef`, weighted) as pixels at `at` in `pixels`.
#[inline(always)]
fn idct_block<const N: usize>(
    coef: &[i32; 16],
    any_ac: bool,
    pixels: &mut [u8],
    at: usize,
    stride: usize,
) {
    if !any_ac {
        let flat = sample(coef[0]);
        for row in 0..N {
            pixels[at + row * stride..][..N].fill(flat);
        }
        return;
    }
    match N {
        4 => {
            // Rows, then columns; rows of zeros (most of them) stay zeros.
            let mut rows = [[0i32; 4]; 4];
            for (v, row) in rows.iter_mut().enumerate() {
                let p = [
                    coef[v * 4],
                    coef[v * 4 + 1],
                    coef[v * 4 + 2],
                    coef[v * 4 + 3],
                ];
                if p != [0; 4] {
                    *row = idct_4(p);
                }
            }
            for x in 0..4 {
                let col = idct_4([rows[0][x], rows[1][x], rows[2][x], rows[3][x]]);
                for (y, v) in col.into_iter().enumerate() {
                    pixels[at + y * stride + x] = sample(v);
                }
            }
        }
        2 => {
            // The 2-point IDCT is a sum and a difference.
            let (a, b) = (coef[0] + coef[2], coef[0] - coef[2]); // column 0, rows 0 and 1
            let (c, d) = (coef[1] + coef[3], coef[1] - coef[3]); // column 1
            pixels[at] = sample(a + c);
            pixels[at + 1] = sample(a - c);
            pixels[at + stride] = sample(b + d);
            pixels[at + stride + 1] = sample(b - d);
        }
        _ => pixels[at] = sample(coef[0]),
    }
}

/// Decodes one block of `plane` at the plane's scale and writes its pixels.
#[inline(always)]
fn decode_into<const N: usize>(
    bits: &mut BitReader<'_>,
    plane: &mut Plane<'_>,
    bx: usize,
    by: usize,
) -> Result<(), Error> {
    let at = by * N * plane.stride + bx * N;
    if N == 8 {
        let mut coef = [0i32; 64];
        let any_ac = decode_block::<N>(bits, plane, &mut coef)?;
        idct_8x8(&coef, any_ac, &mut plane.pixels, at, plane.stride);
    } else {
        let mut coef = [0i32; 16];
        let any_ac = decode_block::<N>(bits, plane, &mut coef)?;
        idct_block::<N>(&coef, any_ac, &mut plane.pixels, at, plane.stride);
    }
    Ok(())
}

/// The full 8-point IDCT of weighted inputs: out[x] = p[0] + sqrt 2 sum p[u] cos((2x + 1) u
/// pi / 16) (the weights divide the sqrt 2 out):
/// the Loeffler-Ligtenberg-Moschytz flow graph of libjpeg's `jidctint.c`, in i64 so no
/// input, however damaged, overflows. Only chroma halved both ways, at 1/2, takes it.
#[inline(always)]
fn idct_8(p: [i64; 8]) -> [i64; 8] {
    // The flow graph's constants in CONST_BITS: round(x * 2048).
    const fn fix(x: f64) -> i64 {
        (x * (1 << CONST_BITS) as f64 + 0.5) as i64
    }
    let round = 1i64 << (CONST_BITS - 1);
    // Even part.
    let z1 = (p[2] + p[6]) * fix(0.541_196_100);
    let tmp2 = z1 - p[6] * fix(1.847_759_065);
    let tmp3 = z1 + p[2] * fix(0.765_366_865);
    let tmp0 = (p[0] + p[4]) << CONST_BITS;
    let tmp1 = (p[0] - p[4]) << CONST_BITS;
    let (tmp10, tmp13) = (tmp0 + tmp3, tmp0 - tmp3);
    let (tmp11, tmp12) = (tmp1 + tmp2, tmp1 - tmp2);
    // Odd part.
    let (t0, t1, t2, t3) = (p[7], p[5], p[3], p[1]);
    let z1 = t0 + t3;
    let z2 = t1 + t2;
    let z3 = t0 + t2;
    let z4 = t1 + t3;
    let z5 = (z3 + z4) * fix(1.175_875_602);
    let (t0, t1) = (t0 * fix(0.298_631_336), t1 * fix(2.053_119_869));
    let (t2, t3) = (t2 * fix(3.072_711_026), t3 * fix(1.501_321_110));
    let z1 = -z1 * fix(0.899_976_223);
    let z2 = -z2 * fix(2.562_915_447);
    let z3 = -z3 * fix(1.961_570_560) + z5;
    let z4 = -z4 * fix(0.390_180_644) + z5;
    let (t0, t1) = (t0 + z1 + z3, t1 + z2 + z4);
    let (t2, t3) = (t2 + z2 + z3, t3 + z1 + z4);
    [
        (tmp10 + t3 + round) >> CONST_BITS,
        (tmp11 + t2 + round) >> CONST_BITS,
        (tmp12 + t1 + round) >> CONST_BITS,
        (tmp13 + t0 + round) >> CONST_BITS,
        (tmp13 - t0 + round) >> CONST_BITS,
        (tmp12 - t1 + round) >> CONST_BITS,
        (tmp11 - t2 + round) >> CONST_BITS,
        (tmp10 - t3 + round) >> CONST_BITS,
    ]
}

/// Writes a decoded 8x8 block (`coef`, weighted, row by row) as pixels at `at`.
#[inline(always)]
fn idct_8x8(coef: &[i32; 64], any_ac: bool, pixels: &mut [u8], at: usize, stride: usize) {
    if !any_ac {
        let flat = sample(coef[0]);
        for row in 0..8 {
            pixels[at + row * stride..][..8].fill(flat);
        }
        return;
    }
    // Rows, then columns; rows of zeros (most of chroma's) stay zeros.
    let mut rows = [[0i64; 8]; 8];
    for (v, row) in rows.iter_mut().enumerate() {
        let src = &coef[v * 8..v * 8 + 8];
        if src.iter().any(|&c| c != 0) {
            *row = idct_8(std::array::from_fn(|u| i64::from(src[u])));
        }
    }
    for x in 0..8 {
        let col = idct_8(std::array::from_fn(|v| rows[v][x]));
        for (y, v) in col.into_iter().enumerate() {
            // Within i32 after the clamp: the inputs were clamped (VALUE_LIMIT).
            pixels[at + y * stride + x] = sample(v.clamp(-(1 << 20), 1 << 20) as i32);
        }
    }
}

/// Decodes the scan with luma at `n` (4, 2 or 1) samples per block side.
fn decode_scan(data: &[u8], f: &Headers, n: usize) -> Result<Scaled, Error> {
    let count = f.scan.len();
    if count != f.comps.len() {
        return Ok(Scaled::Unsupported("components in separate scans"));
    }
    let (hmax, vmax) = f.max_sampling();
    let (mcu_w, mcu_h) = if count == 1 {
        (8, 8)
    } else {
        (8 * hmax, 8 * vmax)
    };
    let (width, height) = (f.width as usize, f.height as usize);
    let (mcus_x, mcus_y) = (width.div_ceil(mcu_w), height.div_ceil(mcu_h));
    let mut planes = Vec::with_capacity(count);
    for s in &f.scan {
        let comp = f.comps[s.index];
        let (h, v) = if count == 1 {
            (1, 1)
        } else {
            (usize::from(comp.h), usize::from(comp.v))
        };
        let (ratio_x, ratio_y) = (hmax / h.max(1), vmax / v.max(1));
        if count > 1
            && (ratio_x * h != hmax
                || ratio_y * v != vmax
                || !ratio_x.is_power_of_two()
                || !ratio_y.is_power_of_two())
        {
            return Ok(Scaled::Unsupported(
                "chroma subsampled by other than a power of two",
            ));
        }
        let (Some(Some(dc)), Some(Some(ac))) = (f.dc_tables.get(s.dc), f.ac_tables.get(s.ac))
        else {
            return Err(Error::corrupt("JPEG scan uses a missing Huffman table"));
        };
        let quant = f.quant[usize::from(comp.quant)]
            .ok_or_else(|| Error::corrupt("JPEG quantisation table missing"))?;
        let (mut shift_x, mut shift_y) = if count == 1 {
            (0, 0)
        } else {
            (ratio_x.trailing_zeros(), ratio_y.trailing_zeros())
        };
        // Chroma halved both ways is decoded at twice luma's scale when it can be (up to 4x4
        // of a block), so it needs no upsampling: its detail inside each block stays.
        let mut plane_n = n;
        if shift_x == shift_y && (n << shift_x) <= 8 {
            plane_n = n << shift_x;
            (shift_x, shift_y) = (0, 0);
        }
        let stride = mcus_x * h * plane_n;
        let rows = mcus_y * v * plane_n;
        planes.push(Plane {
            n: plane_n,
            h,
            v,
            dc,
            ac,
            pred: 0,
            weighted_quant: match plane_n {
                8 => weighted_quant::<8>(&quant),
                4 => weighted_quant::<4>(&quant),
                2 => weighted_quant::<2>(&quant),
                _ => weighted_quant::<1>(&quant),
            },
            pixels: vec![0; stride * rows],
            stride,
            shift_x,
            shift_y,
        });
    }
    // The frame's component order, for colour conversion: Y, Cb, Cr.
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|&i| f.scan[i].index);

    let mut bits = BitReader::new(data, f.scan_start);
    let mut restarts = RestartCountdown::new(f.restart_interval);
    for my in 0..mcus_y {
        for mx in 0..mcus_x {
            if bits.before_mcu(&mut restarts)? {
                planes.iter_mut().for_each(|p| p.pred = 0);
            }
            for plane in planes.iter_mut() {
                for v in 0..plane.v {
                    for h in 0..plane.h {
                        let (bx, by) = (mx * plane.h + h, my * plane.v + v);
                        match plane.n {
                            8 => decode_into::<8>(&mut bits, plane, bx, by)?,
                            4 => decode_into::<4>(&mut bits, plane, bx, by)?,
                            2 => decode_into::<2>(&mut bits, plane, bx, by)?,
                            _ => decode_into::<1>(&mut bits, plane, bx, by)?,
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
    let factor = 8 / n;
    let (out_w, out_h) = (width.div_ceil(factor), height.div_ceil(factor));
    let mut img = RgbImage::new(out_w as u32, out_h as u32);
    match order[..] {
        [y] => {
            let luma = &planes[y];
            for (row, out) in img.data.chunks_exact_mut(out_w * 3).enumerate() {
                let src = &luma.pixels[row * luma.stride..][..out_w];
                for (px, &l) in out.chunks_exact_mut(3).zip(src) {
                    px.fill(l);
                }
            }
        }
        [y, cb, cr] => ycbcr_to_rgb(&mut img, &planes[y], &planes[cb], &planes[cr]),
        _ => return Ok(Scaled::Unsupported("neither 1 nor 3 components")),
    }
    Ok(Scaled::Decoded(img))
}

/// Output row `row` of a chroma plane at the output's width, into `out`: as is when not
/// subsampled; when halved, interpolated 3:1 between the two nearest samples each way (the
/// triangle filter libjpeg calls "fancy upsampling", zune-jpeg's too, so hard colour edges
/// come out as in a full decode); nearer only for quartered chroma.
fn chroma_row(plane: &Plane<'_>, row: usize, out: &mut [u8], mix: &mut [u16]) {
    let rows = plane.pixels.len() / plane.stride;
    let at = |r: usize| &plane.pixels[r.min(rows - 1) * plane.stride..][..plane.stride];
    let c = row >> plane.shift_y;
    match plane.shift_y {
        1 => {
            // The nearer row counts 3, the other 1 (the edges repeat themselves).
            let other = if row.is_multiple_of(2) {
                c.saturating_sub(1)
            } else {
                c + 1
            };
            for ((m, &near), &far) in mix.iter_mut().zip(at(c)).zip(at(other)) {
                *m = 3 * u16::from(near) + u16::from(far);
            }
        }
        _ => {
            for (m, &near) in mix.iter_mut().zip(at(c)) {
                *m = 4 * u16::from(near);
            }
        }
    }
    match plane.shift_x {
        0 => {
            for (o, &m) in out.iter_mut().zip(mix.iter()) {
                *o = ((m + 2) >> 2) as u8;
            }
        }
        1 => {
            // Pairs of outputs from each sample: 3:1 with its left, then with its right
            // neighbour; the first and last sample are their own outer neighbours.
            let samples = out.len().div_ceil(2).min(mix.len());
            let m = &mix[..samples];
            for (c, pair) in out.chunks_mut(2).enumerate().take(samples) {
                let near = 3 * m[c];
                let left = m[c.saturating_sub(1)];
                let right = m[(c + 1).min(samples - 1)];
                pair[0] = ((near + left + 8) >> 4) as u8;
                if let Some(o) = pair.get_mut(1) {
                    *o = ((near + right + 8) >> 4) as u8;
                }
            }
        }
        shift => {
            for (x, o) in out.iter_mut().enumerate() {
                *o = ((mix[x >> shift] + 2) >> 2) as u8;
            }
        }
    }
}

/// JFIF colour conversion (ITU T.871 7) after [`chroma_row`].
fn ycbcr_to_rgb(img: &mut RgbImage, y: &Plane<'_>, cb: &Plane<'_>, cr: &Plane<'_>) {
    // 1.402, 0.344136, 0.714136, 1.772 in 16 bits.
    const CR_R: i32 = 91_881;
    const CB_G: i32 = 22_554;
    const CR_G: i32 = 46_802;
    const CB_B: i32 = 116_130;
    const HALF: i32 = 1 << 15;
    let out_w = img.width as usize;
    let (mut cb_row, mut cr_row) = (vec![0u8; out_w], vec![0u8; out_w]);
    let mut mix = vec![0u16; cb.stride.max(cr.stride)];
    // Chroma at the output's size (4:4:4, or 4:2:0 decoded at twice luma's scale) is read
    // as it is.
    let as_is = |p: &Plane<'_>| p.shift_x == 0 && p.shift_y == 0;
    for (row, out) in img.data.chunks_exact_mut(out_w * 3).enumerate() {
        let luma = &y.pixels[row * y.stride..][..out_w];
        let cb_row: &[u8] = if as_is(cb) {
            &cb.pixels[row * cb.stride..][..out_w]
        } else {
            chroma_row(cb, row, &mut cb_row, &mut mix[..cb.stride]);
            &cb_row
        };
        let cr_row: &[u8] = if as_is(cr) {
            &cr.pixels[row * cr.stride..][..out_w]
        } else {
            chroma_row(cr, row, &mut cr_row, &mut mix[..cr.stride]);
            &cr_row
        };
        for (((px, &l), &b), &r) in out.chunks_exact_mut(3).zip(luma).zip(cb_row).zip(cr_row) {
            let (l, b, r) = (i32::from(l), i32::from(b) - 128, i32::from(r) - 128);
            px[0] = (l + ((CR_R * r + HALF) >> 16)).clamp(0, 255) as u8;
            px[1] = (l - ((CB_G * b + CR_G * r + HALF) >> 16)).clamp(0, 255) as u8;
            px[2] = (l + ((CB_B * b + HALF) >> 16)).clamp(0, 255) as u8;
        }
    }
}
