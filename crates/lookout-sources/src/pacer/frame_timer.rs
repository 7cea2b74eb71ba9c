//! A kernel timer of the source's own (`timerfd`) that fires every `interval`, watched by the
//! runtime's I/O driver like a socket: one wake-up of a worker per frame and nothing else.
//! The kernel keeps the phase (the ticks are at start + k × interval) and counts the ticks
//! that fired while nobody read, so missed ticks are skipped by reading them all at once.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

#[derive(Debug)]
pub(super) struct FrameTimer {
    fd: AsyncFd<OwnedFd>,
    interval: Duration,
    /// Whether the first tick, which is at once, was taken.
    started: bool,
}

impl FrameTimer {
    /// Arms a timer whose first expiry is `interval` from now; `interval` is not zero (zero
    /// would leave it disarmed). Called within a runtime with I/O enabled (tokio panics
    /// otherwise; Lookout's runtime and `#[tokio::test]` enable it).
    pub(super) fn new(interval: Duration) -> io::Result<Self> {
        // SAFETY: a plain system call with valid flags; it returns a new descriptor or -1.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is the descriptor just made, which nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let period = timespec(interval);
        let every_interval = libc::itimerspec {
            it_interval: period,
            it_value: period,
        };
        // SAFETY: `fd` is a timerfd, the new value is read during the call only, and the old
        // one is not asked for (null).
        let set = unsafe {
            libc::timerfd_settime(fd.as_raw_fd(), 0, &every_interval, std::ptr::null_mut())
        };
        if set < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `OwnedFd` keeps the descriptor open, and the same one, until it is dropped
        // with the `AsyncFd`.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Self {
            fd,
            interval,
            started: false,
        })
    }

    pub(super) fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits for the next tick. Cancel-safe: an expiry stays counted in the timer until read.
    pub(super) async fn tick(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            return Ok(());
        }
        loop {
            let mut ready = self.fd.readable().await?;
            let read = ready.try_io(|fd| {
                // How many times the timer fired since the last read: more than once means
                // ticks were missed, and reading them all skips them.
                let mut expiries = [0u8; 8];
                // SAFETY: reads at most 8 bytes into a buffer of 8 that outlives the call.
                let n = unsafe { libc::read(fd.as_raw_fd(), expiries.as_mut_ptr().cast(), 8) };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(())
                }
            });
            match read {
                Ok(result) => {
                    // The read took every expiry, so the timer is not readable until the next
                    // one: without this the next tick would find the old readiness and spend a
                    // `read` on learning that (a newer event is not cleared: tokio compares).
                    ready.clear_ready();
                    return result;
                }
                // Readiness was stale: another read took the expiry; wait again.
                Err(_would_block) => continue,
            }
        }
    }
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        // Below 1e9, which fits any `c_long`; `c_long` is 32 bits on 32-bit targets (Raspberry
        // Pi OS's armhf), where there is no `From<u32>`.
        #[allow(clippy::unnecessary_fallible_conversions)]
        tv_nsec: libc::c_long::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}
