//! The `lookout` binary: takes the sockets systemd passed, parses the command line, runs the
//! command, and prints its error with every cause.

use clap::Parser;
use lookout::listen::systemd::SystemdSockets;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // SAFETY: the first statement of `main`: the standard library starts no thread before it,
    // and nothing has started one yet, so no thread reads the environment while
    // `take_from_env` removes LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES from it.
    let systemd = unsafe { SystemdSockets::take_from_env() };
    // Before any thread starts, so that none has made its own arena yet.
    lookout::allocator::limit_arenas();
    let cli = lookout::cli::Cli::parse();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("LOOKOUT_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour_logs())
        .finish();
    // RustDDS's and other `log` records join ours, the noisy ones lowered and rate-limited.
    if let Err(e) = lookout::log_bridge::init(subscriber) {
        let _ = writeln!(std::io::stderr().lock(), "{}", e.chain());
    }
    let code = match lookout::cli::run(cli, systemd) {
        Ok(code) => code,
        Err(e) => {
            // What happened and what to do, then the causes. Nowhere is left to report a
            // failed write to standard error.
            let _ = writeln!(std::io::stderr().lock(), "{}", e.chain());
            ExitCode::from(1)
        }
    };
    // A reader that went away early is no failure (see `cli::output`); a disk that filled up
    // under `> file` is.
    if let Some(e) = lookout::cli::stdout_error() {
        let _ = writeln!(std::io::stderr().lock(), "cannot write the output: {e}");
        return ExitCode::from(1);
    }
    code
}

/// Colours only for a person at a terminal: journald, files and pipes would keep the escape
/// sequences as text. `NO_COLOR` (set and not empty, no-color.org) turns them off there too.
fn colour_logs() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
