//! glibc malloc settings for a long-running server: one arena, and freed memory handed back to
//! the kernel once a crowd of viewers has left (with what the allocator and Linux tell about
//! the heap, to know when). Other C libraries: nothing to do.

/// glibc gives a thread that finds the arenas busy a new arena, up to 8 per core, and memory
/// freed in one arena serves only that arena's later allocations. One arena, because
/// `malloc_trim` hands back only free chunks inside an arena other than the first, never the
/// free space at its end (its "top"), which glibc shrinks only when a free merges into a top
/// bigger than its trim threshold, and glibc raises that threshold to twice the biggest
/// mapped block freed (up to 64 MiB; a 720p frame's pixels are 2.7 MB). With 2 arenas, 33 s
/// after 1000 viewers left, the
/// second arena's top was 17 MB, 8.4 MB of it resident (issue 17; docs/performance.md, "Memory
/// at rest and after a crowd"). The threads then share one lock where their per-thread caches
/// (tcache) miss; fan-out CPU at 500 viewers measured the same with 1 and 2 arenas (16–19 ms
/// per 1000 frames). `MALLOC_ARENA_MAX` in the environment wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 1;

/// Limits glibc to one arena; call first thing in `main`, before any thread starts.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets one of malloc's parameters, under malloc's own lock; a
        // refusal (0) leaves glibc's default, which works, only with more arenas.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, ARENAS) };
    }
}

/// What the allocator holds, in bytes: free (in every arena, resident or not) and handed out
/// (in arenas and in blocks of their own mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapBytes {
    pub free: u64,
    pub in_use: u64,
}

/// The allocator's free and handed-out bytes, or `None` where it cannot tell. glibc's
/// `mallinfo` (not `mallinfo2`, which needs glibc 2.33: Raspberry Pi OS 11 has 2.31) counts
/// in `int`s, read here as `u32`: right up to 4 GiB, which a camera server's heap stays far
/// below. It walks the free lists under each arena's lock: call it once in seconds, not per
/// frame.
pub fn heap_bytes() -> Option<HeapBytes> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo only reads malloc's statistics, under each arena's lock.
        let info = unsafe { libc::mallinfo() };
        let bytes = |n: libc::c_int| u64::from(n as u32);
        Some(HeapBytes {
            free: bytes(info.fordblks),
            // `uordblks`: chunks handed out of the arenas; `hblkhd`: blocks mapped on their own.
            in_use: bytes(info.uordblks) + bytes(info.hblkhd),
        })
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    None
}

/// This process's resident anonymous memory (heap, thread stacks, other private mappings; not
/// the pages of its binary and libraries), or `None` where Linux's `/proc` cannot tell. One
/// read of `/proc/self/statm` (a line of page counts, proc(5)): resident minus shared, which
/// since Linux 4.5 is the file-backed and shared-memory pages, so the rest is `RssAnon`.
pub fn resident_anonymous_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let mut pages = statm.split_ascii_whitespace().skip(1);
        let resident: u64 = pages.next()?.parse().ok()?;
        let shared: u64 = pages.next()?.parse().ok()?;
        // SAFETY: sysconf only reads a constant of the system.
        let page_bytes = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
        Some(resident.saturating_sub(shared) * page_bytes)
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Returns the free memory of every arena to the kernel (whole free pages, also in the middle
/// of the heap). It locks each arena while it walks it: about a millisecond for a heap of tens
/// of MB, so it is called after megabytes were freed, not per connection.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory that is free; it takes each arena's lock.
    unsafe {
        libc::malloc_trim(0);
    }
}
