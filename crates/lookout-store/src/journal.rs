//! The database file's journal: WAL, so the command line can write (add a user, revoke a
//! session) while the server reads.

use rusqlite::{Connection, ErrorCode};
use std::time::{Duration, Instant};

/// How often a refused switch to WAL is tried again.
const RETRY_EVERY: Duration = Duration::from_millis(20);

/// Switches the file to WAL (a no-op once it is). SQLite refuses a change of journal mode at
/// once, without the busy handler, while another connection holds a write transaction (the
/// change needs the file to itself): for example another process creating the same new
/// database. That refusal is waited out for up to `wait`, like the busy timeout would.
pub(crate) fn use_wal(conn: &Connection, wait: Duration) -> rusqlite::Result<()> {
    let give_up_at = Instant::now() + wait;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::DatabaseBusy && Instant::now() < give_up_at =>
            {
                std::thread::sleep(RETRY_EVERY);
            }
            done => return done,
        }
    }
}
