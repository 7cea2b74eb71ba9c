//! One encoded picture as the hub carries it: the access unit and the fMP4 fragment made once
//! for all viewers.

use crate::h264::{AccessUnit, CodecParams};
use bytes::Bytes;
use serde::Serialize;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

/// Where a camera's H.264 comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoOrigin {
    /// The camera or program sent H.264: passed through without decoding.
    Native,
    /// Encoded by Lookout from JPEG or pixels.
    Encoded,
}

/// An H.264 access unit in the hub, with its fragment (`moof` + `mdat`) ready to send.
#[derive(Debug)]
pub struct VideoFrame {
    /// Per camera, from the same counter as JPEG frames' `seq`.
    pub seq: u64,
    pub captured_at: SystemTime,
    pub published: Instant,
    /// The source's own clock (RTP time, buffer time, arrival), 90 kHz.
    pub pts_90k: u64,
    /// The track's time of this frame, 90 kHz: gapless and always rising, whatever the
    /// source's clock did (restarts, jumps).
    pub track_time_90k: u64,
    /// How long this picture shows, as written in its fragment (the interval before it: the
    /// next one is not known yet when it is sent).
    pub duration_90k: u64,
    pub au: AccessUnit,
    pub params: Arc<CodecParams>,
    /// Counts codec-parameter changes: frames of one epoch share `init`; a viewer seeing a new
    /// epoch must start a new stream (a new init segment).
    pub epoch: u64,
    /// The init segment for `params`, shared by the frames of one epoch.
    pub init: Bytes,
    /// `moof` + `mdat` of this one access unit, with the track's time in `tfdt`.
    pub fragment: Bytes,
    /// Where the `mdat` starts in `fragment`.
    pub moof_len: usize,
    pub origin: VideoOrigin,
    /// [`annex_b`](VideoFrame::annex_b), made by the first WebRTC peer that sends the frame.
    pub(crate) annex_b: OnceLock<Arc<[u8]>>,
}

impl VideoFrame {
    pub fn is_key(&self) -> bool {
        self.au.is_key
    }

    /// The picture as Annex B for RTP packetizers ([`AccessUnit::to_annex_b`]): made once per
    /// frame and shared by every WebRTC peer (only packetization and SRTP are per peer).
    pub fn annex_b(&self) -> Arc<[u8]> {
        self.annex_b
            .get_or_init(|| self.au.to_annex_b(&self.params).into())
            .clone()
    }
}
