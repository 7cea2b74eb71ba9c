//! The revocation counter (`meta.auth_epoch`): every revocation (a session, a token, a user, a
//! password, a camera list) bumps it, also from another process (`lookout user`/`token`), and
//! the server, which polls it, re-checks every open stream's credentials when it changes.

use crate::db::Db;
use crate::error::StoreError;
use rusqlite::Connection;

/// Bumps the counter, in the caller's transaction if it has one.
pub(crate) fn bump_auth_epoch(conn: &Connection) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE meta SET value = value + 1 WHERE key = 'auth_epoch'",
        [],
    )?;
    Ok(())
}

pub fn auth_epoch(db: &Db<'_>) -> Result<i64, StoreError> {
    Ok(db
        .conn()
        .query_row("SELECT value FROM meta WHERE key = 'auth_epoch'", [], |r| {
            r.get(0)
        })?)
}
