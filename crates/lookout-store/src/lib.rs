//! Lookout's store: the data directory (0700, one server at a time) and the SQLite database in
//! it, schema-versioned by `PRAGMA user_version`: users, sessions, API tokens, events and their
//! pictures, the alert outbox, motion zones. Every query of Lookout is a function here, over
//! the [`Db`] that [`Store::run`] (async callers) or [`Store::blocking`] (the command line)
//! hands out; the connection never leaves this crate, and only this crate depends on
//! rusqlite, so SQL anywhere else does not compile. No HTTP either: the store knows nothing of
//! how it is asked.
//!
//! Errors are [`StoreError`]s inside a call and `lookout_core::Error`s out of it, with a kind
//! (a damaged database is `Corrupt`, a full disk `ResourceExhausted`, a busy one
//! `Unavailable`, a name taken `AlreadyExists`) and the operator's words as the message.
//! Times are seconds since the Unix epoch by the store's [`Clock`], which tests move.

pub mod clock;
mod db;
mod dir;
mod error;
pub mod event_kind;
pub mod event_list;
pub mod events;
pub mod files;
mod journal;
pub mod lock;
mod migrations;
pub mod mqtt;
pub mod outbox;
pub mod recordings;
pub mod retention;
mod revocation;
pub mod sessions;
pub mod timestamp;
pub mod tokens;
pub mod users;
pub mod zones;

pub use clock::{Clock, ManualClock};
pub use db::{Db, Store};
pub use dir::{default_data_dir, prepare_dir};
pub use error::{DB_FILE, StoreError};
pub use revocation::auth_epoch;
