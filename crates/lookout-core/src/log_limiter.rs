//! Rate limiting for log lines about bad input, so a broken camera cannot flood the log.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Allows a few log lines per interval and counts what it held back.
#[derive(Debug)]
pub struct LogLimiter {
    interval: Duration,
    /// Lines allowed in each interval.
    burst: u32,
    /// When the current interval began, and the lines logged in it.
    window: Mutex<Option<(Instant, u32)>>,
    suppressed: AtomicU64,
}

impl LogLimiter {
    /// One line per `interval`.
    pub const fn new(interval: Duration) -> Self {
        Self::with_burst(1, interval)
    }

    /// `burst` lines per `interval` (a program's error usually takes a few lines; its chatter
    /// must still not flood the log).
    pub const fn with_burst(burst: u32, interval: Duration) -> Self {
        Self {
            interval,
            burst,
            window: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be logged now, `n` being how many were held back since the
    /// last one; `None` when this one should be dropped (it is counted).
    pub fn allow(&self) -> Option<u64> {
        let now = Instant::now();
        let mut window = self.window.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *window {
            Some((start, lines)) if now.duration_since(*start) < self.interval => {
                if *lines < self.burst {
                    *lines += 1;
                    Some(0)
                } else {
                    self.suppressed.fetch_add(1, Ordering::Relaxed);
                    None
                }
            }
            _ => {
                *window = Some((now, 1));
                Some(self.suppressed.swap(0, Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_line_within_interval_is_held_back_and_counted() {
        let l = LogLimiter::new(Duration::from_secs(3600));
        assert_eq!(l.allow(), Some(0));
        assert_eq!(l.allow(), None);
        assert_eq!(l.allow(), None);
        assert_eq!(l.suppressed.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn zero_interval_allows_every_line() {
        let l = LogLimiter::new(Duration::ZERO);
        assert_eq!(l.allow(), Some(0));
        assert_eq!(l.allow(), Some(0));
    }

    #[test]
    fn a_burst_passes_then_lines_are_counted_until_the_next_interval() {
        let l = LogLimiter::with_burst(3, Duration::from_millis(300));
        assert_eq!([l.allow(), l.allow(), l.allow()], [Some(0); 3]);
        assert_eq!(l.allow(), None);
        assert_eq!(l.allow(), None);
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(
            l.allow(),
            Some(2),
            "the next interval reports what was held back"
        );
        assert_eq!(l.allow(), Some(0));
    }
}
