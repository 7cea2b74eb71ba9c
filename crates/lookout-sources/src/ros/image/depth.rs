//! Depth images to grey: each frame stretched over its own range of valid values, 0, NaN and
//! ±inf showing black as "no data" (the choice is explained in the parent module).

/// The grey of the smallest valid value: dark, yet apart from the black of "no data" after
/// JPEG compression.
pub(super) const NEAREST_GREY: u8 = 32;

/// Grey RGB for 16-bit depth, 0 being "no data".
pub(super) fn stretch_u16(values: &[u16]) -> Vec<u8> {
    // Plain min/max with sentinels rather than an Option per value: this loop runs over
    // every pixel.
    let (mut lo, mut hi) = (u16::MAX, 0);
    for &v in values {
        if v != 0 {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    // A table over the frame's range: one look-up a pixel instead of arithmetic.
    let mut table = vec![0u8; 65536];
    if hi != 0 {
        let scale = Scale::new(f64::from(lo), f64::from(hi));
        for v in lo..=hi {
            table[usize::from(v)] = scale.grey(f64::from(v));
        }
    }
    table[0] = 0;
    super::converted::grey_values(values.iter().map(|&v| table[usize::from(v)]))
}

/// Grey RGB for float depth; 0, NaN and ±inf are "no data".
pub(super) fn stretch_f32(values: &[f32]) -> Vec<u8> {
    let valid = |v: f32| v.is_finite() && v != 0.0;
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in values {
        // Plain comparisons: `f32::min` spends most of this loop on NaN rules that `valid`
        // already settled.
        if valid(v) {
            if v < lo {
                lo = v;
            }
            if v > hi {
                hi = v;
            }
        }
    }
    if lo > hi {
        // No valid value at all.
        return super::converted::grey_values(values.iter().map(|_| 0));
    }
    let scale = Scale::new(f64::from(lo), f64::from(hi));
    super::converted::grey_values(values.iter().map(|&v| {
        if valid(v) {
            scale.grey(f64::from(v))
        } else {
            0
        }
    }))
}

/// `lo..=hi` to `NEAREST_GREY..=255`; a range of one value is white. In f64: a float depth
/// range can be as wide as 2 × 3.4e38.
struct Scale {
    lo: f64,
    /// Grey levels per unit; 0 when the range is a single value.
    per_unit: f64,
    base: f64,
}

impl Scale {
    fn new(lo: f64, hi: f64) -> Self {
        let span = f64::from(255 - NEAREST_GREY);
        if hi > lo {
            Self {
                lo,
                per_unit: span / (hi - lo),
                base: f64::from(NEAREST_GREY),
            }
        } else {
            Self {
                lo,
                per_unit: 0.0,
                base: 255.0,
            }
        }
    }

    fn grey(&self, v: f64) -> u8 {
        // + 0.5 and truncation round (the value is never negative) without a libm call;
        // `as` saturates, so rounding error past 255 cannot wrap.
        (self.base + (v - self.lo) * self.per_unit + 0.5) as u8
    }
}
