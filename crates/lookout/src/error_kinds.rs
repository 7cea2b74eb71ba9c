//! Kinds for the errors of the store and accounts, so that the startup and
//! command-line paths carry one error type (`lookout_core::Error`) with the operator's text
//! unchanged and the original error as its cause.
//!
//! These conversions belong with their error types; they live here until the store gives its
//! errors a kind itself (issue 12), and go away then. (The config's are in `config/error.rs`.)

use crate::auth::AuthError;
use crate::store::StoreError;
use crate::store::lock::LockError;
use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};

/// What a database error means for the caller.
pub fn store_kind(e: &StoreError) -> ErrorKind {
    match e {
        // A newer schema, or a rule the accounts code refused (a name that exists already).
        StoreError::Setup(_) => ErrorKind::FailedPrecondition,
        StoreError::Sql(e) => sql_kind(e),
        StoreError::Task(_) => ErrorKind::Internal,
        StoreError::CreateDir { source, .. } | StoreError::NotWritable { source, .. } => {
            io_kind(source)
        }
        StoreError::DiskFull { .. } => ErrorKind::ResourceExhausted,
        StoreError::Missing { .. } => ErrorKind::NotFound,
        StoreError::Damaged { .. } => ErrorKind::Corrupt,
        // Another server holds the data directory: stop it, or use another directory.
        StoreError::Lock(LockError::Held { .. }) => ErrorKind::FailedPrecondition,
        StoreError::Lock(LockError::Io { source, .. }) => io_kind(source),
    }
}

fn sql_kind(e: &rusqlite::Error) -> ErrorKind {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        // Locked for longer than the busy timeout: a later try may work.
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::CannotOpen) => {
            ErrorKind::Unavailable
        }
        Some(ErrorCode::ConstraintViolation) => ErrorKind::AlreadyExists,
        Some(ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => ErrorKind::PermissionDenied,
        Some(ErrorCode::DiskFull) => ErrorKind::ResourceExhausted,
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => ErrorKind::Corrupt,
        _ => ErrorKind::Internal,
    }
}

impl From<StoreError> for Error {
    /// The store's text (it says what to do) as the message, the store's error as the cause.
    fn from(e: StoreError) -> Self {
        Error::wrap(store_kind(&e), e.to_string(), e)
    }
}

impl From<AuthError> for Error {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Invalid(msg) => Error::invalid(msg),
            AuthError::Store(s) => s.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn database_errors_keep_their_text_once_and_get_a_kind() {
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let e: Error = StoreError::NotWritable {
            dir: PathBuf::from("/srv/lookout"),
            source: denied,
        }
        .into();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        let text = e.chain().to_string();
        assert!(text.starts_with("the data directory /srv/lookout is not writable: "));
        assert!(
            text.ends_with("or choose another with --data-dir"),
            "{text}"
        );
        assert_eq!(text, e.message(), "the cause is in the text once");

        let missing: Error = StoreError::Missing {
            dir: PathBuf::from("/srv/lookout"),
        }
        .into();
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert!(missing.chain().to_string().contains("lookout user add"));

        let held: Error = StoreError::Lock(LockError::Held {
            dir: PathBuf::from("/srv/lookout"),
            holder: Some(42),
        })
        .into();
        assert_eq!(held.kind(), ErrorKind::FailedPrecondition);
        assert!(held.chain().to_string().contains("(PID 42)"));

        let damaged: Error = StoreError::Damaged {
            path: PathBuf::from("/srv/lookout/lookout.db"),
            detail: "file is not a database".into(),
        }
        .into();
        assert_eq!(damaged.kind(), ErrorKind::Corrupt);
        let full: Error = StoreError::DiskFull {
            path: PathBuf::from("/srv"),
            detail: "No space left on device".into(),
        }
        .into();
        assert_eq!(full.kind(), ErrorKind::ResourceExhausted);
    }

    #[test]
    fn a_name_taken_is_a_precondition_and_a_bad_one_invalid_input() {
        let e: Error = AuthError::Invalid("the user name is empty".into()).into();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e: Error =
            StoreError::from(AuthError::Invalid("user \"a\" exists already".into())).into();
        assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
        assert_eq!(e.chain().to_string(), "user \"a\" exists already");
    }
}
