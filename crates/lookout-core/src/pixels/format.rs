//! Pixel formats cameras send, named by their V4L2 fourcc codes: which are JPEG or H.264
//! (passed through), which Lookout converts to RGB, and their four-character names.

use std::fmt;

/// A camera's pixel format, by its V4L2 fourcc (`v4l2-ctl --list-formats` shows the same codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Motion-JPEG (`MJPG`): each buffer is a JPEG image, possibly without Huffman tables.
    Mjpeg,
    /// JPEG (`JPEG`).
    Jpeg,
    /// Packed 4:2:2 `Y0 U Y1 V` (`YUYV`).
    Yuyv,
    /// Packed 4:2:2 `U Y0 V Y1` (`UYVY`).
    Uyvy,
    /// Planar 4:2:0: a Y plane, then interleaved `U V` at half resolution (`NV12`).
    Nv12,
    /// Packed `R G B` (`RGB3`).
    Rgb24,
    /// Packed `B G R` (`BGR3`).
    Bgr24,
    /// 8-bit greyscale (`GREY`).
    Grey,
    /// H.264 with start codes (`H264`, V4L2_PIX_FMT_H264): each buffer is one access unit in
    /// Annex B, as UVC cameras with an H.264 encoder and v4l2loopback send it.
    H264,
    /// Any other fourcc, kept so it can be listed.
    Other(u32),
}

/// The little-endian fourcc code of four ASCII characters, as V4L2 defines them.
pub const fn fourcc(code: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*code)
}

const KNOWN: [(PixelFormat, &[u8; 4]); 9] = [
    (PixelFormat::Mjpeg, b"MJPG"),
    (PixelFormat::Jpeg, b"JPEG"),
    (PixelFormat::Yuyv, b"YUYV"),
    (PixelFormat::Uyvy, b"UYVY"),
    (PixelFormat::Nv12, b"NV12"),
    (PixelFormat::Rgb24, b"RGB3"),
    (PixelFormat::Bgr24, b"BGR3"),
    (PixelFormat::Grey, b"GREY"),
    (PixelFormat::H264, b"H264"),
];

impl PixelFormat {
    /// The format of a fourcc code; unknown codes become [`PixelFormat::Other`].
    pub fn from_fourcc(code: u32) -> Self {
        KNOWN
            .iter()
            .find(|(_, cc)| fourcc(cc) == code)
            .map_or(Self::Other(code), |(f, _)| *f)
    }

    /// The V4L2 fourcc code.
    pub fn fourcc(self) -> u32 {
        match self {
            Self::Other(code) => code,
            known => KNOWN
                .iter()
                .find(|(f, _)| *f == known)
                .map_or(0, |(_, cc)| fourcc(cc)),
        }
    }

    /// The fourcc as text, e.g. `"MJPG"`; non-printable bytes become `.`.
    pub fn fourcc_str(self) -> String {
        self.fourcc()
            .to_le_bytes()
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect()
    }

    /// Compressed formats passed through as JPEG, never re-encoded.
    pub fn is_jpeg(self) -> bool {
        matches!(self, Self::Mjpeg | Self::Jpeg)
    }

    /// Compressed formats passed through as they come: JPEG and H.264.
    pub fn is_compressed(self) -> bool {
        self.is_jpeg() || self == Self::H264
    }

    /// Whether Lookout can use this format: JPEG or H.264 passed through, or pixels [`to_rgb`]
    /// converts.
    ///
    /// [`to_rgb`]: super::to_rgb
    pub fn is_usable(self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fourcc_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fourccs_round_trip() {
        use PixelFormat::*;
        let cases = [
            (Mjpeg, "MJPG"),
            (Jpeg, "JPEG"),
            (Yuyv, "YUYV"),
            (Uyvy, "UYVY"),
            (Nv12, "NV12"),
            (Rgb24, "RGB3"),
            (Bgr24, "BGR3"),
            (Grey, "GREY"),
            (H264, "H264"),
        ];
        for (f, s) in cases {
            let code = u32::from_le_bytes(s.as_bytes().try_into().unwrap());
            assert_eq!(f.fourcc(), code, "{s}");
            assert_eq!(PixelFormat::from_fourcc(code), f);
            assert_eq!(f.fourcc_str(), s);
            assert_eq!(f.to_string(), s);
            assert!(f.is_usable(), "{s}");
        }
        // V4L2_PIX_FMT_MJPEG is 0x47504a4d.
        assert_eq!(Mjpeg.fourcc(), 0x4750_4a4d);
        let hevc = fourcc(b"HEVC");
        assert_eq!(PixelFormat::from_fourcc(hevc), Other(hevc));
        assert_eq!(Other(hevc).fourcc(), hevc);
        assert_eq!(Other(hevc).to_string(), "HEVC");
        assert_eq!(Other(0x0102_0304).fourcc_str(), "....");
        assert!(!Other(hevc).is_usable());
        assert!(Mjpeg.is_jpeg() && Jpeg.is_jpeg() && !Yuyv.is_jpeg() && !H264.is_jpeg());
        assert!(H264.is_compressed() && Mjpeg.is_compressed() && !Nv12.is_compressed());
    }
}
