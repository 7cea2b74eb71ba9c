//! Brute-force protection: failed logins are counted per client address and per user name;
//! past a few free tries each further failure locks that key for twice as long as the last
//! (1 s, 2 s, 4 s... up to a cap). Unknown and known names are counted alike, so the lock
//! tells an attacker nothing about which names exist.

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

#[derive(Debug)]
pub struct LoginLimiter {
    policy: LimiterPolicy,
    by_addr: Mutex<HashMap<IpAddr, Failures>>,
    by_user: Mutex<HashMap<String, Failures>>,
}

/// Keys kept at most per map; past it, entries idle longer than the longest lock go.
const MAX_KEYS: usize = 10_000;

impl LoginLimiter {
    pub fn new(policy: LimiterPolicy) -> Self {
        Self {
            policy,
            by_addr: Mutex::new(HashMap::new()),
            by_user: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` while the address or the name is locked.
    pub fn check(&self, addr: Option<IpAddr>, user: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let wait_addr = addr.and_then(|a| wait(&self.by_addr, &a, now));
        let wait_user = wait(&self.by_user, &user.to_lowercase(), now);
        match wait_addr.max(wait_user) {
            Some(w) => Err(w),
            None => Ok(()),
        }
    }

    pub fn failed(&self, addr: Option<IpAddr>, user: &str) {
        let now = Instant::now();
        if let Some(a) = addr {
            self.bump(&self.by_addr, a, now);
        }
        self.bump(&self.by_user, user.to_lowercase(), now);
    }

    pub fn succeeded(&self, addr: Option<IpAddr>, user: &str) {
        if let Some(a) = addr {
            lock(&self.by_addr).remove(&a);
        }
        lock(&self.by_user).remove(&user.to_lowercase());
    }

    fn bump<K: Eq + Hash>(&self, map: &Mutex<HashMap<K, Failures>>, key: K, now: Instant) {
        let mut m = lock(map);
        if m.len() >= MAX_KEYS {
            let horizon = self.policy.max_lock * 2;
            m.retain(|_, f| now.duration_since(f.last) < horizon);
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
            let lock_for = Duration::from_secs(1 << doublings).min(self.policy.max_lock);
            f.locked_until = now + lock_for;
        }
    }
}

fn lock<K>(m: &Mutex<HashMap<K, Failures>>) -> std::sync::MutexGuard<'_, HashMap<K, Failures>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn wait<K: Eq + Hash>(
    map: &Mutex<HashMap<K, Failures>>,
    key: &K,
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
            assert!(l.check(ip, "bob").is_ok());
            l.failed(ip, "bob");
        }
        assert!(l.check(ip, "bob").is_ok(), "three free failures");
        l.failed(ip, "bob");
        let w1 = l.check(ip, "bob").unwrap_err();
        l.failed(ip, "bob");
        let w2 = l.check(ip, "bob").unwrap_err();
        assert!(
            w1 <= Duration::from_secs(1) && w2 > Duration::from_secs(1),
            "{w1:?} {w2:?}"
        );
        // Another address trying the same name is locked too; the name is what is guessed.
        assert!(l.check(Some("10.0.0.2".parse().unwrap()), "BOB").is_err());
        // Another name from the first address is locked as well.
        assert!(l.check(ip, "alice").is_err());
        l.succeeded(ip, "bob");
        assert!(l.check(ip, "bob").is_ok());
    }

    #[test]
    fn lock_is_capped() {
        let l = limiter();
        for _ in 0..40 {
            l.failed(None, "x");
        }
        assert!(l.check(None, "x").unwrap_err() <= Duration::from_secs(60));
    }
}
