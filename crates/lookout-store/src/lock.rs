//! One server per data directory: `lookout serve` holds an exclusive `flock(2)` on
//! `DATA_DIR/lookout.lock` for as long as it runs, with its PID written in the file. A second
//! server on the same directory would record every motion event and send every alert twice.
//! The kernel drops the lock when the process ends, however it ends (kill -9 included), so a
//! stale file never blocks a restart. The `lookout user`/`token` commands take no lock: they
//! work beside a running server.

use crate::files;
use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "lookout.lock";

/// Held while the server runs; dropping it (closing the file) releases the lock.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another Lookout{} is serving from the data directory {dir} (it holds {lock}); stop it first, or give this one another data directory (--data-dir or server.data_dir)",
        holder.map(|p| format!(" (PID {p})")).unwrap_or_default(),
        dir = dir.display(),
        lock = dir.join(LOCK_FILE).display()
    )]
    Held { dir: PathBuf, holder: Option<u32> },
    // The I/O error is part of the message, so it is no `source` (a chain would say it twice).
    #[error("cannot lock the data directory with {}: {io}", path.display())]
    Io { path: PathBuf, io: std::io::Error },
}

impl LockError {
    /// Another server holds the directory: that one must stop first.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LockError::Held { .. } => ErrorKind::FailedPrecondition,
            LockError::Io { io, .. } => io_kind(io),
        }
    }
}

impl From<LockError> for Error {
    fn from(e: LockError) -> Self {
        Error::new(e.kind(), e.to_string()).with_source(e)
    }
}

impl DataDirLock {
    /// Takes the lock or says who holds it. `dir` must exist.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |io| LockError::Io {
            path: path.clone(),
            io,
        };
        // Not truncated on open: the holder's PID stays readable for a second server.
        let mut file = files::create_private_file(&path, false).map_err(io)?;
        // SAFETY: flock on a file descriptor we own; LOCK_NB makes it return at once.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::WouldBlock {
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    holder: holder_pid(&path),
                });
            }
            return Err(io(e));
        }
        let pid = format!("{}\n", std::process::id());
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(pid.as_bytes()))
            .and_then(|()| file.set_len(pid.len() as u64))
            .map_err(io)?;
        Ok(Self { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The PID written by the holder; `None` if it cannot be read (the holder may be writing it).
fn holder_pid(path: &Path) -> Option<u32> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_a_dropped_one_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        // flock locks belong to the open file, so a second open in this process conflicts
        // just as another process would.
        let err = DataDirLock::acquire(dir.path()).unwrap_err();
        assert!(
            matches!(err, LockError::Held { holder: Some(p), .. } if p == std::process::id()),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains(&format!("PID {}", std::process::id()))
        );
        drop(first);
        DataDirLock::acquire(dir.path()).unwrap();
    }
}
