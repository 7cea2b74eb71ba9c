//! The data directory: where it is by default, and the check, before the database is opened,
//! that it exists (0700) and takes a file.

use crate::error::{StoreError, io_error};
use crate::files;
use lookout_core::Error;
use std::path::{Path, PathBuf};

/// Creates the data directory (0700 whatever the umask) and checks it takes a file: a clear
/// answer now beats "attempt to write a readonly database" at the first login. The probe is
/// removed whether or not the write worked.
pub fn prepare_dir(data_dir: &Path) -> Result<(), Error> {
    files::create_private_dir(data_dir).map_err(|e| {
        io_error(data_dir, e, |io| StoreError::CreateDir {
            dir: data_dir.to_path_buf(),
            io,
        })
    })?;
    let probe = data_dir.join(".lookout-write-test");
    files::write_private(&probe, b"ok").map_err(|e| {
        io_error(data_dir, e, |io| StoreError::NotWritable {
            dir: data_dir.to_path_buf(),
            io,
        })
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The default data directory: /var/lib/lookout for root, else the user's XDG data dir.
pub fn default_data_dir() -> PathBuf {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/lib/lookout");
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("lookout");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/lookout"),
        None => PathBuf::from("lookout-data"),
    }
}
