//! The writer thread of a data directory: takes finished segments from the cameras'
//! recorders and puts each in its own file, crash-safely, then indexes it; runs retention
//! between writes; stops writing below the free-space floor.
//!
//! Per segment: `….m4s.tmp` written and `fsync`ed, renamed to `….m4s`, the directory
//! `fsync`ed, then the row inserted. A `kill -9` or a power cut at any moment leaves every
//! indexed segment whole; a `.tmp` or an unindexed file is deleted by [`super::recover`].
//! Init segments (`{camera}/init-{sha256[..16]}.mp4`) are written the same way, once per
//! camera and distinct codec parameters.
//!
//! Disk writes never run on the async runtime: recorders hand segments over a bounded
//! channel; when it is full (a disk too slow) the segment is dropped and counted, so memory
//! stays bounded.

use super::retention::{self, Floor};
use super::stats::{DropReason, RecordingStats};
use super::{CameraRecording, DIR, RecordingSettings, unix_ms};
use crate::events::{EventKind, EventLog, NewEvent};
use lookout_core::log_limiter::LogLimiter;
use lookout_core::video::Segment;
use lookout_store::recordings::{self, NewInit, NewSegment, Reason};
use lookout_store::{Store, files};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

/// Segments queued for the writer at most: 16 × 2 s, half a minute of a slow disk.
const QUEUE_SEGMENTS: usize = 16;
/// Retention runs at most this often (and at once when the floor is near).
const RETENTION_EVERY: Duration = Duration::from_secs(10);

/// One finished segment of a camera.
#[derive(Debug)]
pub struct Job {
    pub camera: String,
    pub reason: Reason,
    pub segment: Segment,
}

/// The recorders' end of the writer.
#[derive(Debug)]
pub struct WriterHandle {
    tx: SyncSender<Job>,
    stats: Arc<RecordingStats>,
    said: LogLimiter,
}

impl WriterHandle {
    /// Queues `job`; false when the queue is full (the segment is lost, counted, logged at
    /// most once a minute) or the writer is gone.
    pub fn send(&self, job: Job) -> bool {
        let camera = job.camera.clone();
        match self.tx.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.stats.dropped(&camera, DropReason::QueueFull);
                if let Some(also) = self.said.allow() {
                    tracing::warn!(
                        camera,
                        "the disk is too slow for the recordings: a segment was dropped \
                         ({also} more since the last line; /metrics lookout_recording_segments_dropped_total)"
                    );
                }
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// What was written and dropped, for `/metrics`.
    pub fn stats(&self) -> &Arc<RecordingStats> {
        &self.stats
    }
}

/// What the writer thread needs.
pub struct WriterConfig {
    pub data_dir: PathBuf,
    pub store: Store,
    pub settings: RecordingSettings,
    pub cameras: HashMap<String, CameraRecording>,
    /// For `recording_stopped` / `recording_resumed`.
    pub events: EventLog,
    pub runtime: tokio::runtime::Handle,
}

/// Starts the writer thread. It ends when every [`WriterHandle`] clone is dropped, after
/// writing what was queued.
pub fn spawn(
    cfg: WriterConfig,
) -> std::io::Result<(Arc<WriterHandle>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = sync_channel(QUEUE_SEGMENTS);
    let stats = Arc::new(RecordingStats::new(cfg.cameras.keys().map(String::as_str)));
    let writer = Writer::new(cfg, stats.clone());
    let thread = std::thread::Builder::new()
        .name("recording-writer".into())
        .spawn(move || writer.run(rx))?;
    Ok((
        Arc::new(WriterHandle {
            tx,
            stats,
            said: LogLimiter::new(Duration::from_secs(60)),
        }),
        thread,
    ))
}

/// Per camera: the next sequence number and run, and which segmenter run maps to which.
struct CameraState {
    next_seq: i64,
    next_run: i64,
    /// The segmenter's run id of the last segment and the run number it got.
    run: Option<(u64, i64)>,
}

struct Writer {
    cfg: WriterConfig,
    cameras: HashMap<String, CameraState>,
    /// (camera, sha256 hex) → init id.
    inits: HashMap<(String, String), i64>,
    floor: Floor,
    last_retention: Option<Instant>,
    said_error: LogLimiter,
    stats: Arc<RecordingStats>,
}

impl Writer {
    fn new(cfg: WriterConfig, stats: Arc<RecordingStats>) -> Self {
        let floor = Floor::new(&cfg.settings);
        Self {
            stats,
            cfg,
            cameras: HashMap::new(),
            inits: HashMap::new(),
            floor,
            last_retention: None,
            said_error: LogLimiter::with_burst(3, Duration::from_secs(60)),
        }
    }

    fn run(mut self, rx: Receiver<Job>) {
        loop {
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(job) => {
                    let camera = job.camera.clone();
                    if let Err(e) = self.write(job) {
                        self.stats.dropped(&camera, DropReason::WriteError);
                        if self.said_error.allow().is_some() {
                            tracing::warn!(camera, "a recording segment was not written: {e}");
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            // With a size cap, after every segment: the cap holds to within one segment.
            if self.has_size_cap()
                || self
                    .last_retention
                    .is_none_or(|t| t.elapsed() >= RETENTION_EVERY)
            {
                self.retention();
            }
        }
    }

    fn has_size_cap(&self) -> bool {
        self.cfg.settings.max_bytes.is_some()
            || self.cfg.cameras.values().any(|c| c.max_bytes.is_some())
    }

    fn retention(&mut self) {
        self.last_retention = Some(Instant::now());
        let deleted = retention::sweep(
            &self.cfg.store,
            &self.cfg.data_dir,
            &self.cfg.settings,
            &self.cfg.cameras,
        );
        if deleted.inits > 0 {
            // Rows of inits went: look them up again.
            self.inits.clear();
        }
    }

    /// Checks the free-space floor (freeing space if it can), then writes the segment.
    fn write(&mut self, job: Job) -> Result<(), lookout_core::Error> {
        let dir = self.cfg.data_dir.join(DIR);
        files::create_private_dir(&dir)?;
        let change = self.floor.check(&dir, job.segment.bytes, || {
            let freed = retention::free_space(&self.cfg.store, &self.cfg.data_dir);
            if freed.inits > 0 {
                self.inits.clear();
            }
            freed.segments > 0
        });
        if let Some((kind, details)) = change {
            self.stats.set_below_floor(self.floor.stopped());
            self.record_event(kind, details);
        }
        if self.floor.stopped() {
            self.stats.dropped(&job.camera, DropReason::BelowFloor);
            return Ok(());
        }
        let init_id = self.init(&job)?;
        let state = self.camera_state(&job.camera)?;
        let run = match state.run {
            Some((seg_run, run)) if seg_run == job.segment.run => run,
            _ => {
                let run = state.next_run;
                state.next_run += 1;
                state.run = Some((job.segment.run, run));
                run
            }
        };
        let seq = state.next_seq;
        state.next_seq += 1;
        let seg = &job.segment;
        let start_ms = unix_ms(seg.start_wall);
        let rel = segment_path(&job.camera, start_ms, seq);
        write_synced(&self.cfg.data_dir.join(&rel), &seg.parts)?;
        let row = NewSegment {
            camera: &job.camera,
            camera_seq: seq,
            run,
            init_id,
            start_ms,
            end_ms: unix_ms(seg.end_wall()),
            start_90k: seg.start_90k as i64,
            duration_90k: seg.duration_90k as i64,
            frames: i64::from(seg.frames),
            bytes: seg.bytes as i64,
            path: &rel,
            reason: job.reason,
        };
        let inserted = self
            .cfg
            .store
            .blocking(|db| recordings::insert_segment(db, &row));
        if let Err(e) = inserted {
            // No row: the file must not stay (recovery would delete it anyway).
            let _ = std::fs::remove_file(self.cfg.data_dir.join(&rel));
            return Err(e);
        }
        self.stats.written(&job.camera, seg.bytes);
        Ok(())
    }

    fn camera_state(&mut self, camera: &str) -> Result<&mut CameraState, lookout_core::Error> {
        if !self.cameras.contains_key(camera) {
            let (next_seq, next_run) = self
                .cfg
                .store
                .blocking(|db| recordings::next_seq_and_run(db, camera))?;
            self.cameras.insert(
                camera.to_owned(),
                CameraState {
                    next_seq,
                    next_run,
                    run: None,
                },
            );
        }
        self.cameras
            .get_mut(camera)
            .ok_or_else(|| lookout_core::Error::internal("camera state just inserted is missing"))
    }

    /// The init segment's id, written and indexed first if it is new.
    fn init(&mut self, job: &Job) -> Result<i64, lookout_core::Error> {
        let seg = &job.segment;
        let sha = hex(&Sha256::digest(&seg.init));
        let key = (job.camera.clone(), sha.clone());
        if let Some(id) = self.inits.get(&key) {
            return Ok(*id);
        }
        let camera = job.camera.as_str();
        let found = self
            .cfg
            .store
            .blocking(|db| recordings::find_init(db, camera, &sha))?;
        let id = match found {
            Some(id) => id,
            None => {
                let rel = format!("{DIR}/{camera}/init-{}.mp4", &sha[..16]);
                write_synced(
                    &self.cfg.data_dir.join(&rel),
                    std::slice::from_ref(&seg.init),
                )?;
                let codec = seg.params.codec_string();
                let (width, height) = (seg.params.width(), seg.params.height());
                let row = NewInit {
                    camera,
                    sha256: &sha,
                    codec: &codec,
                    width,
                    height,
                    path: &rel,
                };
                self.cfg
                    .store
                    .blocking(|db| recordings::insert_init(db, &row))?
            }
        };
        self.inits.insert(key, id);
        Ok(id)
    }

    fn record_event(&self, kind: EventKind, details: serde_json::Value) {
        match kind {
            EventKind::RecordingStopped => tracing::error!(
                "recording stopped: the data directory's disk is below the free-space floor ({details}); live view goes on"
            ),
            _ => {
                tracing::info!("recording resumed: free space is back above the floor ({details})")
            }
        }
        let log = self.cfg.events.clone();
        self.cfg.runtime.spawn(async move {
            let event = NewEvent {
                camera: None,
                kind,
                details,
                snapshot: None,
            };
            if let Err(e) = log.record(event).await {
                tracing::warn!("cannot record a {} event: {e}", kind.as_str());
            }
        });
    }
}

/// `recordings/{camera}/{YYYY-MM-DD}/{HH}/{start_ms}-{seq}.m4s` (UTC), relative to the data
/// directory. Camera ids are `[A-Za-z0-9_-]{1,64}` (config check): safe in a path.
pub fn segment_path(camera: &str, start_ms: i64, seq: i64) -> String {
    // `2026-12-07T01:02:03Z` → day and hour.
    let stamp = lookout_store::timestamp::rfc3339(start_ms.div_euclid(1000));
    let (day, rest) = stamp.split_once('T').unwrap_or((&stamp, "00"));
    let hour = rest.get(..2).unwrap_or("00");
    format!("{DIR}/{camera}/{day}/{hour}/{start_ms}-{seq}.m4s")
}

/// Writes `parts` to `path` crash-safely: `path.tmp` written and synced, renamed over
/// `path`, the directory synced (so the rename itself survives a power cut).
pub fn write_synced(path: &Path, parts: &[bytes::Bytes]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("a file path without a directory"))?;
    std::fs::create_dir_all(dir)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = files::create_private_file(&tmp, true).and_then(|f| {
        let mut w = std::io::BufWriter::with_capacity(256 << 10, f);
        for p in parts {
            w.write_all(p)?;
        }
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_data()
    });
    let renamed = written.and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::File::open(dir)?.sync_all()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_per_camera_day_and_hour_in_utc() {
        // 2026-12-07T01:02:03.456Z
        let ms = 1_796_605_323_456;
        assert_eq!(
            segment_path("front", ms, 42),
            format!("recordings/front/2026-12-07/01/{ms}-42.m4s")
        );
    }

    #[test]
    fn a_synced_write_leaves_the_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.m4s");
        write_synced(
            &path,
            &[
                bytes::Bytes::from_static(b"ab"),
                bytes::Bytes::from_static(b"cd"),
            ],
        )
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abcd");
        assert!(!dir.path().join("a/b/c.m4s.tmp").exists());
    }
}
