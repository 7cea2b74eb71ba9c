//! Which peer a datagram on the shared UDP port belongs to: STUN binding requests by the
//! ICE user name we gave the peer (`USERNAME` = `OURS:THEIRS`, RFC 8445 7.2.2), everything
//! else (DTLS, SRTP, SRTCP) by the source address a STUN request of that peer came from.
//!
//! An address is bound to a peer only after the peer's own ICE agent accepted a request from
//! it (the request carries a MESSAGE-INTEGRITY made with the peer's password), so a spoofed
//! datagram cannot steer another peer's traffic.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

/// RFC 5389 6: the magic cookie at bytes 4..8 of every STUN message.
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// RFC 5389 15.3.
const ATTR_USERNAME: u16 = 0x0006;

/// Our ICE user name in a STUN message (the part of `USERNAME` before `:`), if it is one.
pub fn stun_local_ufrag(packet: &[u8]) -> Option<&str> {
    if packet.len() < 20 || packet[0] > 3 || packet[4..8] != MAGIC_COOKIE {
        return None;
    }
    let body_len = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
    let body = packet.get(20..20 + body_len)?;
    let mut at = 0;
    while at + 4 <= body.len() {
        let kind = u16::from_be_bytes([body[at], body[at + 1]]);
        let len = usize::from(u16::from_be_bytes([body[at + 2], body[at + 3]]));
        let value = body.get(at + 4..at + 4 + len)?;
        if kind == ATTR_USERNAME {
            let name = std::str::from_utf8(value).ok()?;
            return name.split(':').next();
        }
        // Values are padded to 4 bytes (RFC 5389 15).
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

/// The routing tables, shared by the socket's receive loop and the peers.
#[derive(Debug)]
pub struct Demux<T> {
    inner: Mutex<Tables<T>>,
}

#[derive(Debug)]
struct Tables<T> {
    by_ufrag: HashMap<String, T>,
    by_addr: HashMap<SocketAddr, T>,
}

impl<T> Default for Tables<T> {
    fn default() -> Self {
        Self {
            by_ufrag: HashMap::new(),
            by_addr: HashMap::new(),
        }
    }
}

impl<T: Clone> Default for Demux<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Clone> Demux<T> {
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Tables::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables<T>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add_ufrag(&self, ufrag: &str, to: T) {
        self.lock().by_ufrag.insert(ufrag.to_owned(), to);
    }

    pub fn add_addr(&self, addr: SocketAddr, to: T) {
        self.lock().by_addr.insert(addr, to);
    }

    /// Forgets a peer: its user name and the addresses it was reached at.
    pub fn remove(&self, ufrag: &str, addrs: &[SocketAddr]) {
        let mut t = self.lock();
        t.by_ufrag.remove(ufrag);
        for a in addrs {
            t.by_addr.remove(a);
        }
    }

    /// The peer whose user name a STUN request carries (a TCP connection's first packet).
    pub fn route_stun(&self, packet: &[u8]) -> Option<T> {
        let ufrag = stun_local_ufrag(packet)?;
        self.lock().by_ufrag.get(ufrag).cloned()
    }

    /// The peer of a datagram from `source`.
    pub fn route(&self, packet: &[u8], source: SocketAddr) -> Option<T> {
        let t = self.lock();
        if let Some(ufrag) = stun_local_ufrag(packet)
            && let Some(to) = t.by_ufrag.get(ufrag)
        {
            return Some(to.clone());
        }
        t.by_addr.get(&source).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binding request as Chromium sends it: USERNAME, then other attributes.
    fn request(username: &str) -> Vec<u8> {
        let mut attrs = Vec::new();
        // PRIORITY first, so the parser has to skip an attribute.
        attrs.extend_from_slice(&[0x00, 0x24, 0x00, 0x04, 0x6e, 0x7f, 0x1e, 0xff]);
        attrs.extend_from_slice(&ATTR_USERNAME.to_be_bytes());
        attrs.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attrs.extend_from_slice(username.as_bytes());
        while attrs.len() % 4 != 0 {
            attrs.push(0);
        }
        let mut p = vec![0x00, 0x01];
        p.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        p.extend_from_slice(&MAGIC_COOKIE);
        p.extend_from_slice(&[7; 12]);
        p.extend_from_slice(&attrs);
        p
    }

    #[test]
    fn finds_our_ufrag_in_a_binding_request() {
        assert_eq!(stun_local_ufrag(&request("abcd:wxyz1")), Some("abcd"));
        assert_eq!(stun_local_ufrag(&request("abc")), Some("abc"));
    }

    #[test]
    fn anything_else_has_none_and_never_panics() {
        let good = request("abcd:wxyz1");
        for cut in 0..good.len() {
            let _ = stun_local_ufrag(&good[..cut]);
        }
        let mut dtls = good.clone();
        dtls[0] = 22; // a DTLS record (RFC 7983)
        assert_eq!(stun_local_ufrag(&dtls), None);
        let mut wrong_len = good.clone();
        wrong_len[3] = 0xFF;
        assert_eq!(stun_local_ufrag(&wrong_len), None);
        let mut attr_too_long = good;
        attr_too_long[20 + 8 + 3] = 0xF0; // the USERNAME attribute claims 240 bytes
        assert_eq!(stun_local_ufrag(&attr_too_long), None);
    }

    #[test]
    fn routes_stun_by_ufrag_and_the_rest_by_address() {
        let d = Demux::new();
        d.add_ufrag("abcd", 1);
        d.add_ufrag("efgh", 2);
        let a: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        assert_eq!(d.route(&request("efgh:x"), a), Some(2));
        assert_eq!(d.route(&[22, 254, 253], a), None, "address not bound yet");
        d.add_addr(a, 2);
        assert_eq!(d.route(&[22, 254, 253], a), Some(2));
        d.remove("efgh", &[a]);
        assert_eq!(d.route(&request("efgh:x"), a), None);
        assert_eq!(d.route(&[22, 254, 253], a), None);
    }
}
