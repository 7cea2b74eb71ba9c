//! Named API tokens for programs (Home Assistant, scripts, an `<img>` on another page):
//! shown once at creation, stored as SHA-256, given as `Authorization: Bearer` or `?token=`.

use super::secret::{hash_token, random_token};
use super::{AuthError, User, bump_auth_epoch, users};
use crate::store::now_secs;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// Prefix of every token, so a leaked one is recognisable in logs and secret scanners.
pub const PREFIX: &str = "lk_";

pub fn create(
    conn: &Connection,
    user_id: i64,
    name: &str,
    expires_at: Option<i64>,
) -> Result<String, AuthError> {
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(AuthError::Invalid(
            "a token name has 1 to 64 characters, no control characters".into(),
        ));
    }
    let token = format!("{PREFIX}{}", random_token());
    conn.execute(
        "INSERT INTO api_tokens (name, token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, hash_token(&token), user_id, now_secs(), expires_at],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            AuthError::Invalid(format!("this user has a token named {name:?} already; revoke it or pick another name"))
        }
        e => e.into(),
    })?;
    Ok(token)
}

/// The token's id and user, if it is valid; records its use (at most once a minute).
pub fn lookup(conn: &Connection, token: &str) -> Result<Option<(i64, User)>, AuthError> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    let now = now_secs();
    let row: Option<(i64, i64, Option<i64>)> = conn
        .query_row(
            "SELECT id, user_id, last_used FROM api_tokens WHERE token_hash = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
            params![hash_token(token), now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, user_id, last_used)) = row else {
        return Ok(None);
    };
    if last_used.is_none_or(|t| now - t >= 60) {
        conn.execute(
            "UPDATE api_tokens SET last_used = ?1 WHERE id = ?2",
            params![now, id],
        )?;
    }
    Ok(users::get(conn, user_id)?.map(|u| (id, u)))
}

pub fn is_live(conn: &Connection, id: i64) -> Result<bool, AuthError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM api_tokens WHERE id = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
            params![id, now_secs()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub user: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used: Option<i64>,
}

pub fn list(conn: &Connection) -> Result<Vec<TokenInfo>, AuthError> {
    let mut stmt = conn.prepare(
        "SELECT t.id, t.name, u.name, t.created_at, t.expires_at, t.last_used FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY u.name, t.name",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(TokenInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                user: r.get(2)?,
                created_at: r.get(3)?,
                expires_at: r.get(4)?,
                last_used: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Revokes the user's token called `name`; false if there was none.
pub fn revoke(conn: &Connection, user_id: i64, name: &str) -> Result<bool, AuthError> {
    let n = conn.execute(
        "DELETE FROM api_tokens WHERE user_id = ?1 AND name = ?2",
        params![user_id, name],
    )?;
    bump_auth_epoch(conn)?;
    Ok(n > 0)
}
