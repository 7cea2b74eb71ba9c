//! What resolving needs to report errors: the file's name, the parsed file to find a key's
//! line in, and the list the errors go to (a file is checked whole, not up to its first error).

use super::ConfigError;
use super::document::{Doc, path};
use std::cell::RefCell;

pub(super) struct Ctx<'a> {
    path: &'a str,
    doc: &'a Doc<'a>,
    errors: RefCell<Vec<ConfigError>>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(path: &'a str, doc: &'a Doc<'a>) -> Self {
        Self {
            path,
            doc,
            errors: RefCell::new(Vec::new()),
        }
    }

    /// A problem with the value of `key`, a key path like `server.listen` or
    /// `camera[1].source.url`: reported at that key's line (or, for a key left at its
    /// default, at the line of its table).
    pub(super) fn report(&self, key: &str, msg: impl Into<String>, fix: impl Into<String>) {
        let line = self.doc.line_of(&path(key));
        self.push(ConfigError::new(self.path, line, msg, fix));
    }

    /// A problem of the whole file, tied to no line.
    pub(super) fn report_file(&self, msg: impl Into<String>, fix: impl Into<String>) {
        self.push(ConfigError::new(self.path, None, msg, fix));
    }

    fn push(&self, e: ConfigError) {
        self.errors.borrow_mut().push(e);
    }

    /// Every problem reported.
    pub(super) fn finish(self) -> Vec<ConfigError> {
        self.errors.into_inner()
    }
}
