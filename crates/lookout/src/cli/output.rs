//! What the commands print. `println!` panics when standard output is a pipe whose reader has
//! gone (`lookout user check alice | grep -q true`, `lookout user list | head -1`): these
//! macros stop printing quietly instead, and the command ends with the exit status it would
//! have had (`user check` still says 0 or 1).
//!
//! Why not restore SIGPIPE's default action, as C programs have it? Rust sets SIGPIPE to
//! "ignore" before `main`, and `serve` and `alerts test` need that: std's `send` passes
//! MSG_NOSIGNAL, but vectored writes (`writev`, which hyper and rustls use on sockets) do not,
//! so a client that resets its connection would kill the server with SIGPIPE. A death by
//! signal would also turn `user check`'s answer into status 141.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Standard output's reader is gone: nothing more is written to it.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
/// The first write error other than a closed pipe (a full disk under `> file`).
static STDOUT_ERROR: Mutex<Option<std::io::Error>> = Mutex::new(None);

/// Writes to standard output; see the module's note. Use [`outln!`] and [`out!`].
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    // Flushed at once: the error, if any, belongs to this write, not to the exit.
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            let mut first = STDOUT_ERROR.lock().unwrap_or_else(|p| p.into_inner());
            first.get_or_insert(e);
        }
    }
}

/// Writes to standard error, ignoring errors: there is nowhere left to report them.
pub fn write_stderr(args: std::fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// A database timestamp as RFC 3339, for listings; any stored value prints.
pub fn when(secs: i64) -> String {
    lookout_store::timestamp::rfc3339(secs)
}

/// A write to standard output that failed for another reason than a closed pipe: the
/// command's output is incomplete, which its exit status must say.
pub fn stdout_error() -> Option<std::io::Error> {
    STDOUT_ERROR
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
}

macro_rules! outln {
    () => { $crate::cli::output::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::cli::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::output::write_stdout(format_args!($($arg)*)) };
}

macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cli::output::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {errln, out, outln};
