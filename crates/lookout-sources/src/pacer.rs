//! The frame clock of sources that make their own frames (a folder of JPEGs, the test
//! pattern): a tick every `interval`, the first at once, and ticks missed while the runtime was
//! busy skipped, not made up with a burst, the phase kept (tokio's `interval` with
//! `MissedTickBehavior::Skip`).
//!
//! On Linux the ticks come from a kernel timer of the source's own ([`frame_timer`]), which the
//! runtime's I/O driver watches like a socket: one wake-up per frame. tokio's timers cost more
//! at frame rates: a deadline crossing a 64 ms boundary of its timer wheel wakes the runtime
//! once more to move it to the finer level, every other frame at 30 fps (docs/performance.md,
//! "Round 7"). Elsewhere, or if the kernel refuses a timer, two tokio sleeps
//! ([`two_sleeps`]) do it.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod frame_timer;
mod two_sleeps;

use std::time::Duration;
use two_sleeps::TwoSleeps;

#[derive(Debug)]
pub(crate) struct Pacer(Clock);

#[derive(Debug)]
enum Clock {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Kernel(frame_timer::FrameTimer),
    Sleeps(TwoSleeps),
}

impl Pacer {
    /// Must be called within the runtime (the kernel timer registers with its I/O driver).
    pub(crate) fn new(interval: Duration) -> Self {
        // A zero interval would tick without end in one instant; sources' rates are bounded
        // by their configs, this is a floor for safety.
        let interval = interval.max(Duration::from_millis(1));
        #[cfg(any(target_os = "linux", target_os = "android"))]
        match frame_timer::FrameTimer::new(interval) {
            Ok(timer) => return Self(Clock::Kernel(timer)),
            // Out of descriptors, most likely; the runtime's timer does the same job.
            Err(e) => {
                tracing::warn!(error = %e, "no kernel timer for the frame clock; using the runtime's")
            }
        }
        Self(Clock::Sleeps(TwoSleeps::new(interval)))
    }

    /// Waits for the next tick. Cancel-safe: dropped before it ends, the tick is still due.
    pub(crate) async fn tick(&mut self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Clock::Kernel(timer) = &mut self.0 {
            match timer.tick().await {
                Ok(()) => return,
                Err(e) => {
                    // Never seen: reading a timerfd fails only for a wrong buffer.
                    tracing::warn!(error = %e, "the frame clock's kernel timer failed; using the runtime's");
                    self.0 = Clock::Sleeps(TwoSleeps::new(timer.interval()));
                }
            }
        }
        if let Clock::Sleeps(sleeps) = &mut self.0 {
            sleeps.tick().await;
        }
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    //! The kernel timer in real time (the runtime's paused clock does not drive it; the two
    //! sleeps are tested on it in `two_sleeps`). Mostly lower bounds on waits are asserted: a
    //! busy machine makes ticks late, never early. The phase is the kernel's to keep (ticks at
    //! start + k × interval), so it is not timed here.
    use super::*;
    use std::time::Instant;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test]
    async fn on_linux_the_kernel_timer_paces() {
        let p = Pacer::new(10 * MS);
        assert!(matches!(p.0, Clock::Kernel(_)), "{p:?}");
    }

    #[tokio::test]
    async fn ticks_at_once_then_no_sooner_than_every_interval() {
        let start = Instant::now();
        let mut p = Pacer::new(50 * MS);
        p.tick().await;
        let first = start.elapsed();
        for _ in 0..4 {
            p.tick().await;
        }
        let fifth = start.elapsed();
        assert!(first < 50 * MS, "the first tick waited {first:?}");
        assert!(
            fifth >= 200 * MS,
            "five ticks 50 ms apart took only {fifth:?}"
        );
    }

    #[tokio::test]
    async fn missed_ticks_are_skipped_not_made_up() {
        let start = Instant::now();
        let mut p = Pacer::new(100 * MS);
        p.tick().await; // 0
        // Busy for 230 ms, blocking the runtime: the ticks at 100 and 200 are missed. The next
        // tick comes at once (late), and the one after at 300, not at once as a burst would.
        std::thread::sleep(230 * MS);
        let before_late = start.elapsed();
        p.tick().await;
        let late = start.elapsed();
        p.tick().await;
        let next = start.elapsed();
        assert!(
            late - before_late < 50 * MS,
            "the missed tick waited {:?}",
            late - before_late
        );
        assert!(next >= 300 * MS, "a missed tick came again at {next:?}");
    }

    #[tokio::test]
    async fn a_dropped_tick_is_still_due() {
        let mut p = Pacer::new(100 * MS);
        p.tick().await;
        let waited = tokio::time::timeout(5 * MS, p.tick()).await;
        assert!(waited.is_err(), "not due yet");
        // Due at 100 ms; a lost tick would make the next one come at 200.
        let start = Instant::now();
        p.tick().await;
        let took = start.elapsed();
        assert!(
            took < 150 * MS,
            "the tick after the dropped wait came a tick late: {took:?}"
        );
    }
}
