//! Config errors that say where and how to fix them.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    /// 1-based line, when the error is tied to a place in the file.
    pub line: Option<usize>,
    pub msg: String,
    pub fix: Option<String>,
}

impl ConfigError {
    pub fn at(
        path: &str,
        text: &str,
        offset: Option<usize>,
        msg: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        let fix = fix.into();
        Self {
            path: path.to_owned(),
            line: offset.map(|o| line_of(text, o)),
            msg: msg.into(),
            fix: (!fix.is_empty()).then_some(fix),
        }
    }

    pub fn from_toml(path: &str, text: &str, e: &toml::de::Error) -> Self {
        let msg = e.message().trim().to_owned();
        let fix = if msg.contains("unknown field") {
            "remove or rename the key; docs/ref/config.md lists every key"
        } else if msg.contains("unknown variant") {
            "use one of the listed values"
        } else if msg.contains("missing field") {
            "add the key; `lookout config example` shows a complete camera"
        } else if msg.contains("invalid value") {
            "use a value in the range docs/ref/config.md gives for this key"
        } else if msg.contains("invalid type") {
            "check the value's type: strings need quotes, numbers do not"
        } else {
            "fix the TOML syntax at that line"
        };
        Self::at(path, text, e.span().map(|s| s.start), msg, fix)
    }
}

/// 1-based line number of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
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
