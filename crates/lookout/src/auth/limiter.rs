//! Brute-force protection: failed logins are counted per client address and per user name;
//! past a few free tries each further failure locks that key for twice as long as the last
//! (2 s, 4 s, 8 s... up to a cap). Unknown and known names are counted alike, so the lock
//! tells an attacker nothing about which names exist.
//!
//! A browser with a device cookie for the name (see `devices`) is counted apart: its
//! attempts skip the name's and the address's lock and are counted, and locked, on the
//! device alone, so someone guessing at the name cannot keep its owner out.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct LimiterPolicy {
    /// Failures allowed before delays start.
    pub free_failures: u32,
    /// The longest lock.
    pub max_lock: Duration,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Instant,
    last: Instant,
}

impl Failures {
    /// Uncounts one attempt; a lock that only that attempt caused goes with it.
    fn take_back(&mut self, free_failures: u32) {
        self.count = self.count.saturating_sub(1);
        if self.count <= free_failures {
            self.locked_until = Instant::now();
        }
    }
}

#[derive(Debug)]
pub struct LoginLimiter {
    policy: LimiterPolicy,
    by_addr: Mutex<HashMap<IpAddr, Failures>>,
    by_user: Mutex<HashMap<String, Failures>>,
    /// Keyed by the device cookie's nonce.
    by_device: Mutex<HashMap<String, Failures>>,
}

/// Keys kept at most per map; past it, entries idle longer than the longest lock go.
const MAX_KEYS: usize = 10_000;

impl LoginLimiter {
    pub fn new(policy: LimiterPolicy) -> Self {
        Self {
            policy,
            by_addr: Mutex::new(HashMap::new()),
            by_user: Mutex::new(HashMap::new()),
            by_device: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a login attempt: `Err(wait)` while the address or the name is locked, else the
    /// attempt is counted as a failure right away, so parallel guesses and requests dropped
    /// half-way count too. [`LoginLimiter::succeeded`] takes it back. With a `device` (a
    /// valid device cookie's nonce for this name) only that device's lock and count apply.
    pub fn begin(
        &self,
        addr: Option<IpAddr>,
        user: &str,
        device: Option<&str>,
    ) -> Result<(), Duration> {
        let now = Instant::now();
        if let Some(d) = device {
            if let Some(w) = wait(&self.by_device, d, now) {
                return Err(w);
            }
            self.bump(&self.by_device, d.to_owned(), now);
            return Ok(());
        }
        let addr = addr.map(addr_key);
        let wait_addr = addr.and_then(|a| wait(&self.by_addr, &a, now));
        let wait_user = wait(&self.by_user, user_key(user).as_str(), now);
        if let Some(w) = wait_addr.max(wait_user) {
            return Err(w);
        }
        if let Some(a) = addr {
            self.bump(&self.by_addr, a, now);
        }
        self.bump(&self.by_user, user_key(user), now);
        Ok(())
    }

    /// The attempt proved the password: the name's failures are forgotten, and the address
    /// gets back the one [`LoginLimiter::begin`] counted (not the others: a valid account
    /// must not reset the count of an address guessing other names). With a device, only
    /// the device's failures are forgotten: the name stays locked for everyone else.
    pub fn succeeded(&self, addr: Option<IpAddr>, user: &str, device: Option<&str>) {
        if let Some(d) = device {
            lock(&self.by_device).remove(d);
            return;
        }
        self.take_back(addr, None);
        lock(&self.by_user).remove(&user_key(user));
    }

    /// The attempt never ran (the server was busy): it does not count.
    pub fn cancelled(&self, addr: Option<IpAddr>, user: &str, device: Option<&str>) {
        if let Some(d) = device {
            if let Some(f) = lock(&self.by_device).get_mut(d) {
                f.take_back(self.policy.free_failures);
            }
            return;
        }
        self.take_back(addr, Some(user));
    }

    fn take_back(&self, addr: Option<IpAddr>, user: Option<&str>) {
        let free = self.policy.free_failures;
        if let Some(a) = addr
            && let Some(f) = lock(&self.by_addr).get_mut(&addr_key(a))
        {
            f.take_back(free);
        }
        if let Some(u) = user
            && let Some(f) = lock(&self.by_user).get_mut(&user_key(u))
        {
            f.take_back(free);
        }
    }

    fn bump<K: Eq + Hash>(&self, map: &Mutex<HashMap<K, Failures>>, key: K, now: Instant) {
        let mut m = lock(map);
        if m.len() >= MAX_KEYS {
            let horizon = self.policy.max_lock * 2;
            m.retain(|_, f| now.duration_since(f.last) < horizon);
            if m.len() >= MAX_KEYS {
                // Under a flood of names or addresses: keep the ones locked now.
                m.retain(|_, f| f.locked_until > now);
            }
        }
        let f = m.entry(key).or_insert(Failures {
            count: 0,
            locked_until: now,
            last: now,
        });
        f.count += 1;
        f.last = now;
        if f.count > self.policy.free_failures {
            let doublings = (f.count - self.policy.free_failures - 1).min(20);
            let lock_for = Duration::from_secs(2 << doublings).min(self.policy.max_lock);
            f.locked_until = now + lock_for;
        }
    }
}

/// Whole seconds to wait, rounded up and at least 1: a client that waits what it is told is
/// never early. (Rounded down, a 2 s lock with 1.7 s left said 1.) `Retry-After` (RFC 9110
/// §10.2.3) and the lock messages both count this way.
pub fn whole_seconds_up(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Names compare without case, and only their first 64 characters are kept.
fn user_key(user: &str) -> String {
    user.chars().take(64).collect::<String>().to_lowercase()
}

/// An IPv6 client usually holds a whole /64: counting each address alone would give it
/// endless fresh tries. IPv4-mapped addresses count as IPv4.
pub(crate) fn addr_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & (u128::MAX << 64);
                IpAddr::V6(prefix.into())
            }
        },
        v4 => v4,
    }
}

fn lock<K>(m: &Mutex<HashMap<K, Failures>>) -> std::sync::MutexGuard<'_, HashMap<K, Failures>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn wait<K: Eq + Hash + Borrow<Q>, Q: Eq + Hash + ?Sized>(
    map: &Mutex<HashMap<K, Failures>>,
    key: &Q,
    now: Instant,
) -> Option<Duration> {
    lock(map)
        .get(key)
        .and_then(|f| (f.locked_until > now).then(|| f.locked_until - now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(LimiterPolicy {
            free_failures: 3,
            max_lock: Duration::from_secs(60),
        })
    }

    #[test]
    fn locks_after_the_free_failures_and_doubles() {
        let l = limiter();
        let ip = Some("10.0.0.1".parse().unwrap());
        for _ in 0..3 {
            assert!(l.begin(ip, "bob", None).is_ok());
        }
        // The fourth attempt is counted up front and locks for two seconds.
        assert!(l.begin(ip, "bob", None).is_ok(), "three free failures");
        let w1 = l.begin(ip, "bob", None).unwrap_err();
        assert!(
            w1 <= Duration::from_secs(2) && w1 > Duration::from_secs(1),
            "{w1:?}"
        );
        // Another address trying the same name is locked too; the name is what is guessed.
        assert!(
            l.begin(Some("10.0.0.2".parse().unwrap()), "BOB", None)
                .is_err()
        );
        // Another name from the first address is locked as well.
        assert!(l.begin(ip, "alice", None).is_err());
    }

    #[test]
    fn success_clears_the_name_but_not_the_address() {
        let l = limiter();
        let ip = Some("10.0.0.1".parse().unwrap());
        for _ in 0..3 {
            l.begin(ip, "victim", None).unwrap();
        }
        // The attacker logs in to its own account: its attempt is taken back...
        l.begin(ip, "mine", None).unwrap();
        l.succeeded(ip, "mine", None);
        // ...but the three failures against another name still count for the address.
        l.begin(ip, "victim2", None).unwrap();
        assert!(l.begin(ip, "victim3", None).is_err());
    }

    #[test]
    fn an_ipv6_slash_64_counts_as_one_client() {
        let l = limiter();
        for i in 0..4u16 {
            let ip = format!("2001:db8:1:2::{i:x}").parse().ok();
            let _ = l.begin(ip, &format!("name{i}"), None);
        }
        assert!(
            l.begin("2001:db8:1:2::ffff".parse().ok(), "other", None)
                .is_err()
        );
        assert!(
            l.begin("2001:db8:1:3::1".parse().ok(), "other", None)
                .is_ok()
        );
    }

    #[test]
    fn a_device_is_spared_the_name_and_address_locks_and_locked_on_its_own() {
        let l = limiter();
        let (attacker, home) = ("10.0.0.1".parse().ok(), "10.0.0.2".parse().ok());
        for _ in 0..5 {
            let _ = l.begin(attacker, "alice", None);
        }
        assert!(l.begin(home, "alice", None).is_err(), "the name is locked");
        assert!(
            l.begin(attacker, "bob", None).is_err(),
            "the address is locked"
        );
        // Alice's browser: counted on its device, from anywhere.
        l.begin(attacker, "alice", Some("dev1")).unwrap();
        l.succeeded(attacker, "alice", Some("dev1"));
        assert!(
            l.begin(home, "alice", None).is_err(),
            "a device's success does not unlock the name"
        );
        for _ in 0..4 {
            l.begin(home, "alice", Some("dev1")).unwrap();
        }
        assert!(
            l.begin(home, "alice", Some("dev1")).is_err(),
            "its own lock"
        );
        assert!(
            l.begin(home, "alice", Some("dev2")).is_ok(),
            "another device"
        );
    }

    #[test]
    fn lock_is_capped() {
        let l = limiter();
        for _ in 0..40 {
            let _ = l.begin(None, "x", None);
            // Wait out nothing: the lock only grows while attempts keep coming.
            if let Some(f) = lock(&l.by_user).get_mut("x") {
                f.locked_until = Instant::now();
            }
        }
        l.begin(None, "x", None).unwrap();
        assert!(l.begin(None, "x", None).unwrap_err() <= Duration::from_secs(60));
    }
}
