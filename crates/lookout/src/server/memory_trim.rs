//! Hands memory back to the kernel once freed heap memory stays resident. glibc keeps what was
//! freed for reuse, so without this a server that once held 1000 stalled viewers (about 25 KB
//! each: hyper's buffers, the connection and stream tasks, the hub's viewer slot) stays at that
//! peak for good (issue 17: 48 MB where idle is 11), and so does one whose camera stopped (its
//! frame and encoder buffers).

use crate::allocator::{self, HeapBytes};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the heap is looked at: one wake-up, a walk of the allocator's free lists
/// (`mallinfo`) and one read of /proc/self/statm.
const CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// Resident memory the allocator does not hand out, grown by this much since the last trim,
/// makes the next one worth it: a trim walks the heap (about a millisecond); 2 MiB is the slack
/// issue 17 allows after a crowd left. (1 MiB ended no lower in `lookout-bench memory`: 1.9–2.0
/// MB above idle in 3 runs, against 1.6–2.3 in 5; what is left then is no trim's to take.)
const WORTH_TRIMMING_BYTES: u64 = 2 << 20;

/// What one check reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Reading {
    heap: HeapBytes,
    resident_anonymous_bytes: u64,
}

impl Reading {
    fn now() -> Option<Self> {
        Some(Self {
            resident_anonymous_bytes: allocator::resident_anonymous_bytes()?,
            heap: allocator::heap_bytes()?,
        })
    }

    /// Resident anonymous memory that the allocator does not hand out: free heap pages still
    /// resident (what a trim gives back), and what no trim can (thread stacks, the free parts
    /// of pages in use, other private mappings).
    fn resident_unused_bytes(&self) -> u64 {
        self.resident_anonymous_bytes
            .saturating_sub(self.heap.in_use)
    }
}

/// Trims whenever [`TrimState::check`] says so, checking every [`CHECK_INTERVAL`]; ends on
/// `shutdown`. Where the allocator or Linux cannot tell (not glibc, no /proc), it ends at once.
pub async fn trim_when_freed(shutdown: CancellationToken) {
    let Some(start) = Reading::now() else {
        return;
    };
    let mut state = TrimState::new(start);
    let mut tick = tokio::time::interval(CHECK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        let Some(before) = Reading::now() else {
            continue;
        };
        if !state.check(before) {
            continue;
        }
        // Off the runtime's threads: it holds each arena's lock while it walks it.
        let _ = tokio::task::spawn_blocking(allocator::trim).await;
        let after = Reading::now().unwrap_or(before);
        tracing::debug!(
            gave_back_kib = before
                .resident_anonymous_bytes
                .saturating_sub(after.resident_anonymous_bytes)
                >> 10,
            resident_anonymous_kib = after.resident_anonymous_bytes >> 10,
            heap_in_use_kib = after.heap.in_use >> 10,
            "memory trim"
        );
        state.trimmed(before, after);
    }
}

/// What the trimming task knows between checks: the decision logic, apart from the clock and
/// the allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TrimState {
    /// Resident memory the allocator does not hand out that no trim will take: what the last
    /// trim left (at start: what there was), raised by a working set that came back after it.
    floor_bytes: u64,
    /// The readings before and after the last trim, until the next check has judged it.
    last_trim: Option<(Reading, Reading)>,
}

impl TrimState {
    fn new(start: Reading) -> Self {
        Self {
            floor_bytes: start.resident_unused_bytes(),
            last_trim: None,
        }
    }

    /// Takes one check's reading; whether to trim now. A trim is due when the allocator holds
    /// [`WORTH_TRIMMING_BYTES`] free and the resident memory it does not hand out is that much
    /// above the floor: a crowd that left or a camera that stopped (freed, still resident),
    /// or pages a trim gave back that something took and freed again. Free bytes alone would
    /// not do: trimmed pages stay free, so a server once past a crowd would trim for good with
    /// nothing to give back (the rule before, every 30 s).
    ///
    /// At the check after a trim, memory it gave back that is resident again but not in use
    /// was a working set (a running camera's frames are allocated and freed 30 times a second,
    /// from the pages just trimmed): the floor rises to it, so the trim is not repeated for
    /// good, each time faulting the same pages in again. A trim that gave nothing back left
    /// the floor where it was: none follows until more is freed.
    fn check(&mut self, now: Reading) -> bool {
        if let Some((before, after)) = self.last_trim.take() {
            let gave_back = before
                .resident_anonymous_bytes
                .saturating_sub(after.resident_anonymous_bytes);
            // Resident again, less what was taken into use since (more viewers, a camera).
            let came_back = now
                .resident_anonymous_bytes
                .saturating_sub(after.resident_anonymous_bytes)
                .saturating_sub(now.heap.in_use.saturating_sub(after.heap.in_use));
            if gave_back > 0 && came_back >= gave_back / 2 {
                self.floor_bytes = self.floor_bytes.max(now.resident_unused_bytes());
            }
        }
        now.heap.free >= WORTH_TRIMMING_BYTES
            && now.resident_unused_bytes() >= self.floor_bytes + WORTH_TRIMMING_BYTES
    }

    /// After a trim: what it could not give back is the new floor.
    fn trimmed(&mut self, before: Reading, after: Reading) {
        self.floor_bytes = after.resident_unused_bytes();
        self.last_trim = Some((before, after));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn reading(free: u64, in_use: u64, resident_anonymous_bytes: u64) -> Reading {
        Reading {
            heap: HeapBytes { free, in_use },
            resident_anonymous_bytes,
        }
    }

    /// A crowd of 27 MiB left and was trimmed: the state, and the reading the trim left
    /// (27 MiB free, 1 MiB in use, 2 MiB resident).
    fn trimmed_after_a_crowd() -> (TrimState, Reading) {
        let mut state = TrimState::new(reading(MIB / 2, MIB / 4, MIB));
        let left = reading(28 * MIB, MIB, 29 * MIB);
        assert!(state.check(left));
        let trimmed = reading(27 * MIB, MIB, 2 * MIB);
        state.trimmed(left, trimmed);
        (state, trimmed)
    }

    #[test]
    fn trims_once_freed_memory_stays_resident() {
        // Idle: 1 MiB resident, 0.25 of it in use; the start's 0.75 MiB is the floor.
        let idle = reading(MIB / 2, MIB / 4, MIB);
        let mut state = TrimState::new(idle);
        assert!(!state.check(idle));
        // A crowd in: resident memory grew, but all of it in use.
        assert!(!state.check(reading(MIB, 28 * MIB, 29 * MIB)));
        // The crowd left: 27 MiB freed and still resident.
        assert!(state.check(reading(28 * MIB, MIB, 29 * MIB)));
        // Just under WORTH_TRIMMING_BYTES above the floor is not worth a trim; that is.
        let (floor, worth) = (idle.resident_unused_bytes(), WORTH_TRIMMING_BYTES);
        let mut state = TrimState::new(idle);
        assert!(!state.check(reading(4 * MIB, MIB, MIB + floor + worth - 1)));
        assert!(state.check(reading(4 * MIB, MIB, MIB + floor + worth)));
    }

    #[test]
    fn after_a_trim_that_lasted_nothing_more_until_more_is_freed() {
        let (mut state, trimmed) = trimmed_after_a_crowd();
        // 27 MiB still free, but not resident: the rule before trimmed every 30 s for as long
        // as that much was free.
        for _ in 0..100 {
            assert!(!state.check(trimmed));
        }
        // The camera stops: its 3 MiB of frames freed and resident.
        assert!(state.check(reading(30 * MIB, MIB / 2, 4 * MIB + MIB / 2)));
    }

    #[test]
    fn a_trim_that_gave_nothing_back_is_not_repeated() {
        // Memory that no trim returns (a thread's stack, fragments between pieces in use).
        let mut state = TrimState::new(reading(MIB / 2, MIB / 4, MIB));
        let fragments = reading(27 * MIB, MIB, 5 * MIB);
        assert!(state.check(fragments));
        state.trimmed(fragments, fragments);
        for _ in 0..100 {
            assert!(!state.check(fragments));
        }
    }

    #[test]
    fn a_working_set_that_comes_back_after_a_trim_is_not_trimmed_again() {
        // A running camera: 3 MiB of frames in use, 3 MiB freed and taken again each frame.
        let running = reading(27 * MIB, 3 * MIB, 8 * MIB);
        let mut state = TrimState::new(reading(MIB / 2, MIB / 4, MIB));
        assert!(state.check(running));
        let trimmed = reading(27 * MIB, 3 * MIB, 5 * MIB);
        state.trimmed(running, trimmed);
        // By the next check the frames have taken the trimmed pages again: no trim, now or
        // later (measured without this rule: one every 2 s, each giving back 2.9 MB that came
        // straight back).
        for _ in 0..100 {
            assert!(!state.check(running));
        }
        // The camera stops: its frames are freed too, and that is worth a trim.
        assert!(state.check(reading(30 * MIB, MIB / 2, 8 * MIB)));
    }

    #[test]
    fn memory_taken_into_use_after_a_trim_is_not_a_working_set() {
        let (mut state, _) = trimmed_after_a_crowd();
        // New viewers: 20 MiB more resident, all of it in use.
        assert!(!state.check(reading(27 * MIB, 21 * MIB, 22 * MIB)));
        // They leave: that is trimmed again.
        assert!(state.check(reading(47 * MIB, MIB, 22 * MIB)));
    }

    #[test]
    fn trims_again_when_something_made_trimmed_pages_resident_later() {
        let (mut state, trimmed) = trimmed_after_a_crowd();
        assert!(!state.check(trimmed));
        // A while later a snapshot decoded 4 MiB of pixels into trimmed pages and freed them:
        // free bytes unchanged, 4 MiB resident again.
        assert!(state.check(reading(27 * MIB, MIB, 6 * MIB)));
    }

    #[test]
    fn nothing_free_is_nothing_to_trim() {
        // Resident memory outside the heap grew (stacks, other mappings), the heap has less
        // free than a trim is worth: nothing it could give back.
        let mut state = TrimState::new(reading(MIB / 2, MIB / 4, MIB));
        assert!(!state.check(reading(WORTH_TRIMMING_BYTES - 1, MIB, 10 * MIB)));
    }

    /// Freed megabytes show in the allocator's count, so the task sees them (glibc only).
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn the_allocator_counts_freed_megabytes() {
        // 128 blocks of 64 KiB: below glibc's mmap threshold (128 KiB), so they come from the
        // heap. Every other one is freed: kept ones between them stop the freed ones from
        // merging into the top of the heap, which glibc would hand back by itself.
        let mut blocks: Vec<Option<Vec<u8>>> =
            (0..128).map(|i| Some(vec![i as u8; 64 << 10])).collect();
        let during = allocator::heap_bytes().unwrap();
        for b in blocks.iter_mut().step_by(2) {
            *b = None;
        }
        let after = allocator::heap_bytes().unwrap();
        // 4 MiB freed; other tests running at the same time may reuse some of it.
        assert!(
            after.free >= during.free + (3 << 20),
            "free bytes {during:?} then {after:?}"
        );
        drop(blocks);
        allocator::trim();
    }

    /// The resident count is this process's own: touching 64 MiB of new pages shows.
    #[cfg(target_os = "linux")]
    #[test]
    fn resident_anonymous_memory_counts_touched_pages() {
        let before = allocator::resident_anonymous_bytes().unwrap();
        // Above glibc's largest mmap threshold (32 MiB), so a mapping of its own: new pages,
        // resident once written. 48 of 64 MiB: other tests may free memory meanwhile.
        let block = vec![1u8; 64 << 20];
        let touched = allocator::resident_anonymous_bytes().unwrap();
        assert!(
            touched >= before + (48 << 20),
            "resident anonymous {before} then {touched} bytes"
        );
        drop(block);
    }
}
