//! What the recorder did, for `/metrics`: segments and bytes written per camera, and every
//! segment that was not written, by why. A dropped segment is a hole in a recording, so an
//! operator needs to see it without reading the logs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Why a finished segment never reached the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The writer's queue was full: the disk is slower than the cameras.
    QueueFull,
    /// Writing or indexing it failed (an I/O or database error, logged).
    WriteError,
    /// Recording is stopped below the free-space floor.
    BelowFloor,
}

impl DropReason {
    pub const ALL: [DropReason; 3] = [Self::QueueFull, Self::WriteError, Self::BelowFloor];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::QueueFull => "queue_full",
            Self::WriteError => "write_error",
            Self::BelowFloor => "below_floor",
        }
    }
}

/// One camera's counters.
#[derive(Debug, Default)]
pub struct CameraCounters {
    pub segments_written: AtomicU64,
    pub bytes_written: AtomicU64,
    dropped: [AtomicU64; 3],
}

impl CameraCounters {
    pub fn dropped(&self, why: DropReason) -> u64 {
        self.dropped[why as usize].load(Ordering::Relaxed)
    }
}

/// Shared by the recorders, the writer thread and `/metrics`.
#[derive(Debug, Default)]
pub struct RecordingStats {
    /// The recording cameras, fixed at start (so the hot path needs no lock).
    cameras: HashMap<String, CameraCounters>,
    below_floor: AtomicBool,
}

impl RecordingStats {
    pub fn new<'a>(cameras: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            cameras: cameras
                .into_iter()
                .map(|c| (c.to_owned(), CameraCounters::default()))
                .collect(),
            below_floor: AtomicBool::new(false),
        }
    }

    pub fn written(&self, camera: &str, bytes: u64) {
        if let Some(c) = self.cameras.get(camera) {
            c.segments_written.fetch_add(1, Ordering::Relaxed);
            c.bytes_written.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    pub fn dropped(&self, camera: &str, why: DropReason) {
        if let Some(c) = self.cameras.get(camera) {
            c.dropped[why as usize].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn set_below_floor(&self, stopped: bool) {
        self.below_floor.store(stopped, Ordering::Relaxed);
    }

    /// Recording is stopped for lack of free space.
    pub fn below_floor(&self) -> bool {
        self.below_floor.load(Ordering::Relaxed)
    }

    /// The cameras in id order (stable `/metrics` output).
    pub fn cameras(&self) -> Vec<(&str, &CameraCounters)> {
        let mut v: Vec<_> = self.cameras.iter().map(|(k, c)| (k.as_str(), c)).collect();
        v.sort_unstable_by_key(|(k, _)| *k);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_camera_and_reason_and_ignores_unknown_cameras() {
        let s = RecordingStats::new(["b", "a"]);
        s.written("a", 100);
        s.written("a", 50);
        s.dropped("a", DropReason::BelowFloor);
        s.dropped("b", DropReason::QueueFull);
        s.dropped("b", DropReason::QueueFull);
        s.written("nobody", 1);
        let cams = s.cameras();
        assert_eq!(cams.iter().map(|c| c.0).collect::<Vec<_>>(), ["a", "b"]);
        let (a, b) = (cams[0].1, cams[1].1);
        assert_eq!(a.segments_written.load(Ordering::Relaxed), 2);
        assert_eq!(a.bytes_written.load(Ordering::Relaxed), 150);
        assert_eq!(a.dropped(DropReason::BelowFloor), 1);
        assert_eq!(a.dropped(DropReason::QueueFull), 0);
        assert_eq!(b.dropped(DropReason::QueueFull), 2);
        assert!(!s.below_floor());
        s.set_below_floor(true);
        assert!(s.below_floor());
    }
}
