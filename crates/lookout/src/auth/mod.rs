//! Accounts and access: password hashing, the secrets of sessions and API tokens (made here,
//! stored only as hashes by `lookout_store`), who may sign in (login limits, the Basic
//! cache, equal answer times), device cookies, principals, and ending streams whose
//! credentials are revoked. The rows
//! themselves (users, sessions, tokens) are `lookout_store`'s: [`Role`] and [`User`] are its
//! types, named here for the rest of the program.

pub mod devices;
pub mod flask_cam;
pub mod limiter;
pub mod live;
pub mod login_policy;
pub mod password;
pub mod principal;
pub mod secret;
pub mod sessions;
pub mod tokens;

pub use login_policy::{AuthState, LoginRefused};
pub use lookout_store::users::{Role, User};
pub use principal::{Credential, Principal};
