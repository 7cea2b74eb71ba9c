//! Hands memory back to the kernel after megabytes were freed. glibc keeps what was freed for
//! reuse, so without this a server that once held 1000 stalled viewers (about 25 KB each:
//! hyper's buffers, the connection and stream tasks, the hub's viewer slot) stays at that peak
//! for good (issue 17: 48 MB where idle is 11), and so does one whose camera stopped (its frame
//! and encoder buffers).

use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How often the allocator's free bytes are read: one wake-up and a walk of its free lists.
const CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// Free bytes gained since the last trim that make the next one worth it: a trim walks the
/// heap (about a millisecond); 2 MiB is the slack issue 17 allows after a crowd left.
const FREED_BEFORE_TRIM: u64 = 2 << 20;

/// Trimmed pages stay in the free lists, and a running camera's frames are allocated from them
/// and freed again, which makes them resident without changing the free byte count: so while
/// [`FREED_BEFORE_TRIM`] or more is free, trim this often too (a millisecond every 30 s).
const TRIM_INTERVAL_WHILE_FREE: Duration = Duration::from_secs(30);

/// Trims whenever the allocator holds [`FREED_BEFORE_TRIM`] more free bytes than after the last
/// trim (or than the least since), and every [`TRIM_INTERVAL_WHILE_FREE`] while that much is
/// free; ends on `shutdown`. Where the allocator cannot tell (not glibc), it ends at once.
pub async fn trim_when_freed(shutdown: CancellationToken) {
    let Some(mut baseline) = crate::allocator::free_bytes() else {
        return;
    };
    let mut tick = tokio::time::interval(CHECK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_trim = Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        let free = crate::allocator::free_bytes().unwrap_or(baseline);
        // Free memory taken again lowers the mark: freeing it later counts anew.
        baseline = baseline.min(free);
        if should_trim(baseline, free, last_trim.elapsed()) {
            // Off the runtime's threads: it holds each arena's lock while it walks it.
            let _ = tokio::task::spawn_blocking(crate::allocator::trim).await;
            last_trim = Instant::now();
            // Trimmed pages stay in the free lists (no longer resident): count from here.
            baseline = crate::allocator::free_bytes().unwrap_or(free);
        }
    }
}

fn should_trim(baseline: u64, free: u64, since_last_trim: Duration) -> bool {
    free >= baseline + FREED_BEFORE_TRIM
        || (free >= FREED_BEFORE_TRIM && since_last_trim >= TRIM_INTERVAL_WHILE_FREE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_after_megabytes_were_freed_and_while_they_stay_free() {
        let now = Duration::ZERO;
        assert!(should_trim(0, 40 << 20, now));
        assert!(should_trim(1 << 20, 3 << 20, now));
        assert!(!should_trim(1 << 20, (3 << 20) - 1, now));
        assert!(!should_trim(5 << 20, 5 << 20, now));
        // Nothing new freed, but megabytes free for 30 s: trimmed again.
        assert!(should_trim(5 << 20, 5 << 20, TRIM_INTERVAL_WHILE_FREE));
        assert!(!should_trim(1 << 20, 1 << 20, TRIM_INTERVAL_WHILE_FREE));
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
        let during = crate::allocator::free_bytes().unwrap();
        for b in blocks.iter_mut().step_by(2) {
            *b = None;
        }
        let after = crate::allocator::free_bytes().unwrap();
        // 4 MiB freed; other tests running at the same time may reuse some of it.
        assert!(
            after >= during + (3 << 20),
            "free bytes {during} then {after}"
        );
        drop(blocks);
        crate::allocator::trim();
    }
}
