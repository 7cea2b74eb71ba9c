//! From per-frame motion to events: a start after enough consecutive motion frames, an end
//! once no frame has had motion for the cooldown.

use std::time::{Duration, Instant};

/// An event begins or ends with this frame (or with this call, for
/// [`MotionDetector::poll`](super::MotionDetector::poll) and
/// [`MotionDetector::finish`](super::MotionDetector::finish)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventEdge {
    /// Motion went on for the configured number of consecutive frames.
    Start {
        /// The first frame of that run, which is when the event began.
        started_at: Instant,
    },
    /// No motion for the cooldown, or the detector was told to finish.
    End {
        started_at: Instant,
        /// The last frame that had motion: the event's real end.
        last_motion_at: Instant,
        /// The highest score of the event's frames, run-up included.
        peak_score: f32,
        /// Frames that had motion in the event.
        motion_frames: u32,
    },
}

#[derive(Debug, Clone, Copy)]
enum State {
    Idle {
        /// Consecutive motion frames so far, with the first one's time and the best score.
        run: u32,
        run_started_at: Option<Instant>,
        run_peak: f32,
    },
    Active {
        started_at: Instant,
        last_motion_at: Instant,
        peak_score: f32,
        motion_frames: u32,
    },
}

const IDLE: State = State::Idle {
    run: 0,
    run_started_at: None,
    run_peak: 0.0,
};

/// Turns frame verdicts into [`EventEdge`]s.
#[derive(Debug, Clone)]
pub struct EventTracker {
    min_frames: u32,
    cooldown: Duration,
    state: State,
}

/// What one frame did to the event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub edge: Option<EventEdge>,
    /// This frame's score is the best of its event (or of the run that may become one) so far:
    /// its picture is the one to keep as the event's snapshot.
    pub peak: bool,
}

impl EventTracker {
    /// `min_frames` below 1 counts as 1.
    pub fn new(min_frames: u32, cooldown: Duration) -> Self {
        Self {
            min_frames: min_frames.max(1),
            cooldown,
            state: IDLE,
        }
    }

    /// Whether an event is going on.
    pub fn active(&self) -> bool {
        matches!(self.state, State::Active { .. })
    }

    /// One analysed frame taken at `at`.
    pub fn step(&mut self, motion: bool, score: f32, at: Instant) -> Step {
        match &mut self.state {
            State::Idle {
                run,
                run_started_at,
                run_peak,
            } => {
                if !motion {
                    self.state = IDLE;
                    return Step {
                        edge: None,
                        peak: false,
                    };
                }
                *run += 1;
                let started_at = *run_started_at.get_or_insert(at);
                let peak = *run == 1 || score > *run_peak;
                if peak {
                    *run_peak = score;
                }
                if *run < self.min_frames {
                    return Step { edge: None, peak };
                }
                self.state = State::Active {
                    started_at,
                    last_motion_at: at,
                    peak_score: *run_peak,
                    motion_frames: *run,
                };
                Step {
                    edge: Some(EventEdge::Start { started_at }),
                    peak,
                }
            }
            State::Active {
                last_motion_at,
                peak_score,
                motion_frames,
                ..
            } => {
                if motion {
                    *last_motion_at = at;
                    *motion_frames += 1;
                    let peak = score > *peak_score;
                    if peak {
                        *peak_score = score;
                    }
                    return Step { edge: None, peak };
                }
                Step {
                    edge: self.poll(at),
                    peak: false,
                }
            }
        }
    }

    /// Ends the event if the cooldown has passed by `at` with no motion: for when frames stop
    /// coming (the camera went offline) and no [`step`](Self::step) would notice.
    pub fn poll(&mut self, at: Instant) -> Option<EventEdge> {
        match self.state {
            State::Active { last_motion_at, .. }
                if at.saturating_duration_since(last_motion_at) >= self.cooldown =>
            {
                self.finish()
            }
            _ => None,
        }
    }

    /// Ends the event now, if there is one; forgets a run that has not become one.
    pub fn finish(&mut self) -> Option<EventEdge> {
        let edge = match self.state {
            State::Active {
                started_at,
                last_motion_at,
                peak_score,
                motion_frames,
            } => Some(EventEdge::End {
                started_at,
                last_motion_at,
                peak_score,
                motion_frames,
            }),
            State::Idle { .. } => None,
        };
        self.state = IDLE;
        edge
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn starts_after_min_frames_and_ends_after_cooldown() {
        let t0 = Instant::now();
        let mut ev = EventTracker::new(3, Duration::from_secs(5));
        assert_eq!(ev.step(true, 0.1, at(t0, 0)).edge, None);
        assert_eq!(ev.step(true, 0.3, at(t0, 100)).edge, None);
        let s = ev.step(true, 0.2, at(t0, 200));
        assert_eq!(s.edge, Some(EventEdge::Start { started_at: t0 }));
        assert!(!s.peak, "0.2 is below the run's 0.3");
        assert!(
            ev.step(false, 0.0, at(t0, 5100)).edge.is_none(),
            "4.9 s after"
        );
        assert_eq!(
            ev.step(false, 0.0, at(t0, 5200)).edge,
            Some(EventEdge::End {
                started_at: t0,
                last_motion_at: at(t0, 200),
                peak_score: 0.3,
                motion_frames: 3,
            })
        );
        assert!(!ev.active());
    }

    #[test]
    fn a_broken_run_starts_nothing() {
        let t0 = Instant::now();
        let mut ev = EventTracker::new(3, Duration::from_secs(5));
        for i in 0..10 {
            let motion = i % 3 != 2; // two on, one off
            assert_eq!(ev.step(motion, 0.5, at(t0, i * 100)).edge, None);
        }
        assert!(!ev.active());
    }

    #[test]
    fn motion_during_cooldown_extends_the_event_and_peaks_are_flagged() {
        let t0 = Instant::now();
        let mut ev = EventTracker::new(1, Duration::from_secs(1));
        let first = ev.step(true, 0.1, t0);
        assert!(first.peak && matches!(first.edge, Some(EventEdge::Start { .. })));
        assert!(ev.step(false, 0.0, at(t0, 900)).edge.is_none());
        assert!(ev.step(true, 0.4, at(t0, 950)).peak);
        assert!(ev.step(false, 0.0, at(t0, 1900)).edge.is_none());
        assert!(matches!(
            ev.poll(at(t0, 1950)),
            Some(EventEdge::End { peak_score, motion_frames: 2, .. }) if peak_score == 0.4
        ));
        assert_eq!(ev.poll(at(t0, 5000)), None);
    }

    #[test]
    fn finish_ends_at_once_and_time_going_backwards_is_harmless() {
        let t0 = Instant::now();
        let mut ev = EventTracker::new(1, Duration::from_secs(5));
        ev.step(true, 0.2, at(t0, 1000));
        assert_eq!(ev.poll(t0), None);
        assert!(ev.step(false, 0.0, t0).edge.is_none());
        assert!(matches!(ev.finish(), Some(EventEdge::End { .. })));
        assert_eq!(ev.finish(), None);
    }
}
