//! Configuration: the file on disk ([`file::ConfigFile`]) is parsed and validated once, at
//! start, into a [`Config`] the rest of the program uses. Every error names the file, the
//! line and what to do.

mod context;
mod error;
pub mod file;
pub mod resolve;
mod secrets;
pub mod sources;

pub use error::ConfigError;
pub use file::AuthMode;
pub use file::ConfigFile;
pub use resolve::{AuthConfig, CameraConfig, Config, ServerConfig};
pub use secrets::secret_files;
pub use sources::SourceConfig;

use std::path::{Path, PathBuf};

/// The commented example printed by `lookout config example`; a test checks it is valid.
pub const EXAMPLE: &str = include_str!("example.toml");

/// Where the config comes from when `--config` is not given, in order.
pub const DEFAULT_PATHS: [&str; 2] = ["lookout.toml", "/etc/lookout/lookout.toml"];

/// Parses and validates config text; `path` is only used in error messages.
pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
    let file: ConfigFile =
        toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, &e))?;
    resolve::resolve(file, path, text)
}

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: shown.clone(),
        line: None,
        msg: format!("cannot read the config file: {e}"),
        fix: Some(
            "check the path, or run `lookout config example > lookout.toml` to start one".into(),
        ),
    })?;
    let mut config = parse(&text, &shown)?;
    config.origin = Some(path.to_path_buf());
    Ok(config)
}

/// `--config` if given, else the first default path that exists, else the demo camera.
pub fn discover(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    if let Some(path) = explicit {
        return load(path);
    }
    for p in DEFAULT_PATHS {
        let path = PathBuf::from(p);
        if path.exists() {
            return load(&path);
        }
    }
    Ok(demo())
}

/// The configuration used when there is no config file: one animated test pattern.
pub fn demo() -> Config {
    // No accounts for the demo: `lookout serve` refuses `mode = "none"` unless every listener
    // is loopback, and switches the demo to logins when it is not.
    let text = "[auth]\nmode = \"none\"\n[[camera]]\nid = \"demo\"\nname = \"Demo camera\"\n[camera.source]\nkind = \"testpattern\"\n";
    // The demo text is fixed and covered by a test; failing here would be a bug of ours.
    parse(text, "<demo>").unwrap_or_else(|e| panic!("built-in demo config is invalid: {e}"))
}

#[cfg(test)]
mod tests;
