//! What a decoder reads: the camera's H.264 track from its kept GOP on, then every new
//! frame; a decoder too slow for the track's broadcast starts again from the current GOP.

use lookout_core::h264::{AccessUnit, NalType};
use lookout_core::{VideoFrame, VideoTrack};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast::{Receiver, error::RecvError};

pub(super) struct Feed {
    track: VideoTrack,
    queue: VecDeque<Arc<VideoFrame>>,
    rx: Receiver<Arc<VideoFrame>>,
}

impl Feed {
    pub(super) fn join(track: &VideoTrack) -> Self {
        let (gop, rx) = track.join();
        Self {
            track: track.clone(),
            queue: gop.into(),
            rx,
        }
    }

    /// The next frame to decode, and whether it is the newest one known (only that one is
    /// worth a JPEG: older ones are decoded for their references). `None`: the track is gone.
    pub(super) async fn next(&mut self) -> Option<(Arc<VideoFrame>, bool)> {
        loop {
            if let Some(f) = self.queue.pop_front() {
                let newest = self.queue.is_empty() && self.rx.is_empty();
                return Some((f, newest));
            }
            match self.rx.recv().await {
                Ok(f) => self.queue.push_back(f),
                // Frames were lost: start again from the GOP, whose key frame resets the
                // decoder.
                Err(RecvError::Lagged(_)) => *self = Self::join(&self.track),
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

/// Start code before each NAL unit.
const START_CODE: [u8; 4] = [0, 0, 0, 1];
/// An access unit delimiter (primary_pic_type 7: any slice type).
const AUD: [u8; 2] = [0x09, 0xF0];

/// Appends `au` to `out` as Annex B, with the SPS and PPS before a key frame that does not
/// carry them (RTSP sends them out of band) and the unit's own delimiters left out. With
/// `delimit`, an access unit delimiter follows: a parser that finds the end of a picture at
/// the start of the next (ffmpeg's) then ends it at once, not one frame later.
pub(super) fn annex_b(au: &AccessUnit, delimit: bool, out: &mut Vec<u8>) {
    let kind = |n: &[u8]| NalType(n.first().map_or(0, |b| b & 0x1F));
    let has_sps = au.nals.iter().any(|n| kind(n) == NalType::SPS);
    if au.is_key
        && !has_sps
        && let Some(p) = &au.params
    {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(&p.sps_nal);
        for pps in &p.pps_nals {
            out.extend_from_slice(&START_CODE);
            out.extend_from_slice(pps);
        }
    }
    for nal in au.nals.iter().filter(|n| kind(n) != NalType::AUD) {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(nal);
    }
    if delimit {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(&AUD);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use lookout_core::h264::CodecParams;
    use lookout_core::h264::samples::{X264_BASELINE_1278X718 as SPS, X264_BASELINE_PPS as PPS};

    #[test]
    fn key_frames_get_their_parameters_and_delimiters_are_ours() {
        let params = Some(Arc::new(CodecParams::new(SPS, &[PPS]).unwrap()));
        let au = AccessUnit {
            nals: vec![
                Bytes::from_static(&[0x09, 0x10]),
                Bytes::from_static(&[0x65, 0x88]),
            ],
            is_key: true,
            params,
        };
        let mut out = Vec::new();
        annex_b(&au, true, &mut out);
        let mut want = vec![0, 0, 0, 1];
        want.extend_from_slice(SPS);
        want.extend_from_slice(&[0, 0, 0, 1]);
        want.extend_from_slice(PPS);
        want.extend_from_slice(&[0, 0, 0, 1, 0x65, 0x88, 0, 0, 0, 1, 0x09, 0xF0]);
        assert_eq!(out, want);
        let p_frame = AccessUnit {
            nals: vec![Bytes::from_static(&[0x41, 0x9A])],
            is_key: false,
            params: au.params.clone(),
        };
        out.clear();
        annex_b(&p_frame, false, &mut out);
        assert_eq!(out, [0, 0, 0, 1, 0x41, 0x9A]);
    }
}
