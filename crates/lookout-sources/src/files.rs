//! A folder of JPEG files played in a loop at a set rate.

use crate::pacer::Pacer;
use crate::{BoxFuture, FrameSink, Source};
use bytes::Bytes;
use lookout_core::Error;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;

#[derive(Debug, Clone)]
pub struct FilesSource {
    pub dir: PathBuf,
    pub fps: f64,
}

/// The folder's `.jpg`/`.jpeg` files (any case), sorted by name.
pub fn list_jpegs(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::new(
            lookout_core::ErrorKind::Unavailable,
            format!("cannot read folder {}: {e}", dir.display()),
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| x.eq_ignore_ascii_case("jpg") || x.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::new(
            lookout_core::ErrorKind::Unavailable,
            format!("no .jpg or .jpeg files in {}", dir.display()),
        ));
    }
    Ok(files)
}

impl Source for FilesSource {
    fn kind(&self) -> &'static str {
        "files"
    }

    fn frame_interval(&self) -> Option<Duration> {
        Some(Duration::from_secs_f64(1.0 / self.fps))
    }

    fn run<'a>(&'a self, sink: &'a FrameSink) -> BoxFuture<'a, Result<(), Error>> {
        let interval = Duration::from_secs_f64(1.0 / self.fps);
        Box::pin(async move {
            match files_per_read(self.fps) {
                Some(batch) => play_read_ahead(&self.dir, interval, batch, sink).await,
                None => play_on_time(&self.dir, interval, sink).await,
            }
        })
    }
}

/// How many files to read per wake-up of the reader, reading ahead of their turn, or `None` to
/// read each file at its turn. Reading ahead saves thread wake-ups per frame at video rates
/// (docs/performance.md, "One viewer"), but shows a file as it was up to about a quarter of a
/// second before its turn (two batches and one being read are held: 7 intervals of 33 ms at 30
/// fps, 2 of 100 ms at 10 fps). Below 10 fps there is little to save, and a file rewritten in
/// place (a snapshot a script replaces every few seconds) must show at its next turn.
fn files_per_read(fps: f64) -> Option<usize> {
    // `as` saturates; fps is at most 120 (config).
    (fps >= 10.0).then(|| ((fps / 10.0) as usize).clamp(1, 3))
}

/// Paces and publishes on a runtime worker woken by its own timer (the viewers' tasks it wakes
/// run on that same worker), while a blocking thread of the source's own reads the files
/// ahead, `batch` at a time. Per frame: one worker wake-up and `1 / batch` of the reader's.
/// (A thread that also slept and published, [`play_on_time`], made the runtime wake two
/// workers for every frame: it woke the viewers' tasks from outside the runtime.)
async fn play_read_ahead(
    dir: &Path,
    interval: Duration,
    batch: usize,
    sink: &FrameSink,
) -> Result<(), Error> {
    // Dropping this future (nobody watches any more) drops `batches`: the reader's wait to
    // hand over its next batch ends at once and the thread returns.
    let (read_ahead, mut batches) = mpsc::channel::<Vec<FileRead>>(1);
    let dir = dir.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || read_in_batches(&dir, batch, &read_ahead));
    let mut ready = VecDeque::new();
    // Ticks missed (the runtime was busy) are skipped, not made up with a burst.
    let mut ticks = Pacer::new(interval);
    loop {
        ticks.tick().await;
        if ready.is_empty() {
            match batches.recv().await {
                Some(batch) => ready.extend(batch),
                // The reader ended: only with an error (the folder went away or is empty).
                None => {
                    return reader
                        .await
                        .map_err(|e| Error::internal(format!("file reader stopped: {e}")))?;
                }
            }
        }
        match ready.pop_front() {
            Some(FileRead::Jpeg(data)) => {
                sink.publish_jpeg(data, SystemTime::now());
            }
            Some(FileRead::Failed(why)) => sink.drop_frame(&why),
            None => {} // An empty batch is never sent.
        }
    }
}

/// One file of the folder, read ahead of its turn.
enum FileRead {
    Jpeg(Bytes),
    Failed(String),
}

fn read(path: &Path) -> FileRead {
    match std::fs::read(path) {
        Ok(data) => FileRead::Jpeg(Bytes::from(data)),
        Err(e) => FileRead::Failed(format!("cannot read {}: {e}", path.display())),
    }
}

/// Reads the folder's files in order, in a loop, `batch` at a time, each batch as soon as the
/// one before was taken, until the receiver is dropped. An unlistable or empty folder ends it
/// with the error.
fn read_in_batches(
    dir: &Path,
    batch: usize,
    read_ahead: &mpsc::Sender<Vec<FileRead>>,
) -> Result<(), Error> {
    let mut files = Vec::with_capacity(batch);
    loop {
        // Listed again on every pass so files added or removed while running count.
        for path in list_jpegs(dir)? {
            files.push(read(&path));
            if files.len() == batch {
                let full = std::mem::replace(&mut files, Vec::with_capacity(batch));
                if read_ahead.blocking_send(full).is_err() {
                    return Ok(());
                }
            }
        }
    }
}

/// Sleeps, reads and publishes each file at its turn, all on one blocking thread (the slow
/// rates: every file as it is when its turn comes). Ends when the future is dropped.
async fn play_on_time(dir: &Path, interval: Duration, sink: &FrameSink) -> Result<(), Error> {
    // Dropping this future drops `_running`: the thread's wait ends at once and it returns.
    let (_running, stop) = std::sync::mpsc::channel::<()>();
    let dir = dir.to_path_buf();
    // A sink of its own for the thread (ours is borrowed): the same hub, its own limiter for
    // the log lines of unreadable files.
    let sink = FrameSink::new(sink.hub().clone());
    tokio::task::spawn_blocking(move || read_at_each_turn(&dir, interval, &sink, &stop))
        .await
        .map_err(|e| Error::internal(e.to_string()))?
}

/// Publishes the folder's files one every `interval`, in a loop, until `stop`'s sender is
/// dropped. Ticks missed (the thread was not scheduled in time) are skipped.
fn read_at_each_turn(
    dir: &Path,
    interval: Duration,
    sink: &FrameSink,
    stop: &std::sync::mpsc::Receiver<()>,
) -> Result<(), Error> {
    use std::sync::mpsc::RecvTimeoutError;
    let mut next = Instant::now();
    loop {
        for path in list_jpegs(dir)? {
            match stop.recv_timeout(next.saturating_duration_since(Instant::now())) {
                Err(RecvTimeoutError::Timeout) => {}
                // Disconnected: the source was stopped. Nothing is ever sent on it.
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            let now = Instant::now();
            next += interval;
            if next <= now {
                next = now + interval;
            }
            match read(&path) {
                FileRead::Jpeg(data) => {
                    sink.publish_jpeg(data, SystemTime::now());
                }
                FileRead::Failed(why) => sink.drop_frame(&why),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::CameraHub;

    /// A grey square JPEG `side` pixels wide.
    fn jpeg_of(side: u32) -> Vec<u8> {
        lookout_core::jpeg::encode_rgb(&lookout_core::RgbImage::new(side, side), 80)
            .expect("encoded")
    }

    fn hub_and_folder() -> (std::sync::Arc<CameraHub>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let jpeg = jpeg_of(16);
        for name in ["a.jpg", "b.jpg"] {
            std::fs::write(dir.path().join(name), &jpeg).expect("written");
        }
        (CameraHub::new("f", 80), dir)
    }

    /// Frames come at the rate, and stop when the source's future is dropped: the thread
    /// that plays the folder does not outlive it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn plays_at_the_rate_and_stops_when_dropped() {
        let (hub, dir) = hub_and_folder();
        let source = FilesSource {
            dir: dir.path().to_path_buf(),
            fps: 50.0,
        };
        let sink = FrameSink::new(hub.clone());
        let running = tokio::time::timeout(Duration::from_millis(500), source.run(&sink)).await;
        assert!(running.is_err(), "still running after 500 ms: {running:?}");
        let published = hub
            .stats()
            .frames_captured
            .load(std::sync::atomic::Ordering::Relaxed);
        // 50 fps for 0.5 s is 25 frames; generous bounds, the machine may be busy.
        assert!((5..=30).contains(&published), "{published} frames");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = hub
            .stats()
            .frames_captured
            .load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            after <= published + 1,
            "{published} then {after}: still playing"
        );
    }

    /// Files come in the folder's order, round and round, also where a pass ends inside a
    /// batch of the reader's (7 files, read 2 at a time at 20 fps).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn plays_the_files_in_order_across_batches_and_passes() {
        let dir = tempfile::tempdir().expect("temp dir");
        // Seven JPEGs told apart by their length (a comment segment, 4 + i bytes).
        let jpeg = jpeg_of(16);
        for i in 0..7u8 {
            let len = u16::from(i) + 2;
            let mut file = jpeg[..2].to_vec();
            file.extend([0xFF, 0xFE]);
            file.extend(len.to_be_bytes());
            file.extend(std::iter::repeat_n(b'x', usize::from(i)));
            file.extend(&jpeg[2..]);
            std::fs::write(dir.path().join(format!("{i}.jpg")), file).expect("written");
        }
        let hub = CameraHub::new("f", 80);
        let mut frames = hub.subscribe();
        let source = FilesSource {
            dir: dir.path().to_path_buf(),
            fps: 20.0,
        };
        let sink = FrameSink::new(hub.clone());
        let watch = async {
            let mut seen = Vec::new();
            while seen.len() < 20 {
                frames.changed().await.expect("hub open");
                if let Some(frame) = frames.borrow_and_update().as_ref() {
                    seen.push(frame.jpeg.len() - jpeg.len() - 4);
                }
            }
            seen
        };
        let seen = tokio::select! {
            seen = watch => seen,
            r = source.run(&sink) => panic!("source ended: {r:?}"),
        };
        // A busy machine may make this task miss a frame now and then (the hub keeps only the
        // newest), never see one out of order.
        for pair in seen.windows(2) {
            let step = (pair[1] + 7 - pair[0]) % 7;
            assert!((1..=2).contains(&step), "{pair:?} in {seen:?}");
        }
        let mut files: Vec<usize> = seen.clone();
        files.sort_unstable();
        files.dedup();
        assert_eq!(
            files,
            (0..7).collect::<Vec<_>>(),
            "every file plays: {seen:?}"
        );
    }

    /// Below 10 fps each file is read at its turn: one rewritten in place (a snapshot a script
    /// replaces every few seconds) shows at its next turn, not as read ahead of it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_slow_rates_a_rewritten_file_shows_at_its_next_turn() {
        let dir = tempfile::tempdir().expect("temp dir");
        let old = jpeg_of(16);
        let new = jpeg_of(32);
        let snapshot = dir.path().join("snapshot.jpg");
        std::fs::write(&snapshot, &old).expect("written");
        let hub = CameraHub::new("f", 80);
        let mut frames = hub.subscribe();
        let source = FilesSource {
            dir: dir.path().to_path_buf(),
            fps: 5.0,
        };
        let sink = FrameSink::new(hub.clone());
        let watch = async {
            frames.changed().await.expect("hub open");
            // Replaced as scripts do it: written beside, renamed over.
            let replacing = dir.path().join("snapshot.tmp");
            std::fs::write(&replacing, &new).expect("written");
            std::fs::rename(&replacing, &snapshot).expect("renamed");
            let replaced = SystemTime::now();
            loop {
                frames.changed().await.expect("hub open");
                let frame = frames.borrow_and_update().clone().expect("a frame");
                // A frame published 50 ms after the rename was read after it (each file is
                // read just before it is published); reading ahead would show the old one.
                let after = frame
                    .captured_at
                    .duration_since(replaced)
                    .unwrap_or_default();
                if after >= Duration::from_millis(50) {
                    return frame.width;
                }
            }
        };
        let width = tokio::select! {
            width = watch => width,
            r = source.run(&sink) => panic!("source ended: {r:?}"),
        };
        assert_eq!(width, 32, "the rewritten file shows at its next turn");
    }

    /// Both ways of playing say what is wrong with an empty folder.
    #[tokio::test]
    async fn an_empty_folder_is_an_error() {
        for fps in [2.0, 30.0] {
            let dir = tempfile::tempdir().expect("temp dir");
            let source = FilesSource {
                dir: dir.path().to_path_buf(),
                fps,
            };
            let sink = FrameSink::new(CameraHub::new("f", 80));
            let e = source.run(&sink).await.expect_err("no files");
            assert!(
                e.to_string().contains("no .jpg or .jpeg files"),
                "{fps} fps: {e}"
            );
        }
    }

    #[test]
    fn reads_ahead_only_at_video_rates() {
        assert_eq!(files_per_read(1.0), None);
        assert_eq!(files_per_read(9.9), None);
        assert_eq!(files_per_read(10.0), Some(1));
        assert_eq!(files_per_read(25.0), Some(2));
        assert_eq!(files_per_read(30.0), Some(3));
        assert_eq!(files_per_read(120.0), Some(3));
    }
}
