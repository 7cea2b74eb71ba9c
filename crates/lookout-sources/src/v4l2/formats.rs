//! Format negotiation: given what a camera offers, which format, size and frame rate to
//! capture. The formats themselves ([`PixelFormat`]) and their conversion to RGB are
//! [`lookout_core::pixels`].
//!
//! # Rules of [`choose`]
//!
//! 1. Only formats Lookout can use count: MJPEG/JPEG (passed through as they come, never
//!    decoded and re-encoded) and YUYV, UYVY, NV12, RGB24, BGR24 and GREY (converted to RGB
//!    and encoded). H.264 (passed through as H.264) counts only when the device offers nothing
//!    else usable, or when the config asks for it (`format = "H264"`, which filters the offers
//!    before this): a camera chosen as H.264 needs a decoder for every JPEG viewer, snapshot and
//!    motion detector, so a webcam that also sends MJPEG keeps sending MJPEG unless told.
//!    Anything else ([`PixelFormat::Other`], e.g. HEVC) is ignored. When nothing usable is
//!    offered, the error lists everything the device offers.
//! 2. The size is chosen first, over all usable offers: the wanted size if any usable format
//!    offers it exactly; else the offered size nearest to it by area (ties go to the larger
//!    size); with no wanted size, the largest offered (by area, then width).
//! 3. At that size the format is chosen by preference: MJPEG, JPEG, YUYV, UYVY, NV12, RGB24,
//!    BGR24, GREY. So a camera's own MJPEG wins whenever it is offered at the chosen size,
//!    and a size offered only uncompressed is still honoured.
//! 4. The frame rate comes from that offer: the wanted rate if offered (within 0.01 fps),
//!    else the highest offered rate not above the wanted one, else the highest offered. With
//!    no wanted rate, the highest. An offer reporting no rates gives `fps: None` (the driver's
//!    default).

use lookout_core::Error;
use std::fmt;

pub use lookout_core::pixels::{PixelFormat, fourcc};

/// One format at one frame size, with the frame rates the device offers for it — one line
/// of `v4l2-ctl --list-formats-ext`.
#[derive(Clone, Debug, PartialEq)]
pub struct FormatOffer {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Frames per second; empty when the device does not enumerate intervals.
    pub fps: Vec<f64>,
}

impl fmt::Display for FormatOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}x{}", self.format, self.width, self.height)?;
        if !self.fps.is_empty() {
            let rates: Vec<String> = self.fps.iter().map(|r| format_fps(*r)).collect();
            write!(f, " @ {} fps", rates.join("/"))?;
        }
        Ok(())
    }
}

/// What to ask the device for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Choice {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// `None` when the offer lists no rates: leave the driver's default.
    pub fps: Option<f64>,
}

impl Choice {
    /// Frames are JPEG or H.264 already and are passed through untouched.
    pub fn passthrough(&self) -> bool {
        self.format.is_compressed()
    }
}

/// Rates without needless decimals: `30`, `29.97`, `7.5`.
fn format_fps(fps: f64) -> String {
    let rounded = (fps * 100.0).round() / 100.0;
    format!("{rounded}")
}

/// All offers, one per line, for error messages and `lookout devices`.
pub fn describe_offers(offers: &[FormatOffer]) -> String {
    if offers.is_empty() {
        return "nothing".to_string();
    }
    offers
        .iter()
        .map(|o| o.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rank of a format in the preference order of [`choose`] (0 best); `None` for unusable formats.
fn preference(format: PixelFormat) -> Option<u8> {
    match format {
        PixelFormat::Mjpeg => Some(0),
        PixelFormat::Jpeg => Some(1),
        PixelFormat::Yuyv => Some(2),
        PixelFormat::Uyvy => Some(3),
        PixelFormat::Nv12 => Some(4),
        PixelFormat::Rgb24 => Some(5),
        PixelFormat::Bgr24 => Some(6),
        PixelFormat::Grey => Some(7),
        PixelFormat::H264 => Some(8),
        PixelFormat::Other(_) => None,
    }
}

fn area(w: u32, h: u32) -> u64 {
    u64::from(w) * u64::from(h)
}

/// Chooses format, size and frame rate from a device's offers; see the module docs for the
/// rules. `wanted` and `wanted_fps` come from the config. Nothing usable on offer is
/// `InvalidInput`: the configured device is not a camera Lookout can use.
pub fn choose(
    offers: &[FormatOffer],
    wanted: Option<(u32, u32)>,
    wanted_fps: Option<f64>,
) -> Result<Choice, Error> {
    let usable_as = |h264: bool| -> Vec<&FormatOffer> {
        offers
            .iter()
            .filter(|o| o.format.is_usable() && o.width > 0 && o.height > 0)
            .filter(|o| (o.format == PixelFormat::H264) == h264)
            .collect()
    };
    let mut usable = usable_as(false);
    if usable.is_empty() {
        usable = usable_as(true);
    }
    if usable.is_empty() {
        return Err(Error::invalid(format!(
            "the camera offers no format Lookout can use (MJPG, JPEG, YUYV, UYVY, NV12, RGB3, \
             BGR3, GREY, H264); it offers: {}",
            describe_offers(offers)
        )));
    }

    let (width, height) = choose_size(&usable, wanted);
    let offer = usable
        .iter()
        .filter(|o| o.width == width && o.height == height)
        .min_by_key(|o| preference(o.format))
        .ok_or_else(|| Error::internal(format!("no offer at the chosen size {width}x{height}")))?;

    Ok(Choice {
        format: offer.format,
        width,
        height,
        fps: choose_fps(&offer.fps, wanted_fps),
    })
}

fn choose_size(usable: &[&FormatOffer], wanted: Option<(u32, u32)>) -> (u32, u32) {
    let sizes = usable.iter().map(|o| (o.width, o.height));
    // Larger wins ties: by area, then width.
    let largest = |a: &(u32, u32)| (area(a.0, a.1), a.0);
    match wanted {
        Some((w, h)) => {
            let target = area(w, h);
            sizes
                .min_by(|a, b| {
                    let exact = |s: &(u32, u32)| *s != (w, h);
                    let dist = |s: &(u32, u32)| area(s.0, s.1).abs_diff(target);
                    (exact(a), dist(a))
                        .cmp(&(exact(b), dist(b)))
                        .then_with(|| largest(b).cmp(&largest(a)))
                })
                .unwrap_or((w, h))
        }
        None => sizes.max_by_key(largest).unwrap_or((0, 0)),
    }
}

fn choose_fps(offered: &[f64], wanted: Option<f64>) -> Option<f64> {
    let valid = || {
        offered
            .iter()
            .copied()
            .filter(|r| r.is_finite() && *r > 0.0)
    };
    let highest = valid().reduce(f64::max)?;
    let Some(wanted) = wanted else {
        return Some(highest);
    };
    if let Some(exact) = valid().find(|r| (r - wanted).abs() < 0.01) {
        return Some(exact);
    }
    Some(
        valid()
            .filter(|r| *r <= wanted)
            .reduce(f64::max)
            .unwrap_or(highest),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn offer(format: PixelFormat, width: u32, height: u32, fps: &[f64]) -> FormatOffer {
        FormatOffer {
            format,
            width,
            height,
            fps: fps.to_vec(),
        }
    }

    /// A typical UVC webcam: MJPEG up to 1080p at 30, YUYV up to 720p and slow.
    fn webcam() -> Vec<FormatOffer> {
        use PixelFormat::*;
        vec![
            offer(Yuyv, 640, 480, &[30.0, 15.0]),
            offer(Yuyv, 1280, 720, &[10.0, 5.0]),
            offer(Yuyv, 1920, 1080, &[5.0]),
            offer(Mjpeg, 640, 480, &[30.0, 15.0]),
            offer(Mjpeg, 1280, 720, &[30.0, 15.0]),
            offer(Mjpeg, 1920, 1080, &[30.0, 15.0]),
            offer(Yuyv, 800, 600, &[20.0, 10.0]),
        ]
    }

    #[test]
    fn every_usable_format_has_a_rank() {
        use PixelFormat::*;
        for f in [
            Mjpeg,
            Jpeg,
            Yuyv,
            Uyvy,
            Nv12,
            Rgb24,
            Bgr24,
            Grey,
            Other(fourcc(b"H264")),
        ] {
            assert_eq!(preference(f).is_some(), f.is_usable(), "{f}");
        }
    }

    #[test]
    fn prefers_mjpeg_at_the_wanted_size() {
        let c = choose(&webcam(), Some((1280, 720)), Some(30.0)).unwrap();
        assert_eq!(
            c,
            Choice {
                format: PixelFormat::Mjpeg,
                width: 1280,
                height: 720,
                fps: Some(30.0)
            }
        );
        assert!(c.passthrough());
    }

    #[test]
    fn jpeg_before_yuyv() {
        use PixelFormat::*;
        let offers = vec![
            offer(Yuyv, 640, 480, &[30.0]),
            offer(Jpeg, 640, 480, &[30.0]),
        ];
        assert_eq!(choose(&offers, None, None).unwrap().format, Jpeg);
    }

    #[test]
    fn a_size_only_offered_uncompressed_is_converted() {
        let c = choose(&webcam(), Some((800, 600)), None).unwrap();
        assert_eq!(c.format, PixelFormat::Yuyv);
        assert_eq!((c.width, c.height), (800, 600));
        assert_eq!(c.fps, Some(20.0));
        assert!(!c.passthrough());
    }

    #[test]
    fn without_a_wanted_size_the_largest() {
        let c = choose(&webcam(), None, None).unwrap();
        assert_eq!(
            (c.format, c.width, c.height, c.fps),
            (PixelFormat::Mjpeg, 1920, 1080, Some(30.0))
        );
    }

    #[test]
    fn nearest_size_by_area() {
        // 1024x768 = 786432: 800x600 (480000) is 306432 away, 1280x720 (921600) 135168.
        let c = choose(&webcam(), Some((1024, 768)), None).unwrap();
        assert_eq!((c.width, c.height), (1280, 720));
        assert_eq!(c.format, PixelFormat::Mjpeg);
        // Tiny asks get the smallest; huge asks the largest.
        let c = choose(&webcam(), Some((160, 120)), None).unwrap();
        assert_eq!((c.width, c.height), (640, 480));
        let c = choose(&webcam(), Some((4096, 2160)), None).unwrap();
        assert_eq!((c.width, c.height), (1920, 1080));
    }

    #[test]
    fn nearest_size_ties_go_to_the_larger() {
        use PixelFormat::*;
        // 200x100 = 20000: 100x100 and 300x100 are both 10000 away.
        let offers = vec![
            offer(Yuyv, 100, 100, &[30.0]),
            offer(Yuyv, 300, 100, &[30.0]),
        ];
        let c = choose(&offers, Some((200, 100)), None).unwrap();
        assert_eq!((c.width, c.height), (300, 100));
    }

    #[test]
    fn exact_size_beats_same_area() {
        use PixelFormat::*;
        let offers = vec![
            offer(Mjpeg, 480, 640, &[30.0]),
            offer(Grey, 640, 480, &[30.0]),
        ];
        let c = choose(&offers, Some((640, 480)), None).unwrap();
        assert_eq!((c.format, c.width, c.height), (Grey, 640, 480));
    }

    #[test]
    fn frame_rate_rules() {
        use PixelFormat::*;
        let offers = vec![offer(Mjpeg, 640, 480, &[5.0, 30.0, 15.0, 29.97])];
        let fps = |w: Option<f64>| choose(&offers, None, w).unwrap().fps;
        assert_eq!(fps(Some(15.0)), Some(15.0));
        assert_eq!(fps(Some(29.97)), Some(29.97));
        assert_eq!(fps(Some(29.975)), Some(29.97));
        assert_eq!(fps(Some(20.0)), Some(15.0), "highest not above");
        assert_eq!(fps(Some(60.0)), Some(30.0));
        assert_eq!(fps(Some(2.0)), Some(30.0), "none below: the highest");
        assert_eq!(fps(None), Some(30.0));

        let silent = vec![offer(Yuyv, 640, 480, &[])];
        assert_eq!(choose(&silent, None, Some(10.0)).unwrap().fps, None);
    }

    #[test]
    fn fps_comes_from_the_chosen_offer() {
        // At 1280x720 MJPEG offers 30 while YUYV offers only 10: MJPEG's rates apply.
        let c = choose(&webcam(), Some((1280, 720)), Some(25.0)).unwrap();
        assert_eq!(c.fps, Some(15.0));
    }

    #[test]
    fn h264_is_taken_only_when_nothing_else_is_offered() {
        use PixelFormat::*;
        // A larger H.264 size does not win over MJPEG or raw pixels: JPEG viewers would then
        // need a decoder.
        let offers = vec![
            offer(H264, 1920, 1080, &[30.0]),
            offer(Yuyv, 640, 480, &[30.0]),
        ];
        let c = choose(&offers, None, None).unwrap();
        assert_eq!((c.format, c.width), (Yuyv, 640));
        // An H.264-only camera is captured as H.264, passed through.
        let offers = vec![
            offer(H264, 1920, 1080, &[30.0]),
            offer(H264, 1280, 720, &[30.0]),
            offer(Other(fourcc(b"HEVC")), 1920, 1080, &[30.0]),
        ];
        let c = choose(&offers, Some((1280, 720)), None).unwrap();
        assert_eq!((c.format, c.width, c.height), (H264, 1280, 720));
        assert!(c.passthrough());
    }

    #[test]
    fn nothing_usable_lists_the_offers() {
        use PixelFormat::*;
        let offers = vec![
            offer(Other(fourcc(b"HEVC")), 1920, 1080, &[30.0, 7.5]),
            offer(Other(fourcc(b"YU12")), 640, 480, &[]),
        ];
        let err = choose(&offers, Some((640, 480)), None).unwrap_err();
        assert_eq!(err.kind(), lookout_core::ErrorKind::InvalidInput, "{err}");
        let err = err.message();
        assert!(err.contains("HEVC 1920x1080 @ 30/7.5 fps"), "{err}");
        assert!(err.contains("YU12 640x480"), "{err}");
        assert!(err.contains("MJPG"), "{err}");

        let err = choose(&[], None, None).unwrap_err();
        assert!(err.message().contains("offers: nothing"), "{err}");
    }
}
