//! Codec parameters of an H.264 stream: its SPS and PPS, what they say (profile, level,
//! size), the RFC 6381 codec string a browser asks about, and the avcC record
//! (AVCDecoderConfigurationRecord, ISO/IEC 14496-15 5.3.3.1) an MP4 sample entry carries.

use super::nal::{NalHeader, NalType};
use super::sps::{Sps, pps_ids};
use crate::Error;
use bytes::Bytes;

/// Most PPS one stream may declare (`pic_parameter_set_id` is 0..=255, 7.4.2.2).
const MAX_PPS: usize = 256;

/// One SPS and the PPS that refer to it: everything a decoder needs before the first slice.
#[derive(Debug, Clone, PartialEq)]
pub struct CodecParams {
    /// The SPS NAL unit (header byte included, no start code or length).
    pub sps_nal: Bytes,
    /// The PPS NAL units, by ascending `pic_parameter_set_id`; at least one.
    pub pps_nals: Vec<Bytes>,
    pub sps: Sps,
}

impl CodecParams {
    /// Parses `sps_nal` and checks every PPS refers to it. The NAL units are copied into
    /// buffers of their own so that keeping the parameters keeps no frame's memory alive.
    pub fn new(sps_nal: &[u8], pps_nals: &[&[u8]]) -> Result<Self, Error> {
        let sps = Sps::parse(sps_nal)?;
        if pps_nals.is_empty() {
            return Err(Error::invalid(
                "H.264 codec parameters need at least one PPS",
            ));
        }
        if pps_nals.len() > MAX_PPS {
            return Err(Error::corrupt(format!(
                "{} H.264 PPS: at most {MAX_PPS}",
                pps_nals.len()
            )));
        }
        let mut with_ids = Vec::with_capacity(pps_nals.len());
        for pps in pps_nals {
            let (pps_id, sps_id) = pps_ids(pps)?;
            if sps_id != sps.sps_id {
                return Err(Error::corrupt(format!(
                    "H.264 PPS {pps_id} refers to SPS {sps_id}, not to SPS {}",
                    sps.sps_id
                )));
            }
            with_ids.push((pps_id, Bytes::copy_from_slice(pps)));
        }
        with_ids.sort_by_key(|(id, _)| *id);
        with_ids.dedup_by_key(|(id, _)| *id);
        for (_, pps) in &with_ids {
            // The avcC length fields are 16-bit.
            if pps.len() > usize::from(u16::MAX) {
                return Err(Error::corrupt("H.264 PPS longer than 65535 bytes"));
            }
        }
        if sps_nal.len() > usize::from(u16::MAX) {
            return Err(Error::corrupt("H.264 SPS longer than 65535 bytes"));
        }
        Ok(Self {
            sps_nal: Bytes::copy_from_slice(sps_nal),
            pps_nals: with_ids.into_iter().map(|(_, pps)| pps).collect(),
            sps,
        })
    }

    /// Displayed width in pixels (after cropping).
    pub fn width(&self) -> u32 {
        self.sps.width
    }

    /// Displayed height in pixels (after cropping).
    pub fn height(&self) -> u32 {
        self.sps.height
    }

    pub fn profile_idc(&self) -> u8 {
        self.sps.profile_idc
    }

    /// The profile compatibility byte (the SPS's constraint flags).
    pub fn compat(&self) -> u8 {
        self.sps.constraint_flags
    }

    pub fn level_idc(&self) -> u8 {
        self.sps.level_idc
    }

    /// The RFC 6381 `codecs` parameter, `avc1.PPCCLL` in hex: `avc1.42C01F` for x264's
    /// constrained baseline at level 3.1, what `MediaSource.isTypeSupported` is asked.
    pub fn codec_string(&self) -> String {
        format!(
            "avc1.{:02X}{:02X}{:02X}",
            self.profile_idc(),
            self.compat(),
            self.level_idc()
        )
    }

    /// The AVCDecoderConfigurationRecord (the body of an `avcC` box), with 4-byte NAL lengths.
    pub fn avcc(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.sps_nal.len() + self.pps_nals.len() * 8);
        out.push(1); // configurationVersion
        out.push(self.profile_idc());
        out.push(self.compat());
        out.push(self.level_idc());
        out.push(0xFC | 3); // reserved 6 bits, lengthSizeMinusOne = 3
        out.push(0xE0 | 1); // reserved 3 bits, numOfSequenceParameterSets = 1
        // Both lengths were checked to fit 16 bits in `new`.
        out.extend_from_slice(&(self.sps_nal.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.sps_nal);
        // At most MAX_PPS (256) distinct ids, and 256 does not fit a byte: cap at 255.
        let pps = &self.pps_nals[..self.pps_nals.len().min(255)];
        out.push(pps.len() as u8);
        for nal in pps {
            out.extend_from_slice(&(nal.len() as u16).to_be_bytes());
            out.extend_from_slice(nal);
        }
        // The High profiles' extension of the record (14496-15 5.3.3.1.2).
        if matches!(self.profile_idc(), 100 | 110 | 122 | 144) {
            // Each is at most 3 or 6 bits (chroma_format_idc <= 3, bit depth 8..=14).
            out.push(0xFC | (self.sps.chroma_format_idc as u8 & 0x03));
            out.push(0xF8 | ((self.sps.bit_depth_luma - 8) & 0x07));
            out.push(0xF8 | ((self.sps.bit_depth_chroma - 8) & 0x07));
            out.push(0); // numOfSequenceParameterSetExt
        }
        out
    }
}

/// Tracks the SPS and PPS a stream declares and gives the parameters in force, rebuilt only
/// when one of them changes (cameras repeat both before every key frame).
#[derive(Debug, Default)]
pub struct ParamTracker {
    sps: Option<Bytes>,
    /// (pps_id, NAL unit), ids unique.
    pps: Vec<(u32, Bytes)>,
    current: Option<std::sync::Arc<CodecParams>>,
}

impl ParamTracker {
    /// Takes note of an SPS or PPS NAL unit; other units are ignored. Returns an error for a
    /// parameter set that does not parse (it is then not used).
    pub fn observe(&mut self, nal: &[u8]) -> Result<(), Error> {
        let header = NalHeader::parse(nal)?;
        match header.nal_type {
            NalType::SPS => {
                if self.sps.as_deref() == Some(nal) {
                    return Ok(());
                }
                let parsed = Sps::parse(nal)?;
                let old_id = match &self.sps {
                    Some(old) => Sps::parse(old).ok().map(|s| s.sps_id),
                    None => None,
                };
                if old_id != Some(parsed.sps_id) {
                    // PPS of another SPS id refer to nothing now.
                    self.pps.clear();
                }
                self.sps = Some(Bytes::copy_from_slice(nal));
            }
            NalType::PPS => {
                let (pps_id, _) = pps_ids(nal)?;
                match self.pps.iter_mut().find(|(id, _)| *id == pps_id) {
                    Some((_, old)) if old.as_ref() == nal => return Ok(()),
                    Some((_, old)) => *old = Bytes::copy_from_slice(nal),
                    None => self.pps.push((pps_id, Bytes::copy_from_slice(nal))),
                }
            }
            _ => return Ok(()),
        }
        self.rebuild()
    }

    fn rebuild(&mut self) -> Result<(), Error> {
        let Some(sps) = &self.sps else {
            return Ok(());
        };
        let sps_id = Sps::parse(sps)?.sps_id;
        let pps: Vec<&[u8]> = self
            .pps
            .iter()
            .filter(|(_, nal)| pps_ids(nal).is_ok_and(|(_, s)| s == sps_id))
            .map(|(_, nal)| nal.as_ref())
            .collect();
        if pps.is_empty() {
            return Ok(());
        }
        let params = CodecParams::new(sps, &pps)?;
        if self.current.as_deref() != Some(&params) {
            self.current = Some(std::sync::Arc::new(params));
        }
        Ok(())
    }

    /// The parameters in force, once an SPS and a PPS of it were seen. The same `Arc` until
    /// they change, so a consumer can tell a change (a new init segment) by pointer.
    pub fn current(&self) -> Option<&std::sync::Arc<CodecParams>> {
        self.current.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::{
        X264_BASELINE_1278X718, X264_BASELINE_PPS, X264_HIGH_1278X718, X264_HIGH_PPS,
    };
    use super::*;

    #[test]
    fn codec_strings_and_avcc_of_real_streams() {
        let p = CodecParams::new(X264_BASELINE_1278X718, &[X264_BASELINE_PPS]).unwrap();
        assert_eq!(p.codec_string(), "avc1.42C01F");
        assert_eq!((p.width(), p.height()), (1278, 718));
        let avcc = p.avcc();
        let sps_len = X264_BASELINE_1278X718.len();
        assert_eq!(&avcc[..6], &[1, 0x42, 0xC0, 0x1F, 0xFF, 0xE1]);
        assert_eq!(&avcc[6..8], &(sps_len as u16).to_be_bytes());
        assert_eq!(&avcc[8..8 + sps_len], X264_BASELINE_1278X718);
        assert_eq!(&avcc[8 + sps_len..11 + sps_len], &[1, 0, 5]);
        assert_eq!(avcc.len(), 11 + sps_len + 5, "no high-profile tail");

        let p = CodecParams::new(X264_HIGH_1278X718, &[X264_HIGH_PPS]).unwrap();
        assert_eq!(p.codec_string(), "avc1.64001F");
        let avcc = p.avcc();
        // chroma_format 1, 8-bit luma and chroma, no SPS extensions.
        assert_eq!(&avcc[avcc.len() - 4..], &[0xFD, 0xF8, 0xF8, 0x00]);
    }

    #[test]
    fn mismatched_or_missing_pps_is_an_error() {
        assert!(CodecParams::new(X264_BASELINE_1278X718, &[]).is_err());
        // A PPS naming SPS 1: 0x68, ue(0) = 1, ue(1) = 010, then the stop bit.
        assert!(CodecParams::new(X264_BASELINE_1278X718, &[&[0x68, 0xA8]]).is_err());
        assert!(CodecParams::new(X264_BASELINE_PPS, &[X264_BASELINE_PPS]).is_err());
    }

    #[test]
    fn tracker_keeps_one_arc_until_a_set_changes() {
        let mut t = ParamTracker::default();
        t.observe(X264_BASELINE_1278X718).unwrap();
        assert!(t.current().is_none(), "no PPS yet");
        t.observe(X264_BASELINE_PPS).unwrap();
        let first = t.current().unwrap().clone();
        t.observe(X264_BASELINE_1278X718).unwrap();
        t.observe(X264_BASELINE_PPS).unwrap();
        t.observe(&[0x65, 0x88]).unwrap();
        assert!(std::sync::Arc::ptr_eq(&first, t.current().unwrap()));
        t.observe(X264_HIGH_1278X718).unwrap();
        t.observe(X264_HIGH_PPS).unwrap();
        assert_eq!(t.current().unwrap().codec_string(), "avc1.64001F");
        assert!(t.observe(&[0x67, 0x42]).is_err(), "a broken SPS");
        assert_eq!(t.current().unwrap().codec_string(), "avc1.64001F", "kept");
    }
}
