//! Users in the database.

use super::{AuthError, Role, User, bump_auth_epoch};
use crate::store::now_secs;
use rusqlite::{Connection, OptionalExtension, Row, params};

/// User names: 1 to 64 characters, any but control characters (flask-cam allows spaces).
pub fn check_name(name: &str) -> Result<(), AuthError> {
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AuthError::Invalid(
            "a user name has 1 to 64 characters".into(),
        ));
    }
    if name.contains(':') {
        return Err(AuthError::Invalid(format!(
            "user name {name:?} has a ':', which HTTP Basic credentials cannot carry"
        )));
    }
    if name.chars().any(char::is_control) || name.trim() != name {
        return Err(AuthError::Invalid(format!(
            "user name {name:?} has control characters or leading/trailing spaces"
        )));
    }
    Ok(())
}

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let id: i64 = r.get("id")?;
    let role: String = r.get("role")?;
    let cameras: Option<String> = r.get("cameras")?;
    Ok(User {
        id,
        name: r.get("name")?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        // An unreadable list grants nothing, never everything.
        cameras: cameras.map(|c| {
            serde_json::from_str(&c).unwrap_or_else(|e| {
                tracing::error!(
                    "user {id}: unreadable camera list {c:?} ({e}); no cameras allowed"
                );
                Vec::new()
            })
        }),
        password_generation: r.get("password_generation")?,
    })
}

pub fn add(
    conn: &Connection,
    name: &str,
    hash: &str,
    role: Role,
    cameras: Option<&[String]>,
) -> Result<User, AuthError> {
    check_name(name)?;
    if find(conn, name)?.is_some() {
        return Err(AuthError::Invalid(format!(
            "user {name:?} exists already; change the password with `lookout user passwd`"
        )));
    }
    let now = now_secs();
    let cameras_json = cameras.map(|c| serde_json::to_string(c).unwrap_or_else(|_| "[]".into()));
    conn.execute(
        "INSERT INTO users (name, password_hash, role, cameras, created_at, password_changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![name, hash, role.as_str(), cameras_json, now],
    )?;
    Ok(User {
        id: conn.last_insert_rowid(),
        name: name.to_owned(),
        role,
        cameras: cameras.map(<[String]>::to_vec),
        password_generation: 0,
    })
}

/// The user and its stored password hash.
pub fn find(conn: &Connection, name: &str) -> Result<Option<(User, String)>, AuthError> {
    Ok(conn
        .query_row("SELECT * FROM users WHERE name = ?1", [name], |r| {
            Ok((user_from_row(r)?, r.get("password_hash")?))
        })
        .optional()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<User>, AuthError> {
    Ok(conn
        .query_row("SELECT * FROM users WHERE id = ?1", [id], user_from_row)
        .optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<User>, AuthError> {
    let mut stmt = conn.prepare("SELECT * FROM users ORDER BY name")?;
    let users = stmt
        .query_map([], user_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(users)
}

/// Sets a new password and ends every session of the user: whoever knew the old one is out.
pub fn change_password(conn: &mut Connection, user_id: i64, hash: &str) -> Result<(), AuthError> {
    let tx = conn.transaction()?;
    tx.execute(
        "UPDATE users SET password_hash = ?1, password_changed_at = ?2, \
         password_generation = password_generation + 1 WHERE id = ?3",
        params![hash, now_secs(), user_id],
    )?;
    tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
    bump_auth_epoch(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Replaces a hash after a successful login (bcrypt → Argon2id, new cost); sessions stay.
/// Only if the stored hash is still `old`: a password changed meanwhile is never undone.
pub fn store_rehash(
    conn: &Connection,
    user_id: i64,
    old: &str,
    hash: &str,
) -> Result<bool, AuthError> {
    let n = conn.execute(
        "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND password_hash = ?3",
        params![hash, user_id, old],
    )?;
    Ok(n == 1)
}

/// Sets a user's role and camera list (`None`: every camera). Open streams are re-checked.
pub fn set_access(
    conn: &Connection,
    user_id: i64,
    role: Role,
    cameras: Option<&[String]>,
) -> Result<(), AuthError> {
    let cameras_json = cameras.map(|c| serde_json::to_string(c).unwrap_or_else(|_| "[]".into()));
    conn.execute(
        "UPDATE users SET role = ?1, cameras = ?2 WHERE id = ?3",
        params![role.as_str(), cameras_json, user_id],
    )?;
    bump_auth_epoch(conn)?;
    Ok(())
}

/// Removes a user with its sessions and tokens; false if there was none.
pub fn remove(conn: &Connection, name: &str) -> Result<bool, AuthError> {
    let n = conn.execute("DELETE FROM users WHERE name = ?1", [name])?;
    if n > 0 {
        bump_auth_epoch(conn)?;
    }
    Ok(n > 0)
}

pub fn count(conn: &Connection) -> Result<i64, AuthError> {
    Ok(conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
}
