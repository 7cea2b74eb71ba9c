//! The latency bench's camera end: a FIFO, and a thread writing 640x360 yuv420p frames into it
//! at a steady rate, each with the wall-clock time drawn in it ([`time_cells`]) just before it
//! is written. ffmpeg (the server's `command` camera) reads the other end.

use super::time_cells::{self, HEIGHT, WIDTH};
use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A FIFO in a directory of its own, removed when dropped.
pub struct Fifo {
    dir: PathBuf,
    pub path: PathBuf,
}

impl Fifo {
    pub fn new(run: u32) -> io::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "lookout-bench-latency-{}-{run}",
            std::process::id()
        ));
        std::fs::create_dir(&dir)?;
        let path = dir.join("frames.yuv");
        let c_path = CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
        if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } != 0 {
            let e = io::Error::last_os_error();
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        Ok(Self { dir, path })
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A thread writing stamped frames into the FIFO at `fps`, each stamped just before it is
/// written. It opens the FIFO again if the reader (ffmpeg) goes away and comes back.
pub struct FrameWriter {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    late: Arc<AtomicU64>,
    fifo: PathBuf,
    thread: std::thread::JoinHandle<()>,
}

impl FrameWriter {
    pub fn start(fifo: PathBuf, fps: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let late = Arc::new(AtomicU64::new(0));
        let (s, w, l, path) = (stop.clone(), written.clone(), late.clone(), fifo.clone());
        let thread = std::thread::spawn(move || write_frames(&path, fps, &s, &w, &l));
        Self {
            stop,
            written,
            late,
            fifo,
            thread,
        }
    }

    /// Stops the thread; frames written and ticks skipped because a write was late.
    pub fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        // A writer blocked in open() (ffmpeg gone) is released by a reader, which closes at
        // once: the writer's next write fails (EPIPE) and it sees `stop`. Linux wakes a
        // waiting writer even when the reader has already closed (the FIFO counts openings).
        drop(
            OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&self.fifo),
        );
        let _ = self.thread.join();
        (
            self.written.load(Ordering::Relaxed),
            self.late.load(Ordering::Relaxed),
        )
    }
}

fn write_frames(fifo: &Path, fps: u32, stop: &AtomicBool, written: &AtomicU64, late: &AtomicU64) {
    let period = Duration::from_secs(1) / fps;
    let mut frame = vec![0u8; WIDTH * HEIGHT * 3 / 2];
    let backgrounds = time_cells::Backgrounds::generate();
    let mut n: u64 = 0;
    'reopen: while !stop.load(Ordering::Relaxed) {
        // Blocks until a reader opens the FIFO.
        let Ok(mut out) = OpenOptions::new().write(true).open(fifo) else {
            std::thread::sleep(period);
            continue;
        };
        let start = Instant::now();
        let mut tick: u32 = 0;
        while !stop.load(Ordering::Relaxed) {
            let due = start + period * tick;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            } else if now - due > period {
                // More than a frame behind (a slow write): skip to the next tick, as a camera
                // drops frames, rather than send a burst.
                let behind = u32::try_from(((now - due).as_nanos() / period.as_nanos()).max(1))
                    .unwrap_or(u32::MAX);
                late.fetch_add(u64::from(behind), Ordering::Relaxed);
                tick = tick.saturating_add(behind);
                continue;
            }
            let unix_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            // The low 32 bits, on purpose (see time_cells).
            let stamp = u32::try_from(unix_ms & 0xFFFF_FFFF).unwrap_or(0);
            time_cells::draw_yuv420p(&mut frame, &backgrounds, stamp, n);
            if out.write_all(&frame).is_err() {
                // ffmpeg went away (EPIPE: Rust ignores SIGPIPE); wait for the next one.
                continue 'reopen;
            }
            written.fetch_add(1, Ordering::Relaxed);
            n += 1;
            tick = tick.saturating_add(1);
        }
    }
}
