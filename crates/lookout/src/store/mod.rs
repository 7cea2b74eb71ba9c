//! The store: one SQLite database in the data directory (users, sessions, API tokens; later
//! events and the alert outbox), schema-versioned by `PRAGMA user_version`.
//!
//! SQLite calls block, so async code goes through [`Store::run`], which runs them on the
//! blocking pool; a `std` mutex is right here because it is never held across an `.await`.

pub mod events;
pub mod files;
pub mod lock;
mod migrations;
pub mod timestamp;

use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "lookout.db";

/// Where the operator reads how to restore the database.
const RESTORE_DOCS: &str = "\"The database, backup and restore\" in docs/guide/accounts.md";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Setup(String),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database task stopped: {0}")]
    Task(String),
    #[error(
        "cannot create the data directory {}: {source}; create it and make it writable by this user, or choose another with --data-dir",
        dir.display()
    )]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the data directory {} is not writable: {source}; fix its owner or permissions, or choose another with --data-dir",
        dir.display()
    )]
    NotWritable {
        dir: PathBuf,
        source: std::io::Error,
    },
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
    Lock(#[from] lock::LockError),
}

/// The error of an I/O operation on the data directory, with ENOSPC and EDQUOT said as a full
/// disk.
fn io_error(
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
fn sqlite_error(path: &Path, e: rusqlite::Error) -> StoreError {
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
fn explain(path: &Path, e: StoreError) -> StoreError {
    match e {
        StoreError::Sql(e) => sqlite_error(path, e),
        other => other,
    }
}

/// Creates the data directory (0700 whatever the umask) and checks it takes a file: a clear
/// answer now beats "attempt to write a readonly database" at the first login. The probe is
/// removed whether or not the write worked.
pub fn prepare_dir(data_dir: &Path) -> Result<(), StoreError> {
    files::create_private_dir(data_dir).map_err(|e| {
        io_error(data_dir, e, |source| StoreError::CreateDir {
            dir: data_dir.to_path_buf(),
            source,
        })
    })?;
    let probe = data_dir.join(".lookout-write-test");
    files::write_private(&probe, b"ok").map_err(|e| {
        io_error(data_dir, e, |source| StoreError::NotWritable {
            dir: data_dir.to_path_buf(),
            source,
        })
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and brings its schema up to date.
    /// A new directory is 0700 and a new database 0600, whatever the umask; SQLite gives its
    /// `-wal` and `-shm` files the database's mode.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        prepare_dir(data_dir)?;
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            files::create_private_file(&path, false).map_err(|e| {
                io_error(data_dir, e, |source| StoreError::NotWritable {
                    dir: data_dir.to_path_buf(),
                    source,
                })
            })?;
        }
        Self::open_file(path, OpenFlags::default())
    }

    /// Opens the database in `data_dir` if there is one, and never creates it (nor the
    /// directory): for commands that read, or change what must exist already.
    pub fn open_existing(data_dir: &Path) -> Result<Self, StoreError> {
        let path = data_dir.join(DB_FILE);
        if !path.is_file() {
            return Err(StoreError::Missing {
                dir: data_dir.to_path_buf(),
            });
        }
        // The default flags without SQLITE_OPEN_CREATE.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        Self::open_file(path, flags)
    }

    fn open_file(path: PathBuf, flags: OpenFlags) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| sqlite_error(&path, e))?;
        Self::setup(conn, path.clone()).map_err(|e| match e {
            StoreError::Sql(e) => sqlite_error(&path, e),
            other => other,
        })
    }

    /// A private database in memory, for tests.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn setup(mut conn: Connection, path: PathBuf) -> Result<Self, StoreError> {
        // WAL lets the CLI write (add a user, revoke a session) while the server reads.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// Reads every page of the database (`PRAGMA quick_check`: the b-trees and their
    /// records, without the slower index cross-check of `integrity_check`), so that a damaged
    /// file stops the server at start, before it announces anything.
    pub fn check(&self) -> Result<(), StoreError> {
        let problems = self.blocking(|c| {
            let mut stmt = c.prepare("PRAGMA quick_check(5)")?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        });
        match problems {
            Ok(rows) if rows.iter().all(|r| r == "ok") => Ok(()),
            Ok(rows) => Err(StoreError::Damaged {
                path: self.path.clone(),
                detail: rows.join("; "),
            }),
            Err(e) => Err(e),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the blocking pool with the connection.
    pub async fn run<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut c).map_err(|e| explain(&path, e))
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `f` on this thread: for the command line, which has no runtime.
    pub fn blocking<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut c = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut c).map_err(|e| explain(&self.path, e))
    }
}

/// Seconds since the Unix epoch, as stored in the database.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The default data directory: /var/lib/lookout for root, else the user's XDG data dir.
pub fn default_data_dir() -> PathBuf {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/lib/lookout");
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("lookout");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".local/share/lookout"),
        None => PathBuf::from("lookout-data"),
    }
}
