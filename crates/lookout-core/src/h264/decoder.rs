//! H.264 decoding to RGB with Cisco's openh264 (feature `openh264`), for the JPEG that MJPEG
//! viewers, snapshots and motion detection of an H.264-only camera need.
//!
//! Computes only (no I/O); callers run it on a thread of their own: a 720p frame takes about
//! 1–3 ms of CPU plus the YUV → RGB conversion (docs/performance.md).

use super::{AccessUnit, CodecParams, NalType};
use crate::{Error, RgbImage};
use openh264::OpenH264API;
use openh264::decoder::{DecodeOptions, Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use std::sync::Arc;

/// Start code written before each NAL unit: openh264 reads Annex B.
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// One camera's decoder: access units in, RGB pictures out (none while it waits for a key
/// frame, or when a unit carried no picture).
pub struct H264Decoder {
    decoder: Decoder,
    annex_b: Vec<u8>,
    /// Parameters last given to openh264: a key frame with other parameters brings them along.
    params: Option<Arc<CodecParams>>,
    frames: u64,
}

impl std::fmt::Debug for H264Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Decoder")
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl H264Decoder {
    pub fn new() -> Result<Self, Error> {
        // No flush after each unit: with `decode_frame_no_delay` a picture comes out of the
        // unit that completes it, and flushing there makes openh264 report spurious errors.
        let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
        let decoder = Decoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| Error::internal(format!("openh264 decoder could not start: {e}")))?;
        Ok(Self {
            decoder,
            annex_b: Vec::new(),
            params: None,
            frames: 0,
        })
    }

    /// Pictures decoded so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Decodes one access unit. A key frame without its SPS and PPS in band gets them from
    /// `au.params` (RTSP cameras send them out of band). `Ok(None)`: no picture yet (the
    /// decoder waits for a key frame). Errors: the bitstream is damaged; the next key frame
    /// starts over.
    pub fn decode(&mut self, au: &AccessUnit) -> Result<Option<RgbImage>, Error> {
        self.annex_b.clear();
        let has_sps = au
            .nals
            .iter()
            .any(|n| n.first().is_some_and(|b| NalType(b & 0x1F) == NalType::SPS));
        if let Some(p) = &au.params
            && au.is_key
            && !has_sps
        {
            self.annex_b.extend_from_slice(&START_CODE);
            self.annex_b.extend_from_slice(&p.sps_nal);
            for pps in &p.pps_nals {
                self.annex_b.extend_from_slice(&START_CODE);
                self.annex_b.extend_from_slice(pps);
            }
        }
        if au.is_key {
            self.params.clone_from(&au.params);
        }
        for nal in &au.nals {
            self.annex_b.extend_from_slice(&START_CODE);
            self.annex_b.extend_from_slice(nal);
        }
        let yuv = self
            .decoder
            .decode_with_options(&self.annex_b, DecodeOptions::new())
            .map_err(|e| Error::corrupt(format!("openh264 could not decode a picture: {e}")))?;
        let Some(yuv) = yuv else {
            return Ok(None);
        };
        let (w, h) = yuv.dimensions();
        if w == 0 || h == 0 {
            return Ok(None);
        }
        let mut rgb = vec![0u8; w * h * 3];
        // `rgb` is exactly w*h*3 bytes and openh264 outputs I420 only, which is all that
        // write_rgb8 asserts.
        yuv.write_rgb8(&mut rgb);
        self.frames += 1;
        // openh264 outputs whole macroblocks; the SPS's cropping gives the picture's size
        // (1280x720 is coded as 1280x720, 1278x718 as 1280x720).
        let (cw, ch) = self
            .params
            .as_ref()
            .map_or((w, h), |p| (p.width() as usize, p.height() as usize));
        let (cw, ch) = (cw.min(w), ch.min(h));
        let data = if (cw, ch) == (w, h) {
            rgb
        } else {
            let mut out = Vec::with_capacity(cw * ch * 3);
            for row in rgb.chunks_exact(w * 3).take(ch) {
                out.extend_from_slice(&row[..cw * 3]);
            }
            out
        };
        // Sizes came from openh264's i32 fields, so they fit u32.
        Ok(Some(RgbImage {
            width: cw as u32,
            height: ch as u32,
            data,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::{EncoderSettings, H264Encoder};

    fn picture(w: u32, h: u32, shift: u32) -> RgbImage {
        let mut img = RgbImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let i = (y * w + x) as usize * 3;
                let v = if ((x + shift) / 16).is_multiple_of(2) {
                    220
                } else {
                    30
                };
                img.data[i] = v;
                img.data[i + 1] = v;
                img.data[i + 2] = v;
            }
        }
        img
    }

    #[test]
    fn decodes_what_the_encoder_made_to_the_same_size_and_picture() {
        let mut enc = H264Encoder::new(EncoderSettings::for_size(160, 120, 30.0)).unwrap();
        let mut dec = H264Decoder::new().unwrap();
        let mut last = None;
        for i in 0..10u32 {
            let src = picture(160, 120, i * 4);
            let au = enc.encode_rgb(&src, u64::from(i) * 33, false).unwrap();
            let au = au.expect("a picture");
            let out = dec.decode(&au).unwrap().expect("a picture per unit");
            assert_eq!((out.width, out.height), (160, 120));
            last = Some((src, out));
        }
        let (src, out) = last.unwrap();
        let diff: u64 = src
            .data
            .iter()
            .zip(&out.data)
            .map(|(a, b)| u64::from(a.abs_diff(*b)))
            .sum();
        let mean = diff as f64 / src.data.len() as f64;
        assert!(mean < 12.0, "mean difference {mean}");
        assert_eq!(dec.frames(), 10);
    }

    #[test]
    fn out_of_band_parameters_are_given_to_a_key_frame_and_a_p_frame_first_gives_nothing() {
        let mut enc = H264Encoder::new(EncoderSettings::for_size(64, 48, 30.0)).unwrap();
        let key = enc
            .encode_rgb(&picture(64, 48, 0), 0, false)
            .unwrap()
            .unwrap();
        let p = enc
            .encode_rgb(&picture(64, 48, 8), 33, false)
            .unwrap()
            .unwrap();
        let mut dec = H264Decoder::new().unwrap();
        // A P frame before any key frame: no picture, and no panic.
        assert!(dec.decode(&p).map(|o| o.is_none()).unwrap_or(true));
        // The key frame without its in-band SPS/PPS, as RTSP delivers it.
        let stripped = AccessUnit {
            nals: key
                .nals
                .iter()
                .filter(|n| !matches!(n[0] & 0x1F, 7 | 8))
                .cloned()
                .collect(),
            is_key: true,
            params: key.params.clone(),
        };
        assert!(stripped.nals.len() < key.nals.len());
        let mut dec = H264Decoder::new().unwrap();
        let img = dec.decode(&stripped).unwrap().expect("a picture");
        assert_eq!((img.width, img.height), (64, 48));
    }

    #[test]
    fn garbage_is_an_error_or_nothing_never_a_panic() {
        let mut dec = H264Decoder::new().unwrap();
        for junk in [
            &[0x65u8, 0xFF, 0xFF, 0x00][..],
            &[0x41, 1, 2, 3, 4, 5],
            &[0x67, 0x42],
        ] {
            let au = AccessUnit {
                nals: vec![bytes::Bytes::copy_from_slice(junk)],
                is_key: junk[0] == 0x65,
                params: None,
            };
            let _ = dec.decode(&au);
        }
    }
}
