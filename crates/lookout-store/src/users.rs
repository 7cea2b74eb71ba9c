//! Users: a name, a password hash (made and checked by lookout's `auth::password`, never
//! here), a role and the cameras they may watch.

use crate::db::Db;
use crate::error::StoreError;
use crate::revocation::bump_auth_epoch;
use lookout_core::ErrorKind;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages users and camera settings, and watches every camera.
    Admin,
    /// Watches cameras (all, or the ones listed for the user).
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// A user as the rest of the program sees it (never with the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// Cameras this user may watch; `None` is every camera.
    pub cameras: Option<Vec<String>>,
    /// How many times the password was changed: a Basic stream opened before a change ends.
    #[serde(skip)]
    pub password_generation: i64,
}

impl User {
    pub fn may_view(&self, camera: &str) -> bool {
        self.role == Role::Admin
            || self
                .cameras
                .as_ref()
                .is_none_or(|list| list.iter().any(|c| c == camera))
    }
}

/// User names: 1 to 64 characters, any but control characters (flask-cam allows spaces).
pub fn check_name(name: &str) -> Result<(), StoreError> {
    let invalid = |msg: String| Err(StoreError::refused(ErrorKind::InvalidInput, msg));
    if name.is_empty() || name.chars().count() > 64 {
        return invalid("a user name has 1 to 64 characters".into());
    }
    if name.contains(':') {
        return invalid(format!(
            "user name {name:?} has a ':', which HTTP Basic credentials cannot carry"
        ));
    }
    if name.chars().any(char::is_control) || name.trim() != name {
        return invalid(format!(
            "user name {name:?} has control characters or leading/trailing spaces"
        ));
    }
    Ok(())
}

pub(crate) fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
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

fn cameras_json(cameras: Option<&[String]>) -> Option<String> {
    cameras.map(|c| serde_json::to_string(c).unwrap_or_else(|_| "[]".into()))
}

/// Adds a user with a password hash; refused (AlreadyExists) if the name is taken.
pub fn add(
    db: &Db<'_>,
    name: &str,
    hash: &str,
    role: Role,
    cameras: Option<&[String]>,
) -> Result<User, StoreError> {
    add_on(db.conn(), db.now(), name, hash, role, cameras)
}

fn add_on(
    conn: &Connection,
    now: i64,
    name: &str,
    hash: &str,
    role: Role,
    cameras: Option<&[String]>,
) -> Result<User, StoreError> {
    check_name(name)?;
    if find_on(conn, name)?.is_some() {
        return Err(StoreError::refused(
            ErrorKind::AlreadyExists,
            format!("user {name:?} exists already; change the password with `lookout user passwd`"),
        ));
    }
    conn.execute(
        "INSERT INTO users (name, password_hash, role, cameras, created_at, password_changed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![name, hash, role.as_str(), cameras_json(cameras), now],
    )?;
    Ok(User {
        id: conn.last_insert_rowid(),
        name: name.to_owned(),
        role,
        cameras: cameras.map(<[String]>::to_vec),
        password_generation: 0,
    })
}

/// What [`add_all`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddAll {
    /// Every user was added.
    Added(usize),
    /// Nothing was added: the users at these indexes of the list exist already.
    Clashes(Vec<usize>),
}

/// Adds every `(name, hash)` of `list` with `role`, or none of them (one transaction).
pub fn add_all(db: &mut Db<'_>, list: &[(&str, &str)], role: Role) -> Result<AddAll, StoreError> {
    let now = db.now();
    let tx = db.conn_mut().transaction()?;
    let mut clashes = Vec::new();
    for (i, (name, _)) in list.iter().enumerate() {
        if find_on(&tx, name)?.is_some() {
            clashes.push(i);
        }
    }
    if !clashes.is_empty() {
        return Ok(AddAll::Clashes(clashes));
    }
    for (name, hash) in list {
        add_on(&tx, now, name, hash, role, None)?;
    }
    tx.commit()?;
    Ok(AddAll::Added(list.len()))
}

/// The user and its stored password hash.
pub fn find(db: &Db<'_>, name: &str) -> Result<Option<(User, String)>, StoreError> {
    find_on(db.conn(), name)
}

fn find_on(conn: &Connection, name: &str) -> Result<Option<(User, String)>, StoreError> {
    Ok(conn
        .query_row("SELECT * FROM users WHERE name = ?1", [name], |r| {
            Ok((user_from_row(r)?, r.get("password_hash")?))
        })
        .optional()?)
}

pub fn get(db: &Db<'_>, id: i64) -> Result<Option<User>, StoreError> {
    get_on(db.conn(), id)
}

pub(crate) fn get_on(conn: &Connection, id: i64) -> Result<Option<User>, StoreError> {
    Ok(conn
        .query_row("SELECT * FROM users WHERE id = ?1", [id], user_from_row)
        .optional()?)
}

pub fn list(db: &Db<'_>) -> Result<Vec<User>, StoreError> {
    let mut stmt = db.conn().prepare("SELECT * FROM users ORDER BY name")?;
    let users = stmt
        .query_map([], user_from_row)?
        .collect::<Result<_, _>>()?;
    Ok(users)
}

/// Sets a new password and ends every session of the user: whoever knew the old one is out.
pub fn change_password(db: &mut Db<'_>, user_id: i64, hash: &str) -> Result<(), StoreError> {
    let now = db.now();
    let tx = db.conn_mut().transaction()?;
    tx.execute(
        "UPDATE users SET password_hash = ?1, password_changed_at = ?2, \
         password_generation = password_generation + 1 WHERE id = ?3",
        params![hash, now, user_id],
    )?;
    tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?;
    bump_auth_epoch(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Replaces a hash after a successful login (bcrypt → Argon2id, new cost); sessions stay.
/// Only if the stored hash is still `old`: a password changed meanwhile is never undone.
pub fn store_rehash(db: &Db<'_>, user_id: i64, old: &str, hash: &str) -> Result<bool, StoreError> {
    let n = db.conn().execute(
        "UPDATE users SET password_hash = ?1 WHERE id = ?2 AND password_hash = ?3",
        params![hash, user_id, old],
    )?;
    Ok(n == 1)
}

/// Sets a user's role and camera list (`None`: every camera). Open streams are re-checked.
pub fn set_access(
    db: &Db<'_>,
    user_id: i64,
    role: Role,
    cameras: Option<&[String]>,
) -> Result<(), StoreError> {
    db.conn().execute(
        "UPDATE users SET role = ?1, cameras = ?2 WHERE id = ?3",
        params![role.as_str(), cameras_json(cameras), user_id],
    )?;
    bump_auth_epoch(db.conn())?;
    Ok(())
}

/// Removes a user with its sessions and tokens; false if there was none.
pub fn remove(db: &Db<'_>, name: &str) -> Result<bool, StoreError> {
    let n = db
        .conn()
        .execute("DELETE FROM users WHERE name = ?1", [name])?;
    if n > 0 {
        bump_auth_epoch(db.conn())?;
    }
    Ok(n > 0)
}

pub fn count(db: &Db<'_>) -> Result<i64, StoreError> {
    Ok(db
        .conn()
        .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    #[test]
    fn names_are_unique_and_imports_add_all_or_nothing() {
        let store = Store::open_in_memory().unwrap();
        store
            .blocking(|db| add(db, "ann", "h1", Role::Admin, None))
            .unwrap();
        let taken = store
            .blocking(|db| add(db, "ann", "h2", Role::Viewer, None))
            .unwrap_err();
        assert_eq!(taken.kind(), ErrorKind::AlreadyExists);
        let bad = store
            .blocking(|db| add(db, "a:b", "h", Role::Viewer, None))
            .unwrap_err();
        assert_eq!(bad.kind(), ErrorKind::InvalidInput);
        let list = [("bob", "hb"), ("ann", "ha"), ("cy", "hc")];
        let r = store
            .blocking(|db| add_all(db, &list, Role::Viewer))
            .unwrap();
        assert_eq!(r, AddAll::Clashes(vec![1]));
        assert_eq!(store.blocking(|db| count(db)).unwrap(), 1, "none added");
        let r = store
            .blocking(|db| add_all(db, &[("bob", "hb"), ("cy", "hc")], Role::Viewer))
            .unwrap();
        assert_eq!(r, AddAll::Added(2));
        let (bob, hash) = store.blocking(|db| find(db, "bob")).unwrap().unwrap();
        assert_eq!((bob.role, hash.as_str()), (Role::Viewer, "hb"));
    }
}
