//! Login sessions: a random token in a cookie, its SHA-256 in the database
//! (`lookout_store::sessions`), an idle and an absolute expiry chosen by [`SessionPolicy`].

use super::secret::{hash_token, random_token};
use lookout_store::users::User;
use lookout_store::{Db, StoreError, sessions};
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

pub struct NewSession {
    pub id: i64,
    pub token: String,
    /// For the cookie's Max-Age; `None` is a browser-session cookie.
    pub cookie_max_age: Option<Duration>,
}

/// A new session for `user`, who just gave their password. Refused (FailedPrecondition) if
/// the password changed meanwhile.
pub fn create(
    db: &Db<'_>,
    user: &User,
    remember: bool,
    client: &str,
    user_agent: &str,
    policy: &SessionPolicy,
) -> Result<NewSession, StoreError> {
    let token = random_token();
    let (lifetime, idle) = if remember {
        (policy.remember, policy.remember)
    } else {
        (policy.max_age, policy.idle)
    };
    let id = sessions::create(
        db,
        &sessions::NewSession {
            token_hash: &hash_token(&token),
            user,
            lifetime,
            idle,
            remember,
            client,
            user_agent,
        },
    )?;
    Ok(NewSession {
        id,
        token,
        cookie_max_age: remember.then_some(lifetime),
    })
}

/// The session's id and user, if the cookie's token names a live session; refreshes its idle
/// clock.
pub fn lookup(db: &Db<'_>, token: &str) -> Result<Option<(i64, User)>, StoreError> {
    sessions::lookup(db, &hash_token(token))
}
