//! A folder of JPEG files played in a loop at a set rate.

use crate::{BoxFuture, FrameSink, Source};
use bytes::Bytes;
use lookout_core::Error;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

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
        Box::pin(async move {
            // Pacing and publishing happen here, on a runtime worker woken by its own timer;
            // reading happens ahead, a few files at a time, on a blocking thread of the
            // source's own. Per frame that is one worker wake-up (the timer; the viewers'
            // tasks it wakes run on the same worker) and a third of one for the reader.
            // Reading each file with `tokio::fs` cost three wake-ups per frame, and a thread
            // that also slept and published made the runtime wake two workers for every frame
            // (it woke the viewers' tasks from outside the runtime): docs/performance.md, "One
            // viewer". A file on slow storage still delays only this camera.
            // Dropping this future (nobody watches any more) drops `batches`: the reader's wait
            // to hand over its next batch ends at once and the thread returns.
            let (read_ahead, mut batches) = mpsc::channel::<Vec<FileRead>>(1);
            let dir = self.dir.clone();
            let reader = tokio::task::spawn_blocking(move || read_in_a_loop(&dir, &read_ahead));
            let mut ready = VecDeque::new();
            let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / self.fps));
            // Ticks missed (the runtime was busy) are skipped, not made up with a burst.
            ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
            loop {
                ticks.tick().await;
                if ready.is_empty() {
                    match batches.recv().await {
                        Some(batch) => ready.extend(batch),
                        // The reader ended: only with an error (the folder went away or is
                        // empty).
                        None => {
                            return reader.await.map_err(|e| {
                                Error::internal(format!("file reader stopped: {e}"))
                            })?;
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
        })
    }
}

/// How many files the reader reads per wake-up. At most two batches and one being read are
/// held: 3 × 3 × 50 KB at 720p.
const FILES_PER_BATCH: usize = 3;

/// One file of the folder, read ahead of its turn.
enum FileRead {
    Jpeg(Bytes),
    Failed(String),
}

/// Reads the folder's files in order, in a loop, [`FILES_PER_BATCH`] at a time, each batch as
/// soon as the one before was taken, until the receiver is dropped. An unlistable or empty
/// folder ends it with the error.
fn read_in_a_loop(dir: &Path, read_ahead: &mpsc::Sender<Vec<FileRead>>) -> Result<(), Error> {
    let mut batch = Vec::with_capacity(FILES_PER_BATCH);
    loop {
        // Listed again on every pass so files added or removed while running count.
        for path in list_jpegs(dir)? {
            batch.push(match std::fs::read(&path) {
                Ok(data) => FileRead::Jpeg(Bytes::from(data)),
                Err(e) => FileRead::Failed(format!("cannot read {}: {e}", path.display())),
            });
            if batch.len() == FILES_PER_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(FILES_PER_BATCH));
                if read_ahead.blocking_send(full).is_err() {
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_core::CameraHub;

    fn hub_and_folder() -> (std::sync::Arc<CameraHub>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let jpeg = lookout_core::jpeg::encode_rgb(&lookout_core::RgbImage::new(16, 16), 80)
            .expect("encoded");
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
    /// batch of the reader's (7 files, read 3 at a time).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn plays_the_files_in_order_across_batches_and_passes() {
        let dir = tempfile::tempdir().expect("temp dir");
        // Seven JPEGs told apart by their length (a comment segment, 4 + i bytes).
        let jpeg = lookout_core::jpeg::encode_rgb(&lookout_core::RgbImage::new(16, 16), 80)
            .expect("encoded");
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

    #[tokio::test]
    async fn an_empty_folder_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = FilesSource {
            dir: dir.path().to_path_buf(),
            fps: 10.0,
        };
        let sink = FrameSink::new(CameraHub::new("f", 80));
        let e = source.run(&sink).await.expect_err("no files");
        assert!(e.to_string().contains("no .jpg or .jpeg files"), "{e}");
    }
}
