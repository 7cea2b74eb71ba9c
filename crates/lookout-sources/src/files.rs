//! A folder of JPEG files played in a loop at a set rate.

use crate::{BoxFuture, FrameSink, Source};
use bytes::Bytes;
use lookout_core::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / self.fps));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                // Listed again on every pass so files added or removed while running count.
                let dir = self.dir.clone();
                let files = tokio::task::spawn_blocking(move || list_jpegs(&dir))
                    .await
                    .map_err(|e| Error::internal(e.to_string()))??;
                for path in files {
                    tick.tick().await;
                    match tokio::fs::read(&path).await {
                        Ok(data) => {
                            sink.publish_jpeg(Bytes::from(data), SystemTime::now());
                        }
                        Err(e) => sink.drop_frame(&format!("cannot read {}: {e}", path.display())),
                    }
                }
            }
        })
    }
}
