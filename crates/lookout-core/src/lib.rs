//! The parts of Lookout that do no I/O: frames, pixels, JPEG encode/decode/scale, H.264
//! access units and fragmented MP4 boxes, and the per-camera hub where sources and viewers meet.
//!
//! This crate must never depend on HTTP, database, mail or device crates: the workspace split
//! lets the compiler hold that line (see `docs/design` and the architecture page).

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
pub mod rate;
pub mod redact;
pub mod scale;
pub mod text;
pub mod variant;

pub use budget::VariantBudget;
pub use error::{Error, ErrorKind};
pub use frame::{Frame, FrameKind, FrameParts};
pub use hub::{CameraHub, DemandGuard, SourceState, SourceStatus, VariantSlot, ViewerHandle};
pub use image::RgbImage;
pub use variant::{Variant, VariantRequest};
