//! The `v4l2` source: webcams and other V4L2 capture devices.
//!
//! The device-independent part is always compiled: which pixel format, size and frame rate to
//! ask a camera for ([`formats`]) and matching and validating camera controls the way users
//! type them ([`controls`]). It takes what a device reports as plain values, so it is
//! unit-tested without a camera. Raw YUV/RGB/grey buffers become RGB in
//! [`lookout_core::pixels`], which the ROS sources share.
//!
//! With feature `v4l2` (Linux): our own ioctl definitions (`sys`), the device (`device`), the
//! capture thread behind the [`CaptureDevice`] trait (`capture`), the [`V4l2Source`] that
//! opens, configures, applies controls and reopens after an unplug (`source`), and device
//! listing and control access by path (`list`). The capture logic is tested against a scripted
//! fake device, the device code against a real kernel (vivid, v4l2loopback) in a qemu VM.

mod config;
pub mod controls;
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
mod h264;
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

pub use config::{DEFAULT_BUFFERS, V4l2Config};
pub use controls::{Assignment, ControlInfo, ControlKind};
pub use formats::{Choice, FormatOffer, PixelFormat, choose};

#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub use capture::{ActualFormat, CaptureDevice, CapturePlan, DriverTimestamp, RawFrame};
#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub use list::{DeviceInfo, list_devices, read_controls, set_controls};
#[cfg(all(feature = "v4l2", target_os = "linux"))]
pub use source::V4l2Source;
