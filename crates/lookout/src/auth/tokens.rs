//! Named API tokens for programs (Home Assistant, scripts, an `<img>` on another page):
//! shown once at creation, stored as SHA-256 (`lookout_store::tokens`), given as
//! `Authorization: Bearer` or `?token=`.

use super::secret::{hash_token, random_token};
use lookout_store::users::User;
use lookout_store::{Db, StoreError, tokens};

/// Prefix of every token, so a leaked one is recognisable in logs and secret scanners.
pub const PREFIX: &str = "lk_";

/// A new token for the user, named `name`: returned once, stored as its hash.
pub fn create(
    db: &Db<'_>,
    user_id: i64,
    name: &str,
    expires_at: Option<i64>,
) -> Result<String, StoreError> {
    let token = format!("{PREFIX}{}", random_token());
    tokens::create(db, user_id, name, &hash_token(&token), expires_at)?;
    Ok(token)
}

/// The token's id and user, if it is valid; records its use (at most once a minute).
pub fn lookup(db: &Db<'_>, token: &str) -> Result<Option<(i64, User)>, StoreError> {
    if !token.starts_with(PREFIX) {
        return Ok(None);
    }
    tokens::lookup(db, &hash_token(token))
}
