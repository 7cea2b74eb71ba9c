//! retina's H.264 frames → Lookout's access units: NAL units split from retina's 4-byte length
//! prefixes, the parameter sets noted, presentation times rescaled to 90 kHz. (After a lost
//! packet the hub's video track drops pictures until the next key frame: `mark_broken`.)

use crate::FrameSink;
use bytes::Bytes;
use lookout_core::Error;
use lookout_core::h264::{AccessUnit, ParamTracker, split_length_prefixed};
use std::time::SystemTime;

/// MPEG's and MP4's video clock; H.264 over RTP uses it too (RFC 6184 §5.1), but an SDP may
/// say otherwise.
pub const CLOCK_90K: u32 = 90_000;

/// One RTSP session's H.264 state.
#[derive(Debug)]
pub struct H264Units {
    /// The camera's id, for log lines.
    camera: String,
    params: ParamTracker,
    clock_hz: u32,
    /// retina's key-frame flag disagreed with the NAL types once: said once per session.
    said_rap_mismatch: bool,
    /// The last frame's presentation time, to notice B-frames (times going back a little).
    last_pts_90k: Option<u64>,
    said_b_frames: bool,
}

/// A step back in time smaller than this is a B-frame's reordering; a larger one a clock reset.
const MAX_REORDER_90K: u64 = 90_000;

impl H264Units {
    pub fn new(camera: &str, clock_hz: u32) -> Self {
        Self {
            camera: camera.to_owned(),
            params: ParamTracker::default(),
            clock_hz,
            said_rap_mismatch: false,
            last_pts_90k: None,
            said_b_frames: false,
        }
    }

    /// Publishes one of retina's frames (see [`push`](Self::push)); `loss` packets were lost
    /// before it, so it may refer to pictures that never came: the track then waits for the
    /// next key frame. A broken frame is dropped, counted and logged (rate-limited).
    pub fn publish(
        &mut self,
        sink: &FrameSink,
        data: Vec<u8>,
        loss: u16,
        random_access: bool,
        rtp_time: i64,
        captured_at: SystemTime,
    ) {
        if loss > 0 {
            sink.hub().video().mark_broken();
        }
        match self.push(data, random_access, rtp_time) {
            Ok((au, pts_90k)) => {
                sink.publish_h264(au, captured_at, pts_90k);
            }
            Err(e) => sink.drop_frame(e.message()),
        }
    }

    /// One of retina's frames: `data` length-prefixed (retina's default framing, parameter sets
    /// before each key frame), `rtp_time` retina's extended RTP timestamp at `clock_hz`. Returns
    /// the access unit and its presentation time in 90 kHz ticks; errors on a frame that is not
    /// H.264 as it claims.
    pub fn push(
        &mut self,
        data: Vec<u8>,
        random_access: bool,
        rtp_time: i64,
    ) -> Result<(AccessUnit, u64), Error> {
        let nals = split_length_prefixed(&Bytes::from(data), 4)?;
        let au = AccessUnit::from_nals(nals, &mut self.params)?;
        if au.is_key != random_access && !self.said_rap_mismatch {
            self.said_rap_mismatch = true;
            tracing::info!(
                camera = self.camera,
                idr = au.is_key,
                random_access,
                "the camera's key-frame flag and its NAL units disagree; Lookout goes by the NAL units"
            );
        }
        let pts_90k = rescale_to_90k(rtp_time, self.clock_hz).ok_or_else(|| {
            Error::corrupt(format!(
                "an RTP timestamp of {rtp_time} at {} Hz cannot be a presentation time",
                self.clock_hz
            ))
        })?;
        if let Some(last) = self.last_pts_90k
            && pts_90k < last
            && last - pts_90k < MAX_REORDER_90K
            && !self.said_b_frames
        {
            // RTP times are presentation times (RFC 6184 §5.1): with B-frames they go back
            // in decode order, which MP4 fragments without composition offsets cannot carry.
            self.said_b_frames = true;
            tracing::warn!(
                camera = self.camera,
                "the camera sends B-frames (pictures out of order); H.264 viewers will see breaks: turn B-frames off in the camera's video settings (often called \"baseline\" or \"low latency\")"
            );
        }
        self.last_pts_90k = Some(pts_90k);
        Ok((au, pts_90k))
    }

    /// Whether B-frames were noticed (and said in the log) in this session.
    pub fn saw_b_frames(&self) -> bool {
        self.said_b_frames
    }
}

/// `ticks` of a `clock_hz` clock in 90 kHz ticks; `None` when negative or `clock_hz` is 0.
pub fn rescale_to_90k(ticks: i64, clock_hz: u32) -> Option<u64> {
    let ticks = u64::try_from(ticks).ok()?;
    if clock_hz == CLOCK_90K {
        return Some(ticks);
    }
    if clock_hz == 0 {
        return None;
    }
    // u128: ticks × 90000 overflows u64 after ~6.5 years of a 90 kHz clock.
    u64::try_from(u128::from(ticks) * u128::from(CLOCK_90K) / u128::from(clock_hz)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // A 16x16 baseline SPS and PPS from x264 (`ffmpeg -f lavfi -i testsrc=size=16x16
    // -pix_fmt yuv420p -c:v libx264 -profile:v baseline -f h264`); the slices only need headers.
    const SPS: &[u8] = &[
        0x67, 0x42, 0xc0, 0x0a, 0xdd, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00,
        0x03, 0x00, 0x83, 0xc4, 0x89, 0xe0,
    ];
    const PPS: &[u8] = &[0x68, 0xce, 0x0f, 0x2c, 0x80];
    const IDR: &[u8] = &[0x65, 0x88, 0x84, 0x00, 0x33, 0xff];
    const P_SLICE: &[u8] = &[0x41, 0x9a, 0x02, 0x04];

    fn frame(nals: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for nal in nals {
            out.extend_from_slice(&u32::try_from(nal.len()).unwrap().to_be_bytes());
            out.extend_from_slice(nal);
        }
        out
    }

    #[test]
    fn frames_become_access_units_with_90k_times() {
        let mut units = H264Units::new("cam", CLOCK_90K);
        let (au, pts) = units.push(frame(&[SPS, PPS, IDR]), true, 3000).unwrap();
        assert!(au.is_key && au.params.is_some());
        assert_eq!((au.nals.len(), pts), (3, 3000));
        let (au, pts) = units.push(frame(&[P_SLICE]), false, 6000).unwrap();
        // The parameters noted from the key frame stay in force.
        assert!(!au.is_key && au.params.is_some());
        assert_eq!(pts, 6000);
        // A 1 kHz clock (some SDPs say so): rescaled.
        let mut units = H264Units::new("cam", 1000);
        let (_, pts) = units.push(frame(&[SPS, PPS, IDR]), true, 2).unwrap();
        assert_eq!(pts, 180);
    }

    #[test]
    fn broken_frames_are_errors_not_panics() {
        let mut units = H264Units::new("cam", CLOCK_90K);
        // A length running past the end.
        assert!(units.push(vec![0, 0, 0, 9, 0x65], true, 0).is_err());
        assert!(units.push(Vec::new(), true, 0).is_err());
        // A negative time cannot be a presentation time.
        let key = frame(&[SPS, PPS, IDR]);
        assert!(units.push(key, true, -1).is_err());
    }

    #[test]
    fn after_a_lost_packet_nothing_is_published_until_the_next_key_frame() {
        let hub = lookout_core::CameraHub::new("cam", 80);
        let sink = FrameSink::new(hub.clone());
        let (_, mut rx) = hub.video().join();
        let mut units = H264Units::new("cam", CLOCK_90K);
        let now = SystemTime::now();
        let key = || frame(&[SPS, PPS, IDR]);
        let p = || frame(&[P_SLICE]);
        units.publish(&sink, key(), 0, true, 3000, now);
        units.publish(&sink, p(), 0, false, 6000, now);
        // Packets lost before this frame: it and the next refer to what never came.
        units.publish(&sink, p(), 3, false, 9000, now);
        units.publish(&sink, p(), 0, false, 12000, now);
        units.publish(&sink, key(), 0, true, 15000, now);
        let mut got = Vec::new();
        while let Ok(f) = rx.try_recv() {
            got.push((f.pts_90k, f.is_key()));
        }
        assert_eq!(got, [(3000, true), (6000, false), (15000, true)]);
    }

    #[test]
    fn b_frames_are_noticed_but_a_clock_reset_is_not_taken_for_them() {
        let mut units = H264Units::new("cam", CLOCK_90K);
        units.push(frame(&[SPS, PPS, IDR]), true, 900_000).unwrap();
        // A reset far back: not reordering.
        units.push(frame(&[P_SLICE]), false, 3000).unwrap();
        assert!(!units.saw_b_frames());
        units.push(frame(&[P_SLICE]), false, 12000).unwrap();
        // Decode order I P B: the B shows between them.
        units.push(frame(&[P_SLICE]), false, 9000).unwrap();
        assert!(units.saw_b_frames());
    }

    #[test]
    fn other_clocks_are_rescaled() {
        assert_eq!(rescale_to_90k(90_000, CLOCK_90K), Some(90_000));
        assert_eq!(rescale_to_90k(1000, 1000), Some(90_000));
        assert_eq!(rescale_to_90k(i64::MAX, 1000), None);
        assert_eq!(rescale_to_90k(-5, CLOCK_90K), None);
        assert_eq!(rescale_to_90k(5, 0), None);
    }
}
