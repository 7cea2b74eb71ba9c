//! Frame size and interval ranges (`STEPWISE`/`CONTINUOUS` enumerations) reduced to the
//! short lists of sizes and rates that [`super::formats::choose`] and `lookout devices` work
//! with, and frame rates as the fractions V4L2 uses.

use super::sys;

/// Frame sizes offered for stepwise and continuous ranges: the usual camera sizes that fit.
const COMMON_SIZES: [(u32, u32); 14] = [
    (160, 120),
    (176, 144),
    (320, 240),
    (352, 288),
    (640, 360),
    (640, 480),
    (800, 600),
    (1024, 768),
    (1280, 720),
    (1280, 960),
    (1600, 1200),
    (1920, 1080),
    (2560, 1440),
    (3840, 2160),
];

/// Rates offered for stepwise and continuous interval ranges.
const COMMON_RATES: [f64; 11] = [
    120.0, 90.0, 60.0, 50.0, 30.0, 25.0, 20.0, 15.0, 10.0, 5.0, 1.0,
];

/// The sizes to offer for a range `[min_w, max_w, step_w, min_h, max_h, step_h]`: the common
/// sizes on its grid. Not its maximum: a loopback device's 8192x8192 is no sensible default.
/// A range holding none of them offers its two ends.
pub fn range_sizes(r: [u32; 6]) -> Vec<(u32, u32)> {
    let [min_w, max_w, step_w, min_h, max_h, step_h] = r;
    let on_grid = |v: u32, min: u32, max: u32, step: u32| {
        (min..=max).contains(&v) && (v - min).is_multiple_of(step.max(1))
    };
    let mut sizes: Vec<(u32, u32)> = COMMON_SIZES
        .iter()
        .copied()
        .filter(|&(w, h)| on_grid(w, min_w, max_w, step_w) && on_grid(h, min_h, max_h, step_h))
        .collect();
    if sizes.is_empty() {
        sizes = vec![(min_w, min_h), (max_w, max_h)];
        sizes.dedup();
        sizes.retain(|&(w, h)| w > 0 && h > 0);
    }
    sizes
}

/// Frames per second of an interval; `None` for a zero numerator or denominator.
pub fn fract_fps(numerator: u32, denominator: u32) -> Option<f64> {
    (numerator > 0 && denominator > 0).then(|| f64::from(denominator) / f64::from(numerator))
}

/// The rates to offer for an interval range `[min_n, min_d, max_n, max_d, step_n, step_d]`:
/// the common rates inside it, plus its fastest rate up to 120 fps.
pub fn range_rates(r: [u32; 6]) -> Vec<f64> {
    let (Some(fastest), Some(slowest)) = (fract_fps(r[0], r[1]), fract_fps(r[2], r[3])) else {
        return Vec::new();
    };
    let (lo, hi) = (slowest.min(fastest), slowest.max(fastest));
    let mut rates: Vec<f64> = COMMON_RATES
        .iter()
        .copied()
        .filter(|f| (lo - 1e-6..=hi + 1e-6).contains(f))
        .collect();
    if (hi <= 120.0 || rates.is_empty()) && !rates.iter().any(|f| (f - hi).abs() < 0.01) {
        rates.insert(0, hi);
    }
    rates
}

/// The frame interval to ask for, as a fraction: 30 → 1/30, 29.97 → 1001/30000.
pub fn fps_fract(fps: f64) -> Option<sys::Fract> {
    if !(fps.is_finite() && fps > 0.0 && fps <= 10_000.0) {
        return None;
    }
    let (mut n, mut d) = (1000_u32, (fps * 1000.0).round() as u32);
    if (fps * 1.001 - (fps * 1.001).round()).abs() < 1e-3 {
        // NTSC rates as typed (29.97, 59.94, 23.976) mean 30000/1001 and friends. Whole
        // rates pass here too and reduce to 1/fps.
        (n, d) = (1001, (fps * 1001.0).round() as u32);
    }
    let g = gcd(n, d);
    (d > 0).then(|| sys::Fract {
        numerator: n / g,
        denominator: d / g,
    })
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_offer_the_common_sizes_on_their_grid() {
        // A UVC-style stepwise range, 32-pixel steps from 160x120 to 1920x1080.
        let sizes = range_sizes([160, 1920, 32, 120, 1080, 8]);
        assert!(sizes.contains(&(640, 480)) && sizes.contains(&(1920, 1080)));
        assert!(
            !sizes.contains(&(176, 144)),
            "176 is not on the 32 grid from 160"
        );
        // A loopback's continuous range does not offer its 8192x8192 maximum.
        let sizes = range_sizes([2, 8192, 1, 2, 8192, 1]);
        assert_eq!(sizes.len(), COMMON_SIZES.len());
        assert_eq!(sizes.last(), Some(&(3840, 2160)));
        // No common size inside: the two ends.
        assert_eq!(
            range_sizes([100, 110, 2, 50, 60, 2]),
            vec![(100, 50), (110, 60)]
        );
        assert_eq!(range_sizes([100, 100, 0, 50, 50, 0]), vec![(100, 50)]);
        assert!(range_sizes([0; 6]).is_empty());
    }

    #[test]
    fn rate_ranges() {
        // 1/30 s to 1 s.
        assert_eq!(
            range_rates([1, 30, 1, 1, 1, 1]),
            vec![30.0, 25.0, 20.0, 15.0, 10.0, 5.0, 1.0]
        );
        // 1/1000 s to 1 s: the fastest is no sensible rate to offer.
        let r = range_rates([1, 1000, 1, 1, 1, 1000]);
        assert_eq!(r.first(), Some(&120.0));
        // 1/24 s to 1/20 s: 24 itself, then 20.
        assert_eq!(range_rates([1, 24, 1, 20, 1, 1]), vec![24.0, 20.0]);
        assert!(range_rates([0, 0, 0, 0, 0, 0]).is_empty());
    }

    #[test]
    fn rates_as_fractions() {
        let f = |n, d| sys::Fract {
            numerator: n,
            denominator: d,
        };
        assert_eq!(fps_fract(30.0), Some(f(1, 30)));
        assert_eq!(fps_fract(7.5), Some(f(2, 15)));
        assert_eq!(fps_fract(29.97), Some(f(1001, 30000)));
        assert_eq!(fps_fract(59.94), Some(f(1001, 60000)));
        assert_eq!(fps_fract(23.976), Some(f(1001, 24000)));
        assert_eq!(fps_fract(5.0), Some(f(1, 5)));
        assert_eq!(fps_fract(1.0), Some(f(1, 1)));
        assert_eq!(fps_fract(0.2), Some(f(5, 1)));
        assert_eq!(fps_fract(0.0), None);
        assert_eq!(fps_fract(f64::NAN), None);
        assert_eq!(
            fract_fps(1001, 30000).map(|r| (r * 100.0).round()),
            Some(2997.0)
        );
        assert_eq!(fract_fps(0, 30), None);
    }
}
