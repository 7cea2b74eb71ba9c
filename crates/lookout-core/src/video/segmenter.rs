//! Cuts a camera's H.264 track into recording segments: each starts on a key frame and lasts
//! about the target (2 s by default; a camera whose key frames are further apart makes longer
//! ones), and holds the track's own per-frame fragments (`moof` + `mdat`, no re-muxing) with
//! their `tfdt` moved onto the run's timeline (0 at the run's first frame).
//!
//! A run is a stretch of segments that play one after the other without a new init segment:
//! it ends when the codec parameters change (a new epoch), when frames were lost
//! ([`Segmenter::break_run`], e.g. the broadcast lagged) or when the recording stops
//! ([`Segmenter::finish`]). Pure: no files, no clock but the frames' own times.

use super::frame::VideoFrame;
use crate::fmp4::moof_with_decode_time;
use crate::h264::CodecParams;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Past this many bytes without a key frame the run ends and the segment so far is kept
/// (16 MiB: 2 s of 4K at 64 Mbit/s, as the track's own GOP cap).
pub const MAX_SEGMENT_BYTES: u64 = 16 << 20;

/// One finished segment: what a writer puts in a file, and what its index row says.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Per segmenter, rising by one per run (a writer makes it unique with its own counter).
    pub run: u64,
    /// The init segment the fragments need (the same `Bytes` for every segment of a run).
    pub init: Bytes,
    pub params: Arc<CodecParams>,
    /// When the first frame was captured.
    pub start_wall: SystemTime,
    /// The first frame's time on the run's timeline (its `tfdt`), 90 kHz.
    pub start_90k: u64,
    /// From the first frame's time to the end of the last one, 90 kHz.
    pub duration_90k: u64,
    pub frames: u32,
    /// `moof`, `mdat`, `moof`, `mdat`, …: written one after the other they are the file.
    pub parts: Vec<Bytes>,
    pub bytes: u64,
}

impl Segment {
    /// The wall-clock end: start plus duration.
    pub fn end_wall(&self) -> SystemTime {
        self.start_wall + Duration::from_micros(self.duration_90k * 100 / 9)
    }
}

#[derive(Debug)]
struct Open {
    segment: Segment,
    /// The first frame's track time (the segment's `start_90k` on the run's timeline).
    first_track_90k: u64,
    /// The end of the last frame on the track: its time plus its duration.
    end_track_90k: u64,
}

#[derive(Debug)]
struct Run {
    id: u64,
    epoch: u64,
    /// Track time of the run's first frame: the run's timeline is track time minus this.
    origin_track_90k: u64,
    /// The last frame's seq, to drop a frame seen twice.
    last_seq: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct Segmenter {
    target_90k: u64,
    run: Option<Run>,
    open: Option<Open>,
    runs: u64,
    /// Frames dropped while waiting for a key frame (start, after a break).
    pub frames_skipped: u64,
}

impl Segmenter {
    /// Segments of about `target` each (at least one frame; at most up to the first key
    /// frame at or after `target`).
    pub fn new(target: Duration) -> Self {
        Self {
            target_90k: (target.as_micros() as u64 * 9 / 100).max(1),
            run: None,
            open: None,
            runs: 0,
            frames_skipped: 0,
        }
    }

    /// Feeds the next frame of the track. Returns the segments it finished: the open one
    /// when `frame` is a key frame past the target, or when the run ended (a new epoch, a
    /// segment over [`MAX_SEGMENT_BYTES`]).
    pub fn push(&mut self, frame: &Arc<VideoFrame>) -> Vec<Segment> {
        let mut done = Vec::new();
        if let Some(run) = &self.run {
            if frame.seq <= run.last_seq {
                return done;
            }
            if frame.epoch != run.epoch {
                done.extend(self.break_run());
            }
        }
        if let Some(open) = &self.open {
            let over_bytes = open.segment.bytes + frame.fragment.len() as u64 > MAX_SEGMENT_BYTES;
            // A key frame within a tenth of the target ends it: source clocks jitter (a
            // camera's 1 s GOPs arrive as 0.99 s), and missing by a frame must not double
            // the segment.
            let long_enough = frame.track_time_90k.saturating_sub(open.first_track_90k)
                >= self.target_90k - self.target_90k / 10;
            if frame.is_key() && long_enough {
                done.extend(self.open.take().map(|o| o.segment));
            } else if over_bytes {
                done.extend(self.break_run());
            }
        }
        if self.run.is_none() {
            if !frame.is_key() {
                self.frames_skipped += 1;
                return done;
            }
            self.runs += 1;
            self.run = Some(Run {
                id: self.runs,
                epoch: frame.epoch,
                origin_track_90k: frame.track_time_90k,
                last_seq: 0,
            });
        }
        let Some(run) = self.run.as_mut() else {
            return done;
        };
        let time_90k = frame.track_time_90k.saturating_sub(run.origin_track_90k);
        let Ok(moof) = moof_with_decode_time(&frame.fragment[..frame.moof_len], time_90k) else {
            // Cannot happen for fragments the track made: end the run rather than write junk.
            done.extend(self.break_run());
            self.frames_skipped += 1;
            return done;
        };
        run.last_seq = frame.seq;
        let run_id = run.id;
        let open = self.open.get_or_insert_with(|| Open {
            segment: Segment {
                run: run_id,
                init: frame.init.clone(),
                params: frame.params.clone(),
                start_wall: frame.captured_at,
                start_90k: time_90k,
                duration_90k: 0,
                frames: 0,
                parts: Vec::new(),
                bytes: 0,
            },
            first_track_90k: frame.track_time_90k,
            end_track_90k: frame.track_time_90k,
        });
        let mdat = frame.fragment.slice(frame.moof_len..);
        let seg = &mut open.segment;
        seg.bytes += (moof.len() + mdat.len()) as u64;
        seg.parts.push(Bytes::from(moof));
        seg.parts.push(mdat);
        seg.frames += 1;
        open.end_track_90k = frame.track_time_90k + frame.duration_90k;
        seg.duration_90k = open.end_track_90k - open.first_track_90k;
        done
    }

    /// Frames were lost: the open segment is finished and the next run starts at the next
    /// key frame.
    pub fn break_run(&mut self) -> Option<Segment> {
        self.run = None;
        self.open.take().map(|o| o.segment)
    }

    /// The recording stops (or the server does): the open segment, if any.
    pub fn finish(&mut self) -> Option<Segment> {
        self.break_run()
    }

    /// True while a run is going on (frames are being taken).
    pub fn in_run(&self) -> bool {
        self.run.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmp4::{decode_time, top_level_boxes};
    use crate::video::test_track::{publish_30fps, t0, track};

    /// A track fed `keys` (true = key frame) at 30 fps.
    fn frames(keys: &[bool]) -> Vec<Arc<VideoFrame>> {
        publish_30fps(&track(), t0(), 0..keys.len() as u64, |i| keys[i as usize])
    }

    /// A key frame every `gop` frames, `n` frames.
    fn gops(n: usize, gop: usize) -> Vec<bool> {
        (0..n).map(|i| i % gop == 0).collect()
    }

    fn run(seg: &mut Segmenter, frames: &[Arc<VideoFrame>]) -> Vec<Segment> {
        let mut out: Vec<Segment> = frames.iter().flat_map(|f| seg.push(f)).collect();
        out.extend(seg.finish());
        out
    }

    #[test]
    fn segments_start_on_key_frames_and_last_about_the_target() {
        // 1 s GOPs, 2 s target: 10 s of video make five 2 s segments.
        let f = frames(&gops(300, 30));
        let segs = run(&mut Segmenter::new(Duration::from_secs(2)), &f);
        assert_eq!(segs.len(), 5);
        for (i, s) in segs.iter().enumerate() {
            assert_eq!(s.frames, 60);
            assert_eq!(s.duration_90k, 60 * 3000, "segment {i}");
            assert_eq!(s.start_90k, i as u64 * 60 * 3000);
            assert_eq!(s.parts.len(), 120);
            assert_eq!(s.run, 1);
            let moof = &s.parts[0];
            assert_eq!(decode_time(moof).unwrap(), s.start_90k);
            // Each part pair is a whole moof and mdat: the file is a valid fragment sequence.
            let file: Vec<u8> = s.parts.iter().flat_map(|p| p.iter().copied()).collect();
            let boxes = top_level_boxes(&file).unwrap();
            assert_eq!(boxes.len(), 120);
            assert_eq!(s.bytes, file.len() as u64);
        }
        assert_eq!(
            segs[1].start_wall,
            segs[0].start_wall + Duration::from_micros(60 * 33_333)
        );
    }

    #[test]
    fn a_long_gop_makes_a_long_segment_and_frames_before_the_first_key_are_skipped() {
        let mut keys = vec![false; 5];
        keys.extend(gops(300, 150));
        let f = frames(&keys);
        let mut seg = Segmenter::new(Duration::from_secs(2));
        let segs = run(&mut seg, &f);
        // The track itself drops the leading non-key frames, so the segmenter sees none.
        assert_eq!(segs.len(), 2);
        assert!(segs.iter().all(|s| s.frames == 150));
    }

    #[test]
    fn a_break_starts_a_new_run_at_the_next_key_frame_with_its_own_timeline() {
        let f = frames(&gops(180, 30));
        let mut seg = Segmenter::new(Duration::from_secs(2));
        let mut segs: Vec<Segment> = f[..45].iter().flat_map(|x| seg.push(x)).collect();
        segs.extend(seg.break_run());
        segs.extend(f[45..].iter().flat_map(|x| seg.push(x)));
        segs.extend(seg.finish());
        // Run 1: 45 frames; run 2 waits for frame 60 (15 skipped), then 120 frames.
        assert_eq!(
            segs.iter().map(|s| (s.run, s.frames)).collect::<Vec<_>>(),
            [(1, 45), (2, 60), (2, 60)]
        );
        assert_eq!(seg.frames_skipped, 15);
        assert_eq!(segs[1].start_90k, 0, "a run's timeline starts at 0");
        assert_eq!(segs[2].start_90k, 60 * 3000);
    }

    #[test]
    fn a_frame_seen_twice_is_taken_once() {
        let f = frames(&gops(60, 30));
        let mut seg = Segmenter::new(Duration::from_secs(10));
        for x in &f {
            seg.push(x);
            seg.push(x);
        }
        assert_eq!(seg.finish().unwrap().frames, 60);
    }
}
