//! The store: one SQLite database in the data directory (users, sessions, API tokens; later
//! events and the alert outbox), schema-versioned by `PRAGMA user_version`.
//!
//! SQLite calls block, so async code goes through [`Store::run`], which runs them on the
//! blocking pool; a `std` mutex is right here because it is never held across an `.await`.

mod migrations;

use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "lookout.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Setup(String),
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database task stopped: {0}")]
    Task(String),
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
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Setup(format!(
                "cannot create the data directory {}: {e}; create it and make it writable by this user, or choose another with --data-dir",
                data_dir.display()
            ))
        })?;
        // A clear answer now beats "attempt to write a readonly database" on the first login.
        let probe = data_dir.join(".lookout-write-test");
        std::fs::write(&probe, b"ok").map_err(|e| {
            StoreError::Setup(format!(
                "the data directory {} is not writable: {e}; fix its owner or permissions, or choose another with --data-dir",
                data_dir.display()
            ))
        })?;
        let _ = std::fs::remove_file(&probe);
        let path = data_dir.join(DB_FILE);
        let conn = Connection::open(&path)?;
        Self::setup(conn, path)
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
        tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut c)
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
        f(&mut c)
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
