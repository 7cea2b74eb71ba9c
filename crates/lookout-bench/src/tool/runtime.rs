//! The client's tokio runtime: one thread, because the bench shares the machine's cores with the
//! server it measures, and 1000 viewers that mostly wait on sockets need no more.

use std::io;

pub fn single_thread() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}
