//! Frames-per-second meters for the API: captured fps per camera, delivered fps per viewer.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts events in windows of about a second; reading gives the rate of the last full window,
/// or a decayed value when events stopped (a stalled camera must not show its old fps).
#[derive(Debug)]
pub struct RateMeter {
    inner: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    start: Instant,
    count: u32,
    rate: f64,
}

const WINDOW: Duration = Duration::from_secs(1);

impl Default for RateMeter {
    fn default() -> Self {
        Self::new()
    }
}

impl RateMeter {
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Window {
                start: Instant::now(),
                count: 0,
                rate: 0.0,
            }),
        }
    }

    pub fn tick(&self) {
        self.tick_at(Instant::now());
    }

    fn tick_at(&self, now: Instant) {
        let mut w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        w.count += 1;
        let elapsed = now.duration_since(w.start);
        if elapsed >= WINDOW {
            w.rate = f64::from(w.count) / elapsed.as_secs_f64();
            w.start = now;
            w.count = 0;
        }
    }

    /// Events per second, rounded to 0.1.
    pub fn rate(&self) -> f64 {
        self.rate_at(Instant::now())
    }

    fn rate_at(&self, now: Instant) -> f64 {
        let w = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.duration_since(w.start);
        let rate = if elapsed > 2 * WINDOW {
            // Nothing completed a window for a while: the rate is what this window holds.
            f64::from(w.count) / elapsed.as_secs_f64()
        } else {
            w.rate
        };
        (rate * 10.0).round() / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_ticks_a_second_reads_thirty() {
        let m = RateMeter::new();
        let t0 = m.inner.lock().unwrap().start;
        for i in 1..=60u32 {
            m.tick_at(t0 + Duration::from_secs_f64(f64::from(i) / 30.0));
        }
        let r = m.rate_at(t0 + Duration::from_secs(2));
        assert!((r - 30.0).abs() < 0.6, "rate {r}");
    }

    #[test]
    fn rate_decays_when_ticks_stop() {
        let m = RateMeter::new();
        let t0 = m.inner.lock().unwrap().start;
        for i in 1..=30u32 {
            m.tick_at(t0 + Duration::from_secs_f64(f64::from(i) / 30.0));
        }
        assert!(m.rate_at(t0 + Duration::from_millis(1500)) > 25.0);
        assert_eq!(m.rate_at(t0 + Duration::from_secs(60)), 0.0);
    }
}
