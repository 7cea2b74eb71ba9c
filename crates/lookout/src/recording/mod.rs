//! Recording: each recording camera's H.264 track cut into ~2 s segments
//! (`lookout_core::video::Segmenter`), written crash-safely by one thread per data directory
//! ([`writer`]) under `DATA_DIR/recordings/{camera}/{YYYY-MM-DD}/{HH}/`, indexed in the
//! database (`lookout_store::recordings`). A camera records all the time (`continuous`) or
//! only around motion events (`events`: a pre-roll kept in memory, the event, a post-roll),
//! see [`camera`]. Retention (age, size per camera and in all, a free-space floor below which
//! recording stops with an event while live view goes on) runs on the writer thread, so a
//! file is never deleted while it is written. [`recover`] cleans up after a crash at start.

pub mod camera;
pub mod disk;
pub mod recover;
pub mod retention;
pub mod stats;
pub mod writer;

use std::time::Duration;

/// Where recordings live, under the data directory.
pub const DIR: &str = "recordings";

/// What a camera records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordMode {
    Off,
    /// A clip of each motion event: pre-roll, the event, post-roll.
    Events,
    /// Everything; events mark their clips on it.
    Continuous,
}

impl RecordMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordMode::Off => "off",
            RecordMode::Events => "events",
            RecordMode::Continuous => "continuous",
        }
    }
}

/// `[camera.recording]` as `config/` resolves it.
#[derive(Debug, Clone)]
pub struct CameraRecording {
    pub mode: RecordMode,
    pub pre_roll: Duration,
    pub post_roll: Duration,
    /// Continuous segments older than this are deleted (event clips live as their events).
    pub keep: Duration,
    /// Most bytes of this camera's segments; `None`: no cap.
    pub max_bytes: Option<u64>,
}

impl Default for CameraRecording {
    fn default() -> Self {
        Self {
            mode: RecordMode::Off,
            pre_roll: Duration::from_secs(5),
            post_roll: Duration::from_secs(5),
            keep: Duration::from_secs(7 * 86_400),
            max_bytes: None,
        }
    }
}

/// `[recording]`: the whole data directory.
#[derive(Debug, Clone)]
pub struct RecordingSettings {
    /// Most bytes of all segments; `None`: no cap.
    pub max_bytes: Option<u64>,
    pub min_free_bytes: u64,
    pub min_free_percent: f64,
    /// Target segment length.
    pub segment: Duration,
}

impl Default for RecordingSettings {
    fn default() -> Self {
        Self {
            max_bytes: None,
            min_free_bytes: 1 << 30,
            min_free_percent: 5.0,
            segment: Duration::from_secs(2),
        }
    }
}

/// Milliseconds since the Unix epoch (0 before it: a clock set to 1970 is not worth an error).
pub fn unix_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
