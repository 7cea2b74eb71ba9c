//! Accounts and access: password hashing, the secrets of sessions and API tokens (made here,
//! stored only as hashes by `lookout_store`), login limits, device cookies. The rows
//! themselves (users, sessions, tokens) are `lookout_store`'s: [`Role`] and [`User`] are its
//! types, named here for the rest of the program.

pub mod devices;
pub mod flask_cam;
pub mod limiter;
pub mod password;
pub mod secret;
pub mod sessions;
pub mod tokens;

pub use lookout_store::users::{Role, User};
