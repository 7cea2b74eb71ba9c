//! Start-up recovery of `DATA_DIR/recordings/`, before any recorder starts: what a crash
//! (`kill -9`, a power cut) can leave is made consistent again. Half-written `*.tmp` files
//! are deleted; a segment or init file without a row (renamed, then the crash came before its
//! row) is deleted (it is at most the last segment of each camera); a row whose file is gone
//! (deleted by hand, a disk swapped) is forgotten. Each kind is counted in one log line.

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
