//! A camera's H.264 track: the current group of pictures for late joiners, a broadcast of
//! every new frame, and key-frame requests for encoders.

use super::frame::{VideoFrame, VideoOrigin};
use crate::Error;
use crate::fmp4::{Fmp4Muxer, init_segment};
use crate::h264::{AccessUnit, CodecParams};
use crate::stats::CameraStats;
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};
use tokio::sync::{broadcast, watch};

/// Most bytes of one GOP kept for late joiners: 2 s of 4K at 64 Mbit/s. A 720p30 camera at
/// 2 Mbit/s with 2 s GOPs keeps ~500 KB.
pub const MAX_GOP_BYTES: usize = 16 << 20;
/// Most frames of one GOP kept: 20 s at 30 fps. Past either limit the GOP is dropped and late
/// joiners wait for the next key frame.
pub const MAX_GOP_FRAMES: usize = 600;
/// Frames queued per viewer before it lags (then it skips to a key frame): ~8 s at 30 fps.
const BROADCAST_FRAMES: usize = 256;
/// A jump of the source's clock larger than this (or backwards) is a discontinuity: the
/// track's time goes on by one frame instead. 10 s, like retina's default max jump.
const MAX_CLOCK_JUMP_90K: u64 = 10 * 90_000;

#[derive(Debug, Default)]
struct GopState {
    muxer: Option<Fmp4Muxer>,
    epoch: u64,
    init: Bytes,
    /// From the last key frame on; empty while no complete GOP is kept.
    gop: Vec<Arc<VideoFrame>>,
    gop_bytes: usize,
    /// Drop pictures until the next key frame (at start, after loss or a params change).
    want_key: bool,
    /// The next frame's time continues the track by one frame, whatever its clock says.
    discontinuity: bool,
    last: Option<Arc<VideoFrame>>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<GopState>,
    tx: broadcast::Sender<Arc<VideoFrame>>,
    key_wanted: watch::Sender<u64>,
    stats: Arc<CameraStats>,
}

/// See the module docs. Cheap to clone: clones share the track.
#[derive(Debug, Clone)]
pub struct VideoTrack {
    shared: Arc<Shared>,
}

impl VideoTrack {
    pub fn new(stats: Arc<CameraStats>) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(GopState {
                    want_key: true,
                    ..GopState::default()
                }),
                tx: broadcast::Sender::new(BROADCAST_FRAMES),
                key_wanted: watch::Sender::new(0),
                stats,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GopState> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds an access unit with its source time (90 kHz) to the track and sends it to every
    /// viewer. `Ok(None)`: the unit was skipped because the track waits for a key frame (at
    /// start, after [`mark_broken`](Self::mark_broken), after new codec parameters).
    /// Errors (the unit is dropped, the track carries on): a key frame without SPS/PPS, a
    /// unit the fMP4 muxer refuses.
    pub fn publish(
        &self,
        seq: u64,
        au: AccessUnit,
        captured_at: SystemTime,
        pts_90k: u64,
        origin: VideoOrigin,
    ) -> Result<Option<Arc<VideoFrame>>, Error> {
        let mut st = self.lock();
        let Some(params) = au.params.clone() else {
            if au.is_key {
                return Err(Error::corrupt(
                    "an H.264 key frame before any SPS and PPS: the stream must send its parameter sets (rpicam-vid --inline, ffmpeg -bsf:v dump_extra)",
                ));
            }
            st.want_key = true;
            return Ok(None);
        };
        let same_params = st
            .muxer
            .as_ref()
            .is_some_and(|m| Arc::ptr_eq(m.params(), &params) || **m.params() == *params);
        if !same_params {
            if !au.is_key {
                st.want_key = true;
                return Ok(None);
            }
            st.muxer = Some(Fmp4Muxer::new(params.clone()));
            st.epoch += 1;
            st.init = Bytes::from(init_segment(&params));
            st.gop.clear();
            st.gop_bytes = 0;
        }
        if st.want_key && !au.is_key {
            return Ok(None);
        }
        let track_time_90k = match &st.last {
            None => 0,
            Some(last) => {
                let delta = pts_90k.saturating_sub(last.pts_90k);
                if st.discontinuity || delta == 0 || delta > MAX_CLOCK_JUMP_90K {
                    last.track_time_90k + last.duration_90k.max(1)
                } else {
                    last.track_time_90k + delta
                }
            }
        };
        let Some(muxer) = st.muxer.as_mut() else {
            return Err(Error::internal("H.264 track without a muxer"));
        };
        let fragment = muxer.fragment(&[(&au, track_time_90k)])?;
        let frame = Arc::new(VideoFrame {
            seq,
            captured_at,
            published: Instant::now(),
            pts_90k,
            track_time_90k,
            duration_90k: fragment.duration_90k,
            params,
            epoch: st.epoch,
            init: st.init.clone(),
            moof_len: fragment.moof_len,
            fragment: Bytes::from(fragment.bytes),
            au,
            origin,
            annex_b: std::sync::OnceLock::new(),
        });
        st.want_key = false;
        st.discontinuity = false;
        let stats = &self.shared.stats;
        stats.h264_frames.fetch_add(1, Ordering::Relaxed);
        if frame.is_key() {
            st.gop.clear();
            st.gop_bytes = 0;
        }
        // A GOP is kept only from its key frame: after an overflow it stays empty until the
        // next one.
        if frame.is_key() || !st.gop.is_empty() {
            if st.gop.len() >= MAX_GOP_FRAMES || st.gop_bytes + frame.fragment.len() > MAX_GOP_BYTES
            {
                st.gop.clear();
                st.gop_bytes = 0;
                stats.gop_overflows.fetch_add(1, Ordering::Relaxed);
            } else {
                st.gop_bytes += frame.fragment.len();
                st.gop.push(frame.clone());
            }
        }
        st.last = Some(frame.clone());
        // No receivers is fine: nobody watches H.264 right now.
        let _ = self.shared.tx.send(frame.clone());
        Ok(Some(frame))
    }

    /// The current GOP (from its key frame) and a receiver for every frame after it, taken
    /// under one lock: no frame is missed or seen twice.
    pub fn join(&self) -> (Vec<Arc<VideoFrame>>, broadcast::Receiver<Arc<VideoFrame>>) {
        let st = self.lock();
        (st.gop.clone(), self.shared.tx.subscribe())
    }

    /// Frames were lost or the source restarted: drop pictures until the next key frame, and
    /// continue the track's time by one frame from the last one (players see no gap).
    pub fn mark_broken(&self) {
        let mut st = self.lock();
        st.want_key = true;
        st.discontinuity = true;
        st.gop.clear();
        st.gop_bytes = 0;
    }

    /// Asks the source or encoder for a key frame (a viewer joined and has no GOP to start
    /// from). Sources that can, watch [`key_requests`](Self::key_requests).
    pub fn request_key_frame(&self) {
        self.shared.key_wanted.send_modify(|n| *n += 1);
    }

    pub fn key_requests(&self) -> watch::Receiver<u64> {
        self.shared.key_wanted.subscribe()
    }

    /// The codec parameters of the newest frame: the camera offers H.264 once it is known.
    pub fn latest_params(&self) -> Option<Arc<CodecParams>> {
        self.lock().last.as_ref().map(|f| f.params.clone())
    }

    /// The newest frame, for its time and origin.
    pub fn latest(&self) -> Option<Arc<VideoFrame>> {
        self.lock().last.clone()
    }

    /// Frames and bytes of the GOP kept now.
    pub fn gop_len(&self) -> (usize, usize) {
        let st = self.lock();
        (st.gop.len(), st.gop_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::test_track::{au, params, track};

    fn publish(t: &VideoTrack, seq: u64, key: bool, pts: u64) -> Option<Arc<VideoFrame>> {
        let p = t.latest_params().unwrap_or_else(params);
        t.publish(
            seq,
            au(key, &p),
            SystemTime::now(),
            pts,
            VideoOrigin::Native,
        )
        .unwrap()
    }

    #[test]
    fn waits_for_a_key_frame_and_keeps_the_gop_from_the_last_one() {
        let t = track();
        assert!(publish(&t, 1, false, 0).is_none(), "no key frame yet");
        assert!(publish(&t, 2, true, 1000).is_some());
        publish(&t, 3, false, 4000);
        assert_eq!(t.join().0.len(), 2);
        publish(&t, 4, true, 7000);
        publish(&t, 5, false, 10_000);
        let (gop, _) = t.join();
        assert_eq!(gop.iter().map(|f| f.seq).collect::<Vec<_>>(), [4, 5]);
        assert!(gop[0].is_key());
        assert_eq!(
            gop.iter().map(|f| f.track_time_90k).collect::<Vec<_>>(),
            [6000, 9000]
        );
    }

    #[test]
    fn clock_jumps_and_breaks_continue_the_time_by_one_frame() {
        let t = track();
        publish(&t, 1, true, 1000);
        let f = publish(&t, 2, false, 4000).unwrap();
        assert_eq!(f.track_time_90k, 3000);
        // Backwards (a restarted RTSP camera): one frame on.
        let f = publish(&t, 3, true, 10).unwrap();
        assert_eq!(f.track_time_90k, 6000);
        t.mark_broken();
        assert!(publish(&t, 4, false, 3010).is_none());
        assert!(t.join().0.is_empty());
        let f = publish(&t, 5, true, 900_000_000).unwrap();
        assert_eq!(f.track_time_90k, 9000);
    }

    #[test]
    fn new_parameters_start_a_new_epoch_at_a_key_frame() {
        use crate::h264::samples::{X264_HIGH_1278X718, X264_HIGH_PPS};
        let t = track();
        let f1 = publish(&t, 1, true, 0).unwrap();
        let high = Arc::new(CodecParams::new(X264_HIGH_1278X718, &[X264_HIGH_PPS]).unwrap());
        let skipped = t
            .publish(
                2,
                au(false, &high),
                SystemTime::now(),
                3000,
                VideoOrigin::Native,
            )
            .unwrap();
        assert!(skipped.is_none(), "a new stream starts with a key frame");
        let f3 = t
            .publish(
                3,
                au(true, &high),
                SystemTime::now(),
                6000,
                VideoOrigin::Native,
            )
            .unwrap()
            .unwrap();
        assert_eq!((f1.epoch, f3.epoch), (1, 2));
        assert_ne!(f1.init, f3.init);
    }

    #[test]
    fn an_oversized_gop_is_dropped_until_the_next_key_frame() {
        let t = track();
        publish(&t, 1, true, 0);
        for i in 1..MAX_GOP_FRAMES as u64 + 5 {
            publish(&t, 1 + i, false, i * 3000);
        }
        assert_eq!(t.join().0.len(), 0);
        assert_eq!(t.shared.stats.gop_overflows.load(Ordering::Relaxed), 1);
        publish(&t, 10_000, true, 10_000 * 3000);
        assert_eq!(t.join().0.len(), 1);
    }
}
