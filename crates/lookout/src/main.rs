//! The `lookout` binary.

use clap::Parser;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = lookout::cli::Cli::parse();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("LOOKOUT_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .finish();
    // RustDDS's and other `log` records join ours, the noisy ones lowered and rate-limited.
    if let Err(e) = lookout::log_bridge::init(subscriber) {
        eprintln!("{e}");
    }
    lookout::cli::run(cli)
}
