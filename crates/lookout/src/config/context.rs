//! What resolving needs to report an error: the file's name and text.

use super::ConfigError;

/// The file being resolved, for errors that name it and a line of it.
pub(super) struct Ctx<'a> {
    path: &'a str,
    text: &'a str,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(path: &'a str, text: &'a str) -> Self {
        Self { path, text }
    }

    pub(super) fn err(
        &self,
        offset: Option<usize>,
        msg: impl Into<String>,
        fix: impl Into<String>,
    ) -> ConfigError {
        ConfigError::at(self.path, self.text, offset, msg, fix)
    }

    /// Offset of the line that sets `key` (first match), for errors in `[server]`.
    pub(super) fn key_offset(&self, key: &str) -> Option<usize> {
        self.key_offset_from(0, key)
    }

    /// Offset of the first line setting `key` after the `n`-th (0-based) line that is
    /// exactly `header` (`[smtp]`, `[[alert]]`): errors point into the right table.
    pub(super) fn key_in(&self, header: &str, n: usize, key: &str) -> Option<usize> {
        let mut offset = 0;
        let mut seen = 0;
        for line in self.text.split_inclusive('\n') {
            if line.trim() == header {
                if seen == n {
                    return self.key_offset_from(offset, key).or(Some(offset));
                }
                seen += 1;
            }
            offset += line.len();
        }
        self.key_offset(key)
    }

    fn key_offset_from(&self, from: usize, key: &str) -> Option<usize> {
        let mut offset = from;
        for line in self.text.get(from..).unwrap_or("").split_inclusive('\n') {
            let t = line.trim_start();
            if t.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
            {
                return Some(offset + (line.len() - t.len()));
            }
            offset += line.len();
        }
        None
    }
}
