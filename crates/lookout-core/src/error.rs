//! One error type for all of Lookout: a kind a caller can act on, a message for people, and the
//! error that caused it. The web layer maps kinds to HTTP statuses in one function
//! (`lookout::web::error::status_for`); the CLI prints the whole chain.
//!
//! Modelled on moonfire-nvr's `base::Error`: the kind says what to do about it (retry, fix the
//! input, sign in), the message says what happened in the operator's words, and `source()` keeps
//! the underlying error (an `io::Error`, a SQLite error) for the log without putting its text in
//! front of a client.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What went wrong, in terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller asked for something malformed or out of range (HTTP 400).
    InvalidInput,
    /// The caller did not say who it is, or the credentials are wrong (HTTP 401).
    Unauthenticated,
    /// The caller is known but may not do this (HTTP 403).
    PermissionDenied,
    /// The named thing does not exist (HTTP 404).
    NotFound,
    /// What the caller wants to create exists already (HTTP 409).
    AlreadyExists,
    /// The request is valid but the state of things forbids it now, e.g. deleting the last
    /// admin (HTTP 409).
    FailedPrecondition,
    /// A limit was reached: too many attempts, connections or variants (HTTP 429); retrying
    /// later may work.
    ResourceExhausted,
    /// The thing exists but cannot answer now, e.g. a camera that is offline or a database
    /// that cannot be read (HTTP 503).
    Unavailable,
    /// Waited too long for something that may come later (HTTP 503).
    Timeout,
    /// Input data (a frame, a file, the database) is damaged.
    Corrupt,
    /// A bug or an unexpected failure of ours (HTTP 500, details only in the log).
    Internal,
}

impl ErrorKind {
    /// A short name for logs and JSON (`invalid_input`, `not_found`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::FailedPrecondition => "failed_precondition",
            ErrorKind::ResourceExhausted => "resource_exhausted",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The cause of an error: shared, so that [`Error`] stays `Clone` (a variant's result is shared
/// by every viewer that asked for it).
type Source = Arc<dyn StdError + Send + Sync + 'static>;

#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    msg: String,
    source: Option<Source>,
    retry_after: Option<Duration>,
}

impl Error {
    pub fn new(kind: ErrorKind, msg: impl Into<String>) -> Self {
        Self {
            kind,
            msg: msg.into(),
            source: None,
            retry_after: None,
        }
    }
    /// An error of `kind` that says `msg` and was caused by `source`.
    pub fn wrap(
        kind: ErrorKind,
        msg: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self::new(kind, msg).with_source(source)
    }
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, msg)
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, msg)
    }
    pub fn unauthenticated(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, msg)
    }
    pub fn permission_denied(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::PermissionDenied, msg)
    }
    pub fn exhausted(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::ResourceExhausted, msg)
    }
    pub fn unavailable(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, msg)
    }
    pub fn corrupt(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Corrupt, msg)
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, msg)
    }

    /// Keeps `source` as the cause (shown by [`Error::chain`] and `source()`, never by
    /// [`Error::message`]).
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }
    /// When trying again may work: a lock that lifts, a limit that frees up.
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }
    /// The same error with `context` in front of its message ("reading lookout.toml: …").
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.msg = format!("{context}: {}", self.msg);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// What happened, in the operator's words, without the causes: what a client may see.
    pub fn message(&self) -> &str {
        &self.msg
    }
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
    /// The message followed by every cause, for logs and the command line:
    /// `cannot open the database /var/lib/lookout/lookout.db: unable to open database file`.
    pub fn chain(&self) -> Chain<'_> {
        Chain(self)
    }
}

/// [`Error::chain`]'s display.
pub struct Chain<'a>(&'a Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.msg.clone();
        let mut next = self
            .0
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static));
        while let Some(cause) = next {
            let text = cause.to_string();
            // Causes that only repeat what is said already add nothing: the message may end
            // with the cause, or hold it before the fix ("cannot listen on X: {e}; pick
            // another port"), and errors made with `thiserror` often print their own source.
            if !text.is_empty() && !shown.contains(&text) {
                shown.push_str(": ");
                shown.push_str(&text);
            }
            next = cause.source();
        }
        f.write_str(&shown)
    }
}

impl fmt::Display for Error {
    /// The message only; use [`Error::chain`] to show the causes too.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({}: {})", self.kind, self.chain())
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// Adds a kind and a message to any error on its way up: `fs::read(p).err_kind(ErrorKind::
/// NotFound, || format!("cannot read {}", p.display()))?`.
pub trait ResultExt<T> {
    fn err_kind<M: Into<String>>(
        self,
        kind: ErrorKind,
        msg: impl FnOnce() -> M,
    ) -> Result<T, Error>;
}

impl<T, E: StdError + Send + Sync + 'static> ResultExt<T> for Result<T, E> {
    fn err_kind<M: Into<String>>(
        self,
        kind: ErrorKind,
        msg: impl FnOnce() -> M,
    ) -> Result<T, Error> {
        self.map_err(|e| Error::wrap(kind, msg(), e))
    }
}

/// The kind an I/O error most likely means for the caller.
pub fn io_kind(e: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as Io;
    match e.kind() {
        Io::NotFound => ErrorKind::NotFound,
        Io::PermissionDenied => ErrorKind::PermissionDenied,
        Io::AlreadyExists => ErrorKind::AlreadyExists,
        Io::InvalidInput | Io::InvalidData => ErrorKind::InvalidInput,
        Io::TimedOut => ErrorKind::Timeout,
        Io::StorageFull | Io::QuotaExceeded | Io::OutOfMemory => ErrorKind::ResourceExhausted,
        Io::ConnectionRefused
        | Io::ConnectionReset
        | Io::ConnectionAborted
        | Io::NotConnected
        | Io::BrokenPipe
        | Io::HostUnreachable
        | Io::NetworkUnreachable
        | Io::AddrNotAvailable
        | Io::WouldBlock
        | Io::Interrupted => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}

impl From<std::io::Error> for Error {
    /// An I/O error with no more context than its own text; prefer [`ResultExt::err_kind`],
    /// which says what was being done.
    fn from(e: std::io::Error) -> Self {
        Error::wrap(io_kind(&e), e.to_string(), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_shows_every_cause_and_the_message_none() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
        let e = Error::wrap(ErrorKind::Unavailable, "cannot open lookout.db", io)
            .context("starting the store");
        assert_eq!(e.message(), "starting the store: cannot open lookout.db");
        assert_eq!(
            e.chain().to_string(),
            "starting the store: cannot open lookout.db: permission denied"
        );
        assert_eq!(e.to_string(), e.message());
        assert!(e.source().is_some());
    }

    #[test]
    fn a_cause_that_repeats_the_message_is_shown_once() {
        let io = std::io::Error::other("disk full");
        let e: Error = io.into();
        assert_eq!(e.chain().to_string(), "disk full");
    }

    #[test]
    fn a_cause_said_inside_the_message_or_by_its_parent_is_shown_once() {
        #[derive(Debug)]
        struct Parent(std::io::Error);
        impl fmt::Display for Parent {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "cannot create /srv/data: {}; make it writable", self.0)
            }
        }
        impl StdError for Parent {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let io = || std::io::Error::other("permission denied");
        let e = Error::wrap(ErrorKind::PermissionDenied, "starting", Parent(io()));
        assert_eq!(
            e.chain().to_string(),
            "starting: cannot create /srv/data: permission denied; make it writable"
        );
        let e = Error::wrap(
            ErrorKind::FailedPrecondition,
            "cannot listen on 127.0.0.1:80: permission denied; pick another port",
            io(),
        );
        assert_eq!(
            e.chain().to_string(),
            "cannot listen on 127.0.0.1:80: permission denied; pick another port"
        );
    }

    #[test]
    fn io_errors_keep_a_kind_a_caller_can_act_on() {
        let e: Error = std::io::Error::from(std::io::ErrorKind::NotFound).into();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let r: Result<(), _> = Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
        let e = r
            .err_kind(ErrorKind::Unavailable, || "writing a picture")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(
            io_kind(&std::io::Error::from(std::io::ErrorKind::StorageFull)),
            ErrorKind::ResourceExhausted
        );
    }

    #[test]
    fn errors_are_cloned_with_their_cause() {
        let e = Error::wrap(ErrorKind::Internal, "x", std::io::Error::other("y"))
            .with_retry_after(Duration::from_secs(3));
        let c = e.clone();
        assert_eq!(c.chain().to_string(), "x: y");
        assert_eq!(c.retry_after(), Some(Duration::from_secs(3)));
    }
}
