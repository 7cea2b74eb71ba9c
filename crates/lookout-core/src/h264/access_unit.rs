//! Access units: the NAL units of one picture (H.264 7.4.1.2.3), assembled from a stream of
//! NAL units. An access unit ends where the next one starts: at an access unit delimiter, or
//! at the first SPS, PPS, SEI (or type 14..=18) unit or first slice of a new primary picture
//! (`first_mb_in_slice == 0`) after the picture's last slice.

use super::nal::{MAX_NAL_BYTES, NalHeader, NalType};
use super::params::{CodecParams, ParamTracker};
use super::sps::first_mb_in_slice;
use crate::Error;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;

/// Most NAL units in one access unit: 1080p has 8160 macroblocks, but encoders use a few
/// slices a picture (cameras: 1..=68, one per macroblock row at most).
pub const MAX_NALS_PER_ACCESS_UNIT: usize = 1024;

/// Most bytes in one access unit: twice the largest NAL unit.
pub const MAX_ACCESS_UNIT_BYTES: usize = 2 * MAX_NAL_BYTES;

/// One coded picture with the parameter sets, SEI and delimiters that came with it.
#[derive(Debug, Clone)]
pub struct AccessUnit {
    /// The NAL units, each without start code or length.
    pub nals: Vec<Bytes>,
    /// Holds an IDR slice: a decoder can start here.
    pub is_key: bool,
    /// The parameters in force when the unit was complete; `None` before the stream sent an
    /// SPS and PPS (such units cannot be decoded).
    pub params: Option<Arc<CodecParams>>,
}

impl AccessUnit {
    /// An access unit from NAL units that are known to form one (an RTSP client's frame, a
    /// V4L2 `H264` buffer), noting its parameter sets in `params`. Errors: no NAL units, an
    /// invalid NAL header, past [`MAX_NALS_PER_ACCESS_UNIT`] or [`MAX_ACCESS_UNIT_BYTES`], or
    /// a broken parameter set (the unit is not returned; parameter sets before the broken one
    /// stay noted).
    pub fn from_nals(nals: Vec<Bytes>, params: &mut ParamTracker) -> Result<Self, Error> {
        if nals.is_empty() {
            return Err(Error::corrupt("an H.264 frame with no NAL units"));
        }
        if nals.len() > MAX_NALS_PER_ACCESS_UNIT {
            return Err(Error::corrupt(format!(
                "an H.264 frame of {} NAL units, more than {MAX_NALS_PER_ACCESS_UNIT}",
                nals.len()
            )));
        }
        let bytes: usize = nals.iter().map(Bytes::len).sum();
        if bytes > MAX_ACCESS_UNIT_BYTES {
            return Err(Error::corrupt(format!(
                "an H.264 frame of {bytes} bytes, more than {MAX_ACCESS_UNIT_BYTES}"
            )));
        }
        let mut is_key = false;
        for nal in &nals {
            let header = NalHeader::parse(nal)?;
            match header.nal_type {
                NalType::SPS | NalType::PPS => params.observe(nal)?,
                NalType::IDR_SLICE => is_key = true,
                _ => {}
            }
        }
        Ok(Self {
            nals,
            is_key,
            params: params.current().cloned(),
        })
    }

    /// Sum of the NAL units' sizes.
    pub fn nal_bytes(&self) -> usize {
        self.nals.iter().map(Bytes::len).sum()
    }

    /// The NAL units an MP4 sample holds: all but access unit delimiters, SPS, PPS and
    /// filler data, which the `avcC` record or the format replaces (ISO/IEC 14496-15 5.3.2).
    pub fn sample_nals(&self) -> impl Iterator<Item = &Bytes> {
        self.nals.iter().filter(|nal| {
            !matches!(
                NalHeader::parse(nal).map(|h| h.nal_type),
                Ok(NalType::AUD | NalType::SPS | NalType::PPS | NalType::FILLER)
            )
        })
    }

    /// The MP4 sample: [`sample_nals`](Self::sample_nals), each after its 4-byte length.
    pub fn write_length_prefixed(&self, out: &mut Vec<u8>) {
        for nal in self.sample_nals() {
            // NAL units are at most MAX_NAL_BYTES (far below 4 GiB) by construction.
            out.extend_from_slice(&(nal.len() as u32).to_be_bytes());
            out.extend_from_slice(nal);
        }
    }

    /// The unit as an Annex B byte stream (each NAL unit after a 4-byte start code), for RTP
    /// packetizers: [`sample_nals`](Self::sample_nals), and for a key frame the SPS and every
    /// PPS of `params` first, so a decoder joining there has them (RFC 6184 8.4: in-band
    /// parameter sets).
    pub fn to_annex_b(&self, params: &CodecParams) -> Vec<u8> {
        const START: [u8; 4] = [0, 0, 0, 1];
        let mut out = Vec::with_capacity(self.nal_bytes() + 64);
        if self.is_key {
            out.extend_from_slice(&START);
            out.extend_from_slice(&params.sps_nal);
            for pps in &params.pps_nals {
                out.extend_from_slice(&START);
                out.extend_from_slice(pps);
            }
        }
        for nal in self.sample_nals() {
            out.extend_from_slice(&START);
            out.extend_from_slice(nal);
        }
        out
    }

    /// Size of [`write_length_prefixed`](Self::write_length_prefixed)'s output.
    pub fn length_prefixed_len(&self) -> usize {
        self.sample_nals().map(|nal| 4 + nal.len()).sum()
    }

    /// All NAL units with 4-byte start codes, for a decoder or an Annex B consumer.
    pub fn write_annex_b(&self, out: &mut Vec<u8>) {
        for nal in &self.nals {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(nal);
        }
    }
}

/// The unit being assembled.
#[derive(Debug, Default)]
struct Building {
    nals: Vec<Bytes>,
    bytes: usize,
    has_vcl: bool,
    is_key: bool,
    /// Over a limit: its units are dropped until the next access unit starts.
    dropping: bool,
}

/// Whether a NAL unit starting with `head` begins a new access unit when it follows a picture's
/// slice. `None`: `head` is too short (or not a NAL unit header) to tell.
pub fn begins_after_picture(head: &[u8]) -> Option<bool> {
    let t = NalHeader::parse(head).ok()?.nal_type;
    if t.starts_access_unit_after_vcl() {
        return Some(true);
    }
    if t.has_slice_header() {
        // A new primary picture begins with its first macroblock. (Redundant pictures and
        // arbitrary slice order, baseline features no camera uses, are not told apart.)
        return first_mb_in_slice(head).map(|mb| mb == 0);
    }
    Some(false)
}

/// Turns NAL units into access units. Push units with [`push_nal`](Self::push_nal); complete
/// access units come out of [`pop`](Self::pop). Errors (a broken parameter set, an oversized
/// unit) are returned from `push_nal` and never take a complete access unit with them.
#[derive(Debug, Default)]
pub struct AccessUnitAssembler {
    building: Building,
    ready: VecDeque<AccessUnit>,
    params: ParamTracker,
}

impl AccessUnitAssembler {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a NAL unit starting with `head` (its first bytes; at least the header byte)
    /// begins a new access unit, given what was assembled so far. `None`: `head` is too
    /// short to tell.
    pub fn starts_new_access_unit(&self, head: &[u8]) -> Option<bool> {
        NalHeader::parse(head).ok()?;
        if !self.building.has_vcl {
            return Some(false);
        }
        begins_after_picture(head)
    }

    /// Ends the access unit being assembled if the NAL unit beginning with `head` (still
    /// being received) starts a new one: an access unit then comes out a whole frame interval
    /// sooner than waiting for that NAL unit's end.
    pub fn end_if_next_starts_with(&mut self, head: &[u8]) {
        if self.starts_new_access_unit(head) == Some(true) {
            self.finish_current();
        }
    }

    /// Adds one NAL unit (no start code, no length).
    pub fn push_nal(&mut self, nal: Bytes) -> Result<(), Error> {
        let header = NalHeader::parse(&nal)?;
        if self.starts_new_access_unit(&nal) == Some(true) {
            self.finish_current();
        }
        // Parameter sets take effect for this access unit; a broken one is reported and left
        // out of the tracker, but still travels with the unit for whoever decodes it.
        let param_result = if matches!(header.nal_type, NalType::SPS | NalType::PPS) {
            self.params.observe(&nal)
        } else {
            Ok(())
        };
        let b = &mut self.building;
        if !b.dropping {
            if b.nals.len() >= MAX_NALS_PER_ACCESS_UNIT
                || b.bytes + nal.len() > MAX_ACCESS_UNIT_BYTES
            {
                let (count, bytes) = (b.nals.len(), b.bytes);
                *b = Building {
                    has_vcl: b.has_vcl,
                    dropping: true,
                    ..Building::default()
                };
                param_result?;
                return Err(Error::corrupt(format!(
                    "H.264 access unit of more than {count} NAL units or {bytes} bytes: dropped"
                )));
            }
            if header.nal_type.is_vcl() {
                b.has_vcl = true;
            }
            if header.nal_type == NalType::IDR_SLICE {
                b.is_key = true;
            }
            b.bytes += nal.len();
            b.nals.push(nal);
        } else if header.nal_type.is_vcl() {
            b.has_vcl = true;
        }
        param_result
    }

    fn finish_current(&mut self) {
        let b = std::mem::take(&mut self.building);
        if b.dropping || b.nals.is_empty() {
            return;
        }
        self.ready.push_back(AccessUnit {
            nals: b.nals,
            is_key: b.is_key,
            params: self.params.current().cloned(),
        });
    }

    /// The end of the stream: the unit being assembled is complete.
    pub fn flush(&mut self) {
        self.finish_current();
    }

    /// The next complete access unit.
    pub fn pop(&mut self) -> Option<AccessUnit> {
        self.ready.pop_front()
    }

    /// The parameters in force now.
    pub fn params(&self) -> Option<&Arc<CodecParams>> {
        self.params.current()
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::{X264_BASELINE_1278X718, X264_BASELINE_PPS};
    use super::*;

    fn nal(b: &[u8]) -> Bytes {
        Bytes::copy_from_slice(b)
    }

    fn types(au: &AccessUnit) -> Vec<u8> {
        au.nals.iter().map(|n| n[0] & 0x1F).collect()
    }

    /// x264's order without AUDs: SPS PPS SEI IDR | P | P, with `first_mb_in_slice` 0.
    #[test]
    fn units_without_delimiters_split_on_the_next_picture() {
        let mut a = AccessUnitAssembler::new();
        for n in [
            X264_BASELINE_1278X718,
            X264_BASELINE_PPS,
            &[0x06, 0x05, 0x01, 0x80],
            &[0x65, 0x88, 0x84],
            &[0x41, 0x9A, 0x38],
        ] {
            a.push_nal(nal(n)).unwrap();
        }
        let first = a.pop().unwrap();
        assert_eq!(types(&first), [7, 8, 6, 5]);
        assert!(first.is_key);
        assert_eq!(first.params.as_ref().unwrap().codec_string(), "avc1.42C01F");
        assert!(a.pop().is_none(), "the P picture may have more slices");
        a.push_nal(nal(&[0x41, 0x9A, 0x54])).unwrap();
        let second = a.pop().unwrap();
        assert_eq!((types(&second), second.is_key), (vec![1], false));
        a.flush();
        assert_eq!(types(&a.pop().unwrap()), [1]);
        assert!(a.pop().is_none());
    }

    /// For RTP: a key frame carries its SPS and PPS in band (whatever the unit held), a P
    /// frame only its slices; delimiters and filler are left out; every unit gets a start code.
    #[test]
    fn annex_b_puts_parameter_sets_before_key_frames_only() {
        let mut a = AccessUnitAssembler::new();
        for n in [
            &[0x09, 0xF0][..],
            X264_BASELINE_1278X718,
            X264_BASELINE_PPS,
            &[0x65, 0x88, 0x84],
            &[0x09, 0xF0],
            &[0x41, 0x9A, 0x38],
            &[0x0C, 0xFF, 0x80],
            &[0x09, 0xF0],
        ] {
            a.push_nal(nal(n)).unwrap();
        }
        let key = a.pop().unwrap();
        let p = key.params.clone().unwrap();
        let split = |b: &[u8]| {
            crate::h264::nal_units(b)
                .map(|n| n[0] & 0x1F)
                .collect::<Vec<_>>()
        };
        let bytes = key.to_annex_b(&p);
        assert_eq!(split(&bytes), [7, 8, 5]);
        assert_eq!(&bytes[..4], &[0, 0, 0, 1]);
        // The key frame without its own SPS/PPS (an RTSP camera sends them out of band).
        let bare = AccessUnit {
            nals: vec![nal(&[0x65, 0x88, 0x84])],
            is_key: true,
            params: Some(p.clone()),
        };
        assert_eq!(split(&bare.to_annex_b(&p)), [7, 8, 5]);
        let delta = a.pop().unwrap();
        assert_eq!(split(&delta.to_annex_b(&p)), [1]);
    }

    #[test]
    fn slices_of_one_picture_stay_together_and_delimiters_split() {
        let mut a = AccessUnitAssembler::new();
        // Three slices of one picture: first_mb_in_slice 0, 120 and 240.
        let slice_at = |mb: u32| {
            let mut w = crate::h264::bits::tests::BitWriter::default();
            w.bits(0x41, 8).ue(mb).ue(0).trailing();
            Bytes::from(w.bytes)
        };
        a.push_nal(nal(&[0x09, 0xF0])).unwrap();
        for mb in [0, 120, 240] {
            a.push_nal(slice_at(mb)).unwrap();
        }
        a.push_nal(nal(&[0x0C, 0xFF, 0x80])).unwrap(); // filler stays in the unit
        a.push_nal(nal(&[0x09, 0xF0])).unwrap();
        let au = a.pop().unwrap();
        assert_eq!(types(&au), [9, 1, 1, 1, 12]);
        assert!(au.params.is_none(), "no SPS seen");
        // The sample leaves out the delimiter and the filler.
        assert_eq!(au.sample_nals().count(), 3);
        let mut lp = Vec::new();
        au.write_length_prefixed(&mut lp);
        assert_eq!(lp.len(), au.length_prefixed_len());
        // A unit's SEI after its slice starts the next unit (7.4.1.2.3).
        a.push_nal(slice_at(0)).unwrap();
        a.push_nal(nal(&[0x06, 0x05, 0x01, 0x80])).unwrap();
        assert_eq!(types(&a.pop().unwrap()), [9, 1]);
    }

    #[test]
    fn a_unit_head_ends_the_unit_before_it_is_complete() {
        let mut a = AccessUnitAssembler::new();
        a.push_nal(nal(&[0x65, 0x88])).unwrap();
        // Only the header byte of the next slice: too short to know its first macroblock.
        assert_eq!(a.starts_new_access_unit(&[0x41]), None);
        a.end_if_next_starts_with(&[0x41]);
        assert!(a.pop().is_none());
        a.end_if_next_starts_with(&[0x41, 0x9A]);
        assert!(a.pop().unwrap().is_key);
        // When the slice arrives whole it joins the new, empty unit.
        a.push_nal(nal(&[0x41, 0x9A, 0x38])).unwrap();
        assert!(a.pop().is_none());
        a.flush();
        assert_eq!(types(&a.pop().unwrap()), [1]);
    }

    #[test]
    fn whole_frames_from_an_rtsp_client_or_v4l2() {
        let mut params = ParamTracker::default();
        let key = AccessUnit::from_nals(
            vec![
                nal(X264_BASELINE_1278X718),
                nal(X264_BASELINE_PPS),
                nal(&[0x65, 0x88]),
            ],
            &mut params,
        )
        .unwrap();
        assert!(key.is_key);
        assert_eq!(key.params.unwrap().codec_string(), "avc1.42C01F");
        let p = AccessUnit::from_nals(vec![nal(&[0x41, 0x9A])], &mut params).unwrap();
        assert!(!p.is_key && p.params.is_some());
        assert!(AccessUnit::from_nals(vec![], &mut params).is_err());
        assert!(AccessUnit::from_nals(vec![nal(&[0x67, 0x42])], &mut params).is_err());
        assert!(AccessUnit::from_nals(vec![nal(&[0x85])], &mut params).is_err());
        let many = vec![nal(&[0x41, 0x9A]); MAX_NALS_PER_ACCESS_UNIT + 1];
        assert!(AccessUnit::from_nals(many, &mut params).is_err());
    }

    #[test]
    fn errors_keep_the_complete_unit() {
        let mut a = AccessUnitAssembler::new();
        a.push_nal(nal(&[0x65, 0x88])).unwrap();
        // A broken SPS starts the next unit and is reported; the IDR unit is not lost.
        assert!(a.push_nal(nal(&[0x67, 0x42])).is_err());
        assert!(a.pop().unwrap().is_key);
        assert!(a.push_nal(nal(&[])).is_err());
        assert!(a.push_nal(nal(&[0x85])).is_err(), "forbidden bit");
    }

    #[test]
    fn too_many_nal_units_drop_that_unit_only() {
        let mut a = AccessUnitAssembler::new();
        a.push_nal(nal(&[0x65, 0x88])).unwrap();
        let mut errors = 0;
        for _ in 0..MAX_NALS_PER_ACCESS_UNIT + 10 {
            // first_mb_in_slice = 1: more slices of the same picture.
            if a.push_nal(nal(&[0x65, 0x40])).is_err() {
                errors += 1;
            }
        }
        assert_eq!(errors, 1);
        a.push_nal(nal(&[0x41, 0x80])).unwrap();
        assert!(a.pop().is_none(), "the oversized unit is gone");
        a.flush();
        assert_eq!(types(&a.pop().unwrap()), [1]);
    }
}
