//! Free space of the filesystem holding a directory (`statvfs(3)`), for the free-space floor.

use std::path::Path;

/// Bytes free for an unprivileged writer, and the filesystem's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    pub available: u64,
    pub total: u64,
}

impl Space {
    /// The floor: the larger of `min_bytes` and `min_percent` of the disk.
    pub fn floor(&self, min_bytes: u64, min_percent: f64) -> u64 {
        min_bytes.max((self.total as f64 * min_percent / 100.0) as u64)
    }
}

pub fn space(dir: &Path) -> std::io::Result<Space> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("a path with a NUL byte"))?;
    // SAFETY: `path` is a valid NUL-terminated string and `st` a zeroed, writable statvfs
    // that lives across the call; statvfs writes only into it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let block = st.f_frsize as u64;
    Ok(Space {
        available: (st.f_bavail as u64).saturating_mul(block),
        total: (st.f_blocks as u64).saturating_mul(block),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_temp_dir_has_a_size_and_the_floor_takes_the_larger() {
        let s = super::space(&std::env::temp_dir()).unwrap();
        assert!(s.total > 0 && s.available <= s.total);
        let s = super::Space {
            available: 0,
            total: 1000,
        };
        assert_eq!(s.floor(10, 5.0), 50);
        assert_eq!(s.floor(100, 5.0), 100);
    }
}
