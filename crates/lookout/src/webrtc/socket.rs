//! The UDP port every peer shares: one socket per bound address, a receive loop per socket
//! that routes each datagram to its peer's queue ([`Demux`]), and sending from the socket
//! whose address the peer's ICE agent chose.

use super::demux::Demux;
use lookout_core::Error;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Larger than any datagram WebRTC sends (str0m's MTU target is ~1150 bytes; browsers stay
/// under 1280 for IPv6): a longer one is cut and fails its checks.
const MAX_DATAGRAM: usize = 2048;
/// Datagrams queued for one peer; when full the datagram is dropped, as the network would.
pub const PEER_QUEUE: usize = 256;

#[derive(Debug)]
pub struct Datagram {
    /// UDP, or TCP framed as RFC 4571 (`tcp.rs`).
    pub proto: str0m::net::Protocol,
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub bytes: Vec<u8>,
    pub at: Instant,
}

pub type PeerTx = mpsc::Sender<Datagram>;

/// The addresses to bind for HTTP listeners on `listen_ips`. A `[::]` listener takes IPv4
/// too (Linux's default `bindv6only = 0`), so its UDP port is two sockets, `0.0.0.0` and an
/// IPv6-only `[::]`: each family's candidate then has a socket of its own family, and IPv4
/// viewers arrive from IPv4 addresses rather than `::ffff:a.b.c.d` (RFC 4291 2.5.5.2), which
/// the ICE agent would not match with the IPv4 candidate it gave them.
pub fn addresses_for(listen_ips: &[IpAddr]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    let mut push = |ip: IpAddr| {
        if !out.contains(&ip) {
            out.push(ip);
        }
    };
    for ip in listen_ips {
        let ip = ip.to_canonical();
        if ip == IpAddr::from(std::net::Ipv6Addr::UNSPECIFIED) {
            push(IpAddr::from(std::net::Ipv4Addr::UNSPECIFIED));
        }
        push(ip);
    }
    // A wildcard covers its family's addresses: binding one of them too would fail
    // (EADDRINUSE) on the same port.
    let any4 = out.contains(&IpAddr::from(std::net::Ipv4Addr::UNSPECIFIED));
    let any6 = out.contains(&IpAddr::from(std::net::Ipv6Addr::UNSPECIFIED));
    out.retain(|ip| ip.is_unspecified() || !(if ip.is_ipv4() { any4 } else { any6 }));
    out
}

/// Binds `port` on each address (0: a free port, then the same one on the others).
pub async fn bind(ips: &[IpAddr], port: u16) -> Result<Vec<Arc<UdpSocket>>, Error> {
    let mut sockets = Vec::new();
    let mut port = port;
    for ip in ips {
        let addr = SocketAddr::new(*ip, port);
        let socket = bind_one(addr).map_err(|e| {
            Error::unavailable(format!(
                "cannot bind WebRTC's UDP port {addr}: {e}; set [webrtc] udp_port to a free port, or enabled = false"
            ))
        })?;
        if port == 0 {
            port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
        }
        sockets.push(Arc::new(socket));
    }
    Ok(sockets)
}

/// One UDP socket on `addr`, IPv6-only when IPv6 (see [`addresses_for`]).
fn bind_one(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Reads datagrams until shutdown and queues each for its peer.
pub async fn receive(
    socket: Arc<UdpSocket>,
    demux: Arc<Demux<PeerTx>>,
    unroutable: Arc<AtomicU64>,
    shutdown: CancellationToken,
) {
    let Ok(local) = socket.local_addr() else {
        return;
    };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, source) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(r) => r,
                // ICMP errors of earlier sends (ECONNREFUSED…) come back here: not ours to act on.
                Err(_) => continue,
            },
            () = shutdown.cancelled() => return,
        };
        let packet = &buf[..n];
        let Some(peer) = demux.route(packet, source) else {
            unroutable.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let destination = if local.ip().is_unspecified() {
            // The peer's ICE agent knows its candidates, not the wildcard: it matches on the
            // port and the family (str0m compares the address it answered on).
            SocketAddr::new(local.ip(), local.port())
        } else {
            local
        };
        let d = Datagram {
            proto: str0m::net::Protocol::Udp,
            source,
            destination,
            bytes: packet.to_vec(),
            at: Instant::now(),
        };
        // Full: the peer is behind; UDP loses the datagram as the network would.
        let _ = peer.try_send(d);
    }
}

/// The local address the system would use to reach `remote` (a UDP "connect" sends nothing).
pub fn local_ip_towards(remote: IpAddr) -> Option<IpAddr> {
    let any: SocketAddr = match remote {
        IpAddr::V4(_) => "0.0.0.0:0".parse().ok()?,
        IpAddr::V6(_) => "[::]:0".parse().ok()?,
    };
    let s = std::net::UdpSocket::bind(any).ok()?;
    s.connect(SocketAddr::new(remote, 9)).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn a_dual_stack_listener_gets_a_socket_per_family() {
        assert_eq!(addresses_for(&ips(&["::"])), ips(&["0.0.0.0", "::"]));
        assert_eq!(addresses_for(&ips(&["::1"])), ips(&["::1"]));
        // An IPv4 listener seen through a mapped address is IPv4.
        assert_eq!(
            addresses_for(&ips(&["::ffff:127.0.0.1"])),
            ips(&["127.0.0.1"])
        );
        // Wildcards cover their family's addresses (one port cannot be bound twice).
        assert_eq!(
            addresses_for(&ips(&["127.0.0.1", "::", "::1", "0.0.0.0"])),
            ips(&["0.0.0.0", "::"])
        );
        assert_eq!(
            addresses_for(&ips(&["127.0.0.1", "::1", "127.0.0.1"])),
            ips(&["127.0.0.1", "::1"])
        );
    }

    #[tokio::test]
    async fn binds_ipv4_and_ipv6_only_sockets_on_one_port() {
        let Ok(sockets) = bind(&ips(&["0.0.0.0", "::"]), 0).await else {
            // A machine without IPv6 cannot bind [::].
            return;
        };
        let a: Vec<SocketAddr> = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].port(), a[1].port());
        assert!(a[0].is_ipv4() && a[1].is_ipv6());
    }
}
