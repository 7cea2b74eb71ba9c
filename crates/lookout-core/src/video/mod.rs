//! H.264 in the hub: encoded pictures ([`VideoFrame`]) beside the JPEG frames, a camera's
//! [`VideoTrack`] (the current group of pictures, so a late joiner starts on a key frame) and
//! the per-viewer [`Fmp4Viewer`] that turns the track into one fragmented MP4 stream, and the
//! [`RtpCursor`] that picks a WebRTC peer's frames.
//!
//! JPEG viewers want only the newest frame (a `watch`); H.264 viewers need every frame from a
//! key frame on, so the track keeps the GOP and broadcasts each frame.

mod frame;
pub mod hls_playlist;
mod rtp_cursor;
pub mod segmenter;
#[cfg(any(test, feature = "test-util"))]
pub mod test_track;
mod track;
mod viewer;

pub use frame::{VideoFrame, VideoOrigin};
pub use hls_playlist::{MediaPlaylist, PlaylistSegment};
pub use rtp_cursor::{FRESH_GOP, MAX_BEHIND_WALL, RtpCursor, RtpFrame};
pub use segmenter::{MAX_SEGMENT_BYTES, Segment, Segmenter};
pub use track::{MAX_GOP_BYTES, MAX_GOP_FRAMES, VideoTrack};
pub use viewer::Fmp4Viewer;
