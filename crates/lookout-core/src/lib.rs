//! The parts of Lookout that do no I/O: frames, pixel formats and their conversion to RGB,
//! JPEG encode/decode/scale, H.264 access units and fragmented MP4 boxes, and the per-camera
//! hub where sources and viewers meet.
//!
//! This crate must never depend on HTTP, database, mail or device crates, nor use the network,
//! files or processes: it asks tokio for `sync`, `time` and `rt` only, so the compiler holds
//! that line, and `crates/lookout/tests/architecture` checks it (docs/design/architecture.md).

pub mod budget;
pub mod error;
pub mod fmp4;
pub mod frame;
pub mod h264;
pub mod hub;
pub mod image;
pub mod jpeg;
pub mod log_limiter;
pub mod motion;
pub mod pixels;
pub mod rate;
pub mod redact;
pub mod scale;
pub mod stats;
pub mod text;
pub mod variant;
pub mod variant_encoder;
pub mod video;

pub use budget::VariantBudget;
pub use error::{Error, ErrorKind};
pub use frame::{Frame, FrameKind, FrameParts};
pub use hub::{
    CameraHub, DemandGuard, H264DemandGuard, SourceState, SourceStatus, VariantSlot, ViewerHandle,
};
pub use image::RgbImage;
pub use variant::{Variant, VariantRequest};
pub use variant_encoder::VariantEncoder;
pub use video::{Fmp4Viewer, RtpCursor, RtpFrame, VideoFrame, VideoOrigin, VideoTrack};
