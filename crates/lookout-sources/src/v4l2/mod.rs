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

// The device layer (feature `v4l2`, Linux only): our own ioctl definitions ([`sys`]), the
// open device ([`device`]), capture on its own thread ([`capture`]), the `v4l2` source
// ([`source`]) and device listing and control access by path ([`list`]).
#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub mod capture;
#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub mod device;
#[cfg(all(test, feature = "v4l2", target_os = "linux"))]
mod fake;
#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub mod list;
#[cfg(all(feature = "v4l2", target_os = "linux"))]
mod queue;
#[cfg(all(feature = "v4l2", target_os = "linux"))]
mod ranges;
#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub mod source;
#[cfg(all(feature = "v4l2", target_os = "linux"))]
mod sys;

pub use controls::{Assignment, ControlInfo, ControlKind};
pub use formats::{Choice, FormatOffer, PixelFormat, choose};

#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub use capture::{ActualFormat, CaptureDevice, CapturePlan, DriverTimestamp, RawFrame};
#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub use list::{DeviceInfo, list_devices, read_controls, set_controls};
#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub use source::{DEFAULT_BUFFERS, V4l2Config, V4l2Source};
