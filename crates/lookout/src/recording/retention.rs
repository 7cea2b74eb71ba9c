//! Which recordings go, oldest first: continuous segments past their camera's `keep_days`
//! (those inside an event's clip stay while the event does), event segments whose event is
//! gone, then whatever is over a camera's `max_gib` and over `[recording] max_gib`; and below
//! the free-space floor, the oldest of all until the floor plus 10 % is free. Rows are
//! deleted (one transaction) before their files, so a crash in between leaves only files
//! without rows, which start-up recovery deletes.
//!
//! Runs on the writer thread: no file is deleted while it is written.

use super::disk;
use super::{CameraRecording, RecordingSettings};
use crate::events::EventKind;
use lookout_store::Store;
use lookout_store::recordings::{self, Deletable};
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// Rows deleted in one transaction at most.
const BATCH: u32 = 500;

/// What a pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub segments: usize,
    pub bytes: u64,
    pub inits: usize,
}

/// One retention pass over every rule but the floor. Errors are logged: retention tries
/// again at the next pass.
pub fn sweep(
    store: &Store,
    data_dir: &Path,
    settings: &RecordingSettings,
    cameras: &HashMap<String, CameraRecording>,
) -> Deleted {
    let mut total = Deleted::default();
    let now_ms = super::unix_ms(SystemTime::now());
    let pass = |total: &mut Deleted,
                what: &str,
                pick: &dyn Fn(
        &lookout_store::Db<'_>,
    ) -> Result<Vec<Deletable>, lookout_store::StoreError>| {
        loop {
            let found = store.blocking(|db| pick(db));
            let rows = match found {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!("recording retention ({what}): {e}");
                    return;
                }
            };
            if rows.is_empty() {
                return;
            }
            let n = rows.len();
            match delete(store, data_dir, &rows) {
                Ok(d) => {
                    total.segments += d.segments;
                    total.bytes += d.bytes;
                    total.inits += d.inits;
                }
                Err(e) => {
                    tracing::warn!("recording retention ({what}): {e}");
                    return;
                }
            }
            if n < BATCH as usize {
                return;
            }
        }
    };
    for (camera, c) in cameras {
        let keep_ms = i64::try_from(c.keep.as_millis()).unwrap_or(i64::MAX);
        let before = now_ms.saturating_sub(keep_ms);
        pass(&mut total, "keep_days", &|db| {
            recordings::expired(db, camera, before, BATCH)
        });
    }
    pass(&mut total, "clips of deleted events", &|db| {
        recordings::orphaned_event_segments(db, BATCH)
    });
    for (camera, c) in cameras {
        if let Some(max) = c.max_bytes {
            over_cap(store, data_dir, Some(camera), max, &mut total);
        }
    }
    if let Some(max) = settings.max_bytes {
        over_cap(store, data_dir, None, max, &mut total);
    }
    if total.segments > 0 {
        tracing::info!(
            "recording retention deleted {} segments ({} bytes)",
            total.segments,
            total.bytes
        );
    }
    total
}

/// Deletes the oldest segments of `camera` (all when `None`) while their total is over `max`.
fn over_cap(store: &Store, data_dir: &Path, camera: Option<&str>, max: u64, total: &mut Deleted) {
    loop {
        let used: u64 = match store.blocking(|db| recordings::bytes_per_camera(db)) {
            Ok(per) => per
                .iter()
                .filter(|(c, _)| camera.is_none_or(|want| want == c))
                .map(|(_, b)| *b as u64)
                .sum(),
            Err(e) => {
                tracing::warn!("recording retention (max_gib): {e}");
                return;
            }
        };
        if used <= max {
            return;
        }
        let mut over = used - max;
        let rows = match store.blocking(|db| recordings::oldest(db, camera, BATCH)) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!("recording retention (max_gib): {e}");
                return;
            }
        };
        // Just enough of the oldest to come under the cap.
        let mut pick = Vec::new();
        for r in rows {
            pick.push(r.clone());
            let b = r.bytes as u64;
            if b >= over {
                break;
            }
            over -= b;
        }
        if pick.is_empty() {
            return;
        }
        match delete(store, data_dir, &pick) {
            Ok(d) => {
                total.segments += d.segments;
                total.bytes += d.bytes;
                total.inits += d.inits;
            }
            Err(e) => {
                tracing::warn!("recording retention (max_gib): {e}");
                return;
            }
        }
    }
}

/// Deletes the oldest segments of all (a batch): for the free-space floor.
pub fn free_space(store: &Store, data_dir: &Path) -> Deleted {
    match store
        .blocking(|db| recordings::oldest(db, None, 16))
        .and_then(|rows| delete(store, data_dir, &rows))
    {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!("recording retention (free-space floor): {e}");
            Deleted::default()
        }
    }
}

/// Rows first (one transaction), then the files.
fn delete(
    store: &Store,
    data_dir: &Path,
    rows: &[Deletable],
) -> Result<Deleted, lookout_core::Error> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let inits = store.blocking(|db| recordings::delete_segments(db, &ids))?;
    for path in rows.iter().map(|r| &r.path).chain(inits.iter()) {
        match std::fs::remove_file(data_dir.join(path)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("cannot delete recording {path}: {e}"),
        }
    }
    Ok(Deleted {
        segments: rows.len(),
        bytes: rows.iter().map(|r| r.bytes as u64).sum(),
        inits: inits.len(),
    })
}

/// The free-space floor: whether recording is stopped, and when it changes.
#[derive(Debug)]
pub struct Floor {
    min_bytes: u64,
    min_percent: f64,
    stopped: bool,
    /// The last `statvfs` and when: asked at most once a second while there is room.
    cached: Option<(Instant, disk::Space)>,
}

/// How often the free space is asked while well above the floor.
const SPACE_EVERY: Duration = Duration::from_secs(1);

impl Floor {
    pub fn new(settings: &RecordingSettings) -> Self {
        Self {
            min_bytes: settings.min_free_bytes,
            min_percent: settings.min_free_percent,
            stopped: false,
            cached: None,
        }
    }

    pub fn stopped(&self) -> bool {
        self.stopped
    }

    fn space(&mut self, dir: &Path, fresh: bool) -> Option<disk::Space> {
        if !fresh
            && let Some((at, s)) = self.cached
            && at.elapsed() < SPACE_EVERY
        {
            return Some(s);
        }
        match disk::space(dir) {
            Ok(s) => {
                self.cached = Some((Instant::now(), s));
                Some(s)
            }
            Err(e) => {
                tracing::warn!("cannot read the free space of {}: {e}", dir.display());
                None
            }
        }
    }

    /// Before writing `bytes` into `dir`: when that would go below the floor, `free` (delete
    /// the oldest; false when nothing is left to delete) until the floor plus 10 % is free.
    /// Returns the event to record when recording stops or resumes.
    pub fn check(
        &mut self,
        dir: &Path,
        bytes: u64,
        mut free: impl FnMut() -> bool,
    ) -> Option<(EventKind, serde_json::Value)> {
        let space = self.space(dir, self.stopped)?;
        let floor = space.floor(self.min_bytes, self.min_percent);
        if space.available >= floor.saturating_add(bytes) {
            if self.stopped {
                self.stopped = false;
                return Some((EventKind::RecordingResumed, details(space, floor)));
            }
            return None;
        }
        // Hysteresis: free a little more than needed, so that the next segment does not
        // start the same deletion again.
        let target = floor.saturating_add(bytes).saturating_add(floor / 10);
        let mut space = space;
        while space.available < target {
            if !free() {
                break;
            }
            match self.space(dir, true) {
                Some(s) => space = s,
                None => break,
            }
        }
        let short = space.available < floor.saturating_add(bytes);
        match (short, self.stopped) {
            (true, false) => {
                self.stopped = true;
                Some((EventKind::RecordingStopped, details(space, floor)))
            }
            (false, true) => {
                self.stopped = false;
                Some((EventKind::RecordingResumed, details(space, floor)))
            }
            _ => None,
        }
    }
}

fn details(space: disk::Space, floor: u64) -> serde_json::Value {
    serde_json::json!({
        "free_bytes": space.available,
        "floor_bytes": floor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(min_free_bytes: u64) -> RecordingSettings {
        RecordingSettings {
            min_free_bytes,
            min_free_percent: 0.0,
            ..RecordingSettings::default()
        }
    }

    /// A floor above the disk's free space stops recording once (after trying to free
    /// space), and a floor below it resumes it once.
    #[test]
    fn the_floor_stops_and_resumes_recording_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let free = disk::space(dir.path()).unwrap().available;
        let mut floor = Floor::new(&settings(free.saturating_mul(4).max(1 << 40)));
        let mut asked = 0;
        let change = floor.check(dir.path(), 1000, || {
            asked += 1;
            // Nothing left to delete.
            false
        });
        assert_eq!(asked, 1);
        let (kind, details) = change.unwrap();
        assert_eq!(kind, EventKind::RecordingStopped);
        assert!(details["floor_bytes"].as_u64().unwrap() > free);
        assert!(floor.stopped());
        assert!(
            floor.check(dir.path(), 1000, || false).is_none(),
            "said once"
        );
        floor.min_bytes = 0;
        let (kind, _) = floor.check(dir.path(), 1000, || false).unwrap();
        assert_eq!(kind, EventKind::RecordingResumed);
        assert!(!floor.stopped());
        assert!(floor.check(dir.path(), 1000, || unreachable!()).is_none());
    }
}
