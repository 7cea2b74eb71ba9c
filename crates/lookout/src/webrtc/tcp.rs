//! ICE over TCP (RFC 6544) for networks that block UDP: passive host candidates on one TCP
//! port, each connection framed as RFC 4571 (a 2-byte big-endian length before every STUN,
//! DTLS or SRTP packet). A connection belongs to the peer whose ICE user name its first
//! packet, a STUN binding request, carries; str0m's ICE agent pairs it with the peer's TCP
//! candidate and checks the request's integrity like any other.

use super::demux::Demux;
use super::socket::{Datagram, PeerTx};
use lookout_core::Error;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use str0m::net::Protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A connection that sent no routable STUN request this long after it opened is closed
/// (browsers send their first check at once).
const FIRST_PACKET_TIMEOUT: Duration = Duration::from_secs(5);
/// Packets queued for sending on one connection; when full the packet is dropped, as UDP
/// would lose it (SRTP recovers by NACK and key frames).
const SEND_QUEUE: usize = 256;

/// The open connections by the viewer's address, for sending; and how many there are.
#[derive(Debug, Default)]
pub struct TcpConns {
    by_remote: Mutex<HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>,
    open: AtomicUsize,
}

impl TcpConns {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>> {
        self.by_remote.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues one packet for the connection from `remote`; false if there is none.
    pub fn send(&self, remote: SocketAddr, packet: &[u8]) -> bool {
        let Some(tx) = self.lock().get(&remote).cloned() else {
            return false;
        };
        let _ = tx.try_send(packet.to_vec());
        true
    }
}

/// Binds the TCP port on each address (0: a free port, then the same one on the others).
pub async fn bind(ips: &[IpAddr], port: u16) -> Result<Vec<TcpListener>, Error> {
    let mut out = Vec::new();
    let mut port = port;
    for ip in ips {
        let addr = SocketAddr::new(*ip, port);
        let listener = bind_one(addr).map_err(|e| {
            Error::unavailable(format!(
                "cannot bind WebRTC's TCP port {addr}: {e}; set [webrtc] tcp_port to a free port, or tcp = false"
            ))
        })?;
        if port == 0 {
            port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        }
        out.push(listener);
    }
    Ok(out)
}

/// IPv6-only when IPv6, beside the `0.0.0.0` one (as for UDP: `socket::addresses_for`).
fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    TcpListener::from_std(socket.into())
}

/// What the accept loop shares with its connections.
#[derive(Debug)]
pub struct TcpShared {
    pub demux: Arc<Demux<PeerTx>>,
    pub conns: Arc<TcpConns>,
    pub unroutable: Arc<AtomicU64>,
    /// At most this many connections at once (a few per peer: a browser opens one per
    /// candidate pair it checks).
    pub max_conns: usize,
    pub shutdown: CancellationToken,
}

/// Accepts connections until shutdown.
pub async fn accept(listener: TcpListener, shared: Arc<TcpShared>) {
    loop {
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(r) => r,
                // EMFILE and the like: wait rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shared.shutdown.cancelled() => return,
        };
        if shared.conns.open.load(Ordering::Relaxed) >= shared.max_conns {
            shared.unroutable.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        shared.conns.open.fetch_add(1, Ordering::Relaxed);
        let shared = shared.clone();
        tokio::spawn(async move {
            serve(stream, remote, &shared).await;
            shared.conns.lock().remove(&remote);
            shared.conns.open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// Reads one RFC 4571 frame into `buf`; `None` at the end of the stream or on an error.
async fn read_frame(r: &mut (impl AsyncReadExt + Unpin), buf: &mut Vec<u8>) -> Option<()> {
    let mut len = [0u8; 2];
    r.read_exact(&mut len).await.ok()?;
    buf.resize(usize::from(u16::from_be_bytes(len)), 0);
    r.read_exact(buf).await.ok()?;
    Some(())
}

async fn serve(stream: TcpStream, remote: SocketAddr, shared: &TcpShared) {
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let mut buf = Vec::new();
    let first = tokio::time::timeout(FIRST_PACKET_TIMEOUT, read_frame(&mut reader, &mut buf));
    let peer = tokio::select! {
        r = first => match r {
            Ok(Some(())) => shared.demux.route_stun(&buf),
            _ => None,
        },
        () = shared.shutdown.cancelled() => return,
    };
    let Some(peer) = peer else {
        shared.unroutable.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(SEND_QUEUE);
    shared.conns.lock().insert(remote, tx);
    let writing = async move {
        while let Some(p) = rx.recv().await {
            // str0m's packets are far below 64 KB (its MTU is ~1150 bytes).
            let Ok(len) = u16::try_from(p.len()) else {
                continue;
            };
            let mut framed = Vec::with_capacity(2 + p.len());
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(&p);
            if writer.write_all(&framed).await.is_err() {
                return;
            }
        }
    };
    let reading = async {
        loop {
            let d = Datagram {
                proto: Protocol::Tcp,
                source: remote,
                destination: local,
                bytes: std::mem::take(&mut buf),
                at: Instant::now(),
            };
            // The peer ended: so does its connection.
            if peer.is_closed() {
                return;
            }
            let _ = peer.try_send(d);
            if read_frame(&mut reader, &mut buf).await.is_none() {
                return;
            }
        }
    };
    tokio::select! {
        () = writing => {}
        () = reading => {}
        () = shared.shutdown.cancelled() => {}
    }
}
