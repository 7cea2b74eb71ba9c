//! `lookout token create|list|revoke`.

use super::output::{errln, outln, when};
use crate::auth::tokens;
use crate::config::Config;
use clap::Subcommand;
use lookout_core::{Error, ErrorKind};
use lookout_store::{Store, users};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for a user's programs; it is printed once.
    Create {
        name: String,
        #[arg(long)]
        user: String,
        /// Lifetime, e.g. 30d, 12h (default: until revoked).
        #[arg(long)]
        expires: Option<String>,
    },
    /// List tokens (never their secret).
    List,
    /// Revoke a user's token; its open streams end.
    Revoke {
        name: String,
        #[arg(long)]
        user: String,
    },
}

fn user_id(store: &Store, name: &str) -> Result<i64, Error> {
    store
        .blocking(|db| users::find(db, name))?
        .map(|(u, _)| u.id)
        .ok_or_else(|| {
            Error::not_found(format!(
                "no user {name:?}; `lookout user list` shows the users"
            ))
        })
}

/// The longest `--expires`: ten years. Longer is "never" in practice, which is what leaving
/// `--expires` out says, and far-off dates are where formatting and arithmetic break.
pub const MAX_EXPIRES_SECS: i64 = 3650 * 86_400;

#[derive(Debug, thiserror::Error)]
pub enum ExpiresError {
    #[error("--expires {given:?}: {reason}; write e.g. 30d, 12h or 365d")]
    Unreadable { given: String, reason: String },
    #[error("--expires {given:?} is less than a second; write e.g. 30d, 12h or 365d")]
    TooShort { given: String },
    #[error(
        "--expires {given:?} is more than 10 years; give at most 3650d, or leave --expires out for a token valid until revoked"
    )]
    TooLong { given: String },
}

/// When a token made at `now` with `--expires given` expires.
pub fn expires_at(given: &str, now: i64) -> Result<i64, ExpiresError> {
    let d = humantime::parse_duration(given).map_err(|e| ExpiresError::Unreadable {
        given: given.to_owned(),
        reason: e.to_string(),
    })?;
    let secs = d.as_secs();
    if secs == 0 {
        return Err(ExpiresError::TooShort {
            given: given.to_owned(),
        });
    }
    match i64::try_from(secs) {
        Ok(s) if s <= MAX_EXPIRES_SECS => Ok(now.saturating_add(s)),
        _ => Err(ExpiresError::TooLong {
            given: given.to_owned(),
        }),
    }
}

pub fn run(cmd: TokenCommand, config: &Config) -> Result<ExitCode, Error> {
    // Every token belongs to a user, so without a database there is nothing to do: never
    // make an empty one.
    let store = Store::open_existing(&config.data_dir)?;
    match cmd {
        TokenCommand::Create {
            name,
            user,
            expires,
        } => {
            let expires_at =
                match expires {
                    None => None,
                    Some(e) => Some(expires_at(&e, store.now()).map_err(|err| {
                        Error::wrap(ErrorKind::InvalidInput, err.to_string(), err)
                    })?),
                };
            let id = user_id(&store, &user)?;
            let token = store.blocking(|db| tokens::create(db, id, &name, expires_at))?;
            outln!("{token}");
            errln!(
                "token {name:?} for {user:?} created; it is shown only now. Use it as `Authorization: Bearer TOKEN` or `?token=TOKEN`."
            );
        }
        TokenCommand::List => {
            let list = store.blocking(|db| lookout_store::tokens::list(db))?;
            if list.is_empty() {
                outln!("no tokens");
            }
            for t in list {
                let expires = t.expires_at.map_or_else(
                    || "never expires".to_owned(),
                    |e| format!("expires {}", when(e)),
                );
                let used = t.last_used.map_or_else(
                    || "never used".to_owned(),
                    |u| format!("last used {}", when(u)),
                );
                outln!(
                    "{}\t{}\tcreated {}\t{expires}\t{used}",
                    t.user,
                    t.name,
                    when(t.created_at)
                );
            }
        }
        TokenCommand::Revoke { name, user } => {
            let id = user_id(&store, &user)?;
            let revoked = store.blocking(|db| lookout_store::tokens::revoke(db, id, &name))?;
            if !revoked {
                return Err(Error::not_found(format!(
                    "{user:?} has no token {name:?}; `lookout token list` shows them"
                )));
            }
            outln!("revoked token {name:?} of {user:?}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_is_bounded_and_says_why() {
        assert_eq!(expires_at("30d", 1000).unwrap(), 1000 + 30 * 86_400);
        assert_eq!(expires_at("3650d", 0).unwrap(), MAX_EXPIRES_SECS);
        for (given, needle) in [
            ("2933000d", "more than 10 years"),
            ("3651d", "more than 10 years"),
            ("500ms", "less than a second"),
            ("soon", "--expires \"soon\""),
            ("99999999999999999999d", "--expires"),
        ] {
            let e = expires_at(given, 0).unwrap_err().to_string();
            assert!(e.contains(needle), "{given}: {e}");
        }
    }
}
