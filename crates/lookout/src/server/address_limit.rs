//! Open connections counted per client address (`server.max_connections_per_address`), so one
//! address cannot take every slot of `server.max_connections` by opening connections and
//! holding them (a slowloris that reconnects as fast as it is closed). An IPv6 client counts by
//! its /64, as the login limiter counts it; trusted proxies are exempt, since their
//! connections carry many clients.

use crate::auth::limiter::addr_key;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct AddressLimit {
    max_per_address: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; the count goes down when it is dropped.
#[derive(Debug)]
pub struct AddressSlot {
    limit: Arc<AddressLimit>,
    key: IpAddr,
}

impl AddressLimit {
    pub fn new(max_per_address: usize) -> Arc<Self> {
        Arc::new(Self {
            max_per_address,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a connection from `ip`, or `Err` when that address already holds the most it
    /// may.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<AddressSlot, Refused> {
        let key = addr_key(ip);
        let mut open = self.lock();
        let n = open.entry(key).or_insert(0);
        if *n >= self.max_per_address {
            return Err(Refused);
        }
        *n += 1;
        Ok(AddressSlot {
            limit: self.clone(),
            key,
        })
    }

    /// Connections open from `ip` (its /64 for IPv6).
    #[cfg(test)]
    fn open_from(&self, ip: IpAddr) -> usize {
        self.lock().get(&addr_key(ip)).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // A panic while holding the lock left the map consistent (every change is one step).
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The address holds `max_connections_per_address` connections already.
#[derive(Debug)]
pub struct Refused;

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.limit.lock();
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            // Forget addresses with nothing open, so the map holds only live clients.
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn each_address_gets_its_share_and_a_closed_connection_frees_its_slot() {
        let limit = AddressLimit::new(2);
        let a1 = limit.try_acquire(ip("192.0.2.1")).unwrap();
        let _a2 = limit.try_acquire(ip("::ffff:192.0.2.1")).unwrap();
        assert!(limit.try_acquire(ip("192.0.2.1")).is_err());
        let _b = limit.try_acquire(ip("192.0.2.2")).unwrap();
        drop(a1);
        let _a3 = limit.try_acquire(ip("192.0.2.1")).unwrap();
        assert_eq!(limit.open_from(ip("192.0.2.1")), 2);
    }

    #[test]
    fn an_ipv6_slash_64_is_one_address_and_empty_entries_go() {
        let limit = AddressLimit::new(1);
        let a = limit.try_acquire(ip("2001:db8:1:2::1")).unwrap();
        assert!(limit.try_acquire(ip("2001:db8:1:2::ffff")).is_err());
        let _other_net = limit.try_acquire(ip("2001:db8:1:3::1")).unwrap();
        drop(a);
        assert_eq!(limit.open_from(ip("2001:db8:1:2::1")), 0);
        assert_eq!(limit.lock().len(), 1);
    }
}
