//! HLS media playlists (RFC 8216) for fragmented-MP4 segments: the text a player polls (live,
//! a sliding window) or reads once (`#EXT-X-PLAYLIST-TYPE:VOD` with `#EXT-X-ENDLIST`). Pure:
//! the caller says which segments, with which URIs; this writes the tags in the order the RFC
//! asks (version 7 for `#EXT-X-MAP` outside I-frame playlists, section 4.3.2.5 and 7).

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

/// One segment of a playlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaylistSegment {
    pub uri: String,
    /// Its init segment's URI (`#EXT-X-MAP`): written before the first segment and again
    /// whenever it differs from the previous segment's.
    pub map_uri: String,
    pub duration_90k: u64,
    /// When its first frame was captured (`#EXT-X-PROGRAM-DATE-TIME`, on every segment so a
    /// player can show and seek by wall time).
    pub start_wall: SystemTime,
    /// Its timeline does not continue the previous segment's (a new run of the camera's
    /// video, a gap, new codec parameters): `#EXT-X-DISCONTINUITY` (RFC 8216 4.3.2.3).
    pub discontinuity: bool,
}

/// A media playlist. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct MediaPlaylist {
    /// The sequence number of the first segment listed (`#EXT-X-MEDIA-SEQUENCE`).
    pub media_sequence: u64,
    /// Discontinuities that slid out of a live window before the first segment listed
    /// (`#EXT-X-DISCONTINUITY-SEQUENCE`, 4.3.3.3).
    pub discontinuity_sequence: u64,
    /// The target duration at least this long (a live playlist's must not shrink while it
    /// is polled, 4.3.3.1); the longest segment listed raises it.
    pub min_target_s: u64,
    /// A finished list: `#EXT-X-PLAYLIST-TYPE:VOD` and `#EXT-X-ENDLIST`.
    pub vod: bool,
    pub segments: Vec<PlaylistSegment>,
}

impl MediaPlaylist {
    /// `#EXT-X-TARGETDURATION`: every segment's duration rounded to the nearest second is at
    /// most this (4.3.3.1), and at least 1.
    pub fn target_duration_s(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| (s.duration_90k + 45_000) / 90_000)
            .max()
            .unwrap_or(0)
            .max(self.min_target_s)
            .max(1)
    }

    /// The playlist's text (UTF-8, `\n` line ends, as 4.1 allows).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(128 + self.segments.len() * 160);
        // Writing to a String cannot fail: the results of writeln! are ignored below.
        let _ = writeln!(out, "#EXTM3U\n#EXT-X-VERSION:7");
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{}", self.target_duration_s());
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", self.media_sequence);
        if self.discontinuity_sequence > 0 {
            let _ = writeln!(
                out,
                "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
                self.discontinuity_sequence
            );
        }
        if self.vod {
            let _ = writeln!(out, "#EXT-X-PLAYLIST-TYPE:VOD");
        }
        // Every segment starts with a key frame (the segmenter cuts there).
        let _ = writeln!(out, "#EXT-X-INDEPENDENT-SEGMENTS");
        let mut map: Option<&str> = None;
        for (i, s) in self.segments.iter().enumerate() {
            // The first segment of a playlist has nothing before it to be discontinuous with.
            if s.discontinuity && i > 0 {
                let _ = writeln!(out, "#EXT-X-DISCONTINUITY");
            }
            if map != Some(s.map_uri.as_str()) {
                let _ = writeln!(out, "#EXT-X-MAP:URI=\"{}\"", s.map_uri);
                map = Some(&s.map_uri);
            }
            let _ = writeln!(
                out,
                "#EXT-X-PROGRAM-DATE-TIME:{}",
                humantime::format_rfc3339_millis(s.start_wall)
            );
            let _ = writeln!(
                out,
                "#EXTINF:{}.{:03},",
                s.duration_90k / 90_000,
                (s.duration_90k % 90_000) / 90
            );
            let _ = writeln!(out, "{}", s.uri);
        }
        if self.vod {
            let _ = writeln!(out, "#EXT-X-ENDLIST");
        }
        out
    }
}

/// A 90 kHz duration as a [`Duration`].
pub fn duration_of_90k(ticks: u64) -> Duration {
    Duration::from_micros(ticks * 100 / 9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(n: u64, map: &str, duration_90k: u64, discontinuity: bool) -> PlaylistSegment {
        PlaylistSegment {
            uri: format!("{n}.m4s"),
            map_uri: map.into(),
            duration_90k,
            start_wall: SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_606_795_951 + n),
            discontinuity,
        }
    }

    #[test]
    fn a_live_window_with_a_new_init_and_a_discontinuity() {
        let p = MediaPlaylist {
            media_sequence: 40,
            discontinuity_sequence: 2,
            min_target_s: 2,
            vod: false,
            segments: vec![
                seg(40, "init-a.mp4", 180_000, true),
                seg(41, "init-a.mp4", 179_999, false),
                seg(42, "init-b.mp4", 90_000, true),
            ],
        };
        assert_eq!(
            p.render(),
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:40\n\
             #EXT-X-DISCONTINUITY-SEQUENCE:2\n#EXT-X-INDEPENDENT-SEGMENTS\n\
             #EXT-X-MAP:URI=\"init-a.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2026-12-07T01:26:35.991Z\n#EXTINF:2.000,\n40.m4s\n\
             #EXT-X-PROGRAM-DATE-TIME:2026-12-07T01:26:35.992Z\n#EXTINF:1.999,\n41.m4s\n\
             #EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-b.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2026-12-07T01:26:35.993Z\n#EXTINF:1.000,\n42.m4s\n"
        );
    }

    #[test]
    fn a_vod_list_ends_and_its_target_covers_the_longest_segment() {
        let p = MediaPlaylist {
            vod: true,
            segments: vec![
                seg(1, "i.mp4", 90_000, false),
                seg(2, "i.mp4", 5 * 90_000 + 40_000, false),
            ],
            ..MediaPlaylist::default()
        };
        let text = p.render();
        // 5.44 s rounds to 5 (4.3.3.1: the nearest integer).
        assert!(text.contains("#EXT-X-TARGETDURATION:5\n"), "{text}");
        assert!(text.contains("#EXT-X-PLAYLIST-TYPE:VOD\n"), "{text}");
        assert!(text.ends_with("2.m4s\n#EXT-X-ENDLIST\n"), "{text}");
        assert_eq!(text.matches("#EXT-X-MAP").count(), 1);
        assert!(!text.contains("DISCONTINUITY"));
        assert_eq!(MediaPlaylist::default().target_duration_s(), 1);
    }
}
