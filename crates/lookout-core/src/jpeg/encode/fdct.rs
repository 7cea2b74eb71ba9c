//! The forward DCT of an 8x8 block and its quantisation: the float AAN algorithm (Arai, Agui,
//! Nakajima; libjpeg's `jfdctflt.c` is the same), whose output scale is folded into the
//! quantisation divisors. Written as operations on rows of 8 lanes so the compiler vectorises
//! them (SSE2 on any x86-64).

use super::tables::ZIGZAG;

pub type Block = [[f32; 8]; 8];

/// AAN's scale of output k: cos(k*pi/16) * sqrt(2) for k > 0, 1 for k = 0.
const AAN: [f32; 8] = [
    1.0,
    1.387_039_8,
    1.306_563,
    1.175_875_6,
    1.0,
    0.785_694_96,
    0.541_196_1,
    0.275_899_38,
];

/// The 1-D DCT along the first index, for the 8 lanes (second index) at once: one loop
/// over independent lanes, which the compiler turns into 8-wide vector code.
#[inline(always)]
// Indexing lanes of all 8 rows at once is the point: an iterator over one row cannot say it.
#[allow(clippy::needless_range_loop)]
fn pass(v: &mut Block) {
    for i in 0..8 {
        let tmp0 = v[0][i] + v[7][i];
        let tmp7 = v[0][i] - v[7][i];
        let tmp1 = v[1][i] + v[6][i];
        let tmp6 = v[1][i] - v[6][i];
        let tmp2 = v[2][i] + v[5][i];
        let tmp5 = v[2][i] - v[5][i];
        let tmp3 = v[3][i] + v[4][i];
        let tmp4 = v[3][i] - v[4][i];
        // Even part.
        let tmp10 = tmp0 + tmp3;
        let tmp13 = tmp0 - tmp3;
        let tmp11 = tmp1 + tmp2;
        let tmp12 = tmp1 - tmp2;
        v[0][i] = tmp10 + tmp11;
        v[4][i] = tmp10 - tmp11;
        let z1 = (tmp12 + tmp13) * 0.707_106_77;
        v[2][i] = tmp13 + z1;
        v[6][i] = tmp13 - z1;
        // Odd part.
        let tmp10 = tmp4 + tmp5;
        let tmp11 = tmp5 + tmp6;
        let tmp12 = tmp6 + tmp7;
        let z5 = (tmp10 - tmp12) * 0.382_683_43;
        let z2 = tmp10 * 0.541_196_1 + z5;
        let z4 = tmp12 * 1.306_563 + z5;
        let z3 = tmp11 * 0.707_106_77;
        let z11 = tmp7 + z3;
        let z13 = tmp7 - z3;
        v[5][i] = z13 + z2;
        v[3][i] = z13 - z2;
        v[1][i] = z11 + z4;
        v[7][i] = z11 - z4;
    }
}

#[inline(always)]
fn transpose(v: &Block) -> Block {
    std::array::from_fn(|i| std::array::from_fn(|j| v[j][i]))
}

/// Reciprocal divisors for a quantisation table (natural order), laid out as [`fdct`]'s
/// output is: transposed, horizontal frequency first.
pub fn divisors(quant: &[u16; 64]) -> Block {
    std::array::from_fn(|h| {
        std::array::from_fn(|v| 1.0 / (f32::from(quant[v * 8 + h]) * AAN[v] * AAN[h] * 8.0))
    })
}

/// DCT of `block` (samples minus 128, rows of pixels), quantised with `divisors`, in zigzag
/// order.
#[inline(always)]
pub fn fdct_quantize(block: &Block, divisors: &Block) -> [i16; 64] {
    // Vertical DCT per column, then horizontal per row; the result stays transposed
    // (t[h][v]) and `divisors` and the zigzag read below are laid out to match.
    let mut v = *block;
    pass(&mut v);
    let mut t = transpose(&v);
    pass(&mut t);
    let mut q = [0i16; 64];
    for (h, (row, div)) in t.iter().zip(divisors).enumerate() {
        for i in 0..8 {
            // Within baseline's range (T.81 F.1.2: an AC magnitude has at most 10 bits), so
            // the cast is exact. Only a black block's DC at quality 100 reaches past it
            // (-1024), and -1023 is 1/8 of a grey level off.
            let x = (row[i] * div[i]).clamp(-1023.0, 1023.0);
            // Rounded to the nearest integer by adding 1.5 * 2^23: the sum's mantissa is
            // then the integer (offset by 2^22), read from its bits. Unlike `as`, which
            // must handle NaN and overflow one lane at a time, this stays in vectors.
            let bits = (x + ROUNDER).to_bits() as i32;
            q[h * 8 + i] = (bits - ROUNDER_BITS) as i16;
        }
    }
    // Zigzag order, read from the transposed layout. `& 63` lets the compiler see every
    // index is in bounds.
    std::array::from_fn(|k| q[usize::from(ZIGZAG_TRANSPOSED[k]) & 63])
}

/// 1.5 * 2^23 and its bits: see [`fdct_quantize`].
const ROUNDER: f32 = 12_582_912.0;
const ROUNDER_BITS: i32 = 0x4B40_0000;

/// [`ZIGZAG`] for a block stored transposed (horizontal frequency first).
const ZIGZAG_TRANSPOSED: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut k = 0;
    while k < 64 {
        let natural = ZIGZAG[k];
        t[k] = ((natural % 8) * 8 + natural / 8) as u8;
        k += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The DCT by its definition (T.81 A.3.3), quantised.
    fn reference(block: &Block, quant: &[u16; 64]) -> [i32; 64] {
        let c = |k: usize| if k == 0 { 1.0 / 2f64.sqrt() } else { 1.0 };
        let mut out = [0i32; 64];
        for v in 0..8 {
            for u in 0..8 {
                let mut s = 0.0;
                for (y, row) in block.iter().enumerate() {
                    for (x, &p) in row.iter().enumerate() {
                        s += f64::from(p)
                            * (((2 * x + 1) * u) as f64 * std::f64::consts::PI / 16.0).cos()
                            * (((2 * y + 1) * v) as f64 * std::f64::consts::PI / 16.0).cos();
                    }
                }
                let coef = 0.25 * c(u) * c(v) * s;
                out[v * 8 + u] = (coef / f64::from(quant[v * 8 + u])).round() as i32;
            }
        }
        out
    }

    #[test]
    fn the_rounder_rounds() {
        for (x, want) in [
            (0.0f32, 0),
            (0.4, 0),
            (0.6, 1),
            (-0.6, -1),
            (1023.0, 1023),
            (-1023.0, -1023),
            (2.5, 2),
            (-7.49, -7),
        ] {
            assert_eq!((x + ROUNDER).to_bits() as i32 - ROUNDER_BITS, want, "{x}");
        }
    }

    #[test]
    fn matches_the_definition() {
        let quant: [u16; 64] = std::array::from_fn(|i| 1 + (i as u16 % 5));
        let block: Block = std::array::from_fn(|y| {
            std::array::from_fn(|x| ((x * 37 + y * 91 + x * y * 13) % 255) as f32 - 128.0)
        });
        let zz = fdct_quantize(&block, &divisors(&quant));
        let want = reference(&block, &quant);
        for (k, &natural) in ZIGZAG.iter().enumerate() {
            let diff = (i32::from(zz[k]) - want[natural]).abs();
            assert!(
                diff <= 1,
                "coefficient {natural}: {} vs {}",
                zz[k],
                want[natural]
            );
        }
    }
}
