//! `lookout config check FILE` and `lookout config example`.

use super::output::{errln, out};
use crate::config;
use clap::Subcommand;
use lookout_core::Error;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file and print it with every default filled in.
    Check { file: PathBuf },
    /// Print a commented example config.
    Example,
}

pub fn run(cmd: ConfigCommand) -> Result<ExitCode, Error> {
    match cmd {
        ConfigCommand::Example => {
            out!("{}", config::EXAMPLE);
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Check { file } => {
            let c = config::load(&file)?;
            match c.to_redacted_toml() {
                Ok(text) => out!("{text}"),
                Err(e) => errln!("(cannot print the resolved config: {e})"),
            }
            errln!("{}: OK ({} camera(s))", file.display(), c.cameras.len());
            Ok(ExitCode::SUCCESS)
        }
    }
}
