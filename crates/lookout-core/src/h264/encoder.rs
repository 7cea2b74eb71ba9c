//! H.264 encoding of RGB or I420 pictures with Cisco's openh264 (feature `openh264`):
//! Constrained Baseline, a target bitrate, a key frame every `keyframe_interval` and on request.
//!
//! Computes only (no I/O); callers run it on a thread of their own: a 720p frame takes
//! 2–7 ms of CPU (docs/performance.md).

use super::{AccessUnit, ParamTracker, nal_units};
use crate::{Error, RgbImage};
use bytes::Bytes;
use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, Profile, RateControlMode,
    UsageType,
};
use openh264::formats::{RgbSliceU8, YUVBuffer, YUVSlices, YUVSource};
use std::time::Duration;

/// Default time between key frames: what a late joiner waits at most when the encoder cannot
/// be asked (and the most GOP a joiner is sent).
pub const DEFAULT_KEYFRAME_INTERVAL: Duration = Duration::from_secs(2);

/// What an encoder makes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncoderSettings {
    /// Frames per second expected: sets the rate control's budget per frame and the key-frame
    /// period in frames.
    pub fps: f32,
    pub bitrate_bps: u32,
    pub keyframe_interval: Duration,
}

impl EncoderSettings {
    /// Settings for pictures of `width`×`height` at `fps`, with the bitrate from
    /// [`default_bitrate_bps`].
    pub fn for_size(width: u32, height: u32, fps: f32) -> Self {
        Self {
            fps,
            bitrate_bps: default_bitrate_bps(width, height, fps),
            keyframe_interval: DEFAULT_KEYFRAME_INTERVAL,
        }
    }
}

/// A bitrate for a camera scene at this size and rate: 2 Mbit/s for 1280×720 at 30 fps
/// (~0.072 bit per pixel, a plain-scene 720p30 rate for Baseline), scaled by pixels per
/// second, between 100 kbit/s and 20 Mbit/s (level 4's Baseline limit is 20 Mbit/s).
pub fn default_bitrate_bps(width: u32, height: u32, fps: f32) -> u32 {
    const REF_PIXELS_PER_S: f64 = 1280.0 * 720.0 * 30.0;
    let fps = if fps.is_finite() && fps > 0.0 {
        f64::from(fps)
    } else {
        30.0
    };
    let pixels_per_s = f64::from(width) * f64::from(height) * fps;
    let bps = 2_000_000.0 * pixels_per_s / REF_PIXELS_PER_S;
    // Clamped into u32 range first, so the cast cannot truncate.
    bps.clamp(100_000.0, 20_000_000.0) as u32
}

/// One camera's encoder. Odd sizes lose their last column or row (4:2:0 needs even sizes).
pub struct H264Encoder {
    encoder: Encoder,
    settings: EncoderSettings,
    params: ParamTracker,
    yuv: Option<YUVBuffer>,
    /// Reused for odd-sized pictures cropped to even.
    crop: Vec<u8>,
    annex_b: Vec<u8>,
    frames: u64,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("settings", &self.settings)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

fn encoder_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("openh264 {what}: {e}"))
}

impl H264Encoder {
    pub fn new(settings: EncoderSettings) -> Result<Self, Error> {
        if !(settings.fps.is_finite() && settings.fps > 0.0 && settings.fps <= 240.0) {
            return Err(Error::new(
                crate::ErrorKind::InvalidInput,
                format!("H.264 encoder frame rate {} is not in 0–240", settings.fps),
            ));
        }
        if settings.bitrate_bps < 10_000 {
            return Err(Error::new(
                crate::ErrorKind::InvalidInput,
                format!(
                    "H.264 bitrate {} bit/s is below 10 kbit/s",
                    settings.bitrate_bps
                ),
            ));
        }
        let key_period_frames = (settings.keyframe_interval.as_secs_f32() * settings.fps)
            .round()
            .clamp(1.0, 100_000.0) as u32;
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .profile(Profile::Baseline)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(settings.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(settings.fps))
            // openh264 holds the bitrate only by skipping pictures now and then (without it,
            // it warns on stderr that the rate cannot be controlled). A skipped picture leaves
            // no hole: the one before it shows longer (fMP4 durations come from the times).
            .skip_frames(true)
            .intra_frame_period(IntraFramePeriod::from_num_frames(key_period_frames));
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| encoder_error("could not start", e))?;
        Ok(Self {
            encoder,
            settings,
            params: ParamTracker::default(),
            yuv: None,
            crop: Vec::new(),
            annex_b: Vec::new(),
            frames: 0,
        })
    }

    pub fn settings(&self) -> &EncoderSettings {
        &self.settings
    }

    /// Pictures encoded so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Encodes one RGB picture taken at `time_ms` (any rising clock, for rate control). With
    /// `force_key` the unit is an IDR with SPS and PPS. Errors: a picture under 2×2, an
    /// encoder failure; `Ok(None)`: the encoder made no picture of this input.
    pub fn encode_rgb(
        &mut self,
        img: &RgbImage,
        time_ms: u64,
        force_key: bool,
    ) -> Result<Option<AccessUnit>, Error> {
        let (w, h) = (img.width & !1, img.height & !1);
        if w == 0 || h == 0 {
            return Err(Error::new(
                crate::ErrorKind::InvalidInput,
                format!(
                    "a {}x{} picture is too small to encode",
                    img.width, img.height
                ),
            ));
        }
        if img.data.len() != img.width as usize * img.height as usize * 3 {
            return Err(Error::internal("RgbImage data does not match its size"));
        }
        let rgb: &[u8] = if (w, h) == (img.width, img.height) {
            &img.data
        } else {
            self.crop.clear();
            let src_row = img.width as usize * 3;
            for row in img.data.chunks_exact(src_row).take(h as usize) {
                self.crop.extend_from_slice(&row[..w as usize * 3]);
            }
            &self.crop
        };
        let (wu, hu) = (w as usize, h as usize);
        let yuv = match &mut self.yuv {
            Some(b) if b.dimensions() == (wu, hu) => b,
            slot => slot.insert(YUVBuffer::new(wu, hu)),
        };
        // Sizes are even and `rgb` is exactly w*h*3 bytes, so read_rgb8 cannot panic.
        yuv.read_rgb8(RgbSliceU8::new(rgb, (wu, hu)));
        if force_key {
            self.encoder.force_intra_frame();
        }
        let bits = self
            .encoder
            .encode_at(&*yuv, openh264::Timestamp::from_millis(time_ms))
            .map_err(|e| encoder_error("could not encode", e))?;
        self.annex_b.clear();
        bits.write_vec(&mut self.annex_b);
        self.finish()
    }

    /// Encodes one I420 picture (planes Y, U, V with their strides). Errors as
    /// [`encode_rgb`](Self::encode_rgb), and planes too short for the size and strides.
    #[allow(clippy::too_many_arguments)]
    pub fn encode_i420(
        &mut self,
        planes: (&[u8], &[u8], &[u8]),
        width: u32,
        height: u32,
        strides: (usize, usize, usize),
        time_ms: u64,
        force_key: bool,
    ) -> Result<Option<AccessUnit>, Error> {
        if width < 2 || height < 2 || width & 1 != 0 || height & 1 != 0 {
            return Err(Error::new(
                crate::ErrorKind::InvalidInput,
                format!(
                    "an I420 picture must have an even size of at least 2x2, not {width}x{height}"
                ),
            ));
        }
        let (w, h) = (width as usize, height as usize);
        let need = |stride: usize, row: usize, rows: usize| {
            (stride >= row)
                .then(|| stride.checked_mul(rows - 1)?.checked_add(row))
                .flatten()
        };
        let ok = need(strides.0, w, h).is_some_and(|n| planes.0.len() >= n)
            && need(strides.1, w / 2, h / 2).is_some_and(|n| planes.1.len() >= n)
            && need(strides.2, w / 2, h / 2).is_some_and(|n| planes.2.len() >= n);
        if !ok {
            return Err(Error::new(
                crate::ErrorKind::InvalidInput,
                format!("I420 planes too short for {width}x{height} with strides {strides:?}"),
            ));
        }
        let src = YUVSlices::new(planes, (w, h), strides);
        if force_key {
            self.encoder.force_intra_frame();
        }
        let bits = self
            .encoder
            .encode_at(&src, openh264::Timestamp::from_millis(time_ms))
            .map_err(|e| encoder_error("could not encode", e))?;
        self.annex_b.clear();
        bits.write_vec(&mut self.annex_b);
        self.finish()
    }

    /// Turns the Annex B output of one encode into an access unit.
    fn finish(&mut self) -> Result<Option<AccessUnit>, Error> {
        let nals: Vec<Bytes> = nal_units(&self.annex_b)
            .map(Bytes::copy_from_slice)
            .collect();
        if nals.is_empty() {
            return Ok(None);
        }
        self.frames += 1;
        AccessUnit::from_nals(nals, &mut self.params).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(w: u32, h: u32, shift: u32) -> RgbImage {
        let mut img = RgbImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) as usize * 3;
                img.data[i] = ((x + shift) % 256) as u8;
                img.data[i + 1] = (y % 256) as u8;
                img.data[i + 2] = ((x ^ y) % 256) as u8;
            }
        }
        img
    }

    #[test]
    fn default_bitrate_is_2_mbit_for_720p30_and_scales() {
        assert_eq!(default_bitrate_bps(1280, 720, 30.0), 2_000_000);
        assert_eq!(default_bitrate_bps(1920, 1080, 30.0), 4_500_000);
        assert_eq!(default_bitrate_bps(160, 120, 5.0), 100_000);
        assert_eq!(default_bitrate_bps(7680, 4320, 60.0), 20_000_000);
        assert_eq!(default_bitrate_bps(1280, 720, f32::NAN), 2_000_000);
    }

    #[test]
    fn first_frame_is_a_constrained_baseline_key_frame_with_params() {
        let mut enc = H264Encoder::new(EncoderSettings::for_size(320, 240, 30.0)).unwrap();
        let au = enc
            .encode_rgb(&picture(320, 240, 0), 0, false)
            .unwrap()
            .unwrap();
        assert!(au.is_key);
        let p = au.params.clone().unwrap();
        assert_eq!((p.width(), p.height()), (320, 240));
        assert_eq!(p.profile_idc(), 66, "Baseline");
        assert_ne!(
            p.compat() & 0x40,
            0,
            "constraint_set1: Constrained Baseline"
        );
        assert!(p.codec_string().starts_with("avc1.42"));
    }

    #[test]
    fn key_frames_come_every_interval_and_on_request() {
        let settings = EncoderSettings {
            fps: 10.0,
            bitrate_bps: 300_000,
            keyframe_interval: Duration::from_secs(1),
        };
        let mut enc = H264Encoder::new(settings).unwrap();
        let mut keys = Vec::new();
        for i in 0..25u32 {
            let au = enc
                .encode_rgb(&picture(160, 120, i * 3), u64::from(i) * 100, i == 13)
                .unwrap();
            // 300 kbit/s is plenty for 160x120: no picture is skipped.
            let au = au.expect("a picture");
            if au.is_key {
                keys.push(i);
            }
        }
        assert_eq!(keys.first(), Some(&0));
        assert!(keys.contains(&13), "forced key frame missing: {keys:?}");
        assert!(keys.contains(&10), "periodic key frame missing: {keys:?}");
        assert!(
            !keys.contains(&1) && !keys.contains(&5),
            "P frames expected between keys: {keys:?}"
        );
        assert_eq!(enc.frames(), 25);
    }

    #[test]
    fn odd_sizes_are_cropped_to_even() {
        let mut enc = H264Encoder::new(EncoderSettings::for_size(161, 121, 30.0)).unwrap();
        let au = enc
            .encode_rgb(&picture(161, 121, 0), 0, false)
            .unwrap()
            .unwrap();
        let p = au.params.unwrap();
        assert_eq!((p.width(), p.height()), (160, 120));
        let err = enc.encode_rgb(&RgbImage::new(1, 9), 40, false).unwrap_err();
        assert!(err.to_string().contains("too small"), "{err}");
    }

    #[test]
    fn i420_input_encodes_and_short_planes_are_refused() {
        let mut enc = H264Encoder::new(EncoderSettings::for_size(64, 48, 30.0)).unwrap();
        let y = vec![128u8; 64 * 48];
        let uv = vec![128u8; 32 * 24];
        let au = enc
            .encode_i420((&y, &uv, &uv), 64, 48, (64, 32, 32), 0, false)
            .unwrap()
            .unwrap();
        assert!(au.is_key);
        let err = enc
            .encode_i420((&y[..100], &uv, &uv), 64, 48, (64, 32, 32), 33, false)
            .unwrap_err();
        assert!(err.to_string().contains("too short"), "{err}");
        assert!(
            enc.encode_i420((&y, &uv, &uv), 63, 48, (64, 32, 32), 33, false)
                .is_err()
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut s = EncoderSettings::for_size(64, 48, 30.0);
        s.fps = 0.0;
        assert!(H264Encoder::new(s).is_err());
        let mut s = EncoderSettings::for_size(64, 48, 30.0);
        s.bitrate_bps = 5;
        assert!(H264Encoder::new(s).is_err());
    }
}
