//! Exponential backoff for restarting a failed source.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Doubles from `initial` to `max`; each delay gets up to 10% jitter so that cameras that
/// failed together (a switch rebooted) do not all retry in the same instant.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            next: initial,
        }
    }

    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|t| t.subsec_nanos())
            .unwrap_or(0);
        d + d.mul_f64(f64::from(nanos % 100) / 1000.0)
    }

    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
        let secs: Vec<u64> = (0..5).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 5, 5]);
        b.reset();
        let d = b.next_delay();
        assert!(d >= Duration::from_secs(1) && d <= Duration::from_millis(1100));
    }
}
