//! Fragmented MP4 (ISO/IEC 14496-12 with 14496-15 for H.264) for one video track: an
//! initialization segment, then media fragments of one or more access units. This is what
//! Media Source Extensions append, what `stream.mp4` sends, and what fMP4 HLS segments hold
//! (RFC 8216 3.3). Pure functions over bytes; the timescale is 90 kHz, RTP's video clock.

mod boxes;
pub mod fragment;
pub mod init;
pub mod muxer;

pub use fragment::{Sample, media_fragment, moof_with_decode_time};
pub use init::init_segment;
pub use muxer::{Fmp4Muxer, Fragment};

/// Ticks per second of the movie and the media: RTP's clock for video (RFC 6184 8.2.1), so
/// camera timestamps need no conversion.
pub const TIMESCALE: u32 = 90_000;

/// The one track's id.
pub const TRACK_ID: u32 = 1;

/// The largest fragment written: 64 MiB, several seconds of 4K at a camera's bitrates.
pub const MAX_FRAGMENT_BYTES: usize = 64 << 20;
