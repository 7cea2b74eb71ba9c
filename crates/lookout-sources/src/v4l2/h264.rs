//! V4L2 `H264` buffers → the hub's H.264 track: each buffer is one access unit in Annex B (UVC
//! cameras with an encoder, v4l2loopback), split into NAL units without a copy, its parameter
//! sets noted, its time the capture time on a 90 kHz clock that only goes forward.

use crate::FrameSink;
use bytes::Bytes;
use lookout_core::h264::{AccessUnit, ParamTracker, nal_units};
use std::time::SystemTime;

/// One capture run's H.264 state; a reopened camera starts a new one (the track notices the
/// new parameter sets or the restart itself).
#[derive(Debug, Default)]
pub struct H264Buffers {
    params: ParamTracker,
    /// Capture time of the run's first buffer: time 0 of its clock.
    first: Option<SystemTime>,
    last_pts_90k: Option<u64>,
}

impl H264Buffers {
    /// Publishes one buffer; a buffer that is not an access unit is dropped, counted and
    /// logged (rate-limited) by the sink.
    pub fn publish(&mut self, sink: &FrameSink, data: Vec<u8>, captured_at: SystemTime) {
        let data = Bytes::from(data);
        let nals: Vec<Bytes> = nal_units(&data).map(|nal| data.slice_ref(nal)).collect();
        if nals.is_empty() {
            sink.drop_frame("an H264 buffer without a start code: not H.264 Annex B");
            return;
        }
        match AccessUnit::from_nals(nals, &mut self.params) {
            Ok(au) => {
                let pts_90k = self.pts_90k(captured_at);
                sink.publish_h264(au, captured_at, pts_90k);
            }
            Err(e) => sink.drop_frame(e.message()),
        }
    }

    /// The capture time since the run's first buffer in 90 kHz ticks, at least one tick after
    /// the previous one: driver times can repeat or step back (a realtime clock set by NTP),
    /// and the track refuses time that does not go forward.
    fn pts_90k(&mut self, captured_at: SystemTime) -> u64 {
        let first = *self.first.get_or_insert(captured_at);
        let since = captured_at.duration_since(first).unwrap_or_default();
        // u128 → u64: 2^64 ticks at 90 kHz is six million years.
        let ticks = (since.as_micros() * 9 / 100) as u64;
        let pts = match self.last_pts_90k {
            Some(last) if ticks <= last => last + 1,
            _ => ticks,
        };
        self.last_pts_90k = Some(pts);
        pts
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn time_starts_at_zero_and_never_goes_back() {
        let mut b = H264Buffers::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        assert_eq!(b.pts_90k(t0), 0);
        assert_eq!(b.pts_90k(t0 + Duration::from_millis(40)), 3600);
        // The same time again, then a step back: one tick later each time.
        assert_eq!(b.pts_90k(t0 + Duration::from_millis(40)), 3601);
        assert_eq!(b.pts_90k(t0), 3602);
        assert_eq!(b.pts_90k(t0 + Duration::from_millis(80)), 7200);
    }
}
