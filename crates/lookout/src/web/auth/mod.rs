//! Who is asking: the credentials of a request (session cookie, API token as Bearer or
//! `?token=`, HTTP Basic) resolved into a [`Principal`], and the guard every route passes.

pub mod cookies;
pub mod csrf;
pub mod live;
pub mod login;

use super::{ApiError, AppState};
use crate::auth::devices::DeviceKey;
use crate::auth::limiter::LoginLimiter;
use crate::auth::password::{MAX_PASSWORD_BYTES, Passwords, Verdict};
use crate::auth::secret::hash_token;
use crate::auth::sessions::SessionPolicy;
use crate::auth::{Role, User, sessions, tokens};
use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use lookout_store::{Store, users};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Everything authentication needs; absent when `auth.mode = "none"`.
#[derive(Debug)]
pub struct AuthState {
    pub store: Store,
    pub passwords: Arc<Passwords>,
    pub limiter: LoginLimiter,
    pub sessions: SessionPolicy,
    pub live: Arc<live::LiveStreams>,
    /// Signs and checks device cookies: a browser that signed in before is spared the locks
    /// someone else's guesses put on the name.
    pub devices: DeviceKey,
    /// Password checks running at once: each Argon2 check holds 19 MiB, so a flood of logins
    /// must queue here, not take every thread and all memory.
    hash_slots: Semaphore,
    /// Successful Basic logins for a minute, so a client polling snapshots with Basic
    /// credentials does not cost an Argon2 hash (~27 ms) per request. Cleared on revocation.
    basic_cache: Mutex<HashMap<Vec<u8>, (User, Instant)>>,
    /// Bumped whenever the cache is cleared: a check that began before must not refill it.
    basic_epoch: AtomicU64,
}

const BASIC_CACHE_TTL: Duration = Duration::from_secs(60);
const BASIC_CACHE_MAX: usize = 10_000;
/// A failed login answers no sooner than this after it began, whatever it cost: an unknown
/// name, an over-long password, a bcrypt (flask-cam) user and an Argon2 user all look alike.
const FAILED_LOGIN_MIN: Duration = Duration::from_millis(300);
/// How long a login waits for a free password-check slot before answering 503.
const HASH_QUEUE_WAIT: Duration = Duration::from_secs(5);

/// Why a login was not even checked.
#[derive(Debug, Clone, Copy)]
pub enum LoginRefused {
    /// Too many failures from this address or for this name: wait this long.
    Locked(Duration),
    /// Too many logins being checked at once.
    Busy,
    /// The database could not be read: no verdict, so no failure counted (logged already).
    Unavailable,
}

/// How long a client is asked to wait when the database cannot be read.
const DATABASE_RETRY_SECS: &str = "30";

/// `503` for a request whose credentials could not be checked because the database failed:
/// never "wrong password" (which would count towards a lock) and never anonymous.
fn database_unavailable(doing: &str, e: lookout_core::Error) -> Response {
    let mut resp = ApiError::database(doing, e).into_response();
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(DATABASE_RETRY_SECS),
    );
    resp
}

impl LoginRefused {
    pub fn response(self) -> Response {
        match self {
            LoginRefused::Locked(wait) => locked(wait),
            LoginRefused::Busy => {
                let mut resp = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many logins at once; try again in a few seconds",
                )
                .into_response();
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                resp
            }
            LoginRefused::Unavailable => {
                let mut resp = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "signing in is not possible now: the account database cannot be read; the server log says why",
                )
                .into_response();
                resp.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(DATABASE_RETRY_SECS),
                );
                resp
            }
        }
    }
}

impl AuthState {
    pub fn new(
        store: Store,
        passwords: Passwords,
        limiter: LoginLimiter,
        sessions: SessionPolicy,
        devices: DeviceKey,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            store,
            passwords: Arc::new(passwords),
            limiter,
            sessions,
            live: Arc::new(live::LiveStreams::default()),
            devices,
            hash_slots: Semaphore::new(cores),
            basic_cache: Mutex::new(HashMap::new()),
            basic_epoch: AtomicU64::new(0),
        }
    }

    pub fn forget_basic_logins(&self) {
        let mut cache = self.basic_cache.lock().unwrap_or_else(|e| e.into_inner());
        self.basic_epoch.fetch_add(1, Ordering::SeqCst);
        cache.clear();
    }

    /// Checks a name and password: the same work (a lookup and an Argon2 verification) and
    /// the same answer time whether or not the user exists, counted by the limiter. A
    /// `device` cookie that we issued for `name` has the attempt counted on that device
    /// rather than on the name and the address.
    pub async fn check_password(
        &self,
        addr: Option<IpAddr>,
        name: &str,
        password: &str,
        device: Option<&str>,
    ) -> Result<Option<User>, LoginRefused> {
        let started = tokio::time::Instant::now();
        let device = device.and_then(|d| self.devices.verify(d, name));
        self.limiter
            .begin(addr, name, device)
            .map_err(LoginRefused::Locked)?;
        let Ok(Ok(_slot)) = tokio::time::timeout(HASH_QUEUE_WAIT, self.hash_slots.acquire()).await
        else {
            self.limiter.cancelled(addr, name, device);
            return Err(LoginRefused::Busy);
        };
        // Implausible input is refused like a wrong password, after the same work.
        let plausible = users::check_name(name).is_ok() && password.len() <= MAX_PASSWORD_BYTES;
        let found = if plausible {
            let owned = name.to_owned();
            let found = self.store.run(move |db| users::find(db, &owned)).await;
            match found {
                Ok(found) => found,
                // No verdict: a damaged database must not lock its users out as failures.
                Err(e) => {
                    let shown: String = name.chars().take(64).collect();
                    tracing::error!(
                        client = ?addr,
                        user = shown,
                        "cannot check a password, the database {} failed: {e}",
                        self.store.path().display()
                    );
                    self.limiter.cancelled(addr, name, device);
                    return Err(LoginRefused::Unavailable);
                }
            }
        } else {
            None
        };
        let passwords = self.passwords.clone();
        let pw = password.to_owned();
        let (verdict, found) = tokio::task::spawn_blocking(move || match found {
            Some((user, hash)) => (passwords.verify(&pw, &hash), Some((user, hash))),
            None => {
                passwords.verify_dummy(&pw);
                (Verdict::Wrong, None)
            }
        })
        .await
        .unwrap_or((Verdict::Wrong, None));
        match (verdict, found) {
            (Verdict::Wrong, _) | (_, None) => {
                let shown: String = name.chars().take(64).collect();
                let known_device = device.is_some();
                tracing::warn!(client = ?addr, user = shown, known_device, "failed login");
                tokio::time::sleep_until(started + FAILED_LOGIN_MIN).await;
                Ok(None)
            }
            (v, Some((user, hash))) => {
                self.limiter.succeeded(addr, name, device);
                if v == Verdict::RightRehash {
                    self.rehash(&user, &hash, password).await;
                }
                Ok(Some(user))
            }
        }
    }

    /// Replaces a bcrypt (flask-cam) or outdated hash with a current Argon2id one, unless
    /// the password changed meanwhile.
    async fn rehash(&self, user: &User, old_hash: &str, password: &str) {
        let passwords = self.passwords.clone();
        let pw = password.to_owned();
        let Ok(Ok(hash)) = tokio::task::spawn_blocking(move || passwords.hash(&pw)).await else {
            return;
        };
        let (id, old) = (user.id, old_hash.to_owned());
        match self
            .store
            .run(move |db| users::store_rehash(db, id, &old, &hash))
            .await
        {
            Ok(true) => tracing::info!(user = user.name, "password hash upgraded to Argon2id"),
            Ok(false) => {}
            Err(e) => tracing::warn!(
                user = user.name,
                "could not store the new password hash: {e}"
            ),
        }
    }
}

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
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Principal>()
            .cloned()
            .unwrap_or(Principal::Anonymous))
    }
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anybody: the login page and its assets, `/healthz`.
    Public,
    /// A signed-in user; a browser without a session is sent to the login page.
    Page,
    /// A signed-in user or a program with credentials; without them, 401.
    Viewer,
    /// An admin.
    Admin,
}

/// The client's address (through trusted proxies), for the login limiter.
fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts.extensions.get::<super::Client>().and_then(|c| c.ip)
}

/// The route guard: resolves the principal, enforces `access`, and hands the principal on.
pub async fn guard(
    State((state, access)): State<(Arc<AppState>, Access)>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let principal = match &state.auth {
        None => Principal::Anyone,
        Some(auth) => match resolve(auth, &parts).await {
            Ok(p) => p,
            // A locked-out client still gets the login page and /healthz.
            Err(_) if access == Access::Public => Principal::Anonymous,
            Err(resp) => return resp,
        },
    };
    let allowed = match (access, &principal) {
        (Access::Public, _) | (_, Principal::Anyone) => true,
        (_, Principal::Anonymous) => false,
        (Access::Admin, Principal::User { user, .. }) => user.role == Role::Admin,
        (Access::Page | Access::Viewer, Principal::User { .. }) => true,
    };
    if !allowed {
        return refuse(access, &principal, &parts, &state.base);
    }
    parts.extensions.insert(principal);
    next.run(Request::from_parts(parts, body)).await
}

fn refuse(access: Access, principal: &Principal, parts: &Parts, base: &str) -> Response {
    if let Principal::User { user, .. } = principal {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            format!("user {:?} is not an admin", user.name),
        )
        .into_response();
    }
    // mjpg-streamer clients ask `/?action=stream` of the page route: they get a 401 too.
    let is_action = parts.uri.query().is_some_and(|q| q.contains("action="));
    if access == Access::Page && !is_action {
        // The path as the browser sent it, base path included.
        let original = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |o| &o.0);
        let next = original.path_and_query().map_or("/", |p| p.as_str());
        let target = format!(
            "{base}/login?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        return Redirect::to(&target).into_response();
    }
    let mut resp = ApiError::new(StatusCode::UNAUTHORIZED, "sign in: send a session cookie, an API token (Authorization: Bearer or ?token=) or HTTP Basic credentials").into_response();
    // A browser's own fetches and images (Sec-Fetch-Dest other than "document") get no Basic
    // challenge: it would pop a password dialog over our pages, whose scripts go to the login
    // form instead. Programs and address-bar visits get the challenge.
    let from_page = parts
        .headers
        .get("sec-fetch-dest")
        .is_some_and(|d| d.as_bytes() != b"document");
    if !from_page {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Lookout\", charset=\"UTF-8\""),
        );
    }
    resp
}

/// The request's principal; `Err` is a response to send instead (a locked-out client).
async fn resolve(auth: &AuthState, parts: &Parts) -> Result<Principal, Response> {
    if let Some(token) = cookies::session(&parts.headers) {
        let t = token.to_owned();
        match auth.store.run(move |db| sessions::lookup(db, &t)).await {
            Ok(Some((id, user))) => {
                return Ok(Principal::User {
                    user,
                    via: Credential::Session {
                        id,
                        csrf: csrf::for_session(token),
                    },
                });
            }
            Ok(None) => {}
            Err(e) => return Err(database_unavailable("cannot check the session", e)),
        }
    }
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let bearer = authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    let query_token = parts.uri.query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    if let Some(token) = bearer.map(str::to_owned).or(query_token) {
        let lookup = auth.store.run(move |db| tokens::lookup(db, &token)).await;
        return match lookup {
            Ok(Some((id, user))) => Ok(Principal::User {
                user,
                via: Credential::Token { id },
            }),
            Ok(None) => Ok(Principal::Anonymous),
            Err(e) => Err(database_unavailable("cannot check the API token", e)),
        };
    }
    if let Some(basic) = authorization.and_then(|a| a.strip_prefix("Basic ")) {
        return basic_login(auth, parts, basic.trim()).await;
    }
    Ok(Principal::Anonymous)
}

async fn basic_login(
    auth: &AuthState,
    parts: &Parts,
    encoded: &str,
) -> Result<Principal, Response> {
    let key = hash_token(encoded);
    if let Some((user, at)) = auth
        .basic_cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned()
        && at.elapsed() < BASIC_CACHE_TTL
    {
        let (user_id, generation) = (user.id, user.password_generation);
        return Ok(Principal::User {
            user,
            via: Credential::Basic {
                user_id,
                generation,
            },
        });
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|d| String::from_utf8(d).ok());
    let Some((name, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Ok(Principal::Anonymous);
    };
    let epoch = auth.basic_epoch.load(Ordering::SeqCst);
    // Programs sending Basic credentials have no device cookie.
    match auth
        .check_password(client_ip(parts), name, password, None)
        .await
    {
        Err(refused) => Err(refused.response()),
        Ok(None) => Ok(Principal::Anonymous),
        Ok(Some(user)) => {
            let mut cache = auth.basic_cache.lock().unwrap_or_else(|e| e.into_inner());
            // A revocation during the check cleared the cache: do not refill it with what
            // may be the old password.
            if auth.basic_epoch.load(Ordering::SeqCst) == epoch {
                if cache.len() >= BASIC_CACHE_MAX {
                    cache.retain(|_, (_, at)| at.elapsed() < BASIC_CACHE_TTL);
                }
                if cache.len() < BASIC_CACHE_MAX {
                    cache.insert(key, (user.clone(), Instant::now()));
                }
            }
            drop(cache);
            let (user_id, generation) = (user.id, user.password_generation);
            Ok(Principal::User {
                user,
                via: Credential::Basic {
                    user_id,
                    generation,
                },
            })
        }
    }
}

/// 429 for a client or name locked after failed logins.
pub fn locked(wait: Duration) -> Response {
    let secs = super::error::retry_after_secs(wait);
    let mut resp = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many failed logins; try again in {secs} s"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}
