//! `lookout user add|passwd|remove|list|check|sessions|import-flask-cam`.

use super::output::{errln, outln, when};
use super::password_input::{self, PasswordArgs};
use crate::auth::password::{Passwords, Verdict};
use crate::auth::{Role, flask_cam};
use crate::config::Config;
use clap::Subcommand;
use lookout_core::error::io_kind;
use lookout_core::{Error, ErrorKind};
use lookout_store::users::AddAll;
use lookout_store::{Store, sessions, users};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (asks for the password).
    Add {
        name: String,
        #[arg(long, default_value = "viewer", value_parser = ["admin", "viewer"])]
        role: String,
        /// Cameras the user may watch, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        cameras: Option<Vec<String>>,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Change a user's password; their sessions end.
    Passwd {
        name: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Change a user's role or cameras (their sessions and tokens stay).
    Set {
        name: String,
        #[arg(long, value_parser = ["admin", "viewer"])]
        role: Option<String>,
        /// Cameras the user may watch, comma-separated.
        #[arg(long, value_delimiter = ',', conflicts_with = "all_cameras")]
        cameras: Option<Vec<String>>,
        /// Let the user watch every camera.
        #[arg(long)]
        all_cameras: bool,
    },
    /// Remove a user with their sessions and tokens.
    Remove { name: String },
    /// List users.
    List,
    /// Check a password: prints true or false, exit status 0 or 1.
    Check {
        name: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// List a user's sessions, or end them with --revoke (all, or one by id).
    Sessions {
        name: String,
        #[arg(long, num_args = 0..=1, default_missing_value = "all", value_name = "ID")]
        revoke: Option<String>,
    },
    /// Import flask-cam's users file (NAME<TAB>base64 bcrypt); all lines or none.
    ImportFlaskCam {
        file: PathBuf,
        #[arg(long, default_value = "viewer", value_parser = ["admin", "viewer"])]
        role: String,
    },
}

fn no_user(name: &str) -> Error {
    Error::not_found(format!(
        "no user {name:?}; `lookout user list` shows the users"
    ))
}

fn find(store: &Store, name: &str) -> Result<(crate::auth::User, String), Error> {
    store
        .blocking(|db| users::find(db, name))?
        .ok_or_else(|| no_user(name))
}

pub fn run(cmd: UserCommand, config: &Config) -> Result<ExitCode, Error> {
    // Only adding users makes a database; the other commands read, or change a user that
    // must exist, and say so when there is no database (they never leave an empty one).
    let store = match cmd {
        UserCommand::Add { .. } | UserCommand::ImportFlaskCam { .. } => {
            Store::open(&config.data_dir)?
        }
        _ => Store::open_existing(&config.data_dir)?,
    };
    let passwords = || Passwords::new(config.auth.cost);
    match cmd {
        UserCommand::Add {
            name,
            role,
            cameras,
            password,
        } => {
            users::check_name(&name)?;
            if let Some(list) = &cameras {
                let unknown: Vec<&String> = list
                    .iter()
                    .filter(|id| !config.cameras.iter().any(|c| &c.id == *id))
                    .collect();
                if !unknown.is_empty() {
                    errln!("warning: no camera {unknown:?} in the current config");
                }
            }
            let pw = password_input::read(&password, true)?;
            let hash = passwords()?.hash(&pw)?;
            let role = Role::parse(&role).unwrap_or(Role::Viewer);
            let user =
                store.blocking(|db| users::add(db, &name, &hash, role, cameras.as_deref()))?;
            outln!("added {} {:?}", user.role.as_str(), user.name);
        }
        UserCommand::Passwd { name, password } => {
            let (user, _) = find(&store, &name)?;
            let pw = password_input::read(&password, true)?;
            let hash = passwords()?.hash(&pw)?;
            store.blocking(|db| users::change_password(db, user.id, &hash))?;
            outln!("password of {name:?} changed; their sessions were ended");
        }
        UserCommand::Set {
            name,
            role,
            cameras,
            all_cameras,
        } => {
            let (user, _) = find(&store, &name)?;
            let role = role.as_deref().and_then(Role::parse).unwrap_or(user.role);
            let cameras = if all_cameras {
                None
            } else {
                cameras.or(user.cameras)
            };
            store.blocking(|db| users::set_access(db, user.id, role, cameras.as_deref()))?;
            let cams = cameras.map_or_else(|| "all cameras".to_owned(), |c| c.join(","));
            outln!("{name:?} is now {} with {cams}", role.as_str());
            if role == Role::Admin {
                outln!("(admins watch every camera whatever the list says)");
            }
        }
        UserCommand::Remove { name } => {
            let removed = store.blocking(|db| users::remove(db, &name))?;
            if !removed {
                return Err(no_user(&name));
            }
            outln!("removed {name:?} with their sessions and tokens");
        }
        UserCommand::List => {
            let list = store.blocking(|db| users::list(db))?;
            if list.is_empty() {
                outln!("no users yet: `lookout user add NAME --role admin` creates one");
            }
            for u in list {
                let cams = u
                    .cameras
                    .map_or_else(|| "all cameras".to_owned(), |c| c.join(","));
                outln!("{}\t{}\t{cams}", u.name, u.role.as_str());
            }
        }
        UserCommand::Check { name, password } => {
            let pw = password_input::read(&password, false)?;
            let p = passwords()?;
            let found = store.blocking(|db| users::find(db, &name))?;
            let ok = match found {
                Some((_, hash)) => p.verify(&pw, &hash) != Verdict::Wrong,
                None => {
                    p.verify_dummy(&pw);
                    false
                }
            };
            outln!("{ok}");
            return Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        UserCommand::Sessions { name, revoke } => {
            let (user, _) = find(&store, &name)?;
            match revoke.as_deref() {
                None => {
                    let list = store.blocking(|db| sessions::list(db, user.id))?;
                    if list.is_empty() {
                        outln!("{name:?} has no sessions");
                    }
                    for s in list {
                        outln!(
                            "{}\tfrom {}\tsince {}\tlast seen {}\t{}{}",
                            s.id,
                            s.client,
                            when(s.created_at),
                            when(s.last_seen),
                            if s.remember { "remembered\t" } else { "" },
                            s.user_agent
                        );
                    }
                }
                Some("all") => {
                    let n = store.blocking(|db| sessions::revoke_all(db, user.id))?;
                    outln!("ended {n} session(s) of {name:?}");
                }
                Some(id) => {
                    let id: i64 = id.parse().map_err(|_| {
                        Error::invalid(format!("--revoke takes a session id from the list, or nothing for all (got {id:?})"))
                    })?;
                    let mine = store
                        .blocking(|db| sessions::list(db, user.id))?
                        .iter()
                        .any(|s| s.id == id);
                    if !mine {
                        return Err(Error::not_found(format!("{name:?} has no session {id}")));
                    }
                    store.blocking(|db| sessions::revoke(db, id))?;
                    outln!("ended session {id} of {name:?}");
                }
            }
        }
        UserCommand::ImportFlaskCam { file, role } => {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                Error::wrap(io_kind(&e), format!("cannot read {}", file.display()), e)
            })?;
            let imported = flask_cam::parse(&text).map_err(|problems| {
                Error::invalid(format!(
                    "{}: nothing imported:\n  {}",
                    file.display(),
                    problems.join("\n  ")
                ))
            })?;
            let role = Role::parse(&role).unwrap_or(Role::Viewer);
            let list: Vec<(&str, &str)> = imported
                .iter()
                .map(|u| (u.name.as_str(), u.bcrypt.as_str()))
                .collect();
            let n = match store.blocking(|db| users::add_all(db, &list, role))? {
                AddAll::Added(n) => n,
                AddAll::Clashes(at) => {
                    let clashes: Vec<String> = at
                        .iter()
                        .filter_map(|&i| imported.get(i))
                        .map(|u| format!("line {}: user {:?} exists already", u.line, u.name))
                        .collect();
                    return Err(Error::new(
                        ErrorKind::AlreadyExists,
                        format!(
                            "{}: nothing imported:\n  {}",
                            file.display(),
                            clashes.join("\n  ")
                        ),
                    ));
                }
            };
            outln!(
                "imported {n} user(s) as {}; each keeps their password, stored as Argon2id from their first login",
                role.as_str()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
