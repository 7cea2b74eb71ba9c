//! Login sessions: a random token in a cookie, its SHA-256 in the database, an idle and an
//! absolute expiry.

use super::secret::{hash_token, random_token};
use super::{AuthError, User, bump_auth_epoch, users};
use crate::store::now_secs;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Without "remember me": ends after this long without a request...
    pub idle: Duration,
    /// ...and at the latest this long after login.
    pub max_age: Duration,
    /// With "remember me": the cookie and the session last this long.
    pub remember: Duration,
}

/// How often a session's `last_seen` is written: every request would mean a write per
/// snapshot poll.
const TOUCH_EVERY_SECS: i64 = 60;

pub struct NewSession {
    pub id: i64,
    pub token: String,
    /// For the cookie's Max-Age; `None` is a browser-session cookie.
    pub cookie_max_age: Option<Duration>,
}

pub fn create(
    conn: &Connection,
    user: &User,
    remember: bool,
    client: &str,
    user_agent: &str,
    policy: &SessionPolicy,
) -> Result<NewSession, AuthError> {
    let token = random_token();
    let now = now_secs();
    let (lifetime, idle) = if remember {
        (policy.remember, policy.remember)
    } else {
        (policy.max_age, policy.idle)
    };
    let ua: String = user_agent.chars().take(200).collect();
    let lifetime_secs = i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
    let n = conn.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen, expires_at, idle_secs, remember, client, user_agent, password_generation) \
         SELECT ?1, id, ?3, ?3, ?4, ?5, ?6, ?7, ?8, password_generation FROM users WHERE id = ?2 AND password_generation = ?9",
        params![hash_token(&token), user.id, now, now.saturating_add(lifetime_secs), i64::try_from(idle.as_secs()).unwrap_or(i64::MAX), remember, client, ua, user.password_generation],
    )?;
    if n == 0 {
        return Err(AuthError::Invalid(
            "the password changed while signing in; sign in again".into(),
        ));
    }
    Ok(NewSession {
        id: conn.last_insert_rowid(),
        token,
        cookie_max_age: remember.then_some(lifetime),
    })
}

/// Live sessions: not expired, not idle too long, and made with the user's current password.
const LIVE: &str = "FROM sessions s JOIN users u ON u.id = s.user_id AND u.password_generation = s.password_generation \
    WHERE s.expires_at > ?2 AND s.last_seen + s.idle_secs > ?2";

/// The session's id and user, if the token names a live session; refreshes its idle clock.
pub fn lookup(conn: &Connection, token: &str) -> Result<Option<(i64, User)>, AuthError> {
    let now = now_secs();
    let row: Option<(i64, i64, i64)> = conn
        .query_row(
            &format!("SELECT s.id, s.user_id, s.last_seen {LIVE} AND s.token_hash = ?1"),
            params![hash_token(token), now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, user_id, last_seen)) = row else {
        return Ok(None);
    };
    if now - last_seen >= TOUCH_EVERY_SECS {
        touch(conn, id, now)?;
    }
    Ok(users::get(conn, user_id)?.map(|u| (id, u)))
}

fn touch(conn: &Connection, id: i64, now: i64) -> Result<(), AuthError> {
    conn.execute(
        "UPDATE sessions SET last_seen = ?1 WHERE id = ?2",
        params![now, id],
    )?;
    Ok(())
}

/// Whether an open stream's session is still live. Watching counts as using the session, so
/// this refreshes its idle clock: a stream watched for hours keeps its session (up to the
/// absolute limit), and the hourly purge agrees.
pub fn is_live(conn: &Connection, id: i64) -> Result<bool, AuthError> {
    let now = now_secs();
    let live = conn
        .query_row(
            &format!("SELECT s.id {LIVE} AND s.id = ?1"),
            params![id, now],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if live {
        touch(conn, id, now)?;
    }
    Ok(live)
}

pub fn revoke(conn: &Connection, id: i64) -> Result<bool, AuthError> {
    let n = conn.execute("DELETE FROM sessions WHERE id = ?1", [id])?;
    bump_auth_epoch(conn)?;
    Ok(n > 0)
}

pub fn revoke_all(conn: &Connection, user_id: i64) -> Result<usize, AuthError> {
    let n = conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
    bump_auth_epoch(conn)?;
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

pub fn list(conn: &Connection, user_id: i64) -> Result<Vec<SessionInfo>, AuthError> {
    let mut stmt = conn.prepare(
        "SELECT id, created_at, last_seen, expires_at, remember, client, user_agent FROM sessions WHERE user_id = ?1 AND expires_at > ?2 AND last_seen + idle_secs > ?2 ORDER BY created_at",
    )?;
    let rows = stmt
        .query_map(params![user_id, now_secs()], |r| {
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

/// Deletes expired sessions (run now and then).
pub fn purge_expired(conn: &Connection) -> Result<usize, AuthError> {
    let now = now_secs();
    Ok(conn.execute(
        "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen + idle_secs <= ?1",
        [now],
    )?)
}
