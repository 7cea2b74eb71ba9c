//! One camera's live HLS session: its H.264 track cut into ~2 s segments in memory
//! (`lookout_core::video::Segmenter`, the recorder's cutter), the newest kept in a sliding
//! [`Window`] that playlist and segment requests read. The session runs while requests come
//! (see [`super::LiveHls`]): it holds the camera's demand, so an unwatched camera captures
//! nothing for HLS.

use bytes::{Bytes, BytesMut};
use lookout_core::video::{MediaPlaylist, PlaylistSegment, Segment, Segmenter, VideoFrame};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Segment length asked of the segmenter (longer when the camera's key frames are further
/// apart).
pub const SEGMENT_TARGET: Duration = Duration::from_secs(2);
/// Segments a playlist lists: 12 s at 2 s, the RFC 8216 6.2.2 minimum of three target
/// durations twice over, so a player polling late still finds its next segment listed.
pub const PLAYLIST_SEGMENTS: usize = 6;
/// Segments kept in memory: those listed plus as many that left the list, which RFC 8216
/// 6.2.2 asks to keep available for a playlist's duration after they leave it.
pub const KEPT_SEGMENTS: usize = 2 * PLAYLIST_SEGMENTS;

/// A segment ready to serve.
#[derive(Debug)]
pub struct LiveSegment {
    /// Its media sequence number.
    pub seq: u64,
    /// The first 16 hex digits of the SHA-256 of its init segment: the init's URL.
    pub init_hash: Arc<str>,
    pub start_wall: SystemTime,
    pub duration_90k: u64,
    /// Its timeline does not go on from the previous segment's (a new run: new codec
    /// parameters, lost frames).
    pub discontinuity: bool,
    /// `moof` + `mdat` pairs, as the file a player fetches.
    pub body: Bytes,
}

/// The newest segments of a session, what requests read.
#[derive(Debug, Default, Clone)]
pub struct Window {
    pub segments: VecDeque<Arc<LiveSegment>>,
    /// The init segments the kept segments need, by hash.
    pub inits: Vec<(Arc<str>, Bytes)>,
    /// Discontinuities of segments no longer kept.
    discontinuities_dropped: u64,
    /// The longest segment so far, whole seconds rounded: the target duration never shrinks
    /// while a player polls (RFC 8216 4.3.3.1).
    longest_s: u64,
}

impl Window {
    /// The listed segments as a playlist; `uri` makes a segment's URI, `map` an init's.
    pub fn playlist(
        &self,
        uri: impl Fn(&LiveSegment) -> String,
        map: impl Fn(&str) -> String,
    ) -> MediaPlaylist {
        let skip = self.segments.len().saturating_sub(PLAYLIST_SEGMENTS);
        let listed: Vec<&Arc<LiveSegment>> = self.segments.iter().skip(skip).collect();
        // The discontinuity sequence of the first listed segment counts its own tag, which a
        // playlist's first segment does not carry (see MediaPlaylist::render).
        let before = self
            .segments
            .iter()
            .take(skip + 1)
            .filter(|s| s.discontinuity)
            .count() as u64;
        MediaPlaylist {
            media_sequence: listed.first().map_or(0, |s| s.seq),
            discontinuity_sequence: self.discontinuities_dropped + before,
            min_target_s: self.longest_s.max(SEGMENT_TARGET.as_secs()),
            vod: false,
            segments: listed
                .iter()
                .map(|s| PlaylistSegment {
                    uri: uri(s),
                    map_uri: map(&s.init_hash),
                    duration_90k: s.duration_90k,
                    start_wall: s.start_wall,
                    discontinuity: s.discontinuity,
                })
                .collect(),
        }
    }

    pub fn segment(&self, seq: u64) -> Option<Arc<LiveSegment>> {
        self.segments.iter().find(|s| s.seq == seq).cloned()
    }

    pub fn init(&self, hash: &str) -> Option<Bytes> {
        self.inits
            .iter()
            .find(|(h, _)| &**h == hash)
            .map(|(_, b)| b.clone())
    }
}

/// The first 16 hex digits of the SHA-256 of an init segment (64 bits: no two inits of one
/// camera collide in practice), as recordings name their init files.
pub fn init_hash(init: &[u8]) -> String {
    let digest = Sha256::digest(init);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Frames in, segments into the window.
#[derive(Debug)]
pub struct Cutter {
    segmenter: Segmenter,
    next_seq: u64,
    last_run: Option<u64>,
    window: Window,
}

impl Cutter {
    /// The first segment gets `first_seq`.
    pub fn new(first_seq: u64) -> Self {
        Self {
            segmenter: Segmenter::new(SEGMENT_TARGET),
            next_seq: first_seq,
            last_run: None,
            window: Window::default(),
        }
    }

    /// Feeds a frame; true when the window changed.
    pub fn push(&mut self, frame: &Arc<VideoFrame>) -> bool {
        let done = self.segmenter.push(frame);
        let changed = !done.is_empty();
        for s in done {
            self.add(s);
        }
        changed
    }

    /// Frames were lost: the open segment ends; the next one starts a new run.
    pub fn lost_frames(&mut self) -> bool {
        match self.segmenter.break_run() {
            Some(s) => {
                self.add(s);
                true
            }
            None => false,
        }
    }

    pub fn window(&self) -> &Window {
        &self.window
    }

    fn add(&mut self, s: Segment) {
        let discontinuity = self.last_run.is_some_and(|r| r != s.run);
        self.last_run = Some(s.run);
        let hash = init_hash(&s.init);
        let w = &mut self.window;
        let init_hash: Arc<str> = match w.inits.iter().find(|(h, _)| **h == *hash) {
            Some((h, _)) => h.clone(),
            None => {
                let h: Arc<str> = hash.into();
                w.inits.push((h.clone(), s.init.clone()));
                h
            }
        };
        let mut body = BytesMut::with_capacity(usize::try_from(s.bytes).unwrap_or(0));
        for p in &s.parts {
            body.extend_from_slice(p);
        }
        w.longest_s = w.longest_s.max((s.duration_90k + 45_000) / 90_000);
        w.segments.push_back(Arc::new(LiveSegment {
            seq: self.next_seq,
            init_hash,
            start_wall: s.start_wall,
            duration_90k: s.duration_90k,
            discontinuity,
            body: body.freeze(),
        }));
        self.next_seq += 1;
        while w.segments.len() > KEPT_SEGMENTS {
            if let Some(old) = w.segments.pop_front() {
                w.discontinuities_dropped += u64::from(old.discontinuity);
            }
        }
        let segments = &w.segments;
        w.inits
            .retain(|(h, _)| segments.iter().any(|s| Arc::ptr_eq(&s.init_hash, h)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::VideoTrack;
    use lookout_core::video::test_track::{publish_30fps, t0};

    /// `n` frames of a 30 fps track with a key frame every second, from frame `from` on.
    fn frames(track: &VideoTrack, from: u64, n: u64) -> Vec<Arc<VideoFrame>> {
        publish_30fps(track, t0(), from..from + n, |i| i % 30 == 0)
    }

    #[test]
    fn the_window_slides_and_counts_discontinuities_that_left_it() {
        let track = VideoTrack::new(Arc::default());
        let mut cut = Cutter::new(100);
        for f in frames(&track, 0, 30 * 9) {
            cut.push(&f);
        }
        // 2 s segments from 1 s GOPs: 0-2, 2-4, 4-6, 6-8 done; 8-9 open.
        assert_eq!(cut.window().segments.len(), 4);
        assert!(cut.lost_frames(), "the open segment ends");
        for f in frames(&track, 30 * 9, 30 * 30) {
            cut.push(&f);
        }
        let w = cut.window();
        assert_eq!(w.segments.len(), KEPT_SEGMENTS);
        let p = w.playlist(|s| format!("{}.m4s", s.seq), |h| format!("init-{h}.mp4"));
        assert_eq!(p.segments.len(), PLAYLIST_SEGMENTS);
        let last = w.segments.back().unwrap().seq;
        assert_eq!(p.media_sequence, last + 1 - PLAYLIST_SEGMENTS as u64);
        // The one discontinuity (after the lost frames, segment 105) left the list.
        assert_eq!(p.discontinuity_sequence, 1);
        assert!(p.segments.iter().all(|s| !s.discontinuity));
        assert_eq!(p.min_target_s, 2);
        assert!(w.segment(last).is_some() && w.segment(99).is_none());
        assert_eq!(w.inits.len(), 1);
        let hash = &w.segments[0].init_hash;
        assert_eq!(hash.len(), 16);
        assert!(w.init(hash).is_some());
    }

    #[test]
    fn a_discontinuity_in_the_list_is_tagged_and_not_yet_counted() {
        let track = VideoTrack::new(Arc::default());
        let mut cut = Cutter::new(1);
        for f in frames(&track, 0, 30 * 5) {
            cut.push(&f);
        }
        cut.lost_frames();
        for f in frames(&track, 30 * 5, 30 * 5) {
            cut.push(&f);
        }
        let p = cut
            .window()
            .playlist(|s| s.seq.to_string(), |h| h.to_owned());
        let flags: Vec<bool> = p.segments.iter().map(|s| s.discontinuity).collect();
        // 0-2, 2-4, 4-5 (cut short), then the new run: 5-7, 7-9.
        assert_eq!(flags, [false, false, false, true, false]);
        assert_eq!(p.discontinuity_sequence, 0);
        assert_eq!(p.render().matches("#EXT-X-DISCONTINUITY\n").count(), 1);
    }
}
