//! The store's errors: each says what happened in the operator's words (with the file and what
//! to do when the database is damaged or the disk is full) and has a kind, so that callers act
//! on it without matching variants: `From<StoreError> for lookout_core::Error` keeps both.

use crate::lock::LockError;
use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};
use std::path::{Path, PathBuf};

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "lookout.db";

/// Where the operator reads how to restore the database.
const RESTORE_DOCS: &str = "\"The database, backup and restore\" in docs/guide/accounts.md";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// What the caller asked cannot be done (a name taken, a name too long, a password
    /// changed meanwhile); `kind` says which, the message says what to change.
    #[error("{msg}")]
    Refused { kind: ErrorKind, msg: String },
    #[error(
        "the database has schema version {found}, newer than this Lookout knows ({known}); run a newer Lookout or restore a backup"
    )]
    NewerSchema { found: usize, known: usize },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database task stopped: {0}")]
    Task(String),
    // The I/O error is part of the message, so it is no `source` (a chain would say it twice).
    #[error(
        "cannot create the data directory {}: {io}; create it and make it writable by this user, or choose another with --data-dir",
        dir.display()
    )]
    CreateDir { dir: PathBuf, io: std::io::Error },
    #[error(
        "the data directory {} is not writable: {io}; fix its owner or permissions, or choose another with --data-dir",
        dir.display()
    )]
    NotWritable { dir: PathBuf, io: std::io::Error },
    /// ENOSPC (or a quota): said as such, never as a permissions problem.
    #[error(
        "the disk holding {} is full ({detail}); free some space there (`df -h {}` shows it), or choose another data directory with --data-dir",
        path.display(), path.display()
    )]
    DiskFull { path: PathBuf, detail: String },
    /// A command that only reads found no database: it creates none.
    #[error(
        "there is no Lookout database in {} ({DB_FILE} does not exist), so there are no users or tokens yet; `lookout user add NAME --role admin` creates it. If the server keeps its data elsewhere, give this command the same --config or --data-dir as the server",
        dir.display()
    )]
    Missing { dir: PathBuf },
    #[error(
        "the database {} is damaged ({detail}). Stop Lookout, move {DB_FILE} (with {DB_FILE}-wal and {DB_FILE}-shm if they are there) out of {} and put a backup in its place: see {RESTORE_DOCS}. Without a backup, Lookout starts with an empty database once they are moved away (users, tokens and events are lost)",
        path.display(),
        path.parent().unwrap_or(Path::new(".")).display()
    )]
    Damaged { path: PathBuf, detail: String },
    #[error(transparent)]
    Lock(#[from] LockError),
}

impl StoreError {
    pub(crate) fn refused(kind: ErrorKind, msg: impl Into<String>) -> Self {
        StoreError::Refused {
            kind,
            msg: msg.into(),
        }
    }

    /// A refusal of what was asked, whose message is for whoever asked (a web client too);
    /// every other error's message is for the operator (it names files and what to do).
    pub fn is_refusal(&self) -> bool {
        matches!(self, StoreError::Refused { .. })
    }

    /// What the caller can do about it: `Corrupt` (damaged), `ResourceExhausted` (disk full),
    /// `Unavailable` (busy past the timeout, unreadable file), `AlreadyExists` (a unique name
    /// taken), `Internal` (a query of ours that is wrong), and the refusals' own kinds.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Refused { kind, .. } => *kind,
            StoreError::NewerSchema { .. } => ErrorKind::FailedPrecondition,
            StoreError::Sql(e) => sql_kind(e),
            StoreError::Task(_) => ErrorKind::Internal,
            StoreError::CreateDir { io, .. } | StoreError::NotWritable { io, .. } => io_kind(io),
            StoreError::DiskFull { .. } => ErrorKind::ResourceExhausted,
            StoreError::Missing { .. } => ErrorKind::NotFound,
            StoreError::Damaged { .. } => ErrorKind::Corrupt,
            StoreError::Lock(e) => e.kind(),
        }
    }
}

/// The kind of a SQLite error.
fn sql_kind(e: &rusqlite::Error) -> ErrorKind {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::ConstraintViolation) => ErrorKind::AlreadyExists,
        Some(C::NotADatabase | C::DatabaseCorrupt) => ErrorKind::Corrupt,
        Some(C::DiskFull) => ErrorKind::ResourceExhausted,
        // Busy past the busy timeout, or a file that cannot be read or written now: trying
        // again later may work.
        Some(
            C::DatabaseBusy
            | C::DatabaseLocked
            | C::ReadOnly
            | C::CannotOpen
            | C::PermissionDenied
            | C::SystemIoFailure
            | C::FileLockingProtocolFailed
            | C::OutOfMemory
            | C::NoLargeFileSupport,
        ) => ErrorKind::Unavailable,
        // A malformed query, a wrong column type, no row where one must be: ours to fix.
        _ => ErrorKind::Internal,
    }
}

impl From<StoreError> for Error {
    /// The store's message (the operator's words) with its kind; the error itself is the
    /// cause, so the SQLite error under a query's failure shows in the log's chain.
    fn from(e: StoreError) -> Self {
        Error::new(e.kind(), e.to_string()).with_source(e)
    }
}

/// The error of an I/O operation on the data directory, with ENOSPC and EDQUOT said as a full
/// disk.
pub(crate) fn io_error(
    path: &Path,
    e: std::io::Error,
    other: impl FnOnce(std::io::Error) -> StoreError,
) -> StoreError {
    match e.raw_os_error() {
        Some(libc::ENOSPC | libc::EDQUOT) => StoreError::DiskFull {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        _ => other(e),
    }
}

/// A SQLite error, said in the operator's words (with the file and what to do) when it is a
/// damaged file or a full disk: at open, and for every later query too.
pub(crate) fn sqlite_error(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Damaged {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
        Some(ErrorCode::DiskFull) => StoreError::DiskFull {
            path: path.parent().unwrap_or(path).to_path_buf(),
            detail: e.to_string(),
        },
        _ => StoreError::Sql(e),
    }
}

/// A query's error, with a damaged database or a full disk said as such.
pub(crate) fn explain(path: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Sql(e) => sqlite_error(path, e),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::ffi;

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn kinds_say_what_to_do() {
        let path = Path::new("/data/lookout.db");
        let kind = |code| Error::from(explain(path, StoreError::Sql(sqlite(code)))).kind();
        assert_eq!(kind(ffi::SQLITE_CORRUPT), ErrorKind::Corrupt);
        assert_eq!(kind(ffi::SQLITE_NOTADB), ErrorKind::Corrupt);
        assert_eq!(kind(ffi::SQLITE_FULL), ErrorKind::ResourceExhausted);
        assert_eq!(kind(ffi::SQLITE_BUSY), ErrorKind::Unavailable);
        assert_eq!(kind(ffi::SQLITE_IOERR), ErrorKind::Unavailable);
        assert_eq!(kind(ffi::SQLITE_CONSTRAINT), ErrorKind::AlreadyExists);
        assert_eq!(kind(ffi::SQLITE_ERROR), ErrorKind::Internal);
        let refused = StoreError::refused(ErrorKind::InvalidInput, "a name has 1 to 64 characters");
        assert_eq!(Error::from(refused).kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn the_message_is_the_operators_and_the_chain_says_nothing_twice() {
        let damaged = explain(
            Path::new("/data/lookout.db"),
            StoreError::Sql(sqlite(ffi::SQLITE_CORRUPT)),
        );
        let text = damaged.to_string();
        let e = Error::from(damaged);
        assert!(
            e.message()
                .starts_with("the database /data/lookout.db is damaged (")
        );
        assert_eq!(e.message(), text);
        assert_eq!(e.chain().to_string(), text);
        let io = std::io::Error::from_raw_os_error(libc::EACCES);
        let e = Error::from(StoreError::NotWritable {
            dir: "/data".into(),
            io,
        });
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(e.chain().to_string(), e.message());
    }
}
