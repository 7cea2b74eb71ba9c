//! The client's tokio runtime: one thread by default, because the bench shares the machine's
//! cores with the server it measures, and 1000 viewers that mostly wait on sockets need no
//! more; more threads for crowds one thread cannot read (10,000 viewers).

use std::io;

pub fn single_thread() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// `threads` worker threads; 1 is [`single_thread`].
pub fn with_threads(threads: usize) -> io::Result<tokio::runtime::Runtime> {
    if threads <= 1 {
        return single_thread();
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
}
