//! Resizing RGB images: a separable triangle filter whose support widens with the reduction,
//! so downscaling averages every source pixel (no aliasing) and upscaling is bilinear; and
//! [`reduce`], an exact 1/n box average, much cheaper, for the bulk of a large reduction.

use crate::RgbImage;

/// Fixed-point precision of the filter weights.
const SHIFT: u32 = 14;
const ONE: i32 = 1 << SHIFT;

/// Weights of one output pixel: the first source index and one weight per source pixel.
struct Taps {
    start: usize,
    weights: Vec<i32>,
}

fn taps(src: u32, dst: u32) -> Vec<Taps> {
    let scale = f64::from(src) / f64::from(dst);
    let support = scale.max(1.0);
    (0..dst)
        .map(|i| {
            let center = (f64::from(i) + 0.5) * scale;
            let lo = ((center - support).floor().max(0.0)) as usize;
            let hi = ((center + support).ceil() as usize).min(src as usize);
            let raw: Vec<f64> = (lo..hi)
                .map(|j| {
                    let d = ((j as f64 + 0.5) - center).abs() / support;
                    (1.0 - d).max(0.0)
                })
                .collect();
            let sum: f64 = raw.iter().sum();
            let mut weights: Vec<i32> = raw
                .iter()
                .map(|w| (w / sum * f64::from(ONE)).round() as i32)
                .collect();
            // Make the weights add up to exactly ONE so flat areas stay exactly flat.
            let err = ONE - weights.iter().sum::<i32>();
            if let Some(max) = weights.iter_mut().max() {
                *max += err;
            }
            Taps { start: lo, weights }
        })
        .collect()
}

fn clamp_u8(v: i32) -> u8 {
    ((v + (ONE >> 1)) >> SHIFT).clamp(0, 255) as u8
}

/// Resizes `src` to `width`x`height` (both at least 1).
pub fn resize(src: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (width, height) = (width.max(1), height.max(1));
    if src.width == width && src.height == height {
        return src.clone();
    }
    // Horizontal pass: src.height rows of `width` pixels.
    let htaps = taps(src.width, width);
    let mut mid = vec![0u8; width as usize * src.height as usize * 3];
    let sstride = src.width as usize * 3;
    let mstride = width as usize * 3;
    for y in 0..src.height as usize {
        let row = &src.data[y * sstride..(y + 1) * sstride];
        let out = &mut mid[y * mstride..(y + 1) * mstride];
        for (x, t) in htaps.iter().enumerate() {
            let mut acc = [0i32; 3];
            for (k, &w) in t.weights.iter().enumerate() {
                let p = (t.start + k) * 3;
                acc[0] += i32::from(row[p]) * w;
                acc[1] += i32::from(row[p + 1]) * w;
                acc[2] += i32::from(row[p + 2]) * w;
            }
            out[x * 3] = clamp_u8(acc[0]);
            out[x * 3 + 1] = clamp_u8(acc[1]);
            out[x * 3 + 2] = clamp_u8(acc[2]);
        }
    }
    // Vertical pass, a whole row at a time so the inner loop walks memory in order.
    let vtaps = taps(src.height, height);
    let mut dst = RgbImage::new(width, height);
    let mut acc = vec![0i32; mstride];
    for (y, t) in vtaps.iter().enumerate() {
        acc.iter_mut().for_each(|a| *a = 0);
        for (k, &w) in t.weights.iter().enumerate() {
            let row = &mid[(t.start + k) * mstride..(t.start + k + 1) * mstride];
            for (a, &p) in acc.iter_mut().zip(row) {
                *a += i32::from(p) * w;
            }
        }
        let out = &mut dst.data[y * mstride..(y + 1) * mstride];
        for (o, &a) in out.iter_mut().zip(&acc) {
            *o = clamp_u8(a);
        }
    }
    dst
}

/// The largest of 8, 4 and 2 that [`reduce`] can divide a `w`x`h` picture by and still
/// leave at least `min_w`x`min_h`; `None` when not even 2.
pub fn reduction_for(w: u32, h: u32, min_w: u32, min_h: u32) -> Option<u32> {
    [8, 4, 2]
        .into_iter()
        .find(|&f| w.div_ceil(f) >= min_w && h.div_ceil(f) >= min_h)
}

/// Averages each `factor` x `factor` square of pixels into one, rounded; the last column and
/// row average the pixels they have. A 1280x720 picture halves in about a tenth of the time
/// [`resize`] takes (docs/performance.md).
pub fn reduce(src: &RgbImage, factor: u32) -> RgbImage {
    match factor {
        2 => reduce_by::<2>(src),
        4 => reduce_by::<4>(src),
        8 => reduce_by::<8>(src),
        _ => reduce_any(src, factor.max(1) as usize),
    }
}

/// [`reduce`] with the factor known when compiling: the whole squares' loops unroll and the
/// divisions become shifts (F * F is a power of two).
fn reduce_by<const F: usize>(src: &RgbImage) -> RgbImage {
    let (w, h) = (src.width as usize, src.height as usize);
    if w < F || h < F {
        return reduce_any(src, F);
    }
    let (out_w, out_h) = (w.div_ceil(F), h.div_ceil(F));
    let (whole_w, whole_h) = (w / F, h / F);
    let mut out = RgbImage::new(out_w as u32, out_h as u32);
    let shift = (F * F).trailing_zeros();
    // u16 is enough (F <= 8: 64 * 255 = 16320) and twice as many lanes as u32 per vector.
    const { assert!(F <= 8) };
    let mut sums = vec![0u16; w * 3];
    for oy in 0..whole_h {
        sums.fill(0);
        for y in oy * F..(oy + 1) * F {
            let row = &src.data[y * w * 3..][..w * 3];
            for (s, &p) in sums.iter_mut().zip(row) {
                *s += u16::from(p);
            }
        }
        let out_row = &mut out.data[oy * out_w * 3..][..out_w * 3];
        for (px, group) in out_row
            .chunks_exact_mut(3)
            .zip(sums.chunks_exact(3 * F))
            .take(whole_w)
        {
            let mut t = [0u16; 3];
            for k in 0..F {
                t[0] += group[3 * k];
                t[1] += group[3 * k + 1];
                t[2] += group[3 * k + 2];
            }
            for (o, t) in px.iter_mut().zip(t) {
                *o = ((u32::from(t) + (1 << (shift - 1))) >> shift) as u8;
            }
        }
    }
    // The ragged last column and row, if any, the slow way.
    if whole_w < out_w {
        for oy in 0..out_h {
            average_into(src, &mut out, F, whole_w, oy);
        }
    }
    if whole_h < out_h {
        for ox in 0..whole_w {
            average_into(src, &mut out, F, ox, out_h - 1);
        }
    }
    out
}

fn reduce_any(src: &RgbImage, f: usize) -> RgbImage {
    let (w, h) = (src.width as usize, src.height as usize);
    let mut out = RgbImage::new(w.div_ceil(f) as u32, h.div_ceil(f) as u32);
    for oy in 0..out.height as usize {
        for ox in 0..out.width as usize {
            average_into(src, &mut out, f, ox, oy);
        }
    }
    out
}

/// Output pixel (`ox`, `oy`) of a 1/`f` reduce: the rounded mean of the pixels its square has.
fn average_into(src: &RgbImage, out: &mut RgbImage, f: usize, ox: usize, oy: usize) {
    let (w, h) = (src.width as usize, src.height as usize);
    let (xs, ys) = (ox * f..((ox + 1) * f).min(w), oy * f..((oy + 1) * f).min(h));
    let n = (xs.len() * ys.len()) as u32;
    let mut t = [0u32; 3];
    for y in ys {
        for x in xs.clone() {
            let i = (y * w + x) * 3;
            for (c, t) in t.iter_mut().enumerate() {
                *t += u32::from(src.data[i + c]);
            }
        }
    }
    let o = (oy * out.width as usize + ox) * 3;
    for (c, t) in t.into_iter().enumerate() {
        out.data[o + c] = ((t + n / 2) / n) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_colour_stays_exactly_flat_down_and_up() {
        let mut img = RgbImage::new(37, 23);
        img.fill_rect(0, 0, 37, 23, [10, 200, 77]);
        for (w, h) in [(5, 3), (1, 1), (100, 61), (37, 12)] {
            let r = resize(&img, w, h);
            assert_eq!((r.width, r.height), (w, h));
            assert!(r.data.chunks(3).all(|p| p == [10, 200, 77]), "{w}x{h}");
        }
    }

    #[test]
    fn halving_averages_neighbours() {
        // Alternating black and white columns average to mid grey.
        let mut img = RgbImage::new(64, 8);
        for x in (0..64).step_by(2) {
            img.fill_rect(x, 0, 1, 8, [255, 255, 255]);
        }
        let r = resize(&img, 32, 4);
        for p in r.data.chunks(3) {
            assert!((100..=155).contains(&p[0]), "{p:?}");
        }
    }

    #[test]
    fn picks_the_largest_reduction_that_is_still_large_enough() {
        assert_eq!(reduction_for(1280, 720, 640, 360), Some(2));
        assert_eq!(reduction_for(1280, 720, 641, 360), None);
        assert_eq!(reduction_for(1280, 720, 480, 270), Some(2));
        assert_eq!(reduction_for(1280, 720, 320, 180), Some(4));
        assert_eq!(reduction_for(1280, 720, 160, 90), Some(8));
        assert_eq!(reduction_for(1280, 720, 100, 200), Some(2));
        // Odd sides round up: 1281 / 2 is 641.
        assert_eq!(reduction_for(1281, 721, 641, 361), Some(2));
        assert_eq!(reduction_for(1, 1, 1, 1), Some(8));
    }

    #[test]
    fn every_reduce_agrees_with_the_plain_average() {
        let mut img = RgbImage::new(37, 21);
        for (i, p) in img.data.iter_mut().enumerate() {
            *p = ((i * 7919) % 256) as u8;
        }
        for f in [2usize, 4, 8] {
            assert_eq!(
                reduce(&img, f as u32).data,
                reduce_any(&img, f).data,
                "1/{f}"
            );
        }
    }

    #[test]
    fn reduce_averages_squares_and_the_ragged_edge() {
        let mut img = RgbImage::new(5, 3);
        img.fill_rect(0, 0, 1, 3, [255, 255, 255]);
        img.fill_rect(4, 0, 1, 1, [200, 100, 0]);
        let r = reduce(&img, 2);
        assert_eq!((r.width, r.height), (3, 2));
        // (255 + 0) * 2 / 4, rounded.
        assert_eq!(r.pixel(0, 0), [128, 128, 128]);
        assert_eq!(r.pixel(1, 0), [0, 0, 0]);
        // The last column has one pixel per row: (200 + 0) / 2.
        assert_eq!(r.pixel(2, 0), [100, 50, 0]);
        // The last row has one row: 255 / 2 rounded.
        assert_eq!(r.pixel(0, 1), [128, 128, 128]);
        // One pixel of all 15: (3 * 255 + 200) / 15 and so on, rounded.
        assert_eq!(reduce(&img, 8).pixel(0, 0), [64, 58, 51]);
        assert_eq!(reduce(&img, 1).data, img.data);
    }

    #[test]
    fn left_half_stays_left() {
        let mut img = RgbImage::new(200, 100);
        img.fill_rect(0, 0, 100, 100, [255, 0, 0]);
        let r = resize(&img, 50, 25);
        assert_eq!(r.pixel(5, 10), [255, 0, 0]);
        assert_eq!(r.pixel(45, 10), [0, 0, 0]);
    }
}
