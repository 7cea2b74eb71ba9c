//! Named API tokens for programs: the SHA-256 of each (the token is shown once by lookout's
//! `auth::tokens` and never stored), its user, and an optional expiry.

use crate::db::Db;
use crate::error::StoreError;
use crate::revocation::bump_auth_epoch;
use crate::users::{User, get_on};
use lookout_core::ErrorKind;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// How often a token's `last_used` is written.
const NOTE_USE_EVERY_SECS: i64 = 60;

/// Stores a token's hash for the user under `name`. Refused if the name is not 1 to 64
/// characters without control characters (InvalidInput) or the user has a token of that name
/// (AlreadyExists).
pub fn create(
    db: &Db<'_>,
    user_id: i64,
    name: &str,
    token_hash: &[u8],
    expires_at: Option<i64>,
) -> Result<(), StoreError> {
    check_name(name)?;
    db.conn()
        .execute(
            "INSERT INTO api_tokens (name, token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, token_hash, user_id, db.now(), expires_at],
        )
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::refused(
                ErrorKind::AlreadyExists,
                format!("this user has a token named {name:?} already; revoke it or pick another name"),
            ),
            _ => e.into(),
        })?;
    Ok(())
}

/// Token names: what `lookout token list` can show on one line.
pub fn check_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(StoreError::refused(
            ErrorKind::InvalidInput,
            "a token name has 1 to 64 characters, no control characters",
        ));
    }
    Ok(())
}

/// The token's id and user, if the hash is of a valid token; records its use (at most once a
/// minute).
pub fn lookup(db: &Db<'_>, token_hash: &[u8]) -> Result<Option<(i64, User)>, StoreError> {
    let now = db.now();
    let row: Option<(i64, i64, Option<i64>)> = db
        .conn()
        .query_row(
            "SELECT id, user_id, last_used FROM api_tokens WHERE token_hash = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
            params![token_hash, now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, user_id, last_used)) = row else {
        return Ok(None);
    };
    if last_used.is_none_or(|t| now - t >= NOTE_USE_EVERY_SECS) {
        db.conn().execute(
            "UPDATE api_tokens SET last_used = ?1 WHERE id = ?2",
            params![now, id],
        )?;
    }
    Ok(get_on(db.conn(), user_id)?.map(|u| (id, u)))
}

/// The user of an open stream's token if the token is still valid.
pub fn live_user(db: &Db<'_>, id: i64) -> Result<Option<i64>, StoreError> {
    Ok(db
        .conn()
        .query_row(
            "SELECT user_id FROM api_tokens WHERE id = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
            params![id, db.now()],
            |r| r.get(0),
        )
        .optional()?)
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

/// Every token, by user and name.
pub fn list(db: &Db<'_>) -> Result<Vec<TokenInfo>, StoreError> {
    let mut stmt = db.conn().prepare(
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
pub fn revoke(db: &Db<'_>, user_id: i64, name: &str) -> Result<bool, StoreError> {
    let n = db.conn().execute(
        "DELETE FROM api_tokens WHERE user_id = ?1 AND name = ?2",
        params![user_id, name],
    )?;
    bump_auth_epoch(db.conn())?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::{self, Role};
    use crate::{ManualClock, Store};

    #[test]
    fn a_token_works_until_it_expires_and_its_use_is_noted_once_a_minute() {
        let clock = ManualClock::new(1_700_000_000);
        let store = Store::open_in_memory().unwrap().with_clock(clock.clock());
        let ann = store
            .blocking(|db| users::add(db, "ann", "hash", Role::Viewer, None))
            .unwrap();
        let in_a_day = 1_700_000_000 + 86_400;
        store
            .blocking(|db| create(db, ann.id, "nvr", b"h-nvr", Some(in_a_day)))
            .unwrap();
        store
            .blocking(|db| create(db, ann.id, "forever", b"h-forever", None))
            .unwrap();
        let taken = store
            .blocking(|db| create(db, ann.id, "nvr", b"h-other", None))
            .unwrap_err();
        assert_eq!(taken.kind(), ErrorKind::AlreadyExists);
        let find = |hash: &'static [u8]| {
            store
                .blocking(move |db| lookup(db, hash))
                .unwrap()
                .map(|(id, u)| (id, u.name))
        };
        let (nvr, _) = find(b"h-nvr").unwrap();
        let used = || {
            store
                .blocking(|db| list(db))
                .unwrap()
                .into_iter()
                .find(|t| t.name == "nvr")
                .and_then(|t| t.last_used)
        };
        assert_eq!(used(), Some(1_700_000_000));
        clock.advance(std::time::Duration::from_secs(59));
        find(b"h-nvr").unwrap();
        assert_eq!(used(), Some(1_700_000_000), "noted at most once a minute");
        clock.set(in_a_day - 1);
        assert!(find(b"h-nvr").is_some());
        assert_eq!(used(), Some(in_a_day - 1));
        assert_eq!(
            store.blocking(|db| live_user(db, nvr)).unwrap(),
            Some(ann.id)
        );
        clock.set(in_a_day);
        assert_eq!(find(b"h-nvr"), None, "expired");
        assert_eq!(store.blocking(|db| live_user(db, nvr)).unwrap(), None);
        assert!(
            find(b"h-forever").is_some(),
            "no expiry: valid until revoked"
        );
        assert!(store.blocking(|db| revoke(db, ann.id, "forever")).unwrap());
        assert_eq!(find(b"h-forever"), None);
    }
}
