//! Variants: a camera's frames scaled and/or re-encoded at another quality, as a viewer asked.

use crate::jpeg::MAX_SIDE;

/// Different variants (sizes, qualities) one camera serves at once at most, so that a client
/// asking for many sizes cannot make the server encode without bound.
pub const MAX_VARIANTS: usize = 8;

/// What a viewer asked for (`?width=&height=&quality=&invert`), before knowing the frame's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VariantRequest {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub quality: Option<u8>,
    /// Turned 180°, web_video_server's `invert` (a camera mounted upside down).
    pub invert: bool,
}

/// A concrete variant of one frame size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Variant {
    pub width: u32,
    pub height: u32,
    pub quality: u8,
    pub invert: bool,
}

impl VariantRequest {
    pub fn is_original(&self) -> bool {
        *self == Self::default()
    }

    /// The variant for a `src_w`x`src_h` frame, or `None` when the original JPEG serves.
    /// One side given keeps the frame's aspect ratio; both given set the shape. Never larger
    /// than the frame: a bigger size is shrunk, keeping its shape, until it fits. Scaling up
    /// adds no detail, and `?width=8192&height=8192` of a 320x240 camera would cost ~200 MB a
    /// frame.
    pub fn resolve(&self, src_w: u32, src_h: u32, default_quality: u8) -> Option<Variant> {
        let (src_w, src_h) = (src_w.max(1), src_h.max(1));
        let (w, h) = match (self.width, self.height) {
            (None, None) => (src_w, src_h),
            (Some(w), Some(h)) => (w, h),
            (Some(w), None) => (w, scaled(src_h, w, src_w)),
            (None, Some(h)) => (scaled(src_w, h, src_h), h),
        };
        let (w, h) = fit_within(w.max(1), h.max(1), src_w, src_h);
        // A frame past the encoder's limit cannot be decoded anyway; never ask for more.
        let (w, h) = (w.min(MAX_SIDE), h.min(MAX_SIDE));
        if (w, h) == (src_w, src_h) && self.quality.is_none() && !self.invert {
            return None;
        }
        Some(Variant {
            width: w,
            height: h,
            quality: self.quality.unwrap_or(default_quality),
            invert: self.invert,
        })
    }
}

/// `w`x`h` if it fits in `max_w`x`max_h`, else the largest size of the same shape that does.
fn fit_within(w: u32, h: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    if w <= max_w && h <= max_h {
        return (w, h);
    }
    // Compare the shapes: w/h >= max_w/max_h means the width is what must shrink most.
    if u64::from(w) * u64::from(max_h) >= u64::from(h) * u64::from(max_w) {
        (max_w, scaled(h, max_w, w).min(max_h))
    } else {
        (scaled(w, max_h, h).min(max_w), max_h)
    }
}

/// `side * num / den`, rounded, at least 1, computed in u64 so it cannot overflow.
fn scaled(side: u32, num: u32, den: u32) -> u32 {
    let v = (u64::from(side) * u64::from(num) + u64::from(den) / 2) / u64::from(den.max(1));
    v.clamp(1, u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_side_keeps_aspect_both_sides_are_exact() {
        let r = VariantRequest {
            width: Some(640),
            ..Default::default()
        };
        assert_eq!(
            r.resolve(1280, 720, 80),
            Some(Variant {
                width: 640,
                height: 360,
                quality: 80,
                invert: false,
            })
        );
        let r = VariantRequest {
            height: Some(100),
            ..Default::default()
        };
        assert_eq!(r.resolve(1280, 720, 80).map(|v| v.width), Some(178));
        let r = VariantRequest {
            width: Some(100),
            height: Some(100),
            quality: Some(50),
            invert: false,
        };
        assert_eq!(
            r.resolve(1280, 720, 80),
            Some(Variant {
                width: 100,
                height: 100,
                quality: 50,
                invert: false,
            })
        );
    }

    #[test]
    fn same_size_without_quality_is_the_original() {
        let r = VariantRequest {
            width: Some(1280),
            ..Default::default()
        };
        assert_eq!(r.resolve(1280, 720, 80), None);
        assert_eq!(VariantRequest::default().resolve(10, 10, 80), None);
        let r = VariantRequest {
            quality: Some(30),
            ..Default::default()
        };
        assert_eq!(
            r.resolve(10, 10, 80),
            Some(Variant {
                width: 10,
                height: 10,
                quality: 30,
                invert: false,
            })
        );
    }

    #[test]
    fn never_larger_than_the_frame() {
        let req = |width, height| VariantRequest {
            width,
            height,
            ..Default::default()
        };
        let size = |r: VariantRequest| r.resolve(320, 240, 80).map(|v| (v.width, v.height));
        // Both sides: the asked shape, as large as fits.
        assert_eq!(size(req(Some(8192), Some(8192))), Some((240, 240)));
        assert_eq!(size(req(Some(1000), Some(500))), Some((320, 160)));
        assert_eq!(size(req(Some(100), Some(8000))), Some((3, 240)));
        assert_eq!(size(req(Some(640), Some(120))), Some((320, 60)));
        // One side: the frame's shape, so at most the frame, which is the original.
        assert_eq!(size(req(Some(8192), None)), None);
        assert_eq!(size(req(None, Some(MAX_SIDE))), None);
        assert_eq!(size(req(Some(321), None)), None);
        // Fitting sizes are kept.
        assert_eq!(size(req(Some(320), Some(10))), Some((320, 10)));
        assert_eq!(size(req(Some(1), Some(240))), Some((1, 240)));
        let q = VariantRequest {
            width: Some(8192),
            quality: Some(50),
            ..Default::default()
        };
        assert_eq!(
            q.resolve(320, 240, 80),
            Some(Variant {
                width: 320,
                height: 240,
                quality: 50,
                invert: false,
            })
        );
    }

    #[test]
    fn tiny_ratios_never_give_zero() {
        let r = VariantRequest {
            width: Some(1),
            ..Default::default()
        };
        assert_eq!(r.resolve(4000, 10, 80).map(|v| v.height), Some(1));
    }
}
