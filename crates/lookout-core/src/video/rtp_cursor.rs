//! One WebRTC peer's view of a track: which frames it sends, and their RTP times.
//!
//! Unlike [`Fmp4Viewer`](super::Fmp4Viewer) it never replays an old GOP: a receiver plays RTP
//! in real time, so a burst of old pictures would keep the viewer a GOP behind, the opposite
//! of a low-latency view. A peer starts at the current GOP only while its key frame is fresh
//! (at most [`FRESH_GOP`] old), else it asks the source for a key frame and waits for the next
//! one; after lagging it does the same. Parameter changes (a new epoch) go on in band: the
//! key frame carries its SPS/PPS ([`VideoFrame::annex_b`]).
//!
//! RTP time follows the track's time (the source's clock, smoothed and gapless) but never
//! falls more than [`MAX_BEHIND_WALL`] behind the wall clock: after a source restart, whose
//! track time goes on by one frame, it jumps to the time that really passed, so the
//! receiver's jitter buffer does not take the late frames for network delay.

use super::frame::VideoFrame;
use super::track::VideoTrack;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// A GOP whose key frame is at most this old is sent to a new peer (a few frames: the
/// receiver catches up within its jitter buffer); an older one is not.
pub const FRESH_GOP: Duration = Duration::from_millis(200);
/// RTP time behind the wall clock by more than this is moved up to it.
pub const MAX_BEHIND_WALL: Duration = Duration::from_secs(1);

/// A frame to send, with its RTP time (90 kHz, from 0 at the peer's first frame; the RTP
/// stack keeps the low 32 bits and adds its random offset).
#[derive(Debug, Clone)]
pub struct RtpFrame {
    pub frame: Arc<VideoFrame>,
    pub rtp_time_90k: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct RtpCursor {
    track: VideoTrack,
    rx: Receiver<Arc<VideoFrame>>,
    queued: VecDeque<Arc<VideoFrame>>,
    want_key: bool,
    /// When the first frame sent was published (RTP time 0).
    start: Option<Instant>,
    /// Track time minus RTP time (negative once RTP time jumped ahead after a restart).
    offset_90k: i64,
    /// The last frame sent: its seq and RTP time.
    last: Option<(u64, u64)>,
    fresh_gop: Duration,
    max_behind_90k: u64,
    frames_sent: u64,
    frames_skipped: u64,
}

impl RtpCursor {
    /// Joins `track`: see the module docs for where the peer starts.
    pub fn new(track: &VideoTrack) -> Self {
        Self::with_limits(track, FRESH_GOP, MAX_BEHIND_WALL)
    }

    fn with_limits(track: &VideoTrack, fresh_gop: Duration, max_behind: Duration) -> Self {
        let mut cursor = Self {
            track: track.clone(),
            rx: track.join().1,
            queued: VecDeque::new(),
            want_key: true,
            start: None,
            offset_90k: 0,
            last: None,
            fresh_gop,
            max_behind_90k: to_90k(max_behind),
            frames_sent: 0,
            frames_skipped: 0,
        };
        cursor.join();
        cursor
    }

    /// (Re)joins the track: its GOP if fresh, else the next key frame, asked for.
    fn join(&mut self) {
        let (gop, rx) = self.track.join();
        self.rx = rx;
        self.want_key = true;
        let fresh = gop
            .first()
            .is_some_and(|key| key.published.elapsed() <= self.fresh_gop);
        if fresh {
            self.queued = gop.into();
        } else {
            self.queued.clear();
            self.track.request_key_frame();
        }
    }

    /// The next frame to send; `None` when the track is gone.
    pub async fn next(&mut self) -> Option<RtpFrame> {
        loop {
            let frame = match self.queued.pop_front() {
                Some(f) => f,
                None => match self.rx.recv().await {
                    Ok(f) => f,
                    Err(RecvError::Lagged(_)) => {
                        // Too slow for the broadcast: go on from a key frame.
                        self.join();
                        continue;
                    }
                    Err(RecvError::Closed) => return None,
                },
            };
            if self.last.is_some_and(|(seq, _)| frame.seq <= seq) {
                continue;
            }
            if self.want_key {
                if !frame.is_key() {
                    self.frames_skipped += 1;
                    continue;
                }
                self.want_key = false;
            }
            let rtp_time_90k = self.rtp_time(&frame);
            self.last = Some((frame.seq, rtp_time_90k));
            self.frames_sent += 1;
            return Some(RtpFrame {
                frame,
                rtp_time_90k,
            });
        }
    }

    fn rtp_time(&mut self, frame: &VideoFrame) -> u64 {
        let Some(start) = self.start else {
            self.start = Some(frame.published);
            self.offset_90k = as_i64(frame.track_time_90k);
            return 0;
        };
        let mut rtp = u64::try_from(as_i64(frame.track_time_90k) - self.offset_90k).unwrap_or(0);
        let wall = to_90k(frame.published.saturating_duration_since(start));
        let after_last = self.last.map_or(0, |(_, t)| t + 1);
        if rtp < after_last || wall > rtp + self.max_behind_90k {
            rtp = wall.max(after_last);
            self.offset_90k = as_i64(frame.track_time_90k) - as_i64(rtp);
        }
        rtp
    }

    /// The peer lost pictures (a PLI or FIR from the receiver): ask the source for a key
    /// frame. Encoders honour it (at most one a second); cameras sending H.264 cannot.
    pub fn request_key_frame(&self) {
        self.track.request_key_frame();
    }

    /// Frames sent and frames skipped while waiting for a key frame.
    pub fn counts(&self) -> (u64, u64) {
        (self.frames_sent, self.frames_skipped)
    }
}

/// 90 kHz times fit i64 for 3 million years.
fn as_i64(t_90k: u64) -> i64 {
    i64::try_from(t_90k).unwrap_or(i64::MAX)
}

fn to_90k(d: Duration) -> u64 {
    // u64 microseconds last 584 000 years.
    (d.as_micros() as u64).saturating_mul(9) / 100
}

#[cfg(test)]
mod tests {
    use super::super::frame::VideoOrigin;
    use super::super::test_track::{au, params, track};
    use super::*;
    use std::time::SystemTime;

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

    async fn next(c: &mut RtpCursor) -> (u64, bool, u64) {
        let f = tokio::time::timeout(Duration::from_secs(5), c.next())
            .await
            .expect("a frame")
            .expect("the track lives");
        (f.frame.seq, f.frame.is_key(), f.rtp_time_90k)
    }

    fn key_requests(t: &VideoTrack) -> u64 {
        *t.key_requests().borrow()
    }

    #[tokio::test]
    async fn a_fresh_gop_is_sent_from_its_key_frame() {
        let t = track();
        publish(&t, 1, true, 0);
        publish(&t, 2, false, 3000);
        let mut c = RtpCursor::with_limits(&t, Duration::from_secs(60), MAX_BEHIND_WALL);
        assert_eq!(key_requests(&t), 0, "no key frame needed");
        assert_eq!(next(&mut c).await, (1, true, 0));
        assert_eq!(next(&mut c).await, (2, false, 3000));
        publish(&t, 3, false, 6000);
        assert_eq!(next(&mut c).await, (3, false, 6000));
    }

    #[tokio::test]
    async fn a_stale_gop_is_skipped_and_a_key_frame_requested() {
        let t = track();
        publish(&t, 1, true, 0);
        publish(&t, 2, false, 3000);
        let mut c = RtpCursor::with_limits(&t, Duration::ZERO, MAX_BEHIND_WALL);
        assert_eq!(key_requests(&t), 1);
        publish(&t, 3, false, 6000);
        publish(&t, 4, true, 9000);
        publish(&t, 5, false, 12000);
        // The first frame sent is the new key frame, at RTP time 0.
        assert_eq!(next(&mut c).await, (4, true, 0));
        assert_eq!(next(&mut c).await, (5, false, 3000));
        assert_eq!(c.counts(), (2, 1));
    }

    #[tokio::test]
    async fn an_empty_track_asks_for_a_key_frame() {
        let t = track();
        let mut c = RtpCursor::new(&t);
        assert_eq!(key_requests(&t), 1);
        publish(&t, 1, false, 0); // dropped by the track: it waits for a key frame
        publish(&t, 2, true, 3000);
        assert_eq!(next(&mut c).await, (2, true, 0));
    }

    /// After a restart the track's time goes on by one frame; RTP time catches up with the
    /// time that really passed, and never goes backwards.
    #[tokio::test]
    async fn rtp_time_catches_up_with_the_wall_clock_after_a_restart() {
        let t = track();
        // Behind by more than 100 ms is a jump: the 200 ms pause below is one, and a busy
        // machine's pause between two publishes (up to 133 ms) is not.
        let mut c = RtpCursor::with_limits(&t, FRESH_GOP, Duration::from_millis(100));
        publish(&t, 1, true, 0);
        publish(&t, 2, false, 3000);
        assert_eq!(next(&mut c).await, (1, true, 0));
        assert_eq!(next(&mut c).await, (2, false, 3000));
        t.mark_broken();
        std::thread::sleep(Duration::from_millis(200));
        publish(&t, 3, true, 500_000);
        let (seq, key, rtp) = next(&mut c).await;
        assert_eq!((seq, key), (3, true));
        // 200 ms passed (18 000 ticks); the track's time says one frame (3000).
        assert!(rtp >= 18_000, "RTP time {rtp} did not catch up");
        publish(&t, 4, false, 503_000);
        assert_eq!(next(&mut c).await.2, rtp + 3000);
    }

    #[tokio::test]
    async fn a_lagging_peer_goes_on_from_the_next_key_frame() {
        let t = track();
        publish(&t, 1, true, 0);
        let mut c = RtpCursor::with_limits(&t, Duration::from_secs(60), Duration::from_secs(60));
        assert_eq!(next(&mut c).await, (1, true, 0));
        // More than the broadcast holds.
        for seq in 2..400 {
            publish(&t, seq, false, seq * 3000);
        }
        publish(&t, 400, true, 400 * 3000);
        publish(&t, 401, false, 401 * 3000);
        // The GOP of 400 is fresh: the peer goes on from there, without the frames it missed.
        assert_eq!(next(&mut c).await.0, 400);
        assert_eq!(next(&mut c).await.0, 401);
        assert_eq!(c.counts().0, 3);
    }
}
