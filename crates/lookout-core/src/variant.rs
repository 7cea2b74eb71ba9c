//! Variants: a camera's frames scaled and/or re-encoded at another quality, as a viewer asked.

use crate::jpeg::MAX_SIDE;

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
    /// One side given keeps the aspect ratio; both given set the exact size.
    pub fn resolve(&self, src_w: u32, src_h: u32, default_quality: u8) -> Option<Variant> {
        let (w, h) = match (self.width, self.height) {
            (None, None) => (src_w, src_h),
            (Some(w), Some(h)) => (w, h),
            (Some(w), None) => (w, scaled(src_h, w, src_w)),
            (None, Some(h)) => (scaled(src_w, h, src_h), h),
        };
        // Keeping the aspect ratio can give a side past the encoder's limit (`?height=8000` on a
        // wide camera): cap it rather than fail every frame.
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
    fn sides_past_the_limit_are_capped() {
        let r = VariantRequest {
            height: Some(MAX_SIDE),
            ..Default::default()
        };
        let v = r.resolve(1920, 1080, 80).unwrap();
        assert_eq!((v.width, v.height), (MAX_SIDE, MAX_SIDE));
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
