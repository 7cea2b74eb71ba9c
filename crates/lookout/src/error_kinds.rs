//! The config's errors as `lookout_core::Error`, so the startup and command-line paths carry one
//! error type with the operator's text unchanged and the original error as its cause.
//! (The store's errors convert in lookout-store.)

use crate::config::ConfigError;
use lookout_core::{Error, ErrorKind};

impl From<ConfigError> for Error {
    /// `FILE:LINE: what is wrong` and the fix, as the config says them.
    fn from(e: ConfigError) -> Self {
        Error::wrap(ErrorKind::InvalidInput, e.to_string(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_errors_are_invalid_input_with_file_line_and_fix() {
        let e: Error = ConfigError {
            path: "lookout.toml".into(),
            line: Some(3),
            msg: "unknown field `listn`".into(),
            fix: Some("remove or rename the key".into()),
        }
        .into();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            e.chain().to_string(),
            "lookout.toml:3: unknown field `listn`\n  fix: remove or rename the key"
        );
    }
}
