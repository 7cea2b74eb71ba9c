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
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub bytes: Vec<u8>,
    pub at: Instant,
}

pub type PeerTx = mpsc::Sender<Datagram>;

/// Binds `port` on each address (0: a free port, then the same one on the others).
pub async fn bind(ips: &[IpAddr], port: u16) -> Result<Vec<Arc<UdpSocket>>, Error> {
    let mut sockets = Vec::new();
    let mut port = port;
    for ip in ips {
        let addr = SocketAddr::new(*ip, port);
        let socket = UdpSocket::bind(addr).await.map_err(|e| {
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
