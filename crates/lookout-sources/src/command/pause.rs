//! When a program's H.264 output pauses, is the picture held complete? Annex B gives a NAL
//! unit no length: its end is known only when the next start code arrives, a whole frame
//! interval later (33 ms at 30 fps, the largest part of a pipe camera's WebRTC latency:
//! docs/performance.md). ffmpeg and most encoders write each access unit in one go, so a pause
//! in the pipe after a slice means the picture is complete; a writer that pauses mid-unit
//! (stdio buffering, NAL by NAL with pauses) would have its pictures cut. So the pauses are
//! first watched without acting: only after [`PAUSES_TO_TRUST`] pauses in a row were each
//! followed by the start of a new access unit does a pause end the picture. Once the bytes
//! after a pause continue a unit, pauses are never trusted again for that run of the program.

use std::time::Duration;

/// Quiet time after a read that ended inside a slice before the writer is taken to pause.
/// Writes of one access unit follow each other within microseconds; 4 ms keeps most of the
/// frame interval's gain at 30 fps (and at 60 fps: 16.7 ms) and leaves room for a busy machine.
pub const PAUSE: Duration = Duration::from_millis(4);

/// Pauses in a row, each followed by a new access unit, before a pause ends a picture: a
/// second of video at 30 fps.
pub const PAUSES_TO_TRUST: u32 = 30;

/// What pauses mean for one run of a program.
#[derive(Debug, Default)]
pub struct PausePolicy {
    aligned_in_a_row: u32,
    /// Set for good once bytes after a pause continued an access unit.
    distrusted: bool,
    /// A pause was seen and the next bytes have not been checked yet.
    awaiting_check: bool,
}

/// What to do about the pause just seen.
#[derive(Debug, PartialEq, Eq)]
pub enum OnPause {
    /// End the picture held now.
    EndPicture,
    /// Keep waiting for the next unit's start, as without pauses.
    Wait,
}

/// What the bytes after a pause said about the writer.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// As expected (or not enough bytes to tell): nothing changes.
    Fine,
    /// Pauses are trusted from now on.
    Trusted,
    /// A unit went on after a pause that had been trusted: the picture ended there was cut.
    CutAPicture,
    /// A unit went on after a pause while still watching: nothing was cut.
    Distrusted,
}

impl PausePolicy {
    /// Whether to wait for a pause at all (after a read that ended inside a slice).
    pub fn watching(&self) -> bool {
        !self.distrusted && !self.awaiting_check
    }

    /// The writer paused inside a slice.
    pub fn paused(&mut self) -> OnPause {
        self.awaiting_check = true;
        if self.trusted() {
            OnPause::EndPicture
        } else {
            OnPause::Wait
        }
    }

    /// The first bytes after a pause arrived: `begins_unit` is whether they begin with a new
    /// access unit (`None`: too few to tell). Returns what changed.
    pub fn after_pause(&mut self, begins_unit: Option<bool>) -> Verdict {
        if !std::mem::replace(&mut self.awaiting_check, false) {
            return Verdict::Fine;
        }
        match begins_unit {
            None => Verdict::Fine,
            Some(true) => {
                self.aligned_in_a_row = self.aligned_in_a_row.saturating_add(1);
                if self.aligned_in_a_row == PAUSES_TO_TRUST {
                    Verdict::Trusted
                } else {
                    Verdict::Fine
                }
            }
            Some(false) => {
                let was_trusted = self.trusted();
                self.distrusted = true;
                if was_trusted {
                    Verdict::CutAPicture
                } else {
                    Verdict::Distrusted
                }
            }
        }
    }

    fn trusted(&self) -> bool {
        !self.distrusted && self.aligned_in_a_row >= PAUSES_TO_TRUST
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause_then(p: &mut PausePolicy, begins: Option<bool>) -> (OnPause, Verdict) {
        assert!(p.watching());
        let on = p.paused();
        assert!(!p.watching(), "one pause per read");
        (on, p.after_pause(begins))
    }

    #[test]
    fn pauses_end_pictures_only_after_a_second_of_aligned_ones() {
        let mut p = PausePolicy::default();
        for _ in 1..PAUSES_TO_TRUST {
            assert_eq!(
                pause_then(&mut p, Some(true)),
                (OnPause::Wait, Verdict::Fine)
            );
        }
        assert_eq!(
            pause_then(&mut p, Some(true)),
            (OnPause::Wait, Verdict::Trusted)
        );
        assert_eq!(
            pause_then(&mut p, Some(true)),
            (OnPause::EndPicture, Verdict::Fine)
        );
        // Too few bytes to tell changes nothing.
        assert_eq!(
            pause_then(&mut p, None),
            (OnPause::EndPicture, Verdict::Fine)
        );
    }

    #[test]
    fn a_unit_going_on_after_a_pause_ends_trust_for_good() {
        let mut p = PausePolicy::default();
        for _ in 0..PAUSES_TO_TRUST - 1 {
            pause_then(&mut p, Some(true));
        }
        assert_eq!(
            pause_then(&mut p, Some(false)),
            (OnPause::Wait, Verdict::Distrusted)
        );
        assert!(!p.watching());
        assert_eq!(p.after_pause(Some(true)), Verdict::Fine, "no pause pending");

        let mut p = PausePolicy::default();
        for _ in 0..PAUSES_TO_TRUST {
            pause_then(&mut p, Some(true));
        }
        assert_eq!(
            pause_then(&mut p, Some(false)),
            (OnPause::EndPicture, Verdict::CutAPicture)
        );
        assert!(!p.watching());
    }

    #[test]
    fn bytes_without_a_pause_are_not_checked() {
        let mut p = PausePolicy::default();
        assert_eq!(p.after_pause(Some(false)), Verdict::Fine);
        assert!(p.watching());
    }
}
