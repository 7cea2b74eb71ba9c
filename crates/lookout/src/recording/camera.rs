//! One camera's recorder: its H.264 track → the segmenter → the writer thread, all the time
//! (`continuous`) or around motion events (`events`): a ring of whole GOPs covering the
//! pre-roll is kept in memory (the hub's own frames, no copy); an event's start sends the
//! ring and every frame after it to the segmenter until the event's end plus the post-roll
//! (a new event meanwhile extends it). Each event's clip range is set on its row: the start
//! at once (state "recording"), the end when the post-roll is over ("ready").

use super::writer::{Job, WriterHandle};
use super::{CameraRecording, RecordMode, unix_ms};
use crate::events::ClipEdge;
use lookout_core::CameraHub;
use lookout_core::video::{Segment, Segmenter, VideoFrame};
use lookout_store::Store;
use lookout_store::recordings::{self, Reason};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

/// The pre-roll ring's cap per camera (a 4K camera with 10 s GOPs gets a shorter pre-roll).
const MAX_PREROLL_BYTES: usize = 32 << 20;

/// Whole GOPs covering at least the pre-roll, oldest key frame first.
#[derive(Debug, Default)]
pub struct PreRoll {
    frames: VecDeque<Arc<VideoFrame>>,
    bytes: usize,
}

impl PreRoll {
    /// Adds `f`, then drops the oldest GOP while the rest still covers `keep`.
    pub fn push(&mut self, f: Arc<VideoFrame>, keep: Duration) {
        if self.frames.is_empty() && !f.is_key() {
            return;
        }
        self.bytes += f.fragment.len();
        let newest = f.captured_at;
        self.frames.push_back(f);
        // The second GOP's key frame: if it alone is old enough, the first GOP is spare.
        while let Some(next_key) = self.frames.iter().skip(1).position(|f| f.is_key()) {
            let second = &self.frames[next_key + 1];
            let covered = newest
                .duration_since(second.captured_at)
                .is_ok_and(|d| d >= keep);
            if !covered && self.bytes <= MAX_PREROLL_BYTES {
                break;
            }
            for _ in 0..=next_key {
                if let Some(old) = self.frames.pop_front() {
                    self.bytes -= old.fragment.len();
                }
            }
        }
    }

    pub fn clear(&mut self) {
        self.frames.clear();
        self.bytes = 0;
    }

    fn take(&mut self) -> VecDeque<Arc<VideoFrame>> {
        self.bytes = 0;
        std::mem::take(&mut self.frames)
    }
}

/// Clips being recorded: their events and when the recording may stop.
#[derive(Debug)]
struct Clip {
    start_ms: i64,
    /// Events of this clip, and whether each has ended.
    events: Vec<(i64, bool)>,
    /// Set when every event has ended: their last end plus the post-roll.
    stop_at: Option<SystemTime>,
}

/// What a step of the recorder asks for.
#[derive(Debug, Default)]
pub struct Out {
    pub segments: Vec<Segment>,
    /// Clip ranges to store: (event, start ms, end ms if complete).
    pub clips: Vec<(i64, i64, Option<i64>)>,
}

/// The recorder's state, without I/O (the task does the writing and the database).
#[derive(Debug)]
pub struct Recorder {
    cfg: CameraRecording,
    segmenter: Segmenter,
    preroll: PreRoll,
    clip: Option<Clip>,
    /// The end of the last frame taken (its capture time plus its duration).
    last_end: Option<SystemTime>,
}

impl Recorder {
    pub fn new(cfg: CameraRecording, segment: Duration) -> Self {
        Self {
            cfg,
            segmenter: Segmenter::new(segment),
            preroll: PreRoll::default(),
            clip: None,
            last_end: None,
        }
    }

    fn recording(&self) -> bool {
        self.cfg.mode == RecordMode::Continuous || self.clip.is_some()
    }

    /// The next frame of the track.
    pub fn frame(&mut self, f: Arc<VideoFrame>) -> Out {
        let mut out = Out::default();
        if self
            .clip
            .as_ref()
            .and_then(|c| c.stop_at)
            .is_some_and(|t| f.captured_at > t)
        {
            self.complete(&mut out);
        }
        if self.recording() {
            self.last_end = Some(f.captured_at + Duration::from_micros(f.duration_90k * 100 / 9));
            out.segments.extend(self.segmenter.push(&f));
        } else {
            self.preroll.push(f, self.cfg.pre_roll);
        }
        out
    }

    /// Frames were lost (the broadcast lagged): the open segment ends, a new run starts.
    pub fn lost_frames(&mut self) -> Out {
        self.preroll.clear();
        Out {
            segments: self.segmenter.break_run().into_iter().collect(),
            clips: Vec::new(),
        }
    }

    /// A second passed: a clip whose post-roll is over ends even if frames stopped.
    pub fn tick(&mut self, now: SystemTime) -> Out {
        let mut out = Out::default();
        if self
            .clip
            .as_ref()
            .and_then(|c| c.stop_at)
            .is_some_and(|t| now > t + Duration::from_secs(2))
        {
            self.complete(&mut out);
        }
        out
    }

    /// A motion event of this camera started.
    pub fn start(&mut self, event: i64, now: SystemTime) -> Out {
        let mut out = Out::default();
        if let Some(clip) = &mut self.clip {
            clip.events.push((event, false));
            clip.stop_at = None;
            out.clips.push((event, clip.start_ms, None));
            return out;
        }
        let start_ms = match self.cfg.mode {
            RecordMode::Continuous => unix_ms(now.checked_sub(self.cfg.pre_roll).unwrap_or(now)),
            _ => {
                let pre = self.preroll.take();
                let start = pre.front().map_or(now, |f| f.captured_at);
                for f in pre {
                    self.last_end =
                        Some(f.captured_at + Duration::from_micros(f.duration_90k * 100 / 9));
                    out.segments.extend(self.segmenter.push(&f));
                }
                unix_ms(start)
            }
        };
        self.clip = Some(Clip {
            start_ms,
            events: vec![(event, false)],
            stop_at: None,
        });
        out.clips.push((event, start_ms, None));
        out
    }

    /// Motion event `event` ended at `at`.
    pub fn end(&mut self, event: i64, at: SystemTime) {
        let post_roll = self.cfg.post_roll;
        if let Some(clip) = &mut self.clip {
            for e in &mut clip.events {
                if e.0 == event {
                    e.1 = true;
                }
            }
            if clip.events.iter().all(|e| e.1) {
                clip.stop_at = Some(at + post_roll);
            }
        }
    }

    /// The recorder stops (shutdown): the open segment, and the clips end where the video does.
    pub fn finish(&mut self) -> Out {
        let mut out = Out::default();
        self.complete(&mut out);
        out.segments.extend(self.segmenter.finish());
        out
    }

    fn complete(&mut self, out: &mut Out) {
        let Some(clip) = self.clip.take() else {
            return;
        };
        if self.cfg.mode == RecordMode::Events {
            out.segments.extend(self.segmenter.finish());
        }
        let end_ms = self
            .last_end
            .map_or(clip.start_ms, unix_ms)
            .max(clip.start_ms);
        for (id, _) in clip.events {
            out.clips.push((id, clip.start_ms, Some(end_ms)));
        }
    }
}

/// Runs `camera`'s recorder until `shutdown`.
/// Where a recorder's output goes: segments to the writer, clip ranges to the database.
#[derive(Debug, Clone)]
pub struct Sinks {
    pub writer: Arc<WriterHandle>,
    pub store: Store,
}

pub async fn record(
    hub: Arc<CameraHub>,
    camera: String,
    cfg: CameraRecording,
    segment: Duration,
    sinks: Sinks,
    mut edges: broadcast::Receiver<ClipEdge>,
    shutdown: CancellationToken,
) {
    let Sinks { writer, store } = sinks;
    // The source runs and (for JPEG cameras with an encoder) H.264 is made while recording.
    let _demand = hub.demand();
    let _h264 = hub.demand_h264();
    let reason = match cfg.mode {
        RecordMode::Continuous => Reason::Continuous,
        _ => Reason::Event,
    };
    let mut rec = Recorder::new(cfg, segment);
    let (gop, mut rx) = hub.video().join();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let send = |out: Out| {
        for s in out.segments {
            writer.send(Job {
                camera: camera.clone(),
                reason,
                segment: s,
            });
        }
        for (id, start, end) in out.clips {
            let store = store.clone();
            let camera = camera.clone();
            tokio::spawn(async move {
                let set = store
                    .run(move |db| recordings::set_clip(db, id, start, end))
                    .await;
                if let Err(e) = set {
                    tracing::warn!(camera, "cannot note the clip of event {id}: {e}");
                }
            });
        }
    };
    for f in gop {
        send(rec.frame(f));
    }
    tracing::info!(camera, "recording ({})", rec.cfg.mode.as_str());
    loop {
        tokio::select! {
            f = rx.recv() => match f {
                Ok(f) => send(rec.frame(f)),
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(camera, "the recorder fell {n} frames behind; the recording has a gap");
                    send(rec.lost_frames());
                }
                Err(RecvError::Closed) => break,
            },
            e = edges.recv() => match e {
                Ok(ClipEdge::Start { camera: c, event }) if c == camera => {
                    send(rec.start(event, SystemTime::now()));
                }
                Ok(ClipEdge::End { camera: c, event, at }) if c == camera => rec.end(event, at),
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => {
                    // No more events; keep recording what the mode says.
                    edges = broadcast::Sender::new(1).subscribe();
                }
            },
            _ = tick.tick() => send(rec.tick(SystemTime::now())),
            () = shutdown.cancelled() => break,
        }
    }
    send(rec.finish());
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::video::test_track::{publish_30fps, track};

    /// `n` frames of a 30 fps track with a key frame every second, from wall time `t0`.
    fn frames(t0: SystemTime, n: u64) -> Vec<Arc<VideoFrame>> {
        publish_30fps(&track(), t0, 0..n, |i| i % 30 == 0)
    }

    fn cfg(mode: RecordMode) -> CameraRecording {
        CameraRecording {
            mode,
            pre_roll: Duration::from_secs(2),
            post_roll: Duration::from_secs(1),
            ..CameraRecording::default()
        }
    }

    #[test]
    fn an_event_clip_has_its_pre_roll_and_post_roll() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let f = frames(t0, 600);
        let mut rec = Recorder::new(cfg(RecordMode::Events), Duration::from_secs(2));
        let mut segs = Vec::new();
        let mut clips = Vec::new();
        // Motion from frame 300 (10 s) to frame 390 (13 s).
        for (i, x) in f.iter().enumerate() {
            if i == 300 {
                let out = rec.start(7, x.captured_at);
                segs.extend(out.segments);
                clips.extend(out.clips);
            }
            if i == 390 {
                rec.end(7, x.captured_at);
            }
            let out = rec.frame(x.clone());
            segs.extend(out.segments);
            clips.extend(out.clips);
        }
        let ms = |s: f64| unix_ms(t0) + (s * 1000.0) as i64;
        // The pre-roll covers at least 2 s before the last frame before the start (9.97 s):
        // from the key frame of second 7 (frame 210).
        let pre = unix_ms(f[210].captured_at);
        assert_eq!(clips[0], (7, pre, None));
        let (id, start, end) = clips[1];
        assert_eq!((id, start), (7, pre));
        // Ends with the last frame before 13 s + 1 s post-roll.
        let end = end.unwrap();
        assert!((ms(13.9)..=ms(14.1)).contains(&end), "{end}");
        assert!(segs.iter().all(|s| s.frames > 0));
        let frames: u32 = segs.iter().map(|s| s.frames).sum();
        assert_eq!(frames, 421 - 210, "from frame 210 to 420");
        assert_eq!(unix_ms(segs[0].start_wall), pre);
    }

    #[test]
    fn continuous_records_everything_and_still_marks_clips() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let f = frames(t0, 300);
        let mut rec = Recorder::new(cfg(RecordMode::Continuous), Duration::from_secs(2));
        let mut frames = 0;
        let mut clips = Vec::new();
        for (i, x) in f.iter().enumerate() {
            if i == 150 {
                clips.extend(rec.start(1, x.captured_at).clips);
            }
            if i == 160 {
                rec.end(1, x.captured_at);
            }
            let out = rec.frame(x.clone());
            frames += out.segments.iter().map(|s| s.frames).sum::<u32>();
            clips.extend(out.clips);
        }
        frames += rec.finish().segments.iter().map(|s| s.frames).sum::<u32>();
        assert_eq!(frames, 300);
        assert_eq!(clips.len(), 2);
        assert!(clips[1].2.is_some());
    }
}
