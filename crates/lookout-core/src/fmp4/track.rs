//! The one video track every Lookout MP4 holds: its id and its clock.

/// Ticks per second of the movie and the media: RTP's clock for video (RFC 6184 8.2.1), so
/// camera timestamps need no conversion.
pub const TIMESCALE: u32 = 90_000;

/// The one track's id.
pub const TRACK_ID: u32 = 1;
