//! Device-independent groundwork of the `v4l2` source: which pixel format, size and frame
//! rate to ask a camera for ([`formats`]), turning raw YUV/RGB/grey buffers into RGB
//! ([`convert`]) and matching and validating camera controls the way users type them
//! ([`controls`]).
//!
//! Nothing here opens a device: the functions take what a device reports (format offers,
//! control descriptions, filled buffers) as plain values, so they are unit-tested without a
//! camera.

pub mod controls;
pub mod convert;
pub mod formats;

pub use controls::{Assignment, ControlInfo, ControlKind};
pub use formats::{Choice, FormatOffer, PixelFormat, choose};
