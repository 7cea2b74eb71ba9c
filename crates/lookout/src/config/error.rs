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
    /// The whole list as the message (each problem with its file, line and fix), the list as
    /// the cause.
    fn from(e: ConfigErrors) -> Self {
        Error::wrap(e.kind, e.to_string(), e)
    }
}

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
        let one = |line, msg: &str| {
            ConfigError::new("lookout.toml", line, msg, "remove or rename the key")
        };
        let e: Error = one(Some(3), "unknown field `listn`").into();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(
            e.chain().to_string(),
            "lookout.toml:3: unknown field `listn`\n  fix: remove or rename the key"
        );
        // All of a file's problems, in line order whatever order they were found in, those
        // tied to no line last.
        let all = ConfigErrors::new(vec![
            one(None, "no cameras configured"),
            one(Some(7), "b"),
            one(Some(2), "a"),
        ]);
        let e: Error = all.into();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let text = e.chain().to_string();
        let heads: Vec<&str> = text.lines().filter(|l| !l.starts_with("  fix:")).collect();
        assert_eq!(
            heads,
            [
                "lookout.toml:2: a",
                "lookout.toml:7: b",
                "lookout.toml: no cameras configured"
            ]
        );
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e: Error = ConfigErrors::unreadable("/nowhere/lookout.toml", &missing).into();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.message().contains("cannot read the config file"), "{e}");
    }
}
