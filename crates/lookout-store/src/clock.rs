//! The store's clock: the time every query compares with (session and token expiry, retention,
//! alert schedules), in seconds since the Unix epoch as the database keeps it. Production reads
//! the system clock; a test holds a [`ManualClock`] and moves it, so an expiry days away is
//! checked without waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where a [`crate::Store`] reads the time.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system clock.
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// Seconds since the Unix epoch (0 for a system clock set before 1970).
    pub fn now_secs(&self) -> i64 {
        match &self.manual {
            Some(t) => t.load(Ordering::SeqCst),
            None => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        }
    }
}

/// A clock that stands still until it is moved: give [`ManualClock::clock`] to
/// [`crate::Store::with_clock`].
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(secs: i64) -> Self {
        Self(Arc::new(AtomicI64::new(secs)))
    }
    pub fn set(&self, secs: i64) {
        self.0.store(secs, Ordering::SeqCst);
    }
    pub fn advance(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(secs))
            });
    }
    /// The clock for a store: it reads this one's time.
    pub fn clock(&self) -> Clock {
        Clock {
            manual: Some(self.0.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let manual = ManualClock::new(1_700_000_000);
        let clock = manual.clock();
        assert_eq!(clock.now_secs(), 1_700_000_000);
        manual.advance(Duration::from_secs(90));
        assert_eq!(clock.now_secs(), 1_700_000_090);
        manual.set(5);
        assert_eq!(clock.now_secs(), 5);
        assert!(Clock::system().now_secs() > 1_700_000_000);
    }
}
