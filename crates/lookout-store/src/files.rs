//! Files in the data directory: private whatever the umask (directories 0700, files 0600),
//! since they hold password hashes, session hashes and pictures of people's homes.

use std::fs::Permissions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents, with the usual modes) and makes `dir` itself 0700.
/// A directory that exists keeps its mode: its owner may have opened it on purpose (a group
/// for backups); [`readable_by_others`] lets the server warn about it.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        // Made meanwhile (another thread, another process): then it is theirs to set.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => return Ok(()),
        Err(e) => return Err(e),
    }
    // mkdir's mode is masked by the umask (0777 & ~umask); chmod is not.
    std::fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// Opens `path` for writing, created 0600 if missing (and chmod-ed so, whatever the umask).
pub fn create_private_file(path: &Path, truncate: bool) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(truncate)
        .mode(FILE_MODE)
        .open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Writes `data` to `path` (a new or truncated file, mode 0600). A failed write removes the
/// file, so a full disk leaves no empty or half picture behind.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let written = create_private_file(path, true).and_then(|mut f| f.write_all(data));
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// The mode of `path` when users other than its owner and group may read it.
pub fn readable_by_others(path: &Path) -> Option<u32> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o004 != 0).then_some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        create_private_dir(&sub).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&sub), 0o700);
        let file = sub.join("f");
        write_private(&file, b"x").unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(readable_by_others(&file), None);
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        assert_eq!(readable_by_others(&file), Some(0o644));
    }
}
