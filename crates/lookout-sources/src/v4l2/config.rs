//! What a `v4l2` source is asked to open: the one V4L2 settings type, which the config
//! resolves into and [`V4l2Source`](super::V4l2Source) runs. Always compiled (a build without
//! the device layer still checks a config that names a webcam).

use super::controls::Assignment;
use super::formats::PixelFormat;
use std::path::PathBuf;

/// Driver buffers when the config names none: one being filled, one being read, two spare
/// for a late reader.
pub const DEFAULT_BUFFERS: u32 = 4;

#[derive(Clone, Debug, PartialEq)]
pub struct V4l2Config {
    /// `/dev/videoN` or, better, a `/dev/v4l/by-id/…` name that survives replugging.
    pub device: PathBuf,
    /// Wanted size; `None`: the largest offered.
    pub size: Option<(u32, u32)>,
    /// Wanted rate; `None`: the highest offered at the chosen size.
    pub fps: Option<f64>,
    /// Capture only this format; `None`: the camera's MJPEG if any, else the best raw one.
    pub format: Option<PixelFormat>,
    /// Driver buffers to map.
    pub buffers: u32,
    /// Applied at every open, in order.
    pub controls: Vec<Assignment>,
}
