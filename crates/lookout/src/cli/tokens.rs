//! `lookout token create|list|revoke`.

use super::{open_store, when};
use crate::auth::{tokens, users};
use crate::config::Config;
use crate::store::{StoreError, now_secs};
use clap::Subcommand;
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

fn user_id(store: &crate::store::Store, name: &str) -> Result<i64, String> {
    store
        .blocking(|c| users::find(c, name).map_err(StoreError::from))
        .map_err(|e| e.to_string())?
        .map(|(u, _)| u.id)
        .ok_or_else(|| format!("no user {name:?}; `lookout user list` shows the users"))
}

pub fn run(cmd: TokenCommand, config: &Config) -> Result<ExitCode, String> {
    let store = open_store(config)?;
    match cmd {
        TokenCommand::Create {
            name,
            user,
            expires,
        } => {
            let expires_at = match expires {
                None => None,
                Some(e) => {
                    let d = humantime::parse_duration(&e)
                        .map_err(|err| format!("--expires {e:?}: {err}; write e.g. 30d or 12h"))?;
                    let secs = i64::try_from(d.as_secs()).ok().filter(|s| *s > 0);
                    Some(
                        secs.and_then(|s| now_secs().checked_add(s))
                            .ok_or_else(|| {
                                format!("--expires {e:?} is out of range; write e.g. 30d or 12h")
                            })?,
                    )
                }
            };
            let id = user_id(&store, &user)?;
            let token = store
                .blocking(|c| tokens::create(c, id, &name, expires_at).map_err(StoreError::from))
                .map_err(|e| e.to_string())?;
            println!("{token}");
            eprintln!(
                "token {name:?} for {user:?} created; it is shown only now. Use it as `Authorization: Bearer TOKEN` or `?token=TOKEN`."
            );
        }
        TokenCommand::List => {
            let list = store
                .blocking(|c| tokens::list(c).map_err(StoreError::from))
                .map_err(|e| e.to_string())?;
            if list.is_empty() {
                println!("no tokens");
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
                println!(
                    "{}\t{}\tcreated {}\t{expires}\t{used}",
                    t.user,
                    t.name,
                    when(t.created_at)
                );
            }
        }
        TokenCommand::Revoke { name, user } => {
            let id = user_id(&store, &user)?;
            let revoked = store
                .blocking(|c| tokens::revoke(c, id, &name).map_err(StoreError::from))
                .map_err(|e| e.to_string())?;
            if !revoked {
                return Err(format!(
                    "{user:?} has no token {name:?}; `lookout token list` shows them"
                ));
            }
            println!("revoked token {name:?} of {user:?}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
