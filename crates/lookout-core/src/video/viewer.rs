//! One viewer's fragmented MP4 stream of a track: the init segment, the GOP it joined on, then
//! every frame, with its own timeline that starts at 0 and has no gaps.
//!
//! Each frame's fragment is shared; only its `moof` (~100 bytes) is copied to set this
//! viewer's `tfdt`. A viewer too slow for the broadcast (it lagged) goes on from the frames it
//! missed if the track's GOP still holds them, else from the GOP's key frame (or the next
//! one), and the skipped time is taken out of its timeline, so a player never sees a hole.

use super::frame::VideoFrame;
use super::track::VideoTrack;
use crate::fmp4::moof_with_decode_time;
use crate::h264::CodecParams;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// See the module docs.
#[derive(Debug)]
pub struct Fmp4Viewer {
    track: VideoTrack,
    rx: Receiver<Arc<VideoFrame>>,
    queued: VecDeque<Arc<VideoFrame>>,
    /// The codec-parameter epoch of the init segment sent; `None` before the first frame.
    epoch: Option<u64>,
    /// The parameters of that init segment.
    params: Option<Arc<CodecParams>>,
    /// When the stream's first frame (this viewer's time 0) was captured.
    started_at: Option<SystemTime>,
    /// Track time minus this viewer's time.
    offset_90k: u64,
    /// The last frame sent: its seq, this viewer's time and duration.
    last: Option<(u64, u64, u64)>,
    /// Skip to the next key frame (start, or frames were missed).
    want_key: bool,
    frames_sent: u64,
    frames_skipped: u64,
}

impl Fmp4Viewer {
    /// Joins `track`: the stream starts at its current GOP's key frame, or at the next key
    /// frame when none is kept (then the source is asked for one).
    pub fn new(track: &VideoTrack) -> Self {
        let (gop, rx) = track.join();
        if gop.is_empty() {
            track.request_key_frame();
        }
        Self {
            track: track.clone(),
            rx,
            queued: gop.into(),
            epoch: None,
            params: None,
            started_at: None,
            offset_90k: 0,
            last: None,
            want_key: true,
            frames_sent: 0,
            frames_skipped: 0,
        }
    }

    /// The next pieces to write: first the init segment alone, then a frame's `moof` and its
    /// `mdat`. `None` ends the stream: the codec parameters changed (a player needs a new
    /// init segment, so it must start again) or the track is gone.
    pub async fn next(&mut self) -> Option<Vec<Bytes>> {
        loop {
            let frame = match self.queued.pop_front() {
                Some(f) => f,
                None => match self.rx.recv().await {
                    Ok(f) => f,
                    Err(RecvError::Lagged(_)) => {
                        self.rejoin();
                        continue;
                    }
                    Err(RecvError::Closed) => return None,
                },
            };
            if self.last.is_some_and(|(seq, _, _)| frame.seq <= seq) {
                continue;
            }
            match self.epoch {
                Some(e) if e != frame.epoch => return None,
                Some(_) => {}
                None if frame.is_key() => {
                    self.epoch = Some(frame.epoch);
                    self.params = Some(frame.params.clone());
                    self.started_at = Some(frame.captured_at);
                    self.offset_90k = frame.track_time_90k;
                    self.want_key = false;
                    let init = frame.init.clone();
                    self.queued.push_front(frame);
                    return Some(vec![init]);
                }
                None => {}
            }
            if self.want_key {
                if !frame.is_key() {
                    self.frames_skipped += 1;
                    continue;
                }
                // Frames were skipped: this one follows the last one sent without a gap.
                if let Some((_, time, duration)) = self.last {
                    self.offset_90k = frame.track_time_90k.saturating_sub(time + duration);
                }
                self.want_key = false;
            }
            let time = frame.track_time_90k.saturating_sub(self.offset_90k);
            let Ok(moof) = moof_with_decode_time(&frame.fragment[..frame.moof_len], time) else {
                // Cannot happen for fragments the track made; skip rather than send junk.
                self.want_key = true;
                continue;
            };
            self.last = Some((frame.seq, time, frame.duration_90k));
            self.frames_sent += 1;
            return Some(vec![
                Bytes::from(moof),
                frame.fragment.slice(frame.moof_len..),
            ]);
        }
    }

    /// After lagging: the frames missed if the GOP still has them all, else the GOP from its
    /// key frame, else the next key frame.
    fn rejoin(&mut self) {
        let (gop, rx) = self.track.join();
        self.rx = rx;
        let last_seq = self.last.map(|(seq, _, _)| seq);
        match gop.iter().position(|f| Some(f.seq) == last_seq) {
            Some(i) => self.queued = gop.into_iter().skip(i + 1).collect(),
            None => {
                self.want_key = true;
                if gop.is_empty() {
                    self.track.request_key_frame();
                }
                self.queued = gop.into();
            }
        }
    }

    /// The codec parameters of the stream, once its init segment was returned.
    pub fn params(&self) -> Option<&Arc<CodecParams>> {
        self.params.as_ref()
    }

    /// When the frame at this viewer's time 0 was captured: a frame at time `t` was captured
    /// about `t` later (exactly, unless frames were skipped or the source's clock jumped).
    pub fn started_at(&self) -> Option<SystemTime> {
        self.started_at
    }

    pub fn frames_sent(&self) -> u64 {
        self.frames_sent
    }

    /// Frames this viewer did not get because it was too slow.
    pub fn frames_skipped(&self) -> u64 {
        self.frames_skipped
    }
}

#[cfg(test)]
mod tests {
    use super::super::VideoOrigin;
    use super::super::test_track::{au, params, track};
    use super::*;

    fn tfdt(moof: &[u8]) -> u64 {
        u64::from_be_bytes(moof[60..68].try_into().unwrap())
    }

    fn publish(t: &VideoTrack, seq: u64, key: bool, pts: u64) {
        let p = t.latest_params().unwrap_or_else(params);
        t.publish(
            seq,
            au(key, &p),
            SystemTime::now(),
            pts,
            VideoOrigin::Native,
        )
        .unwrap();
    }

    #[tokio::test]
    async fn a_late_joiner_gets_init_then_the_gop_from_time_zero() {
        let t = track();
        publish(&t, 1, true, 0);
        publish(&t, 2, false, 3000);
        publish(&t, 3, true, 6000);
        publish(&t, 4, false, 9000);
        let mut v = Fmp4Viewer::new(&t);
        let init = v.next().await.unwrap();
        assert_eq!(&init[0][4..8], b"ftyp");
        let first = v.next().await.unwrap();
        assert_eq!(tfdt(&first[0]), 0);
        assert_eq!(&first[1][4..8], b"mdat");
        assert_eq!(tfdt(&v.next().await.unwrap()[0]), 3000);
        publish(&t, 5, false, 12_000);
        assert_eq!(tfdt(&v.next().await.unwrap()[0]), 6000);
    }

    #[tokio::test]
    async fn a_viewer_that_lags_skips_to_a_key_frame_without_a_gap() {
        let t = track();
        publish(&t, 1, true, 0);
        let mut v = Fmp4Viewer::new(&t);
        v.next().await.unwrap();
        assert_eq!(tfdt(&v.next().await.unwrap()[0]), 0);
        // More frames than the broadcast holds, then a new GOP.
        let mut seq = 2;
        for _ in 0..300 {
            publish(&t, seq, false, seq * 3000);
            seq += 1;
        }
        publish(&t, seq, true, seq * 3000);
        publish(&t, seq + 1, false, (seq + 1) * 3000);
        let resumed = v.next().await.unwrap();
        // Continues right after the first frame (0 + its 3000 duration), on the key frame.
        assert_eq!(tfdt(&resumed[0]), 3000);
        assert_eq!(
            v.frames_skipped(),
            0,
            "skipped by rejoining, not one by one"
        );
        assert_eq!(tfdt(&v.next().await.unwrap()[0]), 6000);
    }

    #[tokio::test]
    async fn new_codec_parameters_end_the_stream() {
        use crate::h264::CodecParams;
        use crate::h264::samples::{X264_HIGH_1278X718, X264_HIGH_PPS};
        let t = track();
        publish(&t, 1, true, 0);
        let mut v = Fmp4Viewer::new(&t);
        v.next().await.unwrap();
        v.next().await.unwrap();
        let high = Arc::new(CodecParams::new(X264_HIGH_1278X718, &[X264_HIGH_PPS]).unwrap());
        t.publish(
            2,
            au(true, &high),
            SystemTime::now(),
            3000,
            VideoOrigin::Native,
        )
        .unwrap();
        assert!(v.next().await.is_none());
    }
}
