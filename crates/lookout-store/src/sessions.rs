//! Login sessions: the SHA-256 of the cookie's token (the token itself is lookout's `auth`
//! business and never reaches the database, so a stolen database holds no usable session),
//! with an idle and an absolute expiry.

use crate::db::Db;
use crate::error::StoreError;
use crate::revocation::bump_auth_epoch;
use crate::users::{User, get_on};
use lookout_core::ErrorKind;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::time::Duration;

/// How often a session's `last_seen` is written: every request would mean a write per
/// snapshot poll.
const TOUCH_EVERY_SECS: i64 = 60;

/// The user agent is kept for the session list, not in full.
const USER_AGENT_CHARS: usize = 200;

/// A session to create.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    /// SHA-256 of the cookie's token.
    pub token_hash: &'a [u8],
    /// The user as the password check saw them: the session is refused if their password
    /// changed since.
    pub user: &'a User,
    /// Ends this long after it is made...
    pub lifetime: Duration,
    /// ...or this long after its last request.
    pub idle: Duration,
    pub remember: bool,
    /// Who signed in, for the session list.
    pub client: &'a str,
    pub user_agent: &'a str,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Creates the session; its id. Refused (FailedPrecondition) if the user's password changed
/// after it was checked: the old password must not open a new session.
pub fn create(db: &Db<'_>, s: &NewSession<'_>) -> Result<i64, StoreError> {
    let now = db.now();
    let ua: String = s.user_agent.chars().take(USER_AGENT_CHARS).collect();
    let n = db.conn().execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen, expires_at, idle_secs, remember, client, user_agent, password_generation) \
         SELECT ?1, id, ?3, ?3, ?4, ?5, ?6, ?7, ?8, password_generation FROM users WHERE id = ?2 AND password_generation = ?9",
        params![
            s.token_hash,
            s.user.id,
            now,
            now.saturating_add(secs(s.lifetime)),
            secs(s.idle),
            s.remember,
            s.client,
            ua,
            s.user.password_generation
        ],
    )?;
    if n == 0 {
        return Err(StoreError::refused(
            ErrorKind::FailedPrecondition,
            "the password changed while signing in; sign in again",
        ));
    }
    Ok(db.conn().last_insert_rowid())
}

/// Live sessions: not expired, not idle too long, and made with the user's current password.
const LIVE: &str = "FROM sessions s JOIN users u ON u.id = s.user_id AND u.password_generation = s.password_generation \
    WHERE s.expires_at > ?2 AND s.last_seen + s.idle_secs > ?2";

/// The session's id and user, if the token hash names a live session; refreshes its idle
/// clock.
pub fn lookup(db: &Db<'_>, token_hash: &[u8]) -> Result<Option<(i64, User)>, StoreError> {
    let now = db.now();
    let row: Option<(i64, i64, i64)> = db
        .conn()
        .query_row(
            &format!("SELECT s.id, s.user_id, s.last_seen {LIVE} AND s.token_hash = ?1"),
            params![token_hash, now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, user_id, last_seen)) = row else {
        return Ok(None);
    };
    if now - last_seen >= TOUCH_EVERY_SECS {
        touch(db.conn(), id, now)?;
    }
    Ok(get_on(db.conn(), user_id)?.map(|u| (id, u)))
}

fn touch(conn: &Connection, id: i64, now: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE sessions SET last_seen = ?1 WHERE id = ?2",
        params![now, id],
    )?;
    Ok(())
}

/// The user of an open stream's session if the session is still live. Watching counts as
/// using the session, so this refreshes its idle clock: a stream watched for hours keeps its
/// session (up to the absolute limit), and the hourly purge agrees.
pub fn live_user(db: &Db<'_>, id: i64) -> Result<Option<i64>, StoreError> {
    let now = db.now();
    let user: Option<i64> = db
        .conn()
        .query_row(
            &format!("SELECT s.user_id {LIVE} AND s.id = ?1"),
            params![id, now],
            |r| r.get(0),
        )
        .optional()?;
    if user.is_some() {
        touch(db.conn(), id, now)?;
    }
    Ok(user)
}

pub fn revoke(db: &Db<'_>, id: i64) -> Result<bool, StoreError> {
    let n = db
        .conn()
        .execute("DELETE FROM sessions WHERE id = ?1", [id])?;
    bump_auth_epoch(db.conn())?;
    Ok(n > 0)
}

pub fn revoke_all(db: &Db<'_>, user_id: i64) -> Result<usize, StoreError> {
    let n = db
        .conn()
        .execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
    bump_auth_epoch(db.conn())?;
    Ok(n)
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionInfo {
    pub id: i64,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
    pub remember: bool,
    pub client: String,
    pub user_agent: String,
}

/// The user's live sessions, oldest first.
pub fn list(db: &Db<'_>, user_id: i64) -> Result<Vec<SessionInfo>, StoreError> {
    let mut stmt = db.conn().prepare(
        "SELECT id, created_at, last_seen, expires_at, remember, client, user_agent FROM sessions WHERE user_id = ?1 AND expires_at > ?2 AND last_seen + idle_secs > ?2 ORDER BY created_at",
    )?;
    let rows = stmt
        .query_map(params![user_id, db.now()], |r| {
            Ok(SessionInfo {
                id: r.get(0)?,
                created_at: r.get(1)?,
                last_seen: r.get(2)?,
                expires_at: r.get(3)?,
                remember: r.get(4)?,
                client: r.get(5)?,
                user_agent: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Deletes expired sessions (run now and then); how many.
pub fn purge_expired(db: &Db<'_>) -> Result<usize, StoreError> {
    Ok(db.conn().execute(
        "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen + idle_secs <= ?1",
        [db.now()],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::{self, Role};
    use crate::{ManualClock, Store};

    const MIN: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    fn store_with_ann() -> (Store, ManualClock, User) {
        let clock = ManualClock::new(1_700_000_000);
        let store = Store::open_in_memory().unwrap().with_clock(clock.clock());
        let ann = store
            .blocking(|db| users::add(db, "ann", "hash", Role::Viewer, None))
            .unwrap();
        (store, clock, ann)
    }

    fn session<'a>(user: &'a User, hash: &'a [u8]) -> NewSession<'a> {
        NewSession {
            token_hash: hash,
            user,
            lifetime: 12 * HOUR,
            idle: HOUR,
            remember: false,
            client: "127.0.0.1",
            user_agent: "curl",
        }
    }

    #[test]
    fn a_session_ends_when_idle_and_at_its_absolute_limit_and_use_keeps_it() {
        let (store, clock, ann) = store_with_ann();
        let id = store
            .blocking(|db| create(db, &session(&ann, b"t1")))
            .unwrap();
        let find = |hash: &'static [u8]| store.blocking(move |db| lookup(db, hash)).unwrap();
        assert_eq!(
            find(b"t1").map(|(i, u)| (i, u.name)),
            Some((id, "ann".into()))
        );
        assert_eq!(find(b"other"), None);
        // Used every 50 minutes, it outlives its idle hour...
        for _ in 0..10 {
            clock.advance(50 * MIN);
            assert!(find(b"t1").is_some());
        }
        // ...and a stream that keeps watching refreshes it as requests do...
        clock.advance(50 * MIN);
        assert_eq!(
            store.blocking(|db| live_user(db, id)).unwrap(),
            Some(ann.id)
        );
        // ...but not past 12 hours after login: 9 h 10 min in now, three more uses reach
        // 11 h 55 min, and the next hour passes 12 h.
        for _ in 0..3 {
            clock.advance(55 * MIN);
            assert!(find(b"t1").is_some());
        }
        clock.advance(HOUR);
        assert_eq!(find(b"t1"), None, "past its absolute expiry");
        assert_eq!(store.blocking(|db| live_user(db, id)).unwrap(), None);
        // A session left alone for more than its idle time ends too, and is purged.
        let idle = store
            .blocking(|db| create(db, &session(&ann, b"t2")))
            .unwrap();
        clock.advance(HOUR - Duration::from_secs(1));
        assert_eq!(store.blocking(|db| list(db, ann.id)).unwrap().len(), 1);
        clock.advance(Duration::from_secs(1));
        assert_eq!(find(b"t2"), None, "idle for its whole idle time");
        assert!(store.blocking(|db| list(db, ann.id)).unwrap().is_empty());
        assert_eq!(store.blocking(|db| purge_expired(db)).unwrap(), 2);
        assert!(!store.blocking(|db| revoke(db, idle)).unwrap());
    }

    #[test]
    fn a_password_change_ends_sessions_and_refuses_one_checked_before_it() {
        let (store, _clock, ann) = store_with_ann();
        let id = store
            .blocking(|db| create(db, &session(&ann, b"t1")))
            .unwrap();
        store
            .blocking(|db| users::change_password(db, ann.id, "new"))
            .unwrap();
        assert_eq!(store.blocking(|db| live_user(db, id)).unwrap(), None);
        // `ann` was read before the change: its generation is the old one.
        let late = store
            .blocking(|db| create(db, &session(&ann, b"t2")))
            .unwrap_err();
        assert_eq!(late.kind(), ErrorKind::FailedPrecondition);
        assert!(late.message().contains("sign in again"));
    }
}
