//! One H.264 stream as fragmented MP4: the init segment, then fragments numbered from 1 with
//! decode times that start at 0 and only go forward. The same bytes serve a live MSE viewer,
//! `stream.mp4`, and recorded segments with an HLS playlist (RFC 8216 3.3: each segment starts
//! with a key frame, which [`Fmp4Muxer::fragment`] checks for the first one and reports for
//! every fragment).

use super::fragment::{Sample, media_fragment};
use super::init::init_segment;
use super::track::TIMESCALE;
use crate::h264::{AccessUnit, CodecParams};
use crate::{Error, ErrorKind};
use std::sync::Arc;

/// A frame's duration when nothing tells it (no VUI timing, only one frame so far): 30 fps.
const DEFAULT_FRAME_DURATION_90K: u32 = 3000;

/// A fragment and what a segmenter needs to know about it.
#[derive(Debug, Clone)]
pub struct Fragment {
    /// `moof` + `mdat`.
    pub bytes: Vec<u8>,
    /// Length of the `moof` at the start of `bytes` (see
    /// [`moof_with_decode_time`](super::moof_with_decode_time)); the `mdat` follows.
    pub moof_len: usize,
    /// The first sample is a key frame: a segment, or a late joiner, can start here.
    pub starts_with_key: bool,
    /// Decode time of the first sample and the sum of the durations, in 90 kHz units from the
    /// stream's start.
    pub decode_time_90k: u64,
    pub duration_90k: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct Fmp4Muxer {
    params: Arc<CodecParams>,
    next_sequence: u32,
    /// The first access unit's time: decode times are written relative to it.
    origin_90k: Option<u64>,
    /// The last sample's time as given, to check that time goes forward.
    last_time_90k: Option<u64>,
    /// The duration given to a fragment's last sample: the frame interval seen last.
    last_duration_90k: u32,
}

impl Fmp4Muxer {
    pub fn new(params: Arc<CodecParams>) -> Self {
        let nominal = params
            .sps
            .timing
            .and_then(|t| t.frame_rate())
            .filter(|fps| (1.0..=240.0).contains(fps))
            // 1..=240 fps gives 375..=90000 ticks: fits u32.
            .map_or(DEFAULT_FRAME_DURATION_90K, |fps| {
                (f64::from(TIMESCALE) / fps).round() as u32
            });
        Self {
            params,
            next_sequence: 1,
            origin_90k: None,
            last_time_90k: None,
            last_duration_90k: nominal,
        }
    }

    pub fn params(&self) -> &Arc<CodecParams> {
        &self.params
    }

    /// The RFC 6381 codec string for `MediaSource.isTypeSupported` and HLS `CODECS`.
    pub fn mime_type(&self) -> String {
        format!("video/mp4; codecs=\"{}\"", self.params.codec_string())
    }

    pub fn init_segment(&self) -> Vec<u8> {
        init_segment(&self.params)
    }

    /// A fragment of `units`, each with its time (capture or RTP time, any origin) in 90 kHz
    /// units. A sample lasts until the next one; the last one of a fragment lasts as long as
    /// the interval before it (its successor is not known yet: the lowest-latency choice, the
    /// next fragment's decode time corrects any difference).
    ///
    /// Errors: no units; the stream's first unit is not a key frame; time that does not go
    /// forward; a unit made under other codec parameters (start a new muxer: a new init
    /// segment). The muxer's state is unchanged by a refused fragment.
    pub fn fragment(&mut self, units: &[(&AccessUnit, u64)]) -> Result<Fragment, Error> {
        let Some(&(first, first_time)) = units.first() else {
            return Err(Error::invalid(
                "an MP4 fragment needs at least one access unit",
            ));
        };
        if self.origin_90k.is_none() && !first.is_key {
            return Err(Error::invalid(
                "a fragmented MP4 stream must start with a key frame",
            ));
        }
        let mut previous = self.last_time_90k;
        for (au, t) in units {
            let same = |p: &Arc<CodecParams>| Arc::ptr_eq(p, &self.params) || **p == *self.params;
            if au.params.as_ref().is_some_and(|p| !same(p)) {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "H.264 codec parameters changed: a new init segment is needed",
                ));
            }
            if previous.is_some_and(|p| *t <= p) {
                return Err(Error::invalid(format!(
                    "H.264 access unit time {t} does not follow {}",
                    previous.unwrap_or_default()
                )));
            }
            previous = Some(*t);
        }

        let origin = self.origin_90k.unwrap_or(first_time);
        let mut samples = Vec::with_capacity(units.len());
        let mut last_duration = self.last_duration_90k;
        for (i, (au, t)) in units.iter().enumerate() {
            let duration = match units.get(i + 1) {
                Some((_, next)) => u32::try_from(next - t).map_err(|_| {
                    Error::invalid("more than 13 hours between two H.264 access units")
                })?,
                None => last_duration,
            };
            last_duration = duration;
            samples.push(Sample {
                access_unit: au,
                duration_90k: duration,
                composition_offset_90k: 0,
            });
        }
        let decode_time = first_time - origin;
        let bytes = media_fragment(self.next_sequence, decode_time, &samples)?;
        // media_fragment starts with its moof, whose size is its first 4 bytes.
        let moof_len = bytes
            .get(..4)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
        let duration_90k = samples.iter().map(|s| u64::from(s.duration_90k)).sum();

        self.origin_90k = Some(origin);
        self.last_time_90k = previous;
        self.last_duration_90k = last_duration;
        self.next_sequence = self.next_sequence.wrapping_add(1).max(1);
        Ok(Fragment {
            bytes,
            moof_len,
            starts_with_key: first.is_key,
            decode_time_90k: decode_time,
            duration_90k,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::boxes::find_box;
    use super::*;
    use crate::h264::samples::{
        X264_BASELINE_1278X718, X264_BASELINE_PPS, X264_HIGH_1278X718, X264_HIGH_PPS,
    };
    use crate::video::test_track::au;

    fn params(sps: &[u8], pps: &[u8]) -> Arc<CodecParams> {
        Arc::new(CodecParams::new(sps, &[pps]).unwrap())
    }

    fn tfdt_and_seq(frag: &[u8]) -> (u64, u32) {
        let tfdt = find_box(frag, &[(b"moof", 0), (b"traf", 0), (b"tfdt", 0)]).unwrap();
        let mfhd = find_box(frag, &[(b"moof", 0), (b"mfhd", 0)]).unwrap();
        (
            u64::from_be_bytes(tfdt[4..12].try_into().unwrap()),
            u32::from_be_bytes(mfhd[4..8].try_into().unwrap()),
        )
    }

    #[test]
    fn times_start_at_zero_and_sequence_numbers_count_up() {
        let p = params(X264_BASELINE_1278X718, X264_BASELINE_PPS);
        let mut m = Fmp4Muxer::new(p.clone());
        assert_eq!(m.mime_type(), "video/mp4; codecs=\"avc1.42C01F\"");
        let (k, d) = (au(true, &p), au(false, &p));
        assert!(
            m.fragment(&[(&d, 1000)]).is_err(),
            "must start on a key frame"
        );
        let f1 = m.fragment(&[(&k, 1_000_000)]).unwrap();
        assert!(f1.starts_with_key);
        // The SPS says 30 fps: 3000 ticks for a lone first frame.
        assert_eq!((f1.decode_time_90k, f1.duration_90k), (0, 3000));
        assert_eq!(tfdt_and_seq(&f1.bytes), (0, 1));
        assert_eq!(&f1.bytes[f1.moof_len + 4..f1.moof_len + 8], b"mdat");
        let f2 = m
            .fragment(&[(&d, 1_003_600), (&d, 1_007_200), (&d, 1_010_000)])
            .unwrap();
        assert!(!f2.starts_with_key);
        // 3600 + 2800 + (the last interval again) 2800.
        assert_eq!((f2.decode_time_90k, f2.duration_90k), (3600, 9200));
        assert_eq!(tfdt_and_seq(&f2.bytes), (3600, 2));
        assert!(
            m.fragment(&[(&d, 1_010_000)]).is_err(),
            "time must go forward"
        );
        assert!(m.fragment(&[(&d, 1_020_000), (&d, 1_015_000)]).is_err());
        assert!(m.fragment(&[]).is_err());
        let other = params(X264_HIGH_1278X718, X264_HIGH_PPS);
        assert!(m.fragment(&[(&au(true, &other), 2_000_000)]).is_err());
        // Refused fragments changed nothing.
        let f3 = m.fragment(&[(&d, 1_013_000)]).unwrap();
        assert_eq!(tfdt_and_seq(&f3.bytes), (13_000, 3));
    }
}
