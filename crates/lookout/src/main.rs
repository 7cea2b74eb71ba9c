//! The `lookout` binary.

use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = lookout::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("LOOKOUT_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(colour_logs())
        .init();
    lookout::cli::run(cli)
}

/// Colours only for a person at a terminal: journald, files and pipes would keep the escape
/// sequences as text. `NO_COLOR` (set and not empty, no-color.org) turns them off there too.
fn colour_logs() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
