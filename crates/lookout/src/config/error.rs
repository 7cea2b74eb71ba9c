//! Config errors that say where and how to fix them: one [`ConfigError`] per problem
//! (`FILE:LINE: message` and a fix), all of a file's problems together in [`ConfigErrors`],
//! which callers turn into a [`lookout_core::Error`] of kind `InvalidInput`.

use lookout_core::{Error, ErrorKind};
use std::fmt;

/// One problem of a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    /// 1-based line, when the error is tied to a place in the file.
    pub line: Option<usize>,
    pub msg: String,
    pub fix: Option<String>,
}

impl ConfigError {
    pub(super) fn new(
        path: &str,
        line: Option<usize>,
        msg: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        let fix = fix.into();
        Self {
            path: path.to_owned(),
            line,
            msg: msg.into(),
            fix: (!fix.is_empty()).then_some(fix),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path, line, self.msg)?,
            None => write!(f, "{}: {}", self.path, self.msg)?,
        }
        if let Some(fix) = &self.fix {
            write!(f, "\n  fix: {fix}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one file, in line order (those tied to no line last): a file is
/// checked whole, so that one run shows everything to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    errors: Vec<ConfigError>,
    /// `InvalidInput`, or what reading the file failed with (`NotFound`, `PermissionDenied`).
    kind: ErrorKind,
}

impl ConfigErrors {
    /// `errors` must not be empty; they are put in line order.
    pub(super) fn new(mut errors: Vec<ConfigError>) -> Self {
        // Stable: problems on one line keep the order they were found in.
        errors.sort_by_key(|e| (e.line.is_none(), e.line));
        Self {
            errors,
            kind: ErrorKind::InvalidInput,
        }
    }

    /// The file could not be read at all.
    pub(super) fn unreadable(path: &str, e: &std::io::Error) -> Self {
        Self {
            errors: vec![ConfigError::new(
                path,
                None,
                format!("cannot read the config file: {e}"),
                "check the path, or run `lookout config example > lookout.toml` to start one",
            )],
            kind: lookout_core::error::io_kind(e),
        }
    }

    /// The problems, in line order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.errors
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigErrors> for Error {
    /// The whole list as the message: each line names the file, the line and the fix.
    fn from(e: ConfigErrors) -> Self {
        Error::new(e.kind, e.to_string())
    }
}
