//! A folder of JPEG files played in a loop at a set rate.

use crate::{BoxFuture, FrameSink, Source};
use bytes::Bytes;
use lookout_core::Error;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

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
            // The whole loop runs on one blocking thread: per frame it sleeps, reads and
            // publishes there. Reading each file with `tokio::fs` instead cost three thread
            // wake-ups per frame (the worker for the tick, a blocking thread for the read, the
            // worker again for its result): about a quarter of the server's CPU with one viewer
            // (docs/performance.md, "Fan-out with a files source").
            // Dropping this future (nobody watches any more) drops `_running`: the thread's
            // wait ends at once and it returns.
            let (_running, stop) = mpsc::channel::<()>();
            let dir = self.dir.clone();
            let interval = Duration::from_secs_f64(1.0 / self.fps);
            // A sink of its own for the thread (ours is borrowed): the same hub, its own
            // limiter for the log lines of unreadable files.
            let sink = FrameSink::new(sink.hub().clone());
            tokio::task::spawn_blocking(move || play(&dir, interval, &sink, &stop))
                .await
                .map_err(|e| Error::internal(e.to_string()))?
        })
    }
}

/// Publishes the folder's files one every `interval`, in a loop, until `stop`'s sender is
/// dropped. Ticks missed (the thread was not scheduled in time) are skipped, not made up with a
/// burst.
fn play(
    dir: &Path,
    interval: Duration,
    sink: &FrameSink,
    stop: &mpsc::Receiver<()>,
) -> Result<(), Error> {
    let mut next = Instant::now();
    loop {
        // Listed again on every pass so files added or removed while running count.
        for path in list_jpegs(dir)? {
            let wait = next.saturating_duration_since(Instant::now());
            match stop.recv_timeout(wait) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // Disconnected: the source was stopped. Nothing is ever sent on it.
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            }
            let now = Instant::now();
            next += interval;
            if next <= now {
                next = now + interval;
            }
            match std::fs::read(&path) {
                Ok(data) => {
                    sink.publish_jpeg(Bytes::from(data), SystemTime::now());
                }
                Err(e) => sink.drop_frame(&format!("cannot read {}: {e}", path.display())),
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
