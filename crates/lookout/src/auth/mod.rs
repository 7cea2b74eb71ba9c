//! Accounts and access: users with hashed passwords, sessions, API tokens, login limits.
//! The functions over `rusqlite::Connection` are synchronous: the server calls them through
//! `Store::run`, the command line directly.

pub mod devices;
pub mod flask_cam;
pub mod limiter;
pub mod password;
pub mod secret;
pub mod sessions;
pub mod tokens;
pub mod users;

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

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Something the operator or client must change, said plainly.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl From<rusqlite::Error> for AuthError {
    fn from(e: rusqlite::Error) -> Self {
        AuthError::Store(e.into())
    }
}

/// Lets store closures use `?` on auth functions: `store.run(|c| Ok(users::list(c)?))`.
impl From<AuthError> for crate::store::StoreError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(s) => s,
            other => crate::store::StoreError::Setup(other.to_string()),
        }
    }
}

/// Bumps the revocation counter: the server re-checks every open stream's credentials.
pub fn bump_auth_epoch(conn: &rusqlite::Connection) -> Result<(), rusqlite::Error> {
    conn.execute(
        "UPDATE meta SET value = value + 1 WHERE key = 'auth_epoch'",
        [],
    )?;
    Ok(())
}

pub fn auth_epoch(conn: &rusqlite::Connection) -> Result<i64, rusqlite::Error> {
    conn.query_row("SELECT value FROM meta WHERE key = 'auth_epoch'", [], |r| {
        r.get(0)
    })
}
