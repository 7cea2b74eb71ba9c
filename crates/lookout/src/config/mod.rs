//! Configuration: the file on disk is parsed and validated once, at start, into a [`Config`]
//! the rest of the program uses; the raw file stays in here. Settings types belong to the
//! modules that use them (`acme::AcmeSettings`, `server::RedirectHttp`, `ros::settings`…):
//! this module resolves into them and nothing imports it back.
//!
//! A file is checked whole: every error comes out in one run, in line order, each as
//! `FILE:LINE: message` with a fix. First every syntax error; if there is none, every unknown
//! key and wrong type ([`read`]); if there is none of those either, every value out of range
//! or inconsistent ([`resolve`]), as values cannot be judged before their types are right.

mod alerts;
mod context;
mod document;
mod error;
mod file;
mod mqtt;
mod read;
mod recording;
mod resolve;
mod ros;
mod secret_files;
mod secrets;
mod sources;
mod webrtc;
mod words;

pub use error::{ConfigError, ConfigErrors};
pub use file::AuthMode;
pub use resolve::{AuthConfig, CameraConfig, Config, ServerConfig, TlsConfig};
pub use secret_files::secret_files;
pub use sources::{RosSourceSettings, SourceConfig};

use context::Ctx;
use document::Doc;
use std::path::{Path, PathBuf};

/// The commented example printed by `lookout config example`; a test checks it is valid.
pub const EXAMPLE: &str = include_str!("example.toml");

/// Where the config comes from when `--config` is not given, in order.
pub const DEFAULT_PATHS: [&str; 2] = ["lookout.toml", "/etc/lookout/lookout.toml"];

/// Parses and validates config text; `path` is only used in error messages.
pub fn parse(text: &str, path: &str) -> Result<Config, ConfigErrors> {
    let doc = Doc::parse(text).map_err(|errors| {
        ConfigErrors::new(
            errors
                .into_iter()
                .map(|e| {
                    let line = e.offset.map(|o| document::line_of(text, o));
                    ConfigError::new(path, line, e.msg, "fix the TOML syntax at that line")
                })
                .collect(),
        )
    })?;
    let file = read::read(&doc, path).map_err(ConfigErrors::new)?;
    let cx = Ctx::new(path, &doc);
    let config = resolve::resolve(file, &cx);
    let errors = cx.finish();
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors::new(errors))
    }
}

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors::unreadable(&shown, &e))?;
    let mut config = parse(&text, &shown)?;
    config.origin = Some(path.to_path_buf());
    Ok(config)
}

/// `--config` if given, else the first default path that exists, else the demo camera.
pub fn discover(explicit: Option<&Path>) -> Result<Config, ConfigErrors> {
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
