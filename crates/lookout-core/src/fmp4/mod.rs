//! Fragmented MP4 (ISO/IEC 14496-12 with 14496-15 for H.264) for one video track: an
//! initialization segment, then media fragments of one or more access units. This is what
//! Media Source Extensions append, what `stream.mp4` sends, and what fMP4 HLS segments hold
//! (RFC 8216 3.3). Pure functions over bytes; the timescale is 90 kHz, RTP's video clock.

mod boxes;
pub mod fragment;
pub mod init;
pub mod muxer;
mod track;

pub use fragment::{
    MAX_FRAGMENT_BYTES, Sample, decode_time, media_fragment, moof_with_decode_time, top_level_boxes,
};
pub use init::init_segment;
pub use muxer::{Fmp4Muxer, Fragment};
pub use track::{TIMESCALE, TRACK_ID};
