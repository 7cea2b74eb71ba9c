//! The folder of JPEGs that `lookout-bench fanout --source files` has the server replay:
//! ffmpeg's `testsrc2` encoded once before the runs, so that during them the server only reads
//! each file and forwards it, as with the issue's `files` camera.

use super::server::ScratchDir;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};

/// How many frames the folder holds: two seconds of a 30 fps camera, so that consecutive frames
/// differ (as a camera's do) and the server's re-listing of the folder after each pass is rare.
pub const FRAME_COUNT: u32 = 60;

/// The written folder, removed when dropped.
pub struct JpegFolder {
    dir: ScratchDir,
    /// Mean file size in bytes, for the report's header.
    pub mean_bytes: u64,
}

impl JpegFolder {
    /// Runs ffmpeg to write [`FRAME_COUNT`] JPEGs of `testsrc2` at `width`x`height` with MJPEG
    /// quality `quality` (`-q:v`, 2 best to 31 worst).
    pub fn write(width: u32, height: u32, fps: u32, quality: u32) -> io::Result<Self> {
        let dir = ScratchDir::new()?;
        let lavfi = format!("testsrc2=size={width}x{height}:rate={fps}");
        let output = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"])
            .arg(&lavfi)
            .arg("-frames:v")
            .arg(FRAME_COUNT.to_string())
            .arg("-q:v")
            .arg(quality.to_string())
            .arg(dir.path().join("frame%04d.jpg"))
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot run ffmpeg (Debian package ffmpeg) to write the camera's JPEGs: {e}"
                    ),
                )
            })?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "ffmpeg could not write the camera's JPEGs ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let mut count = 0u64;
        let mut total = 0u64;
        for entry in std::fs::read_dir(dir.path())? {
            total += entry?.metadata()?.len();
            count += 1;
        }
        if count != u64::from(FRAME_COUNT) {
            return Err(io::Error::other(format!(
                "ffmpeg wrote {count} files instead of {FRAME_COUNT} into {}",
                dir.path().display()
            )));
        }
        Ok(Self {
            dir,
            mean_bytes: total / count,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// `s` as a TOML basic string: quoted, with `"`, `\` and control characters escaped
/// (TOML 1.0, "String").
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(toml_string("/tmp/a b"), "\"/tmp/a b\"");
        assert_eq!(toml_string("C:\\x\"y\n"), "\"C:\\\\x\\\"y\\u000A\"");
    }

    /// The folder is what the server's `files` source plays: 60 files it lists, each a JPEG.
    #[test]
    fn the_folder_holds_jpegs_the_files_source_lists() {
        let folder = match JpegFolder::write(160, 120, 30, 20) {
            Ok(f) => f,
            Err(e) if std::env::var_os("LOOKOUT_TEST_STRICT").is_none() => {
                eprintln!("skipped, no ffmpeg: {e}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let files = lookout_sources::files::list_jpegs(folder.path()).expect("listed");
        assert_eq!(files.len(), FRAME_COUNT as usize);
        for f in &files {
            let data = std::fs::read(f).expect("readable");
            assert!(
                data.starts_with(&[0xFF, 0xD8]) && data.ends_with(&[0xFF, 0xD9]),
                "{f:?}"
            );
        }
        assert!(folder.mean_bytes > 500, "{}", folder.mean_bytes);
        let path = folder.path().to_path_buf();
        drop(folder);
        assert!(!path.exists(), "removed when dropped");
    }
}
