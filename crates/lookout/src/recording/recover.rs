//! Start-up recovery of `DATA_DIR/recordings/`, before any recorder starts: what a crash
//! (`kill -9`, a power cut) can leave is made consistent again. Half-written `*.tmp` files
//! are deleted; a segment or init file without a row (renamed, then the crash came before its
//! row) is deleted (it is at most the last segment of each camera); a row whose file is gone
//! (deleted by hand, a disk swapped) is forgotten. Each kind is counted in one log line.
//! Event clips the last run left open (it stopped during an event) are closed.

use super::DIR;
use lookout_store::Store;
use lookout_store::recordings::{self, FileKind};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What recovery did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    pub temp_files: usize,
    pub files_without_rows: usize,
    pub rows_without_files: usize,
}

pub fn recover(data_dir: &Path, store: &Store) -> Result<Recovered, lookout_core::Error> {
    let mut done = Recovered::default();
    let root = data_dir.join(DIR);
    let mut on_disk = HashSet::new();
    if root.is_dir() {
        walk(&root, &mut |path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".tmp") {
                if remove(path) {
                    done.temp_files += 1;
                }
            } else if let Ok(rel) = path.strip_prefix(data_dir) {
                on_disk.insert(rel.to_string_lossy().into_owned());
            }
        })?;
    }
    let rows = store.blocking(|db| recordings::all_paths(db))?;
    let indexed: HashSet<&str> = rows.iter().map(|(_, _, p)| p.as_str()).collect();
    for rel in &on_disk {
        let ours = rel.ends_with(".m4s") || rel.ends_with(".mp4");
        if ours && !indexed.contains(rel.as_str()) && remove(&data_dir.join(rel)) {
            done.files_without_rows += 1;
        }
    }
    let missing = |kind| -> Vec<i64> {
        rows.iter()
            .filter(|(k, _, p)| *k == kind && !on_disk.contains(p))
            .map(|(_, id, _)| *id)
            .collect()
    };
    let (segments, inits) = (missing(FileKind::Segment), missing(FileKind::Init));
    if !segments.is_empty() || !inits.is_empty() {
        done.rows_without_files =
            store.blocking(|db| recordings::forget_missing(db, &segments, &inits))?;
    }
    // After the files: a clip's end is where the recording that is left ends.
    let closed = store.blocking(|db| recordings::close_open_clips(db))?;
    if closed > 0 {
        tracing::info!("{closed} event clips left open by the last run were closed");
    }
    if done != Recovered::default() {
        tracing::warn!(
            "recordings recovered after an unclean stop: {} half-written files deleted, {} files without an index row deleted, {} index rows without a file forgotten",
            done.temp_files,
            done.files_without_rows,
            done.rows_without_files
        );
    }
    Ok(done)
}

fn remove(path: &Path) -> bool {
    match std::fs::remove_file(path) {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!("cannot delete {}: {e}", path.display());
            false
        }
    }
}

/// Calls `f` with every file under `dir`, depth first.
fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) -> std::io::Result<()> {
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let ty = entry.file_type()?;
            if ty.is_dir() {
                stack.push(entry.path());
            } else if ty.is_file() {
                f(&entry.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_store::recordings::{NewInit, NewSegment, Reason};

    /// What each kind of crash leaves: a half-written `.tmp`, a renamed file whose row never
    /// came, a row whose file went; recovery leaves rows and files in agreement.
    #[test]
    fn temp_files_unindexed_files_and_rows_without_files_are_cleaned_up() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let store = Store::open_in_memory().unwrap();
        let hour = data.join("recordings/cam/2026-12-07/01");
        std::fs::create_dir_all(&hour).unwrap();
        let write = |rel: &str| std::fs::write(data.join(rel), b"x").unwrap();
        write("recordings/cam/init-ab.mp4");
        write("recordings/cam/2026-12-07/01/1000-1.m4s");
        write("recordings/cam/2026-12-07/01/3000-3.m4s");
        write("recordings/cam/2026-12-07/01/4000-4.m4s.tmp");
        // Not ours: left alone.
        write("recordings/cam/notes.txt");
        store
            .blocking(|db| {
                let init = recordings::insert_init(
                    db,
                    &NewInit {
                        camera: "cam",
                        sha256: "ab",
                        codec: "avc1.42C01F",
                        width: 2,
                        height: 2,
                        path: "recordings/cam/init-ab.mp4",
                    },
                )?;
                for (seq, path) in [
                    (1, "recordings/cam/2026-12-07/01/1000-1.m4s"),
                    // Its file was deleted by hand.
                    (2, "recordings/cam/2026-12-07/01/2000-2.m4s"),
                ] {
                    recordings::insert_segment(
                        db,
                        &NewSegment {
                            camera: "cam",
                            camera_seq: seq,
                            run: 1,
                            init_id: init,
                            start_ms: seq * 1000,
                            end_ms: seq * 1000 + 1000,
                            start_90k: 0,
                            duration_90k: 90_000,
                            frames: 30,
                            bytes: 1,
                            path,
                            reason: Reason::Continuous,
                        },
                    )?;
                }
                Ok(())
            })
            .unwrap();
        let done = recover(data, &store).unwrap();
        assert_eq!(
            done,
            Recovered {
                temp_files: 1,
                files_without_rows: 1,
                rows_without_files: 1,
            }
        );
        assert!(hour.join("1000-1.m4s").exists());
        assert!(!hour.join("3000-3.m4s").exists());
        assert!(!hour.join("4000-4.m4s.tmp").exists());
        assert!(data.join("recordings/cam/notes.txt").exists());
        let rows = store.blocking(|db| recordings::all_paths(db)).unwrap();
        assert_eq!(rows.len(), 2, "the init and segment 1: {rows:?}");
        // A second start finds nothing to do.
        assert_eq!(recover(data, &store).unwrap(), Recovered::default());
    }
}
