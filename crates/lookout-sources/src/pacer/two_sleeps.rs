//! Ticks from tokio's timer, for where there is no kernel timer of our own: two sleeps.
//!
//! Why not tokio's `interval`: tokio's timer wakes the runtime's I/O driver (a write to its
//! eventfd) whenever a task sets a deadline earlier than every other timer it holds. An
//! interval sets its next deadline right after the last one fired, when it often holds no
//! other, so with few viewers every frame cost a `write` to the eventfd and an `epoll_wait`
//! that returned at once, two system calls for nothing (`perf trace`, docs/performance.md,
//! "Round 6"). These two sleeps take turns: while one waits for the next frame, the other is
//! set for the frame after it, so a deadline set here is never the earliest. (What they
//! cannot avoid: the timer wheel's extra wake-up when a deadline crosses a 64 ms boundary,
//! "Round 7", which is why Linux uses [`super::frame_timer`].)

use std::pin::Pin;
use std::time::Duration;
use tokio::time::{Instant, Sleep, sleep_until};

#[derive(Debug)]
pub(super) struct TwoSleeps {
    interval: Duration,
    sleeps: [Pin<Box<Sleep>>; 2],
    /// Which of `sleeps` ends first, and when.
    next: usize,
    deadline: Instant,
}

impl TwoSleeps {
    pub(super) fn new(interval: Duration) -> Self {
        let now = Instant::now();
        Self {
            interval,
            sleeps: [
                Box::pin(sleep_until(now)),
                Box::pin(sleep_until(now + interval)),
            ],
            next: 0,
            deadline: now,
        }
    }

    /// Waits for the next tick. Cancel-safe: dropped before it ends, the tick is still due.
    pub(super) async fn tick(&mut self) {
        self.sleeps[self.next].as_mut().await;
        let fired = self.deadline;
        let other = 1 - self.next;
        let mut upcoming = fired + self.interval;
        let now = Instant::now();
        if now > upcoming {
            // Late by more than a tick: skip what was missed, keeping the phase.
            let into_tick = (now - fired).as_nanos() % self.interval.as_nanos();
            // Below `interval`, which is a `Duration`: it fits.
            let into_tick = Duration::from_nanos(u64::try_from(into_tick).unwrap_or(0));
            upcoming = now + (self.interval - into_tick);
            self.sleeps[other].as_mut().reset(upcoming);
        }
        // Set while `upcoming` is still held, so this later deadline wakes nothing.
        self.sleeps[self.next]
            .as_mut()
            .reset(upcoming + self.interval);
        self.next = other;
        self.deadline = upcoming;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[tokio::test(start_paused = true)]
    async fn ticks_at_once_then_every_interval() {
        let start = Instant::now();
        let mut p = TwoSleeps::new(33 * MS);
        let mut at = Vec::new();
        for _ in 0..5 {
            p.tick().await;
            at.push((Instant::now() - start).as_millis());
        }
        assert_eq!(at, [0, 33, 66, 99, 132]);
    }

    #[tokio::test(start_paused = true)]
    async fn missed_ticks_are_skipped_and_the_phase_kept() {
        let start = Instant::now();
        let mut p = TwoSleeps::new(10 * MS);
        p.tick().await; // 0
        p.tick().await; // 10
        // Busy for 35 ms: the tick due at 20 comes late, at 45; those at 30 and 40 are
        // skipped, and the next is at 50.
        tokio::time::advance(35 * MS).await;
        p.tick().await;
        let late = (Instant::now() - start).as_millis();
        p.tick().await;
        let next = (Instant::now() - start).as_millis();
        assert_eq!(late, 45);
        assert_eq!(next, 50);
        p.tick().await;
        assert_eq!((Instant::now() - start).as_millis(), 60);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_tick_is_still_due() {
        let start = Instant::now();
        let mut p = TwoSleeps::new(20 * MS);
        p.tick().await;
        let waited = tokio::time::timeout(5 * MS, p.tick()).await;
        assert!(waited.is_err(), "not due yet");
        p.tick().await;
        assert_eq!((Instant::now() - start).as_millis(), 20);
    }
}
