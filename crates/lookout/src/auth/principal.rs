//! Who is asking, once a request's credentials are checked, and what they may do. The web
//! layer finds the principal of a request (`web::auth`); the rules live here, with accounts.

use lookout_store::users::{Role, User};

/// How a principal proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Session { id: i64, csrf: String },
    Token { id: i64 },
    Basic { user_id: i64, generation: i64 },
}

/// Who is asking.
#[derive(Debug, Clone)]
pub enum Principal {
    /// `auth.mode = "none"`: everyone may do everything (loopback only).
    Anyone,
    /// No (valid) credentials.
    Anonymous,
    User {
        user: User,
        via: Credential,
    },
}

impl Principal {
    pub fn may_view(&self, camera: &str) -> bool {
        match self {
            Principal::Anyone => true,
            Principal::Anonymous => false,
            Principal::User { user, .. } => user.may_view(camera),
        }
    }

    /// May manage users and settings, and see who is watching.
    pub fn is_admin(&self) -> bool {
        match self {
            Principal::Anyone => true,
            Principal::Anonymous => false,
            Principal::User { user, .. } => user.role == Role::Admin,
        }
    }

    pub fn user(&self) -> Option<&User> {
        match self {
            Principal::User { user, .. } => Some(user),
            _ => None,
        }
    }

    /// The session's CSRF token, for forms on pages; empty without a session.
    pub fn session_csrf(&self) -> &str {
        match self {
            Principal::User {
                via: Credential::Session { csrf, .. },
                ..
            } => csrf,
            _ => "",
        }
    }
}
