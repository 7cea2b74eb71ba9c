//! Who may sign in, and at what cost: the password check with its limiter decisions, the queue
//! for password-check slots, the equal answer time of failed logins, and the cache of recent
//! HTTP Basic logins. None of it is HTTP: `web::auth` reads the credentials from requests and
//! turns refusals into answers through their error kinds.

use super::devices::DeviceKey;
use super::limiter::{LoginLimiter, whole_seconds_up};
use super::live::LiveStreams;
use super::password::{MAX_PASSWORD_BYTES, Passwords, Verdict};
use super::principal::Credential;
use super::secret::hash_token;
use super::sessions::SessionPolicy;
use base64::Engine;
use lookout_core::{Error, ErrorKind};
use lookout_store::users::User;
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
    pub live: Arc<LiveStreams>,
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
/// How long a login waits for a free password-check slot before it is refused as busy.
const HASH_QUEUE_WAIT: Duration = Duration::from_secs(5);
/// How long a client is asked to wait when all password-check slots stay taken.
const BUSY_RETRY: Duration = Duration::from_secs(5);
/// How long a client is asked to wait when the database cannot be read.
pub const DATABASE_RETRY: Duration = Duration::from_secs(30);

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

impl From<LoginRefused> for Error {
    fn from(refused: LoginRefused) -> Error {
        match refused {
            LoginRefused::Locked(wait) => Error::new(
                ErrorKind::ResourceExhausted,
                format!(
                    "too many failed logins; try again in {} s",
                    whole_seconds_up(wait)
                ),
            )
            .with_retry_after(wait),
            LoginRefused::Busy => {
                Error::unavailable("too many logins at once; try again in a few seconds")
                    .with_retry_after(BUSY_RETRY)
            }
            LoginRefused::Unavailable => Error::unavailable(
                "signing in is not possible now: the account database cannot be read; the server log says why",
            )
            .with_retry_after(DATABASE_RETRY),
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
            live: Arc::new(LiveStreams::default()),
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

    /// HTTP Basic credentials (`encoded`: base64 of `name:password`, RFC 7617) from `addr`:
    /// the user and the credential to remember, `None` if they are wrong or malformed. A
    /// login that succeeded within the last minute is answered from the cache.
    pub async fn basic_login(
        &self,
        addr: Option<IpAddr>,
        encoded: &str,
    ) -> Result<Option<(User, Credential)>, LoginRefused> {
        let key = hash_token(encoded);
        if let Some((user, at)) = self
            .basic_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned()
            && at.elapsed() < BASIC_CACHE_TTL
        {
            return Ok(Some(basic_credential(user)));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|d| String::from_utf8(d).ok());
        let Some((name, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Ok(None);
        };
        let epoch = self.basic_epoch.load(Ordering::SeqCst);
        // Programs sending Basic credentials have no device cookie.
        let Some(user) = self.check_password(addr, name, password, None).await? else {
            return Ok(None);
        };
        let mut cache = self.basic_cache.lock().unwrap_or_else(|e| e.into_inner());
        // A revocation during the check cleared the cache: do not refill it with what may be
        // the old password.
        if self.basic_epoch.load(Ordering::SeqCst) == epoch {
            if cache.len() >= BASIC_CACHE_MAX {
                cache.retain(|_, (_, at)| at.elapsed() < BASIC_CACHE_TTL);
            }
            if cache.len() < BASIC_CACHE_MAX {
                cache.insert(key, (user.clone(), Instant::now()));
            }
        }
        drop(cache);
        Ok(Some(basic_credential(user)))
    }
}

fn basic_credential(user: User) -> (User, Credential) {
    let (user_id, generation) = (user.id, user.password_generation);
    (
        user,
        Credential::Basic {
            user_id,
            generation,
        },
    )
}
