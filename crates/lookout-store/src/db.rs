//! The database: one SQLite file in the data directory, opened (and created 0600 if need be),
//! brought up to date by the migrations and read whole at start; [`Store::run`] and
//! [`Store::blocking`] hand its connection, as a [`Db`], to the query functions of this crate,
//! which are the only ones that see it.
//!
//! SQLite calls block, so async code goes through [`Store::run`], which runs them on the
//! blocking pool; a `std` mutex is right here because it is never held across an `.await`.

use crate::clock::Clock;
use crate::error::{DB_FILE, StoreError, explain, io_error, sqlite_error};
use crate::{dir, files, journal, migrations};
use lookout_core::Error;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a statement waits for another process holding the database (the CLI writing while
/// the server runs), before "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    clock: Clock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// The database as the query functions see it, for one [`Store::run`] or [`Store::blocking`]:
/// the connection (private to this crate: the compiler keeps SQL here) and the time the call
/// began, so that every comparison in one call uses one instant.
pub struct Db<'c> {
    conn: &'c mut Connection,
    now: i64,
}

impl Db<'_> {
    /// Seconds since the Unix epoch by the store's clock, when this call began.
    pub fn now(&self) -> i64 {
        self.now
    }
    pub(crate) fn conn(&self) -> &Connection {
        self.conn
    }
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        self.conn
    }
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and brings its schema up to date.
    /// A new directory is 0700 and a new database 0600, whatever the umask; SQLite gives its
    /// `-wal` and `-shm` files the database's mode.
    pub fn open(data_dir: &Path) -> Result<Self, Error> {
        dir::prepare_dir(data_dir)?;
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            files::create_private_file(&path, false).map_err(|e| {
                io_error(data_dir, e, |io| StoreError::NotWritable {
                    dir: data_dir.to_path_buf(),
                    io,
                })
            })?;
        }
        Ok(Self::open_file(path, OpenFlags::default())?)
    }

    /// Opens the database in `data_dir` if there is one, and never creates it (nor the
    /// directory): for commands that read, or change what must exist already.
    pub fn open_existing(data_dir: &Path) -> Result<Self, Error> {
        let path = data_dir.join(DB_FILE);
        if !path.is_file() {
            return Err(StoreError::Missing {
                dir: data_dir.to_path_buf(),
            }
            .into());
        }
        // The default flags without SQLITE_OPEN_CREATE.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        Ok(Self::open_file(path, flags)?)
    }

    fn open_file(path: PathBuf, flags: OpenFlags) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| sqlite_error(&path, e))?;
        Self::setup(conn, path.clone()).map_err(|e| explain(&path, e))
    }

    /// A private database in memory, for tests.
    pub fn open_in_memory() -> Result<Self, Error> {
        let conn = Connection::open_in_memory().map_err(StoreError::from)?;
        Ok(Self::setup(conn, PathBuf::from(":memory:"))?)
    }

    fn setup(mut conn: Connection, path: PathBuf) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        journal::use_wal(&conn, BUSY_TIMEOUT)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrations::migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path,
            clock: Clock::system(),
        })
    }

    /// The same database read with `clock`'s time (tests move a [`crate::ManualClock`]).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Seconds since the Unix epoch by the store's clock: for schedules kept in the database.
    pub fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    /// Reads every page of the database (`PRAGMA quick_check`: the b-trees and their
    /// records, without the slower index cross-check of `integrity_check`), so that a damaged
    /// file stops the server at start, before it announces anything.
    pub fn check(&self) -> Result<(), Error> {
        let rows = self.blocking(|db| {
            let mut stmt = db.conn().prepare("PRAGMA quick_check(5)")?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        if rows.iter().all(|r| r == "ok") {
            return Ok(());
        }
        Err(StoreError::Damaged {
            path: self.path.clone(),
            detail: rows.join("; "),
        }
        .into())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the blocking pool with the database.
    pub async fn run<R, F>(&self, f: F) -> Result<R, Error>
    where
        R: Send + 'static,
        F: FnOnce(&mut Db<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.blocking(f))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Runs `f` on this thread: for the command line, which has no runtime, and for code on
    /// the blocking pool already.
    pub fn blocking<R>(
        &self,
        f: impl FnOnce(&mut Db<'_>) -> Result<R, StoreError>,
    ) -> Result<R, Error> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let mut db = Db {
            conn: &mut conn,
            now: self.clock.now_secs(),
        };
        Ok(f(&mut db).map_err(|e| explain(&self.path, e))?)
    }
}
